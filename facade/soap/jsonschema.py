"""XSD, as zeep reads it, to JSON Schema draft 2020-12 (the dialect of OpenAPI 3.1).

The JSON shape is the one zeep produces (``zeep.helpers.serialize_object`` of a reply) and
accepts (keyword arguments of a call), so one schema describes both directions:

- an element is a property named as zeep names it: its local name (``name__1`` for a second
  element of that name in one sequence), ``_value_N`` for an ``xs:any`` and for a sequence,
  choice or group that repeats; an element that may repeat is always an array;
- an attribute is a property under its local name, ``attr__<name>`` when an element of the
  type has that name, ``_attr_N`` for ``xs:anyAttribute`` (zeep's ``ComplexType.attributes``);
- the value of simple content (``xs:simpleContent``) is under ``_value_1``, next to the
  attributes: zeep wraps the base type in ``Element("_value_1", base)``;
- null is accepted where zeep gives or takes None: nillable elements, optional elements and
  attributes (zeep reads an absent one as None and renders None as absent), members of the
  choice branches not taken, and objects whose members are all optional (zeep reads an
  empty element as None);
- ``xs:choice`` is a ``oneOf`` of branches naming the members that must be present (not
  null, not an empty list);
- soapenc arrays are arrays of their item type: zeep parses them into a list;
- decimals are strings (``^-?\\d+(\\.\\d+)?$``) so no digit is lost to a float; their range
  facets are left out, as JSON Schema compares numbers only; integers that may pass 2^53
  (``xs:long``, ``xs:integer``...) are integers or strings of digits, for the same reason;
- objects are closed (``additionalProperties: false``): the request walker refuses unknown
  members and the reply translation drops zeep's ``_raw_elements``; a type that another
  extends stays open, as xsi:type subtypes add members to their base (best effort).

Named complex types land in ``defs`` once and are referenced by ``$ref``, so recursive types
terminate; an anonymous type met again inside itself becomes a def too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from zeep import xsd

from facade.soap.facets import EMPTY, FacetIndex, Facets, Scope, member_key, scope_of
from facade.soap.zeep_private import SIMPLE_CONTENT_KEY, nested_particles, soapenc_array_attribute
from facade.xsdtypes import ANY_SIMPLE_TYPE, INTEGER_RANGES, builtin_name

EXACT_JSON_INTEGER = 2**53
"""Integers beyond this (either sign) may not survive a JSON parser that reads doubles."""
_DIGITS = r"^[+-]?[0-9]+$"

Schema = dict[str, Any]

DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
XML_TEXT_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]*$"
"""Text XML 1.0 can carry: no control characters but tab, LF and CR, no U+FFFE/U+FFFF.
A string holding one cannot be sent in an envelope (the facade answers 422), so the
contract says so and clients and fuzzers learn it from the schema."""
_NULL: Schema = {"type": "null"}
_ANY_ATTRIBUTES: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
_NOT_EMPTY: Schema = {"not": {"enum": [None, []]}}
_TEMPORAL = {"date": "date", "dateTime": "date-time", "time": "time", "duration": "duration"}
_HEX = "^([0-9a-fA-F]{2})*$"
# builtin local name -> (schema, kind); the kind says which facets apply
_BUILTINS: dict[str, tuple[Schema, str]] = {
    "boolean": ({"type": "boolean"}, "boolean"),
    "float": ({"type": "number"}, "number"),
    "double": ({"type": "number"}, "number"),
    "decimal": ({"type": "string", "pattern": DECIMAL_PATTERN}, "decimal"),
    "anyURI": ({"type": "string", "format": "uri"}, "string"),
    "base64Binary": ({"type": "string", "contentEncoding": "base64"}, "base64"),
    "hexBinary": ({"type": "string", "contentEncoding": "base16", "pattern": _HEX}, "hex"),
    **{name: ({"type": "string", "format": f}, "temporal") for name, f in _TEMPORAL.items()},
}
_NAME_ESCAPES = {"i": "_:A-Za-z", "c": "-._:A-Za-z0-9"}  # XSD's \i and \c, as class bodies


class SchemaBuilder:
    """Builds JSON Schemas for the elements and types of one loaded WSDL.

    >>> builder = SchemaBuilder(FacetIndex.from_documents(loaded.documents))
    >>> builder.message(operation.input.body)
    {'type': 'object', 'properties': {...}, 'required': [...]}
    >>> builder.defs  # named complex types, referenced as {"$ref": "#/$defs/<Name>"}
    """

    def __init__(self, facets: FacetIndex, ref_prefix: str = "#/$defs/") -> None:
        self._facets = facets
        self._prefix = ref_prefix
        self._defs: dict[str, Schema] = {}
        self._names: dict[object, str] = {}  # QName text, or id of an anonymous type -> def
        self._building: set[int] = set()  # anonymous complex types being built
        self._built: dict[int, tuple[object, Schema]] = {}  # holds the type, so ids stay

    @property
    def defs(self) -> dict[str, Schema]:
        return dict(self._defs)

    def element(self, element: xsd.Element) -> Schema:
        """The JSON value of one element (an array when it repeats), not wrapped in its name."""
        return self._element(element, None)[0]

    def type(self, xsd_type: object) -> Schema:
        return self._value(xsd_type, None, self._facets.for_type(xsd_type))

    def message(self, body: xsd.Element | None) -> Schema:
        """One property per child of an operation's input or output body element.

        No body gives an empty closed object; a body of a simple type gives ``{"value": …}``,
        as zeep takes it as the ``value`` keyword.
        """
        if body is None:
            return {"type": "object", "properties": {}, "additionalProperties": False}
        facets = self._facets.for_element(body, None)
        if not isinstance(body.type, xsd.ComplexType):
            value = self._value(body.type, None, facets)
            return {"type": "object", "properties": {"value": value}, "required": ["value"]}
        schema = self._complex(body.type, member_key(body, None), facets)
        if "$ref" in schema:  # a named wrapper type: its members, inline
            schema = dict(self._defs[schema["$ref"].removeprefix(self._prefix)])
        return schema

    # elements and complex types

    def _element(self, element: xsd.Element, scope: Scope | None) -> tuple[Schema, bool]:
        """The property schema of an element, and whether the property is required."""
        facets = self._facets.for_element(element, scope)
        value = self._value(element.type, member_key(element, scope), facets)
        if element.nillable or self._accepts_empty(value):
            value = _nullable(value)
        if element.accepts_multiple:
            return _array(value, element), element.min_occurs > 0
        return (_nullable(value) if element.min_occurs == 0 else value), element.min_occurs > 0

    def _value(self, xsd_type: object, scope: Scope | None, facets: Facets) -> Schema:
        if isinstance(xsd_type, xsd.ComplexType):
            return self._complex(xsd_type, scope, facets)
        if isinstance(xsd_type, xsd.AnySimpleType):
            return self._simple(xsd_type, facets)
        return {}  # xs:anyType, or no type at all

    def _complex(self, xsd_type: xsd.ComplexType, scope: Scope | None, facets: Facets) -> Schema:
        if scope_of(xsd_type) is not None:
            return self._ref(xsd_type.qname.text, xsd_type)
        key = id(xsd_type)
        if key in self._built:
            return self._built[key][1]
        if key in self._building:  # met again inside itself, through refs to a global element
            return self._ref(key, xsd_type)
        self._building.add(key)
        schema = self._complex_body(xsd_type, scope, facets)
        self._building.discard(key)
        if key in self._names:
            self._defs[self._names[key]] = schema
            schema = {"$ref": self._prefix + self._names[key]}
        self._built[key] = (xsd_type, schema)
        return schema

    def _ref(self, key: object, xsd_type: xsd.ComplexType) -> Schema:
        """A $ref to the def of a type; a named type's def is built the first time."""
        if key not in self._names:
            local = xsd_type.qname.localname if xsd_type.qname is not None else "Anonymous"
            base = name = re.sub(r"[^A-Za-z0-9._-]", "_", local) or "Type"
            counter = 1
            while name in self._defs:
                counter += 1
                name = f"{base}{counter}"
            self._names[key] = name
            self._defs[name] = {}  # reserved: recursion finds the name taken
            if isinstance(key, str):  # a named type; an anonymous one is filled by _complex
                facets = self._facets.for_type(xsd_type)
                self._defs[name] = self._complex_body(xsd_type, scope_of(xsd_type), facets)
        return {"$ref": self._prefix + self._names[key]}

    def _complex_body(
        self, xsd_type: xsd.ComplexType, scope: Scope | None, facets: Facets
    ) -> Schema:
        if soapenc_array_attribute(xsd_type) is not None:
            return self._soapenc_array(xsd_type)
        obj = _Object(closed=not self._facets.is_extended(xsd_type))
        for particle_name, content in nested_particles(xsd_type):
            name = particle_name or SIMPLE_CONTENT_KEY  # zeep names every particle of a type
            if isinstance(content, xsd.Element):  # simple content, or an extension of anyType
                facets = self._facets.for_type(content.type) if facets == EMPTY else facets
                obj.add(name, self._value(content.type, None, facets), required=True)
            elif content.accepts_multiple:
                obj.add(name, self._repeat(content, scope), content.min_occurs > 0)
            else:
                self._flatten(obj, content, scope)
        for name, attribute in xsd_type.attributes:
            if isinstance(attribute, xsd.AnyAttribute):  # zeep gives a dict of the others
                obj.add(name, _nullable(_ANY_ATTRIBUTES), False)
                continue
            value = self._value(attribute.type, None, self._facets.for_element(attribute, scope))
            obj.add(name, value if attribute.required else _nullable(value), attribute.required)
        return obj.schema()

    def _flatten(self, obj: _Object, indicator: Any, scope: Scope | None) -> None:
        """Add the members of a sequence, all, choice or group that does not repeat."""
        if isinstance(indicator, xsd.Group):
            self._flatten(obj, indicator.child, scope)
        elif isinstance(indicator, xsd.Choice):
            obj.choose(self._branches(indicator, scope), optional=indicator.min_occurs == 0)
        else:
            for name, child in nested_particles(indicator):
                self._particle(obj, name, child, scope)

    def _particle(self, obj: _Object, name: str | None, child: Any, scope: Scope | None) -> None:
        if isinstance(child, xsd.Element):
            obj.add(name or child.attr_name, *self._element(child, scope))
        elif isinstance(child, xsd.Any):
            obj.add(
                name or SIMPLE_CONTENT_KEY,
                _array({}, child) if child.accepts_multiple else {},
                False,
            )
        elif name is not None:  # a sequence, choice or group that repeats
            obj.add(name, self._repeat(child, scope), child.min_occurs > 0)
        else:
            self._flatten(obj, child, scope)

    def _branches(self, choice: xsd.Choice, scope: Scope | None) -> list[_Object]:
        branches = []
        for name, child in nested_particles(choice):
            branch = _Object()
            self._particle(branch, name, child, scope)
            if name is not None:  # a single member: needed in its branch (zeep made it optional)
                branch.required = [name]
            branches.append(branch)
        return branches

    def _repeat(self, indicator: Any, scope: Scope | None) -> Schema:
        item = _Object()
        if isinstance(indicator, xsd.Choice):
            item.choose(self._branches(indicator, scope), optional=False)
        else:
            self._flatten(item, indicator, scope)
        return _array(item.schema(), indicator)

    def _soapenc_array(self, xsd_type: xsd.ComplexType) -> Schema:
        item_type = getattr(soapenc_array_attribute(xsd_type), "array_type", None)
        if item_type is None:  # no wsdl:arrayType: the type of the repeating element, if any
            members = [e.type for _, e in xsd_type.elements if isinstance(e, xsd.Element)]
            item_type = members[0] if members else None
        return {"type": "array", "items": self.type(item_type)}

    def _accepts_empty(self, schema: Schema) -> bool:
        if "$ref" in schema:
            schema = self._defs.get(schema["$ref"].removeprefix(self._prefix), {})
        constrained = schema.keys() & {"required", "oneOf", "anyOf", "allOf"}
        return schema.get("type") == "object" and not constrained

    # simple types

    def _simple(self, xsd_type: xsd.AnySimpleType, facets: Facets) -> Schema:
        if isinstance(xsd_type, xsd.ListType):
            item = xsd_type.item_type  # zeep leaves a QName there for a restricted list type
            schema: Schema = {"type": "array", "items": self._member(item, facets.item)}
            return schema | _lengths(facets, "minItems", "maxItems", factor=1)
        if isinstance(xsd_type, xsd.UnionType):
            members = xsd_type.item_types
            known = facets.members if len(facets.members) == len(members) else [None] * len(members)
            schemas = [self._member(m, f) for m, f in zip(members, known, strict=True)]
            if xsd_type.item_class is None:  # no common base: zeep gives the text
                schemas.append({"type": "string"})
            return {"anyOf": schemas}
        name = builtin_name(xsd_type)
        if name == ANY_SIMPLE_TYPE:
            return {}
        if name in INTEGER_RANGES:
            bounds = zip(("minimum", "maximum"), INTEGER_RANGES[name], strict=True)
            base, kind = _integer(name) | {k: v for k, v in bounds if v is not None}, "integer"
        else:
            base, kind = _BUILTINS.get(name, ({"type": "string"}, "string"))
        return _restrict(base, kind, facets)

    def _member(self, xsd_type: object, known: Facets | None) -> Schema:
        """A list item or union member type: facets from its declaration, else by QName."""
        if not isinstance(xsd_type, xsd.AnySimpleType):
            return {}
        return self._simple(xsd_type, self._facets.for_type(xsd_type) if known is None else known)


