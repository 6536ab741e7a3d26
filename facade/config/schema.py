"""The JSON Schema of facade.yaml, generated from the models, shipped for editors.

python -m facade.config.schema   # rewrite facade/schemas/facade.schema.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from facade.config.models import SettingsFile
from facade.mapping.schema import model_json_schema, rendered

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "facade.schema.json"
SCHEMA_ID = "urn:facade:settings-schema"


def settings_json_schema() -> dict[str, Any]:
    return model_json_schema(
        SettingsFile, SCHEMA_ID, "Strangler facade settings file (facade.yaml)"
    )


def render() -> bytes:
    return rendered(settings_json_schema())


if __name__ == "__main__":
    SCHEMA_PATH.write_bytes(render())
    print(f"wrote {SCHEMA_PATH}")
