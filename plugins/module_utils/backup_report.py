# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A backup client's controls (STO-03, STO-04, STO-05, ENC-02), from evidence read on it and its targets.

Everything here is decided from what was read: the timer's state and the last run's result on
the client, the host keys pinned there and published by each target, the client's keyring, and
each target's verifier result. Nothing passes unproven: a target not set up, a backup never
verified, a verifier that stopped running are failed checks that say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any


def _check(name: str, ok: bool, evidence: str) -> dict[str, Any]:
    return {"name": name, "ok": bool(ok), "evidence": evidence}


def _systemctl_show(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (text or "").splitlines() if "=" in line)


def signer_of(secret_keys: Sequence[Mapping[str, Any]], user_id: str) -> str:
    """The fingerprint of the signing key with ``user_id`` among a keyring's keys ('' when there is none)."""
    return next((str(k["fingerprint"]) for k in secret_keys if user_id in k["user_ids"]), "")


def client_targets(
    targets: Sequence[Mapping[str, Any]], *, etc: str, identity: str, account: str
) -> list[dict[str, Any]]:
    """The target entries of the client program's settings (only targets that are set up).

    Each target carries ``keys``: the descriptions of the keys its copies are encrypted to.
    """
    out = []
    for target in targets:
        info = target["info"]
        out.append(
            {
                "name": target["name"],
                "kind": target["kind"],
                "address": info["address"],
                "port": int(info["port"]),
                "user": account,
                "known_hosts": f"{etc}/known_hosts.{target['name']}",
                "identity": identity,
                "recipients": [key["fingerprint"] for key in target["keys"]],
            }
        )
    return out


def status_checks(
    status: Mapping[str, Any] | None, target: str, now: float, max_age_hours: float
) -> list[dict[str, Any]]:
    """The verifier's checks at ``target`` with the target named, plus: the verification is recent."""
    if status is None:
        return [
            _check(
                f"{target}: the backups were verified",
                False,
                f"{target} has no verification result for this host "
                "(rampart-backup-verify has not run since it was registered)",
            )
        ]
    age = (now - datetime.fromisoformat(status["checked"]).timestamp()) / 3600
    checks = [
        _check(
            f"{target}: the backups were verified within {max_age_hours:g} h",
            age <= max_age_hours,
            f"verified {status['checked']} ({age:.1f} h ago) by rampart-backup-verify at {target}",
        )
    ]
    return checks + [_check(f"{target}: {c['name']}", c["ok"], c["evidence"]) for c in status["checks"]]


def archiver_check(archiver: Mapping[str, Any] | None, command: str) -> dict[str, Any]:
    """STO-03 with continuous archiving: PostgreSQL runs this role's archive command and its archiver
    has not failed since it last succeeded (pg_stat_archiver)."""
    name = "PostgreSQL archives every WAL segment to the targets (continuous archiving)"
    if archiver is None:
        return _check(name, False, "pg_stat_archiver could not be read: is PostgreSQL running?")
    problems = []
    if archiver.get("archive_mode") not in ("on", "always"):
        problems.append(f"archive_mode is {archiver.get('archive_mode')}")
    if archiver.get("archive_command") != command:
        problems.append(f"archive_command is {archiver.get('archive_command')!r}, not {command!r}")
    failed, archived = archiver.get("last_failed_time"), archiver.get("last_archived_time")
    if failed and (not archived or failed >= archived):
        problems.append(f"the last attempt failed: {archiver.get('last_failed_wal')} at {failed}")
    summary = (
        f"{archiver.get('archived_count', 0)} segments archived, the last "
        f"{archiver.get('last_archived_wal') or 'none'} at {archived or 'never'}; "
        f"{archiver.get('failed_count', 0)} failed attempts"
    )
    return _check(name, not problems, "; ".join([*problems, summary]))


