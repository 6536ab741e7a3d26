"""Every real-world WSDL of the shared corpus, scaffolded and proved as a user would.

A WSDL either becomes a mapping set that loads, compiles, serves and documents itself with
a valid, typed OpenAPI 3.1 document, or `facade scaffold` refuses it with a ConfigError that
names the file and says why. `EXPECTED` pins which: a WSDL that moves from one outcome to
the other, or a corpus file without an expectation, fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openapi_spec_validator
import pytest
from fastapi import FastAPI

from facade.app import create_app
from facade.contracts import UNTYPED_RESPONSE
from facade.errors import ConfigError
from facade.mapping.loader import load_mappings
from facade.routetable import RouteTable, build_route_table
from facade.scaffold import WRITTEN, scaffold
from facade.soap.registry import WsdlRegistry

OK = "ok"

# corpus file -> OK, or a fragment of the message every problem of its ConfigError carries
EXPECTED: dict[str, str] = {
    "classic/BLZService.wsdl": OK,
    "classic/CurrencyConvertor.wsdl": OK,
    "classic/GenericNAICS.wsdl": OK,
    "classic/calculator-soap11and12.wsdl": OK,
    "classic/countryInformation.wsdl": OK,
    "classic/globalweather.wsdl": OK,
    "classic/learnwebservices.wsdl": OK,
    "classic/numberConvertion.wsdl": OK,
    "classic/stockquote.wsdl": (
        "has no SOAP operations to scaffold: its SOAP ports "
        "(StockQuoteService/StockQuotePort) bind none"
    ),
    "classic/temperatureConverter.wsdl": OK,
    "imports/main.wsdl": OK,
    "imports/sub.wsdl": "has no SOAP operations to scaffold: it declares no wsdl:service",
    "imports/xsd_include_http.wsdl": (
        "imports 'http://localhost:50000/Platform.asmx?xsd', which is not fetched from the network"
    ),
    "misc/EVacSyncService_SPClient.wsdl": OK,
    "misc/UsernameToken.wsdl": OK,
    "misc/deeply_nested_GET_DATA.wsdl": OK,
    "misc/ip2tele.wsdl": OK,
    "misc/list_parameter.wsdl": OK,
    "misc/logincms.wsdl": OK,
    "misc/marketo.wsdl": (
        "cannot be loaded: LookupError: Unable to resolve type "
        "{http://www.marketo.com/mktows/}StreamPosition"
    ),
    "netsuite/wsdl/strict/Netsuite.wsdl": (
        "cannot be loaded: XMLParseError: The namespace defined on the xsd:import doesn't "
        "match the imported targetNamespace"
    ),
    "public/TexasGeocoderService_V04_01.wsdl": OK,
    "wsdl20/wikipedia.wsdl": "is a WSDL 2.0 document; only WSDL 1.1 is supported",
    "zeep-tests/claim.wsdl": OK,
    "zeep-tests/http.wsdl": (
        "has no SOAP operations to scaffold: its ports use HTTP GET/POST bindings only"
    ),
    "zeep-tests/soap.wsdl": OK,
    "zeep-tests/soap_header.wsdl": OK,
    "zeep-tests/soap_import_2.wsdl": (
        "has no SOAP operations to scaffold: it declares no wsdl:service"
    ),
    "zeep-tests/soap_import_main.wsdl": OK,
    "zeep-tests/soap_transport_err.wsdl": OK,
}

_TYPING_KEYWORDS = frozenset(("type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const"))
_METHODS = frozenset(("get", "put", "post", "delete", "patch"))


def typed(schema: Any) -> bool:
    """A schema that says what the value is, not `{}` nor a "cannot be typed" description."""
    return (
        isinstance(schema, dict)
        and bool(_TYPING_KEYWORDS & schema.keys())
        and schema.get("description") != UNTYPED_RESPONSE
    )


def served(out: Path, wsdl_dir: Path) -> tuple[RouteTable, FastAPI]:
    """The scaffolded set as `facade serve` sees it: loaded, compiled, built into the app."""
    registry = WsdlRegistry(wsdl_dir)
    table = build_route_table(load_mappings(out), registry)
    return table, create_app(table, registry)


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """operationId -> the OpenAPI operation object."""
    return {
        operation["operationId"]: operation
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in _METHODS
    }


def contract_problems(table: RouteTable, document: dict[str, Any]) -> list[str]:
    """Every route whose documented response or inputs are missing or untyped."""
    problems: list[str] = []
    documented = operations(document)
    assert sorted(documented) == sorted(route.name for route in table)
    for route in table:
        operation = documented[route.name]
        where = f"{route.name} ({route.mapping.method} {route.mapping.path})"
        success = operation["responses"][str(route.mapping.status)]
        if not typed(success["content"]["application/json"]["schema"]):
            problems.append(f"{where}: untyped response")
        parameters = {(p["in"], p["name"]): p["schema"] for p in operation["parameters"]}
        problems += [
            f"{where}: untyped {place} parameter {name}"
            for (place, name), schema in parameters.items()
            if not typed(schema)
        ]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        body_schema = body.get("schema")
        if body and not typed(body_schema):
            problems.append(f"{where}: untyped request body")
        for source in route.arguments:
            expression = source.expression.expression
            root, _, rest = expression.partition(".")
            if root in ("path", "query") and (root, rest) not in parameters:
                problems.append(f"{where}: argument {source.name} ({expression}) undocumented")
            elif root == "body" and body_schema is None:
                problems.append(f"{where}: argument {source.name} read from an undocumented body")
            elif root == "body" and rest and "." not in rest:
                member = body_schema.get("properties", {}).get(rest)
                if not typed(member):
                    problems.append(f"{where}: body member {rest} is untyped")
    return problems


def prove(wsdl_file: Path, out: Path) -> tuple[RouteTable, dict[str, Any]]:
    """Scaffold, load, compile, build the app and validate its document; the table and it."""
    report = scaffold(wsdl_file, out, wsdl_file.parent)
    table, app = served(out, wsdl_file.parent)
    assert len(table) == report.count(WRITTEN) > 0
    document = app.openapi()
    openapi_spec_validator.validate(document)
    assert document["openapi"].startswith("3.1.")
    return table, document


def test_every_corpus_wsdl_has_an_expected_outcome(corpus: Path) -> None:
    found = {path.relative_to(corpus).as_posix() for path in corpus.rglob("*.wsdl")}
    assert found == set(EXPECTED)


@pytest.mark.parametrize(("relative", "expected"), sorted(EXPECTED.items()), ids=sorted(EXPECTED))
def test_corpus_wsdl_serves_a_typed_contract_or_fails_clearly(
    corpus: Path, tmp_path: Path, relative: str, expected: str
) -> None:
    wsdl_file = corpus / relative
    out = tmp_path / "mappings"
    try:
        table, document = prove(wsdl_file, out)
    except ConfigError as exc:
        assert expected != OK, f"{relative} no longer scaffolds:\n{exc}"
        assert exc.problems
        for problem in exc.problems:
            assert problem.file.endswith(relative), str(problem)
            assert expected in problem.message, str(problem)
        assert not out.exists() or not any(out.iterdir())
    else:
        assert expected == OK, f"{relative} scaffolds now; expected: {expected}"
        assert contract_problems(table, document) == []


def test_largest_corpus_wsdl_is_proved_in_one_process(corpus: Path, tmp_path: Path) -> None:
    largest = max(corpus.rglob("*.wsdl"), key=lambda path: path.stat().st_size)
    assert EXPECTED[largest.relative_to(corpus).as_posix()] == OK
    table, document = prove(largest, tmp_path / "mappings")
    assert contract_problems(table, document) == []
