"""The Encord API emulator: an HTTP server the real `encord` SDK talks to (tests, demo, bench)."""

from dagster_encord.emulator.server import EncordEmulator
from dagster_encord.emulator.workflow import DEFAULT_WORKFLOW_TEMPLATE_UUID

__all__ = ["DEFAULT_WORKFLOW_TEMPLATE_UUID", "EncordEmulator"]
