#!/usr/bin/python
# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: report every md RAID array and a verdict for STO-01 (read-only)."""
# Ansible modules keep DOCUMENTATION/EXAMPLES/RETURN above the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mdraid_info
short_description: Report Linux software RAID (md) arrays, their members and a health verdict
version_added: "0.1.0"
description:
  - Reads C(/proc/mdstat) and runs C(mdadm --detail) for every array, then reports each array's level,
    state, sync progress (resync, recovery, reshape, check with percentage, speed and finish estimate),
    members with their roles and states, and external-metadata containers (DDF, IMSM) with their volumes.
  - Every array gets C(conditions) (most severe first) - C(failed), C(inactive), C(degraded),
    C(recovering), C(faulty_member), C(resync_pending), C(resyncing), C(reshaping), C(checking) - and
    C(state), the first of them or C(clean). O(fail_on) and O(warn_on) turn them into RV(status).
  - Read-only, and never fails because of what it finds; the caller decides (for example the
    C(rampart.hardening.control) task of the raid_health role). It fails only when the host cannot be read.
    Arrays with a O(warn_on) condition also raise an Ansible warning, so the play is flagged.
  - Without C(/proc/mdstat) (no md driver loaded) the host has no arrays. Without mdadm the arrays are
    still reported from C(/proc/mdstat), without member roles, and a warning says so.
author:
  - Rampart developers
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  fail_on:
    description: Conditions that make RV(status) C(fail).
    type: list
    elements: str
    choices: &conditions
      [failed, inactive, degraded, recovering, faulty_member, resync_pending, resyncing, reshaping, checking]
    default: [failed, inactive, degraded]
  warn_on:
    description: Conditions that make RV(status) C(warn) (a condition in both lists fails).
    type: list
    elements: str
    choices: *conditions
    default: [recovering, faulty_member, resync_pending, resyncing, reshaping]
notes:
  - A recovering array is degraded until the rebuild ends; it is reported as C(recovering) rather than
    C(degraded) so that a rebuild the operator started can be told from a failure nobody has handled.
    Add C(recovering) to O(fail_on) to treat both alike.
  - A container of external metadata shows as C(inactive) in C(/proc/mdstat) by design; it is reported
    with level C(container) and no conditions. Its volumes are checked like any array.
  - Run it as root (C(become=true)); C(mdadm --detail) opens the array devices.
"""

EXAMPLES = r"""
- name: STO-01 | Read the RAID arrays
  rampart.hardening.mdraid_info:
    fail_on: [failed, inactive, degraded]
    warn_on: [recovering, resyncing, resync_pending, reshaping, faulty_member]
  register: __raid

- name: STO-01 | Stop when an array is degraded
  ansible.builtin.assert:
    that: __raid.status != 'fail'
    fail_msg: "{{ __raid.failures | join('; ') }}"
