"""`dagster-encord emulator --port P`: run the Encord API emulator in the foreground.

For the quick-start demo and for clients in other processes. It prints the domain to pass to
`EncordUserClient.create_with_ssh_private_key(key, domain=...)` and the uuid of each integration;
the control API under `/__emulator/` registers more keys, sets faults and reads counters.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from types import FrameType

from dagster_encord.errors import EmulatorConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any free)")
    parser.add_argument("--state", type=Path, help="SQLite file that keeps state across restarts")
    parser.add_argument(
        "--authorized-keys",
        type=Path,
        help="file of `ssh-ed25519 AAAA...` public keys (one per line) allowed to sign requests",
    )
    parser.add_argument(
        "--integration",
        action="append",
        default=[],
        metavar="TITLE[=PROVIDER]",
        help="add a cloud integration (provider s3, gcp, azure, otc; default s3); repeatable",
    )
    parser.add_argument(
        "--local-root", type=Path, help="check object URLs against files under DIR/bucket/key"
    )
    parser.add_argument(
        "--no-verify-objects",
        action="store_true",
        help="do not check that object URLs on 127.0.0.1 exist",
    )
    parser.add_argument(
        "--no-probe-media",
        action="store_true",
        help="do not read image headers (first 64 KiB) of reachable objects for width and height",
    )


def read_authorized_keys(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise EmulatorConfigError(
            f"cannot read --authorized-keys {path}: {error.strerror}"
        ) from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through serve_forever, which stops the server cleanly


def run(args: argparse.Namespace) -> int:
    from dagster_encord.emulator import EncordEmulator

    emulator = EncordEmulator(
        state_path=args.state,
        port=args.port,
        verify_objects=not args.no_verify_objects,
        local_root=args.local_root,
        probe_media=not args.no_probe_media,
    )
    keys = read_authorized_keys(args.authorized_keys) if args.authorized_keys else []
    for number, key in enumerate(keys, start=1):
        try:
            emulator.add_public_key(key)
        except ValueError as error:
            raise EmulatorConfigError(
                f"{args.authorized_keys} line {number}: not an ssh-ed25519 public key ({error})"
            ) from None
    existing = {i["title"]: i["uuid"] for i in emulator.describe()["integrations"]}
    for spec in args.integration:
        title, _, provider = spec.partition("=")
        if title not in existing:
            existing[title] = emulator.add_integration(title, provider or "s3")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    emulator.start()
    print(f"Encord emulator listening on {emulator.domain}", flush=True)
    for title, integration_uuid in existing.items():
        print(f"  integration {title!r}: {integration_uuid}", flush=True)
    print(f"  control API: {emulator.domain}/__emulator/state", flush=True)
    emulator.serve_forever()
    return 0
