"""Reports over time: the history's file names and the changes since the previous report."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.report import as_json
from ansible_collections.rampart.hardening.plugins.module_utils.report.history import (
    compare,
    entry_name,
    previous_entry,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report.model import Changes, Report


@pytest.fixture
def previous(fleet: Report) -> dict[str, Any]:
    """The fleet's own report.json, to edit into what the previous report said."""
    return copy.deepcopy(as_json.to_dict(fleet))


def was(
    previous: dict[str, Any], host: str, control: str, status: str, record_status: str | None = None
) -> None:
    previous["hosts"][host]["controls"][control].update(status=status, record_status=record_status or status)


def found(changes: Changes) -> dict[str, list[tuple[str, str]]]:
    return {
        kind: [(c.host, c.control.id) for c in getattr(changes, kind)]
        for kind in ("newly_failing", "fixed", "newly_stale", "other")
    }


def test_entry_names_sort_by_time() -> None:
    assert entry_name(datetime(2026, 12, 3, 9, 5, 7, tzinfo=UTC)) == "20261203T090507Z.json"


def test_the_previous_entry_is_the_newest_earlier_one() -> None:
    names = ["20261201T000000Z.json", "20261202T120000Z.json", "20261203T100000Z.json", "notes.json", "x.txt"]
    assert previous_entry(names, datetime(2026, 12, 3, 10, tzinfo=UTC)) == "20261202T120000Z.json"
    assert previous_entry(names, datetime(2026, 12, 1, 0, tzinfo=UTC)) is None
    assert previous_entry([], datetime(2026, 12, 1, tzinfo=UTC)) is None


def test_no_previous_report(fleet: Report) -> None:
    changes = compare(fleet, None)
    assert changes == Changes()
    assert changes.note == "no earlier report in the history: nothing to compare with"


def test_the_same_report_has_no_changes(fleet: Report, previous: dict[str, Any]) -> None:
    changes = compare(fleet, previous, "history/x.json")
    assert found(changes) == {"newly_failing": [], "fixed": [], "newly_stale": [], "other": []}
    assert (changes.note, changes.previous_file, changes.previous) == ("", "history/x.json", fleet.generated)


def test_newly_failing_fixed_newly_stale_and_other(fleet: Report, previous: dict[str, Any]) -> None:
    was(previous, "web-01", "RAC-04", "pass")  # now fail
    was(previous, "web-01", "RAC-02", "fail")  # now pass
    was(previous, "web-01", "AUD-06", "pass")  # now stale (pass)
    was(previous, "web-01", "RAC-03", "pass")  # now not applicable
    assert found(compare(fleet, previous)) == {
        "newly_failing": [("web-01", "RAC-04")],
        "fixed": [("web-01", "RAC-02")],
        "newly_stale": [("web-01", "AUD-06")],
        "other": [("web-01", "RAC-03")],
    }


def test_a_failure_that_turns_stale_is_not_fixed(fleet: Report, previous: dict[str, Any]) -> None:
    was(previous, "web-01", "AUD-06", "fail")  # now stale (pass): no fresh record says it holds
    assert found(compare(fleet, previous))["newly_stale"] == [("web-01", "AUD-06")]
    assert found(compare(fleet, previous))["fixed"] == []


def test_a_failure_that_is_no_longer_assessed_is_not_fixed(fleet: Report, previous: dict[str, Any]) -> None:
    was(previous, "web-01", "PAT-01", "fail")  # now not_assessed
    assert found(compare(fleet, previous)) == {
        "newly_failing": [],
        "fixed": [],
        "newly_stale": [],
        "other": [("web-01", "PAT-01")],
    }


def test_the_previous_report_is_judged_with_todays_fail_on(fleet: Report, previous: dict[str, Any]) -> None:
    was(previous, "web-01", "RAC-04", "stale", "fail")  # a stale failure failed then too
    assert found(compare(fleet, previous))["newly_failing"] == []
    assert found(compare(fleet, previous))["other"] == [("web-01", "RAC-04")]


def test_hosts_added_and_removed(fleet: Report, previous: dict[str, Any]) -> None:
    del previous["hosts"]["db-01"]
    previous["hosts"]["gone-01"] = previous["hosts"]["new-01"]
    changes = compare(fleet, previous)
    assert (changes.hosts_added, changes.hosts_removed) == (("db-01",), ("gone-01",))
    # A new host's failures are new failures; its other cells are not listed.
    assert found(changes)["newly_failing"] == [("db-01", "STO-02")]


@pytest.mark.parametrize(
    "garbage", [{}, {"hosts": []}, {"hosts": {"web-01": []}}, {"hosts": {"web-01": {"controls": 1}}}]
)
def test_an_odd_previous_report_does_not_crash(fleet: Report, garbage: dict[str, Any]) -> None:
    assert compare(fleet, garbage).note == ""


def test_written_reports_keep_a_history_and_compare_with_it(written: Mapping[str, Path]) -> None:
    history = sorted(p.name for p in written["history"].parent.iterdir())
    assert history == ["20261202T100000Z.json", "20261203T100000Z.json"]
    assert written["history"].read_text() == written["json"].read_text()
    changes = json.loads(written["json"].read_text())["changes"]
    assert changes["previous"] == {
        "generated": "2026-12-02T10:00:00Z",
        "file": str(written["history"].parent / "20261202T100000Z.json"),
    }
    assert [(c["host"], c["control"]) for c in changes["newly_failing"]] == [("web-01", "RAC-04")]
    assert [(c["host"], c["control"]) for c in changes["fixed"]] == [("db-01", "STO-01")]
    assert [(c["host"], c["control"]) for c in changes["newly_stale"]] == [("web-01", "AUD-06")]
    assert changes["newly_stale"][0]["before"] == {"status": "pass", "record_status": "pass"}
    assert changes["newly_stale"][0]["after"] == {"status": "stale", "record_status": "pass"}
    assert changes["hosts_added"] == ["new-01"]


def test_an_unreadable_previous_report_is_said(tmp_path: Path, fleet: Report) -> None:
    from ansible_collections.rampart.hardening.plugins.module_utils.report.generate import generate

    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "20261201T000000Z.json").write_text("{ not json")
    made = generate(
        [h.name for h in fleet.hosts],
        records_dir=tmp_path / "records",
        output_dir=tmp_path,
        now=fleet.generated,
        catalogue=fleet.catalogue,
        write=False,
    )
    assert "20261201T000000Z.json is unreadable" in made.report.changes.note
    assert not (tmp_path / "report.json").exists()
