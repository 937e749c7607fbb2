#!/usr/bin/python
# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: MariaDB/MySQL replica threads and lag, judged against a threshold."""
# Ansible modules keep DOCUMENTATION/EXAMPLES/RETURN above the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysql_replication_info
short_description: Check MariaDB/MySQL replication threads and lag
version_added: "0.1.0"
description:
  - Asks the local server with the C(mysql) client (C(--batch) output), so the target needs no
    Python database driver. Runs as root, who logs in through the unix socket on Debian's
    MariaDB; O(defaults_file) supplies other credentials.
  - Replica status comes from C(SHOW ALL REPLICAS STATUS) (MariaDB, every named connection),
    falling back to C(SHOW REPLICA STATUS) (MySQL 8.0.22+) and C(SHOW SLAVE STATUS) when the
    server does not know the statement. On a replica, the IO and SQL threads of every
    connection must be running and C(Seconds_Behind_Master) within O(max_lag_seconds); a
    stopped thread is reported with its last error.
  - A server without replica status is a primary. Its replicas are the binlog dump threads
    in C(information_schema.PROCESSLIST); every address in O(expected_replicas) must be among
    them, and with none expected at least one replica must be connected.
  - With O(fail_on_problems) the module fails with every problem in its message; otherwise it
    returns them in RV(problems) - and a server that cannot be asked is then the one problem.
  - When no server is installed (no C(mariadbd) or C(mysqld)) it returns RV(installed) false
    and no problems.
author:
  - Rampart developers
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Read-only; it runs the same statements in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  expected_replicas:
    description:
      - Addresses (as the primary sees them connect) of every replica that must be connected.
      - Ignored on a replica.
    type: list
    elements: str
    default: []
  max_lag_seconds:
    description: The most a replica may be behind its source, in seconds (C(Seconds_Behind_Master)).
    type: float
    default: 300
  expect_role:
    description: What this server must be; C(auto) accepts whichever it is.
    type: str
    choices: [auto, primary, replica]
    default: auto
  fail_on_problems:
    description: Fail when there is a problem, with every problem in the message. With C(false), return them.
    type: bool
    default: true
  defaults_file:
    description:
      - An option file with client credentials (C(--defaults-extra-file)).
      - By default root logs in through the socket.
    type: path
notes:
  - Run as root (or give O(defaults_file)); the user needs REPLICATION CLIENT (or REPLICA MONITOR)
    and PROCESS.
  - A primary notices that a replica went away only when it next sends it an event (its binlog
    dump thread lingers until then; MariaDB 10.11 took a few writes), so on an idle primary a
    stopped replica may still count as connected. The replica's own check reports it at once.
seealso:
  - name: SHOW REPLICA STATUS (MariaDB)
    description: The columns this module reads.
    link: https://mariadb.com/kb/en/show-replica-status/
"""

EXAMPLES = r"""
- name: STO-02 | Check the replica threads and lag
  rampart.hardening.mysql_replication_info:
    max_lag_seconds: 60
  become: true

- name: STO-02 | Check that the primary's replicas are connected
  rampart.hardening.mysql_replication_info:
    expected_replicas: [10.0.0.12]
    fail_on_problems: false
  register: __replication
"""

RETURN = r"""
installed:
  description: A MariaDB or MySQL server is installed on the host.
  returned: always
  type: bool
role:
  description: C(replica) (it has replica status) or C(primary); null when no server is installed.
  returned: always
  type: str
channels:
  description:
    - One entry per replication connection, normalised (connection_name, io_state, source_host,
      source_port, io_running, sql_running, seconds_behind, last_io_errno, last_io_error,
      last_sql_errno, last_sql_error, sql_state).
  returned: always
  type: list
  elements: dict
replica_hosts:
  description: On a primary, the addresses replicas are connected from.
  returned: always
  type: list
  elements: str
missing_replicas:
  description: Addresses in O(expected_replicas) that are not connected.
  returned: always
  type: list
  elements: str
statement:
  description: The status statement the server answered.
  returned: when installed
  type: str
  sample: SHOW ALL REPLICAS STATUS
problems:
  description: Every problem found, each naming the replication source or replica and the lag.
  returned: always
  type: list
  elements: str
  sample: ["replication from 10.0.0.11:3306 is 420 s behind, over the limit of 300 s"]
