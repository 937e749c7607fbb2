"""One call that reads the inputs and writes the report: what the entry points use.

Reads ``<records_dir>/<host>.json`` for each host and the catalogue, compares with the newest
earlier report in ``<output_dir>/history/``, and writes ``report.json``, ``report.junit.xml``,
``report.html`` and ``history/<UTC time>.json`` (each through a temporary file and a rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import yaml
from ansible_collections.rampart.hardening.plugins.module_utils.collection import ROOT, collection_version
from ansible_collections.rampart.hardening.plugins.module_utils.report import as_json, history, html, junit
from ansible_collections.rampart.hardening.plugins.module_utils.report.catalogue import (
    Catalogue,
    parse_catalogue,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report.model import (
    Changes,
    Report,
    build_report,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report.options import Options
from ansible_collections.rampart.hardening.plugins.module_utils.report.records import (
    HostRecords,
    parse_host_file,
)

CATALOGUE = ROOT / "meta" / "controls.yml"
FILES = {"json": "report.json", "junit": "report.junit.xml", "html": "report.html"}


@dataclass(frozen=True)
class Generated:
    report: Report
    files: Mapping[str, str]  # json, junit, html, history -> path
    written: bool


def load_catalogue(path: Path = CATALOGUE) -> Catalogue:
    return parse_catalogue(yaml.safe_load(path.read_text(encoding="utf-8")))


def read_records(directory: Path, host: str) -> HostRecords:
    path = directory / f"{host}.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return parse_host_file(host, None)
    except (OSError, UnicodeDecodeError) as exc:
        return HostRecords(host=host, file=str(path), error=f"cannot be read ({exc})")
    return parse_host_file(host, text, str(path))


def generate(
    hosts: Sequence[str],
    *,
    records_dir: Path,
    output_dir: Path,
    groups: Mapping[str, Sequence[str]] | None = None,
    options: Options | None = None,
    inventory: str = "",
    now: datetime | None = None,
    write: bool = True,
    catalogue: Catalogue | None = None,
) -> Generated:
    """Build the report of ``hosts`` and write it to ``output_dir`` (unless ``write`` is false)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    names = list(dict.fromkeys(hosts))
    report = build_report(
        catalogue or load_catalogue(),
        [read_records(records_dir, h) for h in names],
        now=now,
        groups=groups,
        options=options,
        version=collection_version(),
        inventory=inventory,
        notes=_notes(records_dir, names),
    )
    history_dir = output_dir / "history"
    report = replace(report, changes=_changes(report, history_dir))
    texts = {"json": as_json.dumps(report), "junit": junit.render(report), "html": html.render(report)}
    files = {kind: output_dir / name for kind, name in FILES.items()}
    files["history"] = history_dir / history.entry_name(now)
    if write:
        history_dir.mkdir(parents=True, exist_ok=True)
        for kind, path in files.items():
            _atomic_write(path, texts["json" if kind == "history" else kind])
    return Generated(report=report, files={k: str(v) for k, v in files.items()}, written=write)


def _notes(records_dir: Path, hosts: Sequence[str]) -> list[str]:
    if not records_dir.is_dir():
        return [f"records directory {records_dir} does not exist: no host has been assessed there"]
    others = sorted(p.stem for p in records_dir.glob("*.json") if p.stem not in set(hosts))
    return [f"record files of hosts not in this inventory, not shown: {', '.join(others)}"] if others else []


def _changes(report: Report, history_dir: Path) -> Changes:
    names = [p.name for p in history_dir.glob("*.json")] if history_dir.is_dir() else []
    name = history.previous_entry(names, report.generated)
    if name is None:
        return Changes()
    path = history_dir / name
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return history.unreadable(str(path), str(exc))
    if not isinstance(previous, dict):
        return history.unreadable(str(path), "not a JSON object")
    return history.compare(report, previous, str(path))


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    Path(tmp).chmod(0o644)
    Path(tmp).replace(path)
