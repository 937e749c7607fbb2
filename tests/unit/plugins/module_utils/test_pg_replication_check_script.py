"""Tests for roles/replication_health/files/replication_check.py, the timer's check (both backends).

The script imports pg_replication.py, mysql_replication.py and health_alert.py from the directory
the role copies them to; here plugins/module_utils stands in for it. The database clients are
answered from the captures in tests/fixtures/pg and tests/fixtures/mysql.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[4]
SCRIPT = ROOT / "roles" / "replication_health" / "files" / "replication_check.py"
FIXTURES = ROOT / "tests" / "fixtures"


class Clients:
    """Answers psql and mariadb from captures, keyed by the statement, and records the calls."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, str, str]] = {}
        self.calls: list[list[str]] = []

    def run(self, argv: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        rc, out, err = self.answers[argv[-1]]
        return subprocess.CompletedProcess(argv, rc, out, err)


def capture(kind: str, release: str, name: str) -> tuple[int, str, str]:
    base = FIXTURES / kind / release / name
    return (
        int(base.with_suffix(".rc").read_text()),
        base.with_suffix(".stdout").read_text(),
        base.with_suffix(".stderr").read_text(),
    )


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, Clients, list[tuple[str, str]]]:
    monkeypatch.syspath_prepend(str(ROOT / "plugins" / "module_utils"))
    loader = importlib.machinery.SourceFileLoader("replication_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader("replication_check", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    clients = Clients()
    sent: list[tuple[str, str]] = []

    def send_alert(control: str, host: str, status: str, detail: str) -> str:
        assert (control, host) == ("STO-02", "db1")
        sent.append((status, detail))
        return detail

    monkeypatch.setattr(module.health_alert, "send_alert", send_alert)
    monkeypatch.setattr(module.socket, "gethostname", lambda: "db1")
    monkeypatch.setattr(module.subprocess, "run", clients.run)
    monkeypatch.setattr(module.shutil, "which", lambda name: f"/usr/bin/{name}")
    return module, clients, sent


def run(module: ModuleType, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setattr(sys, "argv", ["replication_check.py", *argv])
    status: int = module.main()
    return status


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_healthy_primary_logs_ok(
    script: tuple[ModuleType, Clients, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch, release: str
) -> None:
    module, clients, sent = script
    clients.answers[module.pg_replication.QUERY] = capture("pg", release, "primary_streaming")
    assert run(module, monkeypatch, "--backend", "postgresql", "--expected", "standby-a") == 0
    assert clients.calls[0][:2] == ["/usr/bin/psql", "-X"]
    assert clients.calls[0][7:9] == ["-p", "5432"]
    (alert,) = sent
    assert alert[0] == "ok"
    assert alert[1].startswith("primary; standbys: standby-a streaming/async replay lag 0 bytes")


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_lagging_standby_logs_a_failure_naming_it(
    script: tuple[ModuleType, Clients, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch, release: str
) -> None:
    module, clients, sent = script
    clients.answers[module.pg_replication.QUERY] = capture("pg", release, "primary_standby_paused")
    argv = ["--backend", "postgresql", "--expected", "standby-a", "--expected", "standby-b"]
    assert run(module, monkeypatch, *argv, "--max-lag-bytes", "1048576", "--port", "5433") == 1
    assert clients.calls[0][7:9] == ["-p", "5433"]
    (alert,) = sent
    assert alert[0] == "fail"
    assert alert[1].startswith("standby standby-b is not connected (not in pg_stat_replication); ")
    assert (
        "standby standby-a (127.0.0.1) replay lag is 16047056 bytes (15.3 MiB), over the limit of" in alert[1]
    )


def test_paused_standby_fails_on_the_standby(
    script: tuple[ModuleType, Clients, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, clients, sent = script
    clients.answers[module.pg_replication.QUERY] = capture("pg", "trixie", "standby_paused")
    assert run(module, monkeypatch, "--backend", "postgresql", "--expect-role", "standby") == 1
    assert sent[0][1].startswith("WAL replay is paused")


def test_server_down_is_logged_as_a_failure(
    script: tuple[ModuleType, Clients, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, clients, sent = script
    clients.answers[module.pg_replication.QUERY] = capture("pg", "bookworm", "server_down")
    assert run(module, monkeypatch, "--backend", "postgresql") == 2
    (alert,) = sent
    assert alert[0] == "fail"
    assert alert[1].startswith(
        "the check could not run: /usr/bin/psql exited 2: psql: error: connection to server"
    )


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_mysql_replica_falls_back_and_reports_its_lag(
    script: tuple[ModuleType, Clients, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch, release: str
) -> None:
    module, clients, sent = script
    unknown = capture("mysql", release, "unknown_statement")
    clients.answers["SHOW ALL REPLICAS STATUS"] = unknown
    clients.answers["SHOW REPLICA STATUS"] = capture("mysql", release, "replica_lagging")
    argv = ["--backend", "mysql", "--max-lag-seconds", "2", "--defaults-file", "/etc/rampart/my.cnf"]
    assert run(module, monkeypatch, *argv) == 1
    assert [c[-1] for c in clients.calls] == ["SHOW ALL REPLICAS STATUS", "SHOW REPLICA STATUS"]
    assert clients.calls[0][:2] == ["/usr/bin/mariadb", "--defaults-extra-file=/etc/rampart/my.cnf"]
    (alert,) = sent
    assert alert[0] == "fail"
    assert alert[1].startswith("replication from 127.0.0.1:3306 is ")
    assert alert[1].endswith(" s behind, over the limit of 2 s")


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_mysql_primary_checks_its_replicas(
    script: tuple[ModuleType, Clients, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch, release: str
) -> None:
    module, clients, sent = script
    clients.answers["SHOW ALL REPLICAS STATUS"] = capture("mysql", release, "primary_status")
    clients.answers[module.mysql_replication.REPLICAS_QUERY] = capture("mysql", release, "primary_no_replica")
    assert run(module, monkeypatch, "--backend", "mysql", "--expected", "localhost") == 1
    assert sent == [("fail", "replica localhost is not connected (no binlog dump thread from it)")]


def test_mysql_other_errors_do_not_fall_back(
    script: tuple[ModuleType, Clients, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, clients, sent = script
    clients.answers["SHOW ALL REPLICAS STATUS"] = capture("mysql", "trixie", "server_down")
    assert run(module, monkeypatch, "--backend", "mysql") == 2
    assert len(clients.calls) == 1
    assert sent[0][1].startswith("the check could not run: /usr/bin/mariadb exited 1: ERROR 2002 (HY000)")
