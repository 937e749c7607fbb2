# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the firewall role: compile access lists, render the nftables table, prove access,
normalise and compare ``nft -j`` output between firewall group members (NET-01..NET-05)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.module_utils.nft import (
    FirewallError,
    admits,
    applied_drift,
    carry_over,
    compile_acl,
    drift,
    is_exempt,
    normalise_table,
    parse_listing,
    render_ruleset,
    ruleset_hash_of,
    static_sets,
)


def firewall_acl(
    lists: Any,
    groups: Any = None,
    hostvars: Any = None,
    networks: Any = None,
    exempt: Any = None,
    *,
    host: Any = None,
) -> dict[str, Any]:
    """Compile ``{variable name: rules}`` into {rules, shadowed, conflicts, exempt} for ``host``.

    ``{{ {'firewall_rules': firewall_rules, 'firewall_host_rules': firewall_host_rules}
    | rampart.hardening.firewall_acl(groups, hostvars, firewall_networks, firewall_rate_exempt,
    host=inventory_hostname) }}``
    """
    if not isinstance(lists, Mapping):
        raise AnsibleFilterError(
            f"firewall_acl: expected a dict of variable name -> rules, got {type(lists).__name__}"
        )
    try:
        return compile_acl(lists, groups or {}, hostvars or {}, networks or {}, exempt, host=host)
    except FirewallError as exc:
        raise AnsibleFilterError(f"firewall_acl: {exc}") from exc


def firewall_ruleset(acl: Any, settings: Any = None) -> str:
    """The nft script replacing the role's table, from a compiled access list."""
    if not isinstance(acl, Mapping) or "rules" not in acl:
        raise AnsibleFilterError("firewall_ruleset: expected the output of firewall_acl")
    try:
        return render_ruleset(acl, settings)
    except FirewallError as exc:
        raise AnsibleFilterError(f"firewall_ruleset: {exc}") from exc


def firewall_admits(acl: Any, address: Any, port: Any, proto: str = "tcp") -> dict[str, Any]:
    """{admitted, exempt, reason} for a new connection from ``address`` to ``port``."""
    if not isinstance(acl, Mapping) or "rules" not in acl:
        raise AnsibleFilterError("firewall_admits: expected the output of firewall_acl")
    try:
        ipaddress.ip_address(str(address))
        number = int(port)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"firewall_admits: bad address {address!r} or port {port!r}") from exc
    admitted, reason = admits(acl, str(address), number, proto)
    return {"admitted": admitted, "exempt": is_exempt(acl, str(address)), "reason": reason}


def firewall_ruleset_hash(text: Any) -> str | None:
    """The rampart SHA-256 in a rendered ruleset or in ``nft list table`` output (None when absent)."""
    return ruleset_hash_of(str(text or ""))


def firewall_carry_over(listing: Any, table: str = "rampart") -> str:
    """``add element`` statements putting the deny sets' bans from ``nft -s list table`` back."""
    if not isinstance(listing, str):
        raise AnsibleFilterError(
            f"firewall_carry_over: expected nft list output, got {type(listing).__name__}"
        )
    return carry_over(listing, table)


def firewall_normalise(doc: Any, table: str = "rampart", family: str = "inet") -> dict[str, Any] | None:
    """``nft -j list ruleset`` output (dict or JSON text; several commands' documents, one per line,
    are read as one) reduced to the role's table, comparable."""

    if isinstance(doc, str) and not doc.strip():
        return None  # nothing listed: nft printed nothing (the table is absent)
    try:
        parsed = parse_listing(doc) if isinstance(doc, str) else doc
        return normalise_table(parsed, table, family)
    except ValueError as exc:
        raise AnsibleFilterError(f"firewall_normalise: {exc}") from exc


def firewall_static_sets(acl: Any) -> list[str]:
    """The sets of the compiled access list whose elements come from inventory (exempt, sources)."""
    if not isinstance(acl, Mapping) or "rules" not in acl:
        raise AnsibleFilterError("firewall_static_sets: expected the output of firewall_acl")
    return static_sets(acl)


def firewall_drift(members: Any) -> dict[str, Any]:
    """{reference, in_sync, drifted} from {host: normalised table}."""
    if not isinstance(members, Mapping):
        raise AnsibleFilterError(
            f"firewall_drift: expected a dict of host -> normalised table, got {members!r}"
        )
    try:
        return drift(dict(members))
    except ValueError as exc:
        raise AnsibleFilterError(f"firewall_drift: {exc}") from exc


def firewall_group_hosts(hosts: Any, hostvars: Any, group: Any) -> list[str]:
    """The ``hosts`` whose ``firewall_group`` (default ``all``) is ``group``, in order; read from the
    inventory, so it also names hosts the run could not reach."""
    if isinstance(hosts, str) or not isinstance(hosts, Sequence):
        raise AnsibleFilterError(f"firewall_group_hosts: expected a list of host names, got {hosts!r}")
    return [h for h in hosts if str((hostvars[h] or {}).get("firewall_group", "all")) == str(group)]


def firewall_applied_drift(doc: Any, applied: Any, wanted_hash: Any, table: str = "rampart") -> list[str]:
    """How the kernel's table (``nft -t -j list table`` output) differs from the compiled ruleset, as
    the kernel rendered it when the role applied it (``applied``: {sha256, table}); [] when it does not."""
    if not isinstance(wanted_hash, str) or not wanted_hash:
        raise AnsibleFilterError(
            f"firewall_applied_drift: expected the compiled ruleset's hash, got {wanted_hash!r}"
        )
    return applied_drift(firewall_normalise(doc, table), applied or None, wanted_hash)


class FilterModule:
    """rampart.hardening firewall filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "firewall_acl": firewall_acl,
            "firewall_ruleset": firewall_ruleset,
            "firewall_admits": firewall_admits,
            "firewall_ruleset_hash": firewall_ruleset_hash,
            "firewall_carry_over": firewall_carry_over,
            "firewall_normalise": firewall_normalise,
            "firewall_drift": firewall_drift,
            "firewall_applied_drift": firewall_applied_drift,
            "firewall_static_sets": firewall_static_sets,
            "firewall_group_hosts": firewall_group_hosts,
        }