@dataclass
class _Object:
    """An object schema under construction: properties, required names, choice constraints."""

    properties: dict[str, Schema] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    constraints: list[Schema] = field(default_factory=list)
    closed: bool = True
    """No other members: the request walker refuses unknown fields and zeep reads none into
    replies. A base type that others extend stays open for its subtypes' members."""

    def add(self, name: str, schema: Schema, required: bool) -> None:
        self.properties[name] = schema
        if required and name not in self.required:
            self.required.append(name)

    def choose(self, branches: list[_Object], optional: bool) -> None:
        for branch in branches:  # zeep sets the members of the branches not taken to None
            self.properties.update({k: _nullable(v) for k, v in branch.properties.items()})
        constraint = _one_of(branches, optional)
        if constraint:
            self.constraints.append(constraint)

    def schema(self) -> Schema:
        schema: Schema = {"type": "object", "properties": self.properties}
        if self.closed:
            schema["additionalProperties"] = False
        if self.required:
            schema["required"] = self.required
        if len(self.constraints) == 1:
            schema.update(self.constraints[0])
        elif self.constraints:
            schema["allOf"] = self.constraints
        return schema


def _one_of(branches: list[_Object], optional: bool) -> Schema | None:
    """Exactly one branch present; branches sharing a member name fall back to anyOf."""
    names = [set(b.properties) for b in branches]
    everything = sorted(set().union(*names))
    alternatives = []
    none_allowed = optional
    for i, branch in enumerate(branches):
        if not names[i]:
            none_allowed = True
            continue
        alternative = _present(*branch.required)
        if not branch.required:  # a branch of optional members: one of them, or nothing
            none_allowed = True
            alternative = {"anyOf": [_present(p) for p in sorted(names[i])]}
        others = set().union(*(n for j, n in enumerate(names) if j != i)) - names[i]
        if others:
            alternative["not"] = {"anyOf": [_present(p) for p in sorted(others)]}
        if branch.constraints:
            alternative["allOf"] = branch.constraints
        alternatives.append(alternative)
    if none_allowed and everything:
        alternatives.append({"not": {"anyOf": [_present(p) for p in everything]}})
    overlap = any(a & b for i, a in enumerate(names) for b in names[i + 1 :])
    return {"anyOf" if overlap else "oneOf": alternatives} if alternatives else None


