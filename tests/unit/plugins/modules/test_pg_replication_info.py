"""Tests for the pg_replication_info module: main() with psql answered from real captures
(tests/fixtures/pg, PostgreSQL 15 and 17)."""

from __future__ import annotations

import json
import os
import pwd
import socket
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.rampart.hardening.plugins.module_utils.pg_replication import QUERY
from ansible_collections.rampart.hardening.plugins.modules import pg_replication_info

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "pg"
PSQL = "/usr/bin/psql"
RUNUSER = "/usr/bin/runuser"
POSTGRES_UID = 114


class Host:
    """Answers psql with one capture and records the command lines."""

    def __init__(self, release: str, capture: str) -> None:
        base = FIXTURES / release / capture
        self.answer = (
            int(base.with_suffix(".rc").read_text()),
            base.with_suffix(".stdout").read_text(),
            base.with_suffix(".stderr").read_text(),
        )
        self.commands: list[list[str]] = []

    def run(self, args: list[str]) -> tuple[int, str, str]:
        self.commands.append(list(args))
        return self.answer


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Host:
    release, capture, installed, euid = request.param
    fake = Host(release, capture)
    monkeypatch.setattr(module_utils_internal, "is_controller", False)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda _self, args, **_kw: fake.run(args))
    monkeypatch.setattr(
        basic.AnsibleModule,
        "get_bin_path",
        lambda _self, name, required=False, opt_dirs=None: f"/usr/bin/{name}",
    )
    monkeypatch.setattr(pg_replication_info, "server_installed", lambda: installed)
    monkeypatch.setattr(os, "geteuid", lambda: euid)
    monkeypatch.setattr(socket, "gethostname", lambda: "db1")

    def getpwnam(name: str) -> Any:
        if name != "postgres":
            raise KeyError(name)
        return pwd.struct_passwd(
            ("postgres", "x", POSTGRES_UID, POSTGRES_UID, "", "/var/lib/postgresql", "/bin/bash")
        )

    monkeypatch.setattr(pwd, "getpwnam", getpwnam)
    return fake


def run_module(args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        pg_replication_info.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def case(release: str, capture: str, installed: bool = True, euid: int = 0) -> Any:
    return pytest.param((release, capture, installed, euid), id=f"{release}-{capture}")


@pytest.mark.parametrize(
    "host", [case("bookworm", "primary_streaming"), case("trixie", "primary_streaming")], indirect=True
)
def test_healthy_primary_runs_psql_as_postgres(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"expected_standbys": ["standby-a"]}, capsys)
    assert "failed" not in result, result["msg"]
    assert host.commands == [
        [RUNUSER, "-u", "postgres", "--", PSQL, "-X", "-A", "-t", "-q", "-v",
         "ON_ERROR_STOP=1", "-p", "5432", "-d", "postgres", "-c", QUERY]
    ]  # fmt: skip
    assert result["role"] == "primary"
    assert result["healthy"] is True
    assert result["problems"] == result["missing_standbys"] == []
    assert result["standbys"][0]["application_name"] == "standby-a"
    assert result["alert"].startswith(
        'control=STO-02 host=db1 status=ok detail="primary; standbys: standby-a'
    )
    assert result["msg"].startswith("PostgreSQL replication on db1: healthy; primary; standbys: standby-a")


@pytest.mark.parametrize("host", [case("trixie", "primary_streaming", euid=POSTGRES_UID)], indirect=True)
def test_as_postgres_no_runuser(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    run_module({"port": 5433}, capsys)
    assert host.commands[0][:2] == [PSQL, "-X"]
    assert host.commands[0][7:9] == ["-p", "5433"]


@pytest.mark.parametrize(
    "host",
    [case("bookworm", "primary_standby_paused"), case("trixie", "primary_standby_paused")],
    indirect=True,
)
def test_lag_over_the_threshold_fails_naming_the_standby_and_the_lag(
    host: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module({"expected_standbys": ["standby-a"], "max_lag_bytes": 1048576}, capsys)
    lag = result["standbys"][0]["replay_lag_bytes"]
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"PostgreSQL replication on db1: standby standby-a (127.0.0.1) replay lag is {lag} bytes"
    )
    assert result["msg"].endswith("over the limit of 1048576 bytes (1.0 MiB)")
    assert result["alert"].startswith(
        'control=STO-02 host=db1 status=fail detail="standby standby-a (127.0.0.1) replay lag'
    )


@pytest.mark.parametrize("host", [case("trixie", "primary_standby_paused")], indirect=True)
def test_problems_returned_without_failing(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"max_lag_bytes": 1048576, "fail_on_problems": False}, capsys)
    assert "failed" not in result
    assert result["healthy"] is False
    assert len(result["problems"]) == 1
    assert result["msg"] == "PostgreSQL replication on db1: " + result["problems"][0]


