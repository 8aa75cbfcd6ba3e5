"""The Encord API emulator: an HTTP server the real `encord` SDK talks to (tests, demo, bench)."""

from dagster_encord.emulator.server import EncordEmulator

__all__ = ["EncordEmulator"]
