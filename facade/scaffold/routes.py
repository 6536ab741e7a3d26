"""Route guessing: the REST route an operation's name and arguments most likely stand for.

The rules are described in the package docstring (`facade.scaffold`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from facade.paths import RESERVED_PATHS, RESERVED_PREFIX, overlaps, segments
from facade.scaffold.naming import (
    UNCOUNTABLE,
    field_expression,
    kebab,
    pluralize,
    query_name,
    split_words,
)

_VERBS = {
    **dict.fromkeys(("get", "fetch", "read"), "read"),
    "find": "find",
    **dict.fromkeys(("search", "list", "query"), "collection"),
    **dict.fromkeys(("create", "add", "insert", "register"), "create"),
    **dict.fromkeys(("update", "set", "modify", "change", "edit"), "update"),
    "patch": "patch",
    **dict.fromkeys(("delete", "remove", "cancel"), "delete"),
}
SAFE_VERBS = frozenset(
    ("get", "find", "search", "list", "query", "check", "validate", "is", "has", "count")
    + ("lookup", "fetch", "read")
)
"""Operations named with these verbs only read: `legacy.safe: true`."""
_ACTION_VERBS = frozenset(
    ("say", "send", "submit", "process", "execute", "run", "start", "stop", "reset", "login")
    + ("logout", "logon", "logoff", "authenticate", "authorize", "transfer", "pay", "book")
    + ("reserve", "sync", "import", "export", "upload", "download", "generate", "notify")
    + ("apply", "assign", "close", "open", "lock", "unlock", "enable", "disable", "save")
    + ("store", "write", "post", "put", "publish", "merge", "move", "copy", "sign", "confirm")
    + ("accept", "reject", "approve", "deny", "release", "renew", "refresh", "resend", "retry")
    + ("subscribe", "unsubscribe", "ping", "echo", "purge", "clear", "do", "make", "perform")
    + ("trigger", "schedule", "request", "register", "upsert", "replace", "rename", "attach")
    + ("detach", "link", "unlink", "cancel", "void", "refund", "charge", "ship", "order")
    + ("subtract", "multiply", "divide", "sum", "compute", "convert", "encode", "decode")
    + ("encrypt", "decrypt", "hash", "compress", "archive", "restore", "delete", "invoke")
)
"""First words that name an action although no rule knows them: such operations stay POST."""
_VERB_SUFFIXES = ("ize", "ise", "ify", "ate")  # finalize, notify, calculate: actions
_ID_WORDS = frozenset(("id", "code", "key", "number"))
_LEADING_FILLERS = frozenset(("of", "all", "the", "a", "an"))
_PREPOSITIONS = frozenset(
    ("by", "with", "without", "for", "from", "per", "in", "on", "to", "at", "using", "via")
)


@dataclass(frozen=True)
class Param:
    """What the naming rules need to know about one operation argument."""

    name: str
    simple: bool
    """An XSD simple type: it can travel in a path or query string."""
    repeated: bool = False

    @property
    def keyable(self) -> bool:
        return self.simple and not self.repeated

    @property
    def id_like(self) -> bool:
        words = split_words(self.name)
        return self.keyable and bool(words) and words[-1].lower() in _ID_WORDS


@dataclass(frozen=True)
class RouteGuess:
    """A REST route for an operation, with the request expressions that fill its arguments."""

    method: str
    path: str
    request: dict[str, str]
    safe: bool


def is_safe(operation: str) -> bool:
    """True when the operation's name says it only reads (GetX, SearchX, IsX, LookupX...)."""
    words = [w.lower() for w in split_words(operation)]
    verb = "lookup" if words[:2] == ["look", "up"] else (words[0] if words else "")
    return verb in SAFE_VERBS


def fallback_route(route_name: str, operation: str, params: Sequence[Param]) -> RouteGuess:
    """`POST /<route-name>` with every argument in the body."""
    return RouteGuess("POST", f"/{route_name}", _body_request(params), is_safe(operation))


