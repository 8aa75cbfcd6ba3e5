"""`open_reader(url, **options)`: the event reader for a queue URL, by its scheme.

Modules are imported on first use, so an SQS pipeline never imports google-cloud-pubsub.
"""

from __future__ import annotations

import importlib
from typing import Any

from dagster_encord.credentials import redact_url
from dagster_encord.errors import ConfigError
from dagster_encord.events.base import EventReader

# scheme (or https host part) -> (module, class)
READERS: dict[str, tuple[str, str]] = {
    "sqs": ("dagster_encord.events.sqs", "SqsReader"),
    "pubsub": ("dagster_encord.events.pubsub", "PubSubEventReader"),
    "azqueue": ("dagster_encord.events.azure_queue", "AzureQueueEventReader"),
}
FORMS = (
    "sqs://REGION/ACCOUNT_ID/QUEUE (or the https SQS URL), "
    "pubsub://PROJECT/subscriptions/SUBSCRIPTION, azqueue://ACCOUNT/QUEUE "
    "(or https://ACCOUNT.queue.core.windows.net/QUEUE)"
)
EXTRA = "pip install 'dagster-encord[events]'"


def reader_for(url: str) -> tuple[str, str]:
    """The (module, class) that reads `url`; ConfigError names the forms."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    host = rest.split("/", 1)[0].lower()
    if scheme in ("https", "http"):
        if ".queue." in host:
            scheme = "azqueue"
        elif host.startswith("sqs.") or ".sqs." in host or host.startswith(("127.", "localhost")):
            scheme = "sqs"
    found = READERS.get(scheme) if sep else None
    if found is None:
        raise ConfigError(f"no event reader for {redact_url(url)!r}: use {FORMS}")
    return found


def open_reader(url: str, **options: Any) -> EventReader:
    module_name, class_name = reader_for(url)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(
            f"{redact_url(url)}: the queue's client is not installed ({error}): {EXTRA}"
        ) from None
    reader: EventReader = getattr(module, class_name)(url, **options)
    return reader
