"""Runs gcp-storage-emulator (`python -m tests.emulators.gcs_launcher start ...`).

With `--in-memory` the emulator still re-serialises its whole metadata JSON after every write,
which nothing reads back in that mode; seeding 2,600 objects then costs minutes (quadratic). This
launcher skips that write in memory mode only; the HTTP API is the emulator's own.
"""

from __future__ import annotations

import sys
from typing import Any

from gcp_storage_emulator import storage
from gcp_storage_emulator.__main__ import main

_write_config = storage.Storage._write_config_to_file


def _write_config_unless_in_memory(self: Any) -> None:
    if not self._store._use_memory:
        _write_config(self)


storage.Storage._write_config_to_file = _write_config_unless_in_memory  # type: ignore[method-assign]

if __name__ == "__main__":
    main(sys.argv[1:])
