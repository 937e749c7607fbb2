"""The controls catalogue (meta/controls.yml): the policy's words, and what really records each control."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.rampart.hardening.plugins.module_utils.report.catalogue import (
    Catalogue,
    parse_catalogue,
)

ROOT = Path(__file__).parents[5]
POLICY = ROOT.parent / "shared" / "policy" / "POLICY.md"
MODULE = "rampart.hardening.control"
CONTROL = re.compile(r"^[A-Z]{3}-\d{2}$")
VARIABLE = re.compile(r"^\{\{\s*([\w.]+)\s*\}\}$")


def policy_controls() -> dict[str, str]:
    return dict(re.findall(r"^- \*\*([A-Z]{3}-\d{2})\*\* (.+)$", POLICY.read_text(), re.MULTILINE))


def test_same_controls_and_wording_as_the_policy(catalogue: Catalogue) -> None:
    policy = policy_controls()
    assert list(catalogue.ids) == list(policy)
    for control in catalogue.controls:
        assert control.policy == policy[control.id], control.id


def test_families_are_the_policys_sections(catalogue: Catalogue) -> None:
    sections = dict(re.findall(r"^## ([A-Z]{3}) — (.+)$", POLICY.read_text(), re.MULTILINE))
    assert {code: name.lower() for code, name in catalogue.families.items()} == sections


def test_controls_have_titles_and_families(catalogue: Catalogue) -> None:
    for control in catalogue.controls:
        assert control.family == control.id[:3]
        assert 0 < len(control.title) <= 40, control.id


def test_named_roles_and_playbooks_exist(catalogue: Catalogue) -> None:
    for control in catalogue.controls:
        for role in control.roles:
            assert (ROOT / "roles" / role / "tasks" / "main.yml").is_file(), f"{control.id}: no role {role}"
        for playbook in control.playbooks:
            assert (ROOT / "playbooks" / playbook).is_file(), f"{control.id}: no playbook {playbook}"


def recorded() -> dict[str, set[str]]:
    """The control IDs each role and playbook records with rampart.hardening.control.

    Literal IDs, and IDs written as ``{{ var }}`` (a role variable) or ``{{ item }}`` /
    ``{{ item.id }}`` over a literal loop or a role variable; other expressions are left out.
    """
    found: dict[str, set[str]] = {}
    for path in sorted([*ROOT.glob("roles/*/tasks/**/*.yml"), *ROOT.glob("playbooks/*.yml")]):
        owner, variables = _owner(path)
        for task in _tasks(yaml.safe_load(path.read_text())):
            found.setdefault(owner, set()).update(_ids(task, variables))
    return found


def _owner(path: Path) -> tuple[str, dict[str, Any]]:
    parts = path.relative_to(ROOT).parts
    if parts[0] == "playbooks":
        return f"playbook {parts[1]}", {}
    variables: dict[str, Any] = {}
    for source in ("defaults", "vars"):
        file = ROOT / "roles" / parts[1] / source / "main.yml"
        if file.is_file():
            variables.update(yaml.safe_load(file.read_text()) or {})
    return f"role {parts[1]}", variables


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get(MODULE), dict):
            yield node
        for value in node.values():
            yield from _tasks(value)
    elif isinstance(node, list):
        for item in node:
            yield from _tasks(item)


def _ids(task: dict[str, Any], variables: dict[str, Any]) -> set[str]:
    value = task[MODULE].get("id")
    if isinstance(value, str) and CONTROL.match(value):
        return {value}
    name = _variable(value)
    if name in variables:
        return _ids({MODULE: {"id": variables[name]}}, variables)
    if name.split(".")[0] != "item":
        return set()
    loop = task.get("loop")
    if _variable(loop):
        loop = variables.get(_variable(loop))
    key = name.partition(".")[2]
    items = [item.get(key) if key and isinstance(item, dict) else item for item in loop or []]
    return {i for i in items if isinstance(i, str) and CONTROL.match(i)}


def _variable(value: Any) -> str:
    """``var`` of ``{{ var }}``, or empty."""
    match = VARIABLE.match(value) if isinstance(value, str) else None
    return match.group(1) if match else ""


def test_recorded_controls_are_in_the_catalogue(catalogue: Catalogue) -> None:
    for owner, ids in recorded().items():
        assert ids <= set(catalogue.ids), (
            f"{owner} records {sorted(ids - set(catalogue.ids))}, not in the catalogue"
        )


def test_implemented_by_names_exactly_what_records_each_control(catalogue: Catalogue) -> None:
    """A control is listed as implemented only where a task records it, and everywhere one does."""
    claimed: dict[str, set[str]] = {}
    for control in catalogue.controls:
        for role in control.roles:
            claimed.setdefault(f"role {role}", set()).add(control.id)
        for playbook in control.playbooks:
            if not control.by_report:  # MON-02: the report itself is the record
                claimed.setdefault(f"playbook {playbook}", set()).add(control.id)
    assert {owner: ids for owner, ids in recorded().items() if ids} == claimed


def test_the_known_implementations(catalogue: Catalogue) -> None:
    implemented = {c.id for c in catalogue.controls if c.implemented}
    assert {"RAC-01", "AUD-07", "NET-04", "STO-02", "STO-03", "ENC-02", "PAT-04", "MON-02"} <= implemented
    assert not implemented & {"AUD-08", "STO-06", "ENC-01", "HRD-01", "MON-01"}
    by = {c.id: (c.roles, c.playbooks) for c in catalogue.controls}
    assert by["AUD-07"] == (("log_collector", "log_forwarder"), ())
    assert by["PAT-01"] == (("patch_staging",), ("patch_audit.yml",))
    assert by["MON-02"] == ((), ("report.yml",))
    assert by["STO-04"] == (("backup_client",), ())


GOOD = {"id": "RAC-01", "family": "RAC", "title": "SSH", "policy": "Keys only."}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ([], "not a mapping"),
        ({"controls": [GOOD]}, "'families'"),
        ({"families": {"RAC": "Remote"}}, "'controls'"),
        ({"families": {"RAC": "Remote"}, "controls": [{**GOOD, "id": "RAC1"}]}, "'RAC1' is not of the form"),
        (
            {"families": {"RAC": "Remote"}, "controls": [{**GOOD, "family": "NET"}]},
            "has family 'NET', not RAC",
        ),
        ({"families": {"NET": "Network"}, "controls": [GOOD]}, "has family 'RAC', not RAC"),
        ({"families": {"RAC": "Remote"}, "controls": [{**GOOD, "title": ""}]}, "needs a title"),
        ({"families": {"RAC": "Remote"}, "controls": [GOOD, GOOD]}, "RAC-01 is listed twice"),
        (
            {"families": {"RAC": "Remote"}, "controls": [{**GOOD, "implemented_by": {"roles": "ssh"}}]},
            "implemented_by.roles must be a list",
        ),
        (
            {"families": {"RAC": "Remote"}, "controls": [{**GOOD, "implemented_by": {"hosts": []}}]},
            "implemented_by takes",
        ),
    ],
)
def test_a_bad_catalogue_is_refused(data: Any, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        parse_catalogue(data)


def test_a_minimal_catalogue() -> None:
    catalogue = parse_catalogue({"families": {"RAC": "Remote"}, "controls": [GOOD]})
    (control,) = catalogue.controls
    assert (control.implemented, control.roles, control.playbooks, control.name) == (
        False,
        (),
        (),
        "RAC-01 SSH",
    )
