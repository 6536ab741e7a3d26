"""`facade scaffold`: one mapping file per SOAP operation of a WSDL, ready for `facade check`.

    facade scaffold wsdl/crm.wsdl            # -> mappings/crm/get-customer.yaml, ...

REST conventions are guessed from the operation's name and arguments (`guess_route`):

    GetCustomer(CustomerId)                  GET    /customers/{id}     CustomerId: path.id
    SearchCustomers(Name, Status)            GET    /customers          Name: query.name
    ListOfContinentsByName()                 GET    /continents/by-name
    CreateOrder(Order)                       POST   /orders             Order: body
    UpdateCustomer(CustomerId, Customer)     PUT    /customers/{id}     Customer: body
    DeleteCustomer(CustomerId)               DELETE /customers/{id}
    Add(intA, intB)                          POST   /add                intA: body.intA
    CapitalCity(Code)                        GET    /capital-city       Code: query.code

The first word is the verb. Get/Fetch/Read address one item when an argument is id-like (its
last word is Id, Code, Key or Number, or it is the only simple argument of a singular
resource), else the collection (plural resource) or a singleton; Find is the same but never
a singleton. Search/List/Query address the collection; Create/Add/Insert/Register post to
it; Update/Set/Modify/Change/Edit put (Patch patches) and Delete/Remove/Cancel delete,
on the item when an id-like argument exists. A `By<X>` tail names the key when X is id-like,
becomes a query filter when X names an argument of a plural resource, and otherwise stays
as a path segment (`/by-name`), as do other preposition tails (`/with-defaults`). GET and
DELETE never carry objects: an operation with a complex argument is a POST. Anything else,
and any route one request could confuse with an earlier one or with the facade's own
(`/healthz`, `/metrics`, `/docs`...), is `POST /<operation-name>` with every argument in
the body, except that an operation named by a noun (`CapitalCity`, `FullCountryInfo`: a
first word no rule knows, not a known action and not shaped like a verb) with only simple
arguments asks for that thing: `GET /<operation-name>` with every argument in the query,
safe. The route name (and file stem) is the kebab-case operation name. A reply of exactly
one child gets `response: <child>`, so clients get the value rather than its wrapper.

`legacy.address` is written when `address` is given (`--address URL`): every file says
`${CRM_URL:-URL}`, so the routes call `URL` (say, where `facade mock` listens) until a
deployment sets the variable. Without it, it is written only when the WSDL gives no usable
http(s) soap:address, as `${CRM_URL:-http://127.0.0.1:8081/crm}`: calls go to loopback,
never to a guessed host. A usable WSDL address is otherwise left in the WSDL.

Route names are unique across a mappings folder: when `out` lies inside `mappings_root`
(`mappings/` by default), a name already taken by a file elsewhere in it is an error,
before anything is written.

Each file starts with a header that records the hash of the rest of the file. A re-run
rewrites files whose hash still matches and keeps edited ones, unless `force` is given.
The same WSDL always gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

from facade.errors import ConfigError, ConfigProblem
from facade.scaffold.documents import MappingDocument, address_problem, render_document
from facade.scaffold.files import (
    DEFAULT_MAPPINGS,
    KEPT,
    UNCHANGED,
    WRITTEN,
    ScaffoldedFile,
    ScaffoldReport,
    name_clashes,
    write_files,
)
from facade.scaffold.inventory import (
    documentation,
    located,
    no_operations,
    non_soap_ports,
    operation_groups,
    param_of,
    relative_wsdl_name,
    resolvable,
)
from facade.scaffold.naming import kebab, pluralize, query_name, split_words, unique_name
from facade.scaffold.routes import (
    SAFE_VERBS,
    Param,
    RouteGuess,
    TakenRoutes,
    fallback_route,
    guess_route,
    is_safe,
)
from facade.soap.loader import LoadedWsdl
from facade.soap.operations import OperationNotFound
from facade.soap.registry import WsdlRegistry

__all__ = [
    "KEPT",
    "SAFE_VERBS",
    "UNCHANGED",
    "WRITTEN",
    "Param",
    "RouteGuess",
    "ScaffoldReport",
    "ScaffoldedFile",
    "fallback_route",
    "guess_route",
    "is_safe",
    "kebab",
    "pluralize",
    "query_name",
    "scaffold",
    "split_words",
]


def scaffold(
    wsdl_file: Path,
    out: Path,
    wsdl_dir: Path | None = None,
    force: bool = False,
    address: str | None = None,
    mappings_root: Path = DEFAULT_MAPPINGS,
) -> ScaffoldReport:
    """Write one mapping per SOAP operation of `wsdl_file` into `out`, or raise ConfigError.

    `wsdl_dir` is the folder `facade check --wsdl` will use (default: the WSDL's folder);
    `legacy.wsdl` names the file relative to it. `address` is the endpoint every mapping
    calls unless its variable is set.
    """
    problem = address_problem(address) if address is not None else None
    if problem:
        raise ConfigError([ConfigProblem(str(wsdl_file), "", problem)])
    wsdl_dir = wsdl_file.parent if wsdl_dir is None else wsdl_dir
    name = relative_wsdl_name(wsdl_file, wsdl_dir)
    try:
        loaded = WsdlRegistry(wsdl_dir).get(name)
    except ConfigError as exc:
        raise ConfigError([located(p, wsdl_file) for p in exc.problems]) from exc
    report = ScaffoldReport(out)
    mappings = _plan(loaded, name, report, address)
    clashes = name_clashes([m.name for m in mappings], out, mappings_root)
    if clashes:
        raise ConfigError(clashes)
    write_files(mappings, name, out, force, report)
    return report


def _plan(
    loaded: LoadedWsdl, wsdl_name: str, report: ScaffoldReport, address: str | None
) -> list[MappingDocument]:
    """The mapping files for every SOAP operation, in WSDL order (nothing is written)."""
    client = loaded.client
    skipped_ports, http_only = non_soap_ports(client)
    report.notes.extend(skipped_ports)
    report.skipped = len(http_only)
    groups = operation_groups(client)
    if not groups:
        raise ConfigError([ConfigProblem(str(loaded.path), "", no_operations(client, http_only))])
    docs = documentation(loaded.documents)
    taken = TakenRoutes()
    names: set[str] = set()
    mappings = []
    for operation_name, candidates in groups:
        try:
            operation, service, port = resolvable(client, operation_name, candidates)
        except OperationNotFound as exc:
            raise ConfigError([ConfigProblem(str(loaded.path), "", str(exc))]) from exc
        name = unique_name(operation.name, names)
        params = [param_of(a) for a in operation.arguments]
        route = guess_route(operation.name, params, name)
        suffix = 1
        while taken.overlaps(route.method, route.path):
            suffix += 1
            fallback = name if suffix == 2 else f"{name}-{suffix}"
            route = fallback_route(fallback, operation.name, params)
        taken.add(route.method, route.path)
        port_type = operation.binding.port_type.name.text
        doc = docs.get((port_type, operation.name))
        body = render_document(operation, route, wsdl_name, service, port, doc, address)
        mappings.append(MappingDocument(name, operation.name, route, body))
    return mappings