"""

RETURN = r"""
arrays:
  description: Every md array in C(/proc/mdstat) order.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Kernel name (C(md0), C(md127)), type: str}
    device: {description: Block device, type: str}
    level:
      description: C(raid0), C(raid1), C(raid5), C(raid6), C(raid10), C(linear), C(container)...;
        null when unknown (an inactive array without mdadm).
      type: str
    state: {description: The most severe condition, or C(clean), type: str}
    conditions: {description: All conditions, most severe first, type: list, elements: str}
    active: {description: Whether the kernel runs the array, type: bool}
    read_only: {description: C(""), C(read-only) or C(auto-read-only), type: str}
    metadata: {description: Superblock version (C(1.2)), or C(external:ddf) / C(external:/md127/0), type: str}
    container: {description: The container device of a volume with external metadata, type: str}
    member_arrays: {description: The volumes of a container, type: list, elements: str}
    uuid: {description: Array UUID (or container GUID) from mdadm, type: str}
    size_kib: {description: Size in KiB blocks from C(/proc/mdstat), type: int}
    raid_devices: {description: Slots in the array, type: int}
    working_devices: {description: Slots with a working member, type: int}
    map: {description: C(/proc/mdstat)'s slot map such as C(U_), type: str}
    sync:
      description: The running or waiting sync, or null.
      type: dict
      contains:
        action: {description: C(resync), C(recovery), C(reshape), C(check) or C(repair), type: str}
        progress: {description: Percent done, type: float}
        done: {description: Blocks done, type: int}
        total: {description: Blocks to do, type: int}
        finish_minutes: {description: The kernel's estimate, type: float}
        speed_kib: {description: KiB per second, type: int}
        pending: {description: Waiting until the array is writable (C(resync=PENDING)), type: bool}
        delayed: {description: Waiting for another array on the same disks (C(resync=DELAYED)), type: bool}
    members:
      description: Members with C(device) (null for an empty slot), C(role) (slot number or null),
        C(state) (C(active), C(rebuilding), C(spare), C(faulty), C(removed), C(journal),
        C(replacement), C(member) for a container's disk) and C(states) (mdadm's words).
      type: list
      elements: dict
    detail_state: {description: mdadm's State words, lower case, type: list, elements: str}
    summary: {description: One line for a person, type: str}
  sample:
    - name: md0
      device: /dev/md0
      level: raid1
      state: degraded
      conditions: [degraded, faulty_member]
      map: U_
      members:
        - {device: /dev/vdb, role: 0, state: active, states: [active, sync]}
        - {device: /dev/vdc, role: null, state: faulty, states: [faulty]}
      summary: md0 raid1 degraded [U_] (/dev/vdb active, /dev/vdc faulty)
status:
  description: C(ok), C(warn) or C(fail) under O(fail_on) and O(warn_on).
  returned: always
  type: str
failures:
  description: One message per array with a O(fail_on) condition, naming the device, level, state and members.
  returned: always
  type: list
  elements: str
warnings_found:
  description: One message per array with a O(warn_on) condition (and none of O(fail_on)).
  returned: always
  type: list
  elements: str
md_available:
  description: Whether C(/proc/mdstat) exists (the md driver is loaded).
  returned: always
  type: bool
"""

import os
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rampart.hardening.plugins.module_utils.mdraid import (
    CONDITIONS,
    ParseError,
    assess,
    parse_mdstat,
    verdict,
)

MDSTAT = "/proc/mdstat"
DEV = "/dev"

ARGUMENT_SPEC: dict[str, Any] = {
    "fail_on": {
        "type": "list",
        "elements": "str",
        "choices": list(CONDITIONS),
        "default": ["failed", "inactive", "degraded"],
    },
    "warn_on": {
        "type": "list",
        "elements": "str",
        "choices": list(CONDITIONS),
        "default": ["recovering", "faulty_member", "resync_pending", "resyncing", "reshaping"],
    },
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        mdstat = Path(MDSTAT).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        result = verdict([], module.params["fail_on"], module.params["warn_on"])
        module.exit_json(
            changed=False,
            arrays=[],
            md_available=False,
            status=result["status"],
            failures=[],
            warnings_found=[],
        )
    except OSError as exc:
        module.fail_json(msg=f"cannot read {MDSTAT}: {exc.strerror}")
    try:
        names = [array["name"] for array in parse_mdstat(mdstat)["arrays"]]
    except ParseError as exc:
        module.fail_json(msg=f"{MDSTAT} is not readable as mdstat: {exc}", mdstat=mdstat)
    details: dict[str, str] = {}
    mdadm = module.get_bin_path("mdadm") if names else None
    if names and mdadm is None:
        module.warn(
            "mdadm is not installed: arrays are reported from /proc/mdstat only, without member roles"
        )
    for name in names if mdadm else []:
        device = f"{DEV}/{name}"
        if not Path(device).exists():  # the node may be missing (no udev, or a container)
            module.warn(f"{device} does not exist: {name} is reported from /proc/mdstat only")
            continue
        rc, out, err = module.run_command([mdadm, "--detail", device])
        if rc != 0:
            hint = " (the module is not running as root: use become=true)" if os.geteuid() != 0 else ""
            module.fail_json(msg=f"mdadm --detail {device} failed{hint}", rc=rc, stdout=out, stderr=err)
        details[name] = out
    try:
        arrays = assess(mdstat, details)
    except ParseError as exc:
        module.fail_json(msg=f"cannot read the RAID state: {exc}", mdstat=mdstat, details=details)
    result = verdict(arrays, module.params["fail_on"], module.params["warn_on"])
    for message in result["warnings"]:
        module.warn(f"RAID array needs attention: {message}")
    module.exit_json(
        changed=False,
        arrays=arrays,
        md_available=True,
        status=result["status"],
        failures=result["failures"],
        warnings_found=result["warnings"],
    )


if __name__ == "__main__":
    main()