def _present(*names: str) -> Schema:
    """The members are there, neither null nor an empty list (zeep's "not chosen")."""
    return {"required": list(names), "properties": dict.fromkeys(names, _NOT_EMPTY)}


def _array(items: Schema, particle: Any) -> Schema:
    schema: Schema = {"type": "array", "items": items}
    if particle.min_occurs > 0:
        schema["minItems"] = particle.min_occurs
    if isinstance(particle.max_occurs, int):
        schema["maxItems"] = particle.max_occurs
    return schema


def _integer(name: str) -> Schema:
    """An integer; for types whose values may pass 2^53 (xsd:long, xsd:integer...), also its
    digits as a string, since many JSON parsers cannot carry such a number exactly."""
    low, high = INTEGER_RANGES[name]
    if (low is None or low < -EXACT_JSON_INTEGER) or (high is None or high > EXACT_JSON_INTEGER):
        return {"type": ["integer", "string"], "pattern": _DIGITS}
    return {"type": "integer"}


def _nullable(schema: Schema) -> Schema:
    if not schema or _NULL in schema.get("anyOf", ()):
        return schema
    return {"anyOf": [schema, _NULL]}


def _restrict(base: Schema, kind: str, facets: Facets) -> Schema:
    schema = dict(base)
    if facets.enumeration:
        schema["enum"] = list(dict.fromkeys(_literal(v, kind) for v in facets.enumeration))
    if kind in ("integer", "number"):
        _bound(schema, facets, integer=kind == "integer")
    if kind == "decimal" and facets.fraction_digits is not None:
        places = facets.fraction_digits
        schema["pattern"] = r"^-?\d+$" if places == 0 else rf"^-?\d+(\.\d{{1,{places}}})?$"
    if kind == "decimal" and facets.total_digits is not None:  # digits, a sign and a point
        schema["maxLength"] = facets.total_digits + 1 + (facets.fraction_digits != 0)
    if kind in ("string", "hex"):  # hexBinary lengths count octets
        schema |= _lengths(facets, "minLength", "maxLength", factor=2 if kind == "hex" else 1)
    patterns = [schema.pop("pattern")] if "pattern" in schema else []
    patterns += [p for p in map(_ecma_pattern, facets.patterns) if p]
    if kind == "string" and not facets.enumeration and not patterns:
        patterns.append(XML_TEXT_PATTERN)  # an XSD pattern says what the text may be itself
    if patterns:
        schema["pattern"] = patterns[0]
    if len(patterns) > 1:
        schema["allOf"] = [{"pattern": p} for p in patterns[1:]]
    return schema


