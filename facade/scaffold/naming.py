"""Names: words of an operation name, kebab-case, plurals, query parameter names.

split_words("GetNAICSByID")   # ['Get', 'NAICS', 'By', 'ID']
kebab("GetCustomerOrders")    # 'get-customer-orders'
pluralize("category")         # 'categories'
"""

from __future__ import annotations

import itertools
import json
import re

_WORD = re.compile(r"[A-Z]{2,}s(?![a-z])|[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
UNCOUNTABLE = frozenset(
    ("data", "info", "information", "metadata", "weather", "media", "feedback", "software")
    + ("equipment", "staff", "series", "species", "news")
)


def split_words(name: str) -> list[str]:
    """`GetNAICSByID` -> ['Get', 'NAICS', 'By', 'ID']; `GET_ITEMS` -> ['GET', 'ITEMS']."""
    return _WORD.findall(name)


def kebab(name: str) -> str:
    """`GetCustomerOrders` -> `get-customer-orders` (ASCII letters and digits only)."""
    return "-".join(word.lower() for word in split_words(name))


def pluralize(word: str) -> str:
    """A simple English plural of a lower-case word; words that look plural stay as they are."""
    if word in UNCOUNTABLE or not word[-1:].isalpha():
        return word
    if word.endswith("is") and len(word) > 3:
        return word[:-2] + "es"
    if word.endswith(("ss", "us", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("s"):
        return word
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    return word + "s"


def query_name(name: str) -> str:
    """A query parameter name for an argument: `CustomerId` -> `customerId`, `ID` -> `id`."""
    if not name.isascii():
        return name
    caps = re.match(r"[A-Z]+", name)
    if caps is None or not any(c.islower() for c in name):
        result = name if caps is None else ""  # ALL_CAPS names are camel-cased from their words
    else:
        run = caps.group()
        tail = name[len(run) :]
        if len(run) == 1 or (tail[:1] == "s" and not tail[1:2].islower()):
            result = run.lower() + tail
        else:
            result = run[:-1].lower() + run[-1] + tail
    if _IDENTIFIER.match(result):
        return result
    words = split_words(name)
    camel = "".join([words[0].lower(), *(w.capitalize() for w in words[1:])]) if words else ""
    return camel if _IDENTIFIER.match(camel) else name


def field_expression(root: str, name: str) -> str:
    """`body.Customer`, or `body."first-name"` when the name needs JMESPath quoting."""
    if _IDENTIFIER.match(name):
        return f"{root}.{name}"
    return f"{root}.{json.dumps(name, ensure_ascii=False)}"


def unique_name(operation: str, names: set[str]) -> str:
    """The kebab-case operation name; `-2`, `-3`... when another operation spells it alike."""
    base = kebab(operation) or "operation"
    numbered = (f"{base}-{n}" for n in itertools.count(2))
    name = next(c for c in itertools.chain([base], numbered) if c not in names)
    names.add(name)
    return name
