#!/usr/bin/python
# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: add, remove, replace or list the elements of one nftables set."""
# Ansible modules keep DOCUMENTATION/EXAMPLES/RETURN above the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nft_set
short_description: Manage the address elements of an nftables set idempotently
version_added: "0.1.0"
description:
  - Reads the set with C(nft -j list set), compares it with the wanted addresses and changes only
    what differs, in one C(nft -f) transaction.
  - O(state=present) adds the addresses and networks the set does not already cover;
    O(state=absent) removes the given elements; O(state=exact) makes the set hold exactly the given
    addresses (flush and add in one transaction, so the set is never seen empty);
    O(state=list) only reads.
  - Addresses come from O(elements) and from the files O(paths) (one address or network per line,
    C(#) comments; for block lists of any size). Both sides are compared as merged networks, so an
    interval set that nft merged (C(auto-merge)) is still recognised as current.
  - Every address is validated before anything changes; an error names the line or item.
author:
  - Rampart developers
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The elements added and removed (at most 1000 lines).
  platform:
    platforms: posix
options:
  name:
    description: The set's name.
    type: str
    required: true
  table:
    description: The table holding the set.
    type: str
    default: rampart
  family:
    description: The table's family.
    type: str
    choices: [inet, ip, ip6, bridge, arp, netdev]
    default: inet
  elements:
    description: Addresses or networks (CIDR, host bits clear).
    type: list
    elements: str
    default: []
  paths:
    description: Files on the managed host with one address or network per line (C(#) starts a comment).
    type: list
    elements: path
    default: []
    aliases: [path]
  state:
    description: What to do with the elements (see the description).
    type: str
    choices: [present, absent, exact, list]
    default: present
  timeout:
    description:
      - Seconds until elements added by this call expire. The set must have the C(timeout) flag.
      - Expiring elements are current while they exist; once expired they are added again.
    type: int
  skip_other_family:
    description:
      - Leave out addresses of the other IP family instead of failing, so one mixed block-list file can
        feed an IPv4 set and an IPv6 set.
    type: bool
    default: false
  protect:
    description:
      - Addresses that no added element may cover (for example the controller's address, so a block
        list cannot lock Ansible out). The module fails before any change if one would be.
    type: list
    elements: str
    default: []
notes:
  - Run as root (C(become=true)).
seealso:
  - name: nft(8)
    description: Sets and elements.
    link: https://www.netfilter.org/projects/nftables/manpage.html
"""

EXAMPLES = r"""
- name: NET-03 | Load the block list into the IPv4 block-list set
  rampart.hardening.nft_set:
    name: blocklist_v4
    paths: [/etc/rampart/firewall/blocklist.d/spamhaus-drop.txt]
    state: exact
    skip_other_family: true
    protect: ["{{ controller_address }}"]

- name: NET-03 | Ban an address for an hour
  rampart.hardening.nft_set:
    name: deny_v4
    elements: [203.0.113.7]
    timeout: 3600

- name: NET-03 | Read the deny set
  rampart.hardening.nft_set:
    name: deny_v4
    state: list
  register: deny
"""

RETURN = r"""
added:
  description: Elements added (or that would be), at most 1000.
  returned: always
  type: list
  elements: str
removed:
  description: Elements removed (or that would be), at most 1000.
  returned: always
  type: list
  elements: str
added_count:
  description: How many elements were added.
  returned: always
  type: int
removed_count:
  description: How many elements were removed.
  returned: always
  type: int
count:
  description: How many merged networks the set holds after this call (in check mode, would hold).
  returned: always
  type: int
elements:
  description: The set's elements as merged networks (only with O(state=list)).
  returned: when state is list
  type: list
  elements: str
  sample: ["192.0.2.0/24", "203.0.113.7/32"]
"""

import bisect
import ipaddress
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rampart.hardening.plugins.module_utils.nft import Network, json_set

SHOWN = 1000
CHUNK = 20000

ARGUMENT_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "table": {"type": "str", "default": "rampart"},
    "family": {"type": "str", "default": "inet", "choices": ["inet", "ip", "ip6", "bridge", "arp", "netdev"]},
    "elements": {"type": "list", "elements": "str", "default": []},
    "paths": {"type": "list", "elements": "path", "default": [], "aliases": ["path"]},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent", "exact", "list"]},
    "timeout": {"type": "int"},
    "skip_other_family": {"type": "bool", "default": False},
    "protect": {"type": "list", "elements": "str", "default": []},
}


class Coverage:
    """Merged networks as sorted integer intervals, for fast 'is this covered' questions."""

    def __init__(self, networks: list[Network]) -> None:
        merged = sorted((int(n.network_address), int(n.broadcast_address)) for n in networks)
        self.starts = [lo for lo, _ in merged]
        self.ends = [hi for _, hi in merged]

    def covers(self, net: Network) -> bool:
        index = bisect.bisect_right(self.starts, int(net.network_address)) - 1
        return index >= 0 and self.ends[index] >= int(net.broadcast_address)


def text(net: Network) -> str:
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def parse_wanted(module: AnsibleModule, version: int, interval: bool) -> list[Network]:
    sources: list[tuple[str, str]] = [(f"elements[{i}]", e) for i, e in enumerate(module.params["elements"])]
    for path in module.params["paths"]:
        try:
            with Path(path).open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    value = line.split("#", 1)[0].strip()
                    if value:
                        sources.append((f"{path} line {number}", value))
        except OSError as exc:
            module.fail_json(msg=f"cannot read {path}: {exc}")
    wanted: list[Network] = []
    for where, value in sources:
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError:
            module.fail_json(
                msg=f"{where}: {value!r} is not an IPv4/IPv6 address or network (host bits clear)"
            )
        if net.version != version:
            if module.params["skip_other_family"]:
                continue
            module.fail_json(
                msg=f"{where}: {value!r} is IPv{net.version} but set {module.params['name']} holds "
                f"IPv{version} addresses (skip_other_family: true leaves such lines out)"
            )
        if not interval and net.prefixlen != net.max_prefixlen:
            module.fail_json(
                msg=f"{where}: {value!r} is a network but set {module.params['name']} has no interval flag"
            )
        wanted.append(net)
    return wanted


def collapse(nets: list[Network]) -> list[Network]:
    return list(ipaddress.collapse_addresses(nets))  # type: ignore[type-var]


def run_nft(module: AnsibleModule, nft: str, script: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix="nft_set.", suffix=".nft")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(script)
        rc, out, err = module.run_command([nft, "-f", tmp])
    finally:
        Path(tmp).unlink()
    if rc != 0:
        module.fail_json(msg=f"nft -f failed: {err.strip() or out.strip()}", rc=rc, stdout=out, stderr=err)


def element_lines(verb: str, target: str, nets: list[Network], suffix: str = "") -> str:
    lines = []
    for start in range(0, len(nets), CHUNK):
        chunk = ", ".join(text(n) + suffix for n in nets[start : start + CHUNK])
        lines.append(f"{verb} element {target} {{ {chunk} }}")
    return "\n".join(lines) + "\n" if lines else ""


def plan(
    module: AnsibleModule, target: str, current: list[Network], wanted: list[Network], interval: bool
) -> tuple[list[Network], list[Network], str]:
    """(added, removed, nft script) that bring the set to what module.params ask for."""
    p = module.params
    merged_current = collapse(current)
    have = Coverage(merged_current)
    suffix = f" timeout {p['timeout']}s" if p["timeout"] else ""
    if p["state"] == "present":
        candidates = collapse(wanted) if interval else sorted(set(wanted))
        added = [n for n in candidates if not have.covers(n)]
        return added, [], element_lines("add", target, added, suffix)
    if p["state"] == "absent":
        elements = set(current)
        removed: list[Network] = []
        for net in dict.fromkeys(wanted):
            if net in elements:
                removed.append(net)
            elif any(net.overlaps(c) for c in merged_current):
                module.fail_json(
                    msg=f"{text(net)} is part of a larger element of {target} and cannot be removed alone; "
                    "remove that element, or use state=exact"
                )
        return [], removed, element_lines("delete", target, removed)
    merged_wanted = collapse(wanted)
    if merged_wanted == merged_current:
        return [], [], ""
    want = Coverage(merged_wanted)
    added = [n for n in merged_wanted if not have.covers(n)]
    removed = [n for n in merged_current if not want.covers(n)]
    elements_ = merged_wanted if interval else sorted(set(wanted))
    return added, removed, f"flush set {target}\n" + element_lines("add", target, elements_, suffix)


def after(
    p: dict[str, Any],
    current: list[Network],
    wanted: list[Network],
    added: list[Network],
    removed: list[Network],
) -> list[Network]:
    """The set's merged networks once the change is made."""
    if p["state"] == "exact":
        return collapse(wanted)
    if p["state"] == "absent":
        gone = set(removed)
        return collapse([n for n in current if n not in gone])
    return collapse(current + added)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    nft = module.get_bin_path("nft", required=True)
    target = f"{p['family']} {p['table']} {p['name']}"
    rc, out, err = module.run_command([nft, "-j", "list", "set", *target.split()])
    if rc != 0:
        module.fail_json(msg=f"cannot read set {target}: {err.strip() or out.strip()}", rc=rc, stderr=err)
    current_set = json_set(json.loads(out), p["name"])
    if current_set["type"] not in ("ipv4_addr", "ipv6_addr"):
        module.fail_json(msg=f"set {target} holds {current_set['type']}, not addresses")
    version = 4 if current_set["type"] == "ipv4_addr" else 6
    interval = "interval" in current_set["flags"]
    current: list[Network] = current_set["networks"]
    merged_current = collapse(current)
    if p["state"] == "list":
        module.exit_json(
            changed=False,
            added=[],
            removed=[],
            added_count=0,
            removed_count=0,
            count=len(merged_current),
            elements=[str(n) for n in merged_current],
        )
    if p["timeout"] is not None and ("timeout" not in current_set["flags"] or p["timeout"] < 1):
        module.fail_json(
            msg=f"timeout needs a positive number and a set with the timeout flag; {target} has "
            f"flags {current_set['flags'] or 'none'}"
        )
    wanted = parse_wanted(module, version, interval)
    added, removed, script = plan(module, target, current, wanted, interval)
    for address in p["protect"]:
        try:
            addr = ipaddress.ip_address(address)
        except ValueError:
            module.fail_json(msg=f"protect: {address!r} is not an IP address")
        hit = next((n for n in added if addr in n), None)
        if hit is not None:
            module.fail_json(
                msg=f"refusing to add {text(hit)} to {target}: it covers the protected address {address} "
                "(the controller?); nothing was changed"
            )
    changed = bool(script)
    diff = {
        "before": "".join(f"{text(n)}\n" for n in removed[:SHOWN]),
        "after": "".join(f"{text(n)}\n" for n in added[:SHOWN]),
        "before_header": f"{target} (removed)",
        "after_header": f"{target} (added)",
    }
    if changed and not module.check_mode:
        run_nft(module, nft, script)
    module.exit_json(
        changed=changed,
        added=[text(n) for n in added[:SHOWN]],
        removed=[text(n) for n in removed[:SHOWN]],
        added_count=len(added),
        removed_count=len(removed),
        count=len(after(p, current, wanted, added, removed)),
        diff=diff,
    )


if __name__ == "__main__":
    main()
