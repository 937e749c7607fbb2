# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the audit policy: rules as data to auditctl lines, and the fleet view (AUD-08)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.module_utils.audit import AuditRuleError, render_rules

#: Parts of a per-host summary that make up its suspicious-activity score.
SCORE_PARTS = ("failed_logins", "identity_changes", "policy_changes")


def audit_rules(rules: Any) -> list[str]:
    """Render rule dicts to auditctl lines (see module_utils/audit.py render_rules).

    ``{{ audit_policy_rules | rampart.hardening.audit_rules }}``. Controls come first,
    ``-e`` last, rules in input order with one line per arch. Raises AnsibleFilterError
    naming the rule (its index and key) and what is wrong with it.
    """
    try:
        return render_rules(rules)
    except AuditRuleError as exc:
        raise AnsibleFilterError(f"audit_rules: {exc}") from exc


def _summaries(results: Any, key: str | None) -> tuple[dict[str, Mapping[str, Any]], list[str]]:
    """(host -> summary, hosts without one) from the accepted input shapes."""
    items: list[tuple[str, Any]]
    if isinstance(results, Mapping):
        items = [(str(host), value) for host, value in results.items()]
    elif isinstance(results, (list, tuple)):
        items = []
        for index, value in enumerate(results):
            if not isinstance(value, Mapping):
                raise AnsibleFilterError(f"audit_fleet_summary: item {index} is not a dict: {value!r}")
            host = value.get("host") or value.get("inventory_hostname") or value.get("item")
            if not isinstance(host, str):
                raise AnsibleFilterError(
                    f"audit_fleet_summary: item {index} has no 'host' (or inventory_hostname) to name it"
                )
            items.append((host, value))
    else:
        raise AnsibleFilterError(
            "audit_fleet_summary: expected a dict of host -> audit_summary_info result "
            f"(or hostvars with key=...), got {type(results).__name__}"
        )
    summaries: dict[str, Mapping[str, Any]] = {}
    unreported: list[str] = []
    for host, value in items:
        summary = value.get(key) if key is not None and isinstance(value, Mapping) else value
        if (
            not isinstance(summary, Mapping)
            or summary.get("failed")
            or summary.get("skipped")
            or not isinstance(summary.get("failed_logins"), Mapping)
        ):
            unreported.append(host)
            continue
        summaries[host] = summary
    return summaries, sorted(unreported)


def _count(summary: Mapping[str, Any], part: str, name: str = "total") -> int:
    value = summary.get(part, {})
    return int(value.get(name, 0)) if isinstance(value, Mapping) else 0


def _merge_top(
    summaries: Mapping[str, Mapping[str, Any]], part: str, by: str, label: str, top: int
) -> list[dict[str, Any]]:
    totals: dict[str, int] = {}
    hosts: dict[str, set[str]] = {}
    for host, summary in summaries.items():
        for name, count in (summary.get(part, {}).get(by) or {}).items():
            totals[name] = totals.get(name, 0) + int(count)
            hosts.setdefault(name, set()).add(host)
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [{label: name, "count": count, "hosts": sorted(hosts[name])} for name, count in ranked]


def audit_fleet_summary(results: Any, key: str | None = None, top: int = 10) -> dict[str, Any]:
    """Merge per-host audit_summary_info results into a fleet view.

    ``results`` is a dict of host -> module result (for example
    ``dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, '__audit_summary')))``),
    or ``hostvars`` itself with ``key`` naming the registered variable, or a list of
    results that each carry ``host``. Hosts whose result is missing, failed or skipped
    are listed in ``unreported``.

    Returns top users and sources of failed logins across hosts (with the hosts they hit),
    hosts ranked by suspicious activity (score = failed logins + identity changes + policy
    changes + failed privileged commands + failed syscalls of keyed rules; ties by name),
    per-key totals, fleet totals and the time range covered.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise AnsibleFilterError(f"audit_fleet_summary: top must be a positive integer, got {top!r}")
    summaries, unreported = _summaries(results, key)
    ranked: list[dict[str, Any]] = []
    keys: dict[str, dict[str, int]] = {}
    starts: list[str] = []
    ends: list[str] = []
    for host, summary in summaries.items():
        key_failures = 0
        for name, counts in (summary.get("keys") or {}).items():
            merged = keys.setdefault(name, {"total": 0, "success": 0, "failure": 0, "hosts": 0})
            for field in ("total", "success", "failure"):
                merged[field] += int(counts.get(field, 0))
            merged["hosts"] += 1
            key_failures += int(counts.get("failure", 0))
        parts = {part: _count(summary, part) for part in SCORE_PARTS}
        failed_commands = _count(summary, "privileged_commands", "failed")
        entry: dict[str, Any] = {
            "host": host,
            "score": sum(parts.values()) + failed_commands + key_failures,
            **parts,
            "failed_privileged_commands": failed_commands,
            "failed_keyed_syscalls": key_failures,
            "restarts": _count(summary, "restarts"),
            "events": int(summary.get("events", 0)),
        }
        ranked.append(entry)
        span = summary.get("range") or {}
        if span.get("start"):
            starts.append(span["start"])
        if span.get("end"):
            ends.append(span["end"])
    ranked.sort(key=lambda e: (-e["score"], e["host"]))
    totals = {part: sum(e[part] for e in ranked) for part in (*SCORE_PARTS, "restarts", "events")}
    totals["successful_logins"] = sum(_count(s, "successful_logins") for s in summaries.values())
    return {
        "hosts": len(summaries),
        "unreported": unreported,
        "totals": totals,
        "top_failed_login_users": _merge_top(summaries, "failed_logins", "by_user", "user", top),
        "top_failed_login_sources": _merge_top(summaries, "failed_logins", "by_source", "source", top),
        "hosts_ranked": ranked,
        "keys": dict(sorted(keys.items())),
        "range": {"start": min(starts) if starts else None, "end": max(ends) if ends else None},
    }


class FilterModule:
    """rampart.hardening audit filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "audit_rules": audit_rules,
            "audit_fleet_summary": audit_fleet_summary,
        }
