"""audit_policy where the kernel refuses audit requests: the configuration is right, and the
kernel-side controls are reported not applicable rather than passed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest


def test_rules_file_is_owned_and_private(host: Any) -> None:
    with host.sudo():
        rules = host.file("/etc/audit/rules.d/rampart.rules")
        assert rules.mode == 0o600
        assert rules.contains("-w /etc/passwd -p wa -k AUD-03-identity")
        assert rules.contains("-F arch=b32 -S ")  # both arches for syscall rules


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("space_left", "25%"),
        ("admin_space_left_action", "SUSPEND"),
        ("disk_full_action", "SUSPEND"),
        ("log_group", "adm"),
    ],
)
def test_auditd_conf(host: Any, key: str, value: str) -> None:
    with host.sudo():
        assert host.file("/etc/audit/auditd.conf").contains(f"^{key} = {value}$")


def test_kernel_refuses_audit_in_a_container(host: Any) -> None:
    assert host.run("sudo auditctl -s").rc != 0


def test_controls_reported_honestly() -> None:
    for name in ("audit-bookworm", "audit-trixie"):
        controls = json.loads((Path(os.environ["RAMPART_REPORT_DIR"]) / f"{name}.json").read_text())[
            "controls"
        ]
        enforced = {c: controls[c]["enforce"]["status"] for c in ("AUD-01", "AUD-03", "AUD-06", "AUD-09")}
        assert enforced == {
            "AUD-01": "not_applicable",
            "AUD-03": "not_applicable",
            "AUD-06": "not_applicable",
            "AUD-09": "pass",
        }
