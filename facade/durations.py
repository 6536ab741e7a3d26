"""Durations as people write them in mapping files and settings.

seconds("10m")    # 600.0
seconds("30s")    # 30.0
seconds("1.5h")   # 5400.0
seconds("7d")     # 604800.0
seconds("2")      # 2.0 (a bare number is seconds)
"""

from __future__ import annotations

import math
import re

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def seconds(text: str | float) -> float:
    """The duration in seconds; ValueError naming the accepted forms when it is not one."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _DURATION.match(str(text))
        if match is None:
            raise ValueError(
                f"{text!r} is not a duration; write a number with a unit: 500ms, 30s, 10m, 2h, 7d"
            )
        value = float(match.group(1)) * UNITS[match.group(2) or "s"]
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{text!r} must be a duration greater than 0")
    return value
