"""The partner sandbox front-end (docs/sandbox.md): simulated events and test notifications."""
