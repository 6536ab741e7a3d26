"""The restriction facets zeep drops, read back from the XSD documents.

zeep keeps the base of an ``xs:restriction`` but forgets its facets (enumeration, pattern,
lengths, bounds, digits). The facade needs them to reject bad requests with a 422 and to
write JSON Schemas, so this module reads them from the same files zeep read
(``LoadedWsdl.documents``) with a hardened lxml parser.

How a zeep type object is matched to its declaration
----------------------------------------------------
Named simple types are keyed by QName (targetNamespace + name); facets inherited through
restriction chains are merged. A named complex type with simple content is keyed the same
way (types share one symbol space), so ``for_type`` gives the facets of its value.

Anonymous simple types cannot be found by QName. zeep gives an inline ``xs:simpleType``
the QName ``{targetNamespace}<name of the enclosing element or attribute>`` (or
``{targetNamespace}Anonymous`` inside a list, union or restriction) and marks it global,
exactly like a named type: ``<element name="Status" type="tns:Status"/>`` and
``<element name="Status"><simpleType>…`` are indistinguishable from zeep's objects. So
anonymous types are found by *where they are declared*, with ``for_element(element, scope)``:

- a scope is a tuple: the nearest named component (``"type:{ns}Name"``,
  ``"element:{ns}Name"``, ``"group:{ns}Name"``, ``"attributeGroup:{ns}Name"``), then the
  local name of each element with an anonymous complex type below it (``scope_of`` and
  ``member_key`` build them, so callers and the index agree);
- an element is declared at ``(*scope, "name")``, an attribute at ``(*scope, "@name")``,
  a global element (or a ref to one) at ``("element:{ns}Name",)`` whatever the scope;
- a scope also sees the members of its base types (complexContent extension/restriction),
  group refs and attributeGroup refs, because zeep flattens those into the type;
- when the declaration is not found, ``for_type`` answers by QName, but only if every
  declaration zeep would have given that QName agrees; otherwise it returns ``Facets()``:
  no facets beats wrong facets.

List and union types carry the facets of their item and member types (``Facets.item``,
``Facets.members``), since zeep loses the names of list types and of inline item types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from lxml import etree
from zeep.xsd import Attribute

from facade.translate.xml import parse_xml_file

XSD_NS = "http://www.w3.org/2001/XMLSchema"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"

_INT_FACETS = ("length", "minLength", "maxLength", "totalDigits", "fractionDigits")
_TEXT_FACETS = ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive")
_PARTICLES = {"sequence", "choice", "all"}


@dataclass(frozen=True)
class Facets:
    """The facets of one simple type, merged along its restriction chain.

    ``patterns`` must all match (one entry per derivation step; the patterns of a single
    step are joined as alternatives, as XSD says). Bounds stay strings: their meaning
    depends on the base type. ``item`` and ``members`` describe list and union types.
    """

    enumeration: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    length: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_inclusive: str | None = None
    max_inclusive: str | None = None
    min_exclusive: str | None = None
    max_exclusive: str | None = None
    total_digits: int | None = None
    fraction_digits: int | None = None
    item: Facets | None = None
    members: tuple[Facets, ...] = ()


EMPTY = Facets()

Scope = tuple[str, ...]
"""A named component (``"type:{ns}Name"``) followed by member names (``"child"``, ``"@attr"``)."""


@dataclass(frozen=True)
class _Decl:
    """A simple type declaration before resolution: its own facets and where it derives from."""

    own: Facets = EMPTY
    base: str | None = None  # QName text of a named base (or list item / union member) type
    inline: _Decl | None = None  # inline base simpleType of a restriction
    item: _Decl | None = None
    members: tuple[_Decl, ...] = ()


@dataclass
class _Tables:
    named: dict[str, _Decl] = field(default_factory=dict)
    members: dict[Scope, list[_Decl]] = field(default_factory=dict)
    includes: dict[Scope, list[Scope]] = field(default_factory=dict)
    by_zeep_qname: dict[str, list[_Decl]] = field(default_factory=dict)


def scope_of(xsd_type: object) -> Scope | None:
    """The scope of a named complex type's members, or None for an anonymous type."""
    qname = getattr(xsd_type, "qname", None)
    if qname is None or not getattr(xsd_type, "is_global", False):
        return None
    return (f"type:{qname.text}",)


