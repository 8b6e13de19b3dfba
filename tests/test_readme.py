"""The README's quick start stays true: the commands it names exist and run as written.

A newcomer copies the quick-start block word for word, so a script renamed or made
non-executable, or a system package added to the list but not to the README, must fail
here rather than on someone's fresh machine.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from tests.system import system_needs

ROOT = Path(__file__).resolve().parent.parent


def _quick_start() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def _shell_blocks(text: str) -> list[list[str]]:
    """Each ```sh block as its command lines, comments and blank lines dropped."""
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return [[line.split(" #", 1)[0].strip() for line in block.splitlines() if line.strip()] for block in blocks]


def _scripts_named(line: str) -> list[str]:
    """The repository scripts a command line runs, past `VAR=value` prefixes and pipes."""
    return [word for word in shlex.split(line, comments=True) if word.startswith("./")]


def test_the_quick_start_gives_the_two_commands_in_a_block_of_their_own():
    blocks = [[line.split()[0] for line in block] for block in _shell_blocks(_quick_start())]
    assert ["./scripts/run", "./scripts/test"] in blocks


def test_every_script_the_quick_start_names_exists_and_is_executable():
    named = {script for block in _shell_blocks(_quick_start()) for line in block for script in _scripts_named(line)}
    assert named, "the quick start names no command"
    for script in named:
        path = ROOT / script
        assert path.is_file(), f"README names {script}, which does not exist"
        assert os.access(path, os.X_OK), f"README names {script}, which is not executable"
        assert path.read_text().startswith("#!"), f"{script} has no shebang line"


def test_the_quick_start_names_every_system_package_the_scripts_install():
    text = _quick_start()
    missing = sorted({need.package for need in system_needs()} - set(re.findall(r"[a-z0-9][a-z0-9.+-]+", text)))
    assert not missing, f"scripts/system-packages.txt lists {missing}, which the quick start does not name"


def test_ci_runs_the_readmes_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in ci.splitlines() if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert [shlex.split(line)[0] for line in commands] == ["./scripts/test"]
