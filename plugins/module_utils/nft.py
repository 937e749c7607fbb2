# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic for the nftables firewall (NET-01..NET-05).

Nothing here touches the host: every function takes strings or plain data, so it is
unit-tested without nft (tests/unit/plugins/module_utils/test_nft.py, against the standard
library's ``ipaddress`` with hypothesis, and on captured ``nft -j`` output in
tests/fixtures/nft/). The filters in plugins/filter/firewall.py and the module
``nft_set`` do the I/O and call into this file.

Parts:

* access lists: :func:`compile_acl` validates inventory rules (addresses, ports, protocols,
  sources naming inventory groups, hosts or named networks), merges overlapping networks
  per rule and family, and reports rules that are shadowed by or contradict an earlier one;
  :func:`admits` evaluates the compiled list for one connection (the NET-05 lock-out proof);
* the ruleset: :func:`render_ruleset` turns a compiled list into one ``table inet <name>``
  (default-deny input, dynamic deny sets fed by rate limits, block-list sets) wrapped in the
  ``table; delete table; table {...}`` transaction that replaces only that table;
* ``nft -j`` output: the table's ruleset hash (:func:`ruleset_hash_of`), and a normalised form
  for drift detection between firewall group members (:func:`normalise_table`, :func:`drift`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.nft_elements import merge

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PROTOCOLS = ("tcp", "udp")
ACTIONS = ("accept", "drop", "reject")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
RATE_RE = re.compile(r"^([1-9][0-9]{0,8})/(second|minute|hour|day)$")
HASH_RE = re.compile(r'comment "rampart sha256:([0-9a-f]{64})"')
RULE_KEYS = frozenset({"name", "proto", "ports", "sources", "action", "targets"})


class FirewallError(ValueError):
    """Bad access-list input; the message names the variable, the rule and the value."""


# ---------------------------------------------------------------------------
# Addresses and ports
# ---------------------------------------------------------------------------


def parse_network(value: Any, where: str) -> Network:
    """One address or network in CIDR form; host bits must be clear."""
    if not isinstance(value, str) or not value.strip():
        raise FirewallError(f"{where}: {value!r} is not an IPv4/IPv6 address or network")
    text = value.strip()
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise FirewallError(f"{where}: {value!r} is not an IPv4/IPv6 address or network") from exc
        raise FirewallError(
            f"{where}: {value!r} has host bits set (the network is {loose}; write that, or the address alone)"
        ) from exc


def parse_ports(value: Any, where: str) -> list[tuple[int, int]]:
    """Ports as a list of ints or 'LO-HI' strings (or one of them) to sorted, merged ranges."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise FirewallError(f"{where}: no ports given")
    ranges: list[tuple[int, int]] = []
    for item in items:
        lo_hi: tuple[int, int]
        if isinstance(item, bool):
            raise FirewallError(f"{where}: {item!r} is not a port (1-65535) or range 'LO-HI'")
        if isinstance(item, int):
            lo_hi = (item, item)
        elif isinstance(item, str) and re.fullmatch(r"\s*\d{1,5}\s*(-\s*\d{1,5}\s*)?", item):
            parts = [int(p) for p in item.split("-")]
            lo_hi = (parts[0], parts[-1])
        else:
            raise FirewallError(f"{where}: {item!r} is not a port (1-65535) or range 'LO-HI'")
        if not (1 <= lo_hi[0] <= lo_hi[1] <= 65535):
            raise FirewallError(f"{where}: {item!r} is not a port (1-65535) or range 'LO-HI' with LO <= HI")
        ranges.append(lo_hi)
    return merge(ranges)


def collapse(networks: Iterable[Network]) -> tuple[list[str], list[str]]:
    """(IPv4, IPv6) networks merged (overlaps and neighbours) and sorted, as strings."""
    v4 = [n for n in networks if n.version == 4]
    v6 = [n for n in networks if n.version == 6]
    return (
        [str(n) for n in ipaddress.collapse_addresses(v4)],
        [str(n) for n in ipaddress.collapse_addresses(v6)],
    )


def covers(outer: Sequence[Network], inner: Iterable[Network]) -> bool:
    """Every network of ``inner`` lies inside one of ``outer`` (both collapsed per family)."""
    return all(any(n.version == o.version and n.subnet_of(o) for o in outer) for n in inner)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Inventory sources
# ---------------------------------------------------------------------------


def host_addresses(host: str, hostvars: Mapping[str, Any], where: str) -> list[Network]:
    """A host's addresses: firewall_addresses, else its default IPv4/IPv6 from facts, else the literal
    address in rampart_address (the address peers use) or ansible_host."""
    hv = hostvars.get(host)
    if hv is None:
        raise FirewallError(f"{where}: host {host!r} is not in the inventory")
    explicit = hv.get("firewall_addresses")
    if explicit:
        if not isinstance(explicit, list):
            explicit = [explicit]
        return [parse_network(a, f"{where}: hostvars[{host!r}].firewall_addresses") for a in explicit]
    found: list[Network] = []
    facts = hv.get("ansible_facts") or {}
    for key in ("default_ipv4", "default_ipv6"):
        addr = (facts.get(key) or {}).get("address")
        if addr:
            found.append(parse_network(addr, f"{where}: hostvars[{host!r}].ansible_facts.{key}"))
    if found:
        return found
    for key in ("rampart_address", "ansible_host"):
        literal = hv.get(key)
        try:
            address = ipaddress.ip_address(literal) if isinstance(literal, str) else None
        except ValueError:
            address = None
        if address is not None and not address.is_loopback:
            return [ipaddress.ip_network(address)]
    raise FirewallError(
        f"{where}: no address is known for host {host!r}: set firewall_addresses for it, or gather its "
        "network facts (gather_subset: [network]) in the same play"
    )


@dataclass(frozen=True)
class Context:
    groups: Mapping[str, Sequence[str]]
    hostvars: Mapping[str, Any]
    networks: Mapping[str, Any]


def resolve_source(value: Any, where: str, ctx: Context) -> list[Network] | None:
    """One source to networks; None means any address."""
    if isinstance(value, str) and value.strip() == "any":
        return None
    if isinstance(value, str) and ":" in value and value.split(":", 1)[0] in ("group", "host", "net"):
        kind, name = value.split(":", 1)
        if kind == "group":
            if name not in ctx.groups:
                raise FirewallError(f"{where}: {value!r} names a group that is not in the inventory")
            members = list(ctx.groups[name])
            if not members:
                raise FirewallError(f"{where}: {value!r} names an empty group (the rule would admit nobody)")
            return [
                a for member in members for a in host_addresses(member, ctx.hostvars, f"{where} ({value})")
            ]
        if kind == "host":
            return host_addresses(name, ctx.hostvars, f"{where} ({value})")
        if name not in ctx.networks:
            raise FirewallError(f"{where}: {value!r} names a network that is not in firewall_networks")
        entries = ctx.networks[name]
        if not isinstance(entries, list) or not entries:
            raise FirewallError(
                f"firewall_networks.{name}: must be a non-empty list of addresses or networks"
            )
        return [parse_network(e, f"firewall_networks.{name}[{i}]") for i, e in enumerate(entries)]
    return [parse_network(value, where)]


def resolve_sources(values: Any, where: str, ctx: Context) -> tuple[bool, list[str], list[str]]:
    """(any, IPv4, IPv6) for a list of sources, merged."""
    if not isinstance(values, list) or not values:
        raise FirewallError(
            f"{where}: must be a non-empty list of sources (addresses, networks, 'any', group:NAME)"
        )
    nets: list[Network] = []
    for index, value in enumerate(values):
        resolved = resolve_source(value, f"{where}[{index}]", ctx)
        if resolved is None:
            return True, [], []
        nets.extend(resolved)
    v4, v6 = collapse(nets)
    return False, v4, v6


# ---------------------------------------------------------------------------
# Access lists
# ---------------------------------------------------------------------------


def _rule(raw: Any, where: str, ctx: Context, host: str | None = None) -> dict[str, Any] | None:
    """One rule checked and compiled, or None when its targets leave ``host`` out (its sources are
    then not resolved: a tier's sources need not exist where the tier is not)."""
    if not isinstance(raw, Mapping):
        raise FirewallError(f"{where}: must be a dict with name, ports and sources, got {raw!r}")
    unknown = sorted(set(raw) - RULE_KEYS)
    if unknown:
        raise FirewallError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(RULE_KEYS))})"
        )
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise FirewallError(f"{where}: name {name!r} must match {NAME_RE.pattern} (it names nftables sets)")
    where = f"{where} ({name})"
    proto = raw.get("proto", "tcp")
    if proto not in PROTOCOLS:
        raise FirewallError(f"{where}.proto: {proto!r} is not one of {', '.join(PROTOCOLS)}")
    action = raw.get("action", "accept")
    if action not in ACTIONS:
        raise FirewallError(f"{where}.action: {action!r} is not one of {', '.join(ACTIONS)}")
    if "ports" not in raw:
        raise FirewallError(f"{where}: ports is missing")
    ports = parse_ports(raw["ports"], f"{where}.ports")
    if "sources" not in raw:
        raise FirewallError(f"{where}: sources is missing (use ['any'] to open a port to everyone)")
    targets = _targets(raw.get("targets"), f"{where}.targets", ctx)
    if targets is not None and host is not None and host not in targets:
        return None
    any_source, v4, v6 = resolve_sources(raw["sources"], f"{where}.sources", ctx)
    return {
        "name": name,
        "origin": where,
        "proto": proto,
        "ports": [[lo, hi] for lo, hi in ports],
        "action": action,
        "any": any_source,
        "ipv4": v4,
        "ipv6": v6,
    }


