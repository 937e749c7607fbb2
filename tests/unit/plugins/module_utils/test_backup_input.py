"""Tests for module_utils/backup_input.py: backup_client's input refused before anything changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.backup_input import input_problems

FIXTURES = Path(__file__).parents[3] / "fixtures" / "openpgp"
PUBLIC = (FIXTURES / "ed25519-public.asc").read_text()
SECRET = (FIXTURES / "ed25519-secret.asc").read_text()
GOOD: dict[str, Any] = {
    "targets": [{"name": "site", "host": "backup-01"}],
    "recipients": [PUBLIC],
    "paths": [{"name": "www", "path": "/srv/www"}],
    "databases": [{"name": "shop", "engine": "postgresql", "database": "shop"}],
}


def problems(**changes: Any) -> list[str]:
    settings = {**GOOD, **changes}
    return input_problems(
        settings["targets"],
        settings["recipients"],
        settings["paths"],
        databases=settings["databases"],
        inventory_hosts=["backup-01", "web-01"],
        account=changes.pop("account", "rb-web-01"),
        wal=settings.get("wal", False),
    )


def test_good_input_has_no_problem() -> None:
    assert problems() == []


def test_continuous_archiving_needs_a_postgresql_database() -> None:
    assert problems(wal=True, databases=[{"name": "cms", "engine": "mysql", "database": "cms"}]) == [
        "backup_client_postgresql_wal archives a PostgreSQL cluster: "
        "backup_client_databases has no postgresql entry"
    ]
    assert problems(wal=True) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"recipients": [SECRET]}, "backup_client_recipients entry 1 is a secret key"),
        ({"recipients": ["ssh-ed25519 AAAA"]}, "backup_client_recipients entry 1 is not an OpenPGP key"),
        ({"recipients": []}, "needs at least one public key"),
        ({"targets": []}, "needs at least one target of kind secondary"),
        (
            {"targets": [{"name": "site", "host": "backup-01", "kind": "additional"}]},
            "at least one target of kind secondary",
        ),
        ({"targets": [{"name": "site", "host": "nowhere"}]}, "host 'nowhere' is not in the inventory"),
        (
            {"targets": [{"name": "site", "host": "backup-01", "host_key": "ssh-rsa AAAAB3"}]},
            "host_key is not an ssh-ed25519",
        ),
        (
            {"targets": [{"name": "site", "host": "backup-01", "recipients": [SECRET]}]},
            "target site: recipient 1 is a secret key",
        ),
        ({"targets": [{"name": "Site!", "host": "backup-01"}]}, "target name 'Site!' must be"),
        (
            {"targets": [{"name": "a", "host": "backup-01"}, {"name": "a", "host": "backup-01"}]},
            "target names must be unique",
        ),
        ({"paths": [{"name": "shop", "path": "/srv"}]}, "source names must be unique"),
        ({"paths": [{"name": "www", "path": "srv/www"}]}, "path 'srv/www' of source www must be absolute"),
        ({"paths": [], "databases": []}, "nothing to back up"),
        ({"account": "rb-" + "x" * 40}, "is not a valid user name"),
    ],
)
def test_bad_input_is_named(changes: dict[str, Any], message: str) -> None:
    found = problems(**changes)
    assert any(message in p for p in found), found


def test_a_refused_key_is_never_quoted() -> None:
    assert not any("BEGIN PGP" in p or "PRIVATE" in p for p in problems(recipients=[SECRET]))
