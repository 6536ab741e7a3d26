"""The demo CRM: an in-memory customer and order store behind wsdl/crm.wsdl.

Served by the mock SOAP server (`facade mock wsdl/crm.wsdl demo/crm_handlers.py`): each public
function answers the operation of the same name. The seed data is varied on purpose (no phone,
a null email, a suspended account, several tags, a customer in credit, non-UTC timestamps) so
that the facade's mappings meet the shapes a real legacy system returns.
"""

from __future__ import annotations

import copy
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from facade.mock import MockFault

CET = timezone(timedelta(hours=1))

_lock = threading.Lock()


def _address(street: str, city: str, postal_code: str, country: str) -> dict[str, str]:
    return {"Street": street, "City": city, "PostalCode": postal_code, "Country": country}


_customers: dict[int, dict[str, Any]] = {
    1: {
        "Id": 1,
        "Name": "Ada Lovelace",
        "Email": "ada@example.com",
        "Phone": "+44 20 7946 0018",
        "Status": "active",
        "Balance": Decimal("1234.50"),
        "BirthDate": date(1815, 12, 10),
        "CreatedAt": datetime(2019, 3, 14, 9, 26, 53, tzinfo=UTC),
        "Address": _address("12 St James's Square", "London", "SW1Y 4JH", "GB"),
        "Tags": ["vip", "newsletter", "b2b"],
    },
    2: {
        "Id": 2,
        "Name": "Grace Hopper",
        "Email": "grace@example.com",
        "Phone": None,
        "Status": "active",
        "Balance": Decimal("0.00"),
        "BirthDate": date(1906, 12, 9),
        "CreatedAt": datetime(2020, 7, 1, 14, 0, tzinfo=UTC),
        "Address": _address("1 Navy Pentagon", "Arlington", "22202", "US"),
        "Tags": ["navy"],
    },
    3: {
        "Id": 3,
        "Name": "Émile Durand",
        "Email": None,
        "Phone": "+33 1 70 36 39 50",
        "Status": "suspended",
        "Balance": Decimal("-75.25"),
        "BirthDate": None,
        "CreatedAt": datetime(2021, 1, 5, 8, 15, 30, tzinfo=CET),
        "Address": _address("8 rue de Rivoli", "Paris", "75004", "FR"),
        "Tags": [],
    },
    4: {
        "Id": 4,
        "Name": "Margaret Hamilton",
        "Email": "margaret@example.com",
        "Phone": "+1 617 555 0142",
        "Status": "active",
        "Balance": Decimal("98765.43"),
        "BirthDate": date(1936, 8, 17),
        "CreatedAt": datetime(2022, 11, 20, 17, 45, tzinfo=timezone(timedelta(hours=-5))),
        "Address": _address("77 Massachusetts Ave", "Cambridge", "02139", "US"),
        "Tags": ["enterprise"],
    },
    5: {
        "Id": 5,
        "Name": "Hans Müller",
        "Email": "hans.mueller@example.de",
        "Phone": None,
        "Status": "closed",
        "Balance": Decimal("0"),
        "BirthDate": date(1971, 2, 28),
        "CreatedAt": datetime(2018, 6, 30, 23, 59, 59, tzinfo=CET),
        "Address": _address("Hauptstraße 5", "Berlin", "10115", "DE"),
        "Tags": [],
    },
}


def _line(sku: str, quantity: int, unit_price: str) -> dict[str, Any]:
    return {"Sku": sku, "Quantity": quantity, "UnitPrice": Decimal(unit_price)}


_orders: dict[int, dict[str, Any]] = {
    1001: {
        "Id": 1001,
        "CustomerId": 1,
        "OrderDate": date(2024, 1, 15),
        "Status": "shipped",
        "ShippedAt": datetime(2024, 1, 17, 14, 30, tzinfo=UTC),
        "Lines": [_line("SKU-100", 2, "19.99"), _line("SKU-200", 1, "5.50")],
    },
    1002: {
        "Id": 1002,
        "CustomerId": 1,
        "OrderDate": date(2024, 3, 2),
        "Status": "open",
        "ShippedAt": None,
        "Lines": [_line("SKU-300", 10, "1.25")],
    },
    1003: {
        "Id": 1003,
        "CustomerId": 4,
        "OrderDate": date(2023, 11, 30),
        "Status": "cancelled",
        "ShippedAt": None,
        "Lines": [_line("SKU-100", 1, "19.99")],
    },
    1004: {
        "Id": 1004,
        "CustomerId": 2,
        "OrderDate": date(2024, 5, 20),
        "Status": "shipped",
        "ShippedAt": datetime(2024, 5, 21, 9, 5, tzinfo=CET),
        "Lines": [_line("SKU-400", 3, "149.00"), _line("SKU-410", 3, "12.75")],
    },
}

