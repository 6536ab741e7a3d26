"""The Dockerfile's promises, read from the file (building an image needs a Docker daemon,
which the test run does not assume): a pinned base image, dependencies in a layer of their
own, and no shipped routes that could only fail."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
INSTRUCTIONS = [
    line for line in DOCKERFILE.replace("\\\n", " ").splitlines() if line and line[0] != "#"
]


def _index(prefix: str) -> int:
    return next(i for i, line in enumerate(INSTRUCTIONS) if line.startswith(prefix))


def test_base_image_is_pinned_to_a_release() -> None:
    [default] = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", default)
    assert "FROM ${PYTHON_IMAGE}" in INSTRUCTIONS


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    deps = _index("RUN python -c")
    assert _index("COPY pyproject.toml") < deps < _index("COPY facade")
    assert INSTRUCTIONS[_index("COPY pyproject.toml")] == "COPY pyproject.toml ./"
    assert "--no-deps" in INSTRUCTIONS[_index("RUN pip install")]


def test_the_dependency_layer_lists_exactly_the_projects_dependencies() -> None:
    script = re.search(r'RUN python -c "([^"]+)"', DOCKERFILE)
    assert script is not None
    printed = subprocess.run(
        [sys.executable, "-c", script.group(1)],  # sh passes the \n on for Python to read
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert [line for line in printed if line] == declared


def test_no_routes_are_shipped_in_the_image() -> None:
    copied = [line.split()[1] for line in INSTRUCTIONS if line.startswith("COPY")]
    assert not {"mappings", "wsdl"} & set(copied)
