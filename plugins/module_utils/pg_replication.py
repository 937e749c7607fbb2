# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL streaming replication health (STO-02): the query, its parser and the verdict.

Pure functions on strings and dicts, standard library only: the pg_replication_info module
and the replication_health role's timer script (which ships a copy of this file) use the same
query and the same decisions (alerts are formatted by health_alert). The query returns one
JSON document, so the target needs only `psql`, no Python database driver.
"""

from __future__ import annotations

import json
from typing import Any

# One JSON document describing this server. On a primary, pg_stat_replication lists its
# standbys and the lag is measured from the current WAL position; on a standby (in recovery)
# pg_stat_wal_receiver says whether it streams, and replay lag is what it received but has
# not replayed. Functions that fail on the other kind of server (pg_current_wal_lsn on a
# standby, pg_is_wal_replay_paused on a primary) sit behind CASE: they are volatile, so
# PostgreSQL evaluates them only when their branch is taken. Needs PostgreSQL 13 or later
# (pg_stat_wal_receiver.flushed_lsn).
QUERY = """\
SELECT json_build_object(
  'version', current_setting('server_version_num')::int,
  'in_recovery', pg_is_in_recovery(),
  'standbys', COALESCE((
    SELECT json_agg(json_build_object(
      'application_name', r.application_name,
      'client_addr', host(r.client_addr),
      'state', r.state,
      'sync_state', r.sync_state,
      'sent_lsn', r.sent_lsn,
      'write_lsn', r.write_lsn,
      'flush_lsn', r.flush_lsn,
      'replay_lsn', r.replay_lsn,
      'sent_lag_bytes', pg_wal_lsn_diff(c.lsn, r.sent_lsn),
      'write_lag_bytes', pg_wal_lsn_diff(c.lsn, r.write_lsn),
      'flush_lag_bytes', pg_wal_lsn_diff(c.lsn, r.flush_lsn),
      'replay_lag_bytes', pg_wal_lsn_diff(c.lsn, r.replay_lsn),
      'write_lag_seconds', EXTRACT(EPOCH FROM r.write_lag),
      'flush_lag_seconds', EXTRACT(EPOCH FROM r.flush_lag),
      'replay_lag_seconds', EXTRACT(EPOCH FROM r.replay_lag)
    ) ORDER BY r.application_name, r.pid)
    FROM pg_stat_replication r,
      (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                   ELSE pg_current_wal_lsn() END AS lsn) c
  ), '[]'::json),
  'receiver', (
    SELECT json_build_object(
      'status', w.status,
      'sender_host', w.sender_host,
      'sender_port', w.sender_port,
      'slot_name', w.slot_name,
      'flushed_lsn', w.flushed_lsn,
      'latest_end_lsn', w.latest_end_lsn,
      'last_msg_age_seconds', EXTRACT(EPOCH FROM now() - w.last_msg_receipt_time))
    FROM pg_stat_wal_receiver w),
  'replay', CASE WHEN pg_is_in_recovery() THEN json_build_object(
      'receive_lsn', pg_last_wal_receive_lsn(),
      'replay_lsn', pg_last_wal_replay_lsn(),
      'lag_bytes', pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()),
      'delay_seconds', EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()),
      'paused', pg_is_wal_replay_paused()) END
)"""

# psql flags: no ~/.psqlrc (-X), unaligned (-A) tuples only (-t), quiet, stop on error.
PSQL_ARGS = ("-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1")

STANDBY_KEYS = ("application_name", "state")
ROLES = ("auto", "primary", "standby")


class ReplicationOutputError(ValueError):
    """psql printed something that is not this module's status document."""


def psql_argv(psql: str, port: int, database: str) -> list[str]:
    """The psql command line (run as the database superuser) that prints the status document."""
    return [psql, *PSQL_ARGS, "-p", str(port), "-d", database, "-c", QUERY]


def _excerpt(text: str, limit: int = 120) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReplicationOutputError(f"{where} is not a number: {value!r}")
    return value


