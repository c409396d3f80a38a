"""One exception tree for everything m2mauth raises.

Every error carries a stable ``code`` (the R package maps it to a condition class and the CLI
to an exit status) and a ``hint`` in plain words. Messages never contain a secret: callers
pass only names, never values, of keys, secrets and tokens.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "M2MAuthError",
    "TokenEndpointError",
    "TransportError",
]


class M2MAuthError(Exception):
    """Base class of every error m2mauth raises on purpose."""

    default_code = "m2mauth_error"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Keep code and hint when an error crosses a process boundary (multiprocessing, Dask).
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[M2MAuthError], message: str, state: dict[str, object]) -> M2MAuthError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ConfigError(M2MAuthError):
    """Bad input from the caller: a key that cannot be read, a wrong key type, a missing field."""

    default_code = "config_error"


class TransportError(M2MAuthError):
    """The token endpoint could not be reached or did not answer in time."""

    default_code = "transport_error"


class TokenEndpointError(M2MAuthError):
    """The token endpoint answered with an error (RFC 6749 §5.2) or with something unreadable."""

    default_code = "token_endpoint_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        status: int | None = None,
        error: str | None = None,
        error_description: str | None = None,
        excerpt: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, code=code or error or None, hint=hint)
        self.status = status
        self.error = error
        self.error_description = error_description
        self.excerpt = excerpt
        self.url = url
        self.retry_after: str | None = None  # the Retry-After header, when the server sent one
        self.provider_code: str | None = None  # the profile's name for this error, when it knows it
