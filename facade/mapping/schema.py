"""The JSON Schema of the mapping format, generated from the models, shipped for editors.

    python -m facade.mapping.schema   # rewrite facade/schemas/mapping.schema.json

Point an editor at it (VS Code's YAML extension: `# yaml-language-server: $schema=...` on
the first line of a mapping) to get completion and checks while typing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from facade.mapping.models import MappingFile

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "mapping.schema.json"
SCHEMA_ID = "urn:facade:mapping-schema"


def mapping_json_schema() -> dict[str, Any]:
    return model_json_schema(MappingFile, SCHEMA_ID, "Strangler facade mapping file")


def render() -> bytes:
    return rendered(mapping_json_schema())


def model_json_schema(model: type[BaseModel], schema_id: str, title: str) -> dict[str, Any]:
    """A model's JSON Schema as the project ships it: draft 2020-12, with an id and title
    (the mapping format's and facade.yaml's alike)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        **model.model_json_schema(),
        "title": title,
    }


def rendered(schema: dict[str, Any]) -> bytes:
    """The file's bytes: indented, ending with a newline, so a regenerated file diffs."""
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2) + b"\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_bytes(render())
    print(f"wrote {SCHEMA_PATH}")
