"""Tests for plugins/module_utils/nft_netlink.py: message encoding on bytes, then the real kernel in
a throwaway network namespace (``unshare -n``, root, nft), checked against what ``nft`` lists."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils import nft_netlink as nl

ROOT = Path(__file__).resolve().parents[4]
RULESET = ROOT / "tests" / "fixtures" / "nft" / "ruleset.nft"


def test_attributes_round_trip_with_padding() -> None:
    data = nl.attr(1, b"abc") + nl.nested(2, nl.attr(1, b"\x01\x02\x03\x04\x05")) + nl.attr(3, b"")
    assert len(data) % 4 == 0
    parsed = nl.attributes(data)
    assert parsed[1] == b"abc"
    assert nl.attributes(parsed[2]) == {1: b"\x01\x02\x03\x04\x05"}
    assert parsed[3] == b""
    with pytest.raises(ValueError, match="malformed"):
        nl.attributes(struct.pack("=HH", 2, 1))


def test_element_carries_key_timeout_and_comment() -> None:
    encoded = nl.element(b"\xc0\x00\x02\x07", timeout_ms=300_000, comment="banned")
    inner = nl.attributes(nl.attributes(encoded)[nl.NFTA_LIST_ELEM])
    assert nl.attributes(inner[nl.NFTA_SET_ELEM_KEY]) == {nl.NFTA_DATA_VALUE: b"\xc0\x00\x02\x07"}
    assert struct.unpack("!Q", inner[nl.NFTA_SET_ELEM_TIMEOUT]) == (300_000,)
    assert nl.comment_of(inner[nl.NFTA_SET_ELEM_USERDATA]) == "banned"
    assert nl.comment_of(b"") == ""


@pytest.mark.parametrize(("width", "comment"), [(4, ""), (16, ""), (4, "rampart sha256:" + "0" * 64)])
def test_messages_fit_the_attribute_limit_and_carry_every_key(width: int, comment: str) -> None:
    keys = [i.to_bytes(width, "big") for i in range(20_000)]
    messages = nl.elements_messages(nl.NFT_MSG_NEWSETELEM, "inet", "rampart", "s", keys, comment=comment)
    assert len(messages) > 1
    seen = []
    for message in messages:
        (kind, seq, payload), *rest = list(nl.replies(message))
        assert rest == []
        assert (kind & 0xFF, seq) == (nl.NFT_MSG_NEWSETELEM, 0)
        header = nl.attributes(payload[4:])
        assert header[nl.NFTA_SET_ELEM_LIST_SET] == b"s\0"
        assert len(header[nl.NFTA_SET_ELEM_LIST_ELEMENTS]) <= nl.ATTR_MAX
        found = list(nl.parse_elements(payload[4:]))
        assert {c for _, c in found} == {comment}
        seen += [k for k, _ in found]
    assert seen == keys
    assert nl.elements_messages(nl.NFT_MSG_DELSETELEM, "inet", "t", "s", []) == []


def test_set_reply_is_decoded() -> None:
    payload = (
        nl.attr(nl.NFTA_SET_NAME, b"deny_v4\0")
        + nl.attr(nl.NFTA_SET_FLAGS, struct.pack("!I", 0x10 | 0x20))
        + nl.attr(nl.NFTA_SET_KEY_TYPE, struct.pack("!I", 7))
        + nl.attr(nl.NFTA_SET_KEY_LEN, struct.pack("!I", 4))
        + nl.nested(nl.NFTA_SET_DESC, nl.attr(nl.NFTA_SET_DESC_SIZE, struct.pack("!I", 65536)))
        + nl.attr(nl.NFTA_SET_TIMEOUT, struct.pack("!Q", 600_000))
    )
    info = nl.parse_set(payload)
    assert info == nl.SetInfo("deny_v4", "ipv4_addr", 4, ("timeout", "dynamic"), 600_000, 65536)


needs_root = pytest.mark.skipif(
    not (shutil.which("nft") and shutil.which("unshare") and os.geteuid() == 0),
    reason="needs nft, unshare and root",
)

# Runs inside the namespace; prints one JSON object.
KERNEL = """
import json, subprocess, sys
from ansible_collections.rampart.hardening.plugins.module_utils import nft_netlink as nl
subprocess.run(["nft", "-f", sys.argv[1]], check=True)
out = {}
with nl.Netlink("inet", "rampart") as link:
    out["deny"] = link.set_info("deny_v4").__dict__
    out["blocklist"] = link.set_info("blocklist_v4").__dict__
    try:
        link.set_info("nosuch")
    except nl.NetlinkError as exc:
        out["missing"] = [exc.errno, str(exc)]
    keys = [bytes([203, 0, 113, i]) for i in range(1, 6)]
    link.commit(nl.elements_messages(nl.NFT_MSG_NEWSETELEM, "inet", "rampart", "deny_v4", keys[:3],
                                     timeout_ms=300_000, comment="test"))
    out["held"] = sorted(k[3] for k in link.lookup("deny_v4", keys))
    out["comments"] = sorted(set(link.lookup("deny_v4", keys).values()))
    # One good change and one to a missing set: the transaction takes neither.
    try:
        link.commit(nl.elements_messages(nl.NFT_MSG_NEWSETELEM, "inet", "rampart", "deny_v4", keys[3:])
                    + nl.elements_messages(nl.NFT_MSG_NEWSETELEM, "inet", "rampart", "nosuch", keys[3:]))
    except nl.NetlinkError as exc:
        out["refused"] = exc.errno
    out["after_refusal"] = sorted(k[3] for k in link.lookup("deny_v4", keys))
    link.commit([nl.flush_message("inet", "rampart", "blocklist_v4")])
    link.commit(nl.elements_messages(nl.NFT_MSG_DELSETELEM, "inet", "rampart", "deny_v4", keys[:1]))
out["listed"] = json.loads(subprocess.run(["nft", "-j", "list", "set", "inet", "rampart", "deny_v4"],
                                          capture_output=True, text=True, check=True).stdout)
print(json.dumps(out))
"""


@needs_root
def test_the_kernel_answers_and_takes_transactions_whole() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / ".collections")}
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", KERNEL, str(RULESET)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out["deny"] == {
        "name": "deny_v4",
        "key_type": "ipv4_addr",
        "key_len": 4,
        "flags": ["timeout", "dynamic"],
        "timeout_ms": 600_000,
        "size": 65536,
    }
    assert (out["blocklist"]["flags"], out["blocklist"]["size"]) == ([], 262144)
    assert out["missing"][0] == 2
    assert "set inet rampart nosuch" in out["missing"][1]
    assert out["held"] == [1, 2, 3]
    assert out["comments"] == ["test"]
    assert out["refused"] == 2
    assert out["after_refusal"] == [1, 2, 3]
    listed = next(i["set"] for i in out["listed"]["nftables"] if "set" in i)["elem"]
    assert [(e["elem"]["val"], e["elem"]["timeout"], e["elem"]["comment"]) for e in listed] == [
        ("203.0.113.2", 300, "test"),
        ("203.0.113.3", 300, "test"),
    ]
