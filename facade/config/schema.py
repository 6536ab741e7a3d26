"""The JSON Schema of facade.yaml, generated from the models, shipped for editors.

python -m facade.config.schema   # rewrite facade/schemas/facade.schema.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from facade.config.models import SettingsFile

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "facade.schema.json"
SCHEMA_ID = "urn:facade:settings-schema"


def settings_json_schema() -> dict[str, Any]:
    schema = SettingsFile.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "Strangler facade settings file (facade.yaml)",
    }


def render() -> bytes:
    return orjson.dumps(settings_json_schema(), option=orjson.OPT_INDENT_2) + b"\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_bytes(render())
    print(f"wrote {SCHEMA_PATH}")
