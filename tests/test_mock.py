"""The mock SOAP server, driven over real HTTP by a plain zeep client and by raw posts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import zeep
from lxml import etree
from servers import serve_in_thread
from typer.testing import CliRunner
from wsdls import TNS as WSDL_TNS
from wsdls import write_wsdl, wsdl
from zeep.exceptions import Fault

from facade.cli import app as cli_app
from facade.mock import SAMPLE_ANSWER, MockFault, build_mock_app, load_handlers, mock_handlers

ROOT = Path(__file__).resolve().parent.parent
CRM_WSDL = ROOT / "wsdl" / "crm.wsdl"
CRM_HANDLERS = ROOT / "demo" / "crm_handlers.py"
TNS = "http://example.com/crm"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
BINDINGS = {"1.1": f"{{{TNS}}}CrmServiceSoap", "1.2": f"{{{TNS}}}CrmServiceSoap12"}
CONTENT_TYPES = {"1.1": "text/xml", "1.2": "application/soap+xml"}
ENVELOPES = {"1.1": SOAP11, "1.2": SOAP12}


def envelope(version: str, body: str) -> str:
    return f'<s:Envelope xmlns:s="{ENVELOPES[version]}"><s:Body>{body}</s:Body></s:Envelope>'


def post(url: str, version: str, content: str | bytes) -> httpx.Response:
    headers = {"Content-Type": f"{CONTENT_TYPES[version]}; charset=utf-8"}
    return httpx.post(url, content=content, headers=headers)


def fault_of(response: httpx.Response, version: str) -> tuple[str, str, etree._Element | None]:
    """(code, reason, detail) of a SOAP fault reply, checked for its version's shape."""
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(CONTENT_TYPES[version])
    root = etree.fromstring(response.content)
    env = {"s": ENVELOPES[version]}
    fault = root.find("s:Body/s:Fault", env)
    assert fault is not None
    if version == "1.1":
        return fault.findtext("faultcode"), fault.findtext("faultstring"), fault.find("detail")
    text = fault.find("s:Reason/s:Text", env)
    assert text.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    return fault.findtext("s:Code/s:Value", namespaces=env), text.text, fault.find("s:Detail", env)


@pytest.fixture
def crm_url() -> Iterator[str]:
    """A fresh demo CRM (its own store) served on loopback; yields the endpoint URL."""
    app = build_mock_app(CRM_WSDL, load_handlers(CRM_HANDLERS))
    with serve_in_thread(app) as base_url:
        yield base_url + "/crm"


