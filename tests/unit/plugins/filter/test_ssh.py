"""Tests for plugins/filter/ssh.py, with the algorithm lists captured from real OpenSSH 9.2 and 10.x."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.filter.ssh import FilterModule, ssh_algorithms, sshd_option
from ansible_collections.rampart.hardening.plugins.module_utils.sshd import parse_query_list
from hypothesis import given
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "sshd"


def supported(release: str, kind: str) -> list[str]:
    return parse_query_list((FIXTURES / release / f"ssh_Q_{kind}.stdout").read_text(), kind)


PREFERRED_KEX = [
    "mlkem768x25519-sha256",
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
]


def test_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"ssh_algorithms", "sshd_option"}


def test_post_quantum_kex_only_where_supported() -> None:
    assert ssh_algorithms(PREFERRED_KEX, supported("bookworm", "kex"), "KexAlgorithms") == PREFERRED_KEX[1:]
    assert ssh_algorithms(PREFERRED_KEX, supported("trixie", "kex"), "KexAlgorithms") == PREFERRED_KEX


def test_keeps_preferred_order_and_drops_duplicates() -> None:
    preferred = ["aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "nope"]
    assert ssh_algorithms(preferred, supported("bookworm", "cipher"), "Ciphers") == [
        "aes256-gcm@openssh.com",
        "chacha20-poly1305@openssh.com",
    ]


def test_empty_result_names_kind_and_lists() -> None:
    with pytest.raises(AnsibleFilterError) as exc:
        ssh_algorithms(["ssh-dss-only"], ["ssh-ed25519", "rsa-sha2-512"], "HostKeyAlgorithms")
    message = str(exc.value)
    assert message.startswith("HostKeyAlgorithms: none of the preferred algorithms is supported")
    assert "preferred: ssh-dss-only" in message
    assert "supported: rsa-sha2-512, ssh-ed25519" in message


def test_empty_inputs() -> None:
    with pytest.raises(AnsibleFilterError, match="preferred: none; supported: none"):
        ssh_algorithms([], [], "MACs")


@pytest.mark.parametrize(
    ("preferred", "available", "message"),
    [
        ("aes256-ctr", ["aes256-ctr"], "Ciphers: the preferred list must be a list of strings, got str"),
        (["aes256-ctr"], "aes256-ctr", "Ciphers: the supported list must be a list of strings, got str"),
        ([1], ["aes256-ctr"], "Ciphers: the preferred list must be a list of strings, 1 is a int"),
        (None, ["aes256-ctr"], "got NoneType"),
        ({"a": 1}, ["aes256-ctr"], "got dict"),
    ],
)
def test_bad_inputs(preferred: Any, available: Any, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        ssh_algorithms(preferred, available, "Ciphers")


@given(
    preferred=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1),
    available=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1),
)
def test_intersection_properties(preferred: list[str], available: list[str]) -> None:
    try:
        result = ssh_algorithms(preferred, available, "X")
    except AnsibleFilterError:
        assert not set(preferred) & set(available)
        return
    assert set(result) == set(preferred) & set(available)
    assert len(result) == len(set(result))
    positions = [preferred.index(name) for name in result]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (
            ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"],
            {},
            "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com",
        ),
        (["wheel", "admins"], {"separator": " "}, "wheel admins"),
        (
            [".ssh/authorized_keys", "/etc/ssh/keys/%u"],
            {"separator": " "},
            ".ssh/authorized_keys /etc/ssh/keys/%u",
        ),
        (True, {}, "yes"),
        (False, {}, "no"),
        (22, {}, "22"),
        ("prohibit-password", {}, "prohibit-password"),
        ("/etc/issue.net", {}, "/etc/issue.net"),
        ("Authorized use only", {}, '"Authorized use only"'),
        (["a b", "c"], {"separator": " "}, '"a b" c'),
        ("#notacomment", {}, '"#notacomment"'),
    ],
)
def test_sshd_option(value: Any, kwargs: dict[str, Any], expected: str) -> None:
    assert sshd_option(value, **kwargs) == expected


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (
            "x\nPermitRootLogin yes",
            {"keyword": "Banner"},
            "Banner: value .* contains a control character or newline",
        ),
        ([], {"keyword": "Ciphers"}, "Ciphers: an empty list"),
        ("", {}, "an empty value"),
        (None, {}, "cannot render NoneType"),
        (1.5, {}, "cannot render float"),
        (['say "hi" now'], {"separator": " "}, "space and a double quote"),
        (["a,b"], {}, "comma-separated entries cannot contain blanks or commas"),
        (["a b"], {}, "comma-separated entries cannot contain blanks or commas"),
        (["a"], {"separator": ";"}, "separator must be"),
    ],
)
def test_sshd_option_refuses_what_sshd_cannot_read(value: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        sshd_option(value, **kwargs)


@given(st.text())
def test_sshd_option_never_emits_a_newline(text: str) -> None:
    try:
        rendered = sshd_option(text)
    except AnsibleFilterError:
        return
    assert "\n" not in rendered
    assert "\r" not in rendered
