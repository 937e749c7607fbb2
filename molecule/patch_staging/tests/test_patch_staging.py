"""PAT-01..04 end to end against a local apt repository: staging first, exact approved versions in
production, a halt on failed health checks, security/other split, and controlled reboots.

The tests run in order and build on each other (each publishes a new version or breaks a host and
runs the playbook again); the converge before them patched everything from 1.0 to 2.0.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).parents[2] / "resources"))
from labtest import ansible_playbook

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = Path(__file__).resolve().parents[1]
INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE", "")
MANIFEST = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "patch-manifest.json"
STAGING = "patch-staging"
PRODUCTION = ["patch-prod-bookworm", "patch-prod-trixie"]  # inventory order: the canary first
CLIENTS = [STAGING, *PRODUCTION]

testinfra_hosts = ["ansible://patch-repo"]


def get(name: str) -> Any:
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


@pytest.fixture(scope="module")
def hosts() -> dict[str, Any]:
    return {name: get(name) for name in CLIENTS}


def version(host: Any, package: str) -> str:
    return str(host.check_output(f"dpkg-query -W -f '${{Version}}' {package}"))


def versions(hosts: dict[str, Any], package: str) -> dict[str, str]:
    return {name: version(h, package) for name, h in hosts.items()}


def publish(repo: Any, where: str, *packages: str) -> None:
    repo.check_output(f"sudo rampart-repo-publish {where} {' '.join(packages)}")


def unpublish(repo: Any, where: str, package: str) -> None:
    repo.check_output(f"sudo rm /srv/repo/{where}/{package}_all.deb && sudo rampart-repo-publish")


def pin(host: Any, *specs: str) -> None:
    """Put a host back on older versions (as a host that was not patched yet)."""
    host.check_output(
        f"sudo apt-get update -qq && sudo apt-get install -y -qq --allow-downgrades {' '.join(specs)}"
    )


def playbook(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    return ansible_playbook(str(SCENARIO / "converge.yml"), *args, report_dir=tmp, timeout=900)


def recap(output: str) -> dict[str, dict[str, int]]:
    found = {}
    for line in output.splitlines():
        match = re.match(r"^(\S+)\s+: (.*)$", line)
        if match and "ok=" in match.group(2):
            found[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return found


def record(tmp: Path, host: str, control: str, mode: str = "enforce") -> dict[str, Any]:
    report: dict[str, Any] = json.loads((tmp / f"{host}.json").read_text())
    return dict(report["controls"][control][mode])


def upgraded_at(host: Any, package: str, new: str) -> datetime:
    """When dpkg upgraded `package` to `new` (dpkg.log, the container's clock is UTC)."""
    log = host.check_output("sudo cat /var/log/dpkg.log")
    stamps = re.findall(
        rf"^(\S+ \S+) upgrade {re.escape(package)}:all \S+ {re.escape(new)}$", log, re.MULTILINE
    )
    assert stamps, f"{package} was never upgraded to {new}"
    return datetime.strptime(stamps[-1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def test_converge_patched_staging_before_production(host: Any, hosts: dict[str, Any]) -> None:
    assert versions(hosts, "rampart-demo") == dict.fromkeys(CLIENTS, "2.0")
    manifest = json.loads(MANIFEST.read_text())
    assert manifest["hosts"] == {STAGING: "bookworm"}
    assert manifest["packages"]["bookworm"]["rampart-demo"] == ["2.0"]
    approved = datetime.fromtimestamp(manifest["approved_epoch"], UTC)
    assert upgraded_at(hosts[STAGING], "rampart-demo", "2.0") <= approved
    for name in PRODUCTION:
        assert upgraded_at(hosts[name], "rampart-demo", "2.0") >= approved


def test_security_and_other_updates_are_told_apart(host: Any, hosts: dict[str, Any], tmp_path: Path) -> None:
    publish(host, "main", "rampart-demo_3.0")
    for name in PRODUCTION:
        pin(hosts[name], "rampart-demo=1.0", "rampart-libdemo=1.0")
    result = subprocess.run(
        [
            "ansible",
            "-i",
            INVENTORY,
            "patch-prod-trixie",
            "-b",
            "-m",
            "rampart.hardening.patch_info",
            "-a",
            "cache_valid_time=1",
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        },
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    info = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["patch-prod-trixie"]
    updates = {u["name"]: u for u in info["updates"]}
    assert info["counts"] == {"total": 2, "security": 1, "other": 1}
    assert updates["rampart-libdemo"]["security"] is True
    assert updates["rampart-libdemo"]["origins"] == [
        {"label": "Debian-Security", "version": None, "archive": "rampart-security"}
    ]
    assert updates["rampart-demo"]["security"] is False
    assert updates["rampart-demo"]["candidate"] == "3.0"
    assert info["distribution"]["release"] == "trixie"


def test_check_mode_shows_what_would_be_installed_where(
    host: Any, hosts: dict[str, Any], tmp_path: Path
) -> None:
    result = playbook("--check", "--limit", "production", tmp=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    for name in PRODUCTION:
        verified = record(tmp_path, name, "PAT-03", mode="check")
        assert verified["status"] == "drift", verified  # pending updates are never a pass
        assert "would install rampart-demo=2.0, rampart-libdemo=1.1" in verified["checks"][0]["evidence"]
    assert versions({n: hosts[n] for n in PRODUCTION}, "rampart-demo") == dict.fromkeys(PRODUCTION, "1.0")


def test_production_gets_the_approved_version_not_the_newer_one(
    host: Any, hosts: dict[str, Any], tmp_path: Path
) -> None:
    result = playbook("--limit", "production", tmp=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert versions({n: hosts[n] for n in PRODUCTION}, "rampart-demo") == dict.fromkeys(PRODUCTION, "2.0")
    assert versions({n: hosts[n] for n in PRODUCTION}, "rampart-libdemo") == dict.fromkeys(PRODUCTION, "1.1")
    assert record(tmp_path, "patch-prod-trixie", "PAT-03")["status"] == "pass"
    again = playbook("--limit", "production", tmp=tmp_path)
    assert again.returncode == 0, again.stdout[-4000:]
    assert all(counts["changed"] == 0 for counts in recap(again.stdout).values()), again.stdout[-3000:]


def test_staging_gets_the_new_version_first(host: Any, hosts: dict[str, Any], tmp_path: Path) -> None:
    result = playbook("--limit", "staging", tmp=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert versions(hosts, "rampart-demo") == {STAGING: "3.0", **dict.fromkeys(PRODUCTION, "2.0")}
    assert json.loads(MANIFEST.read_text())["packages"]["bookworm"]["rampart-demo"] == ["3.0"]
    result = playbook(tmp=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert versions(hosts, "rampart-demo") == dict.fromkeys(CLIENTS, "3.0")


def test_failing_health_check_on_staging_halts_the_rollout(
    host: Any, hosts: dict[str, Any], tmp_path: Path
) -> None:
    for name in PRODUCTION:
        pin(hosts[name], "rampart-demo=2.0")
    before = MANIFEST.read_text()
    publish(host, "main", "rampart-demo_4.0")  # its /usr/bin/rampart-demo exits 1
    try:
        result = playbook(tmp=tmp_path)
        assert result.returncode != 0, result.stdout[-4000:]
        assert "health command rampart-demo runs succeeds" in result.stdout
        assert record(tmp_path, STAGING, "PAT-02")["status"] == "fail"
        assert version(hosts[STAGING], "rampart-demo") == "4.0"
        assert versions({n: hosts[n] for n in PRODUCTION}, "rampart-demo") == dict.fromkeys(PRODUCTION, "2.0")
        for name in PRODUCTION:  # never reached: recorded as not assessed, not left as they were
            untouched = record(tmp_path, name, "PAT-03")
            assert untouched["status"] == "error", untouched
            assert "the run stopped before reaching this host" in untouched["summary"]
        assert MANIFEST.read_text() == before
    finally:
        unpublish(host, "main", "rampart-demo_4.0")
        pin(hosts[STAGING], "rampart-demo=3.0")


def test_failed_canary_halts_production_and_says_where(
    host: Any, hosts: dict[str, Any], tmp_path: Path
) -> None:
    canary, rest = PRODUCTION
    hosts[canary].check_output("sudo touch /etc/rampart-canary-broken")
    try:
        checks = [{"name": "canary is sound", "cmd": "test ! -e /etc/rampart-canary-broken"}]
        result = playbook(
            "--limit", "production", "-e", json.dumps({"patch_staging_health_commands": checks}), tmp=tmp_path
        )
        assert result.returncode != 0, result.stdout[-4000:]
        halt = record(tmp_path, canary, "PAT-03")
        assert halt["status"] == "fail"
        evidence = halt["checks"][0]["evidence"]
        assert f"halted on {canary}" in evidence
        assert "health command canary is sound succeeds" in evidence
        assert f"not patched: {rest}" in evidence
        assert (
            version(hosts[canary], "rampart-demo") == "3.0"
        )  # the canary was patched, then failed its check
        assert version(hosts[rest], "rampart-demo") == "2.0"  # untouched
        untouched = record(tmp_path, rest, "PAT-03")
        assert untouched["status"] == "error", untouched
        assert f"the run stopped before reaching this host ({canary} failed)" in untouched["summary"]
    finally:
        hosts[canary].check_output("sudo rm -f /etc/rampart-canary-broken")


def test_production_refuses_a_stale_or_missing_manifest(host: Any, tmp_path: Path) -> None:
    stale = playbook(
        "--limit",
        "production",
        "-e",
        "patch_staging_manifest_max_age=1",
        "-e",
        json.dumps({"patch_staging_manifest_path": str(tmp_path / "old.json")}),
        tmp=tmp_path,
    )
    assert stale.returncode != 0
    assert "no approved manifest" in stale.stdout
    manifest = json.loads(MANIFEST.read_text())
    manifest["approved_epoch"] -= 7200
    (tmp_path / "old.json").write_text(json.dumps(manifest))
    old = playbook(
        "--limit",
        "production",
        "-e",
        "patch_staging_manifest_max_age=1",
        "-e",
        json.dumps({"patch_staging_manifest_path": str(tmp_path / "old.json")}),
        tmp=tmp_path,
    )
    assert old.returncode != 0
    assert "policy allows 1 h" in old.stdout
    assert all(counts["changed"] == 0 for counts in recap(old.stdout).values())


@pytest.fixture
def hypervisor() -> Iterator[None]:
    """Start a lab container again when it stops: a container's `systemctl reboot` ends it (no restart
    policy), where a VM's hypervisor or a real machine would come back by itself."""
    sys.path.insert(0, str(ROOT))
    from lab import naming, podman

    env = podman.podman_env()
    checkout = naming.checkout_id(ROOT)
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            listed = subprocess.run(
                [
                    "podman",
                    "ps",
                    "-a",
                    "-q",
                    "--filter",
                    "label=rampart.lab=patch_staging",
                    "--filter",
                    f"label=rampart.lab.checkout={checkout}",
                    "--filter",
                    "status=exited",
                ],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            for container in listed.stdout.split():
                subprocess.run(["podman", "start", container], capture_output=True, env=env, check=False)
            stop.wait(1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()


def pid1_start(host: Any) -> str:
    return str(host.check_output("cut -d' ' -f22 /proc/1/stat"))


def test_required_reboot_is_controlled_and_verified(
    host: Any, hosts: dict[str, Any], tmp_path: Path, hypervisor: None
) -> None:
    before = {name: pid1_start(h) for name, h in hosts.items()}
    publish(host, "main", "rampart-kernel-demo_2.0")
    result = playbook(tmp=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    for name in CLIENTS:
        fresh = get(name)
        assert version(fresh, "rampart-kernel-demo") == "2.0"
        assert pid1_start(fresh) != before[name]
        assert not fresh.file("/run/reboot-required").exists
        assert fresh.service("ssh").is_running
        pat04 = record(tmp_path, name, "PAT-04")
        assert pat04["status"] == "pass"
        assert "reboot required by rampart-kernel-demo" in pat04["checks"][0]["evidence"]
        assert "rebooted in" in pat04["checks"][0]["evidence"]
    again = playbook(tmp=tmp_path)
    assert again.returncode == 0, again.stdout[-4000:]
    assert all(counts["changed"] == 0 for counts in recap(again.stdout).values()), again.stdout[-3000:]
    assert all(pid1_start(get(name)) != before[name] for name in CLIENTS)