@pytest.fixture(params=["1.1", "1.2"])
def version(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def crm(crm_url: str, version: str) -> Iterator[zeep.proxy.ServiceProxy]:
    with zeep.Client(str(CRM_WSDL)) as client:
        yield client.create_service(BINDINGS[version], crm_url)


# The demo operations over SOAP 1.1 and 1.2, through a plain zeep client


def test_get_customer_returns_typed_fields(crm: zeep.proxy.ServiceProxy) -> None:
    ada = crm.GetCustomer(CustomerId=1)
    assert (ada.Id, ada.Name, ada.Status) == (1, "Ada Lovelace", "active")
    assert ada.Balance == Decimal("1234.50")
    assert ada.BirthDate == date(1815, 12, 10)
    assert ada.CreatedAt == datetime(2019, 3, 14, 9, 26, 53, tzinfo=UTC)
    assert ada.Address.City == "London"
    assert ada.Tags == ["vip", "newsletter", "b2b"]


def test_get_customer_with_null_email_and_no_phone(crm: zeep.proxy.ServiceProxy) -> None:
    emile = crm.GetCustomer(CustomerId=3)
    assert emile.Email is None
    assert emile.BirthDate is None
    assert emile.Tags == []
    assert emile.CreatedAt.utcoffset() == timedelta(hours=1)
    grace = crm.GetCustomer(CustomerId=2)
    assert grace.Phone is None
    assert grace.Email == "grace@example.com"


def test_get_customer_unknown_id_is_a_fault(crm: zeep.proxy.ServiceProxy, version: str) -> None:
    with pytest.raises(Fault) as caught:
        crm.GetCustomer(CustomerId=42)
    assert caught.value.message == "Customer 42 not found"
    assert caught.value.code == ("soap:Client" if version == "1.1" else "soap:Sender")
    assert caught.value.detail.findtext(f"{{{TNS}}}CustomerNotFound/{{{TNS}}}CustomerId") == "42"


@pytest.mark.parametrize(
    ("criteria", "ids"),
    [
        ({}, [1, 2, 3, 4, 5]),
        ({"Name": "HA"}, [4, 5]),
        ({"Name": "lovelace"}, [1]),
        ({"Status": "suspended"}, [3]),
        ({"MinBalance": Decimal("1000")}, [1, 4]),
        ({"Name": "a", "Status": "active", "MinBalance": Decimal("0.00")}, [1, 2, 4]),
        ({"Name": "nobody"}, []),
    ],
)
def test_search_customers(crm: zeep.proxy.ServiceProxy, criteria: dict, ids: list[int]) -> None:
    result = crm.SearchCustomers(**criteria)
    # zeep reads an empty <Customers/> as None, not as an empty list
    customers = result.Customers.Customer if result.Customers is not None else []
    assert [customer.Id for customer in customers] == ids
    assert result.Total == len(ids)


def test_create_customer_assigns_next_id(crm: zeep.proxy.ServiceProxy) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    new = {
        "Name": "Alan Turing",
        "Email": "alan@example.com",
        "BirthDate": date(1912, 6, 23),
        "Address": {
            "Street": "Bletchley Park",
            "City": "Milton Keynes",
            "PostalCode": "MK3 6EB",
            "Country": "GB",
        },
        "Tags": ["crypto", "math"],
    }
    created = crm.CreateCustomer(Customer=new)
    assert (created.Id, created.Status, created.Balance) == (6, "active", Decimal("0.00"))
    assert created.Phone is None
    assert created.Tags == ["crypto", "math"]
    assert before <= created.CreatedAt <= datetime.now(UTC)
    assert crm.GetCustomer(CustomerId=6).Address.Street == "Bletchley Park"


def test_update_customer_changes_only_given_fields(crm: zeep.proxy.ServiceProxy) -> None:
    updated = crm.UpdateCustomer(
        CustomerId=2, Customer={"Phone": "+1 555 0100", "Status": "closed"}
    )
    assert (updated.Phone, updated.Status, updated.Name) == (
        "+1 555 0100",
        "closed",
        "Grace Hopper",
    )
    assert updated.Tags == ["navy"]
    assert crm.GetCustomer(CustomerId=2).Phone == "+1 555 0100"
    with pytest.raises(Fault, match="Customer 9 not found"):
        crm.UpdateCustomer(CustomerId=9, Customer={"Name": "x"})


def test_delete_customer(crm: zeep.proxy.ServiceProxy) -> None:
    assert crm.DeleteCustomer(CustomerId=5) is True
    with pytest.raises(Fault, match="Customer 5 not found"):
        crm.GetCustomer(CustomerId=5)
    with pytest.raises(Fault, match="Customer 5 not found"):
        crm.DeleteCustomer(CustomerId=5)


def test_get_order_with_lines(crm: zeep.proxy.ServiceProxy) -> None:
    order = crm.GetOrder(OrderId=1001)
    assert (order.Id, order.CustomerId, order.Status) == (1001, 1, "shipped")
    assert order.OrderDate == date(2024, 1, 15)
    assert order.ShippedAt == datetime(2024, 1, 17, 14, 30, tzinfo=UTC)
    assert [(line.Sku, line.Quantity, line.UnitPrice) for line in order.Lines.Line] == [
        ("SKU-100", 2, Decimal("19.99")),
        ("SKU-200", 1, Decimal("5.50")),
    ]
    assert order.Total == Decimal("45.48")
    assert crm.GetOrder(OrderId=1002).ShippedAt is None


def test_get_order_unknown_id_is_a_fault(crm: zeep.proxy.ServiceProxy) -> None:
    with pytest.raises(Fault) as caught:
        crm.GetOrder(OrderId=9999)
    assert caught.value.detail.findtext(f"{{{TNS}}}OrderNotFound/{{{TNS}}}OrderId") == "9999"


def test_list_orders(crm: zeep.proxy.ServiceProxy) -> None:
    # zeep unwraps ListOrdersResponse/Orders/Order down to the list of orders
    assert [o.Id for o in crm.ListOrders(CustomerId=1)] == [1001, 1002]
    assert [o.Id for o in crm.ListOrders(CustomerId=1, Since=date(2024, 2, 1))] == [1002]
    assert [o.Id for o in crm.ListOrders(CustomerId=2)] == [1004]
    assert crm.ListOrders(CustomerId=3) is None  # zeep's reading of an empty <Orders/>
    with pytest.raises(Fault, match="Customer 77 not found"):
        crm.ListOrders(CustomerId=77)


# The HTTP and SOAP envelope, with raw posts


def test_reply_content_type_follows_the_soap_version(crm_url: str, version: str) -> None:
    body = f'<GetCustomer xmlns="{TNS}"><CustomerId>1</CustomerId></GetCustomer>'
    response = post(crm_url, version, envelope(version, body))
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{CONTENT_TYPES[version]}; charset=utf-8"
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{ENVELOPES[version]}}}Envelope"
    assert root.findtext(f".//{{{TNS}}}Name") == "Ada Lovelace"


