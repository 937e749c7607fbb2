#!/usr/bin/python
# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: a host's patch level for PAT-01 (read-only)."""
# Ansible modules keep DOCUMENTATION/EXAMPLES/RETURN above the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: patch_info
short_description: Report pending updates, security updates and whether a reboot is required
version_added: "0.1.0"
description:
  - Lists the updates the package manager would install now (package, installed and candidate
    version, architecture, the sources the candidate comes from) and marks the security updates,
    a candidate from a source labelled as one (O(security_labels), Debian's C(Debian-Security))
    or from a suite matching O(security_suites) (C(*-security)).
  - Says whether the host needs a reboot (C(/run/reboot-required), written by packages such as
    the kernel, libc or systemd) and which packages asked for it (C(/run/reboot-required.pkgs)).
  - With O(packages), also returns their version tables (installed, candidate, every version the
    sources offer, newest first) so a caller can install an exact, approved version.
  - Backend C(apt) (Debian, Ubuntu) simulates C(apt-get -s dist-upgrade) (or C(upgrade)) and reads
    C(apt-cache policy); nothing is installed and no lock is taken. The parsing lives in
    C(module_utils/apt_updates.py) and the backend-neutral logic in C(module_utils/patch.py), so
    another backend (dnf) only adds its parsers.
  - The P(rampart.hardening.patch_fleet_report#filter) filter ranks hosts by exposure.
author:
  - Rampart developers
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode the package lists are never refreshed (as with M(ansible.builtin.apt)).
  diff_mode:
    support: none
  platform:
    platforms: debian
options:
  backend:
    description: The package manager. C(auto) picks C(apt) where C(apt-get) exists.
    type: str
    choices: [auto, apt]
    default: auto
  mode:
    description:
      - Which upgrade to simulate. C(dist-upgrade) may install new packages and remove others to
        upgrade everything (what a patch run does); C(upgrade) never does, and lists what it keeps back.
    type: str
    choices: [dist-upgrade, upgrade]
    default: dist-upgrade
  cache_valid_time:
    description:
      - Refresh the package lists (C(apt-get update)) first when they are older than this many
        seconds. C(0) never refreshes (the report is then as fresh as the lists).
      - The lists' age is read as M(ansible.builtin.apt) reads it (C(update-success-stamp), else the
        lists directory).
    type: int
    default: 0
  security_labels:
    description: Release labels whose packages are security updates.
    type: list
    elements: str
    default: [Debian-Security]
  security_suites:
    description: Suite (archive) patterns whose packages are security updates (shell-style).
    type: list
    elements: str
    default: ["*-security"]
  packages:
    description: Packages whose version tables to return in RV(policy).
    type: list
    elements: str
    default: []
  reboot_required_file:
    description: The reboot marker; its package list is this path with C(.pkgs) appended.
    type: path
    default: /run/reboot-required
notes:
  - Run it as root (C(become=true)) when O(cache_valid_time) may refresh the lists.
"""

EXAMPLES = r"""
- name: PAT-01 | Audit the patch level
  rampart.hardening.patch_info:
    cache_valid_time: 3600
  register: __patch

- name: PAT-01 | Rank the fleet by exposure
  ansible.builtin.debug:
    msg: "{{ hostvars | rampart.hardening.patch_fleet_report('__patch') }}"
  run_once: true
"""

RETURN = r"""
distribution:
  description:
    - C(id) and C(release) (codename) from C(/etc/os-release); null where missing.
  returned: always
  type: dict
  sample: {id: debian, release: bookworm}
backend:
  description: The backend used.
  returned: always
  type: str
  sample: apt
updates:
  description: Pending updates by name; C(installed) is null for a package the upgrade installs new.
  returned: always
  type: list
  elements: dict
  sample:
    - name: libssl3
      arch: amd64
      installed: 3.0.20-1~deb12u2
      candidate: 3.0.22-1~deb12u2
      origins: [{label: Debian-Security, version: "12", archive: oldstable-security}]
      security: true
removals:
  description: Packages the upgrade would remove (C({name, installed})).
  returned: always
  type: list
  elements: dict
kept_back:
  description: Packages with a newer version that this O(mode) does not install.
  returned: always
  type: list
  elements: str
counts:
  description: C(total), C(security) and C(other) pending updates.
  returned: always
  type: dict
  sample: {total: 11, security: 10, other: 1}
reboot_required:
  description: Whether the reboot marker exists.
  returned: always
  type: bool
reboot_packages:
  description: The packages that asked for the reboot, unique, in order.
  returned: always
  type: list
  elements: str
  sample: [linux-image-6.1.0-30-amd64, libc6]
cache:
  description:
    - C(age) of the package lists in seconds before this run (null if unknown), and whether this run
      C(updated) them.
  returned: always
  type: dict
  sample: {age: 5400, updated: true}
policy:
  description:
    - For each of O(packages) known to the sources, C(installed), C(candidate) (null when none) and
      C(versions) (C({version, installed, sources}), newest first; apt's order).
  returned: always
  type: dict
"""

from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rampart.hardening.plugins.module_utils.apt_updates import ENV, AptBackend
from ansible_collections.rampart.hardening.plugins.module_utils.patch import (
    PatchError,
    parse_os_release,
    parse_reboot_packages,
)

OS_RELEASE = "/etc/os-release"


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "backend": {"type": "str", "choices": ["auto", "apt"], "default": "auto"},
            "mode": {"type": "str", "choices": ["dist-upgrade", "upgrade"], "default": "dist-upgrade"},
            "cache_valid_time": {"type": "int", "default": 0},
            "security_labels": {"type": "list", "elements": "str", "default": ["Debian-Security"]},
            "security_suites": {"type": "list", "elements": "str", "default": ["*-security"]},
            "packages": {"type": "list", "elements": "str", "default": []},
            "reboot_required_file": {"type": "path", "default": "/run/reboot-required"},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["cache_valid_time"] < 0:
        module.fail_json(msg=f"cache_valid_time must be 0 or more seconds, got {params['cache_valid_time']}")
    apt_get = module.get_bin_path("apt-get")
    if apt_get is None:
        module.fail_json(
            msg="no supported package manager here: patch_info has an apt backend only (dnf can follow)"
        )
    module.run_command_environ_update = ENV

    def run(argv: list[str]) -> tuple[int, str, str]:
        rc, out, err = module.run_command(argv)
        return int(rc), str(out), str(err)

    backend = AptBackend(run, apt_get, module.get_bin_path("apt-cache", required=True))
    age = backend.cache_age()
    updated = False
    try:
        refresh_due = params["cache_valid_time"] > 0 and (age is None or age > params["cache_valid_time"])
        if refresh_due and not module.check_mode:
            backend.refresh()
            updated = True
        pending = backend.pending(params["mode"], params["security_labels"], params["security_suites"])
        policy = backend.policy(params["packages"])
    except PatchError as exc:
        module.fail_json(msg=str(exc))

    marker = Path(params["reboot_required_file"])
    pkgs = Path(f"{marker}.pkgs")
    reboot_packages = parse_reboot_packages(pkgs.read_text(errors="replace")) if pkgs.is_file() else []
    security = sum(1 for u in pending["updates"] if u["security"])
    result: dict[str, Any] = {
        "changed": False,
        "backend": backend.name,
        "distribution": parse_os_release(Path(OS_RELEASE).read_text(errors="replace"))
        if Path(OS_RELEASE).is_file()
        else {"id": None, "release": None},
        **pending,
        "counts": {
            "total": len(pending["updates"]),
            "security": security,
            "other": len(pending["updates"]) - security,
        },
        "reboot_required": marker.exists(),
        "reboot_packages": reboot_packages,
        "cache": {"age": None if age is None else int(age), "updated": updated},
        "policy": policy,
    }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
