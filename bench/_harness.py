"""What the network benchmarks share: ports, file limits, a canned nginx backend, the facade
as a real process, canned SOAP replies made by the project's own mock, and percentiles.

Everything listens on 127.0.0.1 only and is stopped when its `with` block ends, also on
Ctrl-C or an error.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WSDL_DIR = ROOT / "wsdl"
CRM_WSDL = WSDL_DIR / "crm.wsdl"
CRM_NS = "http://example.com/crm"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
STARTUP_SECONDS = 120.0
"""Generous: on a loaded machine two workers and their translators take a while."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_nofile() -> int:
    """Raise this process's open-file limit as far as allowed; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for wanted in (hard, 1_048_576, 65_536):
        if wanted == resource.RLIM_INFINITY:
            continue
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
            return wanted
        except (ValueError, OSError):
            continue
    return soft


def stop_on_sigterm() -> None:
    """SIGTERM ends the benchmark like Ctrl-C does: through every `finally`, so nginx and the
    facade are stopped too."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def machine() -> str:
    """Cores and load: other work on the machine shifts absolute numbers, not ratios."""
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load}"


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of unsorted values; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


def ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.1f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {STARTUP_SECONDS:g} s")


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop one process started here: a signal, then a kill after 10 s."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- nginx -------------------------------------------------------------------------------

NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{
    worker_connections 16384;
    multi_accept on;
}}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ }}
    default_type "text/xml; charset=utf-8";
    keepalive_timeout 120s;
    keepalive_requests 10000000;
    client_body_buffer_size 64k;
    etag off;
    server {{
        listen 127.0.0.1:{port} backlog=65535;
        root {tmp}/www;
        # the static module answers POST with 405; serve the file instead
        error_page 405 =200 $uri;
    }}
}}
"""


@dataclass(frozen=True)
class Nginx:
    port: int
    tmp: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def nginx(files: Mapping[str, bytes]) -> Iterator[Nginx]:
    """nginx on a free port, one worker, serving `files` (URL path -> bytes) to GET and POST."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        sys.exit("nginx is needed: apt-get install -y nginx-light")
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as name:
        tmp = Path(name)
        (tmp / "www").mkdir()
        for path, body in files.items():
            target = tmp / "www" / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        port = free_port()
        # as root, workers would switch to `nobody`; keep them as the current user instead
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port))
        os.chmod(tmp, 0o755)  # noqa: S103 - nginx workers read the files
        log = tmp / "error.log"
        proc = subprocess.Popen(
            [binary, "-p", str(tmp), "-e", str(log), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_raise_child_nofile,
            start_new_session=True,  # its own process group: master and worker stop together
        )
        try:
            wait_for_port(port, proc, log, "nginx")
            yield Nginx(port, tmp)
        finally:
            stop(proc, signal.SIGTERM)  # nginx's fast shutdown
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # a worker left behind by its master


def _raise_child_nofile() -> None:
    raise_nofile()


# -- the facade ----------------------------------------------------------------------------


@contextlib.contextmanager
def facade(
    mappings: Mapping[str, str],
    *,
    workers: int = 1,
    folder: Path | None = None,
    options: tuple[str, ...] = (),
) -> Iterator[str]:
    """`python -m facade serve OPTIONS` over a folder of mappings (file name -> YAML text; a
    temp folder unless `folder` names one), with a raised open-file limit; yields its base
    URL once /readyz answers 200."""
    with facade_process(mappings, workers=workers, folder=folder, options=options) as (base, _):
        yield base


@contextlib.contextmanager
def facade_process(
    mappings: Mapping[str, str],
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    folder: Path | None = None,
    options: tuple[str, ...] = (),
    root: Path = ROOT,
    wrapper: tuple[str, ...] = (),
    startup: float = STARTUP_SECONDS,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As `facade`, and yields the process too (to profile it or read its memory);
    `root`: the checkout whose code serves (another one's, to compare two versions);
    `wrapper`: a command the server runs under (valgrind), given `startup` seconds."""
    import httpx

    with tempfile.TemporaryDirectory(prefix="bench-facade-") as name:
        tmp = Path(name)
        folder = folder or tmp / "mappings"
        folder.mkdir(exist_ok=True)
        for file, text in mappings.items():
            (folder / file).write_text(text)
        port = free_port()
        log = tmp / "facade.log"
        args = [*wrapper, sys.executable, "-m", "facade", "serve", "--mappings", str(folder)]
        args += ["--wsdl", str(WSDL_DIR), "--port", str(port), "--workers", str(workers)]
        args += ["--log-level", "warning", *options]
        env = {**os.environ, "PYTHONPATH": str(root), **(env or {})}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args, cwd=root, env=env, stdout=out, stderr=out, preexec_fn=_raise_child_nofile
            )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + startup
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the facade exited with {proc.returncode}: {_tail(log)}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/readyz", timeout=5.0).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the facade was not ready within {startup:g} s")
                time.sleep(0.1)
            yield base, proc
        finally:
            stop(proc, signal.SIGINT)


@contextlib.contextmanager
def server(
    args: list[str], port: int, what: str, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Any server command (listening on `port` of 127.0.0.1), stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="bench-server-") as name:
        log = Path(name) / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                stdout=out,
                stderr=out,
                preexec_fn=_raise_child_nofile,
            )
        try:
            wait_for_port(port, proc, log, what)
            yield proc
        finally:
            stop(proc, signal.SIGINT)


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def memory_kib(pid: int, field: str = "VmHWM") -> int:
    """A /proc/PID/status memory figure in KiB (VmHWM: peak resident; VmRSS: now); 0 when
    the process is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def mapping_with_address(source: str, address: str) -> str:
    """A repository mapping file with its `legacy.address` line pointing at `address`."""
    lines = (ROOT / "mappings" / source).read_text().splitlines()
    out = [
        f"  address: {address}" if line.strip().startswith("address:") else line for line in lines
    ]
    if out == lines:
        raise RuntimeError(f"mappings/{source} has no address line")
    return "\n".join(out) + "\n"


# -- canned SOAP ---------------------------------------------------------------------------


def request_envelope(operation: str, body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<soap:Envelope xmlns:soap="{SOAP11_NS}">'
        f'<soap:Body><{operation} xmlns="{CRM_NS}">{body}</{operation}></soap:Body>'
        "</soap:Envelope>"
    ).encode()


def mock_reply(
    operation: str, body: str, handlers: Mapping[str, Any] | None = None, status: int = 200
) -> bytes:
    """The demo CRM's own SOAP 1.1 reply to one call, made in-process by the project's mock
    (`status` 500 for a fault)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from facade.mock import build_mock_app, load_handlers

    table = dict(load_handlers(ROOT / "demo" / "crm_handlers.py"))
    table.update(handlers or {})
    with TestClient(build_mock_app(CRM_WSDL, table)) as client:
        response = client.post(
            "/",
            content=request_envelope(operation, body),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"{CRM_NS}/{operation}"',
            },
        )
    if response.status_code != status:
        raise RuntimeError(f"the mock answered {response.status_code}: {response.text[:500]}")
    return response.content


def get_customer_reply() -> bytes:
    return mock_reply("GetCustomer", "<CustomerId>1</CustomerId>")


def list_orders_reply(records: int) -> bytes:
    """A ListOrders reply with `records` orders without lines (about 275 bytes each)."""

    def many(**_arguments: Any) -> dict[str, Any]:
        orders = [
            {
                "Id": 100_000 + i,
                "CustomerId": 1,
                "OrderDate": date(2024, 1, 1 + i % 28),
                "Status": "open",
                "ShippedAt": None,
                "Lines": {"Line": []},
                "Total": Decimal(i) / 100,
            }
            for i in range(records)
        ]
        return {"Orders": {"Order": orders}}

    return mock_reply("ListOrders", "<CustomerId>1</CustomerId>", {"ListOrders": many})