def member_key(element: object, scope: Scope | None) -> Scope | None:
    """Where an element or attribute of ``scope`` is declared (see the module docstring).

    The key of an element with an anonymous complex type is also the scope of its children.
    """
    qname = getattr(element, "qname", None)
    if getattr(element, "is_global", False) and qname is not None:
        return (f"element:{qname.text}",)
    name = getattr(element, "name", None)
    if scope is None or name is None:
        return None
    marker = "@" if isinstance(element, Attribute) else ""
    return (*scope, f"{marker}{name}")


class FacetIndex:
    """Facets of every simple type declared in a set of XSD/WSDL documents.

    >>> index = FacetIndex.from_documents(loaded.documents)
    >>> index.for_type(schema.get_type("{urn:shop}Color")).enumeration
    ('red', 'blue')
    """

    def __init__(self, tables: _Tables) -> None:
        self._t = tables
        self._cache: dict[str, Facets] = {}

    @classmethod
    def from_documents(cls, paths: Iterable[Path]) -> FacetIndex:
        tables = _Tables()
        schemas = [(path, schema) for path in paths for schema in _schemas(path)]
        chameleons = _chameleon_namespaces(schemas)
        for path, schema in schemas:
            tns = schema.get("targetNamespace") or chameleons.get(path.resolve(), "")
            _SchemaReader(tables, tns).read(schema)
        return cls(tables)

    def is_extended(self, xsd_type: object) -> bool:
        """True when another complex type derives from this named one (so a value may carry
        the members of a subtype, chosen by xsi:type)."""
        scope = scope_of(xsd_type)
        return scope is not None and any(scope in bases for bases in self._t.includes.values())

    def for_type(self, xsd_type: object) -> Facets:
        """Facets of a type found by QName; ``Facets()`` when none or when ambiguous."""
        qname = getattr(xsd_type, "qname", None)
        if qname is None:
            return EMPTY
        key = qname.text
        candidates = [self._named(key, frozenset())] if key in self._t.named else []
        candidates += [self._resolve(d, frozenset()) for d in self._t.by_zeep_qname.get(key, [])]
        return _agreed(candidates)

    def for_element(self, element: object, scope: Scope | None) -> Facets:
        """Facets of the value of a zeep Element or Attribute declared in ``scope``."""
        decls = self._find(member_key(element, scope))
        qname = getattr(element, "qname", None)
        if (
            decls is None
            and isinstance(element, Attribute)
            and qname is not None
            and qname.namespace
        ):
            decls = self._t.members.get((f"attribute:{qname.text}",))
        if decls is None:
            return self.for_type(getattr(element, "type", None))
        return _agreed([self._resolve(d, frozenset()) for d in decls])

    def _find(self, key: Scope | None, seen: frozenset[Scope] = frozenset()) -> list[_Decl] | None:
        """The declarations at ``key``, else at the same member of the scope's includes."""
        if key is None or key[:-1] in seen:
            return None
        found = self._t.members.get(key)
        for included in self._t.includes.get(key[:-1], []) if len(key) > 1 else ():
            found = found or self._find((*included, key[-1]), seen | {key[:-1]})
        return found

    def _named(self, qname: str, seen: frozenset[str]) -> Facets:
        if qname in self._cache:
            return self._cache[qname]
        decl = self._t.named.get(qname)
        if decl is None or qname in seen:  # a builtin, an unknown type, or a cycle
            return EMPTY
        facets = self._resolve(decl, seen | {qname})
        self._cache[qname] = facets
        return facets

    def _resolve(self, decl: _Decl, seen: frozenset[str]) -> Facets:
        if decl.base is not None:
            base = self._named(decl.base, seen)
        elif decl.inline is not None:
            base = self._resolve(decl.inline, seen)
        else:
            base = EMPTY
        own = replace(
            decl.own,
            item=self._resolve(decl.item, seen) if decl.item else None,
            members=tuple(self._resolve(m, seen) for m in decl.members),
        )
        return _merge(base, own)


