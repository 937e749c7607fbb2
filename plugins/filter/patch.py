# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for patch staging (PAT-01..04): the logic lives in module_utils/patch.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.module_utils.patch import (
    PatchError,
    approved_names,
    audit_checks,
    build_manifest,
    check_manifest,
    fleet_report,
    health_checks,
    installed,
    plan,
    same_approval,
    targets,
)


def _per_host(results: Any, key: str | None, name: str) -> dict[str, Any]:
    if not isinstance(results, Mapping):
        raise AnsibleFilterError(
            f"{name}: expected a dict of host -> result (or hostvars with a key), got {results!r}"
        )
    return {
        str(h): (v.get(key) if key is not None and isinstance(v, Mapping) else v) for h, v in results.items()
    }


def patch_fleet_report(results: Any, key: str | None = None, hosts: Any = None) -> dict[str, Any]:
    """``hostvars | patch_fleet_report('__patch', ansible_play_hosts_all)``: hosts ranked by exposure.

    Only ``hosts`` are looked at when given (hostvars holds the whole inventory); see patch.fleet_report.
    """
    per_host = _per_host(results, key, "patch_fleet_report")
    if hosts is not None:
        if not isinstance(hosts, list):
            raise AnsibleFilterError(f"patch_fleet_report: hosts must be a list of names, got {hosts!r}")
        per_host = {str(h): per_host.get(str(h)) for h in hosts}
    return fleet_report(per_host)


def patch_audit_checks(info: Any, max_age: Any) -> list[dict[str, Any]]:
    """PAT-01's checks (current package lists, every update classified) from a patch_info result."""
    if not isinstance(info, Mapping) or not isinstance(info.get("counts"), Mapping):
        raise AnsibleFilterError(f"patch_audit_checks: expected a patch_info result, got {info!r}")
    try:
        return audit_checks(info, int(max_age))
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"patch_audit_checks: {exc}") from exc


def patch_targets(info: Any, scope: str = "all") -> list[str]:
    """``name=candidate`` for the pending upgrades of a patch_info result, all or security only."""
    if not isinstance(info, Mapping) or not isinstance(info.get("updates"), list):
        raise AnsibleFilterError(f"patch_targets: expected a patch_info result, got {info!r}")
    try:
        return targets(info["updates"], scope)
    except PatchError as exc:
        raise AnsibleFilterError(f"patch_targets: {exc}") from exc


def patch_manifest(  # noqa: PLR0917 - a filter's arguments are positional
    packages: Any, installs: Any, releases: Any, scope: str, approved_at: str, approved_epoch: int
) -> dict[str, Any]:
    """The approval manifest from {staging host: package_facts}, {host: [name=version]}, {host: release}."""
    if not all(isinstance(x, Mapping) for x in (packages, installs, releases)):
        raise AnsibleFilterError(
            "patch_manifest: expected dicts of staging host -> packages, -> installs and -> release"
        )
    try:
        return build_manifest(packages, installs, releases, scope, approved_at, int(approved_epoch))
    except (PatchError, ValueError) as exc:
        raise AnsibleFilterError(f"patch_manifest: {exc}") from exc


def patch_manifest_check(manifest: Any, now_epoch: float, max_age: int) -> dict[str, Any]:
    """The manifest when well formed and young enough, else an error that says why production is refused."""
    try:
        return check_manifest(manifest, float(now_epoch), int(max_age))
    except PatchError as exc:
        raise AnsibleFilterError(f"patch_manifest_check: production refused: {exc}") from exc


def patch_approved_names(manifest: Any) -> list[str]:
    """Every package name a manifest approves, in any release (what production asks apt about)."""
    if not isinstance(manifest, Mapping):
        raise AnsibleFilterError(f"patch_approved_names: expected a manifest, got {manifest!r}")
    return approved_names(manifest)


def patch_same_approval(old: Any, new: Any) -> bool:
    """Whether two manifests approve the same packages, hosts and scope (the time aside)."""
    if not isinstance(new, Mapping):
        raise AnsibleFilterError(f"patch_same_approval: expected a manifest, got {new!r}")
    return same_approval(old, new)


def patch_installed(specs: Any, packages: Any) -> dict[str, list[str]]:
    """Which name=version specs are installed at exactly that version, from package_facts: {ok, missing}."""
    if not isinstance(specs, list):
        raise AnsibleFilterError(f"patch_installed: expected a list of name=version, got {specs!r}")
    try:
        return installed(specs, packages)
    except PatchError as exc:
        raise AnsibleFilterError(f"patch_installed: {exc}") from exc


def patch_health_checks(
    services: Any, service_states: Any = None, commands: Any = (), urls: Any = ()
) -> list[dict[str, Any]]:
    """Control checks from the health probes (services, command and uri loop results)."""
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        raise AnsibleFilterError(f"patch_health_checks: services must be a list of names, got {services!r}")
    if service_states is not None and not isinstance(service_states, Mapping):
        raise AnsibleFilterError("patch_health_checks: service states must be service_facts' services")
    return health_checks(services, service_states, list(commands or []), list(urls or []))


def patch_plan(manifest: Any, policy: Any, release: Any) -> dict[str, Any]:
    """What a production host of ``release`` installs, given its version tables (see patch.plan)."""
    if not isinstance(manifest, Mapping) or not isinstance(policy, Mapping) or not isinstance(release, str):
        raise AnsibleFilterError(
            "patch_plan: expected a manifest, a patch_info policy dict and a release name"
        )
    try:
        return plan(manifest, policy, release)
    except PatchError as exc:
        raise AnsibleFilterError(f"patch_plan: {exc}") from exc


class FilterModule:
    """Patch staging filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "patch_fleet_report": patch_fleet_report,
            "patch_audit_checks": patch_audit_checks,
            "patch_targets": patch_targets,
            "patch_manifest": patch_manifest,
            "patch_manifest_check": patch_manifest_check,
            "patch_same_approval": patch_same_approval,
            "patch_plan": patch_plan,
            "patch_approved_names": patch_approved_names,
            "patch_installed": patch_installed,
            "patch_health_checks": patch_health_checks,
        }
