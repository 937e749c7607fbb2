"""AUD-01..05 on a real kernel: each event is triggered for real and found with ausearch by the
key that names its control, with the right success or failure."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "resources"))
from labtest import fresh_login


def ausearch(host: Any, *args: str, timeout: float = 20.0) -> str:
    """ausearch output once it finds something (auditd writes asynchronously), else ''.

    --input-logs: without a terminal ausearch would read its events from stdin, not the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = host.run("sudo ausearch --input-logs -i " + " ".join(args))
        if result.rc == 0 and "----" in result.stdout:
            return str(result.stdout)
        time.sleep(1)
    return ""


def test_rules_are_loaded_in_the_kernel(host: Any) -> None:
    rules = host.check_output("sudo auditctl -l")
    for key in ("AUD-01-logins", "AUD-02-access-denied", "AUD-03-identity", "AUD-04-sshd", "AUD-05-power"):
        assert key in rules


def test_aud01_successful_login_is_audited(host: Any) -> None:
    assert fresh_login(host, "rampart").returncode == 0
    assert "acct=rampart" in ausearch(host, "-m USER_LOGIN -sv yes -ts recent")


def test_aud01_failed_login_is_audited(host: Any) -> None:
    user = f"nobody{uuid.uuid4().hex[:6]}"
    assert fresh_login(host, user).returncode == 255
    assert ausearch(host, "-m USER_LOGIN,USER_AUTH,USER_ERR -sv no -ts recent")


def test_aud02_denied_access_is_audited(host: Any) -> None:
    assert host.run("cat /etc/shadow").rc != 0  # rampart, unprivileged
    assert "/etc/shadow" in ausearch(host, "-k AUD-02-access-denied -sv no -ts recent")


def test_aud03_identity_change_is_audited(host: Any) -> None:
    name = f"aud{uuid.uuid4().hex[:6]}"
    host.check_output(f"sudo useradd {name}")
    assert "useradd" in ausearch(host, "-k AUD-03-identity-tools -ts recent")
    assert ausearch(host, "-k AUD-03-identity -sv yes -ts recent")


def test_aud03_failed_identity_change_is_audited(host: Any) -> None:
    assert host.run("sh -c 'echo x >> /etc/passwd'").rc != 0
    assert ausearch(host, "-k AUD-03-identity -sv no -ts recent")


def test_aud04_sshd_configuration_change_is_audited(host: Any) -> None:
    host.check_output("sudo touch /etc/ssh/sshd_config")
    assert "sshd_config" in ausearch(host, "-k AUD-04-sshd -ts recent")


def test_aud04_sudoers_edit_is_audited(host: Any) -> None:
    host.check_output("sudo touch /etc/sudoers.d/rampart-admins")
    assert ausearch(host, "-k AUD-03-sudoers -ts recent")


def test_aud05_reboot_is_audited(host: Any) -> None:
    booted = host.check_output("cat /proc/sys/kernel/random/boot_id")
    host.run("sudo systemd-run --on-active=2 /usr/sbin/reboot")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        time.sleep(5)
        login = fresh_login(host, "rampart", command="cat /proc/sys/kernel/random/boot_id")
        if login.returncode == 0 and login.stdout.strip() != booted:
            break
    else:
        pytest.fail("the VM did not come back after the reboot")
    assert "reboot" in ausearch(host, "-k AUD-05-power -ts today")
    assert ausearch(host, "-m SYSTEM_SHUTDOWN -ts today")
    assert ausearch(host, "-m SYSTEM_BOOT -ts today")
