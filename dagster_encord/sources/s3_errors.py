"""S3 error codes (from botocore or from a raw S3 XML body) -> the package's errors.

One table serves both listing engines, so boto3 and obstore report the same failure the same way.
Messages name the bucket/URL and the likely fix, and never include credentials.
"""

from __future__ import annotations

import re

from dagster_encord.errors import (
    AccessDeniedError,
    BadCredentialsError,
    BucketNotFoundError,
    ObjectNotFoundError,
    SourceError,
)

_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "InvalidSecurity",
    "AuthorizationHeaderMalformed",
}
_ACCESS_DENIED = {"AccessDenied", "AllAccessDisabled", "AccountProblem", "403", "Forbidden"}
_NO_BUCKET = {"NoSuchBucket"}
_NO_KEY = {"NoSuchKey", "404", "NotFound"}

_XML_CODE = re.compile(r"<Code>([A-Za-z0-9]+)</Code>")
_UNREACHABLE_HINTS = ("error sending request", "connection refused", "tcp connect", "dns error")


def missing_credentials(where: str) -> BadCredentialsError:
    """No credentials anywhere in boto3's chain (env, profile, SSO, container or instance role)."""
    return BadCredentialsError(
        f"no usable AWS credentials for {where}: set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an IAM role"
    )


def s3_error(
    code: str,
    *,
    where: str,
    bucket: str,
    endpoint_url: str | None,
    key: str | None = None,
    detail: str = "",
) -> SourceError:
    """The package error for an S3 error `code` met while working on `where` (a URL)."""
    if code in _NO_BUCKET:
        at = f" at {endpoint_url}" if endpoint_url else ""
        return BucketNotFoundError(
            f"S3 bucket {bucket!r} does not exist{at} ({where}): check the bucket name, the "
            "region and --endpoint-url"
        )
    if code in _BAD_CREDENTIALS:
        return BadCredentialsError(
            f"S3 rejected the credentials for {where} ({code}): check AWS_ACCESS_KEY_ID / "
            "AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE or the role "
            "(`aws sts get-caller-identity` shows who you are)"
        )
    if code in _ACCESS_DENIED:
        need = "s3:GetObject/s3:PutObject on the key" if key else "s3:ListBucket on the bucket"
        return AccessDeniedError(
            f"access denied to {where} ({code}): grant the credentials {need} "
            f"(arn:aws:s3:::{bucket})"
        )
    if key is not None and code in _NO_KEY:
        return ObjectNotFoundError(f"{where} does not exist: check the key and the prefix")
    suffix = f": {detail}" if detail else ""
    return SourceError(f"S3 request for {where} failed ({code}){suffix}")


def code_from_message(message: str) -> str | None:
    """The S3 error code in an error message carrying the raw XML body (obstore's errors)."""
    match = _XML_CODE.search(message)
    return match.group(1) if match else None


def looks_unreachable(message: str) -> bool:
    lowered = message.lower()
    return any(hint in lowered for hint in _UNREACHABLE_HINTS)
