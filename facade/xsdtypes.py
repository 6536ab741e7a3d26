"""The XSD built-in simple types: which one a zeep type stands for, and integer ranges.

Coercion, the JSON Schemas and the sample values all speak of types by their built-in
name (`int`, `date`, `decimal`), so the name and the facts about it live here once (how
zeep marks a built-in is in `facade.soap.zeep_private`):

    builtin_name(client.get_type("{urn:crm}CustomerId"))   # 'long' for a restricted long
    INTEGER_RANGES["unsignedByte"]                          # (0, 255)
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from facade.soap.zeep_private import builtin_qname

ANY_SIMPLE_TYPE = "anySimpleType"
"""The name of a simple type that derives from no particular built-in."""

INTEGER_RANGES: dict[str, tuple[int | None, int | None]] = {
    "integer": (None, None),
    "long": (-(2**63), 2**63 - 1),
    "int": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-(2**7), 2**7 - 1),
    "nonNegativeInteger": (0, None),
    "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0),
    "negativeInteger": (None, -1),
    "unsignedLong": (0, 2**64 - 1),
    "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1),
    "unsignedByte": (0, 2**8 - 1),
}
"""Lowest and highest value of each integer built-in; None where XSD sets no bound."""


TEXT_TYPES = frozenset(
    {"string", "normalizedString", "token", "language", "Name", "NCName", "NMTOKEN", "ID"}
    | {"IDREF", "ENTITY", "anyURI", "base64Binary", "hexBinary", ANY_SIMPLE_TYPE}
)
"""Built-ins whose empty text is a value (the empty string; no bytes for the binary ones),
not a missing one."""


def builtin_name(xsd_type: object) -> str:
    """The XSD built-in a zeep simple type derives from, e.g. 'int' for a restricted int.

    zeep models a restriction as a subclass of the built-in's class, so the nearest
    class of zeep's builtins module that declares a name is the answer.
    """
    cls = type(xsd_type)  # which alone decides the answer: it is worked out once per class
    name = _names.get(cls)
    if name is None:
        qname = builtin_qname(xsd_type)
        name = _names[cls] = ANY_SIMPLE_TYPE if qname is None else str(qname.localname)
    return name


_names: WeakKeyDictionary[type, str] = WeakKeyDictionary()
"""The answer per zeep type class, asked on every request (each argument is coerced by
it); weak, so a reload's replaced classes go with their schema."""
