"""Where a facade process spends its time: py-spy samples it while wrk drives it, and the
folded stacks are summed by component (zeep, lxml, the facade's own steps, the framework,
the server, the event loop) and by function.

py-spy reads another process's memory (ptrace); where that is not permitted the profile
is skipped and the report says so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# the first folder found in a frame's file path names its component (py-spy writes the
# path from the folder on sys.path: `zeep/xsd/types/complex.py`, `asyncio/events.py`)
COMPONENTS = (
    ("/zeep/", "zeep (SOAP envelopes, XSD types)"),
    ("/lxml/", "lxml"),
    ("facade/translate/", "facade translate (reply and request mapping)"),
    ("facade/soap/", "facade soap (envelopes, reply classification)"),
    ("facade/net/", "facade network seam"),
    ("/aiohttp/", "aiohttp (client toward the backend)"),
    ("facade/compression", "facade compression"),
    ("facade/cache/", "facade cache"),
    ("facade/", "facade (other steps)"),
    ("/jmespath/", "jmespath"),
    ("/orjson", "orjson"),
    ("/pydantic", "pydantic"),
    ("/fastapi/", "fastapi"),
    ("/starlette/", "starlette"),
    ("/uvicorn/", "uvicorn (HTTP server)"),
    ("/httptools/", "uvicorn (HTTP server)"),
    ("/prometheus_client/", "prometheus_client"),
    ("/logging/", "logging"),
    ("/asyncio/", "asyncio / uvloop (event loop)"),
    ("/uvloop/", "asyncio / uvloop (event loop)"),
)


@dataclass(frozen=True)
class Profile:
    samples: int
    self_by_component: list[tuple[str, float]]
    inclusive_by_component: list[tuple[str, float]]
    self_by_function: list[tuple[str, float]]
    facade_steps: list[tuple[str, float]]
    """The facade's own functions, each counted once per stack it is on."""


def py_spy() -> str | None:
    return shutil.which("py-spy") or next(
        (str(p) for p in [Path(sys.executable).parent / "py-spy"] if p.exists()), None
    )


def record(pid: int, seconds: float) -> Path | str:
    """Folded stacks of `pid` for `seconds` (a file), or why there are none (a string).
    Start the load first: this blocks for `seconds`."""
    binary = py_spy()
    if binary is None:
        return "py-spy is not installed (pip install py-spy)"
    out = Path(tempfile.mkdtemp(prefix="bench-profile-")) / "stacks.txt"
    args = [binary, "record", "--pid", str(pid), "--duration", str(int(seconds))]
    args += ["--rate", "200", "--format", "raw", "--nonblocking", "--output", str(out)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0 or not out.exists():
        return f"py-spy could not sample the process: {(done.stderr or done.stdout).strip()[-300:]}"
    return out


def component(frame: str) -> str:
    place = "/" + _place(frame)
    for pattern, name in COMPONENTS:
        if pattern in place:
            return name
    return "other (stdlib, C extensions)"


def _place(frame: str) -> str:
    """`handle (facade/pipeline.py:120)` -> `facade/pipeline.py`."""
    return frame.partition(" (")[2].rstrip(")").rsplit(":", 1)[0]


def summarise(stacks: Path, top: int = 15) -> Profile:
    """Shares of the samples: by the component of the innermost frame (self), by every
    component on the stack (inclusive), and by innermost function."""
    total = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    for line in stacks.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[component(frames[-1])] += count
        for name in {component(f) for f in frames}:
            inclusive[name] += count
        functions[_short(frames[-1])] += count
        for name in {_short(f) for f in frames if _place(f).startswith("facade/")}:
            steps[name] += count

    def shares(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(name, count / total) for name, count in counter.most_common(n)] if total else []

    return Profile(
        total,
        shares(own, 30),
        shares(inclusive, 30),
        shares(functions, top),
        shares(steps, 40),
    )


def _short(frame: str) -> str:
    """`handle (facade/pipeline.py:120)` -> `handle (facade/pipeline.py)`, site-packages cut."""
    name, place = frame.partition(" (")[0], _place(frame)
    for marker in ("site-packages/", "lib/python3"):
        if marker in place:
            place = place.split(marker, 1)[1]
    return f"{name} ({place})"