def test_fault_is_http_500_in_the_version_s_form(crm_url: str, version: str) -> None:
    body = f'<GetCustomer xmlns="{TNS}"><CustomerId>42</CustomerId></GetCustomer>'
    code, reason, detail = fault_of(post(crm_url, version, envelope(version, body)), version)
    assert code == ("soap:Client" if version == "1.1" else "soap:Sender")
    assert reason == "Customer 42 not found"
    assert detail is not None
    assert detail.findtext(f"{{{TNS}}}CustomerNotFound/{{{TNS}}}CustomerId") == "42"


@pytest.mark.parametrize("query", ["wsdl", "WSDL"])
def test_wsdl_is_served_with_the_request_address(crm_url: str, query: str) -> None:
    response = httpx.get(f"{crm_url}?{query}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    addresses = root.findall(".//{*}port/{*}address")
    assert len(addresses) == 2
    assert {address.get("location") for address in addresses} == {crm_url}


def test_get_without_wsdl_query_is_404(crm_url: str) -> None:
    assert httpx.get(crm_url).status_code == 404


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("this is not xml", "not well-formed XML"),
        ("<a><b></a>", "not well-formed XML"),
        ("<html><body>hi</body></html>", "not a SOAP 1.1 or 1.2 Envelope"),
        (
            '<!DOCTYPE x [<!ENTITY e "boom">]>' + envelope("1.1", "<x>&e;</x>"),
            "contains a DTD",
        ),
        (envelope("1.1", ""), "SOAP Body is empty"),
    ],
)
def test_bad_request_body_is_a_client_fault(crm_url: str, content: str, reason: str) -> None:
    code, text, _ = fault_of(post(crm_url, "1.1", content), "1.1")
    assert code == "soap:Client"
    assert reason in text


def test_garbage_with_soap12_content_type_gets_a_soap12_fault(crm_url: str) -> None:
    code, text, _ = fault_of(post(crm_url, "1.2", b"\x00garbage"), "1.2")
    assert code == "soap:Sender"
    assert "not well-formed XML" in text


def test_unknown_operation_is_a_client_fault(crm_url: str, version: str) -> None:
    body = f'<Frobnicate xmlns="{TNS}"/>'
    code, text, _ = fault_of(post(crm_url, version, envelope(version, body)), version)
    assert code in ("soap:Client", "soap:Sender")
    assert f"{{{TNS}}}Frobnicate" in text


