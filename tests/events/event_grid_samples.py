"""Azure Blob Storage events exactly as Microsoft documents them, in both Event Grid schemas.

Source: "Azure Blob Storage as an Event Grid source" (learn.microsoft.com/azure/event-grid/
event-schema-blob-storage), the BlobCreated, BlobDeleted, BlobTierChanged and Data Lake
CreateFile examples. Field names, nesting and value formats are the documented ones, including
the quoted eTag, the 7-digit fractional seconds, and Microsoft's own quirk that the sample's
`data.url` names container `testcontainer` while its subject names `test-container`.
`blob_event` builds the same documents for other names and times.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any, Literal
from urllib.parse import quote

Schema = Literal["eventgrid", "cloudevents"]
ACCOUNT = "my-storage-account"
SOURCE = (
    "/subscriptions/{subscription-id}/resourceGroups/Storage/providers/"
    f"Microsoft.Storage/storageAccounts/{ACCOUNT}"
)
ODD_NAME = "cam 1/frame+01 ü #?%20.jpg"  # as-is in the subject, percent-encoded in data.url

# Event Grid schema, BlobCreated, verbatim from the documentation.
DOCUMENTED_BLOB_CREATED = {
    "topic": SOURCE,
    "subject": "/blobServices/default/containers/test-container/blobs/new-file.txt",
    "eventType": "Microsoft.Storage.BlobCreated",
    "eventTime": "2017-06-26T18:41:00.9584103Z",
    "id": "831e1650-001e-001b-66ab-eeb76e069631",
    "data": {
        "api": "PutBlockList",
        "clientRequestId": "6d79dbfb-0e37-4fc4-981f-442c9ca65760",
        "requestId": "831e1650-001e-001b-66ab-eeb76e000000",
        "eTag": '"0x8D4BCC2E4835CD0"',
        "contentType": "text/plain",
        "contentLength": 524288,
        "blobType": "BlockBlob",
        "url": "https://my-storage-account.blob.core.windows.net/testcontainer/new-file.txt",
        "sequencer": "00000000000004420000000000028963",
        "storageDiagnostics": {"batchId": "b68529f3-68cd-4744-baa4-3c0498ec19f0"},
    },
    "dataVersion": "",
    "metadataVersion": "1",
}

# CloudEvents 1.0 schema, BlobDeleted, verbatim from the documentation.
DOCUMENTED_BLOB_DELETED = {
    "source": SOURCE,
    "subject": "/blobServices/default/containers/testcontainer/blobs/file-to-delete.txt",
    "type": "Microsoft.Storage.BlobDeleted",
    "time": "2017-11-07T20:09:22.5674003Z",
    "id": "4c2359fe-001e-00ba-0e04-58586806d298",
    "data": {
        "api": "DeleteBlob",
        "requestId": "4c2359fe-001e-00ba-0e04-585868000000",
        "contentType": "text/plain",
        "blobType": "BlockBlob",
        "url": "https://my-storage-account.blob.core.windows.net/testcontainer/file-to-delete.txt",
        "sequencer": "0000000000000281000000000002F5CA",
        "storageDiagnostics": {"batchId": "b68529f3-68cd-4744-baa4-3c0498ec19f0"},
    },
    "specversion": "1.0",
}

# Event Grid schema, BlobTierChanged, verbatim: not a create or delete, so no event.
DOCUMENTED_BLOB_TIER_CHANGED = {
    "topic": SOURCE,
    "subject": "/blobServices/default/containers/testcontainer/blobs/Auto.jpg",
    "eventType": "Microsoft.Storage.BlobTierChanged",
    "eventTime": "2021-05-04T15:00:00.8350154Z",
    "id": "0fdefc06-b01e-0034-39f6-4016610696f6",
    "data": {
        "api": "SetBlobTier",
        "clientRequestId": "68be434c-1a0d-432f-9cd7-1db90bff83d7",
        "requestId": "0fdefc06-b01e-0034-39f6-401661000000",
        "contentType": "image/jpeg",
        "contentLength": 105891,
        "blobType": "BlockBlob",
        "url": "https://my-storage-account.blob.core.windows.net/testcontainer/Auto.jpg",
        "sequencer": "000000000000000000000000000089A4000000000018d6ea",
        "storageDiagnostics": {"batchId": "3418f7a9-7006-0014-00f6-406dc6000000"},
    },
    "dataVersion": "",
    "metadataVersion": "1",
}

# CloudEvents schema, Data Lake BlobCreated from CreateFile (an empty file; FlushWithClose
# follows), verbatim.
DOCUMENTED_DATA_LAKE_CREATE_FILE = {
    "source": SOURCE,
    "subject": "/blobServices/default/containers/my-file-system/blobs/new-file.txt",
    "type": "Microsoft.Storage.BlobCreated",
    "time": "2017-06-26T18:41:00.9584103Z",
    "id": "831e1650-001e-001b-66ab-eeb76e069631",
    "data": {
        "api": "CreateFile",
        "clientRequestId": "6d79dbfb-0e37-4fc4-981f-442c9ca65760",
        "requestId": "831e1650-001e-001b-66ab-eeb76e000000",
        "eTag": '"0x8D4BCC2E4835CD0"',
        "contentType": "text/plain",
        "contentLength": 0,
        "contentOffset": 0,
        "blobType": "BlockBlob",
        "url": "https://my-storage-account.dfs.core.windows.net/my-file-system/new-file.txt",
        "sequencer": "00000000000004420000000000028963",
        "storageDiagnostics": {"batchId": "b68529f3-68cd-4744-baa4-3c0498ec19f0"},
    },
    "specversion": "1.0",
}


def blob_event(
    schema: Schema,
    event_type: str,
    container: str,
    name: str,
    *,
    time: str = "2026-03-01T12:00:00.1234567Z",
    size: int | None = 1024,
    sequencer: str = "00000000000000000000000000000001",
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """A documented-shape blob event: the subject carries `name` as-is, the URL percent-encoded."""
    created = event_type.endswith("BlobCreated")
    data: dict[str, Any] = {
        "api": "PutBlob" if created else "DeleteBlob",
        "clientRequestId": str(uuid.uuid4()),
        "requestId": str(uuid.uuid4()),
        "contentType": "image/jpeg",
        "blobType": "BlockBlob",
        "url": f"https://{account}.blob.core.windows.net/{container}/{quote(name)}",
        "sequencer": sequencer,
        "storageDiagnostics": {"batchId": str(uuid.uuid4())},
    }
    if created:
        data["eTag"] = '"0x8DE1A2B3C4D5E6F"'
        data["contentLength"] = size
    source = SOURCE.replace(ACCOUNT, account)
    subject = f"/blobServices/default/containers/{container}/blobs/{name}"
    if schema == "eventgrid":
        return {
            "topic": source,
            "subject": subject,
            "eventType": event_type,
            "eventTime": time,
            "id": str(uuid.uuid4()),
            "data": data,
            "dataVersion": "",
            "metadataVersion": "1",
        }
    return {
        "source": source,
        "subject": subject,
        "type": event_type,
        "time": time,
        "id": str(uuid.uuid4()),
        "data": data,
        "specversion": "1.0",
    }


def message_body(events: Any, encoding: Literal["base64", "plain"]) -> str:
    """A queue message as Event Grid writes it: the JSON, base64-encoded by default."""
    text = json.dumps(events)
    return base64.b64encode(text.encode()).decode() if encoding == "base64" else text
