"""Limits against abuse: rate limits and lockout, per-VEN quotas, slow-client timeouts (docs/security.md).

Everything here is built from VtnConfig by the app factory and hooked in with thin calls from the
middleware, the handlers and `vtn serve`; no module-level state.
"""
