"""`python -m dagster_encord.emulator ...` = `dagster-encord emulator ...`."""

import sys

from dagster_encord.cli import main

raise SystemExit(main(["emulator", *sys.argv[1:]]))
