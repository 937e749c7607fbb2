"""Unit tests for plugins/module_utils/mysql_replication.py.

MariaDB outputs are captured from real servers (tests/fixtures/mysql/capture.sh: MariaDB 10.11 on
Debian 12, 11.8 on Debian 13, a primary and a replica on one host); the MySQL 8 output is the
reference manual's example (tests/fixtures/mysql/mysql8/README.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.mysql_replication import (
    REPLICAS_QUERY,
    STATUS_STATEMENTS,
    ReplicationOutputError,
    evaluate,
    mysql_argv,
    parse_batch,
    parse_replica_hosts,
    parse_status,
    parse_vertical,
    summary,
)
from hypothesis import given
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mysql"
RELEASES = ("bookworm", "trixie")
SOURCE = "replication from 127.0.0.1:3306"


def out(release: str, name: str, stream: str = "stdout") -> str:
    return (FIXTURES / release / f"{name}.{stream}").read_text()


def rows(release: str, name: str) -> list[dict[str, Any]]:
    return parse_status(out(release, name))


def status_captures() -> list[tuple[str, str]]:
    return [
        (release, rc.name.removesuffix(".rc"))
        for release in RELEASES
        for rc in sorted((FIXTURES / release).glob("replica_*.rc"))
    ]


def test_mysql_argv() -> None:
    assert mysql_argv("/usr/bin/mariadb", "SHOW REPLICA STATUS") == [
        "/usr/bin/mariadb",
        "--batch",
        "-e",
        "SHOW REPLICA STATUS",
    ]
    assert (
        mysql_argv("/usr/bin/mysql", "SELECT 1", "/etc/rampart/my.cnf")[1]
        == "--defaults-extra-file=/etc/rampart/my.cnf"
    )


@pytest.mark.parametrize(("release", "name"), status_captures())
def test_every_replica_capture_parses_to_one_channel(release: str, name: str) -> None:
    assert out(release, name, "rc").strip() == "0"
    (row,) = rows(release, name)
    assert (row["source_host"], row["source_port"]) == ("127.0.0.1", 3306)
    assert row["io_running"] in ("Yes", "No", "Connecting")


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize(
    "name", ["replica_running", "replica_lagging", "replica_sql_error", "replica_io_error"]
)
def test_vertical_and_batch_agree(release: str, name: str) -> None:
    """The same state read as --batch (SHOW ALL REPLICAS STATUS) and vertically (\\G)."""
    batch_name = name + "_all" if name == "replica_running" else name
    (batch,) = rows(release, batch_name)
    (vertical,) = rows(release, f"{name}_vertical")
    keys = ("io_running", "sql_running", "last_io_errno", "last_sql_errno", "last_sql_error", "source_host")
    assert {k: batch[k] for k in keys} == {k: vertical[k] for k in keys}


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", ["replica_running_all", "replica_running", "replica_running_slave"])
def test_healthy_replica(release: str, name: str) -> None:
    (row,) = rows(release, name)
    assert (row["io_running"], row["sql_running"], row["seconds_behind"]) == ("Yes", "Yes", 0)
    assert evaluate([row], [], [], 60) == []
    assert summary([row], []) == f"replica; {SOURCE} IO Yes SQL Yes 0 s behind"


@pytest.mark.parametrize("release", RELEASES)
def test_all_replicas_status_names_the_default_connection_empty(release: str) -> None:
    (row,) = rows(release, "replica_running_all")
    assert row["connection_name"] == ""


@pytest.mark.parametrize("release", RELEASES)
def test_lagging_replica(release: str) -> None:
    (row,) = rows(release, "replica_lagging")
    seconds = row["seconds_behind"]
    assert seconds >= 5  # capture.sh holds the table locked for ~8 s
    assert evaluate([row], [], [], 2) == [f"{SOURCE} is {seconds} s behind, over the limit of 2 s"]
    assert evaluate([row], [], [], seconds) == []


@pytest.mark.parametrize("release", RELEASES)
def test_sql_thread_stopped_by_an_error(release: str) -> None:
    (row,) = rows(release, "replica_sql_error")
    assert row["last_sql_errno"] == 1062
    (problem,) = evaluate([row], [], [], 60)
    assert problem.startswith(
        f"{SOURCE}: the SQL thread is No, not running (error 1062: Error 'Duplicate entry"
    )


@pytest.mark.parametrize("release", RELEASES)
def test_io_thread_cannot_connect(release: str) -> None:
    (row,) = rows(release, "replica_io_error")
    (problem,) = evaluate([row], [], [], 60)
    assert problem.startswith(f"{SOURCE}: the IO thread is Connecting, not running (error 1045: ")
    assert "Access denied for user 'repl'" in problem


@pytest.mark.parametrize("release", RELEASES)
def test_stopped_replica(release: str) -> None:
    (row,) = rows(release, "replica_stopped")
    assert row["seconds_behind"] is None
    assert evaluate([row], [], [], 60) == [
        f"{SOURCE}: the IO thread is No, not running",
        f"{SOURCE}: the SQL thread is No, not running",
    ]


def test_running_threads_with_unknown_lag() -> None:
    (row,) = rows("trixie", "replica_running_all")
    row["seconds_behind"] = None
    assert evaluate([row], [], [], 60) == [f"{SOURCE}: the lag is unknown (Seconds_Behind_Master is NULL)"]


@pytest.mark.parametrize("release", RELEASES)
def test_primary_and_its_replicas(release: str) -> None:
    assert out(release, "primary_status") == ""
    assert rows(release, "primary_status") == []
    hosts = parse_replica_hosts(out(release, "primary_replica_hosts"))
    assert hosts == ["localhost"]  # the replica connects to 127.0.0.1, which resolves to localhost
    assert evaluate([], hosts, ["localhost"], 60) == []
    assert evaluate([], hosts, [], 60) == []
    assert evaluate([], hosts, ["localhost", "10.0.0.12"], 60) == [
        "replica 10.0.0.12 is not connected (no binlog dump thread from it)"
    ]
    assert summary([], hosts) == "primary; replicas connected: localhost"


@pytest.mark.parametrize("release", RELEASES)
def test_primary_without_replicas(release: str) -> None:
    hosts = parse_replica_hosts(out(release, "primary_no_replica"))
    assert hosts == []
    assert evaluate([], hosts, [], 60) == ["no replica is connected and this server is not a replica"]
    assert evaluate([], hosts, ["localhost"], 60) == [
        "replica localhost is not connected (no binlog dump thread from it)"
    ]


@pytest.mark.parametrize("release", RELEASES)
def test_unknown_statement_is_error_1064(release: str) -> None:
    """The module falls back to an older statement on exactly this error."""
    assert out(release, "unknown_statement", "rc").strip() == "1"
    assert "ERROR 1064" in out(release, "unknown_statement", "stderr")
    assert STATUS_STATEMENTS[0] == "SHOW ALL REPLICAS STATUS"
    assert "Binlog Dump" in REPLICAS_QUERY


def test_mysql8_column_names() -> None:
    (row,) = rows("mysql8", "replica_running_vertical")
    assert row["io_running"] == row["sql_running"] == "Yes"
    assert (row["source_host"], row["source_port"], row["seconds_behind"]) == ("127.0.0.1", 13000, 0)
    assert row["connection_name"] == ""
    assert row["sql_state"] == "Reading event from the relay log"
    assert evaluate([row], [], [], 60) == []


@pytest.mark.parametrize(
    ("expect", "data", "problem"),
    [
        (
            "primary",
            "replica",
            "this server is a replica (it has replica status), but it should be a primary",
        ),
        ("replica", "primary", "this server is a primary (no replica status), but it should be a replica"),
    ],
)
def test_expected_role(expect: str, data: str, problem: str) -> None:
    status = rows("trixie", "replica_running_all") if data == "replica" else []
    assert evaluate(status, ["localhost"], [], 60, expect) == [problem]


def test_unknown_expected_role_is_refused() -> None:
    with pytest.raises(ValueError, match="expect_role must be one of auto, primary, replica, got 'standby'"):
        evaluate([], [], [], 60, "standby")


def test_multi_source_channels_are_named() -> None:
    (row,) = rows("trixie", "replica_running_all")
    other = dict(row, connection_name="eu", source_host="10.0.0.2", io_running="No", last_io_error="")
    assert evaluate([row, other], [], [], 60) == [
        "replication from 10.0.0.2:3306 (connection eu): the IO thread is No, not running"
    ]


def test_vertical_value_spanning_lines() -> None:
    text = (
        "*************************** 1. row ***************************\n"
        "   Slave_IO_Running: Yes\n"
        "  Slave_SQL_Running: No\n"
        "     Last_SQL_Error: first line\n"
        "second line of the error\n"
        "Seconds_Behind_Master: NULL\n"
    )
    (row,) = parse_status(text)
    assert row["last_sql_error"] == "first line\nsecond line of the error"
    assert row["seconds_behind"] is None


def test_batch_escapes_and_null() -> None:
    text = (
        "Slave_IO_Running\tSlave_SQL_Running\tSeconds_Behind_Master\tLast_SQL_Error\n"
        "Yes\tNo\tNULL\ta\\tb\\nc\\\\d\n"
    )
    (row,) = parse_status(text)
    assert row["last_sql_error"] == "a\tb\nc\\d"
    assert row["seconds_behind"] is None


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=20), min_size=1, max_size=5))
def test_batch_round_trip(values: list[str]) -> None:
    """Whatever the values, mysql's --batch escaping reads back to them."""

    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\0", "\\0")

    header = "\t".join(f"c{i}" for i in range(len(values)))
    text = header + "\n" + "\t".join(escape(v) for v in values) + "\n"
    (row,) = parse_batch(text)
    assert list(row.values()) == [None if v == "NULL" else v for v in values]


