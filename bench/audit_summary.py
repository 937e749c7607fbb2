"""Benchmark the audit log summariser (AUD-08) against aureport on the same synthetic log.

    python -m bench.audit_summary [--events 1000000] [--regenerate] [--aureport DIR]

Writes a format-faithful audit log (auditd's ENRICHED format, as in
tests/fixtures/audit/logs/sample.log) of N events to .lab/bench/audit.log (gitignored),
then times, each in its own process (wall time, and peak RSS from wait4):

* ours: ``LogSummariser`` over the file, as audit_summary_info reads it;
* ``aureport --summary -if FILE`` and ``aureport -au --failed -i -if FILE``, when an
  aureport is found: by default the one extracted, not installed, from Debian's .debs
  into .lab/bench/root-bookworm (see bench/README.md), run with LD_LIBRARY_PATH pointing
  into it. Installing auditd on this host would start the daemon: do not.

The event mix: 40% keyed syscall events (SYSCALL+CWD+PATH+PROCTITLE, a third failed),
22% failed ssh logins (USER_AUTH/USER_LOGIN), 15% successful logins (5 events each),
8% config changes (CONFIG_CHANGE+SYSCALL+PROCTITLE), 5% identity changes, 10% sudo and
service events; one event in 50 has its records interleaved with the next one's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".lab" / "bench"
LOG = OUT / "audit.log"
EXTRACTED = OUT / "root-bookworm"
GS = "\x1d"
T0 = 1767225600  # 2026-01-01 00:00:00 UTC
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "oracle", "admin", "test", "ubuntu"]
SOURCES = [f"203.0.113.{n}" for n in range(1, 60)] + [f"198.51.100.{n}" for n in range(1, 20)]
KEYS = ["AUD-02-access-denied", "AUD-03-identity", "AUD-04-time", "AUD-04-modules", "AUD-05-power"]
IDS = "uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0"
AUDITCTL_TITLE = b"/sbin/auditctl\0-R\0/etc/audit/audit.rules".hex().upper()
ENR = 'UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"'


def _hex(text: str) -> str:
    return text.encode().hex().upper()


def event_lines(rng: random.Random, serial: int, stamp: str) -> list[str]:  # noqa: PLR0911 - one per kind
    """The records of one event."""
    head = f"msg=audit({stamp}:{serial}):"
    roll = rng.random()
    user = rng.choice(USERS)
    src = rng.choice(SOURCES)
    if roll < 0.40:
        key = rng.choice(KEYS)
        failed = rng.random() < 0.33
        result = "success=no exit=-13" if failed else "success=yes exit=0"
        return [
            f"type=SYSCALL {head} arch=c000003e syscall=257 {result} a0=ffffff9c a1=7ffe3c5b2f21 a2=241 "
            f"a3=1b6 items=1 ppid=1650 pid={1000 + serial % 30000} auid=1001 {IDS} tty=pts2 ses=5 "
            f'comm="cat" exe="/usr/bin/cat" subj=unconfined key="{key}"'
            f'{GS}ARCH=x86_64 SYSCALL=openat AUID="{user}" {ENR}',
            f'type=CWD {head} cwd="/home/{user}"',
            f'type=PATH {head} item=0 name="/etc/shadow" inode=1311085 dev=fe:01 mode=0100640 ouid=0 ogid=42 '
            f'rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0{GS}OUID="root" '
            'OGID="shadow"',
            f"type=PROCTITLE {head} proctitle=636174002F6574632F736861646F77",
        ]
    pam = f"pid={2000 + serial % 9000} uid=0 auid=4294967295 ses=4294967295 subj=unconfined"
    if roll < 0.62:
        kind = "USER_AUTH" if rng.random() < 0.5 else "USER_LOGIN"
        op = "op=PAM:authentication grantors=?" if kind == "USER_AUTH" else "op=login"
        acct = f'acct="{user}"' if rng.random() < 0.9 else f"acct={_hex('(invalid user)')}"
        return [
            f'type={kind} {head} {pam} msg=\'{op} {acct} exe="/usr/sbin/sshd" hostname={src} '
            f'addr={src} terminal=ssh res=failed\'{GS}UID="root" AUID="unset"'
        ]
    if roll < 0.77:
        kind = rng.choice(["USER_ACCT", "CRED_ACQ", "USER_START", "USER_LOGIN", "CRED_DISP"])
        body = (
            f'op=login id=1000 exe="/usr/sbin/sshd" hostname={src} addr={src} terminal=/dev/pts/0 res=success'
            if kind == "USER_LOGIN"
            else f'op=PAM:session grantors=pam_unix acct="{user}" exe="/usr/sbin/sshd" hostname={src} '
            f"addr={src} terminal=ssh res=success"
        )
        return [f'type={kind} {head} {pam} msg=\'{body}\'{GS}UID="root" AUID="{user}" ID="{user}"']
    if roll < 0.85:
        return [
            f'type=CONFIG_CHANGE {head} auid=1000 ses=3 subj=unconfined op=add_rule key="{rng.choice(KEYS)}" '
            f'list=4 res=1{GS}AUID="{user}"',
            f"type=SYSCALL {head} arch=c000003e syscall=44 success=yes exit=1084 a0=3 a1=7ffd6c2d2ae0 a2=43c "
            f'a3=0 items=0 ppid=405 pid=411 auid=1000 {IDS} tty=pts1 ses=3 comm="auditctl" '
            f'exe="/usr/sbin/auditctl" subj=unconfined key=(null)'
            f'{GS}ARCH=x86_64 SYSCALL=sendto AUID="{user}" {ENR}',
            f"type=PROCTITLE {head} proctitle={AUDITCTL_TITLE}",
        ]
    if roll < 0.90:
        kind = rng.choice(["ADD_USER", "DEL_USER", "ADD_GROUP", "USER_CHAUTHTOK", "USER_MGMT"])
        return [
            f"type={kind} {head} pid=1800 uid=0 auid=1000 ses=3 subj=unconfined msg='op=change "
            f'acct="{user}" exe="/usr/sbin/usermod" hostname=bench addr=? terminal=pts/1 '
            f'res={"failed" if rng.random() < 0.1 else "success"}\'{GS}UID="root" AUID="alice"'
        ]
    if roll < 0.95:
        return [
            f"type=USER_CMD {head} pid=1701 uid=1000 auid=1000 ses=3 subj=unconfined "
            f'msg=\'cwd="/home/{user}" '
            f'cmd={_hex("systemctl restart nginx")} exe="/usr/bin/sudo" terminal=pts/0 '
            f'res={"failed" if rng.random() < 0.05 else "success"}\'{GS}UID="{user}" AUID="{user}"'
        ]
    unit = "systemd-reboot" if rng.random() < 0.01 else rng.choice(["nginx", "ssh", "cron"])
    return [
        f"type=SERVICE_START {head} pid=1 uid=0 auid=4294967295 ses=4294967295 subj=unconfined "
        f'msg=\'unit={unit} comm="systemd" exe="/usr/lib/systemd/systemd" hostname=? addr=? terminal=? '
        f'res=success\'{GS}UID="root" AUID="unset"'
    ]


def generate(path: Path, events: int, seed: int = 8) -> None:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    held: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        for serial in range(1, events + 1):
            t = T0 + serial * 0.05
            stamp = f"{int(t)}.{int((t % 1) * 1000):03d}"
            lines = event_lines(rng, serial, stamp)
            if held:  # interleave the held event's records with this one's
                merged = [x for pair in zip(held, lines, strict=False) for x in pair]
                merged += held[len(lines) :] + lines[len(held) :]
                out.write("\n".join(merged) + "\n")
                held = []
            elif len(lines) > 1 and serial % 50 == 0:
                held = lines
            else:
                out.write("\n".join(lines) + "\n")
        if held:
            out.write("\n".join(held) + "\n")


WRAPPER = """
import os, resource, subprocess, sys, time, json
t = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=open(os.environ['BENCH_OUT'], 'wb'))
_pid, status, usage = os.wait4(p.pid, 0)
print(json.dumps({"wall_s": time.monotonic() - t, "maxrss_mib": usage.ru_maxrss / 1024,
                  "rc": os.waitstatus_to_exitcode(status)}))