@pytest.mark.parametrize(
    "host", [case("bookworm", "primary_no_standby"), case("trixie", "primary_no_standby")], indirect=True
)
def test_missing_standby(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"expected_standbys": ["standby-a"], "fail_on_problems": False}, capsys)
    assert result["missing_standbys"] == ["standby-a"]
    assert result["problems"] == ["standby standby-a is not connected (not in pg_stat_replication)"]


@pytest.mark.parametrize(
    "host", [case("bookworm", "standby_paused"), case("trixie", "standby_paused")], indirect=True
)
def test_paused_standby(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"fail_on_problems": False, "max_lag_seconds": 3600}, capsys)
    assert result["role"] == "standby"
    assert result["replay"]["paused"] is True
    assert result["lag_seconds"] == result["replay"]["delay_seconds"]
    assert result["problems"][0] == "WAL replay is paused (SELECT pg_wal_replay_resume() resumes it)"
    assert result["missing_standbys"] == []


@pytest.mark.parametrize("host", [case("trixie", "server_down")], indirect=True)
def test_server_down_fails_with_psqls_error(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({}, capsys)
    assert result["failed"] is True
    assert result["rc"] == 2
    assert result["msg"].startswith(
        "psql on db1 (port 5432, as postgres) failed: psql: error: connection to server"
    )
    assert result["msg"].endswith("Is the server running?")


@pytest.mark.parametrize("host", [case("trixie", "primary_streaming")], indirect=True)
def test_unexpected_output_fails_clearly(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    host.answer = (0, "PostgreSQL 17.6 (Debian 17.6-0+deb13u1)\n", "")
    result = run_module({}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(
        "unexpected psql output on db1: psql did not print a JSON status document"
    )


@pytest.mark.parametrize("host", [case("trixie", "primary_streaming", installed=False)], indirect=True)
def test_no_server_installed(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"expected_standbys": ["standby-a"]}, capsys)
    assert "failed" not in result
    assert host.commands == []
    assert (result["installed"], result["healthy"], result["role"]) == (False, True, None)
    assert result["alert"] == ""


@pytest.mark.parametrize("host", [case("trixie", "primary_streaming")], indirect=True)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"max_lag_bytes": -1}, "max_lag_bytes and max_lag_seconds must not be negative (got -1 and 300.0)"),
        ({"db_user": "pgsql"}, "db_user pgsql does not exist on db1; psql runs as that user"),
        (
            {"expect_role": "replica"},
            "value of expect_role must be one of: auto, primary, standby, got: replica",
        ),
    ],
)
def test_bad_arguments(
    host: Host, args: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(args, capsys)
    assert result["failed"] is True
    assert message in result["msg"]
    assert host.commands == []


@pytest.mark.parametrize("host", [case("bookworm", "server_down")], indirect=True)
def test_server_down_is_the_one_problem_without_failing(
    host: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module({"fail_on_problems": False}, capsys)
    assert "failed" not in result
    assert (result["installed"], result["healthy"], result["role"], result["rc"]) == (True, False, None, 2)
    assert result["problems"] == [result["msg"]]
    assert result["msg"].startswith("psql on db1 (port 5432, as postgres) failed: psql: error: connection")
    assert result["alert"].startswith('control=STO-02 host=db1 status=fail detail="psql on db1 (port 5432')
