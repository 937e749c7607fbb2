"""The controls catalogue (``meta/controls.yml``): the policy's controls and what implements them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CONTROL_ID = re.compile(r"^([A-Z]{3})-\d{2}$")
# The playbook that writes this report: controls it implements (MON-02) are evidenced by the report itself.
REPORT_PLAYBOOK = "report.yml"


@dataclass(frozen=True)
class Control:
    id: str
    family: str
    title: str
    policy: str
    roles: tuple[str, ...] = ()
    playbooks: tuple[str, ...] = ()

    @property
    def implemented(self) -> bool:
        return bool(self.roles or self.playbooks)

    @property
    def by_report(self) -> bool:
        """The report itself is the evidence (MON-02): no role records it."""
        return REPORT_PLAYBOOK in self.playbooks

    @property
    def name(self) -> str:
        return f"{self.id} {self.title}"


@dataclass(frozen=True)
class Catalogue:
    policy: Mapping[str, str]
    families: Mapping[str, str]
    controls: tuple[Control, ...]

    def family_controls(self, family: str) -> tuple[Control, ...]:
        return tuple(c for c in self.controls if c.family == family)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.controls)


def parse_catalogue(data: Any) -> Catalogue:
    """A catalogue from its YAML data. Raises ValueError naming what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("catalogue: not a mapping")
    families = data.get("families")
    if not isinstance(families, dict) or not families:
        raise ValueError("catalogue: 'families' must map family codes to names")
    entries = data.get("controls")
    if not isinstance(entries, list) or not entries:
        raise ValueError("catalogue: 'controls' must be a list of controls")
    controls = tuple(_control(entry, families) for entry in entries)
    seen: set[str] = set()
    for control in controls:
        if control.id in seen:
            raise ValueError(f"catalogue: {control.id} is listed twice")
        seen.add(control.id)
    policy = data.get("policy") or {}
    if not isinstance(policy, dict):
        raise ValueError("catalogue: 'policy' must be a mapping (name, document, as_of)")
    return Catalogue(
        policy={str(k): str(v) for k, v in policy.items()},
        families={str(k): str(v) for k, v in families.items()},
        controls=controls,
    )


def _control(entry: Any, families: Mapping[str, Any]) -> Control:
    if not isinstance(entry, dict):
        raise ValueError(f"catalogue: control {entry!r} is not a mapping")
    control_id = entry.get("id")
    match = CONTROL_ID.match(control_id) if isinstance(control_id, str) else None
    if not match:
        raise ValueError(f"catalogue: control id {control_id!r} is not of the form ABC-01")
    family = entry.get("family")
    if family != match[1] or family not in families:
        raise ValueError(
            f"catalogue: {control_id} has family {family!r}, not {match[1]} (listed in families)"
        )
    for key in ("title", "policy"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ValueError(f"catalogue: {control_id} needs a {key}")
    by = entry.get("implemented_by") or {}
    if not isinstance(by, dict) or set(by) - {"roles", "playbooks"}:
        raise ValueError(f"catalogue: {control_id}: implemented_by takes 'roles' and 'playbooks' lists")
    names: dict[str, tuple[str, ...]] = {}
    for key in ("roles", "playbooks"):
        value = by.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"catalogue: {control_id}: implemented_by.{key} must be a list of names")
        names[key] = tuple(value)
    return Control(
        id=str(control_id),
        family=family,
        title=entry["title"].strip(),
        policy=entry["policy"].strip(),
        roles=names["roles"],
        playbooks=names["playbooks"],
    )
