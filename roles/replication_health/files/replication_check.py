#!/usr/bin/python3
# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""STO-02 / MON-01: the replication check between Ansible runs (installed by replication_health).

Runs the same SQL and the same decisions as the pg_replication_info and mysql_replication_info
modules - it imports the module_utils files the role copies next to it - and logs the result
through syslog with health_alert (tag rampart-health, facility daemon): a failure at err, which
log_forwarder sends to the central collector, a pass as status=ok at notice (it shows the check
is alive). Exit 0 pass, 1 fail, 2 when the check could not run (logged as a failure too).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
from pathlib import Path

# The module_utils copies the role installs next to this script.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import health_alert
import mysql_replication
import pg_replication

CONTROL = "STO-02"


def run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, cwd="/", timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def check_postgresql(args: argparse.Namespace) -> tuple[list[str], str]:
    psql = shutil.which("psql") or "/usr/bin/psql"
    status = pg_replication.parse_status(run(pg_replication.psql_argv(psql, args.port, "postgres")))
    problems = pg_replication.evaluate(
        status, args.expected, args.max_lag_bytes, args.max_lag_seconds, args.expect_role
    )
    return problems, pg_replication.summary(status)


def check_mysql(args: argparse.Namespace) -> tuple[list[str], str]:
    client = shutil.which("mariadb") or shutil.which("mysql") or "/usr/bin/mysql"
    error = ""
    for statement in mysql_replication.STATUS_STATEMENTS:
        try:
            rows = mysql_replication.parse_status(
                run(mysql_replication.mysql_argv(client, statement, args.defaults_file))
            )
            break
        except RuntimeError as exc:
            error = str(exc)
            if "ERROR 1064" not in error:  # a statement this server knows, failing otherwise
                raise
    else:
        raise RuntimeError(error)
    hosts: list[str] = []
    if not rows:
        hosts = mysql_replication.parse_replica_hosts(
            run(mysql_replication.mysql_argv(client, mysql_replication.REPLICAS_QUERY, args.defaults_file))
        )
    problems = mysql_replication.evaluate(rows, hosts, args.expected, args.max_lag_seconds, args.expect_role)
    return problems, mysql_replication.summary(rows, hosts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("postgresql", "mysql"), required=True)
    parser.add_argument("--expect-role", default="auto", choices=("auto", "primary", "standby", "replica"))
    parser.add_argument("--expected", action="append", default=[], help="an expected standby (repeatable)")
    parser.add_argument("--max-lag-bytes", type=int, default=16777216)
    parser.add_argument("--max-lag-seconds", type=float, default=300)
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--defaults-file")
    args = parser.parse_args()
    host = socket.gethostname()
    try:
        check = check_postgresql if args.backend == "postgresql" else check_mysql
        problems, evidence = check(args)
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
        health_alert.send_alert(CONTROL, host, "fail", f"the check could not run: {exc}")
        return 2
    if problems:
        health_alert.send_alert(CONTROL, host, "fail", "; ".join(problems))
        return 1
    health_alert.send_alert(CONTROL, host, "ok", evidence)
    return 0


if __name__ == "__main__":
    sys.exit(main())
