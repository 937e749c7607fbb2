"""Filters for RAC-03: find network file systems in the mount table, fstab and automount maps."""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: network_mounts
short_description: Network drives in /proc/self/mounts, fstab, automount maps and systemd mount units
description:
  - Takes the text of C(/proc/self/mounts), a dict of other mount tables (path to text) and the
    file-system types that count as network drives. Returns one entry per network mount found.
  - Tables named C(/etc/fstab) are parsed as fstab; C(/etc/auto.master) and C(/etc/auto.master.d/*.autofs)
    as automount master maps, where the built-in C(-hosts) map, a program map (Debian's C(auto.net)
    mounts NFS exports, C(auto.smb) CIFS shares; any other program's mounts cannot be known, so it is
    reported as such) and a map kept in a directory service (ldap, nis, sss, hesiod) are network
    automounts; any other C(/etc/auto.*) as an automount map; C(/etc/systemd/system/*.mount) as a
    systemd mount unit (C(Type=) and C(What=) of its C([Mount]) section).
positional: tables, fstypes, programs
options:
  _input:
    description: Text of /proc/self/mounts.
    type: str
    required: true
  tables:
    description: Path to text of fstab, automount maps and mount units.
    type: dict
    required: true
  fstypes:
    description: File-system types that are network drives, for example nfs, nfs4, cifs.
    type: list
    elements: str
    required: true
  programs:
    description: Paths of executable automount maps (program maps) found beside the tables.
    type: list
    elements: str
    default: []
"""

RETURN = r"""
_value:
  description: One dict per mount with source, target, fstype, where (the file it was found in,
    or C(mounted)), line (the line as found) and summary.
  type: list
  elements: dict
"""

_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def _entry(source: str, target: str, fstype: str, where: str, line: str) -> dict[str, str]:
    place = "mounted" if where == "mounted" else f"in {where}"
    return {
        "source": source,
        "target": target,
        "fstype": fstype,
        "where": where,
        "line": line,
        "summary": f"{fstype} {source} on {target} ({place})",
    }


def _table_lines(text: str) -> list[tuple[str, list[str]]]:
    rows = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            rows.append((raw, line.split()))
    return rows


def _mounted(text: str, fstypes: set[str]) -> list[dict[str, str]]:
    found = []
    for raw, fields in _table_lines(text):
        if len(fields) < 3:
            raise AnsibleFilterError(f"network_mounts: cannot read mount table line {raw!r}")
        if fields[2] in fstypes:
            found.append(_entry(_unescape(fields[0]), _unescape(fields[1]), fields[2], "mounted", raw))
    return found


def _fstab(path: str, text: str, fstypes: set[str]) -> list[dict[str, str]]:
    found = []
    for raw, fields in _table_lines(text):
        if len(fields) < 3:
            raise AnsibleFilterError(f"network_mounts: {path}: cannot read fstab line {raw!r}")
        if fields[2] in fstypes:
            found.append(_entry(_unescape(fields[0]), _unescape(fields[1]), fields[2], path, raw))
    return found


# Debian's autofs program maps and what they mount.
PROGRAM_MAPS = {"auto.net": "nfs", "auto.smb": "cifs"}
DIRECTORY_MAPS = ("ldap", "ldaps", "nis", "nisplus", "yp", "sss", "hesiod")
_MAP_SPEC = re.compile(r"^(?:(?P<type>[a-z]+)(?:,[a-z]+)?:)?(?P<map>.+)$")


def _master(path: str, text: str, fstypes: set[str], programs: set[str]) -> list[dict[str, str]]:
    """Entries of an automount master map (auto.master, auto.master.d/*.autofs) that mount network drives."""
    found = []
    for raw, fields in _table_lines(text):
        if fields[0].startswith("+") or len(fields) < 2:
            continue  # included maps (+auto.master, +dir:) are read on their own
        spec = _MAP_SPEC.match(fields[1])
        kind, name = (spec.group("type") or "", spec.group("map")) if spec else ("", fields[1])
        if fields[1] == "-hosts":
            found.append(_entry("-hosts", fields[0], "nfs", path, raw))
        elif kind in DIRECTORY_MAPS:
            found.append(_entry(fields[1], fields[0], f"automount map from {kind}", path, raw))
        elif kind == "program" or name in programs:
            fstype = PROGRAM_MAPS.get(name.rsplit("/", 1)[-1], "")
            if not fstype or fstype in fstypes:
                kind_of = fstype or "program map (mounts what it prints)"
                found.append(_entry(name, fields[0], kind_of, path, raw))
    return found


def _automount(path: str, text: str, fstypes: set[str]) -> list[dict[str, str]]:
    found = []
    for raw, fields in _table_lines(text):
        if fields[0].startswith("+") or len(fields) < 2:
            continue  # included maps (+auto.master) and bare keys carry no mount of their own
        options = [f for f in fields[1:-1] if f.startswith("-")]
        location = fields[-1]
        declared = next((o.split("fstype=", 1)[1].split(",", 1)[0] for o in options if "fstype=" in o), "")
        fstype = declared or ("cifs" if location.startswith("://") else "nfs" if ":/" in location else "")
        if fstype in fstypes:
            found.append(_entry(location, fields[0], fstype, path, raw))
    return found


def _mount_unit(path: str, text: str, fstypes: set[str]) -> list[dict[str, str]]:
    """A systemd .mount unit whose [Mount] Type= is a network file system."""
    section, settings = "", {}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Mount" and "=" in line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            settings[key.strip()] = value.strip()
    if settings.get("Type") not in fstypes:
        return []
    line = f"What={settings.get('What', '')} Where={settings.get('Where', '')} Type={settings['Type']}"
    return [_entry(settings.get("What", ""), settings.get("Where", ""), settings["Type"], path, line)]


def network_mounts(
    mounts: str, tables: dict[str, str], fstypes: list[str], programs: list[str] | None = None
) -> list[dict[str, str]]:
    if not isinstance(mounts, str) or not isinstance(tables, dict):
        raise AnsibleFilterError("network_mounts: expects mount-table text and a dict of path to text")
    wanted, executable = set(fstypes), set(programs or [])
    found = _mounted(mounts, wanted)
    for path, text in sorted(tables.items()):
        if path == "/etc/fstab":
            found += _fstab(path, text, wanted)
        elif path == "/etc/auto.master" or re.match(r"^/etc/auto\.master\.d/[^/]+\.autofs$", path):
            found += _master(path, text, wanted, executable)
        elif path.startswith("/etc/auto."):
            found += _automount(path, text, wanted)
        elif path.startswith("/etc/systemd/system/") and path.endswith(".mount"):
            found += _mount_unit(path, text, wanted)
        else:
            raise AnsibleFilterError(
                f"network_mounts: {path!r} is neither /etc/fstab, an /etc/auto.* map nor a systemd mount unit"
            )
    return found


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"network_mounts": network_mounts}
