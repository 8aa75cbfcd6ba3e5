"""Signed URLs through the real SDK: storage items, data rows and label rows asked for signed
URLs get links that differ from the object URL, carry an expiry and (for objects the emulator
reaches) serve the object's bytes until they expire."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import boto3
import requests
from encord import EncordUserClient
from encord.orm.dataset import StorageLocation

from dagster_encord.emulator import EncordEmulator
from dagster_encord.quickstart.sample_media import png

BODY = png(20, 10, (200, 100, 50))


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlparse(url).query).items()}


def register(client: EncordUserClient, integration: str, urls: list[str]):  # type: ignore[no-untyped-def]
    folder = client.create_storage_folder("signed")
    spec = {"images": [{"objectUrl": url} for url in urls]}
    job = folder.add_private_data_to_folder_start(integration, spec, ignore_errors=True)
    result = folder.add_private_data_to_folder_get_result(job)
    assert result.unit_errors == []
    return folder, [str(i.item_uuid) for i in result.items_with_names]


def moto_object(s3_bucket: tuple[str, str], key: str = "cams/frame 1.png") -> str:
    endpoint, bucket = s3_bucket
    boto3.client("s3", endpoint_url=endpoint).put_object(Bucket=bucket, Key=key, Body=BODY)
    return f"{endpoint}/{bucket}/{key.replace(' ', '%20')}"


def test_a_storage_item_signed_url_serves_the_object_until_it_expires(
    s3_bucket: tuple[str, str], encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    url = moto_object(s3_bucket)
    folder, (item_uuid,) = register(encord_user_client, encord_integration, [url])
    item = encord_user_client.get_storage_item(item_uuid)

    signed = item.get_signed_url()  # refetches the item with signUrl=True

    assert signed is not None and signed != url
    params = query(signed)
    assert params["X-Amz-Expires"] == "3600"
    assert params["X-Amz-Signature"]
    response = requests.get(signed, timeout=30)
    assert (response.status_code, response.content) == (200, BODY)
    partial = requests.get(signed, headers={"Range": "bytes=0-7"}, timeout=30)
    assert (partial.status_code, partial.content) == (206, BODY[:8])
    (listed,) = folder.list_items(get_signed_urls=True)
    (bulk,) = encord_user_client.get_storage_items([item_uuid], sign_url=True)
    for other in (listed.get_signed_url(), bulk.get_signed_url()):
        assert other is not None and requests.get(other, timeout=30).content == BODY


def test_expired_or_tampered_links_are_refused(
    s3_bucket: tuple[str, str], encord_emulator: EncordEmulator
) -> None:
    url = moto_object(s3_bucket)
    signer = encord_emulator.core.signer
    expired = signer.sign(url, encord_emulator.domain, now=datetime(2020, 1, 1, tzinfo=UTC))
    response = requests.get(expired, timeout=30)
    assert response.status_code == 403
    assert "Request has expired" in response.text
    fresh = signer.sign(url, encord_emulator.domain)
    assert requests.get(fresh, timeout=30).content == BODY
    tampered = fresh.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200")
    response = requests.get(tampered, timeout=30)
    assert (response.status_code, "SignatureDoesNotMatch" in response.text) == (403, True)


def test_label_rows_and_data_rows_carry_signed_links_when_asked(
    s3_bucket: tuple[str, str], encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    client = encord_user_client
    urls = [moto_object(s3_bucket, "a.png"), moto_object(s3_bucket, "b.png")]
    _, item_uuids = register(client, encord_integration, urls)
    created = client.create_dataset("ds", StorageLocation.AWS, create_backing_folder=False)
    dataset = client.get_dataset(created.dataset_hash)
    dataset.link_items(item_uuids)
    project = client.get_project(client.create_project("p", [created.dataset_hash]))
    first, second = sorted(project.list_label_rows_v2(), key=lambda r: r.data_title)

    first.initialise_labels(include_signed_url=True)  # creates the label row
    second.initialise_labels()
    assert second.data_link == urls[1]
    refetched = project.list_label_rows_v2(data_hashes=[first.data_hash])[0]
    refetched.initialise_labels(include_signed_url=True)  # fetches the existing label row

    for label_row in (first, refetched):
        signed = label_row.data_link
        assert signed is not None and signed != urls[0]
        assert query(signed)["X-Amz-Expires"] == "3600"
        assert requests.get(signed, timeout=30).content == BODY
    row = next(r for r in dataset.list_data_rows() if r.file_link == urls[0])
    row.refetch_data(signed_url=True)
    assert row.signed_url is not None and row.signed_url != urls[0]
    assert requests.get(row.signed_url, timeout=30).content == BODY


def test_files_under_the_local_root_are_served(tmp_path: Path) -> None:
    (tmp_path / "bucket").mkdir()
    (tmp_path / "bucket" / "x.png").write_bytes(BODY)
    with EncordEmulator(local_root=tmp_path) as emulator:
        client = EncordUserClient.create_with_ssh_private_key(
            emulator.new_ssh_key(), domain=emulator.domain
        )
        integration = emulator.add_integration("s3", "s3")
        _, (item_uuid,) = register(client, integration, ["s3://bucket/x.png"])
        signed = client.get_storage_item(item_uuid, sign_url=True).get_signed_url()
        assert signed is not None and signed.startswith(emulator.domain)
        assert requests.get(signed, timeout=30).content == BODY


def test_cloud_objects_get_their_clouds_presigned_form(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    urls = [
        "s3://bucket/dir/a.jpg",
        "https://bucket.s3.eu-west-2.amazonaws.com/dir/b.jpg",
        "gs://bucket/dir/c.jpg",
        "https://account.blob.core.windows.net/container/d.jpg",
    ]
    _, item_uuids = register(encord_user_client, encord_integration, urls)
    items = encord_user_client.get_storage_items(item_uuids, sign_url=True)
    signed = [item.get_signed_url() or "" for item in items]
    assert signed[0].startswith("https://bucket.s3.amazonaws.com/dir/a.jpg?")
    assert signed[1].startswith("https://bucket.s3.eu-west-2.amazonaws.com/dir/b.jpg?")
    assert signed[2].startswith("https://storage.googleapis.com/bucket/dir/c.jpg?")
    assert signed[3].startswith("https://account.blob.core.windows.net/container/d.jpg?")
    assert query(signed[0])["X-Amz-Expires"] == query(signed[1])["X-Amz-Expires"] == "3600"
    assert query(signed[2])["X-Goog-Expires"] == "3600"
    assert {"se", "sig"} <= set(query(signed[3]))
