# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the backup roles: keys from the inventory, the client's settings, and the backup controls."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.module_utils.backup_input import input_problems
from ansible_collections.rampart.hardening.plugins.module_utils.backup_report import (
    client_targets,
    controls,
    signer_of,
)
from ansible_collections.rampart.hardening.plugins.module_utils.openpgp import parse_colons, read_key


def openpgp_key(text: Any) -> dict[str, Any]:
    """Describe an ASCII-armored key: kind (public, secret, or invalid with an error), fingerprint."""
    if not isinstance(text, str):
        return {
            "kind": "invalid",
            "error": f"expected an ASCII-armored key as a string, got {type(text).__name__}",
        }
    try:
        return read_key(text)
    except (ValueError, IndexError) as exc:
        return {"kind": "invalid", "error": str(exc) or "the key block is malformed"}


def gpg_keyring(text: Any) -> list[dict[str, Any]]:
    """The keys in ``gpg --with-colons --list-keys`` (or ``--list-secret-keys``) output."""
    if not isinstance(text, str):
        raise AnsibleFilterError(
            f"gpg_keyring: expected gpg's --with-colons output as a string, got {text!r}"
        )
    return parse_colons(text)


def backup_signer(keys: Any, user_id: str) -> str:
    """The fingerprint of the signing key with ``user_id`` among gpg_keyring's keys ('' when none)."""
    try:
        return signer_of(keys, user_id)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"backup_signer: expected gpg_keyring's keys, got {keys!r}") from exc


def backup_input_problems(settings: Any, inventory_hosts: Any, account: str) -> list[str]:
    """Every problem with backup_client's input (``settings``: targets, recipients, paths, databases, wal)."""
    if not isinstance(settings, Mapping):
        raise AnsibleFilterError(
            f"backup_input_problems: expected a dict of the role's settings, got {settings!r}"
        )
    try:
        return input_problems(
            settings.get("targets") or [],
            settings.get("recipients") or [],
            settings.get("paths") or [],
            databases=settings.get("databases") or [],
            inventory_hosts=list(inventory_hosts),
            account=account,
            wal=bool(settings.get("wal")),
        )
    except (AttributeError, TypeError) as exc:
        raise AnsibleFilterError(f"backup_input_problems: {exc}") from exc


def backup_targets(results: Any, recipients: Any) -> list[dict[str, Any]]:
    """Each backup_client target with ``kind`` defaulted, ``info`` and ``keys``.

    ``results`` are the loop results of reading /etc/rampart-backup/target.json on each target:
    ``info`` is what the target publishes, or None where it is not set up. ``keys`` describe the
    keys its copies are encrypted to: the target's own ``recipients``, else the role's.
    """
    if not isinstance(results, list):
        raise AnsibleFilterError(f"backup_targets: expected the loop's results, got {results!r}")
    try:
        default_keys = [read_key(k) for k in recipients]
        out = []
        for result in results:
            target = {"kind": "secondary", **result["item"]}
            target["info"] = json.loads(result["stdout"]) if result.get("rc") == 0 else None
            own = target.get("recipients")
            target["keys"] = [read_key(k) for k in own] if own else default_keys
            out.append(target)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"backup_targets: {exc}") from exc
    return out


def backup_client_targets(targets: Any, etc: str, identity: str, account: str) -> list[dict[str, Any]]:
    """The target entries of the backup program's settings, with the recipients' fingerprints."""
    try:
        return client_targets(targets, etc=etc, identity=identity, account=account)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"backup_client_targets: {exc}") from exc


def backup_controls(evidence: Any) -> dict[str, list[dict[str, Any]]]:
    """The STO-03, STO-04, STO-05 and ENC-02 checks of a backup client, from evidence."""
    if not isinstance(evidence, Mapping):
        raise AnsibleFilterError(f"backup_controls: expected a dict of evidence, got {evidence!r}")
    try:
        statuses = {
            r["item"]["name"]: json.loads(r["stdout"])
            for r in evidence.get("statuses", [])
            if r.get("rc") == 0
        }
        targets = [{**t, "status": statuses.get(t["name"])} for t in evidence["targets"]]
        return controls({**evidence, "targets": targets})
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"backup_controls: {exc}") from exc


class FilterModule:
    """rampart.hardening backup filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "openpgp_key": openpgp_key,
            "gpg_keyring": gpg_keyring,
            "backup_signer": backup_signer,
            "backup_input_problems": backup_input_problems,
            "backup_client_targets": backup_client_targets,
            "backup_controls": backup_controls,
            "backup_targets": backup_targets,
        }
