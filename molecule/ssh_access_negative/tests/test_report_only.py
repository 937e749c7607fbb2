"""After the refused cases, the scenario's last play hardens the host with RAC-03 report-only."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def test_rac03_network_drive_kept_when_not_enforced(host: Any) -> None:
    assert "nfs.example.invalid:/export/data" in host.file("/etc/fstab").content_string
    assert not host.file("/etc/modprobe.d/rampart-netfs.conf").exists


def test_rac03_reported_as_failing_with_the_drive_as_evidence(host: Any) -> None:
    name = host.ansible.get_variables()["inventory_hostname"]
    report = json.loads((Path(os.environ["RAMPART_REPORT_DIR"]) / f"{name}.json").read_text())
    rac03 = report["controls"]["RAC-03"]["enforce"]
    assert rac03["status"] == "fail"
    assert (
        "nfs4 nfs.example.invalid:/export/data on /mnt/data (in /etc/fstab)" in rac03["checks"][0]["evidence"]
    )


def test_host_hardened_after_the_refusals(host: Any) -> None:
    assert "passwordauthentication no" in host.check_output("sudo /usr/sbin/sshd -T")
