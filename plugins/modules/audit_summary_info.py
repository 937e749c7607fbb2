#!/usr/bin/python
# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: summarise a host's audit log for AUD-08 (read-only)."""
# Ansible modules keep DOCUMENTATION/EXAMPLES/RETURN above the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_summary_info
short_description: Summarise suspicious activity in a host's audit log
version_added: "0.1.0"
description:
  - Reads the raw audit log (O(log_file) and its rotations C(audit.log.1), C(audit.log.2), ...,
    oldest first) and counts, per host, failed logins by user and source address, successful
    logins, identity changes, policy changes, restarts and shutdowns, privileged commands (sudo),
    and events per rule key with a success/failure split, with the time range covered.
  - Parses the log itself (no ausearch or aureport needed); records are grouped into events by
    the serial of C(msg=audit(TIME:SERIAL)), also when records of several events interleave;
    hex-encoded fields (C(acct=), C(exe=), C(key=) ...) are decoded; a rule with several keys
    counts for each; lines that are not audit records (garbage, truncated) are counted in
    RV(malformed_lines) and skipped.
  - Read-only. Run it as root (C(become=true)); the log is readable by root and group adm only.
  - The P(rampart.hardening.audit_fleet_summary#filter) filter merges the per-host results.
author:
  - Rampart developers
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  since:
    description:
      - Only events at or after this time. C(boot) (from C(/proc/stat)); a duration such as
        C(90s), C(30m), C(24h), C(7d), C(2w); ausearch's C(now), C(recent) (10 minutes),
        C(this-hour), C(today), C(yesterday), C(this-week), C(week-ago), C(this-month),
        C(this-year); C(@EPOCH); C(YYYY-MM-DD[ HH:MM[:SS]]) or ausearch's C(MM/DD/YYYY[ HH:MM:SS])
        in the host's local time.
      - Unset or C(all) reads every event in the files. Rotated files last written before this
        time are not opened.
    type: str
  log_file:
    description: The audit log; rotations C(LOG_FILE.N) beside it are read too.
    type: path
    default: /var/log/audit/audit.log
  keys_prefix:
    description:
      - Only count rule keys starting with one of these prefixes in RV(keys) (for example C(AUD-)).
        The categories (identity, policy, restarts) still see every key.
    type: list
    elements: str
    default: []
notes:
  - sshd writes both a USER_AUTH and a USER_LOGIN record for one failed password, so
    RV(failed_logins) counts audit events, not attempts; RV(failed_logins.by_type) tells them apart.
  - Per-key counts are hits of a rule (its SYSCALL records). C(aureport -k) also counts the
    CONFIG_CHANGE records of loading or removing the rule; here those are policy changes.
  - Times are in UTC (ISO 8601).
"""

EXAMPLES = r"""
- name: AUD-08 | Summarise today's audit events
  rampart.hardening.audit_summary_info:
    since: today
    keys_prefix: [AUD-]
  register: __audit_summary

- name: AUD-08 | Fleet view of failed logins and policy changes
  ansible.builtin.set_fact:
    __audit_fleet: "{{ hostvars | rampart.hardening.audit_fleet_summary('__audit_summary') }}"
  run_once: true
"""

RETURN = r"""
events:
  description: Events counted (at or after O(since)).
  returned: always
  type: int
records:
  description: Audit records read (every line that parsed as one).
  returned: always
  type: int
malformed_lines:
  description: Non-empty lines that were not audit records (garbage, truncated).
  returned: always
  type: int
skipped_events:
  description: Events before O(since).
  returned: always
  type: int
failed_logins:
  description: USER_LOGIN, USER_AUTH and USER_ERR events with C(res=failed).
  returned: always
  type: dict
  contains:
    total:
      description: Number of such events.
      type: int
    by_user:
      description: Account (decoded C(acct), else the uid's name) to count, most first; C(?) when unknown.
      type: dict
    by_source:
      description: Source address (C(addr), else C(hostname), else C(local)) to count, most first.
      type: dict
    by_type:
      description: Record type to count.
      type: dict
  sample:
    total: 3
    by_user: {bob: 2, "(invalid user)": 1}
    by_source: {203.0.113.9: 3}
    by_type: {USER_AUTH: 1, USER_LOGIN: 2}
successful_logins:
  description: USER_LOGIN events with C(res=success), by user and source.
  returned: always
  type: dict
identity_changes:
  description:
    - Account and group changes (ADD_USER, DEL_USER, ADD_GROUP, DEL_GROUP, USER_CHAUTHTOK, USER_MGMT,
      GRP_MGMT, CHUSER_ID, ACCT_LOCK ... and syscalls of rules keyed AUD-03*).
    - C(total), C(failed), C(by_type) (record type, or C(key:KEY)), C(by_actor) (login user), C(by_account).
  returned: always
  type: dict
policy_changes:
  description:
    - CONFIG_CHANGE, USYS_CONFIG, FEATURE_CHANGE, MAC_* records, AppArmor profile loads and replacements,
      and syscalls of rules keyed AUD-04*. C(total), C(failed), C(by_type), C(by_actor).
  returned: always
  type: dict
restarts:
  description:
    - SYSTEM_BOOT, SYSTEM_SHUTDOWN, SYSTEM_RUNLEVEL, SERVICE_START/STOP of systemd-reboot and friends, and
      rules keyed AUD-05*. C(total), C(boots), C(shutdowns), C(by_type).
  returned: always
  type: dict
privileged_commands:
  description: USER_CMD events (sudo); C(total), C(failed), C(by_user).
  returned: always
  type: dict
keys:
  description: Rule key to C({total, success, failure}) of its syscall events.
  returned: always
  type: dict
  sample: {AUD-02-access-denied: {total: 4, success: 0, failure: 4}}
range:
  description: First and last counted event, C(start)/C(end) in UTC ISO 8601 and C(start_epoch)/C(end_epoch).
  returned: always
  type: dict
  sample:
    start: "2026-01-01T10:00:00.000Z"
    end: "2026-01-01T10:08:20.400Z"
    start_epoch: 1767261600.0
    end_epoch: 1767262100.4
since:
  description: O(since) as a UTC time, or null.
  returned: always
  type: str
files:
  description: The files read, oldest first.
  returned: always
  type: list
  elements: str
"""

import os
import pwd
import time
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rampart.hardening.plugins.module_utils.audit import (
    LogSummariser,
    parse_since,
    rotated_logs,
)

PROC_STAT = "/proc/stat"

ARGUMENT_SPEC: dict[str, Any] = {
    "since": {"type": "str"},
    "log_file": {"type": "path", "default": "/var/log/audit/audit.log"},
    "keys_prefix": {"type": "list", "elements": "str", "default": []},
}


def boot_time() -> float | None:
    try:
        for line in Path(PROC_STAT).read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        return None
    return None


_NAMES: dict[str, str | None] = {}


def uid_name(uid: str) -> str | None:
    if uid not in _NAMES:
        try:
            _NAMES[uid] = pwd.getpwuid(int(uid)).pw_name
        except (KeyError, ValueError, OverflowError):
            _NAMES[uid] = None
    return _NAMES[uid]


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    log_file = module.params["log_file"]
    try:
        since = parse_since(module.params["since"], time.time(), boot_time())
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    directory = Path(log_file).parent
    try:
        names = [entry.name for entry in directory.iterdir()]
    except OSError as exc:
        hint = " (the module is not running as root: use become=true)" if os.geteuid() != 0 else ""
        module.fail_json(msg=f"cannot list {directory}: {exc.strerror}{hint}")
    files = rotated_logs(log_file, names)
    if not files:
        module.fail_json(msg=f"{log_file} does not exist: is auditd installed and running?")
    summariser = LogSummariser(since=since, keys_prefix=module.params["keys_prefix"], uid_name=uid_name)
    read: list[str] = []
    for name in files:
        try:
            if since is not None and name != log_file and Path(name).stat().st_mtime < since:
                continue  # last written before since: every event in it is older
            with open(name, encoding="utf-8", errors="replace", newline="\n") as handle:  # noqa: PTH123
                summariser.feed(handle)
        except OSError as exc:
            hint = " (the module is not running as root: use become=true)" if os.geteuid() != 0 else ""
            module.fail_json(msg=f"cannot read {name}: {exc.strerror}{hint}")
        read.append(name)
    module.exit_json(changed=False, **summariser.result(read))


if __name__ == "__main__":
    main()
