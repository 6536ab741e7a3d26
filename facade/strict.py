"""The base of every section of a file the facade reads (mappings, facade.yaml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are refused, so a misspelt setting is an error with its place rather
    than a default silently kept; a loaded section never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