@pytest.mark.parametrize(
    "arguments", ["<CustomerId>one</CustomerId>", "<CustomerId></CustomerId>", ""]
)
def test_invalid_argument_is_a_client_fault(crm_url: str, arguments: str) -> None:
    body = f'<GetCustomer xmlns="{TNS}">{arguments}</GetCustomer>'
    code, text, _ = fault_of(post(crm_url, "1.1", envelope("1.1", body)), "1.1")
    assert code == "soap:Client"
    assert text.startswith("invalid GetCustomer request: Missing element CustomerId")


# Handlers other than the demo's


def call_get_customer(handlers: dict, version: str = "1.1") -> httpx.Response:
    body = f'<GetCustomer xmlns="{TNS}"><CustomerId>1</CustomerId></GetCustomer>'
    with serve_in_thread(build_mock_app(CRM_WSDL, handlers)) as base_url:
        return post(base_url + "/crm", version, envelope(version, body))


def test_operation_without_handler_is_a_client_fault(version: str) -> None:
    code, text, _ = fault_of(call_get_customer({}, version), version)
    assert code in ("soap:Client", "soap:Sender")
    assert text == "operation GetCustomer has no handler in this mock"


def test_handler_error_is_a_server_fault_without_its_text(
    version: str, caplog: pytest.LogCaptureFixture
) -> None:
    def GetCustomer(CustomerId: int) -> dict:
        raise RuntimeError("password=hunter2")

    response = call_get_customer({"GetCustomer": GetCustomer}, version)
    code, text, detail = fault_of(response, version)
    assert code == ("soap:Server" if version == "1.1" else "soap:Receiver")
    assert text == "internal error in handler"
    assert detail is None
    assert "hunter2" not in response.text
    assert "hunter2" in caplog.text


def test_handler_result_not_matching_the_schema_is_a_server_fault() -> None:
    def GetCustomer(CustomerId: int) -> dict:
        return {"Customer": {"Id": CustomerId}}

    code, text, _ = fault_of(call_get_customer({"GetCustomer": GetCustomer}), "1.1")
    assert code == "soap:Server"
    assert "does not match the output message" in text


def test_async_handler_and_plain_detail() -> None:
    async def GetCustomer(CustomerId: int) -> dict:
        raise MockFault("gone", code="Server", detail={"Extra": {"When": date(2024, 1, 2)}})

    _, text, detail = fault_of(call_get_customer({"GetCustomer": GetCustomer}), "1.1")
    assert text == "gone"
    assert detail.findtext(f"{{{TNS}}}Extra/{{{TNS}}}When") == "2024-01-02"


def test_mock_fault_refuses_unknown_codes() -> None:
    with pytest.raises(ValueError, match="fault code"):
        MockFault("x", code="Oops")


def test_load_handlers_takes_public_functions_and_handlers_dict(tmp_path: Path) -> None:
    path = tmp_path / "handlers.py"
    path.write_text(
        "from datetime import date\n"
        "def GetOrder(OrderId):\n    return {}\n"
        "def _helper():\n    pass\n"
        "HANDLERS = {'Get-Thing': lambda: None}\n"
    )
    assert sorted(load_handlers(path)) == ["Get-Thing", "GetOrder"]


@pytest.mark.parametrize(
    ("arguments", "answered"),
    [
        ("", True),  # an operation without arguments: the empty wrapper is the whole request
        ('<xs:element name="Note" type="xs:string" minOccurs="0"/>', True),
        ('<xs:element name="Id" type="xs:int"/>', False),
    ],
)
def test_empty_request_wrapper_is_answered_unless_an_argument_is_required(
    tmp_path: Path, arguments: str, answered: bool
) -> None:
    answer = '<xs:element name="Pong" type="xs:string"/>'
    path = write_wsdl(tmp_path, "ping.wsdl", wsdl({"Ping": (arguments, answer)}))
    received: list[dict] = []

    def Ping(**values: object) -> dict:
        received.append(values)
        return {"Pong": "pong"}

    with serve_in_thread(build_mock_app(path, {"Ping": Ping})) as base_url:
        response = post(base_url + "/svc", "1.1", envelope("1.1", f'<Ping xmlns="{WSDL_TNS}"/>'))
    if answered:
        assert response.status_code == 200, response.text
        assert etree.fromstring(response.content).findtext(f".//{{{WSDL_TNS}}}Pong") == "pong"
        assert len(received) == 1 and all(v is None for v in received[0].values())
    else:
        _, text, _ = fault_of(response, "1.1")
        assert text.startswith("invalid Ping request: Missing element Id")
        assert received == []