def _agreed(candidates: list[Facets]) -> Facets:
    if not candidates or any(c != candidates[0] for c in candidates[1:]):
        return EMPTY
    return candidates[0]


def _merge(base: Facets, own: Facets) -> Facets:
    """A restriction narrows its base: its own facets win, patterns accumulate."""
    merged = {f.name: getattr(own, f.name) for f in fields(Facets)}
    for name, value in merged.items():
        if value in (None, ()):
            merged[name] = getattr(base, name)
    merged["patterns"] = base.patterns + own.patterns
    return Facets(**merged)


class _SchemaReader:
    """Walks one ``xs:schema`` element and fills the tables."""

    def __init__(self, tables: _Tables, tns: str) -> None:
        self.t = tables
        self.tns = tns

    def read(self, schema: etree._Element) -> None:
        for node in _children(schema):
            name = node.get("name")
            if name is None:
                continue
            qname = f"{{{self.tns}}}{name}" if self.tns else name
            kind = etree.QName(node).localname
            if kind == "simpleType":
                self.t.named[qname] = self._simple_type(node)
            elif kind == "complexType":
                self._complex_type(node, (f"type:{qname}",), named=qname)
            elif kind in ("element", "attribute"):
                self._element_body(node, (f"{kind}:{qname}",))
            elif kind in ("group", "attributeGroup"):
                self._content(node, (f"{kind}:{qname}",))

    def _element_body(self, node: etree._Element, key: Scope) -> None:
        """Record the value declaration of an element or attribute found at ``key``."""
        for child in _children(node):
            kind = etree.QName(child).localname
            if kind == "simpleType":
                self._add(key, self._simple_type(child), zeep_name=node.get("name"))
            elif kind == "complexType":
                self._complex_type(child, key, named=None, zeep_name=node.get("name"))
            else:
                continue
            return
        type_name = _qname_attr(node, "type", self.tns)
        if type_name is not None:
            self.t.members.setdefault(key, []).append(_Decl(base=type_name))

    def _complex_type(
        self, node: etree._Element, scope: Scope, named: str | None, zeep_name: str | None = None
    ) -> None:
        for child in _children(node):
            kind = etree.QName(child).localname
            if kind in ("simpleContent", "complexContent"):
                derivation = next(_children(child), None)
                if derivation is None:
                    continue
                base = _qname_attr(derivation, "base", self.tns)
                if base is not None:
                    self.t.includes.setdefault(scope, []).append((f"type:{base}",))
                if kind == "simpleContent":
                    decl = self._restriction(derivation)
                    if named is not None:
                        self.t.named[named] = decl
                    else:
                        self._add(scope, decl, zeep_name=zeep_name)
                self._content(derivation, scope)
        self._content(node, scope)

    def _content(self, node: etree._Element, scope: Scope) -> None:
        """Record the elements, attributes and references that make up ``scope``."""
        for child in _children(node):
            kind = etree.QName(child).localname
            if kind in _PARTICLES:
                self._content(child, scope)
            elif kind in ("group", "attributeGroup"):
                ref = _qname_attr(child, "ref", self.tns)
                if ref is not None:
                    self.t.includes.setdefault(scope, []).append((f"{kind}:{ref}",))
                else:
                    self._content(child, scope)
            elif kind in ("element", "attribute") and child.get("name"):
                marker = "@" if kind == "attribute" else ""
                self._element_body(child, (*scope, f"{marker}{child.get('name')}"))

    def _add(self, key: Scope, decl: _Decl, zeep_name: str | None) -> None:
        if key:
            self.t.members.setdefault(key, []).append(decl)
        zeep_qname = f"{{{self.tns}}}{zeep_name}" if self.tns else zeep_name
        if zeep_qname:
            self.t.by_zeep_qname.setdefault(zeep_qname, []).append(decl)

    def _simple_type(self, node: etree._Element) -> _Decl:
        body = next(_children(node), None)
        if body is None:
            return _Decl()
        kind = etree.QName(body).localname
        if kind == "list":
            return _Decl(item=self._list_item(body))
        if kind == "union":
            return _Decl(members=self._union_members(body))
        return self._restriction(body)

    def _restriction(self, node: etree._Element) -> _Decl:
        """A restriction (or a simpleContent extension, which only names its base)."""
        inline = None
        values: dict[str, list[str]] = {}
        for child in _children(node):
            kind = etree.QName(child).localname
            if kind == "simpleType":
                inline = self._anonymous(child)
            elif child.get("value") is not None:
                values.setdefault(kind, []).append(child.get("value"))
        base = _qname_attr(node, "base", self.tns)
        return _Decl(own=_facets(values), base=base, inline=None if base else inline)

    def _list_item(self, node: etree._Element) -> _Decl:
        item_type = _qname_attr(node, "itemType", self.tns)
        if item_type is not None:
            return _Decl(base=item_type)
        inline = next(_children(node), None)
        if inline is None:
            return _Decl()
        return self._anonymous(inline)

    def _union_members(self, node: etree._Element) -> tuple[_Decl, ...]:
        # zeep reads memberTypes when present and the inline simpleTypes only otherwise.
        names = node.get("memberTypes", "").split()
        if names:
            return tuple(_Decl(base=_resolve_qname(node, n, self.tns)) for n in names)
        return tuple(self._anonymous(child) for child in _children(node))

    def _anonymous(self, node: etree._Element) -> _Decl:
        """An inline simpleType inside a list, union or restriction: zeep calls it Anonymous."""
        decl = self._simple_type(node)
        self._add((), decl, zeep_name="Anonymous")
        return decl