def test_two_vertical_rows() -> None:
    text = out("trixie", "replica_running_vertical") * 2
    text = text.replace("*** 1. row", "*** 2. row", 2).replace("*** 2. row", "*** 1. row", 1)
    assert len(parse_vertical(text)) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("garbage", "a header without rows: 'garbage'"),
        ("a\tb\n1\n", "line 2 has 1 columns, the header 2"),
        ("Id\tUser\n1\troot\n", "row 1 is not replica status"),
        (
            "x\n*************************** 1. row ***************************\n",
            "row 1 is not replica status",
        ),
        (
            "*************************** 1. row ***************************\n  Slave_IO_Running: Yes\n",
            "row 1 is not replica status",
        ),
        (
            "Slave_IO_Running\tSlave_SQL_Running\tSeconds_Behind_Master\nYes\tYes\tsoon\n",
            "row 1: seconds behind is not a number: 'soon'",
        ),
    ],
)
def test_garbage_is_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ReplicationOutputError) as raised:
        parse_status(text)
    assert message in str(raised.value)


def test_vertical_garbage_before_the_first_row() -> None:
    with pytest.raises(ReplicationOutputError, match="must start with a row"):
        parse_vertical("hello\n*************************** 1. row ***************************\n")


def test_replica_hosts_garbage() -> None:
    with pytest.raises(ReplicationOutputError, match="not a HOST column"):
        parse_replica_hosts("Id\tUser\n1\troot\n")


@pytest.mark.parametrize(
    ("host", "address"),
    [("10.0.0.12:51234", "10.0.0.12"), ("db2.example:3306", "db2.example"), ("localhost", "localhost")],
)
def test_replica_host_port_is_dropped(host: str, address: str) -> None:
    assert parse_replica_hosts(f"HOST\n{host}\n") == [address]
