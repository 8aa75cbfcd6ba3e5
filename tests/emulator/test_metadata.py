"""Custom metadata through the SDK: schema v2 (scalars, enum, embedding, delete/restore), the
legacy schema dict, and validation of item metadata against the schema."""

from __future__ import annotations

import pytest
from encord import EncordUserClient
from encord.exceptions import InvalidArgumentsError
from encord.http.bundle import Bundle

from tests.emulator.test_storage import register_images


def test_schema_v2_round_trip(encord_user_client: EncordUserClient) -> None:
    schema = encord_user_client.metadata_schema()
    for key, kind in [
        ("split", "varchar"),
        ("note", "text"),
        ("score", "number"),
        ("flag", "boolean"),
        ("when", "datetime"),
        ("ref", "uuid"),
    ]:
        schema.add_scalar(key, data_type=kind)
    schema.add_enum("weather", values=["sunny", "rainy"])
    schema.add_embedding("emb", size=8)
    schema.save()
    loaded = encord_user_client.metadata_schema()
    assert loaded.get_key_type("score") == "number" and loaded.get_key_type("when") == "datetime"
    assert loaded.get_key_type("weather") == "enum" and loaded.get_key_type("emb") == "embedding"
    assert loaded.get_enum_options("weather") == ["rainy", "sunny"]
    loaded.set_scalar("note", data_type="varchar")
    loaded.delete_key("split")  # soft
    loaded.delete_key("ref", hard=True)
    loaded.save()
    again = encord_user_client.metadata_schema()
    assert again.get_key_type("note") == "varchar"
    assert again.get_key_type("split") is None and again.get_key_type("ref") is None
    again.restore_key("split")
    again.save()
    assert encord_user_client.metadata_schema().get_key_type("split") == "varchar"
    with pytest.raises(Exception, match="ref"):
        encord_user_client.metadata_schema().restore_key("ref")  # hard-deleted keys are gone


def test_legacy_schema_dict(encord_user_client: EncordUserClient) -> None:
    assert encord_user_client.get_client_metadata_schema() is None
    encord_user_client.set_client_metadata_schema_from_dict({"split": "string", "score": "number"})
    assert encord_user_client.get_client_metadata_schema() == {"split": "string", "score": "number"}


def test_item_metadata_is_validated_against_the_schema(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    schema = encord_user_client.metadata_schema()
    schema.add_scalar("score", data_type="number")
    schema.add_enum("weather", values=["sunny", "rainy"])
    schema.add_embedding("emb", size=3)
    schema.save()
    folder = encord_user_client.create_storage_folder("validated")
    spec = {
        "images": [
            {
                "objectUrl": "s3://b/ok.jpg",
                "clientMetadata": {"score": 0.5, "weather": "sunny", "emb": [1, 2, 3], "free": "x"},
            },
            {"objectUrl": "s3://b/bad.jpg", "clientMetadata": {"weather": "snowy"}},
        ]
    }
    job = folder.add_private_data_to_folder_start(encord_integration, spec, ignore_errors=True)
    result = folder.add_private_data_to_folder_get_result(job)
    assert result.units_done_count == 1
    assert result.unit_errors[0].object_urls == ["s3://b/bad.jpg"]
    assert (
        "key 'weather': expected one of ['rainy', 'sunny'], got 'snowy'"
        in result.unit_errors[0].error
    )
    item = encord_user_client.get_storage_item(result.items_with_names[0].item_uuid)
    with pytest.raises(InvalidArgumentsError, match=r"key 'emb': expected a list of 3 numbers"):
        item.update(client_metadata={"emb": [1, 2]})
    with (
        pytest.raises(InvalidArgumentsError, match=r"key 'score': expected a number, got 'high'"),
        Bundle() as bundle,
    ):
        item.update(client_metadata={"score": "high"}, bundle=bundle)
    assert encord_user_client.get_storage_item(item.uuid).client_metadata["score"] == 0.5


def test_metadata_over_10_mb_is_refused(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("size")
    result = register_images(encord_user_client, folder, encord_integration, 1)
    item = encord_user_client.get_storage_item(result.items_with_names[0].item_uuid)
    with pytest.raises(InvalidArgumentsError, match="10 MB"):
        item.update(client_metadata={"transcript": "x" * (10 * 1024 * 1024 + 1)})
