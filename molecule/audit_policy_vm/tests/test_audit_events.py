"""AUD-01..05 on a real kernel: each event is triggered for real and found with ausearch by the
key that names its control, with the right success or failure, and the same event (by its
timestamp and serial) is found again at the central collector (AUD-07)."""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).parents[2] / "resources"))
from labtest import fresh_login

testinfra_hosts = ["ansible://vms"]


def ausearch(host: Any, *args: str, expect: tuple[str, ...] = (), timeout: float = 20.0) -> str:
    """ausearch output once it finds events containing every `expect` string, else ''
    (auditd writes asynchronously).

    --input-logs: without a terminal ausearch would read its events from stdin, not the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = host.run("sudo env LC_ALL=C ausearch --input-logs -i " + " ".join(args))
        if result.rc == 0 and "----" in result.stdout and all(e in result.stdout for e in expect):
            return str(result.stdout)
        time.sleep(1)
    return ""


# `ausearch -i` prints an event as msg=audit(11/23/26 08:42:18.864:164); the collector stores the
# raw record, msg=audit(1795423338.864:164): milliseconds and serial identify the event in both.
SSHD = re.compile(r" exe=/usr/(sbin/sshd|lib/openssh/sshd-session) ")
EVENT_ID = re.compile(r"msg=audit\([^)]*?(\.\d+:\d+)\)")


@pytest.fixture(scope="module")
def collector() -> Any:
    return testinfra.get_host(
        f"ansible://audit-collector?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}"
    )


def forwarded(collector: Any, host: Any, found: str, timeout: float = 60.0) -> bool:
    """Whether the last event in ausearch output `found` reached the collector's store for `host`."""
    ids = EVENT_ID.findall(found)
    assert ids, f"no event in: {found!r}"
    store = f"/var/log/remote/{host.check_output('hostname')}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if collector.run(f"sudo grep -rqF 'audit(' {store} && sudo grep -rqF '{ids[-1]}):' {store}").rc == 0:
            return True
        time.sleep(2)
    return False


def test_rules_are_loaded_in_the_kernel(host: Any) -> None:
    rules = host.check_output("sudo auditctl -l")
    for key in ("AUD-01-logins", "AUD-02-access-denied", "AUD-03-identity", "AUD-04-sshd", "AUD-05-power"):
        assert key in rules


def test_aud01_successful_login_and_logoff_are_audited(host: Any, collector: Any) -> None:
    # -tt: sshd records USER_LOGIN for sessions with a terminal (audit_session_open), as a
    # person's login has; a command without one only leaves PAM's USER_START/USER_END.
    assert fresh_login(host, "rampart", "-tt").returncode == 0
    login = ausearch(host, "-m USER_LOGIN -sv yes -ts recent").split("----")[-1]
    # exe is /usr/sbin/sshd on OpenSSH 9 (Debian 12), /usr/lib/openssh/sshd-session on 10 (Debian 13).
    assert "id=rampart" in login and SSHD.search(login) and "terminal=/dev/pts" in login
    session = re.search(r" ses=(\d+) ", login)
    assert session, login
    # Logoff: the end of that session.
    logoff = ausearch(host, f"-m USER_END --session {session.group(1)}", expect=("acct=rampart",))
    assert logoff
    assert forwarded(collector, host, login)
    assert forwarded(collector, host, logoff)


def test_aud01_failed_login_is_audited(host: Any, collector: Any) -> None:
    user = f"nobody{uuid.uuid4().hex[:6]}"
    assert fresh_login(host, user).returncode == 255
    failed = ausearch(host, "-m USER_LOGIN -sv no -ts recent", expect=("acct=(invalid user)",))
    assert failed and SSHD.search(failed)
    assert forwarded(collector, host, failed)


def test_aud02_denied_access_is_audited(host: Any, collector: Any) -> None:
    assert host.run("cat /etc/shadow").rc != 0  # rampart, unprivileged
    denied = ausearch(host, "-k AUD-02-access-denied -sv no -ts recent", expect=("/etc/shadow",))
    assert denied
    assert forwarded(collector, host, denied)


def test_aud03_identity_change_is_audited(host: Any, collector: Any) -> None:
    name = f"aud{uuid.uuid4().hex[:6]}"
    host.check_output(f"sudo useradd {name} && sudo groupmod -n {name}x {name}")
    tools = ausearch(host, "-k AUD-03-identity-tools -ts recent", expect=("useradd", "groupmod"))
    assert tools
    changed = ausearch(host, "-k AUD-03-identity -sv yes -ts recent", expect=("/etc/group",))
    assert changed
    assert forwarded(collector, host, tools)
    assert forwarded(collector, host, changed)


def test_aud03_failed_identity_change_is_audited(host: Any, collector: Any) -> None:
    # The AUD-03 watch matches before the catch-all AUD-02 rules, so the event carries AUD-03.
    assert host.run("sh -c 'echo x >> /etc/passwd'").rc != 0
    refused = ausearch(host, "-k AUD-03-identity -sv no -ts recent", expect=("/etc/passwd",))
    assert refused
    assert forwarded(collector, host, refused)


def test_aud04_sshd_configuration_change_is_audited(host: Any, collector: Any) -> None:
    host.check_output("sudo touch /etc/ssh/sshd_config")
    changed = ausearch(host, "-k AUD-04-sshd -ts recent", expect=("sshd_config",))
    assert changed
    assert forwarded(collector, host, changed)


def test_aud04_sudoers_edit_is_audited(host: Any, collector: Any) -> None:
    host.check_output("sudo touch /etc/sudoers.d/rampart-admins")
    changed = ausearch(host, "-k AUD-03-sudoers -ts recent", expect=("rampart-admins",))
    assert changed
    assert forwarded(collector, host, changed)


def test_aud05_reboot_is_audited(host: Any, collector: Any) -> None:
    booted = host.check_output("cat /proc/sys/kernel/random/boot_id")
    # ausearch reads -ts in the locale's date format: ask the VM for it in the same (C) locale.
    before = host.check_output("LC_ALL=C date +'%x %T'")
    host.run("sudo systemd-run --on-active=2 /usr/sbin/reboot")
    # A shutdown and cold boot under emulation: about 2 min idle, over 5 min on a loaded machine.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(5)
        login = fresh_login(host, "rampart", command="cat /proc/sys/kernel/random/boot_id")
        if login.returncode == 0 and login.stdout.strip() != booted:
            break
    else:
        pytest.fail("the VM did not come back after the reboot")
    since = f"-ts {before}"
    command = ausearch(host, f"-k AUD-05-power {since}", expect=("reboot",))
    assert command
    assert ausearch(host, f"-m SYSTEM_SHUTDOWN {since}")
    boot = ausearch(host, f"-m SYSTEM_BOOT {since}")
    assert boot
    assert forwarded(collector, host, command)
    assert forwarded(collector, host, boot)
