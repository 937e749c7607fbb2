# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup store at a target: names, append-only writes, backup sets (STO-03).

A client's backups arrive through one SSH forced command (``rampart-backup-receive``), which
calls :func:`receive`. A backup *set* is one night's run for one target, a folder named
``<UTC time>-<level>`` (``20261203T013000Z-full``) holding one encrypted object per source and
``manifest.json.gpg``, written last: a set without its manifest is incomplete. PostgreSQL's
write-ahead log, archived segment by segment between the nightly sets, goes to ``wal/``
(``wal/<segment>.<SHA-256 of the segment, 16 hex>.zst.gpg``: the same segment sent twice has the
same name, another content for a segment a name of its own). An object is
written to a temporary name created exclusively, then hard-linked to its final name, which
fails when that name exists: a client can add objects but can never replace, truncate or
delete one, and it can name nothing outside its own store. Standard library only: this file is
copied to the target hosts.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

MANIFEST = "manifest.json.gpg"
LEVELS = ("full", "incr")
SET_PATTERN = r"[0-9]{8}T[0-9]{6}Z-(?:full|incr)"
_SET = re.compile(rf"^{SET_PATTERN}$")
_OBJECT = re.compile(rf"^(?P<set>{SET_PATTERN})/(?P<file>[a-z0-9][a-z0-9_.-]{{0,100}}\.gpg)$")
# A WAL segment, a partial one, a backup history file or a timeline history file, as PostgreSQL names them.
WAL_PATTERN = r"(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)"
_WAL_NAME = re.compile(rf"^{WAL_PATTERN}$")
_WAL_OBJECT = re.compile(
    rf"^(?P<set>wal)/(?P<file>(?P<wal>{WAL_PATTERN})\.(?P<digest>[0-9a-f]{{16}})\.zst\.gpg)$"
)
_TIME = "%Y%m%dT%H%M%SZ"
CHUNK = 1 << 20


def set_name(when: datetime, level: str) -> str:
    """The name of the set made at ``when`` (an aware datetime) with ``level`` (full or incr)."""
    if level not in LEVELS:
        raise ValueError(f"level {level!r} is not one of {', '.join(LEVELS)}")
    return f"{when.astimezone(UTC).strftime(_TIME)}-{level}"


def parse_set(name: str) -> tuple[datetime, str]:
    """The time and level of a set name; ValueError when it is not one."""
    if not _SET.match(name):
        raise ValueError(f"{name!r} is not a backup set name (expected e.g. 20261203T013000Z-full)")
    stamp, level = name.split("-")
    return datetime.strptime(stamp, _TIME).replace(tzinfo=UTC), level


def object_path(store: Path, name: str) -> Path:
    """The path in ``store`` of object ``name`` (``<set>/<file>.gpg`` or a WAL object); ValueError for
    any other name."""
    match = _OBJECT.match(name) or _WAL_OBJECT.match(name)
    if not match or ".." in name:
        raise ValueError(
            f"{name!r} is not a backup object name (expected <set>/<name>.gpg, e.g. "
            "20261203T013000Z-full/www.tar.zst.gpg, or wal/<segment>.<16 hex>.zst.gpg)"
        )
    return store / match.group("set") / match.group("file")


def wal_object(segment: str, digest: str) -> str:
    """The object name of WAL file ``segment`` whose content has SHA-256 ``digest``."""
    if not _WAL_NAME.match(segment):
        raise ValueError(f"{segment!r} is not a WAL file name PostgreSQL archives")
    return f"wal/{segment}.{digest[:16]}.zst.gpg"


def wal_objects(store: Path) -> dict[str, list[str]]:
    """The WAL files stored for a client: file name to its object names (more than one when the
    same segment arrived with different contents)."""
    found: dict[str, list[str]] = {}
    folder = store / "wal"
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            match = _WAL_OBJECT.match(f"wal/{path.name}")
            if match:
                found.setdefault(match.group("wal"), []).append(path.name)
    return found


def receive(store: Path, name: str, stream: BinaryIO) -> dict[str, object]:
    """Store ``stream`` as object ``name`` without ever replacing anything; return its size and SHA-256.

    FileExistsError when the object exists (nothing is changed); the partial file of a failed
    transfer is removed.
    """
    final = object_path(store, name)
    if final.exists():
        raise FileExistsError(f"{name} is already stored; stored backups are never replaced")
    final.parent.mkdir(mode=0o700, exist_ok=True)
    partial = final.parent / f".{final.name}.{os.getpid()}.partial"
    digest = hashlib.sha256()
    size = 0
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.link(partial, final)  # fails if the name appeared meanwhile: never replaces
    finally:
        partial.unlink(missing_ok=True)
    return {"object": name, "bytes": size, "sha256": digest.hexdigest()}


def complete_sets(store: Path) -> list[str]:
    """The names of the sets in ``store`` whose manifest has arrived, oldest first."""
    if not store.is_dir():
        return []
    return sorted(p.name for p in store.iterdir() if _SET.match(p.name) and (p / MANIFEST).is_file())


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
