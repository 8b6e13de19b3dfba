"""Long-running commands: start the platforms the settings configure."""

from __future__ import annotations

import argparse

from core.settings import Settings, SettingsError


async def run_service(command: str, settings: Settings, args: argparse.Namespace) -> int:
    """Run `trickle slack|discord|playground|serve` until interrupted."""
    raise SettingsError(f"`trickle {command}` is not available in this build yet")
