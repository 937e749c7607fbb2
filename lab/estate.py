"""The lab estate end to end: what `./rampart demo` shows and the `estate` test stage checks.

One implementation, two entry points: `python -m lab estate` (the demo) and the estate tests
(`tests/estate/`) both call :func:`run`. The estate's hosts and groups are `lab/estate.yml`;
its variables are `inventories/example/group_vars/` (linked from `inventories/lab/group_vars/`)
plus the lab's own `inventories/lab/group_vars/lab.yml`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.inventory import LabHost
from lab.play import PlayRun, run_playbook, summarise
from lab.util import DEFAULT_INVENTORY_DIR, ROOT

ESTATE_FILE = ROOT / "lab" / "estate.yml"
PREPARE = "lab/playbooks/estate.yml"
SITE = "playbooks/site.yml"
BACKUP = "playbooks/backup.yml"
REPORT = "playbooks/report.yml"
# mitogen runs the estate about 2.4 times faster than Ansible's own strategy (bench/README.md);
# RAMPART_STRATEGY=linear runs it the default way.
STRATEGY = os.environ.get("RAMPART_STRATEGY", "mitogen_linear")


@dataclass(frozen=True)
class Step:
    """One playbook run of the estate's story."""

    name: str
    playbook: str
    check: bool = False
    expect_no_changes: bool = False
    report: bool = False  # builds the compliance report (the records are the input)


STEPS: tuple[Step, ...] = (
    Step("prepare the application (PostgreSQL replication, a web app)", PREPARE),
    Step("what site.yml would change on the fresh estate (check mode)", SITE, check=True),
    Step("harden the estate", SITE),
    Step("harden it again: nothing may change", SITE, expect_no_changes=True),
    Step("back up now, as every night, and verify it at the secondary site", BACKUP),
    Step("the compliance report (JSON, JUnit, HTML)", REPORT, report=True),
)


@dataclass
class EstateRun:
    """What :func:`run` did: the hosts, and each step's playbook run and time."""

    hosts: list[LabHost]
    inventory: Path
    report_dir: Path
    runs: list[tuple[Step, PlayRun]] = field(default_factory=list)
    up_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(_step_ok(step, run) for step, run in self.runs)

    @property
    def seconds(self) -> float:
        return self.up_seconds + sum(run.seconds for _, run in self.runs)


def _step_ok(step: Step, run: PlayRun) -> bool:
    return run.ok and not (step.expect_no_changes and run.changed)


def inventory_dir_for(directory: Path) -> Path:
    """An inventory folder for the estate: `inventories/lab/` itself, or another folder whose
    `group_vars` is a link to it (a second estate, e.g. the tests', next to the demo's)."""
    if directory.resolve() != DEFAULT_INVENTORY_DIR.resolve():
        directory.mkdir(parents=True, exist_ok=True)
        link = directory / "group_vars"
        if not link.is_symlink():
            link.symlink_to(DEFAULT_INVENTORY_DIR / "group_vars", target_is_directory=True)
    return directory


def up(name: str, inventory_dir: Path, estate: Path = ESTATE_FILE) -> list[LabHost]:
    """Start (or keep) the estate's hosts as lab `name` and write `inventory_dir/hosts.yml`."""
    from lab.cli import estate_specs
    from lab.fleet import Lab
    from lab.fleet import up as lab_up

    specs, children = estate_specs(estate)
    return lab_up(Lab(name), specs, inventory_dir=inventory_dir_for(inventory_dir), children=children)


def run(
    name: str = "lab",
    inventory_dir: Path = DEFAULT_INVENTORY_DIR,
    report_dir: Path = ROOT / "reports",
    steps: Sequence[Step] = STEPS,
    say: Callable[[str], None] = print,
) -> EstateRun:
    """Bring the estate up and run ``steps`` in order, stopping at the first that fails.

    Control records go to ``report_dir/controls/``, the compliance report to
    ``report_dir/compliance/``.
    """
    started = time.monotonic()
    hosts = up(name, inventory_dir)
    result = EstateRun(hosts, inventory_dir / "hosts.yml", report_dir, up_seconds=time.monotonic() - started)
    say(f"estate {name}: {len(hosts)} hosts up in {result.up_seconds:.1f} s ({result.inventory})")
    for step in steps:
        say(f"\n== {step.name}: {step.playbook}{' --check' if step.check else ''}")
        play = run_playbook(
            step.playbook,
            result.inventory,
            check=step.check,
            report_dir=report_dir / "controls",
            extravars=_report_vars(report_dir) if step.report else None,
            strategy=STRATEGY,
        )
        result.runs.append((step, play))
        say(summarise(play, changes=step.expect_no_changes))
        if not _step_ok(step, play):
            if play.ok:
                say(f"not idempotent: {play.changed_count()} task(s) reported a change")
            break
    return result


def _report_vars(report_dir: Path) -> dict[str, str]:
    return {
        "report_records_dir": str(report_dir / "controls"),
        "report_output_dir": str(report_dir / "compliance"),
    }


def ssh_commands(hosts: Sequence[LabHost]) -> list[str]:
    """How to log in to each host of the estate as the lab's administrator."""
    return [
        f"ssh -i {host.identity_file} -o UserKnownHostsFile={host.known_hosts} -p {host.port} "
        f"{host.user}@{host.address}   # {host.name} ({', '.join(host.groups) or host.release})"
        for host in hosts
    ]
