"""`facade status`'s call to a running facade's admin API, with one clear message per way
it can fail (no token, refused token, admin API off, facade unreachable)."""

from __future__ import annotations

from typing import Any

import httpx

from facade.admin.routes import STATUS_PATH

TIMEOUT_SECONDS = 10.0


class StatusError(Exception):
    """A one-line reason why the status could not be read."""


def fetch_status(url: str, token: str | None) -> dict[str, Any]:
    """The status document of the facade at `url`, or StatusError saying why not."""
    if not token:
        raise StatusError("no admin token: pass --token or set FACADE_ADMIN_TOKEN")
    target = url.rstrip("/") + STATUS_PATH
    headers = {"Authorization": f"Bearer {token}"}
    try:
        response = httpx.get(target, headers=headers, timeout=TIMEOUT_SECONDS, trust_env=False)
    except httpx.HTTPError as exc:
        raise StatusError(f"cannot reach the facade at {url}: {_reason(exc)}") from exc
    if response.status_code == 401:
        raise StatusError(f"the facade at {url} refused the admin token (401)")
    if response.status_code == 404:
        raise StatusError(
            f"no admin API at {url} (404): is it a facade started with FACADE_ADMIN_TOKEN set?"
        )
    if response.status_code != 200:
        raise StatusError(f"the facade at {url} answered {response.status_code} to {STATUS_PATH}")
    try:
        document: dict[str, Any] = response.json()
    except ValueError as exc:
        raise StatusError(f"the facade at {url} did not answer JSON on {STATUS_PATH}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("routes"), list):
        raise StatusError(f"{url} did not answer a facade status document on {STATUS_PATH}")
    return document


def _reason(exc: httpx.HTTPError) -> str:
    """The exception's own text, or its kind when it has none (some timeouts)."""
    return str(exc) or type(exc).__name__
