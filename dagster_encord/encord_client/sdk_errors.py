"""SDK exceptions translated into the package's own errors, naming what we were doing."""

from __future__ import annotations

from dagster_encord.errors import (
    EncordAuthError,
    EncordError,
    EncordNotFoundError,
    EncordRateLimitedError,
)


def translate_sdk_error(error: Exception, doing: str) -> EncordError:
    """Turn an SDK exception into the package's error, naming what we were doing."""
    from encord import exceptions as sdk

    detail = str(error) or type(error).__name__
    if isinstance(error, sdk.RateLimitExceededError):
        return EncordRateLimitedError(
            f"{doing}: Encord rate limit hit; retry after {error.retry_after or 'a few'} seconds",
            retry_after=float(error.retry_after) if error.retry_after else None,
        )
    if isinstance(error, sdk.AuthenticationError):
        return EncordAuthError(
            f"{doing}: Encord rejected the credentials ({detail}); check the key or token "
            "and the domain of the EncordResource"
        )
    if isinstance(error, sdk.AuthorisationError | sdk.ResourceNotFoundError):
        return EncordNotFoundError(
            f"{doing}: not found or not visible to this user ({detail}); check the uuid or "
            "title and that the key's user has access"
        )
    return EncordError(f"{doing}: {type(error).__name__}: {detail}")
