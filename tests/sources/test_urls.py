"""Object URLs in the forms Encord documents (seed 001 JSON, seed 002 Helpful Scripts), and keys
that round-trip through them. No network: building a URL needs no request."""

from __future__ import annotations

import pytest

from dagster_encord.errors import SourceError
from dagster_encord.sources import open_source

AWKWARD = [
    "a b/c d.jpg",
    "ünï/фото.png",
    "x+y.jpg",
    "h#sh.jpg",
    "p%20q.jpg",
    "q?.jpg",
    "1 (32).jpg",
]


@pytest.fixture(autouse=True)
def no_aws_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_s3_virtual_hosted_is_the_default_on_aws() -> None:
    source = open_source("s3://my-bucket/images/dogs/", region="us-west-2")
    assert (
        source.object_url("images/dogs/puppy.png")
        == "https://my-bucket.s3.us-west-2.amazonaws.com/images/dogs/puppy.png"
    )


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("virtual", "https://encord-integration.s3.eu-west-2.amazonaws.com/videos/Cooking.mp4"),
        ("path", "https://s3.eu-west-2.amazonaws.com/encord-integration/videos/Cooking.mp4"),
        ("s3", "s3://encord-integration/videos/Cooking.mp4"),
    ],
)
def test_s3_styles(style: str, expected: str) -> None:
    source = open_source("s3://encord-integration", region="eu-west-2", url_style=style)
    assert source.object_url("videos/Cooking.mp4") == expected


def test_s3_multi_region_access_point_form() -> None:
    source = open_source(
        "s3://bucket-behind-mrap", mrap_arn="arn:aws:s3::123123123:accesspoint/frf28frarf9"
    )
    assert source.object_url("Videos/2022/video_1.mp4") == (
        "https://arn:aws:s3::123123123:accesspoint/frf28frarf9.mrap.s3-accesspoint.amazonaws.com"
        "/Videos/2022/video_1.mp4"
    )


def test_mrap_style_needs_the_arn() -> None:
    with pytest.raises(SourceError, match="mrap_arn"):
        open_source("s3://bucket", url_style="mrap")


def test_otc_endpoint_gives_the_virtual_hosted_obs_form() -> None:
    source = open_source("s3://encord-bucket", endpoint_url="https://obs.eu-de.otc.t-systems.com")
    assert (
        source.object_url("images/Image1.png")
        == "https://encord-bucket.obs.eu-de.otc.t-systems.com/images/Image1.png"
    )


def test_loopback_endpoint_gives_path_style_on_that_endpoint() -> None:
    source = open_source("s3://sample", endpoint_url="http://127.0.0.1:5123/")
    assert source.object_url("a b.jpg") == "http://127.0.0.1:5123/sample/a%20b.jpg"


def test_gcs_forms() -> None:
    url = "gs://encord-image-bucket/images/"
    assert (
        open_source(url).object_url("images/Image1.png")
        == "https://storage.cloud.google.com/encord-image-bucket/images/Image1.png"
    )
    assert (
        open_source(url, url_style="public").object_url("images/Image1.png")
        == "https://storage.googleapis.com/encord-image-bucket/images/Image1.png"
    )
    assert (
        open_source(url, url_style="gs").object_url("images/Image1.png")
        == "gs://encord-image-bucket/images/Image1.png"
    )


def test_azure_blob_url_forms_agree() -> None:
    expected = "https://myaccount.blob.core.windows.net/encordcontainer/Image1.png"
    by_https = open_source(
        "https://myaccount.blob.core.windows.net/encordcontainer", sas_token="sv=x&sig=secret"
    )
    by_az = open_source("az://myaccount/encordcontainer", sas_token="sv=x&sig=secret")
    assert by_https.object_url("Image1.png") == expected
    assert by_az.object_url("Image1.png") == expected
    assert "secret" not in repr(by_https) and "secret" not in by_https.object_url("x")


def _all_styles() -> list[tuple[str, dict[str, str]]]:
    return [
        ("s3://b", {"region": "eu-west-2"}),
        ("s3://b", {"region": "eu-west-2", "url_style": "path"}),
        ("s3://b", {"url_style": "s3"}),
        ("s3://b", {"mrap_arn": "arn:aws:s3::1:accesspoint/abc"}),
        ("s3://b", {"endpoint_url": "http://127.0.0.1:9000"}),
        ("s3://b", {"endpoint_url": "https://obs.eu-de.otc.t-systems.com"}),
        ("gs://b", {}),
        ("gs://b", {"url_style": "public"}),
        ("gs://b", {"url_style": "gs"}),
        ("gs://b", {"endpoint_url": "http://127.0.0.1:9023"}),
        ("az://acct/box", {"sas_token": "sv=x"}),
        ("file:///srv/data", {}),
    ]


@pytest.mark.parametrize(("url", "options"), _all_styles())
def test_awkward_keys_round_trip_through_every_form(url: str, options: dict[str, str]) -> None:
    source = open_source(url, **options)
    for key in AWKWARD:
        object_url = source.object_url(key)
        assert source.key_from_url(object_url) == key
        if not object_url.startswith(("s3://", "gs://")):  # HTTP and file URLs are encoded
            path = object_url.split("://", 1)[1]
            assert not set(" #?+") & set(path.split("/", 1)[1] if "/" in path else path)


def test_encoding_escapes_only_what_must_be_escaped() -> None:
    source = open_source("s3://b", endpoint_url="http://127.0.0.1:9000")
    assert source.object_url("a-b_c.d~e/f.jpg") == "http://127.0.0.1:9000/b/a-b_c.d~e/f.jpg"
    assert (
        source.object_url("x+y #?%é.jpg") == "http://127.0.0.1:9000/b/x%2By%20%23%3F%25%C3%A9.jpg"
    )


def test_a_pasted_azure_sas_url_keeps_the_signature_out_of_urls_and_reprs() -> None:
    source = open_source(
        "https://myaccount.blob.core.windows.net/encordcontainer/images/?sv=2024&sp=rl&sig=s3cr3t"
    )
    assert source.url == "https://myaccount.blob.core.windows.net/encordcontainer/images/"
    assert source.object_url("images/a.png") == (
        "https://myaccount.blob.core.windows.net/encordcontainer/images/a.png"
    )
    assert "s3cr3t" not in repr(source)
