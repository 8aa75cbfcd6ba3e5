"""Shared fixtures. Each real emulator's fixtures live in its own plugin under tests/emulators/."""

pytest_plugins: list[str] = [
    "tests.emulators.s3",
    "tests.emulators.gcs",
    "tests.emulators.pubsub",
    "tests.emulators.azure",
    "tests.emulators.encord",
    "tests.emulators.postgres",
]