_UPDATABLE = ("Name", "Email", "Phone", "Status", "BirthDate", "Address")


def _customer_not_found(customer_id: int) -> MockFault:
    return MockFault(
        f"Customer {customer_id} not found",
        code="Client",
        detail={"CustomerNotFound": {"CustomerId": customer_id}},
    )


def _find_customer(customer_id: int) -> dict[str, Any]:
    customer = _customers.get(customer_id)
    if customer is None:
        raise _customer_not_found(customer_id)
    return customer


def _order_out(order: dict[str, Any]) -> dict[str, Any]:
    total = sum((line["Quantity"] * line["UnitPrice"] for line in order["Lines"]), Decimal("0"))
    return {
        **copy.deepcopy(order),
        "Lines": {"Line": copy.deepcopy(order["Lines"])},
        "Total": total,
    }


def GetCustomer(CustomerId: int) -> dict[str, Any]:
    with _lock:
        return {"Customer": copy.deepcopy(_find_customer(CustomerId))}


def SearchCustomers(
    Name: str | None = None, Status: str | None = None, MinBalance: Decimal | None = None
) -> dict[str, Any]:
    with _lock:
        found = [
            copy.deepcopy(customer)
            for _, customer in sorted(_customers.items())
            if (Name is None or Name.casefold() in customer["Name"].casefold())
            and (Status is None or customer["Status"] == Status)
            and (MinBalance is None or customer["Balance"] >= MinBalance)
        ]
    return {"Customers": {"Customer": found}, "Total": len(found)}


def CreateCustomer(Customer: dict[str, Any]) -> dict[str, Any]:
    with _lock:
        customer_id = max(_customers, default=0) + 1
        customer = {
            "Id": customer_id,
            "Name": Customer["Name"],
            "Email": Customer.get("Email"),
            "Phone": Customer.get("Phone"),
            "Status": "active",
            "Balance": Decimal("0.00"),
            "BirthDate": Customer.get("BirthDate"),
            "CreatedAt": datetime.now(UTC).replace(microsecond=0),
            "Address": dict(Customer["Address"]),
            "Tags": list(Customer.get("Tags") or []),
        }
        _customers[customer_id] = customer
        return {"Customer": copy.deepcopy(customer)}


def UpdateCustomer(CustomerId: int, Customer: dict[str, Any]) -> dict[str, Any]:
    with _lock:
        customer = _find_customer(CustomerId)
        for field in _UPDATABLE:
            if Customer.get(field) is not None:
                customer[field] = copy.deepcopy(Customer[field])
        if Customer.get("Tags"):
            customer["Tags"] = list(Customer["Tags"])
        return {"Customer": copy.deepcopy(customer)}


def DeleteCustomer(CustomerId: int) -> dict[str, Any]:
    with _lock:
        _find_customer(CustomerId)
        del _customers[CustomerId]
    return {"Deleted": True}


def GetOrder(OrderId: int) -> dict[str, Any]:
    with _lock:
        order = _orders.get(OrderId)
        if order is None:
            raise MockFault(
                f"Order {OrderId} not found",
                code="Client",
                detail={"OrderNotFound": {"OrderId": OrderId}},
            )
        return {"Order": _order_out(order)}


def ListOrders(CustomerId: int, Since: date | None = None) -> dict[str, Any]:
    with _lock:
        _find_customer(CustomerId)
        orders = [
            _order_out(order)
            for order in sorted(_orders.values(), key=lambda o: (o["OrderDate"], o["Id"]))
            if order["CustomerId"] == CustomerId and (Since is None or order["OrderDate"] >= Since)
        ]
    return {"Orders": {"Order": orders}}
