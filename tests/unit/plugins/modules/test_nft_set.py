"""Tests for the nft_set module against the real nft, in a throwaway network namespace.

Each test loads the rendered fixture table (tests/fixtures/nft/ruleset.nft) into a fresh namespace
(``unshare -n``) and runs the module there several times, as Ansible would on a host (a Python
process with its arguments in a JSON file), then reads the set back with nft. Skipped without root,
nft or unshare.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[4]
MODULE = ROOT / "plugins" / "modules" / "nft_set.py"
RULESET = ROOT / "tests" / "fixtures" / "nft" / "ruleset.nft"

pytestmark = pytest.mark.skipif(
    not (shutil.which("nft") and shutil.which("unshare") and os.geteuid() == 0),
    reason="needs nft, unshare and root",
)

# Runs inside the namespace: load the table, then one module run per argument file (or an nft
# command, for arguments starting with "nft "), printing each result on a line, then the listed
# set named by the last argument.
DRIVER = """
import json, shlex, subprocess, sys
subprocess.run(["nft", "-f", sys.argv[1]], check=True)
for path in sys.argv[2:-1]:
    if path.startswith("nft "):
        subprocess.run(shlex.split(path), check=True)
        print("{}")
        continue
    proc = subprocess.run([sys.executable, sys.argv[-1].split("|")[0], path], capture_output=True, text=True)
    out = proc.stdout.strip()
    print(out.splitlines()[-1] if out else json.dumps({"failed": True, "msg": proc.stderr}))
print(subprocess.run(["nft", "-j", "list", "set", "inet", "rampart", sys.argv[-1].split("|")[1]],
                     capture_output=True, text=True, check=True).stdout)
