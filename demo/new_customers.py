"""The demo's new implementation of two routes: a small REST service over the CRM's records.

python -m demo.new_customers --port 8082

    GET /customers/{id}   the customer, as the facade's GET /v1/customers/{id} answers it
    GET /orders/{id}      the order, as the facade's GET /v1/orders/{id} answers it
    GET /healthz

It reads the same seed records as the mock CRM (each process has its own copy, so writes
made through the facade are not seen here). One difference is deliberate, so that shadow
mode has something to show: a customer's `Balance` is written without trailing zeros
(`"1234.5"` where legacy says `"1234.50"`). Orders answer exactly what legacy answers.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from demo import crm_handlers
from facade.mock import MockFault


def plain(value: Any) -> Any:
    """JSON values as the facade writes them: decimals as exact strings, ISO 8601 times."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def balance(value: Decimal) -> str:
    """The deliberate difference: no trailing zeros (`1234.50` -> `1234.5`, `0.00` -> `0`)."""
    return format(value.normalize(), "f")


def not_found(what: str, key: str) -> JSONResponse:
    return JSONResponse({"detail": f"{what} {key} not found"}, status_code=404)


async def customer(request: Request) -> JSONResponse:
    key = request.path_params["id"]
    try:
        found = crm_handlers.GetCustomer(int(key))["Customer"]
    except (ValueError, MockFault):
        return not_found("Customer", key)
    return JSONResponse({**plain(found), "Balance": balance(found["Balance"])})


async def order(request: Request) -> JSONResponse:
    key = request.path_params["id"]
    try:
        found = crm_handlers.GetOrder(int(key))["Order"]
    except (ValueError, MockFault):
        return not_found("Order", key)
    return JSONResponse(plain({**found, "Lines": found["Lines"]["Line"]}))


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/customers/{id}", customer),
        Route("/orders/{id}", order),
        Route("/healthz", healthz),
    ]
)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
