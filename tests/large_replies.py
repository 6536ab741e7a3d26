"""Large ListOrders replies of the demo CRM, for the tests of large-reply translation.

orders_xml(2000)                 # a SOAP 1.1 envelope with 2,000 orders, about 0.6 MB
orders_xml(2000, typed_at=7)     # order 7's lines carry an xsi:type
indented(text)                   # the same document pretty-printed
"""

from __future__ import annotations

from lxml import etree
from wsdls import envelope

CRM = "http://example.com/crm"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ORDERS = 2_000


def order(i: int, typed: bool = False) -> str:
    kind = f' xmlns:x="{XSI}" x:type="c:OrderLine"' if typed else ""
    lines = "".join(
        f"<c:Line{kind}><c:Sku>sku-{j}</c:Sku><c:Quantity>{j + 1}</c:Quantity>"
        f"<c:UnitPrice>{j}.25</c:UnitPrice></c:Line>"
        for j in range(i % 3)
    )
    shipped = (
        f"<c:ShippedAt>2024-02-{1 + i % 28:02d}T10:00:00Z</c:ShippedAt>"
        if i % 2
        else f'<c:ShippedAt xmlns:xsi="{XSI}" xsi:nil="true"/>'
    )
    return (
        f"<c:Order><c:Id>{100_000 + i}</c:Id><c:CustomerId>1</c:CustomerId>"
        f"<c:OrderDate>2024-01-{1 + i % 28:02d}</c:OrderDate><c:Status>open</c:Status>"
        f"{shipped}<c:Lines>{lines}</c:Lines><c:Total>{i / 100:.2f}</c:Total></c:Order>"
    )


def orders_xml(count: int = ORDERS, typed_at: int | None = None) -> str:
    records = "".join(order(i, typed=i == typed_at) for i in range(count))
    return envelope(
        f'<c:ListOrdersResponse xmlns:c="{CRM}"><c:Orders>{records}</c:Orders>'
        "</c:ListOrdersResponse>"
    )


def indented(text: str) -> str:
    root = etree.fromstring(text.encode())
    etree.indent(root, space="    ")
    return etree.tostring(root, encoding="unicode")
