"""Real-world WSDLs end to end: scaffolded, served, and every route called as a client would.

For each service: the corpus WSDL is copied with its soap:address locations rewritten to a
`facade mock` process (which answers every operation with sample data shaped by the output
schema), its routes are scaffolded from that copy (so the mappings carry no legacy.address:
the WSDL's address is the one to change) and served by a `facade serve` process,
and every route is called over HTTP with inputs made from the facade's own OpenAPI document.
Each answer must be the documented success, from the legacy side, and valid against the
route's response schema.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from lxml import etree
from processes import free_port, processes

from facade.scaffold import WRITTEN, scaffold

pytestmark = pytest.mark.e2e

# corpus WSDL -> the number of routes scaffolded from it
SERVICES = {
    "classic/calculator-soap11and12.wsdl": 4,
    "classic/countryInformation.wsdl": 21,
    "classic/GenericNAICS.wsdl": 3,
    "classic/globalweather.wsdl": 2,
    "misc/list_parameter.wsdl": 17,
}
MOCK_PATH = "/soap"
ADDRESS_TAGS = (
    "{http://schemas.xmlsoap.org/wsdl/soap/}address",
    "{http://schemas.xmlsoap.org/wsdl/soap12/}address",
)
IMPORTS = (
    ("{http://schemas.xmlsoap.org/wsdl/}import", "location"),
    ("{http://www.w3.org/2001/XMLSchema}import", "schemaLocation"),
    ("{http://www.w3.org/2001/XMLSchema}include", "schemaLocation"),
)
METHODS = ("get", "put", "post", "delete", "patch")
OPTIONAL_DEPTH = 3
"""Optional object members are filled this deep; below, only required ones."""
STRING_SAMPLES = ("example", "1", "1.5", "A1", "EXAMPLE", "example@example.com", "")
FORMAT_SAMPLES = {
    "date": "2024-01-31",
    "date-time": "2024-01-31T12:00:00Z",
    "time": "12:00:00Z",
    "duration": "P1D",
    "uri": "https://example.com/",
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


# --- The WSDL copy ---------------------------------------------------------------------------


def copy_wsdl(source: Path, folder: Path, address: str) -> Path:
    """Copy a WSDL, and the local files it imports, into `folder`; every soap:address
    location of the copies becomes `address`. The corpus files are only read."""
    copied: set[Path] = set()
    pending = [(source, (folder / source.name).resolve())]
    while pending:
        origin, target = pending.pop()
        if target in copied:
            continue
        copied.add(target)
        tree = etree.parse(str(origin), _PARSER)
        for tag in ADDRESS_TAGS:
            for element in tree.iter(tag):
                element.set("location", address)
        for tag, attribute in IMPORTS:
            for element in tree.iter(tag):
                location = element.get(attribute)
                if location and not urlparse(location).scheme:
                    imported = (target.parent / location).resolve()
                    assert imported.is_relative_to(folder.resolve()), location
                    pending.append((origin.parent / location, imported))
        target.parent.mkdir(parents=True, exist_ok=True)
        tree.write(str(target), xml_declaration=True, encoding="utf-8")
    return folder / source.name


# --- Sample inputs from the OpenAPI document -------------------------------------------------


class Examples:
    """Values valid against schemas of one OpenAPI document (its components resolved)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components = document["components"]

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        return Draft202012Validator(
            {**schema, "components": self.components},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    def valid(self, schema: dict[str, Any], value: Any) -> bool:
        return self.validator(schema).is_valid(value)

    def example(self, schema: dict[str, Any], depth: int = 0) -> Any:
        """The first candidate value the schema accepts; None when none is found."""
        candidates = list(self._candidates(schema, depth))
        return next((c for c in candidates if self.valid(schema, c)), None)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].removeprefix("#/components/schemas/")
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**self.components["schemas"][name], **rest}
        return schema

    def _candidates(self, schema: dict[str, Any], depth: int) -> Any:
        schema = self._resolve(schema)
        yield from schema.get("examples", [])
        if "const" in schema:
            yield schema["const"]
        yield from schema.get("enum", [])[:1]
        kind = schema.get("type")
        if kind is None:
            for key in ("anyOf", "oneOf", "allOf"):
                for branch in schema.get(key, []):
                    if self._resolve(branch).get("type") != "null":
                        yield from self._candidates(branch, depth)
            yield None
        elif kind == "object":
            yield from self._objects(schema, depth)
        elif kind == "array":
            item = self.example(schema.get("items", {}), depth + 1)
            count = min(max(schema.get("minItems", 1), 1), schema.get("maxItems", 1))
            yield [item] * count
            yield []
        elif kind in ("integer", "number"):
            low, high = schema.get("minimum"), schema.get("maximum")
            yield from (v for v in (1, 1.5, low, high) if v is not None)
        elif kind == "boolean":
            yield True
        elif kind == "string":
            if "format" in schema:
                yield FORMAT_SAMPLES.get(schema["format"], "example")
            if schema.get("contentEncoding") == "base64":
                yield "ZXhhbXBsZQ=="
            length = schema.get("minLength", 0)
            yield from (s.ljust(length, "x") for s in STRING_SAMPLES)
        elif kind == "null":
            yield None

    def _objects(self, schema: dict[str, Any], depth: int) -> Any:
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        filled = {
            name: self.example(member, depth + 1)
            for name, member in properties.items()
            if name in required or (depth < OPTIONAL_DEPTH and not name.startswith("_"))
        }
        yield {k: v for k, v in filled.items() if k in required or v is not None}
        yield {k: v for k, v in filled.items() if k in required}
        for key in ("oneOf", "anyOf"):  # an xs:choice: the members of one branch
            for branch in schema.get(key, []):
                names = [*required, *branch.get("required", [])]
                yield {name: filled.get(name) for name in names if name in filled}


