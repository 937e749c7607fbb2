"""Tests for the mysql_replication_info module: main() with the mysql client answered from real
MariaDB captures (tests/fixtures/mysql)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.rampart.hardening.plugins.module_utils.mysql_replication import REPLICAS_QUERY
from ansible_collections.rampart.hardening.plugins.modules import mysql_replication_info

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mysql"
CLIENT = "/usr/bin/mariadb"


def capture(release: str, name: str) -> tuple[int, str, str]:
    base = FIXTURES / release / name
    return (
        int(base.with_suffix(".rc").read_text()),
        base.with_suffix(".stdout").read_text(),
        base.with_suffix(".stderr").read_text(),
    )


class Host:
    """Answers each statement from a capture and records the command lines."""

    def __init__(self, answers: dict[str, tuple[int, str, str]]) -> None:
        self.answers = answers
        self.commands: list[list[str]] = []

    def run(self, args: list[str]) -> tuple[int, str, str]:
        self.commands.append(list(args))
        return self.answers[args[-1]]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Host:
    host = Host({})
    monkeypatch.setattr(module_utils_internal, "is_controller", False)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda _self, args, **_kw: host.run(args))
    monkeypatch.setattr(
        basic.AnsibleModule,
        "get_bin_path",
        lambda _self, name, required=False, opt_dirs=None: f"/usr/bin/{name}",
    )
    monkeypatch.setattr(mysql_replication_info, "server_installed", lambda: True)
    monkeypatch.setattr(socket, "gethostname", lambda: "db2")
    return host


def run_module(args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        mysql_replication_info.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_healthy_replica(fake: Host, release: str, capsys: pytest.CaptureFixture[str]) -> None:
    fake.answers = {"SHOW ALL REPLICAS STATUS": capture(release, "replica_running_all")}
    result = run_module({}, capsys)
    assert "failed" not in result, result["msg"]
    assert fake.commands == [[CLIENT, "--batch", "-e", "SHOW ALL REPLICAS STATUS"]]
    assert (result["role"], result["statement"], result["healthy"]) == (
        "replica",
        "SHOW ALL REPLICAS STATUS",
        True,
    )
    assert result["channels"][0]["io_running"] == "Yes"
    assert result["alert"].startswith(
        'control=STO-02 host=db2 status=ok detail="replica; replication from 127.0.0.1'
    )


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_falls_back_to_an_older_statement_on_error_1064(
    fake: Host, release: str, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = capture(release, "unknown_statement")
    fake.answers = {
        "SHOW ALL REPLICAS STATUS": unknown,
        "SHOW REPLICA STATUS": unknown,
        "SHOW SLAVE STATUS": capture(release, "replica_lagging"),
    }
    result = run_module({"max_lag_seconds": 2, "defaults_file": "/etc/rampart/my.cnf"}, capsys)
    assert [c[-1] for c in fake.commands] == [
        "SHOW ALL REPLICAS STATUS",
        "SHOW REPLICA STATUS",
        "SHOW SLAVE STATUS",
    ]
    assert fake.commands[0][1] == "--defaults-extra-file=/etc/rampart/my.cnf"
    assert result["failed"] is True
    assert result["statement"] == "SHOW SLAVE STATUS"
    seconds = result["channels"][0]["seconds_behind"]
    assert result["msg"] == (
        f"MariaDB/MySQL replication on db2: replication from 127.0.0.1:3306 is {seconds} s behind, "
        "over the limit of 2 s"
    )


def test_sql_error_returned_without_failing(fake: Host, capsys: pytest.CaptureFixture[str]) -> None:
    fake.answers = {"SHOW ALL REPLICAS STATUS": capture("trixie", "replica_sql_error")}
    result = run_module({"fail_on_problems": False}, capsys)
    assert "failed" not in result
    assert result["healthy"] is False
    assert result["problems"][0].startswith(
        "replication from 127.0.0.1:3306: the SQL thread is No, not running (error 1062"
    )


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_primary_lists_its_replicas(fake: Host, release: str, capsys: pytest.CaptureFixture[str]) -> None:
    fake.answers = {
        "SHOW ALL REPLICAS STATUS": capture(release, "primary_status"),
        REPLICAS_QUERY: capture(release, "primary_replica_hosts"),
    }
    result = run_module({"expected_replicas": ["localhost", "10.0.0.12"], "fail_on_problems": False}, capsys)
    assert result["role"] == "primary"
    assert result["replica_hosts"] == ["localhost"]
    assert result["missing_replicas"] == ["10.0.0.12"]
    assert result["problems"] == ["replica 10.0.0.12 is not connected (no binlog dump thread from it)"]


def test_server_down(fake: Host, capsys: pytest.CaptureFixture[str]) -> None:
    fake.answers = {"SHOW ALL REPLICAS STATUS": capture("trixie", "server_down")}
    result = run_module({}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(
        "mysql on db2 failed running SHOW ALL REPLICAS STATUS: ERROR 2002 (HY000)"
    )
    assert result["msg"].endswith("Is the server running?")


def test_garbage(fake: Host, capsys: pytest.CaptureFixture[str]) -> None:
    fake.answers = {"SHOW ALL REPLICAS STATUS": (0, "Id\tUser\n1\troot\n", "")}
    result = run_module({}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("unexpected mysql output on db2: row 1 is not replica status")


def test_no_server_installed(
    fake: Host, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(mysql_replication_info, "server_installed", lambda: False)
    result = run_module({}, capsys)
    assert (result["installed"], result["healthy"], result["problems"]) == (False, True, [])
    assert fake.commands == []


def test_negative_threshold_is_refused(fake: Host, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"max_lag_seconds": -5}, capsys)
    assert result["msg"] == "max_lag_seconds must not be negative (got -5.0)"
    assert fake.commands == []


def test_server_down_is_the_one_problem_without_failing(
    fake: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.answers = {"SHOW ALL REPLICAS STATUS": capture("bookworm", "server_down")}
    result = run_module({"fail_on_problems": False}, capsys)
    assert "failed" not in result
    assert (result["installed"], result["healthy"], result["rc"]) == (True, False, 1)
    assert result["problems"] == [result["msg"]]
    assert result["alert"].startswith(
        'control=STO-02 host=db2 status=fail detail="mysql on db2 failed running'
    )
