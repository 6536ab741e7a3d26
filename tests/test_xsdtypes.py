"""The XSD built-in types: the name a zeep type stands for, and the integer ranges."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from zeep.xsd.types import builtins

from facade.soap.loader import load_wsdl
from facade.xsdtypes import ANY_SIMPLE_TYPE, INTEGER_RANGES, builtin_name

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("xsd_type", "expected"),
    [
        (builtins.Integer(), "integer"),
        (builtins.Int(), "int"),
        (builtins.UnsignedByte(), "unsignedByte"),
        (builtins.Decimal(), "decimal"),
        (builtins.String(), "string"),
        (builtins.Token(), "token"),
        (builtins.DateTime(), "dateTime"),
        (builtins.Base64Binary(), "base64Binary"),
        (builtins.AnySimpleType(), "anySimpleType"),
    ],
)
def test_builtin_name(xsd_type: object, expected: str) -> None:
    assert builtin_name(xsd_type) == expected


def test_builtin_name_of_a_restricted_schema_type() -> None:
    client = load_wsdl(ROOT / "wsdl" / "crm.wsdl").client
    status = client.get_type("{http://example.com/crm}CustomerStatus")
    assert builtin_name(status) == "string"
    assert (
        builtin_name(
            client.get_element("{http://example.com/crm}GetOrder").type.elements[0][1].type
        )
        == "long"
    )


def test_integer_ranges_nest() -> None:
    assert INTEGER_RANGES["integer"] == (None, None)
    for bits, signed, unsigned in [(8, "byte", "unsignedByte"), (64, "long", "unsignedLong")]:
        assert INTEGER_RANGES[signed] == (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        assert INTEGER_RANGES[unsigned] == (0, 2**bits - 1)
    assert INTEGER_RANGES["positiveInteger"] == (1, None)
    assert INTEGER_RANGES["negativeInteger"] == (None, -1)


def test_the_module_depends_only_on_the_zeep_seam() -> None:
    """Coercion, schemas and samples import it; it imports nothing of theirs."""
    source = (ROOT / "facade" / "xsdtypes.py").read_text(encoding="utf-8")
    imports = [line for line in source.splitlines() if "facade" in line and "import" in line]
    assert imports == ["from facade.soap.zeep_private import builtin_qname"]
    assert ANY_SIMPLE_TYPE == "anySimpleType"


def test_the_name_is_remembered_per_class_and_forgotten_with_it() -> None:
    """Asked on every request, answered once per zeep class; a reload's replaced classes
    are not kept alive by it."""
    restricted = type("Restricted", (builtins.UnsignedShort,), {})
    assert builtin_name(restricted()) == "unsignedShort"
    assert builtin_name(restricted()) == "unsignedShort"
    assert builtin_name(builtins.Short()) == "short"
    gone = weakref.ref(restricted)
    del restricted
    gc.collect()
    assert gone() is None