def _lengths(facets: Facets, low: str, high: str, factor: int) -> Schema:
    exact = facets.length
    pairs = ((low, facets.min_length), (high, facets.max_length))
    bounds = ((key, value if exact is None else exact) for key, value in pairs)
    return {key: value * factor for key, value in bounds if value is not None}


def _bound(schema: Schema, facets: Facets, integer: bool) -> None:
    low = [schema.get("minimum"), _number(facets.min_inclusive, integer)]
    high = [schema.get("maximum"), _number(facets.max_inclusive, integer)]
    if integer and facets.total_digits is not None:
        low.append(-(10**facets.total_digits - 1))
        high.append(10**facets.total_digits - 1)
    for key, values, pick in (("minimum", low, max), ("maximum", high, min)):
        if any(v is not None for v in values):
            schema[key] = pick(v for v in values if v is not None)
    for key, text in (
        ("exclusiveMinimum", facets.min_exclusive),
        ("exclusiveMaximum", facets.max_exclusive),
    ):
        if _number(text, integer) is not None:
            schema[key] = _number(text, integer)


def _number(text: str | None, integer: bool) -> int | float | None:
    try:
        value = Decimal(text.strip()) if text is not None else None
    except InvalidOperation:
        return None
    if value is None or not value.is_finite():
        return None
    return int(value) if integer and value == value.to_integral_value() else float(value)


