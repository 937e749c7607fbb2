"""Bad input and would-be lock-outs are refused with a clear message before anything changes.

Each case runs apply.yml against the scenario host with the bad input as extra vars, as an operator
would, and checks the message, that no file the role owns or edits changed, and that a fresh SSH
login still works.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "resources"))
from labtest import fresh_login, run_playbook

ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3]))
SCENARIO = Path(__file__).parents[1]
WATCHED = [
    "/etc/ssh/sshd_config",
    "/etc/sudoers.d/rampart-admins",
    "/etc/issue.net",
    "/etc/issue",
    "/etc/fstab",
    "/etc/passwd",
    "/etc/group",
]
LAB_KEY = (ROOT / ".lab" / "ssh" / "id_ed25519.pub").read_text().strip()
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHv0bn4yJ2cK7kM1ZJdMqX1p4H0vL3F5pE3r9n8u5Q2D someone-else"

CASES = [
    pytest.param(
        {"ssh_access_permit_root_login": "yes"}, "ssh_access_permit_root_login", id="root-login-choice"
    ),
    pytest.param({"ssh_access_ports": ["ssh"]}, "ssh_access_ports", id="port-not-a-number"),
    pytest.param({"ssh_access_ports": [70000]}, "70000 is not a port (1-65535)", id="port-out-of-range"),
    pytest.param(
        {"ssh_access_allow_groups": [], "ssh_access_allow_users": []}, "both empty", id="no-allow-list"
    ),
    pytest.param(
        {"ssh_access_admins": [{"name": "carol"}]}, "carol needs at least one public key", id="admin-no-key"
    ),
    pytest.param(
        {"ssh_access_admins": [{"name": "carol", "keys": ["not-a-key AAAA"]}]},
        "not-a-key AAAA",
        id="malformed-key",
    ),
    pytest.param(
        {"ssh_access_extra_settings": {"PasswordAuthentication": "yes"}},
        '"PasswordAuthentication" is not an sshd keyword the role leaves free',
        id="extra-overrides-managed",
    ),
    pytest.param(
        {"ssh_access_allow_groups": ["wheel"]},
        "it would lock out rampart from",
        id="lockout-group",
    ),
    pytest.param(
        {"ssh_access_pubkey_algorithms": ["rsa-sha2-512", "rsa-sha2-256"]},
        "has no authorized key of a type PubkeyAcceptedAlgorithms accepts",
        id="lockout-key-type",
    ),
    pytest.param(
        {
            "ssh_access_allow_users": ["rampart"],
            "ssh_access_admins": [
                {"name": "rampart", "keys": [LAB_KEY]},
                {"name": "outsider", "keys": [LAB_KEY]},
            ],
        },
        "outsider from",
        id="lockout-declared-admin",
    ),
    pytest.param({"ssh_access_ports": [2222]}, "would lock out rampart from", id="lockout-port-change"),
    pytest.param(
        {"ssh_access_extra_settings": {"PrintLastLog": "no\nPasswordAuthentication yes"}},
        "contains a control character or newline",
        id="directive-injection",
    ),
    pytest.param(
        {"ssh_access_ciphers": ["aes128-cbc", "aes256-ctr"]}, "aes128-cbc: weak algorithms", id="weak-cipher"
    ),
    pytest.param({"ssh_access_rollback_timeout": 5}, "must be at least 30", id="rollback-too-short"),
    pytest.param(
        {"ssh_access_admins": [{"name": "rampart", "state": "absent"}]},
        "rampart is the account Ansible logs in with",
        id="remove-managing-user",
    ),
    pytest.param(
        {"ssh_access_admins": [{"name": "rampart", "exclusive_keys": True, "keys": [OTHER_KEY]}]},
        "lacks the key Ansible uses",
        id="replace-managing-key",
    ),
]


def fingerprint(host: Any) -> dict[str, str]:
    with host.sudo():
        return {path: host.file(path).sha256sum if host.file(path).exists else "absent" for path in WATCHED}


@pytest.mark.parametrize(("bad_input", "message"), CASES)
def test_refused_before_anything_changes(
    host: Any, tmp_path: Path, bad_input: dict[str, Any], message: str
) -> None:
    before = fingerprint(host)
    result = run_playbook(host, SCENARIO / "apply.yml", bad_input, tmp_path)
    assert result.returncode == 2, result.stdout[-3000:]
    assert message in result.stdout, result.stdout[-3000:]
    recap = re.search(rf"^{re.escape(host.backend.get_hostname())}\s+:.*$", result.stdout, re.MULTILINE)
    assert recap is not None
    assert " changed=0 " in recap.group(0)
    assert fingerprint(host) == before
    login = fresh_login(host, "rampart", command="sudo -n true")
    assert login.returncode == 0, login.stderr
