"""The SSH key never appears in logs, materialization metadata, reprs or exceptions."""

from __future__ import annotations

import pytest

from dagster_encord.dagster.resources import EncordResource
from dagster_encord.emulator import EncordEmulator
from dagster_encord.errors import EncordAuthError, EncordError
from dagster_encord.quickstart.sample_media import png
from tests.pipeline.harness import KEY_ENV, Harness


def _key_fragments(key: str) -> list[str]:
    body = [line for line in key.splitlines() if line and not line.startswith("-----")]
    return [key, *body]


def test_key_absent_from_event_log_and_metadata(harness: Harness, encord_ssh_key: str) -> None:
    harness.put({"x/1.png": png(2, 2, (1, 2, 3))})
    defs = harness.defs()
    runs = harness.tick(defs, "new_objects")
    assert runs and all(run.success for run in runs)
    text = ""
    for run in runs:
        text += "\n".join(str(entry) for entry in harness.instance.all_logs(run.run_id))
    assert "registered_files" in text
    for fragment in _key_fragments(encord_ssh_key):
        assert fragment not in text
    resource = defs.resources["encord"]  # type: ignore[index]
    assert "encord" in repr(resource).lower()
    for fragment in _key_fragments(encord_ssh_key):
        assert fragment not in repr(resource) and fragment not in str(resource)


def test_rejected_and_malformed_keys_are_not_quoted(
    encord_emulator: EncordEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    unregistered = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
    monkeypatch.setenv(KEY_ENV, unregistered)
    resource = EncordResource(ssh_private_key=unregistered, domain=encord_emulator.domain)
    with pytest.raises(EncordError) as rejected:
        resource.get_client().resolve_folder("00000000-0000-4000-8000-000000000000")
    # Armour intact, body garbled: the SDK's parse error must not quote it.
    lines = unregistered.splitlines()
    malformed = "\n".join([lines[0], lines[1][::-1], lines[-1]])
    with pytest.raises(EncordAuthError) as bad:
        EncordResource(ssh_private_key=malformed, domain=encord_emulator.domain).get_client()
    for error, key in ((rejected.value, unregistered), (bad.value, malformed)):
        for fragment in _key_fragments(key):
            assert fragment not in str(error) and fragment not in repr(error)
        assert error.__cause__ is None
