"""Shared fixtures. Each real emulator's fixtures live in its own plugin under tests/emulators/."""

pytest_plugins: list[str] = []
