# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patch staging (PAT-01..04), backend-neutral logic: pure functions over plain data.

A backend (apt_updates.py; dnf can follow) turns its package manager's output into
``Update`` records; everything here works on those records and on the approval manifest:

- which updates are security updates (``classify``),
- the reboot marker's package list (``parse_reboot_packages``),
- which updates stage 1 installs (``targets``),
- the approval manifest built from the staging hosts (``build_manifest``, ``check_manifest``),
- what a production host installs from it (``plan``),
- the fleet view ranked by exposure (``fleet_report``).
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

MANIFEST_FORMAT = 1


class PatchError(ValueError):
    """Input that cannot be trusted: a parse failure or a malformed manifest."""


class Origin(TypedDict):
    label: str | None
    version: str | None
    archive: str | None


class Update(TypedDict):
    name: str
    arch: str | None
    installed: str | None
    candidate: str
    origins: list[Origin]
    security: bool


def parse_origins(releases: str) -> list[Origin]:
    """apt's RelStr (``Debian-Security:12/oldstable-security, Debian:12.12/oldstable``) to origins."""
    origins: list[Origin] = []
    for part in (p.strip() for p in releases.split(", ")):
        if not part:
            continue
        label: str | None = None
        rest = part
        if ":" in part:
            label, rest = part.split(":", 1)
        version: str | None = None
        archive: str | None = rest or None
        if "/" in rest:
            version, archive = rest.rsplit("/", 1)
        origins.append({"label": label or None, "version": version or None, "archive": archive or None})
    return origins


def classify(origins: Sequence[Origin], labels: Sequence[str], suites: Sequence[str]) -> bool:
    """A security update comes from a source labelled as one (Debian-Security) or a *-security suite."""
    for origin in origins:
        if origin["label"] is not None and origin["label"] in labels:
            return True
        archive = origin["archive"]
        if archive is not None and any(fnmatch.fnmatchcase(archive, pattern) for pattern in suites):
            return True
    return False


def parse_reboot_packages(text: str) -> list[str]:
    """/run/reboot-required.pkgs: one package per line, repeated once per trigger; unique, in order."""
    seen: list[str] = []
    for line in text.splitlines():
        name = line.strip()
        if name and name not in seen:
            seen.append(name)
    return seen


def targets(updates: Sequence[Mapping[str, Any]], scope: str) -> list[str]:
    """``name=candidate`` for the pending upgrades of installed packages that stage 1 installs.

    scope ``all`` or ``security``. New packages an upgrade pulls in are left to apt's resolver
    (they come with the upgrade that needs them); they are not installed on their own.
    """
    if scope not in ("all", "security"):
        raise PatchError(f"scope must be 'all' or 'security', got {scope!r}")
    return [
        f"{u['name']}={u['candidate']}"
        for u in sorted(updates, key=lambda u: str(u["name"]))
        if u.get("installed") is not None and (scope == "all" or u.get("security"))
    ]


def _versions(packages: Any, host: str) -> dict[str, str]:
    """package_facts' {name: [{version, ...}]} (or {name: version}) to {name: version}."""
    if not isinstance(packages, Mapping):
        raise PatchError(f"host {host} has no package list")
    versions: dict[str, str] = {}
    for name, entries in packages.items():
        for entry in entries if isinstance(entries, list) else [entries]:
            version = entry.get("version") if isinstance(entry, Mapping) else entry
            if isinstance(version, str) and version:
                versions[str(name)] = version
    return versions


def _spec(spec: Any, host: str) -> tuple[str, str]:
    name, sep, version = str(spec).partition("=")
    if not sep or not name or not version:
        raise PatchError(f"host {host}: {spec!r} is not name=version")
    return name, version


