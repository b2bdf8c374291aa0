"""Authentication for the Alertmanager webhook and the read-only API.

Credentials are compared with ``hmac.compare_digest`` so the time taken does not
reveal how much of a guess was right.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from pydantic import SecretStr


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class WebhookAuth:
    """Bearer token or basic auth; with neither configured every request is refused."""

    token: SecretStr | None = None
    user: str | None = None
    password: SecretStr | None = None

    @property
    def configured(self) -> bool:
        return self.token is not None or (self.user is not None and self.password is not None)

    @property
    def not_configured_reason(self) -> str:
        return ("the Alertmanager webhook refuses every request: set ALERTMANAGER_WEBHOOK_TOKEN "
                "(bearer) or ALERTMANAGER_WEBHOOK_USER and ALERTMANAGER_WEBHOOK_PASSWORD (basic auth)")

    def check(self, authorization: str | None) -> str | None:
        """None when the header is acceptable, else what is wrong (safe to show the caller)."""
        if not self.configured:
            return "webhook authentication is not configured on the bot"
        if not authorization:
            return "missing Authorization header"
        scheme = authorization.partition(" ")[0].lower()
        if self.token is not None and scheme == "bearer":
            given = bearer_token(authorization) or ""
            return None if _same(given, self.token.get_secret_value()) else "invalid bearer token"
        if self.user is not None and self.password is not None and scheme == "basic":
            user, password = _basic_credentials(authorization)
            user_ok = _same(user, self.user)
            password_ok = _same(password, self.password.get_secret_value())
            return None if user_ok and password_ok else "invalid basic-auth credentials"
        expected = "Bearer" if self.token is not None else "Basic"
        return f"unsupported Authorization scheme, expected {expected}"


def _basic_credentials(header: str) -> tuple[str, str]:
    encoded = header.partition(" ")[2].strip()
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


def api_token_ok(expected: SecretStr | None, authorization: str | None) -> bool:
    """The read-only API: refuse everything when API_TOKEN is unset."""
    if expected is None or not expected.get_secret_value():
        return False
    given = bearer_token(authorization)
    return given is not None and _same(given, expected.get_secret_value())
