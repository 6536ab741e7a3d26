"""wrk (from Debian: `apt-get install wrk`) as the load generator: one run against one
target, its output read into numbers."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
SIZES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


@dataclass(frozen=True)
class Target:
    """One URL as wrk drives it: method, body and headers, and connections in flight."""

    name: str
    url: str
    connections: int = 64
    method: str = "GET"
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    rps: float
    p50: float
    p99: float
    """Seconds."""
    errors: int
    bytes_per_request: float
    requests: int = 0
    cpu_per_request: float = float("nan")
    """Seconds of the server's CPU (user + system, every process of it) per answer; set by
    the caller, which knows the server's processes."""


def binary() -> str:
    found = shutil.which("wrk") or "/usr/bin/wrk"
    if not Path(found).exists():
        sys.exit("wrk is needed: apt-get install -y wrk")
    return found


def run(target: Target, seconds: float) -> Run:
    """One wrk run (one thread) against `target`; errors are socket errors and non-2xx/3xx."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        args = [binary(), "-t1", f"-c{target.connections}", f"-d{seconds:g}s", "--latency"]
        args += ["--timeout", "30s"]
        for name, value in target.headers.items():
            args += ["-H", f"{name}: {value}"]
        if target.method != "GET" or target.body:
            script = Path(tmp) / "request.lua"
            script.write_text(_script(target))
            args += ["-s", str(script)]
        out = subprocess.run(
            [*args, target.url], capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed on {target.name}: {out.stderr or out.stdout}")
    return parse(out.stdout)


def _script(target: Target) -> str:
    body = target.body.decode()
    return f"wrk.method = {_lua(target.method)}\nwrk.body = {_lua(body)}\n"


def _lua(text: str) -> str:
    return "[==[" + text + "]==]"


def parse(output: str) -> Run:
    rps = float(_search(r"Requests/sec:\s+([\d.]+)", output))
    p50 = _duration(_search(r"^\s*50(?:\.000)?%\s+(\S+)", output))
    p99 = _duration(_search(r"^\s*99(?:\.000)?%\s+(\S+)", output))
    requests = int(_search(r"(\d+) requests in", output))
    read = re.search(r"([\d.]+)([KMG]?B) read", output)
    total = float(read.group(1)) * SIZES[read.group(2)] if read else 0.0
    errors = 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return Run(rps, p50, p99, errors, total / requests if requests else 0.0, requests)


def _search(pattern: str, output: str) -> str:
    found = re.search(pattern, output, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk output without {pattern!r}:\n{output}")
    return found.group(1)


def _duration(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:
        raise RuntimeError(f"not a wrk duration: {text!r}")
    return float(found.group(1)) * UNITS[found.group(2)]