def build_manifest(  # noqa: PLR0917 - the filter passes them positionally
    packages: Mapping[str, Any],
    installs: Mapping[str, Any],
    releases: Mapping[str, Any],
    scope: str,
    approved_at: str,
    approved_epoch: int,
) -> dict[str, Any]:
    """The approval manifest: every package version the staging hosts run once patched, per release.

    ``packages`` maps each staging host to its installed packages as package_facts reports
    them; ``installs`` maps it to the ``name=version`` list stage 1 installed (in check mode:
    would install), which overrides the former; ``releases`` to its distribution release
    (bookworm). Two staging hosts of one release that differ approve both versions.
    """
    if not packages:
        raise PatchError("no staging host to approve from")
    if scope not in ("all", "security"):
        raise PatchError(f"scope must be 'all' or 'security', got {scope!r}")
    hosts: dict[str, str] = {}
    approved: dict[str, dict[str, set[str]]] = {}
    for host in packages:
        release = releases.get(host)
        if not isinstance(release, str) or not release:
            raise PatchError(f"staging host {host} has no known release")
        hosts[str(host)] = release
        versions = _versions(packages[host], host)
        for spec in installs.get(host) or []:
            name, version = _spec(spec, host)
            versions[name] = version
        for name, version in versions.items():
            approved.setdefault(release, {}).setdefault(name, set()).add(version)
    return {
        "format": MANIFEST_FORMAT,
        "approved_at": approved_at,
        "approved_epoch": int(approved_epoch),
        "scope": scope,
        "hosts": dict(sorted(hosts.items())),
        "packages": {
            release: {name: sorted(v) for name, v in sorted(names.items())}
            for release, names in sorted(approved.items())
        },
    }


def installed(specs: Sequence[str], packages: Any) -> dict[str, list[str]]:
    """Which ``name=version`` specs are installed at exactly that version: {ok, missing}."""
    versions = _versions(packages, "this")
    ok: list[str] = []
    missing: list[str] = []
    for spec in specs:
        name, version = _spec(spec, "this")
        (ok if versions.get(name) == version else missing).append(spec)
    return {"ok": ok, "missing": missing}


def parse_os_release(text: str) -> dict[str, str | None]:
    """/etc/os-release to {id, release} (VERSION_CODENAME); None where missing."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key] = value.strip().strip("'\"")
    return {"id": values.get("ID") or None, "release": values.get("VERSION_CODENAME") or None}


def health_checks(
    services: Sequence[str],
    service_states: Mapping[str, Any] | None = None,
    commands: Sequence[Mapping[str, Any]] = (),
    urls: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Control checks from the health probes: services active, commands exit 0, URLs answer as expected.

    ``service_states`` is service_facts' services; ``commands`` and ``urls`` are the loop
    results of the command and uri probes (each with its ``item``).
    """
    states = service_states or {}
    checks: list[dict[str, Any]] = []
    for name in services:
        unit = name if "." in name else f"{name}.service"
        state = (states.get(unit) or {}).get("state", "not found")
        checks.append(
            {"name": f"service {name} is running", "ok": state == "running", "evidence": f"{unit} {state}"}
        )
    for result in commands:
        item = result.get("item") or {}
        label = item.get("name") or item.get("cmd")
        rc = result.get("rc")
        output = (result.get("stderr") or result.get("stdout") or result.get("msg") or "").strip()
        checks.append(
            {
                "name": f"health command {label} succeeds",
                "ok": rc == 0,
                "evidence": f"rc {rc}" + (f": {output[:200]}" if output else ""),
            }
        )
    for result in urls:
        item = result.get("item") or {}
        wanted = item.get("status", 200)
        wanted_list = [int(w) for w in (wanted if isinstance(wanted, list) else [wanted])]
        status = int(result.get("status", -1))
        checks.append(
            {
                "name": f"URL {item.get('url')} answers",
                "ok": status in wanted_list,
                "evidence": f"HTTP {status}, expected {wanted_list}"
                + ("" if status in wanted_list else f": {str(result.get('msg', ''))[:200]}"),
            }
        )
    return checks