healthy:
  description: No problems (also true when no server is installed).
  returned: always
  type: bool
summary:
  description: One line of evidence.
  returned: always
  type: str
alert:
  description:
    - The structured syslog message describing the result, as every rampart health check writes
      it (control=STO-02 host= status=ok or fail detail="..."); empty when no server is installed.
  returned: always
  type: str
"""

import socket
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rampart.hardening.plugins.module_utils.health_alert import format_alert
from ansible_collections.rampart.hardening.plugins.module_utils.mysql_replication import (
    REPLICAS_QUERY,
    STATUS_STATEMENTS,
    ReplicationOutputError,
    evaluate,
    mysql_argv,
    parse_replica_hosts,
    parse_status,
    summary,
)

SERVERS = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld")

ARGUMENT_SPEC: dict[str, Any] = {
    "expected_replicas": {"type": "list", "elements": "str", "default": []},
    "max_lag_seconds": {"type": "float", "default": 300},
    "expect_role": {"type": "str", "choices": ["auto", "primary", "replica"], "default": "auto"},
    "fail_on_problems": {"type": "bool", "default": True},
    "defaults_file": {"type": "path"},
}


def server_installed() -> bool:
    return any(Path(path).exists() for path in SERVERS)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    host = socket.gethostname()
    if params["max_lag_seconds"] < 0:
        module.fail_json(msg=f"max_lag_seconds must not be negative (got {params['max_lag_seconds']})")
    empty: dict[str, Any] = {
        "changed": False,
        "role": None,
        "channels": [],
        "replica_hosts": [],
        "missing_replicas": [],
    }
    if not server_installed():
        module.exit_json(
            **empty,
            installed=False,
            problems=[],
            healthy=True,
            summary="no MariaDB or MySQL server is installed",
            alert="",
            msg=f"no MariaDB or MySQL server is installed on {host} ({' or '.join(SERVERS)})",
        )
    mysql = module.get_bin_path("mariadb") or module.get_bin_path("mysql", required=True)

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

    def query(statement: str) -> tuple[int, str, str]:
        rc, out, err = module.run_command(mysql_argv(mysql, statement, params["defaults_file"]), cwd="/")
        return int(rc), str(out), str(err)

    for statement in STATUS_STATEMENTS:
        rc, out, err = query(statement)
        # ERROR 1064: a statement this server's syntax does not know; try the older one.
        if rc == 0 or "ERROR 1064" not in err:
            break
    if rc != 0:
        cannot_check(
            f"mysql on {host} failed running {statement}: {err.strip() or out.strip()}. "
            "Is the server running?",
            rc=rc,
            stdout=out,
            stderr=err,
        )
    try:
        rows = parse_status(out)
        replica_hosts: list[str] = []
        if not rows:
            rc, hosts_out, err = query(REPLICAS_QUERY)
            if rc != 0:
                cannot_check(
                    f"mysql on {host} could not list connected replicas: {err.strip()}",
                    rc=rc,
                    stdout=hosts_out,
                    stderr=err,
                )
            replica_hosts = parse_replica_hosts(hosts_out)
    except ReplicationOutputError as exc:
        cannot_check(f"unexpected mysql output on {host}: {exc}", stdout=out, stderr=err)
    problems = evaluate(
        rows, replica_hosts, params["expected_replicas"], params["max_lag_seconds"], params["expect_role"]
    )
    evidence = summary(rows, replica_hosts)
    result = {
        **empty,
        "installed": True,
        "role": "replica" if rows else "primary",
        "statement": statement,
        "channels": rows,
        "replica_hosts": replica_hosts,
        "missing_replicas": []
        if rows
        else [r for r in params["expected_replicas"] if r not in replica_hosts],
        "problems": problems,
        "healthy": not problems,
        "summary": evidence,
        "alert": format_alert("STO-02", host, "fail" if problems else "ok", "; ".join(problems) or evidence),
    }
    if problems and params["fail_on_problems"]:
        module.fail_json(msg=f"MariaDB/MySQL replication on {host}: " + "; ".join(problems), **result)
    result["msg"] = f"MariaDB/MySQL replication on {host}: " + (
        "; ".join(problems) if problems else "healthy"
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
