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
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

FORMAT = 1
KINDS = ("files", "postgresql", "mysql")


def new_manifest(client: str, set_name: str, level: str, parent: str | None, full: str, created: datetime) -> dict[str, Any]:
    """An empty manifest for a set; objects are added as they are stored."""
    return {
        "format": FORMAT,
        "client": client,
        "set": set_name,
        "level": level,
        "parent": parent,
        "full": full,
        "created": created.astimezone(timezone.utc).isoformat(timespec="seconds"),
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
        missing = [k for k in ("source", "kind", "object", "plain_sha256", "plain_bytes", "cipher_sha256") if k not in entry]
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
    result: dict[str, Any] = {"signers": [], "bad_signatures": 0, "decrypted": False, "integrity": True,
                              "encrypted_to": [], "symmetric": False, "errors": []}
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
            result["errors"].append("a signature could not be checked (the signer's public key is not in the verifier's keyring)")
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


def _check(name: str, problems: Sequence[str], evidence_ok: str) -> dict[str, Any]:
    return {"name": name, "ok": not problems, "evidence": "; ".join(problems) if problems else evidence_ok}


def assess(
    client: str,
    target: str,
    expected: Mapping[str, Sequence[str]],
    newest: Mapping[str, Any] | None,
    chain: Sequence[Mapping[str, Any]],
    objects: Sequence[Mapping[str, Any]],
    previous_full: Mapping[str, Any] | None,
    now: datetime,
    max_age_hours: float,
    min_size_ratio: float,
) -> list[dict[str, Any]]:
    """The STO-04 checks of ``client``'s newest backup at ``target``.

    ``expected`` maps a kind to the declared source names; ``newest`` is the newest set's
    verification ({set, manifest or error, gpg problems}); ``chain`` the same for each set the
    newest one continues, back to its full backup (newest first); ``objects`` per object of the
    newest set: {source, object, stored_sha256 or missing, gpg problems, plain_sha256,
    structure problem}; ``previous_full`` the manifest of the full set before the newest full.
    """
    where = f"{client} at {target}"
    if newest is None:
        return [_check(f"a backup of {client} is stored at {target}", [f"no complete backup set of {where}"], "")]
    set_name = newest["set"]
    manifest = newest.get("manifest")
    checks = [
        _check(
            f"the newest backup's manifest is signed by {client}'s key and decrypts",
            [f"manifest of {set_name} at {target}: {p}" for p in newest.get("problems", [])],
            f"{set_name}: manifest decrypted, signature valid",
        )
    ]
    if not manifest:
        return checks
    created = datetime.fromisoformat(manifest["created"])
    age_hours = (now - created).total_seconds() / 3600
    checks.append(
        _check(
            f"the newest backup is at most {max_age_hours:g} h old",
            [f"the newest backup of {where} ({set_name}) is {age_hours:.1f} h old"] if age_hours > max_age_hours else [],
            f"{set_name} made {manifest['created']}, {age_hours:.1f} h ago",
        )
    )
    present = {(o["kind"], o["source"]) for o in manifest["objects"]}
    missing = [
        f"{kind} source {name} is not in {set_name} at {target}"
        for kind, names in expected.items()
        for name in names
        if (kind, name) not in present
    ]
    checks.append(
        _check(
            "every declared source is in the newest backup",
            missing,
            ", ".join(f"{k}:{n}" for k, n in sorted(present)) or "nothing declared",
        )
    )
    chain_problems = []
    for link in chain:
        for problem in link.get("problems", []):
            chain_problems.append(f"{link['set']} at {target}: {problem}")
    if chain and chain[-1].get("manifest") and chain[-1]["manifest"]["level"] != "full":
        chain_problems.append(f"the chain of {set_name} at {target} does not reach a full backup")
    checks.append(
        _check(
            "the chain back to the full backup is whole and signed",
            chain_problems,
            " <- ".join([set_name] + [link["set"] for link in chain]),
        )
    )
    object_problems = []
    for entry in objects:
        label = f"{entry['object']} in {set_name} at {target}"
        if entry.get("stored_sha256") is None:
            object_problems.append(f"{label} is missing")
            continue
        if entry["stored_sha256"] != entry["cipher_sha256"]:
            object_problems.append(f"{label} differs from what {client} stored (SHA-256): modified or truncated at the target")
        object_problems += [f"{label}: {p}" for p in entry.get("gpg_problems", [])]
        if entry.get("plain_sha256_found") and entry["plain_sha256_found"] != entry["plain_sha256"]:
            object_problems.append(f"{label} decrypts to different content than {client} backed up")
        if entry.get("structure"):
            object_problems.append(f"{label}: {entry['structure']}")
    notes = "".join(f"; {entry['note']}" for entry in objects if entry.get("note"))
    checks.append(
        _check(
            "every object of the newest backup decrypts with the verifier's key to what the client sent",
            object_problems,
            f"{len(objects)} objects decrypted, signatures valid, checksums equal, content read{notes}",
        )
    )
    size_problems = []
    if manifest["level"] == "full" and previous_full:
        before = {(o["kind"], o["source"]): o["plain_bytes"] for o in previous_full["objects"]}
        for entry in manifest["objects"]:
            old = before.get((entry["kind"], entry["source"]))
            if old and entry["plain_bytes"] < old * min_size_ratio:
                size_problems.append(
                    f"{entry['source']} in {set_name} at {target} is {entry['plain_bytes']} bytes, "
                    f"under {min_size_ratio:g} of the previous full backup's {old}"
                )
    checks.append(
        _check(
            f"full backups keep at least {min_size_ratio:g} of the previous full backup's size",
            size_problems,
            "no earlier full backup to compare with" if not previous_full or manifest["level"] != "full"
            else f"compared with {previous_full['set']}",
        )
    )
    return checks
