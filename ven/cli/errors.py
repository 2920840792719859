"""The one error type of the `ven` CLI: a mistake the user can fix, told in one line."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ven.config import VenConfig


class UserError(Exception):
    """One line that says what went wrong and what to do; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def explain_start_failure(exc: Exception, config: VenConfig) -> Exception:
    """The UserError for an agent that could not start (or `exc` itself for a bug: traceback)."""
    from shared.errors import NotFound, OadrError, Unauthorized
    from ven.client import InvalidAnswer, TlsVerificationFailed
    from ven.oadr31.transport import NoMqttBroker

    url = config.vtn_url
    if isinstance(exc, Unauthorized):
        return UserError(
            f"the VTN at {url} refused the agent: {exc}: check vtn.client_id and vtn.client_secret "
            "(or VEN_CLIENT_ID / VEN_CLIENT_SECRET), or the client certificate in vtn.tls"
        )
    if isinstance(exc, NotFound):
        return UserError(
            f"the VTN at {url} answered 404 Not Found: vtn.url probably lacks the API base path, "
            f"e.g. {_origin(url)}/openadr3/3.1.0"
        )
    if isinstance(exc, InvalidAnswer):
        return UserError(
            f"the VTN at {url} answers what a 3.1 agent cannot read ({exc}): "
            f"is vtn.url the base of an OpenADR 3.1 API, e.g. {_origin(url)}/openadr3/3.1.0?"
        )
    if isinstance(exc, OadrError):
        return UserError(f"the VTN at {url} refused the agent: {exc}")
    if isinstance(exc, TlsVerificationFailed):
        return UserError(
            f"cannot verify the TLS certificate of the VTN at {url} ({exc}): set vtn.tls.ca_file to "
            "the CA that signed it (`make run TLS=1`: certs/dev/ca.crt) or vtn.tls.pin_sha256"
        )
    if isinstance(exc, NoMqttBroker):
        return UserError(str(exc))
    return exc


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
