#!/usr/bin/python
# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: PostgreSQL streaming replication state and lag, judged against thresholds."""
# Ansible modules keep DOCUMENTATION/EXAMPLES/RETURN above the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_replication_info
short_description: Check PostgreSQL streaming replication against lag thresholds
version_added: "0.1.0"
description:
  - Asks the local PostgreSQL server, with C(psql) run as O(db_user), one query that returns
    a JSON document, so the target needs no Python database driver.
  - On a primary it lists the standbys from C(pg_stat_replication) - application_name, client
    address, state, sync state, sent/write/flush/replay LSN, lag in bytes (C(pg_wal_lsn_diff)
    from the current WAL position) and write/flush/replay lag in seconds. Every name in
    O(expected_standbys) must be connected and streaming; with none expected, at least one
    standby must be.
  - On a standby it reports C(pg_stat_wal_receiver) (the receiver must be streaming), whether
    replay is paused (C(pg_is_wal_replay_paused())), and the replay lag - bytes received but
    not replayed, and C(now() - pg_last_xact_replay_timestamp()), counted as 0 when everything
    received has been replayed (an idle primary sends nothing to replay).
  - A lag over O(max_lag_bytes) or O(max_lag_seconds) is a problem; each problem is a sentence
    naming the standby and the lag. With O(fail_on_problems) the module then fails with all of
    them in its message; otherwise it returns them in RV(problems) for the caller to judge - and
    a server that cannot be asked (psql fails, or prints something else) is then the one problem.
  - When no PostgreSQL server is installed (no C(/usr/lib/postgresql/*/bin/postgres)) it
    returns RV(installed) false and no problems.
author:
  - Rampart developers
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Read-only; it runs the same query in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  expected_standbys:
    description:
      - The application_name of every standby that must stream from this primary.
      - Ignored on a standby.
    type: list
    elements: str
    default: []
  max_lag_bytes:
    description: The most WAL, in bytes, a standby may be behind in replay.
    type: int
    default: 16777216
  max_lag_seconds:
    description: The most time, in seconds, a standby may be behind in replay.
    type: float
    default: 300
  expect_role:
    description: What this server must be; C(auto) accepts whichever it is.
    type: str
    choices: [auto, primary, standby]
    default: auto
  fail_on_problems:
    description: Fail when there is a problem, with every problem in the message. With C(false), return them.
    type: bool
    default: true
  db_user:
    description:
      - The operating-system and database superuser psql runs as (through runuser when the module
        runs as root).
    type: str
    default: postgres
  port:
    description: The server's port.
    type: int
    default: 5432
  database:
    description: The database psql connects to (any; the views are cluster-wide).
    type: str
    default: postgres
notes:
  - Run as root or as O(db_user). Needs PostgreSQL 13 or later.
  - C(pg_stat_replication.replay_lag) is null when there has been no WAL activity for a while;
    a null lag is not a problem (the byte lag still counts).
seealso:
  - name: Monitoring replication
    description: The views and functions the query uses.
    link: https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-REPLICATION-VIEW
"""

EXAMPLES = r"""
- name: STO-02 | Check that both standbys stream and keep up
  rampart.hardening.pg_replication_info:
    expected_standbys: [db2, db3]
    max_lag_bytes: 1048576
    max_lag_seconds: 60
  become: true

- name: STO-02 | Gather replication state for a report, without failing
  rampart.hardening.pg_replication_info:
    fail_on_problems: false
  register: __replication
"""

RETURN = r"""
installed:
  description: A PostgreSQL server is installed on the host.
  returned: always
  type: bool
role:
  description: C(primary) or C(standby) (in recovery); null when no server is installed.
  returned: always
  type: str
  sample: primary
version:
  description: C(server_version_num).
  returned: when installed
  type: int
  sample: 170006
standbys:
  description:
    - The standbys in C(pg_stat_replication), with lag in bytes and seconds.
    - pg_basebackup connections are listed too, in state C(backup), and not judged.
  returned: always
  type: list
  elements: dict
  sample:
    - application_name: db2
      client_addr: 10.88.0.12
      state: streaming
      sync_state: async
      sent_lsn: 0/3000148
      write_lsn: 0/3000148
      flush_lsn: 0/3000148
      replay_lsn: 0/3000148
      sent_lag_bytes: 0
      write_lag_bytes: 0
      flush_lag_bytes: 0
      replay_lag_bytes: 0
      write_lag_seconds: 0.000912
      flush_lag_seconds: 0.001408
      replay_lag_seconds: 0.001446
missing_standbys:
  description: Names in O(expected_standbys) that are not connected.
  returned: always
  type: list
  elements: str
receiver:
  description:
    - On a standby, C(pg_stat_wal_receiver) (status, sender_host, sender_port, slot_name,
      flushed_lsn, latest_end_lsn, last_msg_age_seconds).
    - Null when the receiver is not running, and on a primary.
  returned: always
  type: dict
replay:
  description: On a standby, receive_lsn, replay_lsn, lag_bytes, delay_seconds and paused; null on a primary.
  returned: always
  type: dict
lag_seconds:
  description: On a standby, the replay lag in seconds as judged (0 when all received WAL is replayed).
  returned: when the server is a standby
  type: float
problems:
  description: Every problem found, each naming the standby (or this standby's receiver) and the lag.
  returned: always
  type: list
  elements: str
  sample:
    - standby db2 (10.88.0.12) replay lag is 9437184 bytes (9.0 MiB), over the limit of 1048576 bytes
      (1.0 MiB)
healthy:
  description: No problems (also true when no server is installed).
  returned: always
  type: bool
summary:
  description: One line of evidence about this server's replication.
  returned: always
  type: str
alert:
  description:
    - The structured syslog message describing the result, as every rampart health check writes
      it (control=STO-02 host= status=ok or fail detail="..."); empty when no server is installed.
  returned: always
  type: str
  sample: control=STO-02 host=d1 status=fail detail="standby db2 is not connected"
"""

import os
import pwd
import socket
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rampart.hardening.plugins.module_utils.health_alert import format_alert
from ansible_collections.rampart.hardening.plugins.module_utils.pg_replication import (
    ReplicationOutputError,
    evaluate,
    parse_status,
    psql_argv,
    standby_lag_seconds,
    summary,
)

SERVER_GLOB = "/usr/lib/postgresql/*/bin/postgres"  # Debian's layout, one directory per major

ARGUMENT_SPEC: dict[str, Any] = {
    "expected_standbys": {"type": "list", "elements": "str", "default": []},
    "max_lag_bytes": {"type": "int", "default": 16777216},
    "max_lag_seconds": {"type": "float", "default": 300},
    "expect_role": {"type": "str", "choices": ["auto", "primary", "standby"], "default": "auto"},
    "fail_on_problems": {"type": "bool", "default": True},
    "db_user": {"type": "str", "default": "postgres"},
    "port": {"type": "int", "default": 5432},
    "database": {"type": "str", "default": "postgres"},
}


def server_installed() -> bool:
    return any(Path("/").glob(SERVER_GLOB.lstrip("/")))


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if params["max_lag_bytes"] < 0 or params["max_lag_seconds"] < 0:
        module.fail_json(
            msg=f"max_lag_bytes and max_lag_seconds must not be negative "
            f"(got {params['max_lag_bytes']} and {params['max_lag_seconds']})"
        )
    host = socket.gethostname()
    empty: dict[str, Any] = {
        "changed": False,
        "role": None,
        "standbys": [],
        "missing_standbys": [],
        "receiver": None,
        "replay": None,
    }
    if not server_installed():
        module.exit_json(
            **empty,
            installed=False,
            problems=[],
            healthy=True,
            summary="no PostgreSQL server is installed",
            alert="",
            msg=f"no PostgreSQL server is installed on {host} ({SERVER_GLOB} matches nothing)",
        )

    def cannot_check(msg: str, **details: Any) -> None:
        """The server could not be asked: a failure, or with fail_on_problems false the one problem."""
        if params["fail_on_problems"]:
            module.fail_json(msg=msg, **details)
        module.exit_json(
            **empty,
            **details,
            installed=True,
            problems=[msg],
            healthy=False,
            summary=msg,
            alert=format_alert("STO-02", host, "fail", msg),
            msg=msg,
        )

    argv = psql_argv(module.get_bin_path("psql", required=True), params["port"], params["database"])
    try:
        uid = pwd.getpwnam(params["db_user"]).pw_uid
    except KeyError:
        module.fail_json(msg=f"db_user {params['db_user']} does not exist on {host}; psql runs as that user")
    if os.geteuid() != uid:
        argv = [module.get_bin_path("runuser", required=True), "-u", params["db_user"], "--", *argv]
    rc, out, err = module.run_command(argv, cwd="/")
    if rc != 0:
        cannot_check(
            f"psql on {host} (port {params['port']}, as {params['db_user']}) failed: "
            f"{err.strip() or out.strip()}. Is the server running?",
            rc=rc,
            stdout=out,
            stderr=err,
        )
    try:
        status = parse_status(out)
    except ReplicationOutputError as exc:
        cannot_check(f"unexpected psql output on {host}: {exc}", rc=rc, stdout=out, stderr=err)
    problems = evaluate(
        status,
        params["expected_standbys"],
        params["max_lag_bytes"],
        params["max_lag_seconds"],
        params["expect_role"],
    )
    evidence = summary(status)
    connected = {s["application_name"] for s in status["standbys"] if s["state"] != "backup"}
    result: dict[str, Any] = {
        "changed": False,
        "installed": True,
        **status,
        "missing_standbys": [n for n in params["expected_standbys"] if n not in connected]
        if status["role"] == "primary"
        else [],
        "problems": problems,
        "healthy": not problems,
        "summary": evidence,
        "alert": format_alert("STO-02", host, "fail" if problems else "ok", "; ".join(problems) or evidence),
    }
    if status["role"] == "standby":
        result["lag_seconds"] = standby_lag_seconds(status["replay"] or {})
    if problems and params["fail_on_problems"]:
        module.fail_json(msg=f"PostgreSQL replication on {host}: " + "; ".join(problems), **result)
    result["msg"] = f"PostgreSQL replication on {host}: " + ("; ".join(problems) or f"healthy; {evidence}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
