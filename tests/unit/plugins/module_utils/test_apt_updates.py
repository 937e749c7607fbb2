"""Tests for the apt backend's parsers and commands, on output captured from the lab's hosts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.apt_updates import (
    AptBackend,
    parse_policy,
    parse_simulation,
)
from ansible_collections.rampart.hardening.plugins.module_utils.patch import PatchError

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "apt"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_bookworm_dist_upgrade_all_security() -> None:
    result = parse_simulation(fixture("dist-upgrade-bookworm.txt"))
    names = [u["name"] for u in result["updates"]]
    assert len(names) == 14
    assert names == sorted(names)
    assert all(u["security"] for u in result["updates"])
    libssl = next(u for u in result["updates"] if u["name"] == "libssl3")
    assert libssl == {
        "name": "libssl3",
        "arch": "amd64",
        "installed": "3.0.20-1~deb12u2",
        "candidate": "3.0.22-1~deb12u2",
        "origins": [{"label": "Debian-Security", "version": "12", "archive": "oldstable-security"}],
        "security": True,
    }
    assert result["removals"] == []
    assert result["kept_back"] == []


def test_trailing_bracket_after_the_candidate_is_ignored() -> None:
    # "Inst python3.11 [...] (... [amd64]) []": apt lists pending configuration after it.
    result = parse_simulation(fixture("dist-upgrade-bookworm.txt"))
    python = next(u for u in result["updates"] if u["name"] == "python3.11")
    assert python["candidate"] == "3.11.2-6+deb12u9"
    assert python["arch"] == "amd64"


def test_trixie_split_security_and_updates_suite() -> None:
    result = parse_simulation(fixture("dist-upgrade-trixie.txt"))
    split = {u["name"]: u["security"] for u in result["updates"]}
    assert len(split) == 11
    assert split["tzdata"] is False  # Debian:13-updates/stable-updates
    assert sum(split.values()) == 10
    zlib = next(u for u in result["updates"] if u["name"] == "zlib1g")
    assert zlib["installed"] == "1:1.3.dfsg+really1.3.1-1+b1"  # epochs survive


def test_flat_repositories_label_and_suite() -> None:
    result = parse_simulation(fixture("dist-upgrade-flat-repo.txt"))
    updates = {u["name"]: u for u in result["updates"]}
    assert updates["rampart-libdemo"]["origins"] == [
        {"label": "Debian-Security", "version": None, "archive": "rampart-security"}
    ]
    assert updates["rampart-libdemo"]["security"] is True
    assert updates["rampart-demo"]["origins"] == [{"label": "Rampart", "version": None, "archive": "rampart"}]
    assert updates["rampart-demo"]["security"] is False


@pytest.mark.parametrize(
    ("labels", "suites", "expected"),
    [
        pytest.param(["Debian-Security"], [], True, id="label-only"),
        pytest.param([], ["*-security"], True, id="suite-only"),
        pytest.param([], [], False, id="neither"),
        pytest.param(["Ubuntu-Security"], ["*-sec"], False, id="other-names"),
    ],
)
def test_security_rule_is_configurable(labels: list[str], suites: list[str], expected: bool) -> None:
    result = parse_simulation(fixture("dist-upgrade-flat-repo.txt"), labels, suites)
    assert next(u for u in result["updates"] if u["name"] == "rampart-libdemo")["security"] is expected


def test_upgrade_output_parses_like_dist_upgrade() -> None:
    for release in ("bookworm", "trixie"):
        assert parse_simulation(fixture(f"upgrade-{release}.txt")) == parse_simulation(
            fixture(f"dist-upgrade-{release}.txt")
        )


def test_new_packages_removals_and_kept_back() -> None:
    text = (
        "The following packages have been kept back:\n"
        "  linux-image-amd64 systemd\n"
        "  udev\n"
        "0 upgraded, 1 newly installed, 1 to remove and 3 not upgraded.\n"
        "Remv oldlib [1.0-1]\n"
        "Inst linux-image-6.1.0-40-amd64 (6.1.153-1 Debian-Security:12/oldstable-security [amd64])\n"
        "Inst local-only [1.0] (2.0 [all])\n"
    )
    result = parse_simulation(text)
    assert result["kept_back"] == ["linux-image-amd64", "systemd", "udev"]
    assert result["removals"] == [{"name": "oldlib", "installed": "1.0-1"}]
    kernel, local = result["updates"]
    assert kernel["installed"] is None
    assert kernel["security"] is True
    assert local == {
        "name": "local-only",
        "arch": "all",
        "installed": "1.0",
        "candidate": "2.0",
        "origins": [],
        "security": False,
    }


def test_several_sources_any_security_one_counts() -> None:
    text = "Inst tzdata [1] (2 Debian:12.12/oldstable, Debian-Security:12/oldstable-security [all])\n"
    (update,) = parse_simulation(text, [], ["*-security"])["updates"]
    assert [o["archive"] for o in update["origins"]] == ["oldstable", "oldstable-security"]
    assert update["security"] is True


def test_empty_output_has_no_updates() -> None:
    assert parse_simulation("") == {"updates": [], "removals": [], "kept_back": []}


def test_garbage_action_line_is_refused_with_its_number() -> None:
    with pytest.raises(PatchError, match=r"line 1 does not parse: 'Inst '"):
        parse_simulation(fixture("garbage.txt"))


def test_policy_tables_newest_first() -> None:
    policy = parse_policy(fixture("policy-bookworm.txt"))
    openssl = policy["openssl"]
    assert openssl["installed"] == "3.0.20-1~deb12u2"
    assert openssl["candidate"] == "3.0.22-1~deb12u2"
    assert [v["version"] for v in openssl["versions"]][:2] == ["3.0.22-1~deb12u2", "3.0.20-1~deb12u2"]
    assert [v["installed"] for v in openssl["versions"]][:2] == [False, True]
    assert openssl["versions"][1]["sources"][-1] == {"priority": 100, "source": "/var/lib/dpkg/status"}
    assert "no-such-package" not in policy


def test_policy_none_is_null() -> None:
    policy = parse_policy(fixture("policy-trixie.txt"))
    assert policy["libssl3"] == {"installed": None, "candidate": None, "versions": []}


def test_policy_flat_repo() -> None:
    policy = parse_policy(fixture("policy-flat-repo.txt"))
    assert policy["rampart-libdemo"]["candidate"] == "1.1"
    assert "./ Packages" in policy["rampart-libdemo"]["versions"][0]["sources"][0]["source"]


def test_policy_version_outside_a_package_is_refused() -> None:
    with pytest.raises(PatchError, match="outside a package"):
        parse_policy("     1.0 500\n")


class FakeRun:
    def __init__(self, results: dict[str, tuple[int, str, str]]) -> None:
        self.results = results
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(argv)
        return self.results[argv[-1] if argv[1] != "policy" else "policy"]


def test_backend_simulates_without_lock_and_reads_policy() -> None:
    run = FakeRun(
        {
            "dist-upgrade": (0, fixture("dist-upgrade-trixie.txt"), ""),
            "policy": (0, fixture("policy-trixie.txt"), ""),
        }
    )
    backend = AptBackend(run, "/usr/bin/apt-get", "/usr/bin/apt-cache")
    assert len(backend.pending("dist-upgrade", ["Debian-Security"], ["*-security"])["updates"]) == 11
    assert backend.policy([]) == {}
    assert set(backend.policy(["openssl", "tzdata"])) >= {"openssl", "tzdata"}
    assert run.calls[0] == ["/usr/bin/apt-get", "-s", "-q", "-o", "Debug::NoLocking=1", "dist-upgrade"]
    assert run.calls[1] == ["/usr/bin/apt-cache", "policy", "openssl", "tzdata"]


def test_backend_failure_says_what_failed() -> None:
    backend = AptBackend(FakeRun({"update": (100, "", "E: Could not get lock")}), "apt-get", "apt-cache")
    with pytest.raises(PatchError, match=r"apt-get -q update failed \(rc 100\): E: Could not get lock"):
        backend.refresh()


def test_cache_age_prefers_the_success_stamp(tmp_path: Path) -> None:
    backend = AptBackend(FakeRun({}), "apt-get", "apt-cache")
    backend.stamp = str(tmp_path / "stamp")
    backend.lists_dir = str(tmp_path / "lists")
    assert backend.cache_age(1000.0) is None
    (tmp_path / "lists").mkdir()
    os.utime(tmp_path / "lists", (400, 400))
    assert backend.cache_age(1000.0) == 600.0
    (tmp_path / "stamp").write_text("")
    os.utime(tmp_path / "stamp", (900, 900))
    assert backend.cache_age(1000.0) == 100.0
