"""The test command's check of the system services, run as bash runs it.

`scripts/test` must never start pytest into a selenium traceback or a silent skip: with a
service missing it installs it (root with apt-get) or stops with the exact commands. The
check is driven here on a made-up package list, with the install step replaced, so no
test touches the machine's packages.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.system import system_needs

ROOT = Path(__file__).resolve().parent.parent
LIST = """\
# group  check  package  marker  purpose
build  sh  dash  -  a shell
test  sh  dash  shell  something that is there
test  no-such-command-trickle  ghost-server  ghost  a service that is not installed
test  no-such-driver-trickle  ghost-driver  ghost  its driver
"""


def ensure(tmp_path: Path, *, without: str = "", root: bool) -> subprocess.CompletedProcess[str]:
    listing = tmp_path / "packages.txt"
    listing.write_text(LIST)
    script = f"""
        set -euo pipefail
        . scripts/lib/system.sh
        system_can_install() {{ {"true" if root else "false"}; }}
        system_install() {{ echo "would install: $*"; }}
        system_ensure_test_services "{without}"
        echo ready
    """
    return subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "TRICKLE_SYSTEM_PACKAGES": str(listing)},
    )


def test_a_person_without_root_is_told_what_to_install_and_how_to_go_without(tmp_path):
    result = ensure(tmp_path, root=False)
    assert result.returncode == 1 and "ready" not in result.stdout
    assert result.stderr.splitlines() == [
        "The test suite needs these Debian packages, which are not installed: ghost-server ghost-driver",
        "Install them:",
        "  sudo apt-get install -y --no-install-recommends ghost-server ghost-driver",
        "or run the rest of the suite without the tests that need them:",
        "  ./scripts/test --without ghost",
    ]


def test_as_root_the_missing_packages_are_installed_and_the_run_goes_on(tmp_path):
    result = ensure(tmp_path, root=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["would install: ghost-server ghost-driver", "ready"]


def test_leaving_a_markers_tests_out_means_its_packages_are_not_needed(tmp_path):
    result = ensure(tmp_path, without="ghost", root=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "ready\n", "")


def test_every_row_of_the_real_list_is_well_formed():
    needs = system_needs()
    assert {need.group for need in needs} == {"build", "test"}
    markers = {need.marker for need in needs if need.group == "test"}
    declared = (ROOT / "pyproject.toml").read_text()
    for marker in markers:
        assert f'"{marker}:' in declared, f"marker {marker} is not declared in pyproject.toml"
    assert all(need.marker == "-" for need in needs if need.group == "build")


@pytest.mark.parametrize("script", ["scripts/setup", "scripts/test", ".ci/run"])
def test_the_scripts_parse(script):
    assert subprocess.run(["bash", "-n", script], cwd=ROOT, timeout=30).returncode == 0
