"""A burst of 10,000 S3 notifications (AWS's documented bodies, parsed by the SQS reader's own
parser) through `record_events` into the ledger: every file once, planned into chunks; the same
burst redelivered, shuffled, changes nothing. (moto's SQS hands out messages in time quadratic in
the queue's length, so the queue's part is shown at 120 messages in tests/events.)"""

from __future__ import annotations

import random
from pathlib import Path

from dagster_encord.config import pipeline_config
from dagster_encord.events import QueueMessage
from dagster_encord.events.s3_notifications import parse_body
from dagster_encord.ledger import FileState, Ledger
from dagster_encord.pipeline import IngestionSettings
from dagster_encord.pipeline.events import record_events
from tests.events.aws_bodies import s3_notification, s3_record

BURST = 10_000


def test_ten_thousand_events_register_each_key_once_and_redelivery_changes_nothing(
    tmp_path: Path,
) -> None:
    config = pipeline_config(
        {
            "name": "burst",
            "encord": {"ssh_private_key_env": "UNUSED_KEY"},
            "ledger": {"url": f"sqlite:///{tmp_path / 'ledger.db'}"},
            "source": {"url": "s3://amzn-s3-demo-bucket", "prefix": "cams/"},
            "registration": {"folder": "landing", "integration": "s3"},
        }
    )
    settings = IngestionSettings.from_config(config)
    ledger = Ledger(config.ledger.resolved_url(), pipeline="burst")
    source = settings.open_source()
    messages = [
        QueueMessage(
            f"m{n}",
            parse_body(
                s3_notification(
                    s3_record(
                        f"cams/{n:05d}.jpg",
                        sequencer=f"{n:018X}",
                        event_time="2026-12-01T12:00:00.000Z",
                    )
                )
            ),
        )
        for n in range(BURST)
    ]
    outside = QueueMessage("other", parse_body(s3_notification(s3_record("raw/x.jpg"))))
    first = record_events(settings, ledger, source, [*messages, outside])
    assert (first.diff.new, first.ignored, first.events) == (BURST, 1, BURST + 1)
    assert sum(chunk.file_count for chunk in first.plan.chunks) == BURST
    assert len(ledger.files_in_state(FileState.PLANNED)) == BURST

    random.Random(7).shuffle(messages)
    again = record_events(settings, ledger, source, messages)
    assert (again.diff.new, again.diff.changed, again.diff.unchanged) == (0, 0, BURST)
    assert again.plan.chunks == []
    ledger.close()
