"""Authentication: SDK calls with registered keys and tokens work; raw HTTP negatives are refused
the way Encord refuses them, and the SDK raises its authentication error."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests
from encord import EncordUserClient
from encord.exceptions import AuthenticationError

from dagster_encord.emulator import EncordEmulator
from dagster_encord.emulator.auth import generate_key_pair


def test_registered_key_lists_integrations(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient
) -> None:
    integration = encord_emulator.add_integration("bucket-a", "s3")
    found = encord_user_client.get_cloud_integrations()
    assert [(i.id, i.title) for i in found] == [(integration, "bucket-a")]


def test_unknown_key_gets_authentication_error_on_v2_and_legacy(
    encord_emulator: EncordEmulator,
) -> None:
    stranger, _ = generate_key_pair()  # never registered
    client = EncordUserClient.create_with_ssh_private_key(stranger, domain=encord_emulator.domain)
    with pytest.raises(AuthenticationError):
        client.get_cloud_integrations()
    with pytest.raises(AuthenticationError):
        client.get_dataset("00000000-0000-4000-8000-000000000003")


def test_bearer_token_from_sdk_works_and_unknown_token_fails(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient
) -> None:
    token = encord_user_client.get_bearer_token()
    by_token = EncordUserClient.create_with_bearer_token(token, domain=encord_emulator.domain)
    folder = by_token.create_storage_folder("via-token")
    assert by_token.get_storage_folder(folder.uuid).name == "via-token"
    wrong = EncordUserClient.create_with_bearer_token("not-a-token", domain=encord_emulator.domain)
    with pytest.raises(AuthenticationError):
        wrong.get_cloud_integrations()


def test_unsigned_v2_request_is_401(encord_emulator: EncordEmulator) -> None:
    response = requests.get(f"{encord_emulator.domain}/v2/public/cloud-integrations", timeout=10)
    assert response.status_code == 401
    assert "not signed" in response.json()["message"]


def test_tampered_body_or_target_is_401(
    encord_emulator: EncordEmulator, encord_ssh_key: str
) -> None:
    """Sign one request with the SDK's own signer, then alter the body or the target."""
    from cryptography.hazmat.primitives import serialization
    from encord.http.v2.request_signer import sign_request

    private = serialization.load_ssh_private_key(encord_ssh_key.encode(), None)
    key_id = (
        private.public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        .hex()
    )
    url = f"{encord_emulator.domain}/v2/public/storage/folders"
    prepared = requests.Request("POST", url, json={"name": "ok"}).prepare()
    signed = sign_request(prepared, key_id, private)
    session = requests.Session()
    assert session.send(signed, timeout=10).status_code == 200  # the genuine request passes

    signed.body = json.dumps({"name": "evil"}).encode()
    signed.headers["Content-Length"] = str(len(signed.body))
    assert session.send(signed, timeout=10).status_code == 401

    other = requests.Request("POST", url, json={"name": "ok"}).prepare()
    resigned = sign_request(other, key_id, private)
    resigned.url = url + "?x=1"
    response = session.send(resigned, timeout=10)
    assert response.status_code == 401
    assert "does not verify" in response.json()["message"]


def test_legacy_wrong_signature_is_enveloped_authentication_error(
    encord_emulator: EncordEmulator,
) -> None:
    _, public_key = generate_key_pair()
    key_id = encord_emulator.add_public_key(public_key)
    body = json.dumps(
        {"query_type": "dataset", "query_method": "GET", "values": {"uid": None, "payload": None}}
    )
    bogus = (
        hashlib.sha256(b"something else").hexdigest() * 2
    )  # 128 hex chars, not a valid signature
    response = requests.post(
        f"{encord_emulator.domain}/public",
        data=body,
        headers={
            "Authorization": f"{key_id}:{bogus}",
            "ResourceType": "dataset",
            "ResourceID": "x",
        },
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["status"] == 401
    assert response.json()["response"] == ["AUTHENTICATION_ERROR"]


def test_keys_survive_restart_with_state_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    state = tmp_path / "encord.sqlite"
    with EncordEmulator(state_path=state) as first:
        key = first.new_ssh_key()
    with EncordEmulator(state_path=state) as second:
        client = EncordUserClient.create_with_ssh_private_key(key, domain=second.domain)
        assert client.get_cloud_integrations() == []
