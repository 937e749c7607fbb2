"""The report's options: which statuses fail it, and when a record is too old to trust."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ansible_collections.rampart.hardening.plugins.module_utils.report.durations import parse_duration
from ansible_collections.rampart.hardening.plugins.module_utils.report.statuses import (
    DEFAULT_FAIL_ON,
    STATUSES,
)

DEFAULT_MAX_AGE = "7d"


@dataclass(frozen=True)
class Options:
    fail_on: tuple[str, ...] = DEFAULT_FAIL_ON
    max_age: int = parse_duration(DEFAULT_MAX_AGE)  # seconds; 0: records never age out

    @classmethod
    def parse(cls, fail_on: Iterable[str] | str | None = None, max_age: str | int | None = None) -> Options:
        """Options from what a user wrote. Raises ValueError naming the bad value."""
        chosen = DEFAULT_FAIL_ON if fail_on is None else _fail_on(fail_on)
        return cls(fail_on=chosen, max_age=parse_duration(DEFAULT_MAX_AGE if max_age is None else max_age))


def _fail_on(value: Iterable[str] | str) -> tuple[str, ...]:
    words = value.split(",") if isinstance(value, str) else list(value)
    wanted = {str(w).strip() for w in words if str(w).strip()}
    allowed = [s for s in STATUSES if s != "pass"]
    unknown = sorted(wanted - set(allowed))
    if unknown:
        raise ValueError(f"fail_on: {', '.join(unknown)} not among {', '.join(allowed)}")
    return tuple(s for s in allowed if s in wanted)
