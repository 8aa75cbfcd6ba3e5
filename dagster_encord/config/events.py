"""The `events` section (bucket notifications through a queue replace polling) and the
`reconcile` section (a scheduled full listing: lost events, deletions, drift)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from dagster_encord.config.base import Section, as_value_error, no_secret_options, no_secret_url
from dagster_encord.config.exports import cron

SENSOR_LIMIT_SECONDS = 60.0  # Dagster abandons a sensor tick after this


class EventsSection(Section):
    """Where the bucket's notifications arrive: SQS, a Pub/Sub subscription or a Storage Queue."""

    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {
        "max_messages_per_tick": (1, True),
        "tick_budget_seconds": (0, False),
        "wait_seconds": (0, True),
    }

    queue: str = Field(
        description="sqs://REGION/ACCOUNT/QUEUE (or the https SQS URL), "
        "pubsub://PROJECT/subscriptions/SUBSCRIPTION, or azqueue://ACCOUNT/QUEUE (Event Grid "
        "to a Storage Queue)."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Queue client options (endpoint_url, region, credentials_file, ...); "
        "credentials only as <option>_env, as for the source.",
    )
    max_messages_per_tick: int = Field(
        default=5000, description="Messages one sensor tick reads at most."
    )
    tick_budget_seconds: float = Field(
        default=40.0,
        description="Seconds a tick spends receiving before it plans and requests runs (under "
        "Dagster's 60 s sensor limit).",
    )
    wait_seconds: float = Field(
        default=5.0, description="Long-poll wait for the first messages of a tick."
    )

    @field_validator("queue")
    @classmethod
    def _queue(cls, value: str) -> str:
        from dagster_encord.events.registry import reader_for

        as_value_error(reader_for, value)
        return no_secret_url(value, "pass the credential as options: {NAME_env: VARIABLE}")

    _options = field_validator("options")(no_secret_options)

    @field_validator("tick_budget_seconds")
    @classmethod
    def _budget(cls, value: float) -> float:
        if value >= SENSOR_LIMIT_SECONDS - 5:
            raise ValueError(
                f"expected under {SENSOR_LIMIT_SECONDS - 5:g} s: Dagster abandons a sensor tick "
                f"after {SENSOR_LIMIT_SECONDS:g} s and the tick still plans after receiving"
            )
        return value


class ReconcileSection(Section):
    """A scheduled complete listing of the source."""

    schedule: str = Field(
        description="Cron schedule (UTC) of the complete listing, e.g. '0 3 * * *': it registers "
        "files whose events were lost and finds deletions."
    )

    _schedule = field_validator("schedule")(cron)