def _facets(values: dict[str, list[str]]) -> Facets:
    kwargs: dict[str, object] = {}
    for name in (n for n in _INT_FACETS + _TEXT_FACETS if n in values):
        value = values[name][0].strip()
        kwargs[re.sub("([A-Z])", r"_\1", name).lower()] = (
            int(value) if name in _INT_FACETS else value
        )
    if "enumeration" in values:
        kwargs["enumeration"] = tuple(values["enumeration"])
    patterns = values.get("pattern", [])
    if len(patterns) == 1:
        kwargs["patterns"] = (patterns[0],)
    elif patterns:
        kwargs["patterns"] = ("|".join(f"({p})" for p in patterns),)
    return Facets(**kwargs)  # type: ignore[arg-type]


def _children(node: etree._Element) -> Iterator[etree._Element]:
    """XSD children of a node, skipping annotations, comments and foreign elements."""
    for child in node:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        if qname.namespace == XSD_NS and qname.localname != "annotation":
            yield child


def _qname_attr(node: etree._Element, attr: str, tns: str) -> str | None:
    value = node.get(attr)
    return _resolve_qname(node, value, tns) if value else None


def _resolve_qname(node: etree._Element, value: str, tns: str) -> str:
    prefix, _, local = value.strip().rpartition(":")
    namespace = node.nsmap.get(prefix or None)
    if namespace is None and not prefix:
        namespace = tns  # as zeep does for unprefixed names without a default namespace
    return f"{{{namespace}}}{local}" if namespace else local


def _schemas(path: Path) -> list[etree._Element]:
    root = parse_xml_file(path)
    if root.tag == f"{{{XSD_NS}}}schema":
        return [root]
    return root.findall(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")


def _chameleon_namespaces(schemas: list[tuple[Path, etree._Element]]) -> dict[Path, str]:
    """An included schema without targetNamespace takes the includer's namespace."""
    found: dict[Path, str] = {}
    for path, schema in schemas:
        tns = schema.get("targetNamespace")
        if not tns:
            continue
        for include in schema.iterchildren(f"{{{XSD_NS}}}include"):
            location = include.get("schemaLocation")
            if location and "://" not in location:
                found[(path.parent / location).resolve()] = tns
    return found
