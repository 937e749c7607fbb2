# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic for Linux software RAID (md): /proc/mdstat, ``mdadm --detail``, a verdict.

Nothing here touches the host: every function takes strings or plain data, so it is
unit-tested against outputs captured in lab VMs (tests/fixtures/mdraid/). The module
``mdraid_info`` and the ``raid_health`` role's timer script do the I/O and call into this
file. Standard library only, Python 3.9+ syntax: the role copies this file to target hosts.

* :func:`parse_mdstat` reads /proc/mdstat (the kernel's ``md_seq_show`` in drivers/md/md.c);
* :func:`parse_detail` reads ``mdadm --detail /dev/mdX`` (mdadm's Detail.c);
* :func:`merge` combines both into one array record with its ``conditions``;
* :func:`verdict` applies a policy (which conditions fail, which warn) and writes the messages.

Conditions of an array, most severe first (:data:`CONDITIONS`): ``failed`` (too few members
to run: mdadm's ``FAILED``, the kernel's ``broken``), ``inactive`` (assembled but not started),
``degraded`` (members missing, no rebuild running), ``recovering`` (rebuilding onto a spare),
``faulty_member`` (a member marked faulty that is still in the array), ``resync_pending``
(needs a resync that has not started: read-only or delayed), ``resyncing``, ``reshaping``,
``checking`` (a scrub: check or repair). An array with none of them is ``clean``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

CONDITIONS = (
    "failed",
    "inactive",
    "degraded",
    "recovering",
    "faulty_member",
    "resync_pending",
    "resyncing",
    "reshaping",
    "checking",
)

# mdstat member flags (md.c): (F) faulty, (S) spare, (W) write-mostly, (R) replacement, (J) journal.
_MEMBER_FLAGS = {"F": "faulty", "S": "spare", "W": "write-mostly", "R": "replacement", "J": "journal"}
_HEADER = re.compile(r"^(?P<name>md[\w.-]*|md_d\d+)\s+:\s+(?P<rest>.*)$")
_MEMBER = re.compile(r"^(?P<dev>[^\s\[]+)\[(?P<number>\d+)\](?P<flags>(?:\([A-Z]\))*)$")
_BLOCKS = re.compile(r"^(?P<blocks>\d+) blocks(?: super (?P<super>\S+))?(?P<rest>.*)$")
_COUNT = re.compile(r"\[(?P<raid>\d+)/(?P<working>\d+)\]")
_MAP = re.compile(r"\[(?P<map>[U_]+)\]")
# "[==>....]  recovery = 12.6% (66048/524224) finish=0.3min speed=21800K/sec" (md.c status_resync)
_SYNC = re.compile(
    r"(?P<action>resync|recovery|reshape|check|repair)\s*=\s*(?P<pct>\d+(?:\.\d+)?)%"
    r"(?:\s*\((?P<done>\d+)/(?P<total>\d+)\))?"
    r"(?:\s*finish=(?P<finish>\d+(?:\.\d+)?)min)?"
    r"(?:\s*speed=(?P<speed>\d+)K/sec)?"
)
_SYNC_WAIT = re.compile(r"(?P<action>resync|recovery|reshape|check|repair)\s*=\s*(?P<what>DELAYED|PENDING)")
# mdadm --detail action status line: "Rebuild Status : 12% complete"
_DETAIL_STATUS = {
    "Rebuild Status": "recovery",
    "Resync Status": "resync",
    "Reshape Status": "reshape",
    "Check Status": "check",
}
_SYNC_CONDITION = {
    "resync": "resyncing",
    "recovery": "recovering",
    "reshape": "reshaping",
    "check": "checking",
    "repair": "checking",
}


class ParseError(ValueError):
    """The text is not what the parser reads (names the line)."""


def _device(name: str) -> str:
    return name if name.startswith("/") else f"/dev/{name}"


def parse_mdstat(text: str) -> dict[str, Any]:
    """Parse /proc/mdstat: ``{personalities, arrays: [...], unused}``.

    Each array: ``name``, ``device``, ``active`` (bool), ``read_only`` (``""``, ``read-only``,
    ``auto-read-only``), ``level`` (``raid1``...; ``None`` for an inactive array, which has no
    personality), ``members`` (``device``, ``number``, ``flags``), ``blocks``, ``metadata``,
    ``raid_disks``/``working_disks`` and ``map`` (``UU_``) when shown, ``sync`` (see
    :func:`_parse_sync`) and ``bitmap`` (the raw bitmap line). Raises :class:`ParseError` on
    text that is not mdstat (empty text is "no md driver": no arrays).
    """
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        return {"personalities": [], "arrays": [], "unused": []}
    if not lines[0].startswith("Personalities :"):
        raise ParseError(f"/proc/mdstat must start with 'Personalities :', got {lines[0][:80]!r}")
    result: dict[str, Any] = {
        "personalities": re.findall(r"\[(\w+)\]", lines[0]),
        "arrays": [],
        "unused": [],
    }
    current: dict[str, Any] | None = None
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if not line:
            current = None
            continue
        if line.startswith("unused devices:"):
            rest = line.split(":", 1)[1].strip()
            result["unused"] = [] if rest == "<none>" else rest.split()
            current = None
            continue
        header = _HEADER.match(line)
        if header and not raw[0].isspace():
            current = _parse_header(header.group("name"), header.group("rest"), number)
            result["arrays"].append(current)
            continue
        if current is None or not raw[0].isspace():
            raise ParseError(f"/proc/mdstat line {number} is not part of an array: {raw[:80]!r}")
        _parse_detail_line(current, line, number)
    return result


def _parse_header(name: str, rest: str, number: int) -> dict[str, Any]:
    words = rest.split()
    if not words or words[0] not in ("active", "inactive"):
        raise ParseError(f"/proc/mdstat line {number}: {name} is neither active nor inactive: {rest[:80]!r}")
    array: dict[str, Any] = {
        "name": name,
        "device": _device(name),
        "active": words[0] == "active",
        "read_only": "",
        "level": None,
        "members": [],
        "blocks": None,
        "metadata": None,
        "raid_disks": None,
        "working_disks": None,
        "map": None,
        "sync": None,
        "bitmap": None,
    }
    index = 1
    if index < len(words) and words[index] in ("(read-only)", "(auto-read-only)"):
        array["read_only"] = words[index].strip("()")
        index += 1
    if array["active"] and index < len(words) and not _MEMBER.match(words[index]):
        array["level"] = words[index]
        index += 1
    for word in words[index:]:
        member = _MEMBER.match(word)
        if not member:
            raise ParseError(f"/proc/mdstat line {number}: {name} member {word!r} is not DEV[N](FLAGS)")
        flags = [_MEMBER_FLAGS.get(flag, flag) for flag in re.findall(r"\(([A-Z])\)", member.group("flags"))]
        array["members"].append(
            {"device": _device(member.group("dev")), "number": int(member.group("number")), "flags": flags}
        )
    return array


def _parse_detail_line(array: dict[str, Any], line: str, number: int) -> None:
    blocks = _BLOCKS.match(line)
    if blocks:
        array["blocks"] = int(blocks.group("blocks"))
        array["metadata"] = blocks.group("super")
        counts = _COUNT.search(blocks.group("rest"))
        if counts:
            array["raid_disks"] = int(counts.group("raid"))
            array["working_disks"] = int(counts.group("working"))
        disk_map = _MAP.search(blocks.group("rest"))
        if disk_map:
            array["map"] = disk_map.group("map")
        return
    if line.startswith("bitmap:"):
        array["bitmap"] = line.split(":", 1)[1].strip()
        return
    sync = _parse_sync(line)
    if sync is not None:
        array["sync"] = sync
        return
    if line.startswith("[") or line.startswith("unused"):
        raise ParseError(f"/proc/mdstat line {number}: {array['name']}: unreadable line {line[:80]!r}")
    # Lines the kernel may add that carry nothing we report (e.g. a personality's own status).
    array.setdefault("other", []).append(line)


def _parse_sync(line: str) -> dict[str, Any] | None:
    """A resync line: ``{action, progress, done, total, finish_minutes, speed_kib, pending, delayed}``."""
    wait = _SYNC_WAIT.search(line)
    if wait:
        return {
            "action": wait.group("action"),
            "progress": None,
            "done": None,
            "total": None,
            "finish_minutes": None,
            "speed_kib": None,
            "pending": wait.group("what") == "PENDING",
            "delayed": wait.group("what") == "DELAYED",
        }
    sync = _SYNC.search(line)
    if not sync:
        return None
    return {
        "action": sync.group("action"),
        "progress": float(sync.group("pct")),
        "done": int(sync.group("done")) if sync.group("done") else None,
        "total": int(sync.group("total")) if sync.group("total") else None,
        "finish_minutes": float(sync.group("finish")) if sync.group("finish") else None,
        "speed_kib": int(sync.group("speed")) if sync.group("speed") else None,
        "pending": False,
        "delayed": False,
    }


def parse_detail(text: str) -> dict[str, Any]:
    """Parse ``mdadm --detail /dev/mdX``.

    Returns the ``Key : value`` fields under ``fields`` (keys as printed), and parsed:
    ``device``, ``level``, ``state_flags`` (``State : clean, degraded, recovering`` as a list),
    ``raid_devices``, ``total_devices``, ``active_devices``, ``working_devices``,
    ``failed_devices``, ``spare_devices`` (ints or None), ``metadata``, ``uuid``, ``array_name``,
    ``container`` (for a volume in an external-metadata container), ``member_arrays`` (for a
    container), ``sync_status`` (``{action, progress}`` from ``Rebuild Status : 12% complete``)
    and ``members``: ``number``, ``major``, ``minor``, ``role`` (slot int, or None for ``-``),
    ``device`` (None for an empty slot), ``states`` (words as printed) and ``state`` - one of
    ``active``, ``rebuilding``, ``spare``, ``faulty``, ``removed``, ``journal``, ``replacement``,
    ``member`` (a container's disk, which has no state). :class:`ParseError` on other text.
    """
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines or not re.match(r"^/\S+:\s*$", lines[0]):
        first = lines[0][:80] if lines else ""
        raise ParseError(f"mdadm --detail output must start with the device and a colon, got {first!r}")
    fields: dict[str, str] = {}
    members: list[dict[str, Any]] = []
    table = False
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if not line:
            continue
        if re.match(r"^Number\s+Major\s+Minor\s+RaidDevice", line):
            table = True
            continue
        if table:
            members.append(_parse_member(line, number))
            continue
        key, sep, value = line.partition(" : ")
        if not sep and line.endswith(" :"):
            key, sep, value = line[:-2], " : ", ""
        if not sep:
            if line.startswith("(") and line.endswith(")") and fields:
                # A continuation: DDF/IMSM print "Container GUID : ..." then "(Linux-MD 11/23/26 08:35:43)".
                last = next(reversed(fields))
                fields[last] = f"{fields[last]} {line}"
                continue
            raise ParseError(f"mdadm --detail line {number} is not 'Key : value': {raw[:80]!r}")
        fields[key.strip()] = value.strip()
    if "Raid Level" not in fields:
        raise ParseError("mdadm --detail output has no 'Raid Level' line")

    def count(key: str) -> int | None:
        value = fields.get(key)
        return int(value) if value is not None and value.isdigit() else None

    sync_status = None
    for key, action in _DETAIL_STATUS.items():
        if key in fields:
            match = re.match(r"(\d+)%", fields[key])
            sync_status = {"action": action, "progress": float(match.group(1)) if match else None}
    container = fields.get("Container")
    return {
        "device": lines[0].strip().rstrip(":").strip(),
        "fields": fields,
        "level": fields["Raid Level"],
        "state_flags": [flag.strip() for flag in fields.get("State", "").split(",") if flag.strip()],
        "raid_devices": count("Raid Devices"),
        "total_devices": count("Total Devices"),
        "active_devices": count("Active Devices"),
        "working_devices": count("Working Devices"),
        "failed_devices": count("Failed Devices"),
        "spare_devices": count("Spare Devices"),
        "metadata": fields.get("Version"),
        "uuid": (fields.get("UUID") or fields.get("Container GUID") or "").split(" ")[0] or None,
        "array_name": fields.get("Name", "").split()[0] if fields.get("Name") else None,
        "container": container.split(",")[0].strip() if container else None,
        "member_arrays": fields.get("Member Arrays", "").split(),
        "sync_status": sync_status,
        "members": members,
    }


def _parse_member(line: str, number: int) -> dict[str, Any]:
    words = line.split()
    if len(words) < 4:
        raise ParseError(f"mdadm --detail line {number} is not a member row: {line[:80]!r}")
    device = words[-1] if words[-1].startswith("/") else None
    states = words[4:-1] if device else words[4:]
    # A disk of an external-metadata container or of an inactive array: no role, no state.
    state = "member" if words[3] == "-" and not states and device else _member_state(states)
    return {
        "number": None if words[0] == "-" else int(words[0]),
        "major": int(words[1]) if words[1].isdigit() else None,
        "minor": int(words[2]) if words[2].isdigit() else None,
        "role": int(words[3]) if words[3].isdigit() else None,
        "device": device,
        "states": states,
        "state": state,
    }


def _member_state(states: list[str]) -> str:
    """One word for a member from mdadm's state words ("active sync", "spare rebuilding"...)."""
    words = set(states)
    for word in ("faulty", "removed", "rebuilding", "journal", "replacement", "spare"):
        if word in words:
            return word
    if "active" in words or "sync" in words:
        return "active"
    return " ".join(states) or "unknown"


def merge(mdstat_array: Mapping[str, Any], detail: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One array record from its mdstat entry and (when mdadm ran) its ``--detail``.

    The record: ``name``, ``device``, ``level``, ``state`` (the most severe condition, or
    ``clean``), ``conditions``, ``active``, ``read_only``, ``container``/``member_arrays`` for
    external metadata, ``metadata``, ``uuid``, ``size_kib``, ``raid_devices``,
    ``working_devices``, ``map``, ``sync`` (progress, speed, finish estimate), ``members`` (with
    roles from mdadm when available, else from mdstat's flags), ``detail_state`` (mdadm's State
    words) and ``summary`` (one line for a person).
    """
    level = (detail or {}).get("level") or mdstat_array.get("level")
    metadata = mdstat_array.get("metadata") or (detail or {}).get("metadata")
    is_container = level == "container" or (
        not mdstat_array.get("active")
        and isinstance(metadata, str)
        and metadata.startswith("external:")
        and "/" not in metadata
    )
    if is_container:
        level = "container"
    members = _members(mdstat_array, detail)
    flags = [flag.lower() for flag in (detail or {}).get("state_flags", [])]
    sync = dict(mdstat_array["sync"]) if mdstat_array.get("sync") else None
    if sync is None and detail and detail.get("sync_status"):
        sync = {
            "action": detail["sync_status"]["action"],
            "progress": detail["sync_status"]["progress"],
            "done": None,
            "total": None,
            "finish_minutes": None,
            "speed_kib": None,
            "pending": False,
            "delayed": False,
        }
    raid_disks = (
        mdstat_array.get("raid_disks")
        if mdstat_array.get("raid_disks") is not None
        else (detail or {}).get("raid_devices")
    )
    working = (
        mdstat_array.get("working_disks")
        if mdstat_array.get("working_disks") is not None
        else (detail or {}).get("active_devices")
    )

    conditions: list[str] = []
    if not is_container:
        if "failed" in flags or "broken" in flags or _beyond_redundancy(level, raid_disks, working):
            conditions.append("failed")
        if not mdstat_array.get("active") or "inactive" in flags:
            conditions.append("inactive")
        missing = raid_disks is not None and working is not None and working < raid_disks
        rebuilding = (
            sync is not None and sync["action"] == "recovery" and not sync["pending"] and not sync["delayed"]
        )
        if (missing or "degraded" in flags) and not rebuilding and "failed" not in conditions:
            conditions.append("degraded")
        if rebuilding or "recovering" in flags:
            conditions.append("recovering")
        if any(m["state"] == "faulty" for m in members):
            conditions.append("faulty_member")
        if sync is not None and (sync["pending"] or sync["delayed"]):
            conditions.append("resync_pending")
        elif sync is not None and sync["action"] != "recovery":
            conditions.append(_SYNC_CONDITION[sync["action"]])
        elif sync is None and ("resyncing" in flags):
            conditions.append("resyncing")
    ordered = [c for c in CONDITIONS if c in conditions]
    record: dict[str, Any] = {
        "name": mdstat_array["name"],
        "device": mdstat_array["device"],
        "level": level,
        "state": ordered[0] if ordered else "clean",
        "conditions": ordered,
        "active": bool(mdstat_array.get("active")),
        "read_only": mdstat_array.get("read_only", ""),
        "metadata": metadata,
        "container": _container_of(metadata, detail),
        "member_arrays": list((detail or {}).get("member_arrays", [])),
        "uuid": (detail or {}).get("uuid"),
        "size_kib": mdstat_array.get("blocks"),
        "raid_devices": raid_disks,
        "working_devices": working,
        "map": mdstat_array.get("map"),
        "sync": sync,
        "members": members,
        "detail_state": flags,
    }
    record["summary"] = summary(record)
    return record


def _beyond_redundancy(level: Any, raid_disks: int | None, working: int | None) -> bool:
    """More members missing than the level survives (from mdstat's [n/m] when mdadm is not there).

    raid10's tolerance depends on which members are missing, so it is left to mdadm's FAILED.
    """
    if raid_disks is None or working is None:
        return False
    tolerated = {"raid0": 0, "linear": 0, "raid4": 1, "raid5": 1, "raid6": 2, "raid1": raid_disks - 1}
    return level in tolerated and raid_disks - working > tolerated[level]


def _container_of(metadata: Any, detail: Mapping[str, Any] | None) -> str | None:
    if detail and detail.get("container"):
        return str(detail["container"])
    if isinstance(metadata, str) and metadata.startswith("external:/"):
        return "/dev/" + metadata[len("external:/") :].split("/")[0]
    return None


def _members(mdstat_array: Mapping[str, Any], detail: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if detail and detail.get("members"):
        return [
            {"device": m["device"], "role": m["role"], "state": m["state"], "states": list(m["states"])}
            for m in detail["members"]
        ]
    members = []
    for m in mdstat_array.get("members", []):
        flags = m["flags"]
        if "faulty" in flags:
            state = "faulty"
        elif "spare" in flags:
            state = "spare"
        elif "journal" in flags:
            state = "journal"
        elif "replacement" in flags:
            state = "replacement"
        else:
            state = "active"
        members.append({"device": m["device"], "role": None, "state": state, "states": list(flags)})
    return members


def summary(record: Mapping[str, Any]) -> str:
    """One line: "md0 raid1 degraded [U_] (/dev/vdb active, /dev/vdc faulty)"."""
    parts = [str(record["name"]), str(record["level"] or "unknown-level"), str(record["state"])]
    if record.get("map"):
        parts.append(f"[{record['map']}]")
    sync = record.get("sync")
    if sync:
        if sync["pending"] or sync["delayed"]:
            parts.append(f"{sync['action']}={'PENDING' if sync['pending'] else 'DELAYED'}")
        else:
            text = (
                f"{sync['action']} {sync['progress']:g}%" if sync["progress"] is not None else sync["action"]
            )
            if sync.get("finish_minutes") is not None:
                text += f" finish {sync['finish_minutes']:g}min"
            if sync.get("speed_kib") is not None:
                text += f" at {sync['speed_kib']}K/s"
            parts.append(text)
    members = ", ".join(
        f"{m['device'] or 'slot ' + str(m['role'])} {m['state']}" for m in record.get("members", [])
    )
    return " ".join(parts) + (f" ({members})" if members else "")


def assess(
    mdstat_text: str,
    details: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every array of a host: mdstat text plus ``{name: mdadm --detail text}`` (a name may be missing)."""
    details = details or {}
    arrays = []
    for entry in parse_mdstat(mdstat_text)["arrays"]:
        text = details.get(entry["name"])
        arrays.append(merge(entry, parse_detail(text) if text else None))
    return arrays


def verdict(
    arrays: Iterable[Mapping[str, Any]],
    fail_on: Iterable[str] = ("failed", "inactive", "degraded"),
    warn_on: Iterable[str] = ("recovering", "faulty_member", "resync_pending", "resyncing", "reshaping"),
) -> dict[str, Any]:
    """Apply a policy: ``{status: ok|warn|fail, failures: [...], warnings: [...]}``.

    Each message names the array, its level, the conditions and the members, so an operator
    knows what is wrong and where. A condition in both lists fails. Unknown conditions raise
    ValueError (a typo in a policy must not silently pass).
    """
    fail_set, warn_set = set(fail_on), set(warn_on)
    unknown = sorted((fail_set | warn_set) - set(CONDITIONS))
    if unknown:
        raise ValueError(f"unknown RAID condition(s) {', '.join(unknown)}; known: {', '.join(CONDITIONS)}")
    failures: list[str] = []
    warnings: list[str] = []
    for array in arrays:
        conditions = set(array["conditions"])
        if conditions & fail_set:
            failures.append(f"{array['device']}: {array['summary']}")
        elif conditions & warn_set:
            warnings.append(f"{array['device']}: {array['summary']}")
    status = "fail" if failures else "warn" if warnings else "ok"
    return {"status": status, "failures": failures, "warnings": warnings}
