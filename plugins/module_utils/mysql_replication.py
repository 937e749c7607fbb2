# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MariaDB/MySQL replication health (STO-02): parse replica status and judge it.

Pure functions, standard library only (the replication_health role's timer script ships a copy).
The `mysql` client prints `SHOW REPLICA STATUS` either vertically (`\\G`, `--vertical`) or as
tab-separated `--batch` output; both parse to the same rows. Column names differ between
servers - MariaDB and MySQL before 8.0.22 say Slave_*/Master_*, MySQL 8.0.22 and later
Replica_*/Source_* - and are normalised here.
"""

from __future__ import annotations

import re
from typing import Any

# Tried in order until the server knows the statement: MariaDB 10.5.1+ lists every named
# connection (multi-source), MySQL 8.0.22+ knows REPLICA, older servers only SLAVE.
STATUS_STATEMENTS = ("SHOW ALL REPLICAS STATUS", "SHOW REPLICA STATUS", "SHOW SLAVE STATUS")
# A primary's replicas: one binlog dump thread per connected replica (no report_host needed).
REPLICAS_QUERY = (
    "SELECT HOST FROM information_schema.PROCESSLIST"
    " WHERE COMMAND IN ('Binlog Dump', 'Binlog Dump GTID') ORDER BY HOST"
)
ROLES = ("auto", "primary", "replica")

# Normalised name -> the column names servers use for it, newest first.
COLUMNS = {
    "connection_name": ("Connection_name", "Channel_name"),
    "io_state": ("Replica_IO_State", "Slave_IO_State"),
    "source_host": ("Source_Host", "Master_Host"),
    "source_port": ("Source_Port", "Master_Port"),
    "io_running": ("Replica_IO_Running", "Slave_IO_Running"),
    "sql_running": ("Replica_SQL_Running", "Slave_SQL_Running"),
    "seconds_behind": ("Seconds_Behind_Source", "Seconds_Behind_Master"),
    "last_io_errno": ("Last_IO_Errno",),
    "last_io_error": ("Last_IO_Error",),
    "last_sql_errno": ("Last_SQL_Errno",),
    "last_sql_error": ("Last_SQL_Error",),
    "sql_state": ("Replica_SQL_Running_State", "Slave_SQL_Running_State"),
}
REQUIRED = ("io_running", "sql_running", "seconds_behind")

_ROW_MARK = re.compile(r"^\*+ \d+\. row \*+$")
_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*): ?(.*)$")
_UNESCAPE = {"n": "\n", "t": "\t", "\\": "\\", "0": "\0", "b": "\b", "r": "\r", "Z": "\x1a"}


class ReplicationOutputError(ValueError):
    """The client printed something that is not replica status."""


def mysql_argv(mysql: str, statement: str, defaults_file: str | None = None) -> list[str]:
    """The client command line for one statement: --batch prints a tab-separated header and
    rows with tabs, newlines and backslashes escaped and NULL as NULL."""
    extra = [f"--defaults-extra-file={defaults_file}"] if defaults_file else []
    return [mysql, *extra, "--batch", "-e", statement]


def _excerpt(text: str, limit: int = 120) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_vertical(text: str) -> list[dict[str, str]]:
    """Rows of vertical output (`*** 1. row ***` then `Field: value` lines). A line that is
    not a field continues the previous value (error texts may span lines)."""
    rows: list[dict[str, str]] = []
    last: str | None = None
    for line in text.splitlines():
        if _ROW_MARK.match(line.strip()):
            rows.append({})
            last = None
            continue
        if not rows:
            if line.strip():
                raise ReplicationOutputError(
                    f"vertical output must start with a row marker: {_excerpt(line)}"
                )
            continue
        match = _FIELD.match(line)
        if match and match.group(1) not in rows[-1]:
            last = match.group(1)
            rows[-1][last] = match.group(2)
        elif last is not None:
            rows[-1][last] += "\n" + line
        elif line.strip():
            raise ReplicationOutputError(f"not a field line: {_excerpt(line)}")
    return rows


def _unescape(value: str) -> str | None:
    if value == "NULL":
        return None
    return re.sub(r"\\(.)", lambda m: _UNESCAPE.get(m.group(1), m.group(1)), value)


def parse_batch(text: str) -> list[dict[str, str | None]]:
    """Rows of --batch output: a tab-separated header, then one escaped line per row."""
    # Only the final newline ends the output: an empty line is a row (one empty column).
    body = text[:-1] if text.endswith("\n") else text
    lines = body.split("\n") if body else []
    if not lines:
        return []
    header = lines[0].split("\t")
    if len(lines) == 1:  # an empty result prints nothing, not even the header
        raise ReplicationOutputError(f"a header without rows: {_excerpt(lines[0])}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(header):
            raise ReplicationOutputError(
                f"line {number} has {len(cells)} columns, the header {len(header)}: {_excerpt(line)}"
            )
        rows.append({name: _unescape(cell) for name, cell in zip(header, cells, strict=True)})
    return rows


def parse_status(text: str) -> list[dict[str, Any]]:
    """Replica status rows, vertical or batch, normalised (see COLUMNS); [] when the server is
    not a replica (the statement prints nothing)."""
    stripped = text.strip()
    if not stripped:
        return []
    raw: list[dict[str, Any]]
    if _ROW_MARK.match(stripped.splitlines()[0].strip()):
        raw = [{k: (None if v == "NULL" else v) for k, v in row.items()} for row in parse_vertical(text)]
    else:
        raw = list(parse_batch(text))
    rows = []
    for index, row in enumerate(raw, start=1):
        normal: dict[str, Any] = {}
        for name, columns in COLUMNS.items():
            normal[name] = next((row[c] for c in columns if c in row), None)
        if not all(any(c in row for c in COLUMNS[name]) for name in REQUIRED):
            raise ReplicationOutputError(
                f"row {index} is not replica status (no IO/SQL running or seconds behind columns): "
                f"{_excerpt(' '.join(sorted(row)))}"
            )
        seconds = normal["seconds_behind"]
        if seconds is not None:
            if not str(seconds).isdigit():
                raise ReplicationOutputError(f"row {index}: seconds behind is not a number: {seconds!r}")
            normal["seconds_behind"] = int(seconds)
        for key in ("source_port", "last_io_errno", "last_sql_errno"):
            if normal[key] is not None and str(normal[key]).isdigit():
                normal[key] = int(normal[key])
        rows.append(normal)
    return rows


def parse_replica_hosts(text: str) -> list[str]:
    """Addresses of connected replicas from REPLICAS_QUERY (HOST is `address:port`)."""
    hosts = []
    for row in parse_batch(text):
        if "HOST" not in row:
            raise ReplicationOutputError(f"not a HOST column: {_excerpt(text)}")
        host = row["HOST"] or ""
        hosts.append(host.rsplit(":", 1)[0] if ":" in host and not host.endswith("]") else host)
    return hosts


def _channel(row: dict[str, Any]) -> str:
    where = f"replication from {row.get('source_host') or '(no source host)'}"
    if row.get("source_port"):
        where += f":{row['source_port']}"
    if row.get("connection_name"):
        where += f" (connection {row['connection_name']})"
    return where


def _thread(row: dict[str, Any], kind: str) -> str | None:
    running = row[f"{kind}_running"]
    if running == "Yes":
        return None
    error = row.get(f"last_{kind}_error")
    errno = row.get(f"last_{kind}_errno")
    problem = f"{_channel(row)}: the {kind.upper()} thread is {running or 'unknown'}, not running"
    return problem + (f" (error {errno}: {error})" if error else "")


def evaluate(
    rows: list[dict[str, Any]],
    replica_hosts: list[str],
    expected_replicas: list[str],
    max_lag_seconds: float,
    expect_role: str = "auto",
) -> list[str]:
    """Every problem, each naming the replication channel (or replica) and the lag.

    A server with replica status is a replica: both threads must run and it must be within
    max_lag_seconds of its source. Otherwise it is a primary: every expected replica (by the
    address its binlog dump thread comes from) must be connected, and with none expected at
    least one replica must be.
    """
    if expect_role not in ROLES:
        raise ValueError(f"expect_role must be one of {', '.join(ROLES)}, got {expect_role!r}")
    role = "replica" if rows else "primary"
    if expect_role not in ("auto", role):
        status = "it has replica status" if rows else "no replica status"
        return [f"this server is a {role} ({status}), but it should be a {expect_role}"]
    problems: list[str] = []
    if role == "primary":
        for name in expected_replicas:
            if name not in replica_hosts:
                problems.append(f"replica {name} is not connected (no binlog dump thread from it)")
        if not expected_replicas and not replica_hosts:
            problems.append("no replica is connected and this server is not a replica")
        return problems
    for row in rows:
        threads = [p for p in (_thread(row, "io"), _thread(row, "sql")) if p]
        problems.extend(threads)
        seconds = row["seconds_behind"]
        if not threads and seconds is None:
            problems.append(f"{_channel(row)}: the lag is unknown (Seconds_Behind_Master is NULL)")
        elif seconds is not None and seconds > max_lag_seconds:
            problems.append(f"{_channel(row)} is {seconds} s behind, over the limit of {max_lag_seconds:g} s")
    return problems


def summary(rows: list[dict[str, Any]], replica_hosts: list[str]) -> str:
    """One line of evidence."""
    if not rows:
        return "primary; replicas connected: " + (", ".join(replica_hosts) if replica_hosts else "none")
    return "replica; " + "; ".join(
        f"{_channel(r)} IO {r['io_running']} SQL {r['sql_running']} {r['seconds_behind']} s behind"
        for r in rows
    )
