"""Run the demo: the mock CRM (legacy SOAP) and the facade in front of it.

python -m demo              # start both, print curl lines, stop on Ctrl-C
python -m demo --self-test  # start both, call every demo route, stop; exit 1 on failure
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {STARTUP_SECONDS:g} s")


@contextmanager
def running(facade_port: int, mock_port: int) -> Iterator[str]:
    """Start the mock CRM and the facade; yield the facade's base URL; stop both."""
    facade = [sys.executable, "-m", "facade"]
    env = {**os.environ, "CRM_URL": f"http://127.0.0.1:{mock_port}/crm"}
    mock = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            *facade,
            "mock",
            "wsdl/crm.wsdl",
            "--handlers",
            "demo/crm_handlers.py",
            "--port",
            str(mock_port),
        ],
        cwd=ROOT,
        env=env,
    )
    server = None
    try:
        wait_until_up(f"http://127.0.0.1:{mock_port}/crm?wsdl", mock)
        server = subprocess.Popen(  # noqa: S603
            [*facade, "serve", "--port", str(facade_port)], cwd=ROOT, env=env
        )
        base = f"http://127.0.0.1:{facade_port}"
        wait_until_up(f"{base}/readyz", server)
        yield base
    finally:
        for process in (server, mock):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()


def curl_lines(base: str) -> list[str]:
    body = '{"Name": "Linus Pauling", "Email": "linus@example.com", "Address": {"Street": "1 Main St", "City": "Portland", "PostalCode": "97201", "Country": "US"}}'  # noqa: E501
    return [
        f"curl -s {base}/v1/customers/1",
        f"curl -s '{base}/v1/customers?status=active&min_balance=100'",
        f"curl -s {base}/v1/orders/1001",
        f"curl -s -i {base}/v1/customers/42",
        f"curl -s -X POST {base}/v1/customers -H 'content-type: application/json' -d '{body}'",
    ]


def self_test(base: str) -> int:
    """Call the demo routes as a client would; print one line each; 0 when all answer right."""
    checks = [
        ("GET", "/v1/customers/1", None, 200),
        ("GET", "/v1/customers?status=active&min_balance=100", None, 200),
        ("GET", "/v1/customers?name=nobody-has-this-name", None, 200),
        ("GET", "/v1/orders/1001", None, 200),
        ("GET", "/v1/customers/1/orders?since=2024-01-01", None, 200),
        ("GET", "/v1/customers/42", None, 404),
        ("GET", "/v1/customers/abc", None, 422),
        (
            "POST",
            "/v1/customers",
            {
                "Name": "Linus",
                "Address": {
                    "Street": "1 Main St",
                    "City": "Portland",
                    "PostalCode": "97201",
                    "Country": "US",
                },
            },
            201,
        ),
        ("PATCH", "/v1/customers/2", {"Phone": "+1 555 0100"}, 200),
        ("DELETE", "/v1/customers/5", None, 200),
    ]
    failures = 0
    with httpx.Client(base_url=base, timeout=10.0) as client:
        for method, path, body, expected in checks:
            response = client.request(method, path, json=body)
            ok = response.status_code == expected
            failures += not ok
            print(f"{'ok ' if ok else 'BAD'} {method:6} {path} -> {response.status_code}")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("FACADE_PORT", 8080)))
    parser.add_argument("--mock-port", type=int, default=int(os.environ.get("CRM_PORT", 8081)))
    parser.add_argument("--self-test", action="store_true", help="call every route, then stop")
    args = parser.parse_args()
    with running(args.port, args.mock_port) as base:
        if args.self_test:
            return self_test(base)
        print(f"\nThe facade is up on {base} (API docs: {base}/docs), in front of the mock CRM.")
        print("Try:\n")
        for line in curl_lines(base):
            print("  " + line)
        print("\nCtrl-C stops both.")
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