def _targets(value: Any, where: str, ctx: Context) -> list[str] | None:
    """The inventory hosts a rule is for (None: every host that gets the list).

    A group the inventory does not have is a tier this estate lacks: the rule applies nowhere (the
    example's estate-wide list works on an inventory without, say, a collector). A host the inventory
    does not have is an error: naming one host is deliberate.
    """
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise FirewallError(f"{where}: must be a non-empty list of 'group:NAME' or 'host:NAME': {value!r}")
    hosts: list[str] = []
    for index, item in enumerate(value):
        kind, _, name = str(item).partition(":")
        if kind == "group" and name:
            hosts.extend(ctx.groups.get(name, []))
        elif kind == "host" and name in ctx.hostvars:
            hosts.append(name)
        elif kind == "host" and name:
            raise FirewallError(f"{where}[{index}]: {item!r} names a host that is not in the inventory")
        else:
            raise FirewallError(f"{where}[{index}]: {item!r} is not 'group:NAME' or 'host:NAME'")
    return sorted(set(hosts))


def _nets(rule: Mapping[str, Any]) -> list[Network]:
    return [ipaddress.ip_network(n) for n in [*rule["ipv4"], *rule["ipv6"]]]


def _ports_within(inner: Sequence[Sequence[int]], outer: Sequence[Sequence[int]]) -> bool:
    return all(any(o[0] <= i[0] and i[1] <= o[1] for o in outer) for i in inner)


