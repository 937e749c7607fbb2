"""Tests for module_utils/mdraid.py: /proc/mdstat, mdadm --detail, conditions and verdicts.

Real captures from lab VMs (tests/fixtures/mdraid/<release>/<case>/, see the README there);
hand-written edge cases in tests/fixtures/mdraid/handwritten/, labelled as such.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.mdraid import (
    CONDITIONS,
    ParseError,
    assess,
    merge,
    parse_detail,
    parse_mdstat,
    verdict,
)
from hypothesis import given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mdraid"
HAND = FIXTURES / "handwritten"
CASES = sorted(p for p in FIXTURES.glob("*/[0-9]*") if p.is_dir())


def load(case: Path) -> list[dict[str, Any]]:
    details = {p.name.removeprefix("detail-"): p.read_text() for p in case.glob("detail-*")}
    return assess((case / "mdstat").read_text(), details)


def by_name(arrays: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in arrays}


def case(release: str, name: str) -> dict[str, dict[str, Any]]:
    return by_name(load(FIXTURES / release / name))


# --- every capture against mdadm's own verdict -------------------------------------------


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_capture_agrees_with_mdadm_test(path: Path) -> None:
    """`mdadm --detail --test` exits 2 for an unusable array, 1 for a degraded one, 0 otherwise."""
    rcs = dict(line.split() for line in (path / "test-rc").read_text().splitlines())
    for array in load(path):
        rc = rcs.get(array["name"])
        conditions = set(array["conditions"])
        if array["level"] in ("container", "faulty"):  # mdadm --test calls both unusable: no redundancy
            assert rc == "2"
            assert not conditions
        elif rc == "2":
            assert "failed" in conditions, array["summary"]
        elif rc == "1":
            assert conditions & {"degraded", "recovering"}, array["summary"]
            assert "failed" not in conditions
        else:
            assert not conditions & {"failed", "degraded", "recovering"}, array["summary"]


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_capture_mdstat_and_detail_agree(path: Path) -> None:
    """Every array in mdstat is the one its --detail describes (level, members)."""
    stat = parse_mdstat((path / "mdstat").read_text())
    for entry in stat["arrays"]:
        detail_file = path / f"detail-{entry['name']}"
        assert detail_file.exists(), entry["name"]
        detail = parse_detail(detail_file.read_text())
        assert detail["device"] == entry["device"]
        if entry["level"] is not None:
            assert detail["level"] == entry["level"]
        listed = {m["device"] for m in detail["members"] if m["device"]}
        assert listed == {m["device"] for m in entry["members"]}


# --- states, one assertion per case ---------------------------------------------------------

STATES = [
    (
        "bookworm",
        "01-levels-resyncing",
        {"md0": [], "md1": ["resyncing"], "md5": ["recovering"], "md6": ["resyncing"], "md10": ["resyncing"]},
    ),
    ("trixie", "02-levels-clean", {"md0": [], "md1": [], "md5": [], "md6": [], "md10": []}),
    (
        "bookworm",
        "04-degraded-faulty",
        {
            "md5": ["degraded", "faulty_member"],
            "md6": ["degraded", "faulty_member"],
            "md10": ["degraded", "faulty_member"],
        },
    ),
    ("trixie", "05-degraded-removed", {"md5": ["degraded"], "md10": ["degraded"], "md1": []}),
    (
        "bookworm",
        "06-recovering",
        {"md1": ["recovering", "faulty_member"], "md10": ["recovering"], "md5": ["degraded"]},
    ),
    ("trixie", "07-after-recovery", {"md1": ["faulty_member"], "md10": []}),
    ("bookworm", "08-raid5-failed", {"md5": ["failed", "faulty_member"]}),
    ("trixie", "08-raid5-second-fail-refused", {"md5": ["degraded"]}),
    ("bookworm", "09-check", {"md1": ["checking"]}),
    ("trixie", "10-reshape", {"md5": ["reshaping"], "md1": []}),
    ("bookworm", "12-resync-pending", {"md2": ["resync_pending"]}),
    ("trixie", "13-resync-resumed", {"md2": ["resyncing"]}),
    ("bookworm", "14-inactive", {"md127": ["inactive"]}),
    ("trixie", "17-imsm", {"md126": ["resync_pending"], "md127": []}),
    ("bookworm", "20-raid5-failed-write-errors", {"md7": ["failed", "faulty_member"], "md20": []}),
]


@pytest.mark.parametrize(("release", "name", "expected"), STATES, ids=[f"{r}/{n}" for r, n, _ in STATES])
def test_conditions(release: str, name: str, expected: dict[str, list[str]]) -> None:
    arrays = case(release, name)
    assert {n: arrays[n]["conditions"] for n in expected} == expected
    for n, conditions in expected.items():
        assert arrays[n]["state"] == (conditions[0] if conditions else "clean")


def test_every_level_reported() -> None:
    arrays = case("bookworm", "02-levels-clean")
    assert {n: a["level"] for n, a in arrays.items()} == {
        "md0": "raid0",
        "md1": "raid1",
        "md5": "raid5",
        "md6": "raid6",
        "md10": "raid10",
    }
    assert arrays["md6"]["raid_devices"] == 4
    assert arrays["md6"]["working_devices"] == 4
    assert arrays["md0"]["map"] is None  # raid0 has no slot map
    assert arrays["md1"]["size_kib"] == 39936
    assert arrays["md1"]["metadata"] == "1.2"
    assert arrays["md1"]["uuid"] == "0f49a6da:ad54a502:32d6480a:28dd9e9f"


def test_recovery_progress_speed_and_finish() -> None:
    md1 = case("bookworm", "06-recovering")["md1"]
    assert md1["sync"] == {
        "action": "recovery",
        "progress": 5.0,
        "done": 2048,
        "total": 39936,
        "finish_minutes": 3.3,
        "speed_kib": 186,
        "pending": False,
        "delayed": False,
    }
    assert md1["map"] == "_U"
    assert md1["members"] == [
        {"device": "/dev/loop15", "role": 0, "state": "rebuilding", "states": ["spare", "rebuilding"]},
        {"device": "/dev/loop3", "role": 1, "state": "active", "states": ["active", "sync"]},
        {"device": "/dev/loop2", "role": None, "state": "faulty", "states": ["faulty"]},
    ]
    assert md1["detail_state"] == ["clean", "degraded", "recovering"]
    assert md1["summary"] == (
        "md1 raid1 recovering [_U] recovery 5% finish 3.3min at 186K/s "
        "(/dev/loop15 rebuilding, /dev/loop3 active, /dev/loop2 faulty)"
    )


def test_removed_slots_and_faulty_members() -> None:
    md6 = case("trixie", "04-degraded-faulty")["md6"]
    assert [(m["device"], m["role"], m["state"]) for m in md6["members"]] == [
        ("/dev/loop7", 0, "active"),
        (None, 1, "removed"),
        (None, 2, "removed"),
        ("/dev/loop10", 3, "active"),
        ("/dev/loop8", None, "faulty"),
        ("/dev/loop9", None, "faulty"),
    ]
    assert md6["map"] == "U__U"
    assert "slot 1 removed" in md6["summary"]


def test_spare() -> None:
    md1 = case("trixie", "03-raid1-spare")["md1"]
    assert [m["state"] for m in md1["members"]] == ["active", "active", "spare"]
    assert md1["state"] == "clean"


def test_resync_pending_is_auto_read_only() -> None:
    md2 = case("trixie", "12-resync-pending")["md2"]
    assert md2["read_only"] == "auto-read-only"
    assert md2["sync"] is not None
    assert md2["sync"]["pending"] is True
    assert md2["sync"]["action"] == "resync"
    assert md2["detail_state"] == ["clean", "resyncing (pending)"]
    assert "resync=PENDING" in md2["summary"]


def test_inactive_array() -> None:
    md127 = case("bookworm", "14-inactive")["md127"]
    assert md127["active"] is False
    assert md127["level"] == "raid5"  # from mdadm; mdstat has no personality for an inactive array
    assert [m["state"] for m in md127["members"]] == ["member", "member"]


@pytest.mark.parametrize(("release", "kind"), [("bookworm", "ddf"), ("trixie", "ddf"), ("bookworm", "imsm")])
def test_external_metadata_container_and_volume(release: str, kind: str) -> None:
    arrays = list(load(FIXTURES / release / ("16-ddf-clean" if kind == "ddf" else "17-imsm")))
    containers = [a for a in arrays if a["level"] == "container"]
    volumes = [a for a in arrays if a["container"]]
    assert len(containers) == 1
    assert len(volumes) == 1
    container, volume = containers[0], volumes[0]
    assert container["metadata"] == f"external:{kind}"
    assert container["conditions"] == []  # "inactive" in mdstat is a container's normal state
    assert container["member_arrays"] == ["/dev/md/vol0" if kind == "ddf" else "/dev/md/vol1"]
    assert {m["state"] for m in container["members"]} == {"member"}
    assert volume["level"] == "raid1"
    assert volume["metadata"] == f"external:/{container['name']}/0"
    assert volume["container"] == ("/dev/md/ddf0" if kind == "ddf" else "/dev/md/imsm0")
    assert ":" in str(container["uuid"])
    assert "(" not in str(container["uuid"])  # the "(Linux-MD ...)" continuation line is not part of it


def test_no_arrays() -> None:
    assert load(FIXTURES / "trixie" / "18-none") == []
    assert parse_mdstat((FIXTURES / "trixie" / "18-none" / "mdstat").read_text())["personalities"] == [
        "raid0",
        "raid1",
        "raid6",
        "raid5",
        "raid4",
        "raid10",
    ]


# --- mdstat alone (mdadm missing or a device node missing) ----------------------------------


def test_mdstat_only_members_from_flags() -> None:
    stat = parse_mdstat((FIXTURES / "bookworm" / "06-recovering" / "mdstat").read_text())
    md1 = merge(next(a for a in stat["arrays"] if a["name"] == "md1"))
    assert md1["conditions"] == ["recovering", "faulty_member"]
    assert [(m["device"], m["role"], m["state"]) for m in md1["members"]] == [
        ("/dev/loop15", None, "active"),
        ("/dev/loop3", None, "active"),
        ("/dev/loop2", None, "faulty"),
    ]
    md5 = merge(next(a for a in stat["arrays"] if a["name"] == "md5"))
    assert md5["conditions"] == ["degraded"]  # from [3/2] alone


@pytest.mark.parametrize(
    ("release", "name", "array", "expected"),
    [
        ("bookworm", "08-raid5-failed", "md5", ["failed", "faulty_member"]),  # [3/1]
        ("bookworm", "04-degraded-faulty", "md6", ["degraded", "faulty_member"]),  # raid6 [4/2] survives
        ("bookworm", "20-raid5-failed-write-errors", "md7", ["failed", "faulty_member"]),
    ],
)
def test_mdstat_only_redundancy(release: str, name: str, array: str, expected: list[str]) -> None:
    stat = parse_mdstat((FIXTURES / release / name / "mdstat").read_text())
    assert merge(next(a for a in stat["arrays"] if a["name"] == array))["conditions"] == expected


def test_mdstat_only_container_and_inactive() -> None:
    stat = parse_mdstat((FIXTURES / "bookworm" / "15-ddf" / "mdstat").read_text())
    merged = {a["name"]: merge(a) for a in stat["arrays"]}
    assert merged["md126"]["level"] == "container"
    assert merged["md126"]["conditions"] == []
    assert merged["md125"]["container"] == "/dev/md126"
    assert merged["md127"]["level"] is None
    assert merged["md127"]["conditions"] == ["inactive"]
    assert [m["state"] for m in merged["md127"]["members"]] == ["spare", "spare"]


# --- hand-written edge cases -----------------------------------------------------------------


def test_handwritten_resync_delayed_and_bitmap() -> None:
    arrays = by_name(assess((HAND / "resync-delayed.mdstat").read_text()))
    assert arrays["md1"]["conditions"] == ["resync_pending"]
    assert arrays["md1"]["sync"] is not None
    assert arrays["md1"]["sync"]["delayed"] is True
    assert "resync=DELAYED" in arrays["md1"]["summary"]
    assert arrays["md0"]["sync"] is not None
    assert arrays["md0"]["sync"]["speed_kib"] == 100000
    stat = parse_mdstat((HAND / "resync-delayed.mdstat").read_text())
    assert stat["arrays"][0]["bitmap"] == "2/8 pages [8KB], 65536KB chunk"


def test_handwritten_flags_old_superblock_linear() -> None:
    stat = parse_mdstat((HAND / "flags-oldsuper-linear.mdstat").read_text())
    arrays = {a["name"]: a for a in stat["arrays"]}
    assert [m["flags"] for m in arrays["md2"]["members"]] == [[], [], [], ["journal"]]
    assert [m["flags"] for m in arrays["md1"]["members"]] == [["replacement"], [], ["write-mostly"]]
    assert arrays["md1"]["read_only"] == "read-only"
    assert arrays["md0"]["metadata"] is None
    assert arrays["md0"]["raid_disks"] == 2
    assert arrays["md3"]["level"] == "linear"
    assert stat["unused"] == ["sdj", "sdk"]
    merged = {a["name"]: merge(a) for a in stat["arrays"]}
    assert [m["state"] for m in merged["md2"]["members"]] == ["active", "active", "active", "journal"]
    assert [m["state"] for m in merged["md1"]["members"]] == ["replacement", "active", "active"]
    assert merged["md1"]["conditions"] == ["recovering"]
    assert merged["md3"]["conditions"] == []


def test_handwritten_raid0_broken() -> None:
    arrays = assess(
        (HAND / "raid0-broken.mdstat").read_text(), {"md0": (HAND / "raid0-broken.detail").read_text()}
    )
    assert arrays[0]["conditions"] == ["failed"]
    assert arrays[0]["detail_state"] == ["broken", "failed"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("garbage.txt", "must start with 'Personalities :'"),
        ("bad-header.mdstat", "md0 is neither active nor inactive"),
        ("bad-member.mdstat", "member 'sdb' is not DEV[N](FLAGS)"),
        ("orphan-line.mdstat", "line 2 is not part of an array"),
    ],
)
def test_garbage_mdstat(name: str, message: str) -> None:
    with pytest.raises(ParseError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        parse_mdstat((HAND / name).read_text())


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("garbage.txt", "must start with the device"),
        ("detail-no-level.txt", "no 'Raid Level' line"),
        ("detail-garbage-line.txt", "line 3 is not 'Key : value'"),
        ("detail-short-row.txt", "line 4 is not a member row"),
    ],
)
def test_garbage_detail(name: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_detail((HAND / name).read_text())


@pytest.mark.parametrize("text", ["", "\n", "   \n\n"])
def test_empty_mdstat_is_no_arrays(text: str) -> None:
    assert parse_mdstat(text) == {"personalities": [], "arrays": [], "unused": []}
    assert assess(text) == []


def test_empty_detail_is_an_error() -> None:
    with pytest.raises(ParseError):
        parse_detail("")


@settings(max_examples=300)
@given(st.text())
def test_arbitrary_text_parses_or_raises_parse_error(text: str) -> None:
    """No input crashes the parsers with anything but ParseError."""
    for parser in (parse_mdstat, parse_detail):
        with contextlib.suppress(ParseError):
            parser(text)


@settings(max_examples=200)
@given(
    raid=st.integers(min_value=1, max_value=8),
    data=st.data(),
)
def test_slot_map_decides_degraded(raid: int, data: st.DataObject) -> None:
    """Generated mdstat: an array with a missing slot is degraded unless it is rebuilding."""
    up = data.draw(st.lists(st.booleans(), min_size=raid, max_size=raid))
    rebuilding = data.draw(st.booleans())
    members = " ".join(f"sd{chr(97 + i)}[{i}]" for i, ok in enumerate(up) if ok) or "sdz[9](S)"
    slot_map = "".join("U" if ok else "_" for ok in up)
    lines = [
        "Personalities : [raid1]",
        f"md0 : active raid1 {members}",
        f"      1046528 blocks super 1.2 [{raid}/{sum(up)}] [{slot_map}]",
    ]
    if rebuilding:
        lines.append(
            "      [=>...................]  recovery =  9.8% (102912/1046528) finish=1.2min speed=12864K/sec"
        )
    lines += ["", "unused devices: <none>"]
    (array,) = assess("\n".join(lines))
    missing = not all(up)
    assert ("failed" in array["conditions"]) == (not any(up))  # raid1 survives all but one
    assert ("degraded" in array["conditions"]) == (missing and any(up) and not rebuilding)
    assert ("recovering" in array["conditions"]) == rebuilding
    assert array["map"] == slot_map


# --- verdict ----------------------------------------------------------------------------------


def test_verdict_default_policy_fails_on_degraded_and_names_it() -> None:
    result = verdict(load(FIXTURES / "bookworm" / "05-degraded-removed"))
    assert result["status"] == "fail"
    assert result["failures"] == [
        "/dev/md10: md10 raid10 degraded [U_UU] "
        "(/dev/loop11 active, slot 1 removed, /dev/loop13 active, /dev/loop14 active)",
        "/dev/md6: md6 raid6 degraded [U__U] "
        "(/dev/loop7 active, slot 1 removed, slot 2 removed, /dev/loop10 active, "
        "/dev/loop8 faulty, /dev/loop9 faulty)",
        "/dev/md5: md5 raid5 degraded [UU_] (/dev/loop4 active, /dev/loop5 active, slot 2 removed)",
    ]
    assert result["warnings"] == []


def test_verdict_warns_on_resync_and_passes_clean() -> None:
    assert verdict(load(FIXTURES / "trixie" / "01-levels-resyncing"))["status"] == "warn"
    assert verdict(load(FIXTURES / "trixie" / "02-levels-clean")) == {
        "status": "ok",
        "failures": [],
        "warnings": [],
    }
    assert verdict([]) == {"status": "ok", "failures": [], "warnings": []}


def test_verdict_checking_is_quiet_by_default_but_configurable() -> None:
    arrays = load(FIXTURES / "bookworm" / "09-check")
    assert verdict(arrays)["status"] == "ok"
    assert verdict(arrays, warn_on=["checking"])["status"] == "warn"


def test_verdict_recovering_can_fail() -> None:
    arrays = load(FIXTURES / "trixie" / "06-recovering")
    assert len(verdict(arrays)["failures"]) == 2  # md5 and md6 degraded; md1 and md10 rebuilding only warn
    assert len(verdict(arrays, fail_on=["degraded", "recovering"])["failures"]) == 4


def test_verdict_condition_in_both_lists_fails() -> None:
    arrays = load(FIXTURES / "bookworm" / "13-resync-resumed")
    assert verdict(arrays, fail_on=["resyncing"], warn_on=["resyncing"])["status"] == "fail"


def test_verdict_rejects_unknown_condition() -> None:
    with pytest.raises(ValueError, match="unknown RAID condition"):
        verdict([], fail_on=["degradded"])


def test_conditions_are_ordered_by_severity() -> None:
    assert CONDITIONS[:3] == ("failed", "inactive", "degraded")
