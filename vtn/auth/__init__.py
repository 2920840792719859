"""Authentication: our OAuth2 client-credentials issuer and bearer-token verification."""

from vtn.auth.tokens import TokenService

__all__ = ["TokenService"]
