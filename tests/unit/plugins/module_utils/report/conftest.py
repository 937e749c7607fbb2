"""Shared inputs of the compliance report tests: the fixture fleet judged at a fixed time."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.report.catalogue import Catalogue
from ansible_collections.rampart.hardening.plugins.module_utils.report.generate import (
    generate,
    load_catalogue,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report.model import Report

ROOT = Path(__file__).parents[5]
RECORDS = ROOT / "tests" / "fixtures" / "controls"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
# tests/fixtures/controls/README.md says what each host exercises; new-01 has no file.
HOSTS = ["web-01", "db-01", "down-01", "old-01", "broken-01", "new-01"]
GROUPS = {
    "web-01": ["production", "web"],
    "db-01": ["db_primary", "production"],
    "down-01": ["web"],
    "new-01": ["staging"],
}


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def fleet(catalogue: Catalogue) -> Report:
    """The fixture fleet's report (nothing written)."""
    return generate(
        HOSTS,
        records_dir=RECORDS,
        output_dir=Path("/nonexistent"),
        groups=GROUPS,
        inventory="fixtures",
        now=NOW,
        write=False,
        catalogue=catalogue,
    ).report


@pytest.fixture(scope="session")
def written(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> Mapping[str, Path]:
    """The fixture fleet's report written to disk, after a report of the day before (for the changes).

    The day before, web-01's RAC-04 passed, db-01's STO-01 failed and web-01's AUD-06 was fresh:
    today RAC-04 is newly failing, STO-01 fixed and AUD-06 newly stale. new-01 is a new host.
    """
    tmp = tmp_path_factory.mktemp("report")
    before = tmp / "records-before"
    shutil.copytree(RECORDS, before)
    web = json.loads((before / "web-01.json").read_text())
    web["controls"]["RAC-04"]["enforce"].update(status="pass", summary="2 checks passed")
    web["controls"]["AUD-06"]["enforce"]["time"] = "2026-12-03T09:00:20Z"
    (before / "web-01.json").write_text(json.dumps(web))
    db = json.loads((before / "db-01.json").read_text())
    db["controls"]["STO-01"]["enforce"]["status"] = "fail"
    (before / "db-01.json").write_text(json.dumps(db))
    out = tmp / "compliance"
    for hosts, records, now in ((HOSTS[:-1], before, NOW - timedelta(days=1)), (HOSTS, RECORDS, NOW)):
        made = generate(
            hosts,
            records_dir=records,
            output_dir=out,
            groups=GROUPS,
            inventory="fixtures",
            now=now,
            catalogue=catalogue,
        )
    return {kind: Path(path) for kind, path in made.files.items()}
