"""What the suite needs from the machine, read from `scripts/system-packages.txt`.

`scripts/test` installs or names those packages before pytest starts; these checks are
for a test run some other way (plain `pytest`, an IDE). A test whose service is missing
fails with the same advice instead of skipping: a green run must mean the browser, Redis
and compose tests ran. To leave them out on purpose, deselect their marker
(`./scripts/test --without redis`, or `pytest -m "not redis"`).
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_LIST = Path(__file__).resolve().parent.parent / "scripts" / "system-packages.txt"


@dataclass(frozen=True, slots=True)
class SystemNeed:
    """One row of the list: a check (a command, or `python:MODULE`) and where it comes from."""

    group: str
    check: str
    package: str
    marker: str
    purpose: str

    def present(self) -> bool:
        if self.check.startswith("python:"):
            return importlib.util.find_spec(self.check.removeprefix("python:")) is not None
        return shutil.which(self.check) is not None


def system_needs() -> list[SystemNeed]:
    """Every row of the list, comments and blank lines left out."""
    needs = []
    for line in PACKAGE_LIST.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            group, check, package, marker, purpose = line.split(maxsplit=4)
            needs.append(SystemNeed(group, check, package, marker, purpose))
    return needs


def require(marker: str) -> None:
    """Fail the calling test, with what to install, unless every need of `marker` is there."""
    missing = [need for need in system_needs() if need.marker == marker and not need.present()]
    if missing:
        packages = " ".join(dict.fromkeys(need.package for need in missing))
        pytest.fail(
            f"not installed: {', '.join(need.check for need in missing)} "
            f"(for {missing[0].purpose}). Install: "
            f"sudo apt-get install -y --no-install-recommends {packages} "
            f"-- or leave these tests out: ./scripts/test --without {marker}",
            pytrace=False,
        )
