"""The JSON Schema of the mapping format, generated from the models, shipped for editors.

    python -m facade.mapping.schema   # rewrite facade/schemas/mapping.schema.json

Point an editor at it (VS Code's YAML extension: `# yaml-language-server: $schema=...` on
the first line of a mapping) to get completion and checks while typing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from facade.mapping.models import MappingFile

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "mapping.schema.json"
SCHEMA_ID = "urn:facade:mapping-schema"


def mapping_json_schema() -> dict[str, Any]:
    schema = MappingFile.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "Strangler facade mapping file",
    }


def render() -> bytes:
    return orjson.dumps(mapping_json_schema(), option=orjson.OPT_INDENT_2) + b"\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_bytes(render())
    print(f"wrote {SCHEMA_PATH}")
