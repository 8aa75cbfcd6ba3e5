"""GCS notifications as Cloud Storage publishes them to Pub/Sub, for the reader tests.

Per https://cloud.google.com/storage/docs/pubsub-notifications: the attributes
notificationConfig, eventType, payloadFormat, bucketId, objectId, objectGeneration, eventTime
(RFC 3339), plus overwroteGeneration on the finalize of an overwrite and overwrittenByGeneration
on the delete (or, in a versioned bucket, archive) of the generation it replaced. With
JSON_API_V1 the data is the object's JSON API resource; with NONE there is no data.
"""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import quote

from google.pubsub_v1 import PublisherClient
from google.pubsub_v1.types import pubsub

EVENT_TIME = "2026-03-01T12:00:00.123456Z"


def notification(
    event_type: str,
    bucket: str,
    key: str,
    generation: int,
    *,
    payload_format: str = "JSON_API_V1",
    size: int = 1234,
    content_type: str = "image/jpeg",
    event_time: str = EVENT_TIME,
    updated: str = EVENT_TIME,
    overwrote: int | None = None,
    overwritten_by: int | None = None,
) -> pubsub.PubsubMessage:
    """One notification, attributes and (for JSON_API_V1) the object resource as data."""
    attributes = {
        "notificationConfig": f"projects/_/buckets/{bucket}/notificationConfigs/1",
        "eventType": event_type,
        "payloadFormat": payload_format,
        "bucketId": bucket,
        "objectId": key,
        "objectGeneration": str(generation),
        "eventTime": event_time,
    }
    if overwrote is not None:
        attributes["overwroteGeneration"] = str(overwrote)
    if overwritten_by is not None:
        attributes["overwrittenByGeneration"] = str(overwritten_by)
    data = b""
    if payload_format == "JSON_API_V1":
        resource = object_resource(bucket, key, generation, size, content_type, updated)
        data = json.dumps(resource).encode()
    return pubsub.PubsubMessage(data=data, attributes=attributes)


def object_resource(
    bucket: str, key: str, generation: int, size: int, content_type: str, updated: str
) -> dict[str, str]:
    """The JSON API object resource (`storage#object`), as a JSON_API_V1 payload carries it."""
    name = quote(key, safe="")
    digest = hashlib.md5(f"{key}{generation}".encode()).digest()
    return {
        "kind": "storage#object",
        "id": f"{bucket}/{key}/{generation}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{name}",
        "mediaLink": (
            f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{name}"
            f"?generation={generation}&alt=media"
        ),
        "name": key,
        "bucket": bucket,
        "generation": str(generation),
        "metageneration": "1",
        "contentType": content_type,
        "timeCreated": updated,
        "updated": updated,
        "storageClass": "STANDARD",
        "timeStorageClassUpdated": updated,
        "size": str(size),
        "md5Hash": base64.b64encode(digest).decode(),
        "crc32c": "yZRlqg==",
        "etag": etag(generation),
    }


def etag(generation: int) -> str:
    """GCS's JSON API etag: base64 of the generation and metageneration (opaque to readers)."""
    return base64.b64encode(f"{generation}/1".encode()).decode()


def publish(topic: str, *messages: pubsub.PubsubMessage) -> list[str]:
    """Publish through the real client (PUBSUB_EMULATOR_HOST); the message ids, in order."""
    with PublisherClient() as publisher:
        ids: list[str] = []
        for start in range(0, len(messages), 1000):  # the service's limit per Publish
            batch = list(messages[start : start + 1000])
            ids += publisher.publish(topic=topic, messages=batch).message_ids
        return ids
