"""Tests for module_utils/backup_report.py and backup_check.assess: the backup controls from evidence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.backup_check import assess, parse_gpg_status
from ansible_collections.rampart.hardening.plugins.module_utils.backup_report import controls

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
