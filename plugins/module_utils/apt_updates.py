# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The apt backend of patch_info (PAT-01): parsers for apt's own output, and the commands.

Pure parsers take apt's text and return plain data, so they are tested against captured real
output (tests/fixtures/apt/). ``AptBackend`` runs the commands through a callable, so the module
and the tests can hand it ``AnsibleModule.run_command`` or a stand-in.

- ``apt-get -s dist-upgrade`` (or ``upgrade``) prints one line per action, from apt's
  ``pkgSimulate``: ``Inst NAME [INSTALLED] (CANDIDATE RELEASES [ARCH]) [BROKEN...]``,
  ``Conf NAME (...)``, ``Remv NAME [INSTALLED]``. RELEASES is apt's ``RelStr``: the files the
  candidate comes from, ``LABEL:VERSION/ARCHIVE`` each, separated by ``, ``.
- ``apt-cache policy NAME...`` prints, per package, the installed and candidate versions and
  the version table, newest first (apt sorts it), each version with its sources.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.patch import (
    PatchError,
    Update,
    classify,
    parse_origins,
)

# argv -> (rc, stdout, stderr)
Runner = Callable[[list[str]], tuple[int, str, str]]

_INST = re.compile(
    r"^Inst (?P<name>\S+)"
    r"(?: \[(?P<installed>[^\]]*)\])?"
    r" \((?P<candidate>\S+)(?: (?!\[)(?P<releases>.*?))?(?: \[(?P<arch>[^\]\s]+)\])?\)"
    r"(?: \[[^\]]*\])*$"
)
_REMV = re.compile(r"^Remv (?P<name>\S+)(?: \[(?P<installed>[^\]]*)\])?(?: \[[^\]]*\])*$")
_KEPT = "The following packages have been kept back:"

_POLICY_VERSION = re.compile(r"^ (?P<mark>\*\*\*|   ) (?P<version>\S+) (?P<priority>-?\d+)$")
_POLICY_SOURCE = re.compile(r"^ {8}(?P<priority>-?\d+) (?P<source>.+)$")

ENV = {"LC_ALL": "C", "LANG": "C", "LANGUAGE": "C", "DEBIAN_FRONTEND": "noninteractive"}


def parse_simulation(
    text: str,
    security_labels: Sequence[str] = ("Debian-Security",),
    security_suites: Sequence[str] = ("*-security",),
) -> dict[str, Any]:
    """Parse ``apt-get -s dist-upgrade`` into {updates, removals, kept_back}.

    An update is {name, arch, installed (None when newly installed), candidate, origins,
    security}; see patch.classify for the security rule. A line that starts like an action
    but does not parse raises PatchError naming it: apt changed its format, or this is not
    apt's output, and a report built on a guess would be wrong.
    """
    updates: list[Update] = []
    removals: list[dict[str, str | None]] = []
    kept_back: list[str] = []
    in_kept = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_kept:
            if line.startswith("  "):
                kept_back.extend(line.split())
                continue
            in_kept = False
        if line == _KEPT:
            in_kept = True
        elif line.startswith("Inst "):
            match = _INST.match(line)
            if match is None:
                raise PatchError(f"apt simulation line {number} does not parse: {line!r}")
            origins = parse_origins(match.group("releases") or "")
            updates.append(
                {
                    "name": match.group("name"),
                    "arch": match.group("arch"),
                    "installed": match.group("installed"),
                    "candidate": match.group("candidate"),
                    "origins": origins,
                    "security": classify(origins, security_labels, security_suites),
                }
            )
        elif line.startswith("Remv "):
            match = _REMV.match(line)
            if match is None:
                raise PatchError(f"apt simulation line {number} does not parse: {line!r}")
            removals.append({"name": match.group("name"), "installed": match.group("installed")})
    updates.sort(key=lambda u: u["name"])
    removals.sort(key=lambda r: str(r["name"]))
    return {"updates": updates, "removals": removals, "kept_back": sorted(kept_back)}


def parse_policy(text: str) -> dict[str, dict[str, Any]]:
    """Parse ``apt-cache policy NAME...`` into {name: {installed, candidate, versions}}.

    ``versions`` keeps apt's order (newest first): [{version, installed, sources: [{priority,
    source}]}]. ``(none)`` becomes None. Lines that fit nothing (apt's ``N:`` notes for unknown
    names, pin lines) are skipped; a version or source line outside a package raises PatchError.
    """
    result: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if not line.startswith(" ") and line.endswith(":") and " " not in line:
            current = {"installed": None, "candidate": None, "versions": []}
            result[line[:-1]] = current
            continue
        stripped = line.strip()
        if stripped.startswith(("Installed:", "Candidate:")):
            if current is None:
                raise PatchError(f"apt-cache policy line {number} outside a package: {line!r}")
            key, value = stripped.split(":", 1)
            value = value.strip()
            current[key.lower()] = None if value == "(none)" else value
            continue
        version = _POLICY_VERSION.match(line)
        source = _POLICY_SOURCE.match(line)
        if version is not None or source is not None:
            if current is None:
                raise PatchError(f"apt-cache policy line {number} outside a package: {line!r}")
            if version is not None:
                current["versions"].append(
                    {
                        "version": version.group("version"),
                        "installed": version.group("mark") == "***",
                        "sources": [],
                    }
                )
            elif current["versions"]:
                current["versions"][-1]["sources"].append(
                    {"priority": int(source.group("priority")), "source": source.group("source")}  # type: ignore[union-attr]
                )
    return result


class AptBackend:
    """Pending updates, version tables and the package lists' age, through apt's commands."""

    name = "apt"
    lists_dir = "/var/lib/apt/lists"
    stamp = "/var/lib/apt/periodic/update-success-stamp"

    def __init__(self, run: Runner, apt_get: str, apt_cache: str) -> None:
        self.run = run
        self.apt_get = apt_get
        self.apt_cache = apt_cache

    def _checked(self, argv: list[str]) -> str:
        rc, out, err = self.run(argv)
        if rc != 0:
            raise PatchError(f"{' '.join(argv)} failed (rc {rc}): {(err or out).strip()}")
        return out

    def cache_age(self, now: float | None = None) -> float | None:
        """Seconds since the lists were last refreshed (read as the apt module does), None if unknown."""
        now = time.time() if now is None else now
        for path in (Path(self.stamp), Path(self.lists_dir)):
            if path.exists():
                return max(0.0, now - path.stat().st_mtime)
        return None

    def refresh(self) -> None:
        self._checked([self.apt_get, "-q", "update"])

    def pending(
        self, mode: str, security_labels: Sequence[str], security_suites: Sequence[str]
    ) -> dict[str, Any]:
        # -s simulates: nothing is installed, and no lock is taken that would stop apt elsewhere.
        out = self._checked([self.apt_get, "-s", "-q", "-o", "Debug::NoLocking=1", mode])
        return parse_simulation(out, security_labels, security_suites)

    def policy(self, names: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not names:
            return {}
        # Unknown names only print a note on stderr; rc stays 0.
        return parse_policy(self._checked([self.apt_cache, "policy", *names]))
