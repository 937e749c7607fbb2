"""Filters for RAC-03: find network file systems in the mount table, fstab and automount maps."""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: network_mounts
short_description: Network drives in /proc/self/mounts, fstab and automount maps
description:
  - Takes the text of C(/proc/self/mounts), a dict of other mount tables (path to text) and the
    file-system types that count as network drives. Returns one entry per network mount found.
  - Tables named C(/etc/fstab) are parsed as fstab, C(/etc/auto.master) as the automount master
    map (the built-in C(-hosts) map mounts NFS), any other C(/etc/auto.*) as an automount map.
positional: tables, fstypes
options:
  _input:
    description: Text of /proc/self/mounts.
    type: str
    required: true
  tables:
    description: Path to text of fstab and automount maps.
    type: dict
    required: true
  fstypes:
    description: File-system types that are network drives, for example nfs, nfs4, cifs.
    type: list
    elements: str
    required: true
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


def _automount(path: str, text: str, fstypes: set[str]) -> list[dict[str, str]]:
    found = []
    master = path.endswith("auto.master")
    for raw, fields in _table_lines(text):
        if fields[0].startswith("+") or len(fields) < 2:
            continue  # included maps (+auto.master) and bare keys carry no mount of their own
        if master:
            if fields[1] == "-hosts":
                found.append(_entry("-hosts", fields[0], "nfs", path, raw))
            continue
        options = [f for f in fields[1:-1] if f.startswith("-")]
        location = fields[-1]
        declared = next((o.split("fstype=", 1)[1].split(",", 1)[0] for o in options if "fstype=" in o), "")
        fstype = declared or ("cifs" if location.startswith("://") else "nfs" if ":/" in location else "")
        if fstype in fstypes:
            found.append(_entry(location, fields[0], fstype, path, raw))
    return found


def network_mounts(mounts: str, tables: dict[str, str], fstypes: list[str]) -> list[dict[str, str]]:
    if not isinstance(mounts, str) or not isinstance(tables, dict):
        raise AnsibleFilterError("network_mounts: expects mount-table text and a dict of path to text")
    wanted = set(fstypes)
    found = _mounted(mounts, wanted)
    for path, text in sorted(tables.items()):
        if path == "/etc/fstab":
            found += _fstab(path, text, wanted)
        elif path.startswith("/etc/auto."):
            found += _automount(path, text, wanted)
        else:
            raise AnsibleFilterError(f"network_mounts: {path!r} is neither /etc/fstab nor an /etc/auto.* map")
    return found


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"network_mounts": network_mounts}
