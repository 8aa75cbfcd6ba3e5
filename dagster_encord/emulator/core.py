"""The emulator without its HTTP server: state, keys, faults, counters and the job runner.

Route handlers and the Python/control APIs all act on one `EmulatorCore`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster_encord.emulator.auth import KeyRing, generate_key_pair
from dagster_encord.emulator.faults import Counters, FaultPlan
from dagster_encord.emulator.jobs import JobRunner, JobSettings
from dagster_encord.emulator.metadata import check_item_metadata
from dagster_encord.emulator.records import Integration, OrgDoc, new_uuid
from dagster_encord.emulator.signing import UrlSigner
from dagster_encord.emulator.state import EmulatorState
from dagster_encord.emulator.verify import ObjectVerifier
from dagster_encord.emulator.workflow import build_template, default_template

DEFAULT_USER = "user@example.com"


@dataclass
class CoreSettings:
    state_path: Path | None = None
    verify_objects: bool = True
    local_root: Path | None = None
    probe_media: bool = True  # read image headers of reachable objects for width and height
    poll_cap_seconds: float = (
        20.0  # longest hold of a PENDING long poll (SDK read timeout is 180 s)
    )
    job_workers: int = 2


@dataclass
class EmulatorCore:
    settings: CoreSettings = field(default_factory=CoreSettings)

    def __post_init__(self) -> None:
        self.state = EmulatorState.open(self.settings.state_path)
        self.keys = KeyRing()
        for doc in self.state.user_keys.values():
            kind, _, secret = doc.key.partition(":")
            (self.keys.keys if kind == "key" else self.keys.tokens)[secret] = doc.value
        self.faults = FaultPlan()
        self.counters = Counters()
        self.jobs = JobRunner(
            self.state,
            self.faults,
            JobSettings(
                self.settings.verify_objects, self.settings.local_root, self.settings.probe_media
            ),
            metadata_check=lambda metadata: check_item_metadata(self.state, metadata),
            workers=self.settings.job_workers,
        )
        self.jobs.resume_pending()
        reader = ObjectVerifier(self.settings.verify_objects, self.settings.local_root)
        self.signer = UrlSigner(reader.locate)  # signed URLs serve what the verifier reaches

    # --- identities ------------------------------------------------------------------------

    def add_public_key(self, public_key_text: str, user: str = DEFAULT_USER) -> str:
        key_id = self.keys.add_key(public_key_text, user)
        self.state.save(self._user_doc(f"key:{key_id}", user), kind="user_key")
        return key_id

    def new_ssh_key(self, user: str = DEFAULT_USER) -> str:
        private_text, public_text = generate_key_pair()
        self.add_public_key(public_text, user)
        return private_text

    def add_token(self, token: str | None = None, user: str = DEFAULT_USER) -> str:
        token = self.keys.add_token(token, user)
        self.state.save(self._user_doc(f"token:{token}", user), kind="user_key")
        return token

    def _user_doc(self, key: str, user: str) -> OrgDoc:
        return OrgDoc(key=key, value=user, updated_at=self.state.clock.now_iso())

    # --- integrations ----------------------------------------------------------------------

    def add_integration(self, title: str, provider: str = "s3") -> str:
        integration = Integration(uuid=new_uuid(), title=title, provider=provider)
        self.state.save(integration)
        return integration.uuid

    # --- workflow templates ----------------------------------------------------------------

    def add_workflow_template(
        self, title: str, stages: Sequence[tuple[str, str] | Mapping[str, str]]
    ) -> str:
        """A template projects can be created from; stages are `(title, stage type)` pairs or
        `{"title", "stageType", "uuid"?}` dicts. Raises ValueError for a workflow it cannot run."""
        template = build_template(title, stages, self.state.clock.now_iso())
        self.state.save(template)
        return template.uuid

    def workflow_templates(self) -> list[dict[str, Any]]:
        with self.state.lock:
            templates = [default_template(), *self.state.workflow_templates.values()]
            return [{"uuid": t.uuid, "title": t.title, "stages": t.stages} for t in templates]

    # --- inspection ------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        with self.state.lock:
            jobs = self.state.upload_jobs.values()
            return {
                "folders": len(self.state.folders),
                "items": sum(1 for i in self.state.items.values() if i.group_uuid is None),
                "uploadJobs": {
                    s: sum(1 for j in jobs if j.status == s)
                    for s in ("PENDING", "DONE", "ERROR", "CANCELLED")
                },
                "datasets": len(self.state.datasets),
                "projects": len(self.state.projects),
                "ontologies": len(self.state.ontologies),
                "labelRows": len(self.state.label_rows),
                "workflowTasks": len(self.state.tasks),
                "integrations": [
                    {"uuid": i.uuid, "title": i.title, "provider": i.provider}
                    for i in self.state.integrations.values()
                ],
                "duplicateItems": self.state.duplicate_items(),
            }

    def reset(self) -> None:
        """Forget all data, faults and counters and return to real time; registered keys and
        tokens stay."""
        self.state.reset()
        for key_id, user in self.keys.keys.items():
            self.state.save(self._user_doc(f"key:{key_id}", user), kind="user_key")
        for token, user in self.keys.tokens.items():
            self.state.save(self._user_doc(f"token:{token}", user), kind="user_key")
        self.faults.clear()
        self.counters.reset()

    def close(self) -> None:
        self.jobs.stop()
        self.state.close()
