"""`open_source(url, **options)`: pick the provider for a URL by its scheme.

The table maps a scheme to the module and class that handle it; modules are imported on first
use, so opening a `file://` source never imports boto3, google-cloud-storage or azure.
"""

from __future__ import annotations

import importlib
from typing import Any

from dagster_encord.credentials import redact_url
from dagster_encord.errors import SourceError, UnknownSchemeError
from dagster_encord.sources.base import Source

# scheme -> (module, class). `https` is the Azure blob URL form (ACCOUNT.blob.core.windows.net).
PROVIDERS: dict[str, tuple[str, str]] = {
    "s3": ("dagster_encord.sources.s3", "S3Source"),
    "gs": ("dagster_encord.sources.gcs", "GCSSource"),
    "gcs": ("dagster_encord.sources.gcs", "GCSSource"),
    "az": ("dagster_encord.sources.azure", "AzureSource"),
    "azure": ("dagster_encord.sources.azure", "AzureSource"),
    "https": ("dagster_encord.sources.azure", "AzureSource"),
    "file": ("dagster_encord.sources.local", "LocalSource"),
}

_FORMS = (
    "s3://BUCKET/prefix, gs://BUCKET/prefix, az://ACCOUNT/CONTAINER/prefix, "
    "https://ACCOUNT.blob.core.windows.net/CONTAINER/prefix or file:///path"
)


def provider_for(url: str) -> tuple[str, str]:
    """The (module, class) that handles `url`'s scheme; UnknownSchemeError names the forms."""
    scheme, sep, _ = url.partition("://")
    provider = PROVIDERS.get(scheme.lower()) if sep else None
    if provider is None:
        raise UnknownSchemeError(
            f"no source handles {redact_url(url)!r} "
            f"(scheme {scheme.lower() + '://' if sep else 'missing'}): use {_FORMS}"
        )
    return provider


def open_source(url: str, **options: Any) -> Source:
    """Open the bucket or folder at `url`; `options` go to the provider's constructor.

    Options by provider (all optional):
    - s3: endpoint_url, region, profile, access_key_id, secret_access_key, session_token,
      role_arn, url_style ("auto"|"virtual"|"path"|"s3"|"mrap"), mrap_arn,
      engine ("auto"|"obstore"|"boto3"), max_attempts, max_pool_connections
    - gs: endpoint_url, project, credentials_file, url_style ("auto"|"cloud"|"public"|"gs"|
      "endpoint"), retry_deadline
    - az/https: endpoint_url, connection_string, sas_token, account_key, credential,
      max_attempts
    - file: none
    """
    module_name, class_name = provider_for(url)
    source_class = getattr(importlib.import_module(module_name), class_name)
    try:
        source: Source = source_class(url, **options)
    except TypeError as error:
        raise SourceError(
            f"{class_name} for {redact_url(url)!r} does not take these options ({error}): "
            "see open_source's docstring for each provider's options"
        ) from None
    return source
