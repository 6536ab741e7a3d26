"""Run the demo: the mock CRM (legacy SOAP), the new customers service and the facade.

python -m demo              # start them, print curl lines, stop on Ctrl-C
python -m demo --self-test  # start them, call every demo route, stop; exit 1 on failure
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
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 30.0
POLL_SECONDS = 0.2  # how often the children are checked


@dataclass(frozen=True)
class Child:
    """One server the demo starts: what to call it, its port, and the flag that moves it."""

    name: str
    port: int
    flag: str
    process: subprocess.Popen[bytes]

    def exit_message(self) -> str:
        return (
            f"{self.name} stopped (exit code {self.process.returncode}). If its log above says "
            f"'address already in use', port {self.port} is taken: choose another with "
            f"{self.flag} PORT."
        )


def ensure_free(port: int, flag: str) -> None:
    """Stop before starting anything when another process listens on `port`: its answers
    would pass our readiness checks while our own server dies."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise SystemExit(
                f"error: port {port} is already in use ({exc.strerror}); "
                f"choose another with {flag} PORT"
            ) from None


def exited(children: list[Child]) -> Child | None:
    """The first child that is no longer running, if any."""
    return next((child for child in children if child.process.poll() is not None), None)


def wait_until_up(url: str, child: Child, children: list[Child]) -> None:
    """Wait until `url` answers 200 while every child still runs."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if (dead := exited(children)) is not None:
            raise SystemExit(f"error: {dead.exit_message()}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200 and exited(children) is None:
                return
        except httpx.HTTPError:
            pass
        time.sleep(POLL_SECONDS / 2)
    raise SystemExit(f"error: {child.name} did not answer {url} within {STARTUP_SECONDS:g} s")


def watch(children: list[Child]) -> None:
    """Block until a child exits, then stop with a message naming it; Ctrl-C returns."""
    try:
        while (dead := exited(children)) is None:
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        return
    raise SystemExit(f"error: {dead.exit_message()}")


def stop(children: list[Child]) -> None:
    for child in reversed(children):
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGINT)
            try:
                child.process.wait(10)
            except subprocess.TimeoutExpired:
                child.process.kill()


@contextmanager
def running(
    facade_port: int, mock_port: int, new_port: int = 8082
) -> Iterator[tuple[str, list[Child]]]:
    """Start the mock CRM, the new customers service and the facade; yield the facade's base
    URL and the children; stop them all."""
    ensure_free(facade_port, "--port")
    ensure_free(mock_port, "--mock-port")
    ensure_free(new_port, "--new-port")
    facade = [sys.executable, "-m", "facade"]
    env = {
        **os.environ,
        "CRM_URL": f"http://127.0.0.1:{mock_port}/crm",
        "NEW_URL": f"http://127.0.0.1:{new_port}",
    }
    children: list[Child] = []
    try:
        mock_args = ["mock", "wsdl/crm.wsdl", "--handlers", "demo/crm_handlers.py"]
        mock = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [*facade, *mock_args, "--port", str(mock_port)], cwd=ROOT, env=env
        )
        children.append(Child("the mock CRM", mock_port, "--mock-port", mock))
        wait_until_up(f"http://127.0.0.1:{mock_port}/crm?wsdl", children[-1], children)
        new = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "demo.new_customers", "--port", str(new_port)],
            cwd=ROOT,
            env=env,
        )
        children.append(Child("the new customers service", new_port, "--new-port", new))
        wait_until_up(f"{env['NEW_URL']}/healthz", children[-1], children)
        server = subprocess.Popen(  # noqa: S603
            [*facade, "serve", "--port", str(facade_port)], cwd=ROOT, env=env
        )
        children.append(Child("the facade", facade_port, "--port", server))
        base = f"http://127.0.0.1:{facade_port}"
        wait_until_up(f"{base}/readyz", children[-1], children)
        yield base, children
    finally:
        stop(children)


def curl_lines(base: str) -> list[str]:
    body = '{"Name": "Linus Pauling", "Email": "linus@example.com", "Address": {"Street": "1 Main St", "City": "Portland", "PostalCode": "97201", "Country": "US"}}'  # noqa: E501
    return [
        f"curl -s {base}/v1/customers/1",
        f"curl -s '{base}/v1/customers?status=active&min_balance=100'",
        f"curl -s {base}/v1/orders/1001",
        f"curl -s -i {base}/v1/customers/42",
        f"curl -s -X POST {base}/v1/customers -H 'content-type: application/json' -d '{body}'",
    ]


def new_service_test(new_base: str) -> int:
    """Call the new customers service's routes directly; print one line each; 0 when all
    answer right (the demo's mappings keep serving from legacy until a route is moved)."""
    checks = [("/customers/1", 200), ("/orders/1001", 200), ("/customers/42", 404)]
    failures = 0
    with httpx.Client(base_url=new_base, timeout=10.0) as client:
        for path, expected in checks:
            status = client.get(path).status_code
            failures += status != expected
            print(f"{'ok ' if status == expected else 'BAD'} GET    {new_base}{path} -> {status}")
    return 1 if failures else 0


def self_test(base: str) -> int:
    """Call the demo routes as a client would; print one line each; 0 when all answer right."""
    checks = [
        ("GET", "/v1/customers/1", None, 200),
        ("GET", "/v1/customers?status=active&min_balance=100", None, 200),
        ("GET", "/v1/customers?name=nobody-has-this-name", None, 200),
        ("GET", "/v1/orders/1001", None, 200),
        ("GET", "/v1/customers/1/orders?since=2024-01-01", None, 200),
        ("GET", "/v1/customers/42", None, 404),
        ("GET", "/v1/customers/42/orders", None, 404),
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
    parser.add_argument("--new-port", type=int, default=int(os.environ.get("NEW_PORT", 8082)))
    parser.add_argument("--self-test", action="store_true", help="call every route, then stop")
    args = parser.parse_args()
    # a SIGTERM (timeout, a container stop) unwinds like Ctrl-C, so the servers stop too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with running(args.port, args.mock_port, args.new_port) as (base, children):
        if args.self_test:
            status = self_test(base) | new_service_test(f"http://127.0.0.1:{args.new_port}")
            if (dead := exited(children)) is not None:
                raise SystemExit(f"error: {dead.exit_message()}")
            return status
        print(f"\nThe facade is up on {base} (API docs: {base}/docs), in front of the mock CRM;")
        print(f"the new customers service is on http://127.0.0.1:{args.new_port}.")
        print("Try:\n")
        for line in curl_lines(base):
            print("  " + line)
        print("\nCtrl-C stops them all.")
        watch(children)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