# --- Calling every route --------------------------------------------------------------------


def query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [query_value(v) for v in value]
    return str(value)


def call_route(
    http: httpx.Client, examples: Examples, path: str, method: str, operation: dict[str, Any]
) -> list[str]:
    """Call one route with sample inputs; every way its answer differs from the document."""
    where = f"{method.upper()} {path} ({operation['operationId']})"
    values = {(p["in"], p["name"]): examples.example(p["schema"]) for p in operation["parameters"]}
    assert None not in values.values(), f"{where}: no sample parameter value in {values}"
    url = re.sub(r"\{([^}]+)\}", lambda m: quote(str(values["path", m.group(1)]), safe=""), path)
    query = {name: query_value(v) for (place, name), v in values.items() if place == "query"}
    request: dict[str, Any] = {"params": query}
    if "requestBody" in operation:
        body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
        body = examples.example(body_schema)
        assert examples.valid(body_schema, body), f"{where}: no valid sample body"
        request["json"] = body
    response = http.request(method.upper(), url, **request)

    success = next(status for status in operation["responses"] if status.startswith("2"))
    if str(response.status_code) != success:
        return [f"{where}: {response.status_code} instead of {success}: {response.text[:500]}"]
    problems = []
    if response.headers.get("x-facade-backend") != "legacy":
        problems.append(f"{where}: X-Facade-Backend is {response.headers.get('x-facade-backend')}")
    if response.headers.get("content-type") != "application/json":
        problems.append(f"{where}: content-type is {response.headers.get('content-type')}")
    schema = operation["responses"][success]["content"]["application/json"]["schema"]
    for error in examples.validator(schema).iter_errors(response.json()):
        problems.append(f"{where}: {describe(error)}")
    return problems


def describe(error: ValidationError) -> str:
    """Where and why a value failed: the deepest of the errors under it."""
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return f"{error.json_path}: {error.message[:200]}"


@pytest.mark.parametrize("relative", sorted(SERVICES), ids=sorted(SERVICES))
def test_every_scaffolded_route_answers_as_documented(
    corpus: Path, tmp_path: Path, relative: str
) -> None:
    mock_port, facade_port = free_port(), free_port()
    mock_url = f"http://127.0.0.1:{mock_port}{MOCK_PATH}"
    wsdl_dir, mappings = tmp_path / "wsdl", tmp_path / "mappings"
    wsdl_file = copy_wsdl(corpus / relative, wsdl_dir, mock_url)
    report = scaffold(wsdl_file, mappings, wsdl_dir)
    assert report.count(WRITTEN) == SERVICES[relative]
    for file in report.files:  # the WSDL's own (rewritten) address is used
        assert "address" not in yaml.safe_load(file.path.read_text("utf-8"))["legacy"]

    base = f"http://127.0.0.1:{facade_port}"
    serve = ["serve", "--mappings", str(mappings), "--wsdl", str(wsdl_dir)]
    with (
        processes(
            (["mock", str(wsdl_file), "--port", str(mock_port)], f"{mock_url}?wsdl", None),
            ([*serve, "--port", str(facade_port)], f"{base}/readyz", None),
        ),
        httpx.Client(base_url=base, timeout=10.0) as http,
    ):
        document = http.get("/openapi.json").json()
        examples = Examples(document)
        routes = [
            (path, method, operation)
            for path, item in document["paths"].items()
            for method, operation in item.items()
            if method in METHODS
        ]
        problems = [
            problem
            for path, method, operation in routes
            for problem in call_route(http, examples, path, method, operation)
        ]

    assert len(routes) == SERVICES[relative]
    assert problems == []
