"""The lab's VMs run a real kernel: audit rules load and fire, md RAID is there, extra disks appear."""

from __future__ import annotations

import os
import time
from typing import Any

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("vms")

# `disks` of each VM platform in molecule.yml.
EXTRA_DISKS = {"vm-smoke-bookworm": 2, "vm-smoke-trixie": 0}


def test_audit_rule_is_loaded_and_fires(host: Any) -> None:
    with host.sudo():
        assert "enabled 1" in host.check_output("auditctl -s").splitlines()
        assert "-w /etc/hosts -p wa -k smoke" in host.check_output("auditctl -l").splitlines()
        host.check_output("touch /etc/hosts")
        events = host.run("ausearch --input-logs -k smoke --start recent")
    assert events.rc == 0, events.stderr
    assert 'key="smoke"' in events.stdout


def test_md_and_extra_disks(host: Any) -> None:
    assert host.file("/proc/mdstat").content_string.startswith("Personalities")
    name = host.backend.get_hostname()
    disks = [host.file(f"/dev/disk/by-id/virtio-rampart-disk{n}") for n in range(1, 4)]
    assert [disk.exists for disk in disks] == [n <= EXTRA_DISKS[name] for n in range(1, 4)]


def test_clock_follows_the_host(host: Any) -> None:
    # A VM resumed from a memory snapshot wakes up at the moment the snapshot was saved;
    # `up` sets its clock from the host's.
    guest = int(host.check_output("date +%s"))
    assert abs(guest - time.time()) < 120
