"""Tests for module_utils/backup_report.py and backup_check.assess: the backup controls from evidence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.backup_check import (
    assess,
    next_segment,
    parse_backup_history,
    parse_gpg_status,
    wal_problems,
)
from ansible_collections.rampart.hardening.plugins.module_utils.backup_report import archiver_check, controls

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
SIGNER = "B03E1FF81DCFDB66704C5058F149B9EECBE359ED"
UID = "rampart-backup signing key of web-01"
KEY = {
    "fingerprint": "1111111111111111111111111111AAAABBBBCCCCDDDD",
    "subkeys": ["619E68C346E968F5CD55E853002DCED632B4C776"],
}
INFO = {"address": "10.0.0.5", "port": 2222, "host_key": "ssh-ed25519 AAAAkey", "status_dir": "/s"}


def status(ok: bool = True, checked: str = "2026-12-03T05:30:00+00:00") -> dict[str, Any]:
    return {
        "checked": checked,
        "encrypted_to": ["002DCED632B4C776"],
        "checks": [{"name": "every object decrypts", "ok": ok, "evidence": "ok" if ok else "x differs"}],
    }


def evidence(**changes: Any) -> dict[str, Any]:
    base = {
        "now": NOW.timestamp(),
        "max_age_hours": 26,
        "timer": "UnitFileState=enabled\nActiveState=active\nNextElapseUSecRealtime=Fri 2026-12-04 01:30",
        "last_run": {
            "time": "2026-12-03T01:40:00+00:00",
            "targets": {"site": {"set": "S", "level": "full", "objects": 2, "bytes": 9}},
        },
        "known_hosts": {"site": "[10.0.0.5]:2222 ssh-ed25519 AAAAkey\n"},
        "secret_keys": [
            {"kind": "sec", "fingerprint": SIGNER, "capabilities": "scSC", "subkeys": [], "user_ids": [UID]}
        ],
        "signer_uid": UID,
        "targets": [
            {
                "name": "site",
                "kind": "secondary",
                "host": "backup-01",
                "info": INFO,
                "status": status(),
                "keys": [KEY],
            }
        ],
    }
    return {**base, **changes}


def failed(checks: list[dict[str, Any]]) -> list[str]:
    return [c["evidence"] for c in checks if not c["ok"]]


def test_everything_in_place_passes() -> None:
    found = controls(evidence())
    assert {k: failed(v) for k, v in found.items()} == {
        "STO-03": [],
        "STO-04": [],
        "STO-05": [],
        "ENC-02": [],
    }
    assert found["STO-05"] == []


def test_a_disabled_timer_fails_sto03() -> None:
    assert failed(controls(evidence(timer="UnitFileState=disabled\nActiveState=inactive"))["STO-03"]) == [
        "rampart-backup.timer: disabled, inactive"
    ]


def test_a_key_pinned_for_another_host_fails_sto03() -> None:
    found = failed(controls(evidence(known_hosts={"site": "[10.0.0.5]:2222 ssh-ed25519 OTHER"}))["STO-03"])
    assert found and "backup-01 presents ssh-ed25519 AAAAkey" in found[0]


def test_a_failed_last_run_fails_sto03() -> None:
    last = {"time": "2026-12-03T01:40:00+00:00", "targets": {"site": {"error": "cannot reach site"}}}
    assert "cannot reach site" in failed(controls(evidence(last_run=last))["STO-03"])[0]


def test_an_old_verification_fails_sto04_even_if_it_passed() -> None:
    target = {**evidence()["targets"][0], "status": status(checked="2026-11-30T05:30:00+00:00")}
    assert "72.5 h ago" in failed(controls(evidence(targets=[target]))["STO-04"])[0]


def test_no_verification_yet_fails_sto04_and_enc02() -> None:
    target = {**evidence()["targets"][0], "status": None}
    found = controls(evidence(targets=[target]))
    assert "has no verification result" in failed(found["STO-04"])[0]
    assert "no verified backup" in failed(found["ENC-02"])[0]


def test_an_additional_target_reports_under_sto05() -> None:
    extra = {**evidence()["targets"][0], "name": "customer", "kind": "additional", "status": status(ok=False)}
    found = controls(
        evidence(
            targets=[evidence()["targets"][0], extra],
            known_hosts={
                "site": "[10.0.0.5]:2222 ssh-ed25519 AAAAkey",
                "customer": "[10.0.0.5]:2222 ssh-ed25519 AAAAkey",
            },
        )
    )
    assert failed(found["STO-04"]) == [] and failed(found["STO-05"]) == ["x differs"]


def test_no_signing_key_fails_enc02() -> None:
    other = [{**evidence()["secret_keys"][0], "user_ids": ["someone else"]}]
    assert "signing key missing" in failed(controls(evidence(secret_keys=other))["ENC-02"])[0]


def test_a_second_secret_key_or_a_decrypting_signing_key_fails_enc02() -> None:
    extra_key = {
        "kind": "sec",
        "fingerprint": "F" * 40,
        "capabilities": "scESC",
        "subkeys": ["E" * 40],
        "user_ids": [],
    }
    assert (
        "unexpected secret keys"
        in failed(controls(evidence(secret_keys=[*evidence()["secret_keys"], extra_key]))["ENC-02"])[0]
    )
    decrypting = [{**evidence()["secret_keys"][0], "capabilities": "scESC", "subkeys": ["E" * 40]}]
    assert "can decrypt" in failed(controls(evidence(secret_keys=decrypting))["ENC-02"])[0]


def test_a_backup_encrypted_to_another_key_fails_enc02() -> None:
    target = {
        **evidence()["targets"][0],
        "status": {**status(), "encrypted_to": ["002DCED632B4C776", "DEADBEEFDEADBEEF"]},
    }
    assert "DEADBEEFDEADBEEF" in failed(controls(evidence(targets=[target]))["ENC-02"])[0]


def test_a_target_not_set_up_fails_each_control() -> None:
    target = {**evidence()["targets"][0], "info": None, "status": None}
    found = controls(evidence(targets=[target]))
    assert all(
        "run backup_target there first" in " ".join(failed(found[c])) for c in ("STO-03", "STO-04", "ENC-02")
    )


MANIFEST: dict[str, Any] = {
    "set": "20261203T013000Z-full",
    "level": "full",
    "created": "2026-12-03T01:30:00+00:00",
    "objects": [
        {
            "source": "www",
            "kind": "files",
            "object": "www.tar.zst.gpg",
            "plain_bytes": 100,
            "plain_sha256": "p",
            "cipher_sha256": "c",
        }
    ],
}


def found(**changes: Any) -> dict[str, Any]:
    base = {
        "client": "web-01",
        "target": "site",
        "expected": {"files": ["www"]},
        "newest": {"set": MANIFEST["set"], "manifest": MANIFEST, "problems": []},
        "chain": [],
        "objects": [
            {
                **MANIFEST["objects"][0],
                "stored_sha256": "c",
                "plain_sha256_found": "p",
                "gpg_problems": [],
                "structure": "",
            }
        ],
        "previous_full": None,
    }
    return {**base, **changes}


def test_assess_passes_a_good_backup() -> None:
    assert failed(assess(found(), now=NOW, max_age_hours=26, min_size_ratio=0.5)) == []


def test_assess_a_shrunken_full_backup() -> None:
    previous = {
        **MANIFEST,
        "set": "20261126T013000Z-full",
        "objects": [{**MANIFEST["objects"][0], "plain_bytes": 1000}],
    }
    assert failed(assess(found(previous_full=previous), now=NOW, max_age_hours=26, min_size_ratio=0.5)) == [
        "www in 20261203T013000Z-full at site is 100 bytes, under 0.5 of the previous full backup's 1000"
    ]


def test_assess_a_broken_chain() -> None:
    incr = {**MANIFEST, "set": "20261203T013000Z-incr", "level": "incr"}
    broken = [
        {"set": "20261202T013000Z-full", "manifest": None, "problems": ["the set is missing or incomplete"]}
    ]
    result = assess(
        found(newest={"set": incr["set"], "manifest": incr, "problems": []}, chain=broken),
        now=NOW,
        max_age_hours=26,
        min_size_ratio=0.5,
    )
    assert failed(result) == ["20261202T013000Z-full at site: the set is missing or incomplete"]


def test_gpg_status_of_a_good_decryption() -> None:
    text = "\n".join(
        [
            "[GNUPG:] ENC_TO 002DCED632B4C776 18 0",
            "[GNUPG:] DECRYPTION_OKAY",
            f"[GNUPG:] VALIDSIG AAAA 2026-12-03 1796300000 0 4 0 22 10 00 {SIGNER}",
            "[GNUPG:] GOODMDC",
        ]
    )
    parsed = parse_gpg_status(text)
    assert (
        parsed["signers"] == [SIGNER]
        and parsed["decrypted"]
        and parsed["encrypted_to"] == ["002DCED632B4C776"]
    )


# --- continuous archiving (WAL) ------------------------------------------------------------------


def test_the_segment_after_the_last_of_a_log_id_starts_the_next() -> None:
    assert next_segment("000000010000000000000002") == "000000010000000000000003"
    assert next_segment("0000000100000000000000FF") == "000000010000000100000000"


def test_a_base_backups_wal_points_come_from_its_backup_history_file() -> None:
    history = (
        "START WAL LOCATION: 0/6000028 (file 000000010000000000000006)\n"
        "STOP WAL LOCATION: 0/7000120 (file 000000010000000000000007)\n"
        "CHECKPOINT LOCATION: 0/6000080\nBACKUP METHOD: streamed\nBACKUP FROM: primary\n"
        "START TIME: 2026-12-03 17:40:07 UTC\nLABEL: rampart 20261203T013000Z-full\nSTART TIMELINE: 1\n"
    )
    assert parse_backup_history(history) == {
        "wal_start": "000000010000000000000006",
        "wal_end": "000000010000000000000007",
        "label": "rampart 20261203T013000Z-full",
    }
    with pytest.raises(ValueError, match="no STOP WAL LOCATION"):
        parse_backup_history(history.replace("STOP WAL", "END WAL"))


def wal(stored: dict[str, list[str]], problems: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {
        "start": "000000010000000000000006",
        "end": "000000010000000000000007",
        "stored": stored,
        "problems": problems or {},
    }


def test_wal_without_a_gap_since_the_base_backup_passes() -> None:
    stored = {f"0000000100000000000000{n:02X}": [f"seg{n}"] for n in range(3, 11)}
    stored["00000001000000000000000A.00000028.backup"] = ["history"]
    assert wal_problems(wal(stored), "site") == (
        [],
        "5 segments 000000010000000000000006..00000001000000000000000A, "
        "each decrypted and signed by the client",
    )


def test_a_missing_duplicated_or_damaged_segment_is_named() -> None:
    stored = {f"0000000100000000000000{n:02X}": [f"seg{n}"] for n in (6, 7, 9)}
    stored["000000010000000000000007"].append("seg7-other")
    problems, _ = wal_problems(wal(stored, {"seg9": ["it does not decrypt"]}), "site")
    assert problems == [
        "WAL segment 000000010000000000000007 arrived at site with 2 different contents",
        "WAL segment 000000010000000000000008 is missing at site",
        "WAL seg9 at site: it does not decrypt",
    ]
    problems, _ = wal_problems(wal({}), "site")
    assert problems[0] == "WAL segment 000000010000000000000006 is missing at site"


def test_assess_checks_the_wal_when_there_is_a_base_backup() -> None:
    stored = {f"0000000100000000000000{n:02X}": [f"seg{n}"] for n in (6, 8)}
    checks = assess(found(wal=wal(stored)), now=NOW, max_age_hours=26, min_size_ratio=0.5)
    assert checks[-1]["name"] == "the write-ahead log is archived without a gap since the newest base backup"
    assert failed(checks) == ["WAL segment 000000010000000000000007 is missing at site"]


ARCHIVER: dict[str, Any] = {
    "archive_mode": "on",
    "archive_command": "sudo -n /usr/local/lib/rampart-backup/rampart-backup --wal %p %f",
    "archived_count": 12,
    "last_archived_wal": "00000001000000000000000C",
    "last_archived_time": "2026-12-03T05:55:00+00:00",
    "failed_count": 1,
    "last_failed_wal": "000000010000000000000003",
    "last_failed_time": "2026-12-03T01:00:00+00:00",
}


def test_a_working_archiver_passes_sto03() -> None:
    check = archiver_check(ARCHIVER, ARCHIVER["archive_command"])
    assert check["ok"], check
    result = controls(evidence(wal=True, archiver=ARCHIVER, archive_command=ARCHIVER["archive_command"]))
    assert failed(result["STO-03"]) == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"archive_mode": "off"}, "archive_mode is off"),
        ({"archive_command": "cp %p /tmp/%f"}, "archive_command is 'cp %p /tmp/%f'"),
        (
            {"last_failed_time": "2026-12-03T05:56:00+00:00"},
            "the last attempt failed: 000000010000000000000003",
        ),
    ],
)
def test_an_archiver_that_is_off_foreign_or_failing_fails_sto03(
    changes: dict[str, Any], problem: str
) -> None:
    check = archiver_check({**ARCHIVER, **changes}, ARCHIVER["archive_command"])
    assert not check["ok"]
    assert check["evidence"].startswith(problem)


def test_an_unreadable_archiver_fails_sto03() -> None:
    assert failed(controls(evidence(wal=True, archiver=None, archive_command="x"))["STO-03"]) == [
        "pg_stat_archiver could not be read: is PostgreSQL running?"
    ]
