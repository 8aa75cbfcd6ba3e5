"""GCP credentials shared by the GCS source and the Pub/Sub event reader.

Either a service-account JSON file (`credentials_file`) or, without one, Application Default
Credentials, which the Google client finds itself; both failures name the fix.
"""

from __future__ import annotations

from typing import Any

from dagster_encord.errors import BadCredentialsError


def service_account_credentials(credentials_file: str, where: str) -> Any:
    """The credentials in a service-account JSON key file, for the resource at `where`."""
    from google.oauth2 import service_account

    try:
        return service_account.Credentials.from_service_account_file(credentials_file)
    except (OSError, ValueError, KeyError) as error:
        raise BadCredentialsError(
            f"cannot load the GCP service-account file for {where} "
            f"({type(error).__name__}): pass a valid JSON key file as credentials_file"
        ) from None


def no_default_credentials(where: str) -> BadCredentialsError:
    """Application Default Credentials were needed for `where` and none were found."""
    return BadCredentialsError(
        f"no GCP credentials for {where}: run `gcloud auth application-default "
        "login`, set GOOGLE_APPLICATION_CREDENTIALS, or pass credentials_file"
    )
