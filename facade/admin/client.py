"""`facade status` and `facade cache purge`: calls to a running facade's admin API, with
one clear message per way they can fail (no token, refused token, admin API off, facade
unreachable, unknown route)."""

from __future__ import annotations

from typing import Any

import httpx

from facade.admin.routes import PURGE_PATH, STATUS_PATH

TIMEOUT_SECONDS = 10.0


class StatusError(Exception):
    """A one-line reason why the status could not be read."""


def fetch_status(url: str, token: str | None) -> dict[str, Any]:
    """The status document of the facade at `url`, or StatusError saying why not."""
    document = _admin_call("GET", url, STATUS_PATH, token)
    if not isinstance(document.get("routes"), list):
        raise StatusError(f"{url} did not answer a facade status document on {STATUS_PATH}")
    return document


def purge_cache(
    url: str, token: str | None, route: str, params: dict[str, str] | None = None
) -> dict[str, Any]:
    """Purge a route's cached answers (those with these parameter values, when given) in
    the facade at `url`; its answer says how many went, or StatusError says why not."""
    body: dict[str, Any] = {"route": route, **({"params": params} if params else {})}
    document = _admin_call("POST", url, PURGE_PATH, token, body)
    if not isinstance(document.get("purged"), int):
        raise StatusError(f"{url} did not answer a purge result on {PURGE_PATH}")
    return document


def _admin_call(
    method: str, url: str, path: str, token: str | None, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One admin API call's JSON object, or StatusError with the reason in one line."""
    if not token:
        raise StatusError("no admin token: pass --token or set FACADE_ADMIN_TOKEN")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        response = httpx.request(
            method,
            url.rstrip("/") + path,
            headers=headers,
            json=body,
            timeout=TIMEOUT_SECONDS,
            trust_env=False,
        )
    except httpx.HTTPError as exc:
        raise StatusError(f"cannot reach the facade at {url}: {_reason(exc)}") from exc
    if response.status_code == 401:
        raise StatusError(f"the facade at {url} refused the admin token (401)")
    if (
        response.status_code == 404
        and body is not None
        and _detail(response).startswith("No cached route")
    ):
        raise StatusError(f"no cached route named {body.get('route')!r} at {url}")
    if response.status_code == 404:
        raise StatusError(
            f"no admin API at {url} (404): is it a facade started with FACADE_ADMIN_TOKEN set?"
        )
    if response.status_code == 422:
        raise StatusError(f"the facade at {url} refused the request: {_detail(response)}")
    if response.status_code != 200:
        raise StatusError(f"the facade at {url} answered {response.status_code} to {path}")
    try:
        document = response.json()
    except ValueError as exc:
        raise StatusError(f"the facade at {url} did not answer JSON on {path}") from exc
    if not isinstance(document, dict):
        raise StatusError(f"{url} did not answer a JSON object on {path}")
    return document


def _detail(response: httpx.Response) -> str:
    """The problem+json detail of a refusal, or nothing."""
    try:
        problem = response.json()
    except ValueError:
        return ""
    detail = problem.get("detail") if isinstance(problem, dict) else None
    return detail if isinstance(detail, str) else ""


def _reason(exc: httpx.HTTPError) -> str:
    """The exception's own text, or its kind when it has none (some timeouts)."""
    return str(exc) or type(exc).__name__
