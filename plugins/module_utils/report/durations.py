"""Durations as people write them (``7d``, ``12h``) and times as the records write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"^\s*(\d+)\s*([wdhms])\s*$")


def parse_duration(value: str | int) -> int:
    """Seconds in ``7d``, ``12h``, ``30m``, ``90s`` or ``2w``; ``0`` (or ``"0"``) is zero.

    A bare number other than 0 is refused: days and seconds are both plausible readings.
    """
    text = str(value).strip()
    if text == "0":
        return 0
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"duration {value!r} needs a unit (w, d, h, m, s), e.g. 7d or 12h; 0 turns it off")
    return int(match[1]) * UNITS[match[2]]


def compact(seconds: int) -> str:
    """The shortest exact spelling of ``seconds`` in one unit: 604800 -> ``1w``, 0 -> ``0``."""
    if seconds == 0:
        return "0"
    unit = next(u for u, size in UNITS.items() if seconds % size == 0)
    return f"{seconds // UNITS[unit]}{unit}"


def humane(seconds: float) -> str:
    """An age as people say it, rounded down to its largest unit: ``3 days``, ``5 hours``, ``40 seconds``."""
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            amount = int(seconds // size)
            return f"{amount} {name}{'s' if amount != 1 else ''}"
    amount = max(int(seconds), 0)
    return f"{amount} second{'s' if amount != 1 else ''}"


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time (``2026-12-03T09:00:00Z``) as an aware UTC datetime; None if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def iso(moment: datetime) -> str:
    """``2026-12-03T09:00:00Z``: the form the records use."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def readable(moment: datetime) -> str:
    """``2026-12-03 09:00 UTC``: for people."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
