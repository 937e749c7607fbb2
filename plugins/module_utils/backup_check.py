# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What makes a backup good: the manifest, GnuPG's verdict, and the STO-04 checks.

The client writes one manifest per set (what it backed up, the SHA-256 of each object before
and after encryption, the set it continues); the verifier at the target decrypts every object
of the newest set with its own key, and these pure functions turn what it found into checks:
fresh enough, complete, whole chain, signed by the client's key, and every object decrypting
to exactly what the client sent. Standard library only: this file is copied to the targets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

FORMAT = 1
KINDS = ("files", "postgresql", "mysql", "postgresql-base")
# PostgreSQL's default WAL segment size; the segments of one log id are 0x100000000 bytes in all.
SEGMENT_BYTES = 16 * 1024 * 1024


def new_manifest(
    client: str, set_name: str, level: str, *, parent: str | None, full: str, created: datetime
) -> dict[str, Any]:
    """An empty manifest for a set; objects are added as they are stored."""
    return {
        "format": FORMAT,
        "client": client,
        "set": set_name,
        "level": level,
        "parent": parent,
        "full": full,
        "created": created.astimezone(UTC).isoformat(timespec="seconds"),
        "objects": [],
    }


def load_manifest(text: str) -> dict[str, Any]:
    """Parse and validate a decrypted manifest; ValueError naming what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the manifest is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"the manifest is not format {FORMAT}")
    for key in ("client", "set", "level", "full", "created", "objects"):
        if key not in data:
            raise ValueError(f"the manifest has no {key!r}")
    for entry in data["objects"]:
        missing = [
            k
            for k in ("source", "kind", "object", "plain_sha256", "plain_bytes", "cipher_sha256")
            if k not in entry
        ]
        if missing:
            raise ValueError(f"manifest object {entry.get('object', '?')} lacks {', '.join(missing)}")
        if entry["kind"] not in KINDS:
            raise ValueError(f"manifest object {entry['object']} has unknown kind {entry['kind']!r}")
    return data


def parse_gpg_status(text: str) -> dict[str, Any]:
    """Read GnuPG's ``--status-fd`` lines from a decryption: who signed, whether it decrypted.

    ``signers`` are the primary-key fingerprints of valid signatures (VALIDSIG's last field),
    ``encrypted_to`` the key IDs the data was encrypted to (ENC_TO), ``symmetric`` whether a
    passphrase could decrypt it.
    """
    result: dict[str, Any] = {
        "signers": [],
        "bad_signatures": 0,
        "decrypted": False,
        "integrity": True,
        "encrypted_to": [],
        "symmetric": False,
        "errors": [],
    }
    for line in text.splitlines():
        if not line.startswith("[GNUPG:] "):
            continue
        words = line.split()[1:]
        keyword, args = words[0], words[1:]
        if keyword == "VALIDSIG" and args:
            result["signers"].append(args[-1].upper())
        elif keyword in ("BADSIG", "EXPKEYSIG", "REVKEYSIG"):
            result["bad_signatures"] += 1
        elif keyword == "ERRSIG":
            result["errors"].append(
                "a signature could not be checked (the signer's public key is not in the verifier's keyring)"
            )
        elif keyword == "DECRYPTION_OKAY":
            result["decrypted"] = True
        elif keyword == "DECRYPTION_FAILED":
            result["errors"].append("decryption failed")
        elif keyword == "BADMDC":
            result["integrity"] = False
        elif keyword == "ENC_TO" and args:
            result["encrypted_to"].append(args[0].upper())
        elif keyword in ("NEED_PASSPHRASE_SYM", "SYMKEY_ENC"):
            result["symmetric"] = True
        elif keyword == "NO_SECKEY" and args:
            result["errors"].append(f"no secret key for {args[0]}")
    return result


def decryption_problems(status: Mapping[str, Any], signer: str) -> list[str]:
    """Why a decryption does not prove the data (empty when it decrypted, intact, signed by ``signer``)."""
    problems = []
    if not status.get("decrypted"):
        problems.append("; ".join(status.get("errors") or []) or "it did not decrypt")
    if not status.get("integrity", True):
        problems.append("its integrity check (MDC) failed: the ciphertext was modified")
    if status.get("symmetric"):
        problems.append("it is encrypted with a passphrase, not only to public keys")
    if status.get("bad_signatures"):
        problems.append("it carries a bad signature")
    signers = status.get("signers") or []
    if signer.upper() not in signers:
        found = ", ".join(signers) or "no valid signature"
        problems.append(f"it is not signed by the client's key {signer.upper()} (found: {found})")
    return problems


def next_segment(name: str, segment_bytes: int = SEGMENT_BYTES) -> str:
    """The segment after ``name`` on the same timeline."""
    timeline, log_id, seg = int(name[:8], 16), int(name[8:16], 16), int(name[16:24], 16)
    per_id = 0x100000000 // segment_bytes
    log_id, seg = (log_id, seg + 1) if seg + 1 < per_id else (log_id + 1, 0)
    return f"{timeline:08X}{log_id:08X}{seg:08X}"


def parse_backup_history(text: str) -> dict[str, str]:
    """The label and the first and last WAL segments of a base backup, from the backup history file
    PostgreSQL writes to pg_wal when it ends (``<segment>.<offset>.backup``)."""
    found: dict[str, str] = {}
    for key, field in (("wal_start", "START WAL LOCATION"), ("wal_end", "STOP WAL LOCATION")):
        match = re.search(rf"^{field}: [0-9A-F]+/[0-9A-F]+ \(file ([0-9A-F]{{24}})\)$", text, re.MULTILINE)
        if not match:
            raise ValueError(f"the backup history file has no {field}")
        found[key] = match.group(1)
    label = re.search(r"^LABEL: (.*)$", text, re.MULTILINE)
    found["label"] = label.group(1) if label else ""
    return found


def wal_problems(wal: Mapping[str, Any], target: str) -> tuple[list[str], str]:
    """Why the archived WAL does not carry the newest base backup forward, and what was found.

    ``wal``: ``start`` and ``end`` (the base backup's segments), ``stored`` (WAL file name to its
    object names) and ``problems`` (object name to why it does not decrypt to the client's data).
    Every segment from ``start`` to the newest stored one on that timeline must be there, once.
    """
    stored: Mapping[str, Sequence[str]] = wal["stored"]
    start, end = wal["start"], wal["end"]
    timeline = start[:8]
    segments = sorted(n for n in stored if len(n) == 24 and n.startswith(timeline) and n >= start)
    newest = max([end, *segments])
    problems, checked, name = [], 0, start
    while name <= newest:
        if name not in stored:
            problems.append(f"WAL segment {name} is missing at {target}")
        else:
            checked += 1
            if len(stored[name]) > 1:
                problems.append(
                    f"WAL segment {name} arrived at {target} with {len(stored[name])} different contents"
                )
            problems += [
                f"WAL {obj} at {target}: {p}" for obj in stored[name] for p in wal["problems"].get(obj, [])
            ]
        name = next_segment(name)
    return problems, f"{checked} segments {start}..{newest}, each decrypted and signed by the client"


def _check(name: str, problems: Sequence[str], evidence_ok: str) -> dict[str, Any]:
    return {"name": name, "ok": not problems, "evidence": "; ".join(problems) if problems else evidence_ok}


def _chain_check(set_name: str, target: str, chain: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    problems = [
        f"{link['set']} at {target}: {problem}" for link in chain for problem in link.get("problems", [])
    ]
    if chain and chain[-1].get("manifest") and chain[-1]["manifest"]["level"] != "full":
        problems.append(f"the chain of {set_name} at {target} does not reach a full backup")
    return _check(
        "the chain back to the full backup is whole and signed",
        problems,
        " <- ".join([set_name] + [link["set"] for link in chain]),
    )


def _object_problems(entry: Mapping[str, Any], label: str, client: str) -> list[str]:
    if entry.get("stored_sha256") is None:
        return [f"{label} is missing"]
    problems = []
    if entry["stored_sha256"] != entry["cipher_sha256"]:
        problems.append(
            f"{label} differs from what {client} stored (SHA-256): modified or truncated at the target"
        )
    problems += [f"{label}: {p}" for p in entry.get("gpg_problems", [])]
    if entry.get("plain_sha256_found") and entry["plain_sha256_found"] != entry["plain_sha256"]:
        problems.append(f"{label} decrypts to different content than {client} backed up")
    if entry.get("structure"):
        problems.append(f"{label}: {entry['structure']}")
    return problems


def _size_check(
    manifest: Mapping[str, Any], previous_full: Mapping[str, Any] | None, target: str, ratio: float
) -> dict[str, Any]:
    problems = []
    if manifest["level"] == "full" and previous_full:
        before = {(o["kind"], o["source"]): o["plain_bytes"] for o in previous_full["objects"]}
        for entry in manifest["objects"]:
            old = before.get((entry["kind"], entry["source"]))
            if old and entry["plain_bytes"] < old * ratio:
                problems.append(
                    f"{entry['source']} in {manifest['set']} at {target} is {entry['plain_bytes']} bytes, "
                    f"under {ratio:g} of the previous full backup's {old}"
                )
    compared = (
        f"compared with {previous_full['set']}"
        if previous_full and manifest["level"] == "full"
        else "no earlier full backup to compare with"
    )
    return _check(
        f"full backups keep at least {ratio:g} of the previous full backup's size", problems, compared
    )


def assess(
    found: Mapping[str, Any], *, now: datetime, max_age_hours: float, min_size_ratio: float
) -> list[dict[str, Any]]:
    """The STO-04 checks of a client's newest backup at a target, from what the verifier found.

    ``found``: ``client``, ``target``, ``expected`` (kind to the declared source names),
    ``newest`` (the newest set's manifest verification: {set, manifest or None, problems}, or
    None when there is no complete set), ``chain`` (the same for each set the newest continues,
    back to its full backup, newest first), ``objects`` (per object of the newest set: its
    manifest entry with stored_sha256 (None when missing), gpg_problems, plain_sha256_found,
    structure, note) and ``previous_full`` (the manifest of the full set before the newest full).
    """
    client, target = found["client"], found["target"]
    newest = found["newest"]
    if newest is None:
        missing = [f"no complete backup set of {client} at {target}"]
        return [_check(f"a backup of {client} is stored at {target}", missing, "")]
    set_name, manifest = newest["set"], newest.get("manifest")
    checks = [
        _check(
            f"the newest backup's manifest is signed by {client}'s key and decrypts",
            [f"manifest of {set_name} at {target}: {p}" for p in newest.get("problems", [])],
            f"{set_name}: manifest decrypted, signature valid",
        )
    ]
    if not manifest:
        return checks
    age_hours = (now - datetime.fromisoformat(manifest["created"])).total_seconds() / 3600
    stale = age_hours > max_age_hours
    checks.append(
        _check(
            f"the newest backup is at most {max_age_hours:g} h old",
            [f"the newest backup of {client} at {target} ({set_name}) is {age_hours:.1f} h old"]
            if stale
            else [],
            f"{set_name} made {manifest['created']}, {age_hours:.1f} h ago",
        )
    )
    present = {(o["kind"], o["source"]) for o in manifest["objects"]}
    missing = [
        f"{kind} source {name} is not in {set_name} at {target}"
        for kind, names in found["expected"].items()
        for name in names
        if (kind, name) not in present
    ]
    listed = ", ".join(f"{k}:{n}" for k, n in sorted(present)) or "nothing declared"
    checks.append(_check("every declared source is in the newest backup", missing, listed))
    checks.append(_chain_check(set_name, target, found["chain"]))
    objects = found["objects"]
    problems = [
        problem
        for entry in objects
        for problem in _object_problems(entry, f"{entry['object']} in {set_name} at {target}", client)
    ]
    notes = "".join(f"; {entry['note']}" for entry in objects if entry.get("note"))
    checks.append(
        _check(
            "every object of the newest backup decrypts with the verifier's key to what the client sent",
            problems,
            f"{len(objects)} objects decrypted, signatures valid, checksums equal, content read{notes}",
        )
    )
    checks.append(_size_check(manifest, found["previous_full"], target, min_size_ratio))
    if found.get("wal"):
        problems, evidence = wal_problems(found["wal"], target)
        checks.append(
            _check(
                "the write-ahead log is archived without a gap since the newest base backup",
                problems,
                evidence,
            )
        )
    return checks
