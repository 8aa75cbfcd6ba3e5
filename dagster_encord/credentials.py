"""Secrets in configuration: find them, refuse them, redact them, read them from the environment.

Secrets reach the package only by environment variable name (`*_env` fields and options) or
`dg.EnvVar`. Anything shown to a person (descriptions, metadata, the ledger's source URL, error
messages) goes through `redact_url` first, so a pasted SAS or a password in a URL never shows.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dagster_encord.errors import ConfigError

# Source options whose value is a credential (see each provider's constructor).
SECRET_OPTIONS = frozenset(
    {
        "access_key_id",
        "secret_access_key",
        "session_token",
        "connection_string",
        "sas_token",
        "account_key",
        "credential",
        "password",
        "token",
    }
)
# Query parameters that carry a signature or a token (Azure SAS, S3/GCS presigned URLs).
SECRET_QUERY_PARAMS = frozenset(
    {
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
        "token",
        "access_token",
        "code",
    }
)
ENV_SUFFIX = "_env"


def url_secret(url: str) -> str | None:
    """What kind of secret `url` carries (for an error message), or None."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return None
    if password:
        return "a password"
    if any(name.lower() in SECRET_QUERY_PARAMS for name, _ in parse_qsl(parts.query)):
        return "a signature or token in its query (a SAS or presigned URL)"
    return None


def redact_url(url: str) -> str:
    """`url` without a password or secret query parameters; other parts unchanged."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc = parts.netloc
    if password:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:***@{host}" if user else f"***@{host}"
    query = parts.query
    if query:
        kept = [(k, v) for k, v in parse_qsl(query) if k.lower() not in SECRET_QUERY_PARAMS]
        query = urlencode(kept)
        if not kept and "?" in url:
            query = ""
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def secret_url_problem(url: str, fix: str) -> str | None:
    """Why `url` may not be configured as given (it carries a secret), or None."""
    kind = url_secret(url)
    if kind is None:
        return None
    return f"the URL carries {kind} ({redact_url(url)}); {fix}"


def secret_option_problem(options: Mapping[str, Any]) -> str | None:
    """Why `options` may not be configured as given (a literal credential), or None."""
    for name, value in options.items():
        if name.lower() in SECRET_OPTIONS and value is not None:
            return (
                f"{name}: a credential cannot be written in the configuration; use "
                f"{name}{ENV_SUFFIX}: NAME_OF_AN_ENVIRONMENT_VARIABLE instead"
            )
    return None


def resolve_env_options(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Options with every `<name>_env: VAR` replaced by `<name>: <value of $VAR>`."""
    resolved: dict[str, Any] = {}
    for name, value in options.items():
        if not name.endswith(ENV_SUFFIX):
            resolved[name] = value
            continue
        target = name[: -len(ENV_SUFFIX)]
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}.{name}: expected the name of an environment variable")
        if value not in os.environ:
            raise ConfigError(
                f"{where}.{name}: environment variable {value} is not set; export it "
                "before the pipeline runs"
            )
        resolved[target] = os.environ[value]
    return resolved
