"""The new side as a Python function inside the facade, for teams that rewrite in place.

    # customers/handlers.py
    async def get_customer(context: RequestContext) -> dict:
        return {"id": int(context.path["id"]), "name": "Ada"}

    new:
      handler: customers.handlers:get_customer

The function gets the request context (path, query, headers, body, request id) and returns
JSON, or raises an error of the facade's tree (`RouteNotFound`, `InvalidRequest`...), which
the client sees as problem+json. A sync function runs in a worker thread, so it never blocks
the event loop; a thread cannot be stopped, so one that passes the deadline gets its 504 and
finishes in the background. Sync handlers get their own pool of threads, so a slow one
cannot hold up the loop's default executor (which also resolves backend host names).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import importlib
import inspect
import logging
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
from jmespath.parser import ParsedResult

from facade.backends.base import BackendReply, BackendRequest
from facade.context import RequestContext
from facade.errors import BackendError, FacadeError
from facade.net.seam import Deadline
from facade.observability import report_unexpected
from facade.translate.response import encode_json, shape
from facade.types import Side

log = logging.getLogger("facade.backends.handler")

Handler = Callable[[RequestContext], Any]
HANDLER_THREADS = 32
"""At most 32 sync handlers run at once in a worker; further calls wait within their deadline."""


def handler_threads() -> ThreadPoolExecutor:
    """The pool sync handlers run in; the app makes one and shuts it down at exit."""
    return ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="facade-handler")


class HandlerNotFound(LookupError):
    """A `handler:` that cannot be imported or called; the message says why."""


def load_handler(spec: str) -> Handler:
    """The function named by `package.module:function`, imported from the working directory
    or PYTHONPATH; HandlerNotFound otherwise."""
    module_name, _, name = spec.partition(":")
    here = str(Path.cwd())
    if here not in sys.path and "" not in sys.path:
        sys.path.append(here)  # `facade` as an installed script does not put it there
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise HandlerNotFound(
            f"module {module_name!r} is not importable from {here} or PYTHONPATH ({exc})"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - a module's import may raise anything; reported
        raise HandlerNotFound(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    function = getattr(module, name, None)
    if function is None:
        raise HandlerNotFound(f"module {module_name!r} has no {name!r}")
    if not callable(function):
        raise HandlerNotFound(f"{spec!r} is not callable")
    return function  # type: ignore[no-any-return]


class HandlerBackend:
    """Calls a route's new implementation in-process, within the side's deadline.

    backend = HandlerBackend(load_handler("customers.handlers:get_customer"), 5.0, None, 200)

    Sync handlers run in `threads` (by default the event loop's default executor).
    """

    side: Side = "new"

    def __init__(
        self,
        function: Handler,
        timeout: float,
        response: ParsedResult | None,
        status: int,
        threads: Executor | None = None,
    ) -> None:
        self.function = function
        self.timeout = timeout
        self.response = response
        self.status = status
        self.threads = threads

    async def call(self, request: BackendRequest, deadline: Deadline) -> BackendReply:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(deadline.remaining()):
                answer = await self._run(request.context)
        except TimeoutError as exc:
            raise deadline.passed("The new implementation did not answer") from exc
        try:
            encoded = encode_json(shape(self.response, answer))
        except orjson.JSONEncodeError as exc:
            raise BackendError("The new implementation returned a value that is not JSON") from exc
        return BackendReply(
            status=self.status,
            encoded=encoded,
            side=self.side,
            elapsed=time.perf_counter() - started,
        )

    async def _run(self, context: RequestContext) -> Any:
        try:
            if inspect.iscoroutinefunction(self.function):
                answer = await self.function(context)
            else:
                answer = await self._in_thread(context)
            return await answer if inspect.isawaitable(answer) else answer
        except (FacadeError, TimeoutError):
            raise
        except Exception as exc:
            report_unexpected(exc, "new implementation failed", {"side": "new"}, log)
            raise BackendError("The new implementation failed") from exc

    async def _in_thread(self, context: RequestContext) -> Any:
        # like asyncio.to_thread, with the request id and other context variables kept
        run = functools.partial(contextvars.copy_context().run, self.function, context)
        return await asyncio.get_running_loop().run_in_executor(self.threads, run)