def analyse(rules: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """(shadowed, conflicts): rules an earlier rule fully covers, with the same or another action.

    nftables stops at the first rule that accepts or drops, so a later rule whose protocol,
    ports and sources all fall inside an earlier one never takes effect: redundant when the
    actions agree, a contradiction when they differ.
    """
    shadowed: list[str] = []
    conflicts: list[str] = []
    for j, later in enumerate(rules):
        for earlier in rules[:j]:
            if earlier["proto"] != later["proto"] or not _ports_within(later["ports"], earlier["ports"]):
                continue
            if not (earlier["any"] or (not later["any"] and covers(_nets(earlier), _nets(later)))):
                continue
            if earlier["action"] == later["action"]:
                shadowed.append(
                    f"{later['origin']} is shadowed by {earlier['origin']}: every connection it "
                    f"{later['action']}s is already {earlier['action']}ed there"
                )
            else:
                conflicts.append(
                    f"{later['origin']} ({later['action']}) contradicts {earlier['origin']} "
                    f"({earlier['action']}), which comes first and decides every connection it matches"
                )
            break
    return shadowed, conflicts


def compile_acl(
    lists: Mapping[str, Any],
    groups: Mapping[str, Sequence[str]] | None = None,
    hostvars: Mapping[str, Any] | None = None,
    networks: Mapping[str, Any] | None = None,
    exempt: Any = None,
    *,
    host: str | None = None,
) -> dict[str, Any]:
    """Compile access lists given as {variable name: list of rules}, in that order, for ``host``.

    Returns {rules, shadowed, conflicts, exempt: {ipv4, ipv6}}. Rule names must be unique
    across the lists (they name nftables sets). A rule with ``targets`` (inventory groups or
    hosts) is compiled only for the hosts they name, so one estate-wide list can say which tier
    opens which port; its form is checked everywhere, its sources only where it applies. Raises
    FirewallError naming the variable, the rule's index and name, and the bad value.
    """
    ctx = Context(groups or {}, hostvars or {}, networks or {})
    if not isinstance(ctx.networks, Mapping):
        raise FirewallError(
            f"firewall_networks: must be a dict of name -> list of networks, got {networks!r}"
        )
    rules: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for var, items in lists.items():
        if items is None:
            continue
        if not isinstance(items, list):
            raise FirewallError(f"{var}: must be a list of rules, got {type(items).__name__}")
        for index, raw in enumerate(items):
            name = raw.get("name") if isinstance(raw, Mapping) else None
            if isinstance(name, str) and name in seen:
                raise FirewallError(f"{var}[{index}] ({name}): the name is already used by {seen[name]}")
            rule = _rule(raw, f"{var}[{index}]", ctx, host)
            if isinstance(name, str):
                seen[name] = f"{var}[{index}]"
            if rule is not None:
                rules.append(rule)
    shadowed, conflicts = analyse(rules)
    exempt_v4: list[str] = []
    exempt_v6: list[str] = []
    if exempt:
        if not isinstance(exempt, list):
            raise FirewallError(f"firewall_rate_exempt: must be a list of sources, got {exempt!r}")
        any_source, exempt_v4, exempt_v6 = resolve_sources(exempt, "firewall_rate_exempt", ctx)
        if any_source:
            raise FirewallError("firewall_rate_exempt: 'any' would switch automatic bans off; list networks")
    return {
        "rules": rules,
        "shadowed": shadowed,
        "conflicts": conflicts,
        "exempt": {"ipv4": exempt_v4, "ipv6": exempt_v6},
    }


def admits(acl: Mapping[str, Any], address: str, port: int, proto: str = "tcp") -> tuple[bool, str]:
    """Whether the compiled list accepts a new connection (first matching rule decides)."""
    addr = ipaddress.ip_address(address)
    for rule in acl["rules"]:
        if rule["proto"] != proto or not any(lo <= port <= hi for lo, hi in rule["ports"]):
            continue
        if rule["any"] or any(addr in ipaddress.ip_network(n) for n in [*rule["ipv4"], *rule["ipv6"]]):
            verdict = rule["action"] == "accept"
            return verdict, f"{rule['origin']} {rule['action']}s {proto}/{port} from {address}"
    return False, f"no rule accepts {proto}/{port} from {address}, so the default policy drops it"


def is_exempt(acl: Mapping[str, Any], address: str) -> bool:
    addr = ipaddress.ip_address(address)
    return any(addr in ipaddress.ip_network(n) for n in [*acl["exempt"]["ipv4"], *acl["exempt"]["ipv6"]])


# ---------------------------------------------------------------------------
# The ruleset
# ---------------------------------------------------------------------------

DEFAULT_SETTINGS: dict[str, Any] = {
    "table": "rampart",
    "deny_timeout": 3600,
    "ssh_ports": [22],
    "ssh_rate": "10/minute",
    "ssh_burst": 5,
    "scan_rate": "30/minute",
    "scan_burst": 20,
    "syn_rate": "200/second",
    "syn_burst": 400,
    "meter_timeout": 120,
    "log": True,
    "icmp_echo_rate": "10/second",
    "blocklist_size": 262144,
}

ICMP4 = "destination-unreachable, time-exceeded, parameter-problem"
ICMP6 = (
    "destination-unreachable, packet-too-big, time-exceeded, parameter-problem, mld-listener-query, "
    "nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert"
)
FAMILIES = (("v4", "ip", "ipv4_addr", "ipv4"), ("v6", "ip6", "ipv6_addr", "ipv6"))


def _settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = {**DEFAULT_SETTINGS, **{k: v for k, v in (settings or {}).items() if v is not None}}
    unknown = sorted(set(settings or {}) - set(DEFAULT_SETTINGS))
    if unknown:
        raise FirewallError(f"firewall settings: unknown key(s) {', '.join(unknown)}")
    if not NAME_RE.match(str(merged["table"])):
        raise FirewallError(f"firewall_table: {merged['table']!r} must match {NAME_RE.pattern}")
    for key in ("ssh_rate", "scan_rate", "syn_rate", "icmp_echo_rate"):
        value = merged[key]
        if value in ("", False):
            merged[key] = None
        elif not RATE_RE.match(str(value)):
            raise FirewallError(
                f"firewall_{key}: {value!r} is not a rate like '10/minute' (second, minute, hour, day)"
            )
    for key in ("deny_timeout", "meter_timeout", "ssh_burst", "scan_burst", "syn_burst", "blocklist_size"):
        value = merged[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise FirewallError(f"firewall_{key}: {value!r} must be a positive whole number")
    merged["ssh_ports"] = parse_ports(merged["ssh_ports"], "firewall_ssh_ports")
    return merged


def _ports_expr(ports: Sequence[Sequence[int]]) -> str:
    parts = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ports]
    return parts[0] if len(parts) == 1 else "{ " + ", ".join(parts) + " }"


def _set(name: str, kind: str, flags: str, extra: str = "", elements: Sequence[str] = ()) -> list[str]:
    body = f"type {kind}; {flags}{extra}"
    if elements:
        body += " elements = { " + ", ".join(elements) + " }"
    return [f"\tset {name} {{ {body} }}"]


# Rate-based bans (NET-03): the meter set, the rate and burst settings, and the log tag.
BANS = {
    "ssh": ("ssh_meter", "ssh_rate", "ssh_burst", "ssh-rate"),
    "scan": ("scan_meter", "scan_rate", "scan_burst", "port-scan"),
    "syn": ("syn_meter", "syn_rate", "syn_burst", "syn-flood"),
}


def _ban(s: Mapping[str, Any], fam: tuple[str, str, str, str], match: str, kind: str) -> str:
    """A rule that adds a source exceeding a rate to the deny set (sources in exempt excepted)."""
    suffix, proto, _, _ = fam
    meter, rate, burst, tag = BANS[kind]
    log = f' log prefix "rampart {tag} "' if s["log"] else ""
    return (
        f"\t\t{match}{proto} saddr != @exempt_{suffix} update @{meter}_{suffix} "
        f"{{ {proto} saddr limit rate over {s[rate]} burst {s[burst]} packets }} "
        f"add @deny_{suffix} {{ {proto} saddr }}{log} drop"
    )


def _sets(acl: Mapping[str, Any], s: Mapping[str, Any]) -> list[str]:
    sets: list[str] = []
    meters = [meter for meter, rate, _, _ in BANS.values() if s[rate]]
    dynamic = "size 65536; flags dynamic, timeout;"
    for suffix, _, kind, key in FAMILIES:
        sets += _set(f"exempt_{suffix}", kind, "flags interval;", elements=acl["exempt"][key])
        sets += _set(f"deny_{suffix}", kind, dynamic, f" timeout {s['deny_timeout']}s;")
        # Block lists: single addresses in a hash set (a million load in about a second), networks
        # in an interval set. The size bounds the hash table the kernel allocates up front.
        sets += _set(f"blocklist_{suffix}", kind, f"size {s['blocklist_size']};")
        sets += _set(f"blocklist_net_{suffix}", kind, "flags interval;", " auto-merge;")
        for meter in meters:
            sets += _set(f"{meter}_{suffix}", kind, dynamic, f" timeout {s['meter_timeout']}s;")
        for rule in acl["rules"]:
            if not rule["any"] and rule[key]:
                sets += _set(f"src_{rule['name']}_{suffix}", kind, "flags interval;", elements=rule[key])
    return sets


def static_sets(acl: Mapping[str, Any]) -> list[str]:
    """The sets whose elements come from inventory (exempt and access-list sources), in render order:
    what a terse listing (``nft -t``) leaves out but the kernel must hold exactly (NET-02)."""
    names: list[str] = []
    for suffix, _, _, key in FAMILIES:
        names.append(f"exempt_{suffix}")
        names += [f"src_{rule['name']}_{suffix}" for rule in acl["rules"] if not rule["any"] and rule[key]]
    return names


def _access_rules(acl: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for rule in acl["rules"]:
        verdict = "reject with icmpx type admin-prohibited" if rule["action"] == "reject" else rule["action"]
        ports = f"{rule['proto']} dport {_ports_expr(rule['ports'])}"
        comment = f' comment "{rule["name"]}"'
        if rule["any"]:
            lines.append(f"\t\t{ports} {verdict}{comment}")
            continue
        for suffix, proto, _, key in FAMILIES:
            if rule[key]:
                lines.append(f"\t\t{proto} saddr @src_{rule['name']}_{suffix} {ports} {verdict}{comment}")
    return lines


def render_body(acl: Mapping[str, Any], settings: Mapping[str, Any] | None = None) -> tuple[str, list[str]]:
    """(table name, the lines inside ``table inet NAME { ... }``) for a compiled access list."""
    s = _settings(settings)
    chain = [
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy drop;",
        '\t\tiif "lo" accept',
        "\t\tct state invalid drop",
    ]
    for suffix, proto, _, _ in FAMILIES:
        chain.append(f"\t\t{proto} saddr @blocklist_{suffix} drop")
        chain.append(f"\t\t{proto} saddr @blocklist_net_{suffix} drop")
        chain.append(f"\t\t{proto} saddr @deny_{suffix} drop")
    chain.append("\t\tct state established,related accept")
    if s["icmp_echo_rate"]:
        chain.append(f"\t\ticmp type echo-request limit rate {s['icmp_echo_rate']} accept")
        chain.append(f"\t\ticmpv6 type echo-request limit rate {s['icmp_echo_rate']} accept")
    chain.append(f"\t\ticmp type {{ {ICMP4} }} accept")
    chain.append(f"\t\ticmpv6 type {{ {ICMP6} }} accept")
    for fam in FAMILIES:
        if s["syn_rate"]:
            chain.append(_ban(s, fam, "tcp flags & (fin|syn|rst|ack) == syn ", "syn"))
        if s["ssh_rate"]:
            chain.append(_ban(s, fam, f"ct state new tcp dport {_ports_expr(s['ssh_ports'])} ", "ssh"))
    chain += _access_rules(acl)
    if s["scan_rate"]:
        chain += [_ban(s, fam, "ct state new meta pkttype host ", "scan") for fam in FAMILIES]
    chain.append("\t}")
    return str(s["table"]), _sets(acl, s) + chain


def render_ruleset(acl: Mapping[str, Any], settings: Mapping[str, Any] | None = None) -> str:
    """The nft script that replaces ``table inet NAME`` (and only it) in one transaction.

    ``table`` creates the table when missing so that ``delete table`` cannot fail, then the
    table is defined afresh; nft -f applies the file as one transaction, so either all of
    it or none takes effect, and other tables are never touched. The table's comment carries
    a SHA-256 of its definition: the kernel's copy is current when the hashes match.
    """
    table, body = render_body(acl, settings)
    digest = hashlib.sha256("\n".join(body).encode()).hexdigest()
    lines = [
        f"table inet {table}",
        f"delete table inet {table}",
        f"table inet {table} {{",
        f'\tcomment "rampart sha256:{digest}"',
        *body,
        "}",
    ]
    return "\n".join(lines) + "\n"


# The deny sets keep their bans across a ruleset change (their elements are carried over).
CARRIED = ("deny_v4", "deny_v6")


def carry_over(listing: str, table: str, names: Sequence[str] = CARRIED) -> str:
    """``add element`` statements that put the named sets' elements from ``nft -s list table``
    output back, to follow the replacement of the table in the same transaction.

    Each element keeps the timeout it was added with (fail2ban's bans name one; rate bans use
    the set's), counted again from the change: a ban may last up to one timeout longer, never
    shorter. Sets that are missing or empty give nothing.
    """
    out = []
    for name in names:
        match = re.search(
            rf"^\s*set {re.escape(name)} {{[^}}]*?^\s*elements = {{([^}}]*)}}", listing, re.MULTILINE
        )
        if match:
            elements = " ".join(match.group(1).split())
            out.append(f"add element inet {table} {name} {{ {elements} }}")
    return "".join(f"{line}\n" for line in out)


def ruleset_hash_of(text: str) -> str | None:
    """The rampart hash in a rendered file or in ``nft list table`` output, if any."""
    match = HASH_RE.search(text)
    return match.group(1) if match else None


# ---------------------------------------------------------------------------
# nft -j output
# ---------------------------------------------------------------------------


def _element_networks(value: Any) -> list[Network]:
    if isinstance(value, Mapping):
        if "elem" in value:
            return _element_networks(value["elem"]["val"])
        if "prefix" in value:
            return [ipaddress.ip_network(f"{value['prefix']['addr']}/{value['prefix']['len']}")]
        if "range" in value:
            lo, hi = (ipaddress.ip_address(a) for a in value["range"])
            return list(ipaddress.summarize_address_range(lo, hi))
    if isinstance(value, str):
        return [ipaddress.ip_network(value)]
    raise ValueError(f"unexpected set element in nft -j output: {value!r}")


# Keys of a set that identify it or that nftables versions print differently (1.1 adds auto-merge).
SET_VOLATILE = ("handle", "elem", "family", "table", "name", "auto-merge")

# Sets whose elements change at run time and differ legitimately between members.
DYNAMIC_SET_RE = re.compile(r"^(deny|ssh_meter|scan_meter|syn_meter)_v[46]$")


def _strip(value: Any) -> Any:
    """Drop handles and counter values, recursively; a bitmask written ``{"|": [...]}`` (nftables
    1.1) becomes the plain list nftables 1.0 prints for it."""
    if isinstance(value, Mapping):
        if list(value) == ["|"] and isinstance(value["|"], list):
            return [_strip(v) for v in value["|"]]
        out: dict[str, Any] = {}
        for key, inner in value.items():
            if key == "handle":
                continue
            if key == "counter" and isinstance(inner, Mapping):
                out[key] = None
                continue
            out[key] = _strip(inner)
        return out
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def parse_listing(text: str) -> dict[str, Any]:
    """``nft -j`` output of one or more commands (one JSON document per line) as one document: a
    terse table listing followed by full listings of some of its sets (a later set replaces the
    earlier one of the same name when normalised)."""
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:  # several documents
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    items: list[Any] = []
    for doc in docs:
        if not isinstance(doc, Mapping) or not isinstance(doc.get("nftables"), list):
            raise ValueError("not nft -j output: expected a dict with an 'nftables' list")
        items += doc["nftables"]
    return {"nftables": items}


def normalise_table(doc: Any, table: str = "rampart", family: str = "inet") -> dict[str, Any] | None:
    """``nft -j list ruleset`` (or list table) reduced to what must match between members.

    Only ``table FAMILY NAME`` is kept. Handles and counter values are dropped, elements of
    the dynamic sets (deny lists and rate meters) are left out, other set elements become
    sorted merged networks, and rules are listed per chain in order. What nftables 1.0
    (Debian 12) and 1.1 (Debian 13) print differently for the same ruleset is reduced to one
    form (set flags without ``dynamic``, no ``auto-merge``, bitmasks as plain lists), so a
    mixed-release group does not report drift. None when the table is absent.
    """
    if not isinstance(doc, Mapping) or not isinstance(doc.get("nftables"), list):
        raise ValueError("not nft -j output: expected a dict with an 'nftables' list")
    found = False
    sets: dict[str, Any] = {}
    chains: dict[str, Any] = {}
    rules: dict[str, list[Any]] = {}
    for item in doc["nftables"]:
        if not isinstance(item, Mapping) or len(item) != 1:
            continue
        kind, body = next(iter(item.items()))
        if not isinstance(body, Mapping) or body.get("family") != family:
            continue
        owner = body.get("table") if kind != "table" else body.get("name")
        if owner != table:
            continue
        if kind == "table":
            found = True
        elif kind == "set":
            entry = {k: _strip(v) for k, v in body.items() if k not in SET_VOLATILE}
            # nftables 1.0 leaves the dynamic flag out of its JSON; 1.1 prints it.
            entry["flags"] = sorted(set(entry.get("flags", [])) - {"dynamic"})
            if not DYNAMIC_SET_RE.match(body["name"]):
                v4, v6 = collapse(n for e in body.get("elem", []) for n in _element_networks(e))
                entry["elements"] = v4 + v6
            sets[body["name"]] = entry
        elif kind == "chain":
            chains[body["name"]] = {
                k: v for k, v in body.items() if k not in ("handle", "family", "table", "name")
            }
        elif kind == "rule":
            rules.setdefault(body["chain"], []).append(_strip(body.get("expr", [])))
    if not found:
        return None
    return {"sets": sets, "chains": chains, "rules": rules}


def _describe(
    path: str, a: Any, b: Any, here: str = "this member", there: str = "the reference"
) -> list[str]:
    """How ``b`` (on ``here``) differs from ``a`` (on ``there``), one line per difference."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a:
                out.append(f"{path}.{key}: only on {here}")
            elif key not in b:
                out.append(f"{path}.{key}: missing on {here}")
            else:
                out += _describe(f"{path}.{key}", a[key], b[key], here, there)
        return out
    if path.endswith(".elements") and isinstance(a, list) and isinstance(b, list):
        extra, missing = sorted(set(b) - set(a)), sorted(set(a) - set(b))
        parts = ([f"extra {', '.join(extra)}"] if extra else []) + (
            [f"missing {', '.join(missing)}"] if missing else []
        )
        return [f"{path}: {'; '.join(parts)}"] if parts else []
    if isinstance(a, list) and isinstance(b, list) and ".rules." in path:
        out = [f"{path}[{i}]: differs" for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
        if len(a) != len(b):
            out.append(f"{path}: {len(b)} rules on {here}, {len(a)} on {there}")
        return out
    return [] if a == b else [f"{path}: {b!r} on {here}, {a!r} on {there}"]


def applied_drift(kernel: Mapping[str, Any] | None, applied: Any, wanted_hash: str) -> list[str]:
    """How the kernel's table (normalised) differs from the compiled ruleset (NET-02).

    ``applied`` is what the role kept when it last applied and confirmed a ruleset: {sha256, table},
    the kernel's own normalised form of that compiled ruleset, read right after loading it. The
    kernel holds the compiled ruleset when its table equals that form and the form belongs to the
    ruleset compiled now. An empty list means no drift.
    """
    if kernel is None:
        return ["the table is not loaded"]
    if not isinstance(applied, Mapping) or not isinstance(applied.get("table"), Mapping):
        return ["no record of the applied ruleset's form in the kernel (never applied by this version)"]
    if applied.get("sha256") != wanted_hash:
        last = str(applied.get("sha256"))[:12]
        return [f"the ruleset last applied ({last}) is not the one compiled now ({wanted_hash[:12]})"]
    return _describe("table", applied["table"], kernel, "the kernel", "the applied ruleset")


def drift(members: Mapping[str, Any]) -> dict[str, Any]:
    """Compare normalised tables of firewall group members.

    The reference is the form most members share (ties: the first host by name). Returns
    {reference, in_sync, drifted: {host: [differences]}}; a member without the table is
    reported as such.
    """
    if not members:
        raise ValueError("no members to compare")
    hosts = sorted(members)
    counts: dict[str, int] = {}
    keyed = {h: repr(members[h]) for h in hosts}
    for h in hosts:
        counts[keyed[h]] = counts.get(keyed[h], 0) + 1
    best = max(counts.values())
    reference = next(h for h in hosts if counts[keyed[h]] == best)
    ref = members[reference]
    drifted: dict[str, list[str]] = {}
    for h in hosts:
        if keyed[h] == keyed[reference]:
            continue
        if members[h] is None:
            drifted[h] = ["the table is missing"]
        elif ref is None:
            drifted[h] = ["has the table, which the reference lacks"]
        else:
            drifted[h] = _describe("table", ref, members[h]) or ["differs"]
    return {"reference": reference, "in_sync": [h for h in hosts if h not in drifted], "drifted": drifted}
