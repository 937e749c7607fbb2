"""The lab estate is the example inventory, proven: same groups, the example's group_vars."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from lab.cli import estate_specs
from lab.estate import ESTATE_FILE, STEPS, inventory_dir_for
from lab.play import recorded_controls
from lab.util import DEFAULT_INVENTORY_DIR, ROOT

EXAMPLE = ROOT / "inventories" / "example"


def example_groups() -> set[str]:
    def walk(node: dict[str, object]) -> set[str]:
        found: set[str] = set()
        for name, child in (node.get("children") or {}).items():  # type: ignore[attr-defined]
            found |= {name} | walk(child or {})
        return found

    return walk(yaml.safe_load((EXAMPLE / "hosts.yml").read_text())["all"])


def test_every_example_group_var_file_is_the_estates() -> None:
    for source in sorted((EXAMPLE / "group_vars").glob("*.yml")):
        link = DEFAULT_INVENTORY_DIR / "group_vars" / source.name
        assert link.is_symlink(), f"{link} must link to {source}"
        assert link.resolve() == source.resolve()


def test_the_lab_adds_only_its_own_file() -> None:
    own = [p.name for p in (DEFAULT_INVENTORY_DIR / "group_vars").iterdir() if not p.is_symlink()]
    assert own == ["lab.yml"]


def test_the_estate_has_the_example_groups() -> None:
    specs, children = estate_specs(ESTATE_FILE)
    used = {group for spec in specs for group in spec.groups} | set(children)
    assert used == example_groups()
    assert {spec.release for spec in specs} == {"bookworm", "trixie"}


def test_another_estate_links_the_group_vars(tmp_path: Path) -> None:
    inventory = inventory_dir_for(tmp_path / "inventory")
    assert (inventory / "group_vars").resolve() == (DEFAULT_INVENTORY_DIR / "group_vars").resolve()
    assert inventory_dir_for(inventory) == inventory  # a second time changes nothing


def test_the_demo_story() -> None:
    assert [(s.playbook, s.check, s.expect_no_changes) for s in STEPS] == [
        ("lab/playbooks/estate.yml", False, False),
        ("playbooks/site.yml", True, False),
        ("playbooks/site.yml", False, False),
        ("playbooks/site.yml", False, True),
        ("playbooks/backup.yml", False, False),
        ("playbooks/report.yml", False, False),
    ]


def test_a_runs_statuses_come_from_the_records_it_wrote(tmp_path: Path) -> None:
    report = {
        "host": "web-01",
        "format": 2,
        "controls": {
            "RAC-01": {
                "check": {"status": "drift", "time": "2026-12-03T10:00:05Z"},
                "enforce": {"status": "pass", "time": "2026-12-03T10:00:05Z"},
            },
            "AUD-07": {"check": {"status": "pass", "time": "2026-12-03T09:00:00Z"}},
        },
    }
    (tmp_path / "web-01.json").write_text(json.dumps(report))
    (tmp_path / "broken.json").write_text("{")
    assert recorded_controls(tmp_path, "check", "2026-12-03T10:00:00Z") == {"web-01": {"RAC-01": "drift"}}