def parse_status(text: str) -> dict[str, Any]:
    """Parse the one-line JSON document QUERY prints (psql -A -t) and check its shape.

    Lag values stay None where PostgreSQL reports NULL (no recent activity, or no
    transaction replayed yet); byte counts become ints.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ReplicationOutputError("psql printed nothing (expected one JSON status document)")
    try:
        doc = json.loads(lines[-1])
    except ValueError as exc:
        raise ReplicationOutputError(f"psql did not print a JSON status document: {_excerpt(text)}") from exc
    if not isinstance(doc, dict) or not {"version", "in_recovery", "standbys"} <= doc.keys():
        raise ReplicationOutputError(f"not a replication status document: {_excerpt(text)}")
    if not isinstance(doc["in_recovery"], bool) or not isinstance(doc["standbys"], list):
        raise ReplicationOutputError(f"malformed replication status document: {_excerpt(text)}")
    standbys = []
    for index, row in enumerate(doc["standbys"]):
        where = f"standby #{index + 1}"
        if not isinstance(row, dict) or not set(STANDBY_KEYS) <= row.keys():
            raise ReplicationOutputError(f"{where} lacks {', '.join(STANDBY_KEYS)}: {row!r}")
        standby = dict(row)
        for key, value in row.items():
            if key.endswith("_bytes"):
                number = _number(value, f"{where} {key}")
                standby[key] = None if number is None else int(number)
            elif key.endswith("_seconds"):
                standby[key] = _number(value, f"{where} {key}")
        standbys.append(standby)
    receiver = doc.get("receiver")
    replay = doc.get("replay")
    if receiver is not None and not isinstance(receiver, dict):
        raise ReplicationOutputError(f"receiver is not an object: {receiver!r}")
    if replay is not None:
        if not isinstance(replay, dict) or not isinstance(replay.get("paused"), bool):
            raise ReplicationOutputError(f"replay is not a replay-state object: {replay!r}")
        replay = dict(replay)
        lag = _number(replay.get("lag_bytes"), "replay lag_bytes")
        replay["lag_bytes"] = None if lag is None else int(lag)
        replay["delay_seconds"] = _number(replay.get("delay_seconds"), "replay delay_seconds")
    return {
        "version": doc["version"],
        "role": "standby" if doc["in_recovery"] else "primary",
        "standbys": standbys,
        "receiver": receiver,
        "replay": replay,
    }


def human_bytes(count: int) -> str:
    """1536 -> '1536 bytes (1.5 KiB)': exact for comparing with a threshold, readable for people."""
    if count < 1024:
        return f"{count} bytes"
    size = float(count)
    unit = "KiB"
    for unit in ("KiB", "MiB", "GiB"):  # noqa: B007 - the unit the loop stops at is the one to print
        size /= 1024
        if size < 1024:
            break
    return f"{count} bytes ({size:.1f} {unit})"


def _standby_name(standby: dict[str, Any]) -> str:
    name = standby.get("application_name") or "(no application_name)"
    addr = standby.get("client_addr")
    return f"standby {name}" + (f" ({addr})" if addr else "")


def standby_lag_seconds(replay: dict[str, Any]) -> float:
    """A standby's replay lag in seconds: 0 when it has replayed all it received (an idle
    primary sends nothing, so the age of the last replayed transaction is no lag), else the
    age of the last replayed transaction."""
    if replay.get("lag_bytes") == 0:
        return 0.0
    delay = replay.get("delay_seconds")
    return max(float(delay), 0.0) if delay is not None else 0.0


def evaluate(
    status: dict[str, Any],
    expected_standbys: list[str],
    max_lag_bytes: int,
    max_lag_seconds: float,
    expect_role: str = "auto",
) -> list[str]:
    """Every problem with this server's replication, each a sentence naming what and how much.

    An empty list means healthy. On a primary every expected standby (by application_name)
    must stream within both thresholds, and with none expected at least one must; on a
    standby the WAL receiver must stream, replay must not be paused and must keep up.
    """
    if expect_role not in ROLES:
        raise ValueError(f"expect_role must be one of {', '.join(ROLES)}, got {expect_role!r}")
    role = status["role"]
    if expect_role not in ("auto", role):
        return [
            f"this server is a {role} ({'in' if role == 'standby' else 'not in'} recovery), "
            f"but it should be a {expect_role}"
        ]
    if role == "primary":
        return _primary_problems(status, expected_standbys, max_lag_bytes, max_lag_seconds)
    return _standby_problems(status, max_lag_bytes, max_lag_seconds)


def _primary_problems(
    status: dict[str, Any], expected: list[str], max_lag_bytes: int, max_lag_seconds: float
) -> list[str]:
    problems: list[str] = []
    # pg_basebackup's own connections show up in state 'backup'; they are not standbys.
    standbys = [s for s in status["standbys"] if s["state"] != "backup"]
    names = {s["application_name"] for s in standbys}
    for name in expected:
        if name not in names:
            problems.append(f"standby {name} is not connected (not in pg_stat_replication)")
    if not expected and not standbys:
        problems.append("no standby is connected (pg_stat_replication is empty)")
    for standby in standbys:
        who = _standby_name(standby)
        if standby["state"] != "streaming":
            problems.append(f"{who} is in state {standby['state']}, not streaming")
        lag = standby.get("replay_lag_bytes")
        if lag is not None and lag > max_lag_bytes:
            problems.append(
                f"{who} replay lag is {human_bytes(lag)}, over the limit of {human_bytes(max_lag_bytes)}"
            )
        seconds = standby.get("replay_lag_seconds")
        if seconds is not None and seconds > max_lag_seconds:
            problems.append(f"{who} replay lag is {seconds:.1f} s, over the limit of {max_lag_seconds:g} s")
    return problems


def _standby_problems(status: dict[str, Any], max_lag_bytes: int, max_lag_seconds: float) -> list[str]:
    problems: list[str] = []
    receiver = status.get("receiver")
    replay = status.get("replay") or {}
    if receiver is None:
        problems.append(
            "the WAL receiver is not running (pg_stat_wal_receiver is empty): not streaming from a primary"
        )
    elif receiver.get("status") != "streaming":
        source = receiver.get("sender_host") or "its primary"
        problems.append(f"the WAL receiver is {receiver.get('status')}, not streaming from {source}")
    if replay.get("paused"):
        problems.append("WAL replay is paused (SELECT pg_wal_replay_resume() resumes it)")
    lag = replay.get("lag_bytes")
    if lag is not None and lag > max_lag_bytes:
        problems.append(
            f"replay is {human_bytes(lag)} behind what was received, "
            f"over the limit of {human_bytes(max_lag_bytes)}"
        )
    seconds = standby_lag_seconds(replay)
    if seconds > max_lag_seconds:
        problems.append(
            f"replay lag is {seconds:.1f} s (since the last replayed transaction), "
            f"over the limit of {max_lag_seconds:g} s"
        )
    return problems


def summary(status: dict[str, Any]) -> str:
    """One line of evidence: what this server is and how its replication looks."""
    if status["role"] == "primary":
        parts = [
            f"{s['application_name']} {s['state']}/{s['sync_state']} replay lag "
            f"{s.get('replay_lag_bytes')} bytes"
            + (f" {s['replay_lag_seconds']:.3f} s" if s.get("replay_lag_seconds") is not None else "")
            for s in status["standbys"]
            if s["state"] != "backup"
        ]
        return "primary; standbys: " + ("; ".join(parts) if parts else "none")
    receiver = status.get("receiver") or {}
    replay = status.get("replay") or {}
    return (
        f"standby; receiver {receiver.get('status', 'not running')}"
        + (f" from {receiver['sender_host']}" if receiver.get("sender_host") else "")
        + f"; replay lag {replay.get('lag_bytes')} bytes {standby_lag_seconds(replay):.1f} s"
        + ("; replay paused" if replay.get("paused") else "")
    )