def _literal(text: str, kind: str) -> Any:
    """An enumeration value as zeep gives it in JSON: numbers and booleans are typed."""
    if kind == "boolean":
        return text.strip() in ("true", "1")
    number = _number(text, kind == "integer") if kind in ("integer", "number") else None
    return text if number is None else number


def _ecma_pattern(source: str) -> str | None:
    """An XSD regex as an anchored ECMA-262 one, or None when it has no equivalent.

    XSD patterns match the whole value and know ``\\i``/``\\c`` but not ``^``/``$``;
    Unicode blocks (``\\p{IsBasicLatin}``) and class subtraction (``[a-z-[aeiou]]``) are
    dropped rather than guessed.
    """
    out, in_class = [], False
    for piece in re.findall(r"\\.|.", source, re.DOTALL):  # one character, or an escape pair
        if piece[0] == "\\" and piece[1].lower() in _NAME_ESCAPES:
            body = _NAME_ESCAPES[piece[1].lower()]
            if piece[1].isupper() and in_class:
                return None
            piece = f"[^{body}]" if piece[1].isupper() else body if in_class else f"[{body}]"
        elif piece in ("\\p", "\\P") or (piece == "[" and in_class):
            return None
        elif piece in ("[", "]"):
            in_class = piece == "["
        elif piece in ("^", "$") and not in_class:
            piece = "\\" + piece
        out.append(piece)
    pattern = f"^(?:{''.join(out)})$"
    try:
        re.compile(pattern)
    except re.error:
        return None
    return pattern
