"""The backup programs end to end on the controller: rampart-backup (client) through a stand-in for
SSH into rampart-backup-receive (target), then rampart-backup-verify with the verifier's key.

Real tar, zstd and GnuPG; only the SSH hop is replaced by a script that runs the receiver with the
request as SSH_ORIGINAL_COMMAND, as the target's forced command does. The lab scenario
(molecule/backup) proves the same over real SSH between hosts.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import backup as backup_bench

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "fixtures" / "openpgp"
CLIENT = ROOT / "roles" / "backup_client" / "files" / "rampart-backup"
RECEIVE = ROOT / "roles" / "backup_target" / "files" / "rampart-backup-receive"
VERIFY = ROOT / "roles" / "backup_target" / "files" / "rampart-backup-verify"
VERIFIER_FPR = "B03E1FF81DCFDB66704C5058F149B9EECBE359ED"

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("gpg", "zstd", "tar")),
    reason="needs gpg, zstd and tar (./rampart setup)",
)


def gpg(home: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase", "", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A client home, a target store and a verifier keyring, wired as the roles wire them."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    for index in range(20):
        (data / f"file-{index}.txt").write_text(f"record {index}\n" * 50)
    (data / "sub" / "blob.bin").write_bytes(os.urandom(200_000))
    wired = backup_bench.setup(tmp_path, data, client="web-01")
    yield {**wired, "data": data}
    for home in (wired["client_gpg"], wired["verifier_gpg"]):
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


def run(lab: dict[str, Any], script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=lab["env"],
        timeout=120,
        check=False,
    )


def backup(lab: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    """One run of the client program; a set is named by its second, so runs are a second apart."""
    if lab.setdefault("runs", 0):
        time.sleep(1.1)
    lab["runs"] += 1
    return run(lab, CLIENT, "--config", str(lab["config"]), *args)


def verify(lab: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    done = run(lab, VERIFY, "--config", str(lab["verifier"]))
    return done.returncode, json.loads(lab["status"].read_text())


def sets(lab: dict[str, Any]) -> list[str]:
    return sorted(p.name for p in lab["store"].iterdir() if p.name[0].isdigit())


def test_a_backup_verifies(lab: dict[str, Any]) -> None:
    done = backup(lab)
    assert done.returncode == 0, done.stderr
    [only] = sets(lab)
    assert only.endswith("-full")
    assert sorted(p.name for p in (lab["store"] / only).iterdir()) == [
        "data.tar.zst.gpg",
        "manifest.json.gpg",
    ]
    rc, status = verify(lab)
    assert rc == 0, status
    assert status["ok"] and status["set"] == only
    assert status["encrypted_to"] == ["002DCED632B4C776"]  # the verifier's encryption subkey, nothing else


def test_the_client_cannot_decrypt_what_it_wrote(lab: dict[str, Any]) -> None:
    assert backup(lab).returncode == 0
    [only] = sets(lab)
    attempt = subprocess.run(
        [
            "gpg",
            "--homedir",
            str(lab["client_gpg"]),
            "--batch",
            "--decrypt",
            str(lab["store"] / only / "data.tar.zst.gpg"),
        ],
        capture_output=True,
        check=False,
    )
    assert attempt.returncode != 0
    assert b"No secret key" in attempt.stderr


def test_the_next_run_is_incremental_and_the_chain_verifies(lab: dict[str, Any]) -> None:
    assert backup(lab).returncode == 0
    (lab["data"] / "file-3.txt").write_text("changed\n")
    assert backup(lab).returncode == 0
    first, second = sets(lab)
    assert first.endswith("-full") and second.endswith("-incr")
    rc, status = verify(lab)
    assert rc == 0, status
    chain = next(c for c in status["checks"] if "chain" in c["name"])
    assert chain["evidence"] == f"{second} <- {first}"


def test_a_forced_full_backup_starts_a_new_chain(lab: dict[str, Any]) -> None:
    assert backup(lab).returncode == 0
    assert backup(lab, "--level", "full").returncode == 0
    assert [s.rsplit("-", 1)[1] for s in sets(lab)] == ["full", "full"]


def test_a_stored_object_is_never_replaced(lab: dict[str, Any]) -> None:
    assert backup(lab).returncode == 0
    [only] = sets(lab)
    target = lab["store"] / only / "data.tar.zst.gpg"
    before = target.read_bytes()
    done = subprocess.run(
        ["ssh", "x", f"put {only}/data.tar.zst.gpg"],
        input=b"garbage",
        capture_output=True,
        env=lab["env"],
        check=False,
    )
    assert done.returncode == 3  # the receiver's answer for a name it holds already
    assert b"already stored" in done.stderr
    assert target.read_bytes() == before


@pytest.mark.parametrize(
    "request_", ["rm -rf /", "get x", "put ../other/x.gpg", "put 20261203T013000Z-full/../../x.gpg", ""]
)
def test_the_receiver_refuses_anything_else(lab: dict[str, Any], request_: str) -> None:
    done = subprocess.run(["ssh", "x", request_], input=b"", capture_output=True, env=lab["env"], check=False)
    assert done.returncode != 0
    assert b"rampart-backup-receive" in done.stderr
    assert sets(lab) == []


def test_a_modified_object_fails_with_its_place_named(lab: dict[str, Any]) -> None:
    assert backup(lab).returncode == 0
    [only] = sets(lab)
    target = lab["store"] / only / "data.tar.zst.gpg"
    target.chmod(0o600)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    rc, status = verify(lab)
    assert rc == 1
    failed = "; ".join(c["evidence"] for c in status["checks"] if not c["ok"])
    assert f"data.tar.zst.gpg in {only} at site differs from what web-01 stored" in failed


def test_a_missing_manifest_leaves_the_set_incomplete(lab: dict[str, Any]) -> None:
    assert backup(lab).returncode == 0
    [only] = sets(lab)
    (lab["store"] / only / "manifest.json.gpg").unlink()
    rc, status = verify(lab)
    assert rc == 1
    assert "no complete backup set of web-01 at site" in status["checks"][0]["evidence"]


def test_old_chains_are_pruned_only_after_the_newest_passed(lab: dict[str, Any]) -> None:
    for _ in range(3):
        assert backup(lab, "--level", "full").returncode == 0
    assert len(sets(lab)) == 3
    rc, status = verify(lab)
    assert rc == 0
    assert len(status["pruned"]) == 1 and len(sets(lab)) == 2


# --- continuous archiving: PostgreSQL's archive_command ------------------------------------------

SEGMENT = "000000010000000000000003"


@pytest.fixture
def cluster(lab: dict[str, Any], tmp_path: Path) -> Path:
    """A data directory with one finished WAL segment, its owner this user (root's postgres stand-in)."""
    data = tmp_path / "pgdata"
    (data / "pg_wal").mkdir(parents=True)
    (data / "pg_wal" / SEGMENT).write_bytes(os.urandom(1 << 20))
    config = json.loads(lab["config"].read_text())
    owner = pwd.getpwuid(os.getuid()).pw_name
    config["wal"] = {"owner": owner, "data_directory": str(data), "source": "cluster"}
    lab["config"].write_text(json.dumps(config))
    return data


def archive(
    lab: dict[str, Any], data: Path, path: str, segment: str = SEGMENT
) -> subprocess.CompletedProcess[str]:
    """The archive_command as PostgreSQL runs it: in the data directory, with %p and %f."""
    return subprocess.run(
        [sys.executable, str(CLIENT), "--config", str(lab["config"]), "--wal", path, segment],
        capture_output=True,
        text=True,
        env=lab["env"],
        cwd=data,
        timeout=120,
        check=False,
    )


def test_a_wal_segment_is_archived_encrypted_and_again_without_error(
    lab: dict[str, Any], cluster: Path
) -> None:
    done = archive(lab, cluster, f"pg_wal/{SEGMENT}")
    assert done.returncode == 0, done.stderr
    digest = hashlib.sha256((cluster / "pg_wal" / SEGMENT).read_bytes()).hexdigest()
    [stored] = list((lab["store"] / "wal").iterdir())
    assert stored.name == f"{SEGMENT}.{digest[:16]}.zst.gpg"
    plain = subprocess.run(
        f"gpg --homedir {lab['verifier_gpg']} --batch --quiet --decrypt {stored} | zstd -dcq",
        shell=True,
        capture_output=True,
        check=True,
    ).stdout
    assert plain == (cluster / "pg_wal" / SEGMENT).read_bytes()
    # PostgreSQL archives a segment again when it missed the answer: the same content is there already.
    assert archive(lab, cluster, f"pg_wal/{SEGMENT}").returncode == 0
    assert len(list((lab["store"] / "wal").iterdir())) == 1


@pytest.mark.parametrize(
    ("prepare", "path", "message"),
    [
        (None, "pg_wal/../pg_wal/" + SEGMENT, "only pg_wal/000000010000000000000003 of"),
        ("symlink", "pg_wal/" + SEGMENT, "Too many levels of symbolic links"),
        (None, "pg_wal/" + SEGMENT, "not archived"),  # with a name PostgreSQL never archives
    ],
)
def test_the_archiver_reads_nothing_but_the_clusters_own_segment(
    lab: dict[str, Any], cluster: Path, prepare: str | None, path: str, message: str
) -> None:
    segment = SEGMENT
    if prepare == "symlink":
        (cluster / "pg_wal" / SEGMENT).unlink()
        (cluster / "pg_wal" / SEGMENT).symlink_to("/etc/passwd")
    elif message == "not archived":
        segment = "../../etc/passwd"
    done = archive(lab, cluster, path, segment)
    assert done.returncode == 1
    assert message in done.stderr
    assert not (lab["store"] / "wal").exists()


@pytest.mark.parametrize(
    ("last_line", "problem"),
    [
        ("-- Dump completed on 2026-12-03  1:30:00", ""),
        (
            "INSERT INTO `pages` VALUES (1,'page 1'",
            "the dump lacks the line mysqldump writes when it finishes",
        ),
    ],
)
def test_a_mysql_dump_is_complete_only_with_mysqldumps_last_line(
    lab: dict[str, Any], last_line: str, problem: str
) -> None:
    """A stand-in mysqldump on PATH: a dump cut short (no completion line) fails the verification."""
    fake = lab["config"].parent / "bin" / "mysqldump"
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' 'CREATE TABLE `pages` (id int);' {shlex.quote(last_line)}\n")
    fake.chmod(0o755)
    config = json.loads(lab["config"].read_text())
    config["databases"] = [{"name": "cms", "engine": "mysql", "database": "cms"}]
    lab["config"].write_text(json.dumps(config))
    registration = lab["config"].parent / "clients" / "web-01.json"
    expected = json.loads(registration.read_text())
    expected["expected"]["mysql"] = ["cms"]
    registration.write_text(json.dumps(expected))
    assert backup(lab).returncode == 0
    rc, status = verify(lab)
    failing = "; ".join(c["evidence"] for c in status["checks"] if not c["ok"])
    assert (rc == 0) is (not problem), failing
    assert problem in failing