# Starting a mock: handlers fall back to samples, a banner, one-line refusals


def test_operations_without_a_handler_answer_sample_data(tmp_path: Path) -> None:
    handlers = tmp_path / "one.py"
    handlers.write_text("def GetOrder(OrderId):\n    return {'Order': None}\n")
    served, sources = mock_handlers(CRM_WSDL, handlers)
    assert sources["GetOrder"] == "one.py"
    assert sources["GetCustomer"] == SAMPLE_ANSWER
    with serve_in_thread(build_mock_app(CRM_WSDL, served)) as base_url:
        with zeep.Client(str(CRM_WSDL)) as client:
            service = client.create_service(BINDINGS["1.1"], base_url + "/crm")
            assert service.GetCustomer(CustomerId=1) is not None  # a sample, not a fault


def test_the_banner_names_the_url_and_each_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    import facade.mock

    started: list[int] = []
    monkeypatch.setattr(
        facade.mock, "run_mock", lambda wsdl, handlers, host, port: started.append(port)
    )
    result = CliRunner().invoke(cli_app, ["mock", str(CRM_WSDL), "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert started == [8123]
    assert "on http://127.0.0.1:8123/" in result.output
    assert "GetCustomer" in result.output and SAMPLE_ANSWER in result.output


def test_a_wsdl_20_file_is_one_line_not_a_traceback(corpus: Path) -> None:
    result = CliRunner().invoke(cli_app, ["mock", str(corpus / "wsdl20" / "wikipedia.wsdl")])
    assert result.exit_code == 1
    assert "is a WSDL 2.0 document; only WSDL 1.1 is supported" in result.output
    assert "Traceback" not in result.output


def test_a_wsdl_without_operations_is_refused(tmp_path: Path) -> None:
    path = write_wsdl(tmp_path, "empty.wsdl", wsdl({}))
    result = CliRunner().invoke(cli_app, ["mock", str(path)])
    assert result.exit_code == 1
    assert f"{path}: has no SOAP operations to serve" in result.output


def test_empty_elements_are_empty_values_and_old_dates_keep_four_digits(
    crm_url: str, version: str
) -> None:
    """`<Name></Name>` is the empty string and `<Customer/>` an update changing nothing, as
    a real service reads them; a date of the year 490 goes back as 0490-07-31."""
    unchanged = post(
        crm_url,
        version,
        envelope(
            version,
            f'<c:UpdateCustomer xmlns:c="{TNS}"><c:CustomerId>1</c:CustomerId>'
            "<c:Customer/></c:UpdateCustomer>",
        ),
    )
    assert unchanged.status_code == 200, unchanged.text
    assert etree.fromstring(unchanged.content).findtext(f".//{{{TNS}}}Name") == "Ada Lovelace"
    address = "".join(f"<c:{n}></c:{n}>" for n in ("Street", "City", "PostalCode", "Country"))
    created = post(
        crm_url,
        version,
        envelope(
            version,
            f'<c:CreateCustomer xmlns:c="{TNS}"><c:Customer><c:Name></c:Name>'
            f"<c:BirthDate>0490-07-31</c:BirthDate><c:Address>{address}</c:Address>"
            "</c:Customer></c:CreateCustomer>",
        ),
    )
    assert created.status_code == 200, created.text
    reply = etree.fromstring(created.content)
    assert reply.find(f".//{{{TNS}}}Name") is not None
    assert reply.findtext(f".//{{{TNS}}}BirthDate") == "0490-07-31"
