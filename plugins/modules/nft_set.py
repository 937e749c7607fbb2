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
  - Compares the set with the wanted addresses and changes only what differs, in one C(nft -f)
    transaction.
  - Sets without the C(interval) flag (hash sets of single addresses, any size) are read over netlink
    one element at a time, never listed whole, because listing a set with C(nft) costs seconds per
    hundred thousand elements. For O(state=exact) the module keeps a fingerprint (SHA-256) of the
    content it loaded in the comment of one marker element (C(255.255.255.255) or C(ff00::),
    addresses that are never a packet's source) and the content itself in a file under
    O(cache_dir). An unchanged list is recognised from the marker alone, and a changed one is
    updated by its difference. A set that was flushed, reloaded or changed by O(state=present) or
    O(state=absent) has no valid marker and is listed once.
  - Sets with the C(interval) flag (networks) are listed with C(nft -j list set).
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
  select:
    description:
      - Take only single addresses (C(addresses)), only networks with a shorter prefix
        (C(networks)), or both (C(all)) from O(elements) and O(paths). With O(skip_other_family),
        one mixed block-list file feeds a hash set of addresses and an interval set of networks
        per family. Every line is still validated.
    type: str
    choices: [all, addresses, networks]
    default: all
  cache_dir:
    description:
      - Where O(state=exact) keeps the content it loaded into a hash set (one file per set,
        C(FAMILY-TABLE-NAME.bin)); losing it only costs one listing of the set.
    type: path
    default: /var/cache/rampart/nft_set
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
- name: NET-03 | Load the block list's IPv4 addresses into a hash set
  rampart.hardening.nft_set:
    name: blocklist_v4
    paths: [/etc/rampart/firewall/blocklist.d/abuse.txt]
    select: addresses
    state: exact
    skip_other_family: true
    protect: ["{{ controller_address }}"]

- name: NET-03 | Load the block list's IPv4 networks into an interval set
  rampart.hardening.nft_set:
    name: blocklist_net_v4
    paths: [/etc/rampart/firewall/blocklist.d/abuse.txt]
    select: networks
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
  description:
    - How many merged networks the set holds after this call (in check mode, would hold).
    - For O(state=present) and O(state=absent) on a set without the interval flag this would
      mean listing the set, so it is not returned there.
  returned: when known
  type: int
elements:
  description: The set's elements as merged networks (only with O(state=list)).
  returned: when state is list
  type: list
  elements: str
  sample: ["192.0.2.0/24", "203.0.113.7"]
"""

import errno
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rampart.hardening.plugins.module_utils import nft_elements as el
from ansible_collections.rampart.hardening.plugins.module_utils.nft_netlink import (
    NFT_MSG_DELSETELEM,
    NFT_MSG_NEWSETELEM,
    Netlink,
    NetlinkError,
    elements_messages,
)

SHOWN = 1000
CHUNK = 20000

ARGUMENT_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "table": {"type": "str", "default": "rampart"},
    "family": {"type": "str", "default": "inet", "choices": ["inet", "ip", "ip6", "bridge", "arp", "netdev"]},
    "elements": {"type": "list", "elements": "str", "default": []},
    "paths": {"type": "list", "elements": "path", "default": [], "aliases": ["path"]},
    "select": {"type": "str", "default": "all", "choices": ["all", "addresses", "networks"]},
    "cache_dir": {"type": "path", "default": "/var/cache/rampart/nft_set"},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent", "exact", "list"]},
    "timeout": {"type": "int"},
    "skip_other_family": {"type": "bool", "default": False},
    "protect": {"type": "list", "elements": "str", "default": []},
}


@dataclass
class Plan:
    """What to change (an nft script or netlink messages), what it adds and removes, what follows."""

    added: list[str] = field(default_factory=list)  # the first SHOWN
    removed: list[str] = field(default_factory=list)
    added_count: int = 0
    removed_count: int = 0
    script: str = ""
    messages: list[bytes] = field(default_factory=list)
    count: int | None = None
    cache: bytes | None = None  # the content to remember for the next exact run
    forget: bool = False  # the marker is deleted, so the cache file is stale

    @property
    def changed(self) -> bool:
        return bool(self.script or self.messages)


class SetModule:
    """One call of the module: the set's definition, the wanted elements, the plan."""

    def __init__(self, module: AnsibleModule, netlink: Netlink) -> None:
        self.module, self.p, self.netlink = module, module.params, netlink
        self.nft = module.get_bin_path("nft", required=True)
        self.target = f"{self.p['family']} {self.p['table']} {self.p['name']}"
        try:
            info = netlink.set_info(self.p["name"])
        except NetlinkError as exc:
            module.fail_json(msg=f"cannot read set {self.target}: {exc.strerror}")
        if info.key_type not in ("ipv4_addr", "ipv6_addr"):
            module.fail_json(msg=f"set {self.target} holds {info.key_type}, not addresses")
        self.version = 4 if info.key_type == "ipv4_addr" else 6
        self.interval = "interval" in info.flags
        self.flags, self.size = info.flags, info.size
        cache_name = f"{self.p['family']}-{self.p['table']}-{self.p['name']}.bin"
        self.cache_file = Path(self.p["cache_dir"]) / cache_name
        self.protected = self.protected_addresses()

    def fail(self, msg: str) -> None:
        self.module.fail_json(msg=msg)

    # -- input ---------------------------------------------------------------

    def wanted(self) -> tuple[set[int], list[el.Interval]]:
        """Validated input: single addresses (hash sets) or intervals (interval sets)."""
        hosts: set[int] = set()
        spans: list[el.Interval] = []
        for index, value in enumerate(self.p["elements"]):
            self.take(f"elements[{index}]", value.strip(), hosts, spans)
        for path in self.p["paths"]:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.fail(f"cannot read {path}: {exc}")
            version, addresses = el.plain_addresses(text) or (0, [])
            ours = version == self.version
            # The fast path, unless a line needs its own message (wrong family, protected address).
            if version and (ours or self.p["skip_other_family"]) and not (ours and self.hits(addresses)):
                if ours and self.p["select"] != "networks":
                    if self.interval:
                        spans.extend((a, a) for a in addresses)
                    else:
                        hosts.update(addresses)
                continue
            for number, value in el.numbered(text):
                self.take(f"{path} line {number}", value, hosts, spans)
        return hosts, spans

    def take(self, where: str, value: str, hosts: set[int], spans: list[el.Interval]) -> None:
        """Validate one item or line and keep it if this set and O(select) want it."""
        p = self.p
        try:
            version, first, length = el.parse(value)
        except el.ElementError as exc:
            self.fail(f"{where}: {exc}")
        if version != self.version:
            if not p["skip_other_family"]:
                self.fail(
                    f"{where}: {value!r} is IPv{version} but set {p['name']} holds IPv{self.version} "
                    "addresses (skip_other_family: true leaves such lines out)"
                )
            return
        span = el.interval(version, first, length)
        self.guard(where, value, span)
        host = length == el.BITS[version]
        if (p["select"] == "addresses" and not host) or (p["select"] == "networks" and host):
            return
        if self.interval:
            spans.append(span)
        elif host:
            hosts.add(first)
        else:
            self.fail(
                f"{where}: {value!r} is a network but set {p['name']} has no interval flag "
                "(select: addresses leaves networks out)"
            )

    def listed(self) -> list[tuple[el.Interval, str]]:
        """The set's elements with their comments, read whole with nft -j (slow for big sets)."""
        rc, out, err = self.module.run_command([self.nft, "-j", "list", "set", *self.target.split()])
        if rc != 0:
            self.module.fail_json(msg=f"cannot read set {self.target}: {err.strip() or out.strip()}", rc=rc)
        return el.json_elements(json.loads(out), self.p["name"])

    # -- text ----------------------------------------------------------------

    def host_text(self, address: int) -> str:
        return el.text(self.version, address)

    def span_text(self, span: el.Interval) -> str:
        """A network when the interval is one, else a range (how nft stores merged elements)."""
        networks = el.cidrs(self.version, span)
        if len(networks) == 1:
            return networks[0]
        return f"{el.text(self.version, span[0])}-{el.text(self.version, span[1])}"

    def cidr_texts(self, spans: Iterable[el.Interval]) -> list[str]:
        return [t for s in spans for t in el.cidrs(self.version, s)]

    def statements(self, verb: str, texts: list[str], timeout: bool = False) -> str:
        suffix = f" timeout {self.p['timeout']}s" if timeout and self.p["timeout"] else ""
        out = []
        for start in range(0, len(texts), CHUNK):
            chunk = ", ".join(t + suffix for t in texts[start : start + CHUNK])
            out.append(f"{verb} element {self.target} {{ {chunk} }}\n")
        return "".join(out)

    # -- plans ---------------------------------------------------------------

    def plan_hash(self, hosts: set[int]) -> Plan:
        """A set without the interval flag: looked up element by element, never listed whole."""
        marker = el.MARKER[self.version]
        hosts.discard(marker)  # the marker is that very address, so it is in the set either way
        if self.p["state"] in ("present", "absent"):
            ordered = sorted(hosts)
            held = {int.from_bytes(k, "big"): c for k, c in self.lookup([marker, *ordered]).items()}
            unmark = held.get(marker, "").startswith(el.MARKER_PREFIX)
            if self.p["state"] == "present":
                plan = self.changes(added=[a for a in ordered if a not in held], removed=[])
            else:
                plan = self.changes(added=[], removed=[a for a in ordered if a in held])
            if plan.changed and unmark:  # the content no longer matches the cache
                plan.messages += self.messages(NFT_MSG_DELSETELEM, [marker])
                plan.forget = True
            return plan
        ordered = sorted(hosts)
        packed = el.pack(self.version, ordered)
        comment = el.marker_comment(packed)
        have = next(iter(self.lookup([marker]).values()), None)
        if have == comment:
            return Plan(count=len(hosts))
        current = self.remembered(have)
        if current is None:
            current = {lo for (lo, _), c in self.listed() if not c.startswith(el.MARKER_PREFIX)}
        added = [a for a in ordered if a not in current] if current else ordered
        plan = self.changes(added=added, removed=sorted(current - hosts))
        # The marker is replaced in the same transaction, so it vouches for exactly this content.
        # An empty list needs none (an empty set lists at once), so it leaves an empty set.
        if have is not None:
            plan.messages[:0] = self.messages(NFT_MSG_DELSETELEM, [marker])
        if hosts:
            plan.messages += self.messages(NFT_MSG_NEWSETELEM, [marker], comment=comment)
            plan.cache = packed
        else:
            plan.forget = True
        plan.count = len(hosts)
        return plan

    def lookup(self, addresses: list[int]) -> dict[bytes, str]:
        return self.netlink.lookup(self.p["name"], self.keys(addresses))

    def keys(self, addresses: Iterable[int]) -> list[bytes]:
        width = el.BITS[self.version] // 8
        return [a.to_bytes(width, "big") for a in addresses]

    def messages(
        self, kind: int, addresses: list[int], timeout_ms: int = 0, comment: str = ""
    ) -> list[bytes]:
        p = self.p
        return elements_messages(
            kind,
            p["family"],
            p["table"],
            p["name"],
            self.keys(addresses),
            timeout_ms=timeout_ms,
            comment=comment,
        )

    def changes(self, added: list[int], removed: list[int]) -> Plan:
        """Deletions, then additions (with the timeout asked for), as netlink messages."""
        timeout_ms = (self.p["timeout"] or 0) * 1000
        return Plan(
            added=[self.host_text(a) for a in added[:SHOWN]],
            removed=[self.host_text(a) for a in removed[:SHOWN]],
            added_count=len(added),
            removed_count=len(removed),
            messages=self.messages(NFT_MSG_DELSETELEM, removed)
            + self.messages(NFT_MSG_NEWSETELEM, added, timeout_ms=timeout_ms),
        )

    def remembered(self, have: str | None) -> set[int] | None:
        """The cached content, if the kernel's marker vouches for it."""
        if not have or not have.startswith(el.MARKER_PREFIX):
            return None
        try:
            data = self.cache_file.read_bytes()
        except OSError:
            return None
        return set(el.unpack(self.version, data)) if el.marker_comment(data) == have else None

    def plan_interval(self, spans: list[el.Interval]) -> Plan:
        """A set with the interval flag (networks): listed and compared as merged intervals."""
        state = self.p["state"]
        current = [span for span, _ in self.listed()]
        have = el.Coverage(current)
        if state == "present":
            added = [s for s in el.merge(spans) if not have.covers(s)]
            texts = self.cidr_texts(added)
            after = len(el.merge(current + added))
            script = self.statements("add", texts, timeout=True)
            return Plan(added=texts, added_count=len(texts), script=script, count=after)
        if state == "absent":
            elements = set(current)
            removed = []
            for span in dict.fromkeys(spans):
                if span in elements:
                    removed.append(span)
                elif have.overlaps(span):
                    self.fail(
                        f"{self.span_text(span)} is part of a larger element of {self.target} and cannot be "
                        "removed alone; remove that element, or use state=exact"
                    )
            gone = set(removed)
            texts = [self.span_text(s) for s in removed]
            after = len(el.merge(s for s in current if s not in gone))
            script = self.statements("delete", texts)
            return Plan(removed=texts, removed_count=len(texts), script=script, count=after)
        wanted, merged_current = el.merge(spans), el.merge(current)
        if wanted == merged_current:
            return Plan(count=len(wanted))
        want = el.Coverage(wanted)
        new = [s for s in wanted if not have.covers(s)]
        script = f"flush set {self.target}\n" + self.statements("add", self.cidr_texts(wanted), timeout=True)
        plus = self.cidr_texts(new)
        minus = self.cidr_texts(s for s in merged_current if not want.covers(s))
        return Plan(plus, minus, len(plus), len(minus), script=script, count=len(wanted))

    # -- effects -------------------------------------------------------------

    def protected_addresses(self) -> dict[int, str]:
        """The addresses of this set's family that no added element may cover."""
        found = {}
        for address in self.p["protect"]:
            try:
                version, addr, length = el.parse(address)
            except el.ElementError:
                version, addr, length = 0, 0, 0
            if length != el.BITS.get(version):
                self.fail(f"protect: {address!r} is not an IP address")
            if version == self.version:
                found[addr] = address
        return found

    def hits(self, addresses: list[int]) -> bool:
        return self.p["state"] != "absent" and bool(self.protected.keys() & set(addresses))

    def guard(self, where: str, value: str, span: el.Interval) -> None:
        """Fail before any change if an input element covers a protected address.

        Every line of the input counts, also those O(select) leaves to another set, so the
        first of the calls that share a block list refuses it.
        """
        if self.p["state"] == "absent":
            return
        for addr, address in self.protected.items():
            if span[0] <= addr <= span[1]:
                self.fail(
                    f"{where}: refusing {value}: it covers the protected address {address} "
                    f"(the controller?); nothing was changed in {self.target}"
                )

    def apply(self, plan: Plan) -> None:
        if plan.messages:
            try:
                self.netlink.commit(plan.messages)
            except NetlinkError as exc:
                # The kernel answers ENFILE when a set with a size is full.
                why = f"it holds at most {self.size} elements" if exc.errno == errno.ENFILE else exc.strerror
                self.fail(f"changing set {self.target} failed, nothing was changed: {why}")
        if plan.script:
            fd, tmp = tempfile.mkstemp(prefix="nft_set.", suffix=".nft")
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(plan.script)
                rc, out, err = self.module.run_command([self.nft, "-f", tmp])
            finally:
                Path(tmp).unlink()
            if rc != 0:
                msg = f"nft -f failed: {err.strip() or out.strip()}"
                self.module.fail_json(msg=msg, rc=rc, stdout=out, stderr=err)
        if plan.cache is not None:
            self.remember(plan.cache)
        elif plan.forget:
            self.cache_file.unlink(missing_ok=True)

    def remember(self, data: bytes) -> None:
        self.cache_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache_file.parent, prefix=".nft_set.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(tmp).replace(self.cache_file)

    def run(self) -> None:
        p = self.p
        if p["state"] == "list":
            spans = [span for span, comment in self.listed() if not comment.startswith(el.MARKER_PREFIX)]
            merged = el.merge(spans)
            self.module.exit_json(
                changed=False,
                added=[],
                removed=[],
                added_count=0,
                removed_count=0,
                count=len(merged),
                elements=self.cidr_texts(merged),
            )
        if p["timeout"] is not None and ("timeout" not in self.flags or p["timeout"] < 1):
            self.fail(
                f"timeout needs a positive number and a set with the timeout flag; {self.target} has "
                f"flags {', '.join(self.flags) or 'none'}"
            )
        hosts, spans = self.wanted()
        plan = self.plan_interval(spans) if self.interval else self.plan_hash(hosts)
        changed = plan.changed
        if changed and not self.module.check_mode:
            self.apply(plan)
        result: dict[str, Any] = {
            "changed": changed,
            "added": plan.added[:SHOWN],
            "removed": plan.removed[:SHOWN],
            "added_count": plan.added_count,
            "removed_count": plan.removed_count,
            "diff": {
                "before": lines(plan.removed[:SHOWN]),
                "after": lines(plan.added[:SHOWN]),
                "before_header": f"{self.target} (removed)",
                "after_header": f"{self.target} (added)",
            },
        }
        if plan.count is not None:
            result["count"] = plan.count
        self.module.exit_json(**result)


def lines(texts: Iterable[str]) -> str:
    return "".join(f"{t}\n" for t in texts)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        with Netlink(module.params["family"], module.params["table"]) as netlink:
            SetModule(module, netlink).run()
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"nft_set: {exc}")


if __name__ == "__main__":
    main()
