"""NET-04: playbooks/firewall_drift.yml on the two firewalls (Debian 12 and 13, nftables 1.0 and 1.1):
in sync after the converge; an element added by hand on one member is reported as drift there.
NET-02: a rule inserted and a source added by hand are drift in a check run of the role, and the
next converge removes both."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[2] / "resources"))
from labtest import ansible_playbook, control_record

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


def test_an_unreachable_member_fails_the_comparison_by_name(tmp_path: Path) -> None:
    """A member the run cannot reach is named, not dropped: the group is not shown to agree."""
    away = tmp_path / "away.yml"  # a second inventory: firewall-bookworm now answers on no port
    away.write_text("all:\n  hosts:\n    firewall-bookworm:\n      ansible_port: 1\n")
    result = ansible_playbook("-i", str(away), "playbooks/firewall_drift.yml", report_dir=tmp_path)
    assert result.returncode != 0  # the unreachable host
    record = json.loads((tmp_path / "firewall-trixie.json").read_text())["controls"]["NET-04"]["enforce"]
    assert record["status"] == "fail"
    assert record["checks"][1]["evidence"] == "not reached: firewall-bookworm"


def test_a_hand_edit_is_drift_from_the_compiled_ruleset_until_the_next_converge(
    host: Any, tmp_path: Path
) -> None:
    converge = str(Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml")
    # The clients too: the first play learns their addresses, which the access lists name.
    limit = "firewall-trixie,fw_clients_allowed,fw_clients_denied"
    with host.sudo():
        host.check_output("nft insert rule inet rampart input tcp dport 4444 accept")
        host.check_output("nft add element inet rampart src_web_v4 '{ 192.0.2.99 }'")
    check = ansible_playbook("--check", "--limit", limit, converge, report_dir=tmp_path)
    assert check.returncode == 0, check.stdout[-3000:]
    record = control_record(tmp_path, "firewall-trixie", "NET-02", "check")
    assert record["status"] == "drift"
    evidence = record["checks"][0]["evidence"]
    assert "table.rules.input: " in evidence and "rules on the kernel" in evidence
    assert "table.sets.src_web_v4.elements: extra 192.0.2.99/32" in evidence
    with host.sudo():
        assert "dport 4444" in host.check_output("nft list chain inet rampart input")

    fixed = ansible_playbook("--limit", limit, converge, report_dir=tmp_path)
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    assert control_record(tmp_path, "firewall-trixie", "NET-02")["status"] == "pass"
    with host.sudo():
        assert "dport 4444" not in host.check_output("nft list chain inet rampart input")
        assert "192.0.2.99" not in host.check_output("nft list set inet rampart src_web_v4")
