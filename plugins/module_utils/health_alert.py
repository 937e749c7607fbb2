# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Structured health alerts for syslog (MON-01).

Every health check (RAID, replication, backups) reports through one message shape, so the
central collector can select alerts by their tag and parse them without knowing the check:

    rampart-health: control=STO-01 host=db1 status=fail detail="md0 raid1 degraded [U_]: /dev/vdc faulty"

``control``, ``host`` and ``status`` are single tokens; ``detail`` is always last and always
quoted (embedded double quotes and backslashes escaped, newlines folded to spaces), so a
parser splits on the first ``detail="``. Standard library only: this file is also copied to
target hosts, where the role's timer scripts import it without Ansible.
"""

from __future__ import annotations

import re
import syslog

TAG = "rampart-health"
STATUSES = ("ok", "warn", "fail")
# syslog severity per status: err (3) and worse is forwarded by log_forwarder's default filter.
SEVERITY = {"ok": syslog.LOG_NOTICE, "warn": syslog.LOG_WARNING, "fail": syslog.LOG_ERR}
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


def format_alert(control: str, host: str, status: str, detail: str) -> str:
    """The message body (without the tag, which syslog adds); ValueError on a bad field."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    for field, value in (("control", control), ("host", host)):
        if not _TOKEN.match(value):
            raise ValueError(f"{field} {value!r} must be one token of letters, digits and ._:-")
    text = " ".join(detail.split()).replace("\\", "\\\\").replace('"', '\\"')
    return f'control={control} host={host} status={status} detail="{text}"'


def parse_alert(message: str) -> dict[str, str]:
    """The fields of a message made by :func:`format_alert` (ValueError if it is not one)."""
    match = re.search(r'control=(\S+) host=(\S+) status=(\S+) detail="((?:[^"\\]|\\.)*)"$', message)
    if not match:
        raise ValueError(f"not a {TAG} message: {message!r}")
    detail = re.sub(r"\\(.)", r"\1", match.group(4))
    return {"control": match.group(1), "host": match.group(2), "status": match.group(3), "detail": detail}


def send_alert(control: str, host: str, status: str, detail: str) -> str:
    """Log one alert to the local syslog (facility daemon, tag rampart-health); returns the message."""
    message = format_alert(control, host, status, detail)
    syslog.openlog(TAG, 0, syslog.LOG_DAEMON)
    try:
        syslog.syslog(SEVERITY[status], message)
    finally:
        syslog.closelog()
    return message
