"""Notification delivery: the outbox worker (webhooks, MQTT) and the webhook URL checks."""
