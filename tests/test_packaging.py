"""Packaging promises: one version, a real licence, ranges for users and exact pins for CI."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints/test.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_version_comes_from_the_package_metadata() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "katarestore_tui", "--version"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    assert done.stdout.strip() == f"katarestore {metadata.version('katarestore')}"
    assert metadata.version("katarestore") == PYPROJECT["project"]["version"]


def test_licence_is_mit_in_the_file_and_the_metadata() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert metadata.metadata("katarestore")["License-Expression"] == "MIT"


def test_users_get_a_range_and_ci_gets_the_exact_pins() -> None:
    runtime = {Requirement(r).name.lower(): Requirement(r) for r in PYPROJECT["project"]["dependencies"]}
    textual = runtime["textual"].specifier
    assert not any(spec.operator in ("==", "~=", "===") for spec in textual)  # not an exact pin
    pins = _constraints()
    assert set(pins) >= {"textual", "ruff"}
    assert pins["textual"] in textual  # the pinned release is one users may get too
    for name, version in pins.items():  # this environment was installed with the constraints
        assert metadata.version(name) == version, f"{name} {metadata.version(name)} != {version}"


def test_readme_test_command_is_the_one_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci/run").read_text()
    line = re.search(r"^python3 -m venv \.venv && .*pytest -q( -n \d+)?$", ci, re.M)
    assert line is not None
    assert "-c constraints/test.txt" in line.group(0)
    assert line.group(0) in readme.splitlines()