def check_manifest(manifest: Any, now_epoch: float, max_age: int) -> dict[str, Any]:
    """The manifest if it is well formed and at most ``max_age`` seconds old, else PatchError saying why."""
    if not isinstance(manifest, Mapping):
        raise PatchError(f"the approval manifest is not a JSON object (got {type(manifest).__name__})")
    if manifest.get("format") != MANIFEST_FORMAT:
        raise PatchError(
            f"the approval manifest has format {manifest.get('format')!r}, expected {MANIFEST_FORMAT}"
        )
    hosts = manifest.get("hosts")
    if not isinstance(hosts, Mapping) or not hosts:
        raise PatchError("the approval manifest names no staging host")
    packages = manifest.get("packages")
    if not isinstance(packages, Mapping) or not all(
        isinstance(names, Mapping)
        and all(isinstance(v, list) and v and all(isinstance(x, str) for x in v) for v in names.values())
        for names in packages.values()
    ):
        raise PatchError("the approval manifest's packages must map release -> name -> list of versions")
    epoch = manifest.get("approved_epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool):
        raise PatchError("the approval manifest has no approved_epoch")
    age = now_epoch - epoch
    if age < -300:
        raise PatchError(f"the approval manifest is dated {manifest.get('approved_at')}, in the future")
    if age > max_age:
        raise PatchError(
            f"the approval manifest from {manifest.get('approved_at')} is {int(age) // 3600} h old; "
            f"policy allows {max_age // 3600} h: run stage 1 on staging again"
        )
    return dict(manifest)


def same_approval(old: Any, new: Mapping[str, Any]) -> bool:
    """Whether an existing manifest approves the same packages from the same hosts and scope."""
    keys = ("format", "scope", "hosts", "packages")
    return isinstance(old, Mapping) and all(old.get(k) == new.get(k) for k in keys)


def approved_names(manifest: Mapping[str, Any]) -> list[str]:
    """Every package name the manifest approves a version of, in any release."""
    return sorted({name for names in (manifest.get("packages") or {}).values() for name in names})


def _order(char: str) -> int:
    if char == "~":
        return -1
    if char.isdigit():
        return 0
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's verrevcmp: alternating non-digit runs (with ~ sorting first) and numbers."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _split_version(version: str) -> tuple[int, str, str]:
    epoch, sep, rest = version.partition(":")
    if not sep:
        epoch, rest = "0", version
    if not epoch.isdigit():
        raise PatchError(f"not a Debian version: {version!r}")
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        upstream, revision = rest, ""
    return int(epoch), upstream, revision


def compare_versions(a: str, b: str) -> int:
    """Debian version order (dpkg --compare-versions): negative, zero or positive."""
    ea, ua, ra = _split_version(a)
    eb, ub, rb = _split_version(b)
    if ea != eb:
        return ea - eb
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def plan(
    manifest: Mapping[str, Any], policy: Mapping[str, Mapping[str, Any]], release: str
) -> dict[str, Any]:
    """What one production host of ``release`` installs: exactly approved versions, never a downgrade.

    ``policy`` is the host's version tables (apt-cache policy) for the approved packages. A
    version is approved when a staging host ran it. For each installed package, the newest
    approved version that is newer than the installed one (Debian version order) and that the
    host's sources offer is installed exactly.

    Returns {install: [name=version], current, ahead, unavailable, tested_release}: ``current``
    already at an approved version; ``ahead`` newer than everything approved (left alone);
    ``unavailable`` a newer version approved on this host's own release that its sources no
    longer offer (withdrawn, so the host cannot get what was tested). Versions approved on
    another release only count where offered: ``tested_release`` says whether a staging host
    runs this release at all.
    """
    install: list[str] = []
    current: list[str] = []
    ahead: list[dict[str, Any]] = []
    unavailable: list[dict[str, Any]] = []
    by_release: Mapping[str, Mapping[str, list[str]]] = manifest.get("packages") or {}
    own = by_release.get(release, {})
    for name in approved_names(manifest):
        table = policy.get(name)
        if not table or not table.get("installed"):
            continue
        installed_version = table["installed"]
        approved = {v for names in by_release.values() for v in names.get(name, [])}
        if installed_version in approved:
            current.append(name)
            continue
        offered = {v["version"] for v in table.get("versions", [])}
        newer = [v for v in approved if compare_versions(v, installed_version) > 0]
        candidates = sorted((v for v in newer if v in offered), key=functools.cmp_to_key(compare_versions))
        entry = {"name": name, "installed": installed_version, "approved": sorted(approved)}
        if candidates:
            install.append(f"{name}={candidates[-1]}")
        elif any(compare_versions(v, installed_version) > 0 for v in own.get(name, [])):
            unavailable.append(entry)
        elif not newer:
            ahead.append(entry)
    return {
        "install": install,
        "current": current,
        "ahead": ahead,
        "unavailable": unavailable,
        "tested_release": release in by_release,
    }


def exposure(result: Mapping[str, Any]) -> dict[str, Any]:
    """One host's exposure from its patch_info result."""
    counts = result.get("counts") or {}
    return {
        "security": int(counts.get("security", 0)),
        "other": int(counts.get("other", 0)),
        "total": int(counts.get("total", 0)),
        "reboot_required": bool(result.get("reboot_required")),
        "reboot_packages": list(result.get("reboot_packages") or []),
        "security_packages": sorted(u["name"] for u in result.get("updates") or [] if u.get("security")),
    }


def fleet_report(results: Mapping[str, Any]) -> dict[str, Any]:
    """Hosts ranked by exposure: security updates, then reboot required, then all updates, then name."""
    hosts: list[dict[str, Any]] = []
    unreported: list[str] = []
    for host, result in results.items():
        if (
            not isinstance(result, Mapping)
            or result.get("failed")
            or not isinstance(result.get("counts"), Mapping)
        ):
            unreported.append(str(host))
            continue
        hosts.append({"host": str(host), **exposure(result)})
    hosts.sort(key=lambda h: (-h["security"], not h["reboot_required"], -h["total"], h["host"]))
    return {
        "hosts": hosts,
        "unreported": sorted(unreported),
        "totals": {
            "hosts": len(hosts),
            "security": sum(h["security"] for h in hosts),
            "updates": sum(h["total"] for h in hosts),
            "hosts_with_security_updates": sum(1 for h in hosts if h["security"]),
            "hosts_needing_reboot": sum(1 for h in hosts if h["reboot_required"]),
        },
    }


def audit_checks(result: Mapping[str, Any], max_age: int) -> list[dict[str, Any]]:
    """PAT-01's checks from one host's patch_info result.

    The patch level is known only if it was read from current package lists (refreshed by this
    run, or no older than ``max_age`` seconds) and every pending update could be classified by
    its origins (an update without an origin cannot be told to be a security update or not).
    """
    cache = result.get("cache") or {}
    age = cache.get("age")
    current = bool(cache.get("updated")) or (age is not None and int(age) <= max_age)
    lists = (
        "refreshed by this run"
        if cache.get("updated")
        else ("of unknown age" if age is None else f"{age} s old")
    )
    expo = exposure(result)
    updates = list(result.get("updates") or [])
    unclassified = sorted(str(u.get("name")) for u in updates if not u.get("origins"))
    reboot = (
        "reboot required by " + (", ".join(expo["reboot_packages"]) or "an unnamed package")
        if expo["reboot_required"]
        else "no reboot required"
    )
    return [
        {
            "name": "the package lists are current",
            "ok": current,
            "evidence": f"package lists {lists} (at most {max_age} s allowed)",
        },
        {
            "name": "every pending update is classified as security or not by its origin",
            "ok": not unclassified,
            "evidence": (
                f"{expo['total']} pending, {expo['security']} security "
                f"({', '.join(expo['security_packages']) or 'none'}), {expo['other']} other; {reboot}"
                + (f"; no origin for {', '.join(unclassified)}" if unclassified else "")
            ),
        },
    ]
