"""NET-04: playbooks/firewall_drift.yml on the two firewalls (Debian 12 and 13, nftables 1.0 and 1.1):
in sync after the converge; an element added by hand on one member is reported as drift there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3]))

testinfra_hosts = ["ansible://firewall-trixie"]


def run_drift(tmp_path: Path) -> dict[str, dict[str, Any]]:
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "RAMPART_REPORT_DIR": str(tmp_path),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "playbooks/firewall_drift.yml"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return {
        host: json.loads((tmp_path / f"{host}.json").read_text())["controls"]["NET-04"]
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
