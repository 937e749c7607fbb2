"""NET-04: playbooks/firewall_drift.yml on the two firewalls (Debian 12 and 13, nftables 1.0 and 1.1):
in sync after the converge; an element added by hand on one member is reported as drift there."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[2] / "resources"))
from labtest import ansible_playbook

testinfra_hosts = ["ansible://firewall-trixie"]


def run_drift(tmp_path: Path) -> dict[str, dict[str, Any]]:
    result = ansible_playbook("playbooks/firewall_drift.yml", report_dir=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    return {
        host: json.loads((tmp_path / f"{host}.json").read_text())["controls"]["NET-04"]["enforce"]
        for host in ("firewall-bookworm", "firewall-trixie")
    }


def test_members_are_in_sync_after_the_converge(tmp_path: Path) -> None:
    reports = run_drift(tmp_path)
    assert {h: r["status"] for h, r in reports.items()} == {
        "firewall-bookworm": "pass",
        "firewall-trixie": "pass",
    }
    assert reports["firewall-trixie"]["checks"][0]["evidence"] == "in sync with firewall-bookworm"


def test_a_hand_edit_is_reported_as_drift(host: Any, tmp_path: Path) -> None:
    with host.sudo():
        host.check_output("nft add element inet rampart src_web_v4 '{ 192.0.2.99 }'")
    try:
        reports = run_drift(tmp_path)
    finally:
        with host.sudo():
            host.check_output("nft delete element inet rampart src_web_v4 '{ 192.0.2.99 }'")
    assert reports["firewall-trixie"]["status"] == "fail"
    assert reports["firewall-trixie"]["checks"][0]["evidence"] == (
        "differs from firewall-bookworm: table.sets.src_web_v4.elements: extra 192.0.2.99/32"
    )
    assert reports["firewall-bookworm"]["status"] == "pass"
