"""Dagster resources: configuration plus a `get_...()` that builds the plain client.

`EncordResource` holds the SSH key or bearer token (pass them with `dg.EnvVar`), the domain and
request settings; `get_client()` returns an `EncordClient`, which is also the test seam.
`LedgerResource` points at the ledger database (SQLite under DAGSTER_HOME by default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field, PrivateAttr

from dagster_encord.config import EncordSection, LedgerSection
from dagster_encord.encord_client.client import EncordClient, RequestSettings
from dagster_encord.errors import EncordAuthError

if TYPE_CHECKING:
    from dagster_encord.ledger import Ledger

_DEFAULTS = EncordSection.model_fields


class EncordResource(dg.ConfigurableResource):
    """Credentials and request settings for one Encord domain.

    Example::

        EncordResource(ssh_private_key=dg.EnvVar("ENCORD_SSH_KEY"))
    """

    ssh_private_key: str | None = Field(
        default=None,
        description="Private ed25519 key (OpenSSH PEM). Pass with dg.EnvVar; never logged.",
    )
    bearer_token: str | None = Field(
        default=None, description="Bearer token instead of a key. Pass with dg.EnvVar."
    )
    # Defaults and descriptions are the `encord:` section's: one place for both.
    domain: str = Field(default=_DEFAULTS["domain"].default, description="Encord API origin.")
    max_retries: int = Field(
        default=_DEFAULTS["max_retries"].default, description=_DEFAULTS["max_retries"].description
    )
    backoff_factor: float = Field(
        default=_DEFAULTS["backoff_factor"].default,
        description=_DEFAULTS["backoff_factor"].description,
    )
    connect_timeout: int = Field(
        default=_DEFAULTS["connect_timeout"].default,
        description=_DEFAULTS["connect_timeout"].description,
    )
    read_timeout: int = Field(
        default=_DEFAULTS["read_timeout"].default,
        description=_DEFAULTS["read_timeout"].description,
    )
    # One client per retry setting for the life of this resource (one run or one sensor tick):
    # the folder it resolved is reused by every step instead of being fetched again.
    _clients: dict[tuple[int | None, int | None], EncordClient] = PrivateAttr(default_factory=dict)

    def __repr__(self) -> str:
        shown = {
            "domain": self.domain,
            "auth": "ssh_key" if self.ssh_private_key else "bearer" if self.bearer_token else None,
        }
        return f"EncordResource({shown})"

    __str__ = __repr__

    def get_client(
        self, *, max_retries: int | None = None, timeout_seconds: int | None = None
    ) -> EncordClient:
        """A client for this domain. Where a caller has a time budget (a sensor tick), pass
        `max_retries=0` and `timeout_seconds` so no request can outlast it."""
        key = (max_retries, timeout_seconds)
        if key not in self._clients:
            self._clients[key] = self._new_client(max_retries, timeout_seconds)
        return self._clients[key]

    def _new_client(self, max_retries: int | None, timeout_seconds: int | None) -> EncordClient:
        read_timeout = min(self.read_timeout, timeout_seconds or self.read_timeout)
        settings = RequestSettings(
            max_retries=self.max_retries if max_retries is None else max_retries,
            backoff_factor=self.backoff_factor,
            connection_retries=0 if timeout_seconds else 3,
            connect_timeout=min(self.connect_timeout, read_timeout),
            read_timeout=read_timeout,
            write_timeout=read_timeout,
        )
        if self.ssh_private_key:
            return EncordClient.from_ssh_key(
                self.ssh_private_key, domain=self.domain, settings=settings
            )
        if self.bearer_token:
            return EncordClient.from_bearer_token(
                self.bearer_token, domain=self.domain, settings=settings
            )
        raise EncordAuthError(
            "EncordResource has neither ssh_private_key nor bearer_token; set one, e.g. "
            "EncordResource(ssh_private_key=dg.EnvVar('ENCORD_SSH_KEY'))"
        )


class LedgerResource(dg.ConfigurableResource):
    """Where the ledger lives: a SQLAlchemy URL (SQLite by default, PostgreSQL in production)."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL (postgresql://...). Default: SQLite in DAGSTER_HOME.",
    )

    def __repr__(self) -> str:
        # A PostgreSQL URL may carry a password.
        return "LedgerResource(url=<set>)" if self.url else "LedgerResource(url=<default>)"

    __str__ = __repr__

    def get_ledger(self, pipeline: str, *, max_attempts: int = 5) -> Ledger:
        """The ledger rows of one pipeline (tables are created on first use)."""
        from dagster_encord.ledger import Ledger

        if self.url:
            return Ledger(self.url, pipeline=pipeline, max_attempts=max_attempts)
        return Ledger.for_dagster_home(pipeline, max_attempts=max_attempts)


def encord_resource(section: EncordSection) -> EncordResource:
    """The resource of an `encord:` section: the key or token as `dg.EnvVar`, so the UI and the
    repository snapshot show the variable's name, never its value."""
    return EncordResource(
        ssh_private_key=(
            dg.EnvVar(section.ssh_private_key_env) if section.ssh_private_key_env else None
        ),
        bearer_token=dg.EnvVar(section.bearer_token_env) if section.bearer_token_env else None,
        domain=section.domain,
        max_retries=section.max_retries,
        backoff_factor=section.backoff_factor,
        connect_timeout=section.connect_timeout,
        read_timeout=section.read_timeout,
    )


def ledger_resource(section: LedgerSection) -> LedgerResource:
    """The resource of a `ledger:` section (a URL with a password only through `url_env`)."""
    return LedgerResource(url=dg.EnvVar(section.url_env) if section.url_env else section.url)