def guess_route(
    operation: str, params: Sequence[Param], route_name: str | None = None
) -> RouteGuess:
    """The REST route an operation most likely stands for (see the module docstring).

    guess_route("GetCustomer", [Param("CustomerId", simple=True)])
    # RouteGuess(method='GET', path='/customers/{id}', request={'CustomerId': 'path.id'}, ...)
    """
    fallback = fallback_route(route_name or kebab(operation) or "operation", operation, params)
    words = [w.lower() for w in split_words(operation)]
    kind = _VERBS.get(words[0]) if words else None
    subject, prep, qualifier = _subject(words[1:])
    has_object = any(not p.simple for p in params)
    if kind is None and words and _names_a_thing(words[0]) and not has_object:
        # CapitalCity(CountryCode), FullCountryInfo(...): a noun asks for that thing
        return RouteGuess("GET", fallback.path, _query_request(params, None), safe=True)
    if kind is None or not subject:
        return fallback
    if has_object and kind in ("read", "find", "collection", "delete"):
        return fallback  # GET and DELETE carry no body

    noun = _noun_index(subject)
    last = subject[noun]
    plural = last[-1].isalpha() and pluralize(last) == last and last not in UNCOUNTABLE
    by_id = prep == "by" and qualifier[-1] in _ID_WORDS and qualifier[:-1] in ([], subject)
    by_param = _matching_param(qualifier, params) if prep == "by" and not by_id else None
    filters = by_param is not None and plural and kind in ("read", "find", "collection")
    key = _key(kind, plural, by_id, by_param, filters, params)
    absorbed = filters or (by_id and key is not None)
    segment = "" if not prep or absorbed else "/" + "-".join([prep, *qualifier])
    single = "/" + "-".join(subject) + segment
    many = "/" + "-".join([*subject[:noun], pluralize(last), *subject[noun + 1 :]]) + segment
    safe = is_safe(operation)

    if kind in ("read", "find", "collection", "delete"):
        method = "DELETE" if kind == "delete" else "GET"
        if key is not None:
            return RouteGuess(method, many + "/{id}", _query_request(params, key), safe)
        collection = kind in ("find", "collection") or (kind == "read" and plural)
        base = many if collection else single
        return RouteGuess(method, base, _query_request(params, None), safe)
    if kind == "create":
        return RouteGuess("POST", many, _body_request(params), safe)
    method = "PATCH" if kind == "patch" else "PUT"
    if key is not None:
        return RouteGuess(method, many + "/{id}", _body_request(params, key), safe)
    return RouteGuess(method, single, _body_request(params), safe)


def _names_a_thing(word: str) -> bool:
    """True when an operation's first word is a noun (`Capital`, `Country`, `Number`), not a
    verb of its own: unknown to the rules, not a known action, not shaped like a verb."""
    return (
        word.isalpha()
        and word not in _VERBS
        and word not in SAFE_VERBS
        and word not in _ACTION_VERBS
        and not word.endswith(_VERB_SUFFIXES)
    )


def _subject(words: list[str]) -> tuple[list[str], str, list[str]]:
    """Resource words, and the preposition tail: ['continents'], 'by', ['name']."""
    while words and words[0] in _LEADING_FILLERS:
        words = words[1:]
    for i, word in enumerate(words[1:-1], start=1):
        if word in _PREPOSITIONS:
            return words[:i], word, words[i + 1 :]
    return words, "", []


def _noun_index(subject: list[str]) -> int:
    """The word to pluralize: the last one, skipping participles (`names-grouped`)."""
    for i in range(len(subject) - 1, 0, -1):
        if not (subject[i].endswith("ed") and len(subject[i]) > 4):
            return i
    return 0


def _matching_param(qualifier: list[str], params: Sequence[Param]) -> Param | None:
    """The argument a `By<X>` tail names: `ByCountry` -> `CountryName`."""
    for param in params:
        words = [w.lower() for w in split_words(param.name)]
        if param.keyable and words[: len(qualifier)] == qualifier:
            return param
    return None


def _key(
    kind: str,
    plural: bool,
    by_id: bool,
    by_param: Param | None,
    filters: bool,
    params: Sequence[Param],
) -> Param | None:
    """The argument that becomes `{id}`, if the route addresses one item."""
    if kind in ("collection", "create") or filters:
        return None
    if by_param is not None:
        return by_param
    id_like = [p for p in params if p.id_like]
    if len(id_like) == 1:
        return id_like[0]
    keyable = [p for p in params if p.keyable]
    simple = [p for p in params if p.simple]
    if len(keyable) != 1 or len(simple) != 1:
        return None
    if kind in ("update", "patch"):
        # A lone simple argument of SetX is the new value unless an object travels beside it.
        return keyable[0] if len(params) > 1 else None
    if kind in ("read", "find") and plural and not by_id:
        return None
    return keyable[0]


def _query_request(params: Sequence[Param], key: Param | None) -> dict[str, str]:
    request: dict[str, str] = {}
    rest = [p for p in params if p is not key]
    names = [query_name(p.name) for p in rest]
    for param, name in zip(rest, names, strict=True):
        if names.count(name) > 1:
            name = param.name  # two arguments camel-case alike: keep them as the WSDL spells them
        request[param.name] = field_expression("query", name)
    if key is not None:
        request = {key.name: "path.id", **request}
    return {p.name: request[p.name] for p in params}


def _body_request(params: Sequence[Param], key: Param | None = None) -> dict[str, str]:
    rest = [p for p in params if p is not key]
    whole = len(rest) == 1 and not rest[0].simple
    request = {p.name: "body" if whole else field_expression("body", p.name) for p in rest}
    if key is not None:
        request[key.name] = "path.id"
    return {p.name: request[p.name] for p in params}


class TakenRoutes:
    """Routes already used, starting with the facade's own GET paths.

    Scaffolding avoids any overlap, not only ambiguity: a guessed route that needs the
    matching order to be served right is one a reader would also get wrong.
    """

    def __init__(self) -> None:
        self._routes: list[tuple[str, str]] = [("GET", path) for path in RESERVED_PATHS]

    def overlaps(self, method: str, path: str) -> bool:
        """True when the route is taken, or under the admin API's prefix (any method)."""
        if segments(path)[:1] == (RESERVED_PREFIX,):
            return True
        return any(m == method and overlaps(p, path) for m, p in self._routes)

    def add(self, method: str, path: str) -> None:
        self._routes.append((method, path))
