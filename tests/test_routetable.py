"""`facade check`: every mapping proved against its WSDL and against the other mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.responses import PlainTextResponse
from starlette.routing import Match, Route
from wsdls import write_wsdl, wsdl

from facade.errors import ConfigError, ConfigProblem
from facade.mapping.loader import RouteMapping, load_mappings, read_mapping
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent
CRM_WSDL_DIR = ROOT / "wsdl"

INT_ARG = '<xs:element name="Id" type="xs:int"/>'
OPTIONAL_ARG = '<xs:element name="Note" type="xs:string" minOccurs="0"/>'


def write_mapping(
    folder: Path,
    name: str,
    *,
    method: str = "GET",
    path: str = "/v1/customers/{id}",
    wsdl_name: str = "crm.wsdl",
    operation: str = "GetCustomer",
    request: dict[str, str] | None = None,
    **legacy: Any,
) -> RouteMapping:
    document = {
        "route": {"method": method, "path": path},
        "legacy": {
            "wsdl": wsdl_name,
            "operation": operation,
            "request": {"CustomerId": "path.id"} if request is None else request,
            **legacy,
        },
    }
    file = folder / f"{name}.yaml"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return read_mapping(file, {})


def problems(mappings: list[RouteMapping], wsdl_dir: Path = CRM_WSDL_DIR) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        build_route_table(mappings, WsdlRegistry(wsdl_dir))
    return caught.value.problems


def only_problem(mapping: RouteMapping, wsdl_dir: Path = CRM_WSDL_DIR) -> ConfigProblem:
    found = problems([mapping], wsdl_dir)
    assert len(found) == 1, found
    assert found[0].file == mapping.source
    return found[0]


@pytest.fixture
def wsdl_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "wsdl"
    folder.mkdir()
    return folder


# What works


def test_demo_mappings_compile_against_the_demo_wsdl() -> None:
    mappings = load_mappings(ROOT / "mappings", env={})
    table = build_route_table(mappings, WsdlRegistry(CRM_WSDL_DIR))
    assert len(table) == len(mappings) >= 7
    by_name = {route.name: route for route in table}
    get_customer = by_name["get-customer"]
    assert get_customer.operation.name == "GetCustomer"
    assert get_customer.operation.port == "CrmServiceSoap"  # SOAP 1.1 twin wins
    assert get_customer.address == "http://127.0.0.1:8081/crm"
    assert [a.name for a in get_customer.arguments] == ["CustomerId"]
    assert get_customer.response is not None
    assert get_customer.response.search({"Customer": {"Id": 1}}) == {"Id": 1}


def test_env_address_wins_over_the_wsdl_address(tmp_path: Path) -> None:
    mappings = load_mappings(ROOT / "mappings", env={"CRM_URL": "https://crm.example/soap"})
    table = build_route_table(mappings, WsdlRegistry(CRM_WSDL_DIR))
    assert {route.address for route in table} == {"https://crm.example/soap"}


def test_the_wsdl_address_is_used_when_the_mapping_has_none(tmp_path: Path) -> None:
    [route] = build_route_table([write_mapping(tmp_path, "get")], WsdlRegistry(CRM_WSDL_DIR))
    assert route.address == "http://127.0.0.1:8081/crm"
    assert route.response is None


def test_a_named_port_selects_soap_12(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, "get", port="CrmServiceSoap12")
    [route] = build_route_table([mapping], WsdlRegistry(CRM_WSDL_DIR))
    assert route.operation.soap_version == "1.2"


def test_same_path_with_other_method_is_no_conflict(tmp_path: Path) -> None:
    get = write_mapping(tmp_path, "get")
    delete = write_mapping(tmp_path, "delete", method="DELETE", operation="DeleteCustomer")
    table = build_route_table([get, delete], WsdlRegistry(CRM_WSDL_DIR))
    assert [route.name for route in table] == ["get", "delete"]


def test_optional_arguments_need_no_expression(tmp_path: Path) -> None:
    mapping = write_mapping(
        tmp_path, "search", path="/v1/customers", operation="SearchCustomers", request={}
    )
    [route] = build_route_table([mapping], WsdlRegistry(CRM_WSDL_DIR))
    assert route.arguments == ()


def test_literal_and_compound_expressions_are_accepted(tmp_path: Path) -> None:
    mapping = write_mapping(
        tmp_path,
        "search",
        path="/v1/customers",
        operation="SearchCustomers",
        request={"Name": "query.name || 'anyone'", "Status": "'active'", "MinBalance": "body"},
    )
    [route] = build_route_table([mapping], WsdlRegistry(CRM_WSDL_DIR))
    assert route.arguments[0].expression.search({"query": {}}) == "anyone"


# Problems with the operation and its arguments


def test_unknown_operation_suggests_the_closest(tmp_path: Path) -> None:
    problem = only_problem(write_mapping(tmp_path, "get", operation="GetCustomr"))
    assert problem.field == "legacy.operation"
    assert (
        problem.message == "operation 'GetCustomr' is not in the WSDL (did you mean 'GetCustomer'?)"
    )


def test_unknown_operation_without_a_close_name(tmp_path: Path) -> None:
    problem = only_problem(write_mapping(tmp_path, "get", operation="Frobnicate"))
    assert problem.message == "operation 'Frobnicate' is not in the WSDL"


def test_unknown_port_lists_where_the_operation_is(tmp_path: Path) -> None:
    problem = only_problem(write_mapping(tmp_path, "get", port="Nope"))
    assert problem.field == "legacy.operation"
    assert "is not on service * port Nope" in problem.message
    assert "CrmService/CrmServiceSoap, CrmService/CrmServiceSoap12" in problem.message


def test_unknown_argument_suggests_the_closest(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, "get", request={"CustomerID": "path.id"})
    problem, missing = problems([mapping])
    assert missing.field == "legacy.request"
    assert problem.field == "legacy.request.CustomerID"
    assert problem.message == (
        "'CustomerID' is not an argument of GetCustomer "
        "(did you mean 'CustomerId'? arguments: CustomerId)"
    )


def test_unknown_argument_and_missing_required_one_together(tmp_path: Path) -> None:
    found = problems([write_mapping(tmp_path, "get", request={"Zzz": "path.id"})])
    assert [(p.field, p.message) for p in found] == [
        ("legacy.request.Zzz", "'Zzz' is not an argument of GetCustomer (arguments: CustomerId)"),
        (
            "legacy.request",
            "GetCustomer requires argument 'CustomerId'; add an expression for it",
        ),
    ]


@pytest.mark.parametrize("expression", ["path.[", "path.id ||", "path id", "[?"])
def test_invalid_jmespath_in_request(tmp_path: Path, expression: str) -> None:
    problem = only_problem(write_mapping(tmp_path, "get", request={"CustomerId": expression}))
    assert problem.field == "legacy.request.CustomerId"
    assert problem.message.startswith("is not a valid JMESPath expression: ")
    assert "\n" not in problem.message


@pytest.mark.parametrize("expression", ["Customer.{id: Id", "Customer[", "a b"])
def test_invalid_jmespath_in_response(tmp_path: Path, expression: str) -> None:
    problem = only_problem(write_mapping(tmp_path, "get", response=expression))
    assert problem.field == "legacy.response"
    assert problem.message.startswith("is not a valid JMESPath expression: ")


@pytest.mark.parametrize("expression", ["path.key", "to_number(path.key)", "path.id || path.key"])
def test_path_parameter_must_be_in_the_route_path(tmp_path: Path, expression: str) -> None:
    problem = only_problem(write_mapping(tmp_path, "get", request={"CustomerId": expression}))
    assert problem.field == "legacy.request.CustomerId"
    assert problem.message == "path.key is not a parameter of route.path /v1/customers/{id}"


def test_body_path_is_not_a_route_parameter(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, "get", request={"CustomerId": "body.path.id"})
    build_route_table([mapping], WsdlRegistry(CRM_WSDL_DIR))


@pytest.mark.parametrize(
    "expression", ["id", "params.id", "Path.id", "customer.id", '"pth".id', '"x-id"']
)
def test_expression_must_start_with_a_context_root(tmp_path: Path, expression: str) -> None:
    problem = only_problem(write_mapping(tmp_path, "get", request={"CustomerId": expression}))
    assert problem.field == "legacy.request.CustomerId"
    assert problem.message == (
        f"{expression!r} must start with one of path, query, headers, body, principal"
    )


def test_the_principal_may_feed_an_argument(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, "get", request={"CustomerId": "principal.claims.id"})
    build_route_table([mapping], WsdlRegistry(CRM_WSDL_DIR))


@pytest.mark.parametrize(
    "expression",
    ["path.id", "query.id", "headers.id", "body.id", "body", '"path".id', 'headers."x-id"'],
)
def test_each_context_root_is_accepted(tmp_path: Path, expression: str) -> None:
    mapping = write_mapping(tmp_path, "get", request={"CustomerId": expression})
    assert len(build_route_table([mapping], WsdlRegistry(CRM_WSDL_DIR))) == 1


def test_required_argument_without_expression(tmp_path: Path) -> None:
    problem = only_problem(write_mapping(tmp_path, "get", request={}))
    assert problem.field == "legacy.request"
    assert problem.message == "GetCustomer requires argument 'CustomerId'; add an expression for it"


def test_nillable_and_optional_arguments_are_not_required(tmp_path: Path, wsdl_dir: Path) -> None:
    children = '<xs:element name="A" type="xs:int" nillable="true"/>' + OPTIONAL_ARG + INT_ARG
    write_wsdl(wsdl_dir, "t.wsdl", wsdl({"Op": (children, "")}))
    mapping = write_mapping(
        tmp_path, "op", path="/op", wsdl_name="t.wsdl", operation="Op", request={}
    )
    problem = only_problem(mapping, wsdl_dir)
    assert problem.message == "Op requires argument 'Id'; add an expression for it"


# Problems with the WSDL and the address


def test_missing_wsdl_lists_the_available_ones(tmp_path: Path) -> None:
    problem = only_problem(write_mapping(tmp_path, "get", wsdl_name="crm2.wsdl"))
    assert problem.field == "legacy.wsdl"
    assert problem.message == f"'crm2.wsdl' is not a file in {CRM_WSDL_DIR} (available: crm.wsdl)"


def test_missing_wsdl_in_an_empty_folder(tmp_path: Path, wsdl_dir: Path) -> None:
    problem = only_problem(write_mapping(tmp_path, "get"), wsdl_dir)
    assert problem.message.endswith("(available: none)")


def test_wsdl_outside_the_folder_is_refused(tmp_path: Path, wsdl_dir: Path) -> None:
    write_wsdl(tmp_path, "outside.wsdl", wsdl({"Op": (INT_ARG, "")}))
    mapping = write_mapping(tmp_path, "get", wsdl_name="../outside.wsdl", operation="Op")
    problem = only_problem(mapping, wsdl_dir)
    assert problem.field == "legacy.wsdl"
    assert problem.message == f"'../outside.wsdl' must be a file inside {wsdl_dir}"


def test_broken_wsdl_is_reported_once_for_all_its_routes(tmp_path: Path, wsdl_dir: Path) -> None:
    broken = write_wsdl(wsdl_dir, "broken.wsdl", "<wsdl:definitions><oops></wsdl:definitions>")
    first = write_mapping(tmp_path, "first", wsdl_name="broken.wsdl")
    second = write_mapping(tmp_path, "second", path="/v2/{id}", wsdl_name="broken.wsdl")
    found = problems([first, second], wsdl_dir)
    assert len(found) == 1
    assert found[0].file == str(broken)
    assert found[0].message.startswith("cannot be loaded: XMLSyntaxError: ")
    assert "Namespace prefix wsdl on definitions is not defined" in found[0].message


def test_wsdl_that_is_not_xml(tmp_path: Path, wsdl_dir: Path) -> None:
    broken = write_wsdl(wsdl_dir, "broken.wsdl", "<definitions><oops></definitions>")
    found = problems([write_mapping(tmp_path, "first", wsdl_name="broken.wsdl")], wsdl_dir)
    assert [(p.file, p.field) for p in found] == [(str(broken), "")]
    # zeep wraps lxml's syntax error in its own; the text still names the line
    assert found[0].message.startswith("cannot be loaded: XMLSyntaxError: ")
    assert "Opening and ending tag mismatch" in found[0].message
    assert "line 1" in found[0].message


def test_wsdl_with_a_dangling_type_cannot_load(tmp_path: Path, wsdl_dir: Path) -> None:
    text = wsdl({"Op": ('<xs:element name="A" type="tns:Missing"/>', "")})
    broken = write_wsdl(wsdl_dir, "dangling.wsdl", text)
    found = problems(
        [write_mapping(tmp_path, "op", wsdl_name="dangling.wsdl", operation="Op")], wsdl_dir
    )
    assert [p.file for p in found] == [str(broken)]
    assert found[0].message.startswith("cannot be loaded: ")
    assert "Missing" in found[0].message


def test_ambiguous_port_asks_for_service_or_port(tmp_path: Path, wsdl_dir: Path) -> None:
    write_wsdl(wsdl_dir, "two.wsdl", wsdl({"Op": (INT_ARG, "")}, services=("North", "South")))
    mapping = write_mapping(
        tmp_path,
        "op",
        path="/op/{id}",
        wsdl_name="two.wsdl",
        operation="Op",
        request={"Id": "path.id"},
    )
    problem = only_problem(mapping, wsdl_dir)
    assert problem.field == "legacy.operation"
    assert problem.message == (
        "operation 'Op' is on several ports (North/NorthPort, South/SouthPort); "
        "name legacy.service or legacy.port"
    )
    chosen = write_mapping(
        tmp_path,
        "op",
        path="/op/{id}",
        wsdl_name="two.wsdl",
        operation="Op",
        request={"Id": "path.id"},
        service="South",
    )
    [route] = build_route_table([chosen], WsdlRegistry(wsdl_dir))
    assert (route.operation.service, route.operation.port) == ("South", "SouthPort")


@pytest.mark.parametrize(
    "address", ["ftp://crm.internal/crm", "crm.internal/crm", "http://", "file:///etc/passwd"]
)
def test_address_must_be_http(tmp_path: Path, address: str) -> None:
    problem = only_problem(write_mapping(tmp_path, "get", address=address))
    assert problem.field == "legacy.address"
    assert problem.message == f"{address!r} is not an http(s) URL"


def test_wsdl_without_address_needs_one_in_the_mapping(tmp_path: Path, wsdl_dir: Path) -> None:
    write_wsdl(wsdl_dir, "t.wsdl", wsdl({"Op": (OPTIONAL_ARG, "")}, address=None))
    mapping = write_mapping(
        tmp_path, "op", path="/op", wsdl_name="t.wsdl", operation="Op", request={}
    )
    problem = only_problem(mapping, wsdl_dir)
    assert problem.field == "legacy.address"
    assert (
        problem.message
        == "'' is not an http(s) URL; set legacy.address (the WSDL has no usable one)"
    )
    fixed = write_mapping(
        tmp_path,
        "op",
        path="/op",
        wsdl_name="t.wsdl",
        operation="Op",
        request={},
        address="https://svc.internal/op",
    )
    [route] = build_route_table([fixed], WsdlRegistry(wsdl_dir))
    assert route.address == "https://svc.internal/op"


# Problems between mappings


def test_duplicate_route_names(tmp_path: Path) -> None:
    first = write_mapping(tmp_path / "a", "get-customer")
    second = write_mapping(tmp_path / "b", "get-customer", path="/v2/customers/{id}")
    found = problems([first, second])
    assert found == [
        ConfigProblem(
            second.source, "name", f"route name 'get-customer' is already used by {first.source}"
        )
    ]


@pytest.mark.parametrize(
    ("path", "other_path"),
    [
        ("/v1/customers/{id}", "/v1/customers/{key}"),
        ("/v1/customers/{id}", "/v1/customers/{id}"),
        ("/v1/{a}/x/{b}", "/v1/{c}/x/{d}"),
        ("/v1/{a}/c", "/v1/b/{d}"),  # /v1/b/c fits both and neither is more literal
    ],
)
def test_conflicting_routes(tmp_path: Path, path: str, other_path: str) -> None:
    request = {"CustomerId": "'1'"}
    first = write_mapping(tmp_path, "first", path=path, request=request)
    second = write_mapping(tmp_path, "second", path=other_path, request=request)
    found = problems([first, second])
    assert found == [
        ConfigProblem(
            second.source,
            "route.path",
            f"GET {other_path} conflicts with GET {path} in {first.source}",
        )
    ]


@pytest.mark.parametrize(
    ("path", "other_path"),
    [
        ("/v1/customers/{id}", "/v1/customers/search"),
        ("/v1/{a}/{b}", "/v1/customers/{b}"),
        ("/v1/customers/{id}", "/v1/orders/{id}"),
    ],
)
def test_a_more_literal_route_is_no_conflict(tmp_path: Path, path: str, other_path: str) -> None:
    request = {"CustomerId": "'1'"}
    first = write_mapping(tmp_path, "first", path=path, request=request)
    second = write_mapping(tmp_path, "second", path=other_path, request=request)
    assert len(build_route_table([first, second], WsdlRegistry(CRM_WSDL_DIR))) == 2


@pytest.mark.parametrize(
    ("path", "reserved"),
    [("/metrics", "/metrics"), ("/{page}", "/healthz"), ("/docs/{x}", "/docs/oauth2-redirect")],
)
def test_a_get_route_must_not_take_the_facades_own_paths(
    tmp_path: Path, path: str, reserved: str
) -> None:
    mapping = write_mapping(tmp_path, "own", path=path, request={"CustomerId": "'1'"})
    problem = only_problem(mapping)
    assert (problem.field, problem.message) == (
        "route.path",
        f"GET {path} would take the facade's own GET {reserved}",
    )


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/admin/status"), ("POST", "/admin/{x}"), ("PUT", "/admin")]
)
def test_no_route_may_live_under_admin(tmp_path: Path, method: str, path: str) -> None:
    mapping = write_mapping(
        tmp_path, "admin", method=method, path=path, request={"CustomerId": "'1'"}
    )
    problem = only_problem(mapping)
    assert (problem.field, problem.message) == (
        "route.path",
        f"{path} starts with /admin, kept for the admin API",
    )


def test_other_methods_may_use_the_facades_own_paths(tmp_path: Path) -> None:
    mapping = write_mapping(
        tmp_path, "post", method="POST", path="/metrics", request={"CustomerId": "'1'"}
    )
    assert len(build_route_table([mapping], WsdlRegistry(CRM_WSDL_DIR))) == 1


def test_the_table_puts_literal_segments_first(tmp_path: Path) -> None:
    request = {"CustomerId": "'1'"}
    paths = ["/v1/{kind}/{id}", "/v1/customers/{id}", "/{version}/all", "/v1/customers/search"]
    mappings = [
        write_mapping(tmp_path, f"r{i}", path=path, request=request) for i, path in enumerate(paths)
    ]
    mappings.append(write_mapping(tmp_path, "delete", method="DELETE", operation="DeleteCustomer"))
    table = build_route_table(mappings, WsdlRegistry(CRM_WSDL_DIR))
    assert [route.mapping.path for route in table] == [
        "/v1/customers/search",
        "/v1/customers/{id}",
        "/v1/customers/{id}",  # the same pattern keeps the files' order
        "/v1/{kind}/{id}",
        "/{version}/all",
    ]
    assert [route.name for route in table][1:3] == ["r1", "delete"]


def test_a_router_fed_in_table_order_lets_literals_win(tmp_path: Path) -> None:
    request = {"CustomerId": "'1'"}
    mappings = [
        write_mapping(tmp_path, "by-id", path="/v1/customers/{id}", request=request),
        write_mapping(tmp_path, "search", path="/v1/customers/search", request=request),
    ]
    table = build_route_table(mappings, WsdlRegistry(CRM_WSDL_DIR))
    routes = [Route(r.mapping.path, PlainTextResponse(""), name=r.name) for r in table]

    def served_by(path: str) -> str:  # Starlette's Router takes the first full match
        scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
        return next(r.name for r in routes if r.matches(scope)[0] == Match.FULL)

    assert served_by("/v1/customers/search") == "search"
    assert served_by("/v1/customers/7") == "by-id"


def test_every_problem_is_collected_at_once(tmp_path: Path, wsdl_dir: Path) -> None:
    write_wsdl(wsdl_dir, "t.wsdl", wsdl({"Op": (INT_ARG, "")}, address="mailto:x"))
    write_wsdl(wsdl_dir, "broken.wsdl", "not xml")
    mappings = [
        write_mapping(
            tmp_path,
            "one",
            path="/one/{id}",
            wsdl_name="t.wsdl",
            operation="Op",
            request={"Id": "path.nope", "Idd": "path.id"},
            response="[",
        ),
        write_mapping(tmp_path, "two", path="/one/{key}", wsdl_name="t.wsdl", operation="Opp"),
        write_mapping(tmp_path, "three", path="/three", wsdl_name="broken.wsdl"),
        write_mapping(tmp_path, "four", path="/four", wsdl_name="gone.wsdl"),
    ]
    found = problems(mappings, wsdl_dir)
    located = [(Path(p.file).name, p.field) for p in found]
    assert located == [
        ("two.yaml", "route.path"),
        ("one.yaml", "legacy.request.Id"),
        ("one.yaml", "legacy.request.Idd"),
        ("one.yaml", "legacy.response"),
        ("one.yaml", "legacy.address"),
        ("two.yaml", "legacy.operation"),
        ("broken.wsdl", ""),
        ("four.yaml", "legacy.wsdl"),
    ]
    assert "did you mean 'Id'?" in found[2].message
    assert "did you mean 'Op'?" in found[5].message


def test_a_legacy_address_whose_port_cannot_exist_is_a_check_error(tmp_path: Path) -> None:
    """It would otherwise pass check and crash the server at startup."""
    document = {
        "route": {"method": "GET", "path": "/v1/customers/{id}"},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "http://crm.internal:99999/crm",
            "request": {"CustomerId": "path.id"},
        },
    }
    (tmp_path / "get-customer.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        build_route_table(load_mappings(tmp_path), WsdlRegistry(ROOT / "wsdl"))
    [problem] = caught.value.problems
    assert problem.field == "legacy.address"
    assert "port" in problem.message
