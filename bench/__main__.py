"""Time `playbooks/site.yml` on fresh lab hosts: first converge, then the idempotent re-run.

    python -m bench [--fleet N ...] [--playbook playbooks/site.yml] [--record]

Each fleet is a new lab (`bench<N>`, half Debian 12, half Debian 13) started for the measurement
and removed afterwards. Ansible is driven through ansible-runner (lab/play.py); wall time is
measured around each run. `--record` appends the figures to bench/results.json with the command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lab.play import run_playbook, summarise

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"


def lab(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def measure(fleet: int, playbook: str) -> dict[str, Any]:
    name = f"bench{fleet}"
    inventory = ROOT / ".lab" / "bench" / name
    releases = ["bookworm"] if fleet == 1 else ["bookworm", "trixie"]
    per_release = max(1, fleet // len(releases))
    lab("down", "--name", name, "--inventory", str(inventory))
    started = time.monotonic()
    lab(
        "up",
        "--name",
        name,
        "--hosts",
        str(per_release),
        *[a for r in releases for a in ("--release", r)],
        "--inventory",
        str(inventory),
    )
    up_seconds = time.monotonic() - started
    try:
        first = run_playbook(playbook, inventory / "hosts.yml")
        print(summarise(first), flush=True)
        second = run_playbook(playbook, inventory / "hosts.yml")
        print(summarise(second), flush=True)
    finally:
        lab("down", "--name", name, "--inventory", str(inventory))
    if not (first.ok and second.ok):
        raise SystemExit(f"bench: {playbook} failed on fleet {fleet}; see above")
    hosts = len(first.stats)
    return {
        "fleet": hosts,
        "releases": releases,
        "lab_up_s": round(up_seconds, 1),
        "converge_s": round(first.seconds, 1),
        "converge_task_results": sum(first.tasks.values()),
        "converge_changed": first.changed_count(),
        "rerun_s": round(second.seconds, 1),
        "rerun_changed": second.changed_count(),
        "rerun_speedup": round(first.seconds / second.seconds, 2),
    }


COLUMNS = [  # (title, key, width) of the printed table
    ("hosts", "fleet", 5),
    ("converge s", "converge_s", 10),
    ("tasks", "converge_task_results", 6),
    ("changed", "converge_changed", 7),
    ("re-run s", "rerun_s", 8),
    ("re-run changed", "rerun_changed", 14),
    ("speed-up", "rerun_speedup", 8),
]


def record(argv: list[str], playbook: str, rows: list[dict[str, Any]]) -> None:
    """Append this run's figures, with the command and commit that produced them, to results.json."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    history = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    history.append(
        {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": "./rampart bench " + shlex.join(argv),
            "git": commit,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "playbook": playbook,
            "results": rows,
        }
    )
    RESULTS.write_text(json.dumps(history, indent=2) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--fleet", type=int, action="append", help="hosts in the fleet (repeatable; default 1 and 4)"
    )
    parser.add_argument("--playbook", default="playbooks/site.yml")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/results.json")
    args = parser.parse_args(argv)
    rows = [measure(n, args.playbook) for n in args.fleet or [1, 4]]
    print("\n" + " ".join(f"{title:>{width}}" for title, _, width in COLUMNS))
    for row in rows:
        print(" ".join(f"{row[key]:>{width}}" for _, key, width in COLUMNS))
    if args.record:
        record(argv, args.playbook, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