"""

OURS = """
import json, sys
sys.path.insert(0, {collections!r})
from ansible_collections.rampart.hardening.plugins.module_utils.audit import LogSummariser
s = LogSummariser()
with open(sys.argv[1], encoding="utf-8", errors="replace", newline="\\n") as f:
    s.feed(f)
print(json.dumps(s.result([sys.argv[1]])))
"""


def timed(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    out_file = OUT / "bench.out"
    full_env = {**(env or os.environ), "BENCH_OUT": str(out_file)}
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, env=full_env, check=True
    )
    figures: dict[str, Any] = json.loads(proc.stdout)
    figures["wall_s"] = round(figures["wall_s"], 2)
    figures["maxrss_mib"] = round(figures["maxrss_mib"], 1)
    figures["output"] = out_file.read_text(errors="replace")
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.audit_summary", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--aureport", type=Path, default=EXTRACTED, help="extracted auditd .deb tree")
    args = parser.parse_args(argv)
    if args.regenerate or not LOG.exists():
        started = time.monotonic()
        generate(LOG, args.events)
        print(
            f"generated {LOG} ({args.events} events) in {time.monotonic() - started:.1f} s", file=sys.stderr
        )
    size = LOG.stat().st_size
    with LOG.open("rb") as handle:
        lines = sum(1 for _ in handle)
    print(f"log: {LOG.relative_to(ROOT)}, {size / 2**20:.0f} MiB, {lines} records")
    script = OURS.format(collections=str(ROOT / ".collections"))
    ours = timed([sys.executable, "-c", script, str(LOG)])
    summary = json.loads(ours.pop("output"))
    print(
        f"ours:     {ours['wall_s']:>7} s  {ours['maxrss_mib']:>7} MiB  events={summary['events']} "
        f"failed_logins={summary['failed_logins']['total']} logins={summary['successful_logins']['total']} "
        f"malformed={summary['malformed_lines']}"
    )
    aureport = next(
        (p for p in (args.aureport / "sbin" / "aureport", args.aureport / "usr/sbin/aureport") if p.exists()),
        None,
    )
    if aureport is None:
        print(f"aureport: not found under {args.aureport} (see bench/README.md to extract it)")
        return 0
    libdirs = [
        str(p) for p in (args.aureport / "lib/x86_64-linux-gnu", args.aureport / "usr/lib/x86_64-linux-gnu")
    ]
    env = {**os.environ, "LD_LIBRARY_PATH": ":".join(libdirs)}
    for flags in (["--summary"], ["-au", "--failed", "-i"]):
        cmd = [str(aureport), *flags, "-if", str(LOG)]
        figures = timed(cmd, env)
        output = figures.pop("output")
        detail = next((line for line in output.splitlines() if line.startswith("Number of events")), "")
        if flags != ["--summary"]:
            detail = f"{sum(1 for line in output.splitlines() if line[:1].isdigit())} report lines"
        print(
            f"aureport {' '.join(flags):<18} {figures['wall_s']:>7} s  "
            f"{figures['maxrss_mib']:>7} MiB  {detail}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