def controls(evidence: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The checks of STO-03, STO-04, STO-05 and ENC-02 (STO-05 empty: no additional target).

    ``evidence``: ``now`` (Unix time), ``max_age_hours``, ``timer`` (systemctl show output of the
    timer), ``last_run`` (the program's last-run.json, or None), ``known_hosts`` (target name to
    the pinned line read on the client, or None), ``secret_keys`` and ``signer_uid`` (the client's
    keyring and its signing key's user ID), ``targets`` (each with name, kind, host, info, status, keys: the
    fingerprints and subkey fingerprints of the keys it encrypts to).
    """
    now, max_age = float(evidence["now"]), float(evidence["max_age_hours"])
    timer = _systemctl_show(evidence.get("timer", ""))
    sto03 = [
        _check(
            "the nightly backup timer is enabled and active",
            timer.get("UnitFileState") == "enabled" and timer.get("ActiveState") == "active",
            f"rampart-backup.timer: {timer.get('UnitFileState', 'not installed')}, "
            f"{timer.get('ActiveState', 'inactive')}"
            + (
                f", next run {timer['NextElapseUSecRealtime']}" if timer.get("NextElapseUSecRealtime") else ""
            ),
        )
    ]
    if evidence.get("wal"):
        sto03.append(archiver_check(evidence.get("archiver"), str(evidence.get("archive_command", ""))))
    last = evidence.get("last_run")
    sto04: list[dict[str, Any]] = []
    sto05: list[dict[str, Any]] = []
    enc02: list[dict[str, Any]] = []
    secret = [k for k in evidence.get("secret_keys", []) if k.get("kind") == "sec"]
    signer = signer_of(secret, evidence["signer_uid"])
    others = [k["fingerprint"] for k in secret if k["fingerprint"] != signer]
    signer_key = next((k for k in secret if k["fingerprint"] == signer), None)
    can_decrypt = bool(signer_key and ("e" in signer_key["capabilities"].lower() or signer_key["subkeys"]))
    enc02.append(
        _check(
            "this host holds no secret key but its own signing key, which cannot decrypt",
            bool(signer_key) and not others and not can_decrypt,
            (
                f"secret keys here: {', '.join(k['fingerprint'] for k in secret) or 'none'}; "
                f"signing key {signer or 'missing'}"
                + (
                    f" can decrypt (capabilities {signer_key['capabilities']})"
                    if can_decrypt and signer_key
                    else ""
                )
                + (f"; unexpected secret keys {', '.join(others)}" if others else "")
            ),
        )
    )
    for target in evidence["targets"]:
        name, info = target["name"], target.get("info")
        if info is None:
            failure = _check(
                f"{name}: the target is set up",
                False,
                f"{target['host']} publishes no /etc/rampart-backup/target.json: "
                "run backup_target there first",
            )
            for bucket in (sto03, enc02, sto04 if target["kind"] == "secondary" else sto05):
                bucket.append(failure)
            continue
        pinned = (evidence.get("known_hosts") or {}).get(name)
        expected = f"[{info['address']}]:{info['port']} {info['host_key']}"
        sto03.append(
            _check(
                f"{name}: SSH to the target is pinned to its backup host key",
                (pinned or "").strip() == expected,
                f"pinned: {(pinned or 'nothing').strip()}; {target['host']} presents {info['host_key']}",
            )
        )
        run = (last or {}).get("targets", {}).get(name)
        if not last or not run:
            sto03.append(
                _check(
                    f"{name}: the last run stored a backup there",
                    False,
                    "no backup has run to this target yet",
                )
            )
        elif run.get("error"):
            sto03.append(
                _check(
                    f"{name}: the last run stored a backup there",
                    False,
                    f"the run of {last['time']} failed: {run['error']}",
                )
            )
        else:
            age = (now - datetime.fromisoformat(last["time"]).timestamp()) / 3600
            sto03.append(
                _check(
                    f"{name}: the last run stored a backup there within {max_age:g} h",
                    age <= max_age,
                    f"{run['set']} ({run['level']}, {run['objects']} objects, {run['bytes']} bytes) "
                    f"stored {last['time']}, {age:.1f} h ago",
                )
            )
        status = target.get("status")
        checks = status_checks(status, name, now, max_age)
        (sto04 if target["kind"] == "secondary" else sto05).extend(checks)
        allowed = {
            fpr[-16:].upper()
            for key in target["keys"]
            for fpr in [key["fingerprint"], *key.get("subkeys", [])]
        }
        found = set((status or {}).get("encrypted_to") or [])
        enc02.append(
            _check(
                f"{name}: the newest backup is encrypted to the recipients' public keys only",
                bool(found) and found <= allowed,
                (
                    f"encrypted to {', '.join(sorted(found))}; recipients' keys {', '.join(sorted(allowed))}"
                    if found
                    else f"no verified backup at {name} shows whom it is encrypted to yet"
                ),
            )
        )
    return {"STO-03": sto03, "STO-04": sto04, "STO-05": sto05, "ENC-02": enc02}
