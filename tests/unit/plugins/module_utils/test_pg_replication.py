"""Unit tests for plugins/module_utils/pg_replication.py, on outputs of its own query captured from
real PostgreSQL 15 (Debian 12) and 17 (Debian 13).

Fixtures live in tests/fixtures/pg/<release>/ (made by capture.sh there: a primary and a
streaming standby on one host); NAME.stdout, NAME.stderr and NAME.rc hold one psql run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.pg_replication import (
    QUERY,
    ReplicationOutputError,
    evaluate,
    human_bytes,
    parse_status,
    psql_argv,
    standby_lag_seconds,
    summary,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "pg"
RELEASES = {"bookworm": 15, "trixie": 17}
MIB = 1048576
STANDBY = "standby-a"


def out(release: str, name: str) -> str:
    return (FIXTURES / release / f"{name}.stdout").read_text()


def status(release: str, name: str) -> dict[str, Any]:
    return parse_status(out(release, name))


def captures() -> list[tuple[str, str]]:
    return [
        (release, rc.name.removesuffix(".rc"))
        for release in RELEASES
        for rc in sorted((FIXTURES / release).glob("*.rc"))
        if rc.read_text().strip() == "0"
    ]


def test_fixtures_were_captured_with_this_query() -> None:
    """A changed query needs new captures (capture.sh reads query.sql)."""
    assert (FIXTURES / "query.sql").read_text() == QUERY + ";\n"


def test_psql_argv_reads_no_psqlrc_and_prints_tuples_only() -> None:
    argv = psql_argv("/usr/bin/psql", 5433, "postgres")
    assert argv[:5] == ["/usr/bin/psql", "-X", "-A", "-t", "-q"]
    assert argv[-6:] == ["-p", "5433", "-d", "postgres", "-c", QUERY]


@pytest.mark.parametrize(("release", "name"), captures())
def test_every_capture_parses(release: str, name: str) -> None:
    parsed = status(release, name)
    assert parsed["version"] // 10000 == RELEASES[release]
    assert parsed["role"] == ("primary" if name.startswith("primary") else "standby")


@pytest.mark.parametrize("release", RELEASES)
def test_healthy_primary(release: str) -> None:
    parsed = status(release, "primary_streaming")
    (standby,) = parsed["standbys"]
    assert standby["application_name"] == STANDBY
    assert standby["client_addr"] == "127.0.0.1"
    assert (standby["state"], standby["sync_state"]) == ("streaming", "async")
    assert standby["replay_lag_bytes"] == 0
    assert isinstance(standby["replay_lag_bytes"], int)
    assert evaluate(parsed, [STANDBY], MIB, 60) == []
    assert evaluate(parsed, [], MIB, 60) == []
    assert summary(parsed).startswith(f"primary; standbys: {STANDBY} streaming/async replay lag 0 bytes")


@pytest.mark.parametrize("release", RELEASES)
def test_paused_standby_lags_on_the_primary(release: str) -> None:
    parsed = status(release, "primary_standby_paused")
    lag = parsed["standbys"][0]["replay_lag_bytes"]
    assert lag > 10 * MIB  # capture.sh writes ~16 MB of WAL while replay is paused
    problems = evaluate(parsed, [STANDBY], MIB, 600)
    assert problems == [
        f"standby {STANDBY} (127.0.0.1) replay lag is {human_bytes(lag)}, "
        "over the limit of 1048576 bytes (1.0 MiB)"
    ]
    assert evaluate(parsed, [STANDBY], lag, 600) == []  # at the limit is within it


@pytest.mark.parametrize("release", RELEASES)
def test_lag_in_seconds_on_the_primary(release: str) -> None:
    parsed = status(release, "primary_standby_paused")
    seconds = parsed["standbys"][0]["replay_lag_seconds"]
    assert seconds is not None and seconds > 0
    problems = evaluate(parsed, [STANDBY], 1 << 40, seconds / 2)
    assert problems == [
        f"standby {STANDBY} (127.0.0.1) replay lag is {seconds:.1f} s, over the limit of {seconds / 2:g} s"
    ]


@pytest.mark.parametrize("release", RELEASES)
def test_missing_standby_is_named(release: str) -> None:
    parsed = status(release, "primary_no_standby")
    assert parsed["standbys"] == []
    assert evaluate(parsed, [STANDBY], MIB, 60) == [
        f"standby {STANDBY} is not connected (not in pg_stat_replication)"
    ]
    assert evaluate(parsed, [], MIB, 60) == ["no standby is connected (pg_stat_replication is empty)"]
    assert summary(parsed) == "primary; standbys: none"


@pytest.mark.parametrize("release", RELEASES)
def test_one_of_two_expected_standbys_missing(release: str) -> None:
    parsed = status(release, "primary_streaming")
    assert evaluate(parsed, [STANDBY, "standby-b"], MIB, 60) == [
        "standby standby-b is not connected (not in pg_stat_replication)"
    ]


@pytest.mark.parametrize("release", RELEASES)
def test_healthy_standby(release: str) -> None:
    parsed = status(release, "standby_streaming")
    assert parsed["receiver"]["status"] == "streaming"
    assert parsed["receiver"]["sender_host"] == "127.0.0.1"
    assert parsed["replay"]["paused"] is False
    assert evaluate(parsed, [], MIB, 60) == []
    assert evaluate(parsed, ["ignored-on-a-standby"], MIB, 60) == []
    assert summary(parsed) == "standby; receiver streaming from 127.0.0.1; replay lag 0 bytes 0.0 s"


@pytest.mark.parametrize("release", RELEASES)
def test_paused_standby(release: str) -> None:
    parsed = status(release, "standby_paused")
    replay = parsed["replay"]
    assert replay["paused"] is True
    assert replay["lag_bytes"] > 10 * MIB
    assert standby_lag_seconds(replay) == replay["delay_seconds"]
    problems = evaluate(parsed, [], MIB, 1)
    assert problems[0] == "WAL replay is paused (SELECT pg_wal_replay_resume() resumes it)"
    assert problems[1] == (
        f"replay is {human_bytes(replay['lag_bytes'])} behind what was received, "
        "over the limit of 1048576 bytes (1.0 MiB)"
    )
    assert problems[2].startswith(
        f"replay lag is {replay['delay_seconds']:.1f} s (since the last replayed transaction)"
    )
    assert len(problems) == 3


@pytest.mark.parametrize("release", RELEASES)
def test_caught_up_standby_has_no_time_lag(release: str) -> None:
    """After resuming, everything received is replayed: the age of the last transaction is no lag."""
    parsed = status(release, "standby_resumed")
    assert parsed["replay"]["lag_bytes"] == 0
    assert parsed["replay"]["delay_seconds"] > 1
    assert standby_lag_seconds(parsed["replay"]) == 0
    assert evaluate(parsed, [], MIB, 1) == []


@pytest.mark.parametrize("release", RELEASES)
def test_standby_without_its_primary(release: str) -> None:
    parsed = status(release, "standby_primary_down")
    assert parsed["receiver"] is None
    assert evaluate(parsed, [], MIB, 60) == [
        "the WAL receiver is not running (pg_stat_wal_receiver is empty): not streaming from a primary"
    ]
    assert summary(parsed).startswith("standby; receiver not running;")


def test_receiver_in_another_state_names_its_primary() -> None:
    parsed = status("trixie", "standby_streaming")
    parsed["receiver"]["status"] = "waiting"
    assert evaluate(parsed, [], MIB, 60) == ["the WAL receiver is waiting, not streaming from 127.0.0.1"]


def test_standby_not_streaming_on_the_primary() -> None:
    parsed = status("trixie", "primary_streaming")
    parsed["standbys"][0]["state"] = "catchup"
    assert evaluate(parsed, [STANDBY], MIB, 60) == [
        f"standby {STANDBY} (127.0.0.1) is in state catchup, not streaming"
    ]


def test_base_backup_connections_are_not_standbys() -> None:
    parsed = status("trixie", "primary_no_standby")
    parsed["standbys"] = [{"application_name": "pg_basebackup", "state": "backup", "replay_lag_bytes": None}]
    assert evaluate(parsed, [], MIB, 60) == ["no standby is connected (pg_stat_replication is empty)"]


@pytest.mark.parametrize(
    ("name", "expect", "problem"),
    [
        (
            "primary_streaming",
            "standby",
            "this server is a primary (not in recovery), but it should be a standby",
        ),
        (
            "standby_streaming",
            "primary",
            "this server is a standby (in recovery), but it should be a primary",
        ),
    ],
)
def test_expected_role(name: str, expect: str, problem: str) -> None:
    assert evaluate(status("trixie", name), [], MIB, 60, expect) == [problem]
    assert evaluate(status("trixie", name), [], MIB, 60, "auto") == []


def test_unknown_expected_role_is_refused() -> None:
    with pytest.raises(ValueError, match="expect_role must be one of auto, primary, standby, got 'replica'"):
        evaluate(status("trixie", "primary_streaming"), [], MIB, 60, "replica")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "psql printed nothing"),
        ("\n  \n", "psql printed nothing"),
        ("garbage", "psql did not print a JSON status document: 'garbage'"),
        ("x" * 300, "..."),
        ("[1, 2]", "not a replication status document"),
        ('{"version": 1}', "not a replication status document"),
        ('{"version": 1, "in_recovery": "no", "standbys": []}', "malformed replication status document"),
        ('{"version": 1, "in_recovery": false, "standbys": [{"state": "x"}]}', "standby #1 lacks"),
        (
            '{"version": 1, "in_recovery": false, "standbys": [{"application_name": "a", "state": "s",'
            ' "replay_lag_bytes": "12"}]}',
            "standby #1 replay_lag_bytes is not a number: '12'",
        ),
        ('{"version": 1, "in_recovery": true, "standbys": [], "receiver": [1]}', "receiver is not an object"),
        (
            '{"version": 1, "in_recovery": true, "standbys": [], "replay": {}}',
            "replay is not a replay-state object",
        ),
    ],
)
def test_garbage_is_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ReplicationOutputError, match=None) as raised:
        parse_status(text)
    assert message in str(raised.value)


@pytest.mark.parametrize("release", RELEASES)
def test_psql_error_output_is_not_a_status(release: str) -> None:
    assert (FIXTURES / release / "server_down.rc").read_text().strip() == "2"
    assert "Is the server running" in (FIXTURES / release / "server_down.stderr").read_text()
    with pytest.raises(ReplicationOutputError, match="psql printed nothing"):
        parse_status(out(release, "server_down"))


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1536, "1536 bytes (1.5 KiB)"),
        (MIB, "1048576 bytes (1.0 MiB)"),
        (16047056, "16047056 bytes (15.3 MiB)"),
        (5 << 40, "5497558138880 bytes (5120.0 GiB)"),
    ],
)
def test_human_bytes(count: int, text: str) -> None:
    assert human_bytes(count) == text
