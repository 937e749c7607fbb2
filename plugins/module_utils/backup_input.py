# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is wrong with a backup_client's input, every problem named (checked before anything changes)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .openpgp import read_key

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
ACCOUNT = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
HOST_KEY = re.compile(r"^ssh-ed25519 [A-Za-z0-9+/=]{60,}( .*)?$")


def _key_problem(text: Any, where: str) -> str | None:
    if not isinstance(text, str):
        return f"{where} is not an ASCII-armored key"
    try:
        key = read_key(text)
    except (ValueError, IndexError) as exc:
        return f"{where} is not an OpenPGP key: {exc}"
    if key["kind"] != "public":
        return f"{where} is a secret key: only public keys belong here (the host could read its backups)"
    return None


def _target_problems(targets: Sequence[Mapping[str, Any]], hosts: set[str]) -> list[str]:
    problems = []
    if not any(t.get("kind", "secondary") == "secondary" for t in targets):
        problems.append(
            "backup_client_targets needs at least one target of kind secondary (the secondary data centre)"
        )
    names = [t.get("name", "") for t in targets]
    if len(set(names)) != len(names):
        problems.append(f"target names must be unique: {', '.join(names)}")
    for target in targets:
        name = target.get("name", "")
        if not NAME.match(name):
            problems.append(f"target name {name!r} must be lower-case letters, digits, - and _")
        if target.get("host") not in hosts:
            problems.append(
                f"target {name}: host {target.get('host')!r} is not in the inventory "
                "(a target must run backup_target)"
            )
        if target.get("host_key") is not None and not HOST_KEY.match(str(target["host_key"]).strip()):
            problems.append(
                f"target {name}: host_key is not an ssh-ed25519 public key line (ssh-ed25519 AAAA...)"
            )
        for index, key in enumerate(target.get("recipients") or []):
            problem = _key_problem(key, f"target {name}: recipient {index + 1}")
            if problem:
                problems.append(problem)
    return problems


def _source_problems(paths: Sequence[Mapping[str, Any]], databases: Sequence[Mapping[str, Any]]) -> list[str]:
    problems = []
    sources = [s.get("name", "") for s in list(paths) + list(databases)]
    if not sources:
        problems.append("nothing to back up: backup_client_paths and backup_client_databases are both empty")
    if len(set(sources)) != len(sources):
        problems.append(
            "source names must be unique across backup_client_paths and backup_client_databases: "
            + ", ".join(sources)
        )
    problems += [
        f"source name {s!r} must be lower-case letters, digits, - and _" for s in sources if not NAME.match(s)
    ]
    problems += [
        f"path {entry.get('path')!r} of source {entry.get('name')} must be absolute"
        for entry in paths
        if not str(entry.get("path", "")).startswith("/")
    ]
    return problems


def input_problems(
    targets: Sequence[Mapping[str, Any]],
    recipients: Sequence[Any],
    paths: Sequence[Mapping[str, Any]],
    *,
    databases: Sequence[Mapping[str, Any]],
    inventory_hosts: Iterable[str],
    account: str,
    wal: bool = False,
) -> list[str]:
    """Every problem with the input of backup_client, as sentences; empty when it is good."""
    problems = _target_problems(targets, set(inventory_hosts))
    if not recipients:
        problems.append(
            "backup_client_recipients needs at least one public key (the verifier's at the secondary site)"
        )
    for index, key in enumerate(recipients):
        problem = _key_problem(key, f"backup_client_recipients entry {index + 1}")
        if problem:
            problems.append(problem)
    problems += _source_problems(paths, databases)
    if wal and not any(d.get("engine") == "postgresql" for d in databases):
        problems.append(
            "backup_client_postgresql_wal archives a PostgreSQL cluster: "
            "backup_client_databases has no postgresql entry"
        )
    if not ACCOUNT.match(account):
        problems.append(
            f"the account name {account!r} made from the inventory hostname is not a valid user name "
            "(at most 32 characters)"
        )
    return problems
