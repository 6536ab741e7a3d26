"""Calls to a running facade's admin API for `facade status`, `facade flags` and `facade
cache purge`, with one clear message per way they can fail (no token, refused token, admin
API off, facade unreachable, a flip refused, an unknown route)."""

from __future__ import annotations

from typing import Any

import httpx

from facade.admin.routes import PURGE_PATH, STATUS_PATH

TIMEOUT_SECONDS = 10.0


class AdminError(Exception):
    """A one-line reason why the admin API did not do what was asked."""


StatusError = AdminError
"""The name `facade status` has always caught."""


def fetch_status(url: str, token: str | None) -> dict[str, Any]:
    """The status document of the facade at `url`, or AdminError saying why not."""
    document = admin_call("GET", url, STATUS_PATH, token)
    if not isinstance(document.get("routes"), list):
        raise AdminError(f"{url} did not answer a facade status document on {STATUS_PATH}")
    return document


def purge_cache(
    url: str, token: str | None, route: str, params: dict[str, str] | None = None
) -> dict[str, Any]:
    """Purge a route's cached answers (those with these parameter values, when given) in
    the facade at `url`; its answer says how many went, or AdminError says why not."""
    body: dict[str, Any] = {"route": route, **({"params": params} if params else {})}
    document = admin_call("POST", url, PURGE_PATH, token, body)
    if not isinstance(document.get("purged"), int):
        raise AdminError(f"{url} did not answer a purge result on {PURGE_PATH}")
    return document


def admin_call(
    method: str,
    url: str,
    path: str,
    token: str | None,
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON object the admin API answers to `method path`, or AdminError saying why not."""
    if not token:
        raise AdminError("no admin token: pass --token or set FACADE_ADMIN_TOKEN")
    target = url.rstrip("/") + path
    headers = {"Authorization": f"Bearer {token}"}
    try:
        response = httpx.request(
            method,
            target,
            headers=headers,
            json=body,
            params=params,
            timeout=TIMEOUT_SECONDS,
            trust_env=False,
        )
    except httpx.HTTPError as exc:
        raise AdminError(f"cannot reach the facade at {url}: {_reason(exc)}") from exc
    if response.status_code == 401:
        raise AdminError(f"the facade at {url} refused the admin token (401)")
    if response.status_code == 404 and _detail(response).startswith("No cached route"):
        raise AdminError(f"no cached route named {(body or {}).get('route')!r} at {url}")
    if response.status_code == 404 and not _problem(response):
        raise AdminError(
            f"no admin API at {url} (404): is it a facade started with FACADE_ADMIN_TOKEN set?"
        )
    if response.status_code != 200:
        raise AdminError(_refused(response, url, path))
    try:
        document = response.json()
    except ValueError as exc:
        raise AdminError(f"the facade at {url} did not answer JSON on {path}") from exc
    if not isinstance(document, dict):
        raise AdminError(f"the facade at {url} did not answer a JSON object on {path}")
    return document


def _problem(response: httpx.Response) -> dict[str, Any] | None:
    """The problem+json document of a refusal that names what was wrong, if it is one
    (a plain not-found is a path the facade does not serve: the admin API is off)."""
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    try:
        document = response.json()
    except ValueError:
        return None
    if not isinstance(document, dict) or str(document.get("type", "")).endswith(":not-found"):
        return None
    return document


def _refused(response: httpx.Response, url: str, path: str) -> str:
    """One line: the status and what the facade said was wrong, field by field."""
    problem = _problem(response)
    if problem is None:
        return f"the facade at {url} answered {response.status_code} to {path}"
    errors = problem.get("errors")
    if isinstance(errors, list) and errors:
        detail = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
    else:
        detail = str(problem.get("detail") or problem.get("title") or "")
    return f"refused ({response.status_code}): {detail}"


def _reason(exc: httpx.HTTPError) -> str:
    """The exception's own text, or its kind when it has none (some timeouts)."""
    return str(exc) or type(exc).__name__


def _detail(response: httpx.Response) -> str:
    """The problem+json detail of a refusal, or nothing."""
    try:
        problem = response.json()
    except ValueError:
        return ""
    detail = problem.get("detail") if isinstance(problem, dict) else None
    return detail if isinstance(detail, str) else ""
