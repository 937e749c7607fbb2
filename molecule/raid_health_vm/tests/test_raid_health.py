"""STO-01 and MON-01 on a real kernel: a RAID1 on two virtio disks goes healthy -> degraded (a member
failed with mdadm) -> recovering (the member re-added, the rebuild held slow) -> clean, and each state
is seen by the mdraid_info module, by the timer's check and, for the failure, by mdadm's monitor,
whose alert is found in the journal by its tag.

The tests run in file order: each one leaves the array in the state the next one starts from.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from testinfra.modules.ansible import AnsibleException

sys.path.insert(0, str(Path(__file__).parents[2] / "resources"))
from labtest import run_oneshot

MODULE = "rampart.hardening.mdraid_info"
SERVICE = "rampart-raid-check.service"
MEMBER = "/dev/vdc"
SPEED_MAX = "/proc/sys/dev/raid/speed_limit_max"


def info(host: Any) -> dict[str, Any]:
    """The module on the host through Ansible, in check mode (it only reads)."""
    result: dict[str, Any] = host.ansible(MODULE, "", become=True, check=True)
    return result


def md0(host: Any) -> dict[str, Any]:
    arrays = {a["name"]: a for a in info(host)["arrays"]}
    array: dict[str, Any] = arrays["md0"]
    return array


def now(host: Any) -> str:
    since: str = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    time.sleep(1)
    return since


def assert_alerted(host: Any, since: str, expect: str, timeout: float) -> None:
    """A rampart-health line containing ``expect`` reaches the journal within ``timeout`` of ``since``
    (other lines, such as the timer's own, may come first)."""
    deadline = time.monotonic() + timeout
    while True:
        out: str = host.check_output(f"sudo journalctl -t rampart-health -o cat --no-pager --since '{since}'")
        if expect in out:
            return
        assert time.monotonic() < deadline, f"no alert with {expect!r} in {timeout} s: {out.splitlines()}"
        time.sleep(1)


def timer_check(host: Any) -> tuple[int, list[str]]:
    """Run the timer's service once, as the timer would: its exit status and the alerts it logged."""
    status, entries = run_oneshot(host, SERVICE)
    return status, [entry["MESSAGE"] for entry in entries]


def test_monitor_and_timer_are_running(host: Any) -> None:
    assert host.service("mdmonitor").is_running
    assert host.check_output("systemctl is-active rampart-raid-check.timer") == "active"
    assert host.check_output("systemctl is-enabled rampart-raid-check.timer") == "enabled"


def test_mdadm_reads_the_program_from_the_drop_in(host: Any) -> None:
    """mdadm's own test event goes through the configured PROGRAM to the journal."""
    since = now(host)
    host.check_output("sudo mdadm --monitor --scan --oneshot --test")
    assert_alerted(host, since, 'status=ok detail="mdadm TestMessage on /dev/md0', timeout=20)


def test_healthy(host: Any) -> None:
    host.check_output("sudo mdadm --wait /dev/md0 || true")  # the initial resync may still run
    array = md0(host)
    assert (array["level"], array["state"], array["map"]) == ("raid1", "clean", "UU")
    assert [m["state"] for m in array["members"]] == ["active", "active"]
    status, lines = timer_check(host)
    assert status == 0
    assert len(lines) == 1
    assert "status=ok" in lines[0]
    assert "md0 raid1 clean [UU]" in lines[0]


def test_failed_member_is_degraded_and_alerted(host: Any) -> None:
    since = now(host)
    host.check_output(f"sudo mdadm /dev/md0 --fail {MEMBER}")
    # mdadm --monitor wakes on the md event and runs the program at once.
    assert_alerted(host, since, f'status=fail detail="mdadm Fail on /dev/md0 member {MEMBER}', timeout=30)
    array = md0(host)
    assert array["conditions"] == ["degraded", "faulty_member"]
    assert {m["device"]: m["state"] for m in array["members"] if m["device"]}[MEMBER] == "faulty"
    assert info(host)["status"] == "fail"
    status, lines = timer_check(host)
    assert status == 1
    assert any(
        "status=fail" in line and "md0 raid1 degraded [U_]" in line and f"{MEMBER} faulty" in line
        for line in lines
    ), lines


def test_verdict_names_the_array_and_the_member(host: Any) -> None:
    failures = info(host)["failures"]
    assert len(failures) == 1
    assert failures[0].startswith("/dev/md0: md0 raid1 degraded [U_]")
    assert f"{MEMBER} faulty" in failures[0]


def test_removed_then_re_added_is_recovering(host: Any) -> None:
    host.check_output(f"sudo mdadm /dev/md0 --remove {MEMBER}")
    assert md0(host)["conditions"] == ["degraded"]
    host.check_output(f"echo 1000 | sudo tee {SPEED_MAX}")  # hold the rebuild so it can be seen
    since = now(host)
    host.check_output(f"sudo mdadm --zero-superblock {MEMBER}")
    host.check_output(f"sudo mdadm /dev/md0 --add {MEMBER}")
    time.sleep(2)
    array = md0(host)
    assert array["state"] == "recovering"
    assert array["sync"]["action"] == "recovery"
    assert 0 <= array["sync"]["progress"] < 100
    assert {m["device"]: m["state"] for m in array["members"]}[MEMBER] == "rebuilding"
    assert info(host)["status"] == "warn"
    status, lines = timer_check(host)
    assert status == 0
    assert any("status=warn" in line and "md0 raid1 recovering" in line for line in lines), lines
    assert_alerted(host, since, "mdadm RebuildStarted on /dev/md0", timeout=30)


def test_rebuilt_is_clean(host: Any) -> None:
    host.check_output(f"echo 200000 | sudo tee {SPEED_MAX}")
    host.check_output("sudo mdadm --wait /dev/md0 || true")  # exits 1 when nothing is left to wait for
    array = md0(host)
    assert (array["state"], array["map"]) == ("clean", "UU")
    assert info(host)["status"] == "ok"
    status, lines = timer_check(host)
    assert status == 0
    assert any("status=ok" in line and "md0 raid1 clean [UU]" in line for line in lines), lines


def test_module_refuses_a_bad_policy(host: Any) -> None:
    # ansible 2.19's --tree output (what testinfra reads) leaves out "failed": the message tells.
    try:
        result: dict[str, Any] = host.ansible(MODULE, "fail_on=degradded", become=True, check=True)
    except AnsibleException as exc:
        result = exc.result
    assert "value of fail_on must be one or more of" in result.get("msg", ""), result
    assert "arrays" not in result