"""


def run(tmp_path: Path, calls: list[dict[str, Any]], listed: str) -> tuple[list[dict[str, Any]], list[Any]]:
    paths = []
    for index, args in enumerate(calls):
        if "_nft" in args:
            paths.append(f"nft {args['_nft']}")
            continue
        path = tmp_path / f"args{index}.json"
        check = args.pop("_check", False)
        args.setdefault("cache_dir", str(tmp_path / "cache"))
        path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check}}))
        paths.append(str(path))
    env = {**os.environ, "PYTHONPATH": str(ROOT / ".collections")}
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", DRIVER, str(RULESET), *paths, f"{MODULE}|{listed}"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    lines = proc.stdout.strip().splitlines()
    results = [json.loads(line) for line in lines[:-1]]
    elems = next(i["set"] for i in json.loads(lines[-1])["nftables"] if "set" in i).get("elem", [])
    return results, elems


def test_present_adds_only_what_is_missing_and_is_idempotent(tmp_path: Path) -> None:
    blocklist = tmp_path / "list.txt"
    blocklist.write_text(
        "# comment\n198.51.100.0/24\n198.51.101.0/24  # merged by nft\n192.0.2.7\n2001:db8::/48\n"
    )
    args = {"name": "blocklist_net_v4", "paths": [str(blocklist)], "skip_other_family": True}
    results, elems = run(tmp_path, [dict(args, _check=True), dict(args), dict(args)], "blocklist_net_v4")
    assert [r["changed"] for r in results] == [True, True, False]
    assert results[0]["added"] == ["192.0.2.7", "198.51.100.0/23"]
    assert results[0]["diff"]["after"] == "192.0.2.7\n198.51.100.0/23\n"
    assert results[2]["count"] == 2
    assert elems == ["192.0.2.7", {"prefix": {"addr": "198.51.100.0", "len": 23}}]


def test_check_mode_changes_nothing(tmp_path: Path) -> None:
    results, elems = run(
        tmp_path, [{"name": "blocklist_v4", "elements": ["192.0.2.7"], "_check": True}], "blocklist_v4"
    )
    assert results[0]["changed"] is True
    assert elems == []


def test_exact_replaces_and_absent_removes(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = [
        {"name": "blocklist_net_v4", "elements": ["192.0.2.0/24", "203.0.113.9"]},
        {"name": "blocklist_net_v4", "elements": ["203.0.113.9", "198.51.100.1"], "state": "exact"},
        {"name": "blocklist_net_v4", "elements": ["203.0.113.9", "198.51.100.1"], "state": "exact"},
        {"name": "blocklist_net_v4", "elements": ["203.0.113.9", "10.9.9.9"], "state": "absent"},
    ]
    results, elems = run(tmp_path, calls, "blocklist_net_v4")
    assert results[1]["removed"] == ["192.0.2.0/24"]
    assert results[1]["added"] == ["198.51.100.1"]
    assert results[2]["changed"] is False
    assert (results[3]["changed"], results[3]["removed"]) == (True, ["203.0.113.9"])
    assert elems == ["198.51.100.1"]


def test_timeouts_in_the_deny_set(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = [
        {"name": "deny_v4", "elements": ["203.0.113.7"], "timeout": 300},
        {"name": "deny_v4", "elements": ["203.0.113.7"], "timeout": 300},
        {"name": "deny_v4", "state": "list"},
    ]
    results, elems = run(tmp_path, calls, "deny_v4")
    assert [r["changed"] for r in results] == [True, False, False]
    assert results[2]["elements"] == ["203.0.113.7"]
    assert elems[0]["elem"]["val"] == "203.0.113.7"
    assert elems[0]["elem"]["timeout"] == 300


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"name": "blocklist_v4", "elements": ["2001:db8::1"]},
            "elements[0]: '2001:db8::1' is IPv6 but set blocklist_v4",
        ),
        (
            {"name": "blocklist_v4", "elements": ["10.1.2.3/8"]},
            "'10.1.2.3/8' is not an IPv4/IPv6 address or network",
        ),
        (
            {"name": "deny_v4", "elements": ["10.0.0.0/8"]},
            "is a network but set deny_v4 has no interval flag",
        ),
        (
            {"name": "blocklist_v4", "elements": ["1.2.3.4"], "timeout": 60},
            "timeout needs a positive number and a set",
        ),
        (
            {"name": "blocklist_net_v4", "elements": ["10.0.0.0/8"], "protect": ["10.1.1.1"]},
            "elements[0]: refusing 10.0.0.0/8: it covers the protected address 10.1.1.1 (the controller?); "
            "nothing was changed in inet rampart blocklist_net_v4",
        ),
        (
            {
                "name": "blocklist_v4",
                "elements": ["10.0.0.0/8"],
                "protect": ["10.1.1.1"],
                "select": "networks",
            },
            "elements[0]: refusing 10.0.0.0/8: it covers the protected address 10.1.1.1",
        ),
        (
            {"name": "blocklist_v4", "elements": ["10.0.0.0/8"]},
            "is a network but set blocklist_v4 has no interval flag (select: addresses leaves networks out)",
        ),
        ({"name": "nosuch"}, "cannot read set inet rampart nosuch"),
    ],
)
def test_bad_input_fails_before_any_change(tmp_path: Path, args: dict[str, Any], message: str) -> None:
    results, elems = run(tmp_path, [args], "blocklist_v4")
    assert results[0]["failed"] is True
    assert message in results[0]["msg"]
    assert elems == []


def test_exact_on_a_hash_set_is_recognised_by_its_marker(tmp_path: Path) -> None:
    first = {"name": "blocklist_v4", "elements": ["192.0.2.1", "192.0.2.2", "192.0.2.3"], "state": "exact"}
    second = dict(first, elements=["192.0.2.2", "192.0.2.3", "192.0.2.4"])
    calls: list[dict[str, Any]] = [
        dict(first, _check=True),
        dict(first),
        dict(first),  # unchanged: the marker's fingerprint matches
        {"_nft": "flush set inet rampart blocklist_v4"},
        dict(first),  # the marker is gone with the elements: loaded again
        dict(second),  # the difference, from the cache the marker vouches for
        {"name": "blocklist_v4", "elements": ["192.0.2.9"]},  # present: the marker goes
        dict(second),  # listed once, the extra address removed, the marker back
        dict(second),
    ]
    results, elems = run(tmp_path, calls, "blocklist_v4")
    changed = [r.get("changed") for r in results]
    assert changed == [True, True, False, None, True, True, True, True, False]
    assert results[0]["added_count"] == 3
    assert (results[5]["added"], results[5]["removed"]) == (["192.0.2.4"], ["192.0.2.1"])
    assert (results[7]["added"], results[7]["removed"]) == ([], ["192.0.2.9"])
    assert results[8]["count"] == 3
    values = sorted(e if isinstance(e, str) else e["elem"]["val"] for e in elems)
    assert values == ["192.0.2.2", "192.0.2.3", "192.0.2.4", "255.255.255.255"]
    marker = next(e["elem"] for e in elems if isinstance(e, dict))
    assert marker["comment"].startswith("rampart sha256:")
    cache = tmp_path / "cache" / "inet-rampart-blocklist_v4.bin"
    assert hashlib.sha256(cache.read_bytes()).hexdigest() == marker["comment"].split(":")[1]


def test_select_splits_one_file_into_address_and_network_sets(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.txt"
    mixed.write_text("192.0.2.7\n198.51.100.0/24\n2001:db8::1\n2001:db8:1::/48\n192.0.2.8/32\n")
    common = {"paths": [str(mixed)], "state": "exact", "skip_other_family": True}
    calls: list[dict[str, Any]] = [
        {**common, "name": "blocklist_v4", "select": "addresses"},
        {**common, "name": "blocklist_net_v4", "select": "networks"},
        {**common, "name": "blocklist_v6", "select": "addresses"},
        {**common, "name": "blocklist_net_v6", "select": "networks"},
        {"name": "blocklist_net_v4", "state": "list"},
    ]
    results, elems = run(tmp_path, calls, "blocklist_v4")
    assert [r["added"] for r in results[:4]] == [
        ["192.0.2.7", "192.0.2.8"],
        ["198.51.100.0/24"],
        ["2001:db8::1"],
        ["2001:db8:1::/48"],
    ]
    assert results[4]["elements"] == ["198.51.100.0/24"]
    assert "192.0.2.7" in elems


def test_a_full_set_is_refused_whole(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = [
        {"_nft": "add set inet rampart small { type ipv4_addr; size 2; }"},
        {"name": "small", "elements": ["192.0.2.1", "192.0.2.2", "192.0.2.3"]},
    ]
    results, elems = run(tmp_path, calls, "small")
    assert results[1]["failed"] is True
    assert "inet rampart small failed, nothing was changed: it holds at most 2 elements" in results[1]["msg"]
    assert elems == []


def test_a_protected_address_in_a_bare_list_is_named_by_its_line(tmp_path: Path) -> None:
    bare = tmp_path / "bare.txt"
    bare.write_text("192.0.2.1\n10.1.1.1\n")
    args = {"name": "blocklist_v4", "paths": [str(bare)], "state": "exact", "protect": ["10.1.1.1"]}
    results, elems = run(tmp_path, [args, dict(args, state="absent")], "blocklist_v4")
    assert results[0]["failed"] is True
    assert f"{bare} line 2: refusing 10.1.1.1: it covers the protected address" in results[0]["msg"]
    assert results[1]["changed"] is False  # removing a protected address is always allowed
    assert elems == []


def test_an_empty_list_leaves_an_empty_set_without_a_marker(tmp_path: Path) -> None:
    empty = {"name": "blocklist_v4", "elements": [], "state": "exact"}
    calls = [dict(empty), {"name": "blocklist_v4", "elements": ["192.0.2.1"], "state": "exact"}, dict(empty)]
    results, elems = run(tmp_path, calls, "blocklist_v4")
    assert [r["changed"] for r in results] == [False, True, True]
    assert results[2]["removed"] == ["192.0.2.1"]
    assert elems == []
    assert not (tmp_path / "cache" / "inet-rampart-blocklist_v4.bin").exists()
