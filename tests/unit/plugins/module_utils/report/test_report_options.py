"""The report's options and the durations they are written in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.report.durations import (
    compact,
    humane,
    parse_duration,
    parse_time,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report.options import Options


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("7d", 604800),
        ("12h", 43200),
        ("30m", 1800),
        ("90s", 90),
        ("2w", 1209600),
        ("0", 0),
        (0, 0),
        (" 3d ", 259200),
    ],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["7", 7, "7 days", "d", "-1d", "1.5d", ""])
def test_durations_need_a_unit(text: str | int) -> None:
    with pytest.raises(ValueError, match="needs a unit"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(604800, "1w"), (86400 * 3, "3d"), (5400, "90m"), (61, "61s"), (0, "0")]
)
def test_compact(seconds: int, text: str) -> None:
    assert compact(seconds) == text
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 seconds"), (1, "1 second"), (59, "59 seconds"), (3600, "1 hour"), (200000, "2 days")],
)
def test_humane(seconds: int, text: str) -> None:
    assert humane(seconds) == text


def test_times() -> None:
    assert parse_time("2026-12-03T09:00:00Z") == datetime(2026, 12, 3, 9, tzinfo=UTC)
    assert parse_time("2026-12-03T10:00:00+01:00") == datetime(2026, 12, 3, 9, tzinfo=UTC)
    assert parse_time("2026-12-03T09:00:00") == datetime(2026, 12, 3, 9, tzinfo=UTC)  # naive: UTC
    assert parse_time("yesterday") is None
    assert parse_time(None) is None
    assert parse_time(1733216400) is None
    assert parse_time("2026-12-03T09:00:00Z").tzinfo is UTC  # type: ignore[union-attr]


def test_default_options() -> None:
    assert Options.parse() == Options(fail_on=("fail", "drift", "error", "unreachable"), max_age=604800)


def test_fail_on_from_a_list_or_a_comma_separated_string() -> None:
    assert Options.parse(fail_on="stale, fail").fail_on == ("fail", "stale")
    assert Options.parse(fail_on=["never_assessed", "not_assessed"]).fail_on == (
        "not_assessed",
        "never_assessed",
    )
    assert Options.parse(fail_on=[]).fail_on == ()


@pytest.mark.parametrize("bad", [["pass"], ["failed"], "fail,bogus"])
def test_fail_on_refuses_unknown_statuses_and_pass(bad: str | list[str]) -> None:
    with pytest.raises(ValueError, match=r"fail_on: .* not among"):
        Options.parse(fail_on=bad)
