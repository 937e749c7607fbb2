"""Unit tests for plugins/module_utils/sshd.py, on outputs captured from real sshd 9.2 and 10.x.

Fixtures live in tests/fixtures/sshd/<release>/ (see capture.sh there); NAME.stdout,
NAME.stderr and NAME.rc hold one command's output.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import stat
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.sshd import (
    Account,
    AuthorizedKey,
    KeyFile,
    PathStat,
    addr_match_list,
    algorithm_accepted,
    decode_key_blob,
    evaluate_access,
    expand_authorized_keys_path,
    key_file_problem,
    key_rejection,
    match_host_and_ip,
    match_pattern,
    match_pattern_list,
    match_user,
    parse_authorized_keys,
    parse_effective_config,
    parse_expiry_time,
    parse_include_patterns,
    parse_key_options,
    parse_listen_address,
    parse_query_list,
    parse_shadow_entry,
    parse_version,
    private_group_ids,
    resolve_include_pattern,
    shell_problem,
    signature_algorithms,
    validate_user_pattern,
)
from hypothesis import given
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "sshd"
RELEASES = ("bookworm", "trixie")
NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
HARDENED_ALLOW_USERS = "rampart@10.0.0.0/8,!10.9.9.9, deploy, root@10.*, ops@192.0.2.*"


def out(release: str, name: str, stream: str = "stdout") -> str:
    return (FIXTURES / release / f"{name}.{stream}").read_text()


def config(release: str, name: str) -> dict[str, Any]:
    return dict(parse_effective_config(out(release, name)))


def key_line(name: str) -> str:
    return (FIXTURES / "keys" / f"{name}.pub").read_text().strip()


def keys_of(*names: str) -> list[AuthorizedKey]:
    return parse_authorized_keys("\n".join(key_line(n) for n in names), source="/home/u/.ssh/authorized_keys")


def successful_T_outputs() -> list[tuple[str, str]]:
    cases = []
    for release in RELEASES:
        for rc_file in sorted((FIXTURES / release).glob("sshd_T_*.rc")):
            if rc_file.read_text().strip() == "0":
                cases.append((release, rc_file.name.removesuffix(".rc")))
    return cases


# ---------------------------------------------------------------------------
# sshd -T
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("release", "name"), successful_T_outputs())
def test_every_real_sshd_T_output_parses(release: str, name: str) -> None:
    parsed = parse_effective_config(out(release, name))
    assert all(key == key.lower() for key in parsed)
    assert isinstance(parsed["port"], list)
    assert isinstance(parsed["ciphers"], list)
    assert isinstance(parsed["pubkeyacceptedalgorithms"], list)
    assert isinstance(parsed["permitrootlogin"], str)
    for key in ("allowusers", "allowgroups", "denyusers", "denygroups", "authenticationmethods"):
        assert isinstance(parsed[key], list)


@pytest.mark.parametrize("release", RELEASES)
def test_default_config_types(release: str) -> None:
    parsed = config(release, "sshd_T_default")
    assert parsed["port"] == ["22"]
    assert sorted(parsed["listenaddress"]) == ["0.0.0.0:22", "[::]:22"]
    assert parsed["allowusers"] == parsed["denygroups"] == []
    assert parsed["authenticationmethods"] == ["any"]
    assert parsed["authorizedkeysfile"] == [".ssh/authorized_keys", ".ssh/authorized_keys2"]
    assert parsed["acceptenv"][:2] == ["LANG", "LC_*"]
    assert parsed["subsystem"] == ["sftp /usr/lib/openssh/sftp-server"]
    assert len(parsed["hostkey"]) == 3
    assert parsed["requiredrsasize"] == "1024"
    assert parsed["ipqos"] == {"bookworm": "lowdelay throughput", "trixie": "ef cs1"}[release]
    assert parsed["usepam"] == "yes"
    assert parsed["permitrootlogin"] in ("without-password", "prohibit-password")
    assert "chacha20-poly1305@openssh.com" in parsed["ciphers"]
    assert parsed["permitopen"] == ["any"]


def test_bookworm_default_specifics() -> None:
    parsed = config("bookworm", "sshd_T_default")
    assert parsed["permitrootlogin"] == "without-password"  # 9.2 prints the old alias
    assert parsed["gssapikexalgorithms"][0] == "gss-group14-sha256-"
    assert parsed["kexalgorithms"][0] == "sntrup761x25519-sha512"


@pytest.mark.parametrize("release", RELEASES)
def test_hardened_config_lists(release: str) -> None:
    parsed = config(release, "sshd_T_hardened")
    assert parsed["port"] == ["22", "2222"]
    assert parsed["listenaddress"] == ["0.0.0.0:22", "0.0.0.0:2222", "[::1]:2200"]
    assert parsed["allowusers"] == ["rampart@10.0.0.0/8,!10.9.9.9", "deploy", "root@10.*", "ops@192.0.2.*"]
    assert parsed["denyusers"] == ["mallory", "*@192.0.2.66"]
    assert parsed["allowgroups"] == ["wheel", "rampart"]
    assert parsed["pubkeyacceptedalgorithms"] == ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"]
    assert parsed["authorizedkeysfile"] == [".ssh/authorized_keys", "/etc/ssh/authorized_keys/%u"]
    assert parsed["authenticationmethods"] == ["publickey"]
    assert parsed["requiredrsasize"] == "3072"


@pytest.mark.parametrize("release", RELEASES)
def test_match_blocks_are_applied_per_connection(release: str) -> None:
    from_10 = config(release, "sshd_T_hardened_rampart_10")
    assert from_10["pubkeyacceptedalgorithms"] == ["ssh-ed25519"]
    assert from_10["authenticationmethods"] == ["publickey,publickey", "publickey,password"]
    from_192 = config(release, "sshd_T_hardened_rampart_192")
    assert from_192["pubkeyacceptedalgorithms"] == ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"]
    deploy = config(release, "sshd_T_hardened_deploy")  # Match Group wheel
    assert deploy["allowgroups"] == ["wheel"]  # a Match block replaces the list, it does not extend it
    assert deploy["permitrootlogin"] == "no"


@pytest.mark.parametrize("release", RELEASES)
def test_partial_connection_spec_is_accepted_and_applies_what_it_can(release: str) -> None:
    assert (FIXTURES / release / "sshd_T_partial_spec.rc").read_text().strip() == "0"
    user_only = config(release, "sshd_T_partial_spec")
    assert user_only["pubkeyacceptedalgorithms"] == ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"]
    user_addr = config(release, "sshd_T_partial_spec_addr")
    assert user_addr["pubkeyacceptedalgorithms"] == ["ssh-ed25519"]


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", ["sshd_T_noprivsep", "sshd_T_nohostkeys", "sshd_T_invalid_bad_keyword"])
def test_error_text_is_not_mistaken_for_config(release: str, name: str) -> None:
    text = out(release, name, "stderr")
    assert text.strip()
    with pytest.raises(ValueError, match="not 'keyword value'"):
        parse_effective_config(text)


def test_parser_odd_inputs() -> None:
    with pytest.raises(ValueError, match="no configuration"):
        parse_effective_config("")
    with pytest.raises(ValueError, match="no configuration"):
        parse_effective_config("\n  \n")
    with pytest.raises(ValueError, match=r"line 2 .*'Port 22'"):
        parse_effective_config("port 22\nPort 22\n")
    with pytest.raises(ValueError, match="line 1"):
        parse_effective_config("\x00garbage")
    parsed = parse_effective_config(
        "port 22\r\nbanner\nauthorizedkeysfile none\nfutureoption a\nfutureoption b\nciphers a,,b,\n"
    )
    assert parsed["port"] == ["22"]
    assert parsed["banner"] == ""
    assert parsed["authorizedkeysfile"] == []
    assert parsed["futureoption"] == ["a", "b"]
    assert parsed["ciphers"] == ["a", "b"]


# ---------------------------------------------------------------------------
# Version, ssh -Q, listen addresses, Include
# ---------------------------------------------------------------------------


def test_versions_from_real_output() -> None:
    assert parse_version(out("bookworm", "ssh_V", "stderr")) == ("9.2p1", [9, 2])
    assert parse_version(out("bookworm", "sshd_V", "stderr")) == ("9.2", [9, 2])  # sshd -V has no p1


def test_trixie_version_is_10() -> None:
    version, info = parse_version(out("trixie", "ssh_V", "stderr"))
    assert info[0] == 10
    assert version.startswith(f"{info[0]}.{info[1]}p")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024", ("9.2p1", [9, 2])),
        ("OpenSSH_10.0p2 Debian-7, OpenSSL 3.5.1 1 Jul 2025", ("10.0p2", [10, 0])),
        # sshd before 9.x had no -V: it printed this and its usage.
        (
            "unknown option -- V\nOpenSSH_8.4p1 Debian-5+deb11u1, OpenSSL 1.1.1n  15 Mar 2022\nusage: sshd",
            ("8.4p1", [8, 4]),
        ),
        ("OpenSSH_9.9, LibreSSL 4.0.0", ("9.9", [9, 9])),
    ],
)
def test_version_strings(text: str, expected: tuple[str, list[int]]) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "sshd: command not found", "OpenSSH_x.y"])
def test_version_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="no OpenSSH version"):
        parse_version(text)


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("kind", ["cipher", "mac", "kex", "key", "key-sig"])
def test_query_lists(release: str, kind: str) -> None:
    names = parse_query_list(out(release, f"ssh_Q_{kind}"), kind)
    assert names
    assert len(names) == len(set(names))
    expected = {
        "cipher": "aes256-gcm@openssh.com",
        "mac": "hmac-sha2-512-etm@openssh.com",
        "kex": "curve25519-sha256",
        "key": "ssh-ed25519",
        "key-sig": "rsa-sha2-512",
    }[kind]
    assert expected in names


def test_query_list_garbage() -> None:
    assert parse_query_list("\naes128-ctr\n\n") == ["aes128-ctr"]
    with pytest.raises(ValueError, match="ssh -Q cipher output line 2"):
        parse_query_list("aes128-ctr\nunknown query type\n", "cipher")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.0.0.0:22", ("0.0.0.0", 22)),
        ("[::]:22", ("::", 22)),
        ("[::1]:2200", ("::1", 2200)),
        ("192.0.2.1:2222 rdomain blue", ("192.0.2.1", 2222)),
    ],
)
def test_listen_address(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen_address(value) == expected


@pytest.mark.parametrize("value", ["", "0.0.0.0", "::1:22", "[::1]", "host:port"])
def test_listen_address_garbage(value: str) -> None:
    with pytest.raises(ValueError, match="listenaddress"):
        parse_listen_address(value)


def test_include_patterns_from_debian_config() -> None:
    for release in RELEASES:
        assert parse_include_patterns(out(release, "sshd_config", "dist")) == [
            "/etc/ssh/sshd_config.d/*.conf"
        ]


def test_include_pattern_variants() -> None:
    text = (
        "# Include /commented\n"
        "include a.conf b.conf # trailing comment\n"
        'INCLUDE "/etc/ssh/with space/*.conf"\n'
        "Include=/etc/ssh/eq.conf\n"
        'Include "unbalanced\n'
        "IncludeX no\n"
        "  Include\t/indented.conf\n"
    )
    assert parse_include_patterns(text) == [
        "a.conf",
        "b.conf",
        "/etc/ssh/with space/*.conf",
        "/etc/ssh/eq.conf",
        "/indented.conf",
    ]
    assert resolve_include_pattern("a.conf") == "/etc/ssh/a.conf"
    assert resolve_include_pattern("/x/y") == "/x/y"
    assert resolve_include_pattern("~/z") == "~/z"


# ---------------------------------------------------------------------------
# Pattern matching
# ---------------------------------------------------------------------------


def reference_match_pattern(s: str, pattern: str) -> bool:
    """A literal port of OpenSSH's recursive match.c match_pattern(), as the oracle."""
    si = pi = 0
    while True:
        if pi == len(pattern):
            return si == len(s)
        if pattern[pi] == "*":
            while pi < len(pattern) and pattern[pi] == "*":
                pi += 1
            if pi == len(pattern):
                return True
            if pattern[pi] != "?":
                return any(
                    s[k] == pattern[pi] and reference_match_pattern(s[k + 1 :], pattern[pi + 1 :])
                    for k in range(si, len(s))
                )
            return any(reference_match_pattern(s[k:], pattern[pi:]) for k in range(si, len(s)))
        if si == len(s):
            return False
        if pattern[pi] != "?" and pattern[pi] != s[si]:
            return False
        si += 1
        pi += 1


@pytest.mark.parametrize(
    ("s", "pattern", "expected"),
    [
        ("rampart", "rampart", True),
        ("rampart", "ramp*", True),
        ("rampart", "*", True),
        ("", "*", True),
        ("", "", True),
        ("a", "", False),
        ("rampart", "r?mpart", True),
        ("rampart", "r?part", False),
        ("Rampart", "rampart", False),  # case-sensitive
        ("[ab]", "[ab]", True),  # brackets are literal, unlike fnmatch
        ("a", "[ab]", False),
        ("!x", "!x", True),  # ! is literal here; lists handle negation
        ("10.1.2.3", "10.*", True),
        ("aXbXc", "*X*X*", True),
        ("abc", "a*c*", True),
        ("ab", "a*?b", False),
    ],
)
def test_match_pattern(s: str, pattern: str, expected: bool) -> None:
    assert match_pattern(s, pattern) is expected


_ALPHABET = st.text(alphabet="ab*?!.", max_size=8)


@given(s=st.text(alphabet="ab.!", max_size=10), pattern=_ALPHABET)
def test_match_pattern_agrees_with_openssh(s: str, pattern: str) -> None:
    assert match_pattern(s, pattern) == reference_match_pattern(s, pattern)


@given(s=st.text(min_size=0, max_size=20))
def test_match_pattern_literal_and_star(s: str) -> None:
    literal = s.replace("*", "").replace("?", "")
    assert match_pattern(literal, literal)
    assert match_pattern(s, "*")
    assert match_pattern(s, "?" * len(s))
    assert not match_pattern(s, "?" * (len(s) + 1))


@given(
    s=st.text(alphabet="abc", min_size=1, max_size=6),
    patterns=st.lists(st.text(alphabet="abc*?", max_size=6), min_size=1, max_size=4),
)
def test_pattern_list_negation_wins(s: str, patterns: list[str]) -> None:
    positive = ",".join(patterns)
    plain = match_pattern_list(s, positive)
    assert plain == (1 if any(match_pattern(s, p) for p in patterns) else 0)
    # Any matching negated entry makes the whole list -1, wherever it sits.
    assert match_pattern_list(s, f"{positive},!{s}") == -1
    assert match_pattern_list(s, f"!{s},{positive}") == -1


@pytest.mark.parametrize(
    ("s", "patterns", "expected"),
    [
        ("alice", "alice,bob", 1),
        ("carol", "alice,bob", 0),
        ("alice", "*,!alice", -1),
        ("bob", "*,!alice", 1),
        ("alice", "", 0),
        ("alice", "alice,", 1),
        ("", "alice,", 0),  # a trailing comma adds no empty entry
        ("", ",alice", 1),  # a leading one does
        ("host.example.com", "*.EXAMPLE.com", 0),
        ("a", "a" * 1023 + ",a", 0),  # OpenSSH gives up on an over-long entry
    ],
)
def test_match_pattern_list(s: str, patterns: str, expected: int) -> None:
    assert match_pattern_list(s, patterns) == expected


def test_match_pattern_list_dolower() -> None:
    assert match_pattern_list("host.example.com", "*.EXAMPLE.com", dolower=True) == 1


@pytest.mark.parametrize(
    ("addr", "patterns", "expected"),
    [
        ("10.1.2.3", "10.0.0.0/8", 1),
        ("10.1.2.3", "10.0.0.0/8,!10.1.2.3", -1),
        ("10.9.9.9", "10.0.0.0/8,!10.9.9.9", -1),
        ("11.0.0.1", "10.0.0.0/8", 0),
        ("10.1.2.3", "10.1.2.3", 1),
        ("10.1.2.3", "10.1.2.*", 1),  # not an address: wildcard on the text
        ("2001:db8::5", "2001:db8::/32", 1),
        ("2001:db8::5", "10.0.0.0/8", 0),
        ("::ffff:10.1.2.3", "10.0.0.0/8", 0),  # families are not mixed
        ("10.1.2.3", "10.0.0.1/8", -2),  # host bits set: sshd calls the mask inconsistent
        ("10.1.2.3", "10.0.0.0/33", -2),
        ("10.1.2.3", "10.0.0.0/129", 0),  # not a CIDR at all, so a (non-matching) wildcard
        ("10.1.2.3", "a,,b", -2),
        ("10.1.2.3", "!", -2),
        ("not-an-ip", "*", 0),
        ("10.1.2.3", "*.example.com", 0),
    ],
)
def test_addr_match_list(addr: str, patterns: str, expected: int) -> None:
    assert addr_match_list(addr, patterns) == expected


def test_addr_match_list_validation_mode() -> None:
    assert addr_match_list(None, "10.0.0.0/8,*.example.com") == 0
    assert addr_match_list(None, "10.0.0.1/8") == -2


@given(
    ip=st.ip_addresses(v=4),
    prefix=st.integers(min_value=0, max_value=32),
    base=st.ip_addresses(v=4),
)
def test_cidr_matching_agrees_with_ipaddress(
    ip: ipaddress.IPv4Address, prefix: int, base: ipaddress.IPv4Address
) -> None:
    network = ipaddress.ip_network(f"{base}/{prefix}", strict=False)
    expected = 1 if ip in network else 0
    assert addr_match_list(str(ip), str(network)) == expected
    assert match_user("rampart", str(ip), str(ip), f"rampart@{network}") == expected
    assert match_user("other", str(ip), str(ip), f"rampart@{network}") == 0
    assert addr_match_list(str(ip), f"{network},!{ip}") == -1


@pytest.mark.parametrize(
    ("host", "ip", "patterns", "expected"),
    [
        ("10.1.2.3", "10.1.2.3", "10.0.0.0/8", 1),
        ("admin.example.com", "192.0.2.1", "*.example.com", 1),
        ("ADMIN.example.com", "192.0.2.1", "*.example.com", 1),
        ("admin.example.com", "192.0.2.1", "*.example.com,!admin.*", 0),
        ("admin.example.com", "192.0.2.1", "*.example.com,!192.0.2.1", 0),
        ("x", "192.0.2.1", "10.0.0.1/8", -1),
        ("x", "192.0.2.1", "10.0.0.0/8", 0),
    ],
)
def test_match_host_and_ip(host: str, ip: str, patterns: str, expected: int) -> None:
    assert match_host_and_ip(host, ip, patterns) == expected


@pytest.mark.parametrize(
    ("user", "ip", "pattern", "expected"),
    [
        ("rampart", "10.1.2.3", "rampart", 1),
        ("rampart", "10.1.2.3", "ramp*", 1),
        ("rampart", "10.1.2.3", "rampart@10.0.0.0/8,!10.9.9.9", 1),
        ("rampart", "10.9.9.9", "rampart@10.0.0.0/8,!10.9.9.9", 0),
        ("rampart", "192.0.2.7", "rampart@10.0.0.0/8,!10.9.9.9", 0),
        ("root", "10.1.2.3", "root@10.*", 1),
        ("anyone", "192.0.2.66", "*@192.0.2.66", 1),
        ("rampart", "10.1.2.3", "!rampart", 0),  # no negation in the user part
        ("rampart", "10.1.2.3", "alice,rampart", 0),  # nor lists
        ("rampart", "10.1.2.3", "rampart@10.0.0.1/8", -1),
        ("a@b", "10.1.2.3", "a@b@10.1.2.3", 0),  # split at the first @
    ],
)
def test_match_user(user: str, ip: str, pattern: str, expected: int) -> None:
    assert match_user(user, ip, ip, pattern) == expected


def test_validate_user_pattern_mirrors_sshd() -> None:
    assert validate_user_pattern("rampart@10.0.0.0/8")
    assert validate_user_pattern("rampart")
    assert not validate_user_pattern("rampart@10.0.0.1/8")
    # The real sshd -t refuses that same entry:
    assert "invalid AllowUsers pattern" in out("bookworm", "sshd_t_invalid_bad_cidr", "stderr")


# ---------------------------------------------------------------------------
# authorized_keys
# ---------------------------------------------------------------------------


def test_decode_real_blobs() -> None:
    assert decode_key_blob(key_line("ed25519").split()[1]) == ("ssh-ed25519", None)
    assert decode_key_blob(key_line("rsa1024").split()[1]) == ("ssh-rsa", 1024)
    assert decode_key_blob(key_line("rsa3072").split()[1]) == ("ssh-rsa", 3072)
    assert decode_key_blob(key_line("ecdsa256").split()[1])[0] == "ecdsa-sha2-nistp256"
    assert decode_key_blob(key_line("dsa").split()[1])[0] == "ssh-dss"
    assert decode_key_blob(key_line("ed25519-cert").split()[1])[0] == "ssh-ed25519-cert-v01@openssh.com"


@pytest.mark.parametrize("data", ["not base64!", "AAAA", "AAAAB3Nz", ""])
def test_decode_bad_blobs(data: str) -> None:
    with pytest.raises(ValueError):
        decode_key_blob(data)


def test_odd_authorized_keys_file() -> None:
    keys = parse_authorized_keys((FIXTURES / "authorized_keys.odd").read_text(), source="ak")
    summary = [(k.line, k.keytype, k.error is None) for k in keys]
    assert summary == [
        (3, "ssh-ed25519", True),
        (4, "ssh-ed25519", True),
        (5, "ssh-rsa", True),
        (6, "ecdsa-sha2-nistp256", True),
        (7, "ssh-rsa", True),
        (8, "ssh-ed25519", True),
        (9, "ssh-ed25519", False),  # unknown option: sshd ignores the line
        (10, "", False),  # unterminated quote
        (11, "ssh-ed25519", False),  # blob is not base64
        (12, "ssh-rsa", False),  # blob is an ed25519 key
        (14, "ssh-dss", True),
        (15, "ssh-ed25519", True),
    ]
    rsa = keys[2]
    assert rsa.rsa_bits == 3072
    assert rsa.option("from") == "10.0.0.0/8,!10.9.9.9"
    assert rsa.option("command") == 'echo "hi there"'
    assert rsa.option("no-pty") == ""
    assert rsa.option("restrict") is None
    assert rsa.comment == "admin@rsa3072 with options"
    assert keys[4].rsa_bits == 1024
    assert keys[5].option("cert-authority") == ""
    assert keys[5].option("principals") == "rampart"
    assert keys[6].error == 'key option "frobnicate" is unknown'
    assert keys[7].error == "unterminated quote in key options"
    assert keys[11].option("environment") == "A=b c"
    assert keys[0].where == "ak:3"


def test_authorized_keys_empty_and_comments() -> None:
    assert parse_authorized_keys("") == []
    assert parse_authorized_keys("# only\n\n   \n\t#x\n") == []


def test_unknown_future_key_type_still_parses() -> None:
    def s(b: bytes) -> bytes:
        return len(b).to_bytes(4, "big") + b

    blob = base64.b64encode(s(b"ssh-mldsa44@example") + s(b"\x01" * 32)).decode()
    (key,) = parse_authorized_keys(f"ssh-mldsa44@example {blob} future")
    assert key.keytype == "ssh-mldsa44@example"
    assert key.error is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no-pty", [("no-pty", None)]),
        ('from="a,b",command="x"', [("from", "a,b"), ("command", "x")]),
        ('Command="x"', [("command", "x")]),
        ('command="say \\"hi\\""', [("command", 'say "hi"')]),
        (
            "restrict,pty,no-touch-required,verify-required",
            [("restrict", None), ("pty", None), ("no-touch-required", None), ("verify-required", None)],
        ),
    ],
)
def test_key_options(text: str, expected: list[tuple[str, str | None]]) -> None:
    assert parse_key_options(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("frobnicate", "is unknown"),
        ("from", "needs a quoted value"),
        ('nosuch="x"', "is unknown"),
        ('command="x', "missing end quote"),
        ("no-pty;x", "bad key option"),
        ("no-restrict", "is unknown"),
    ],
)
def test_bad_key_options(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_key_options(text)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (".ssh/authorized_keys", "/home/rampart/.ssh/authorized_keys"),
        ("%h/.ssh/keys", "/home/rampart/.ssh/keys"),
        ("/etc/ssh/authorized_keys/%u", "/etc/ssh/authorized_keys/rampart"),
        ("/var/keys/%U", "/var/keys/1000"),
        ("/odd/100%%", "/odd/100%"),
        ("keys-%u", "/home/rampart/keys-rampart"),
    ],
)
def test_expand_authorized_keys_path(template: str, expected: str) -> None:
    assert expand_authorized_keys_path(template, "rampart", "/home/rampart", 1000) == expected


@pytest.mark.parametrize(("template", "message"), [("/k/%x", "unknown token %x"), ("/k/%", "lone %")])
def test_expand_authorized_keys_path_errors(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        expand_authorized_keys_path(template, "rampart", "/home/rampart", 1000)


# ---------------------------------------------------------------------------
# Files, shells, shadow
# ---------------------------------------------------------------------------

REG = stat.S_IFREG
DIR = stat.S_IFDIR


def chain_for(
    file_mode: int = 0o600, ssh_mode: int = 0o700, home_mode: int = 0o755, owner: int = 1000
) -> list[PathStat]:
    return [
        PathStat("/home/u/.ssh/authorized_keys", owner, 1000, REG | file_mode),
        PathStat("/home/u/.ssh", owner, 1000, DIR | ssh_mode),
        PathStat("/home/u", owner, 1000, DIR | home_mode),
        PathStat("/home", 0, 0, DIR | 0o755),
        PathStat("/", 0, 0, DIR | 0o755),
    ]


def test_key_file_fine() -> None:
    assert key_file_problem(chain_for(), "/home/u", 1000, [1000], True) is None
    assert key_file_problem([], "/home/u", 1000, [1000], True) is None


def test_key_file_group_writable_home_refused_by_strict_modes() -> None:
    problem = key_file_problem(chain_for(home_mode=0o775), "/home/u", 1000, [1000], True)
    assert problem is not None
    assert "StrictModes refuses /home/u/.ssh/authorized_keys: directory /home/u" in problem
    assert "0775" in problem
    assert key_file_problem(chain_for(home_mode=0o775), "/home/u", 1000, [1000], False) is None


def test_key_file_world_writable_file() -> None:
    problem = key_file_problem(chain_for(file_mode=0o666), "/home/u", 1000, [1000], True)
    assert problem is not None
    assert "file /home/u/.ssh/authorized_keys" in problem


def test_strict_modes_stops_at_home() -> None:
    chain = chain_for()
    chain[3] = PathStat("/home", 0, 0, DIR | 0o777)  # above home: not checked
    assert key_file_problem(chain, "/home/u", 1000, [1000], True) is None


def test_key_file_owned_by_someone_else() -> None:
    chain = chain_for(file_mode=0o644, owner=1000)
    chain[0] = PathStat(chain[0].path, 2000, 2000, REG | 0o644)
    problem = key_file_problem(chain, "/home/u", 1000, [1000], True)
    assert problem is not None
    assert "owner 2000" in problem


def test_key_file_unreadable_for_user() -> None:
    chain = chain_for()
    chain[0] = PathStat(chain[0].path, 0, 0, REG | 0o600)  # root-owned 0600
    problem = key_file_problem(chain, "/home/u", 1000, [1000], True)
    assert problem == "the user cannot read /home/u/.ssh/authorized_keys (owner 0, mode 0600)"
    assert key_file_problem(chain, "/home/u", 0, [0], False) is None  # root reads anything


def test_key_file_directory_not_searchable() -> None:
    chain = chain_for(ssh_mode=0o600)
    assert key_file_problem(chain, "/home/u", 1000, [1000], True) == (
        "the user cannot enter directory /home/u/.ssh to read /home/u/.ssh/authorized_keys"
    )


def test_key_file_group_access() -> None:
    chain = [
        PathStat("/etc/ssh/authorized_keys/u", 0, 50, REG | 0o640),
        PathStat("/etc/ssh/authorized_keys", 0, 0, DIR | 0o755),
        PathStat("/etc/ssh", 0, 0, DIR | 0o755),
        PathStat("/etc", 0, 0, DIR | 0o755),
        PathStat("/", 0, 0, DIR | 0o755),
    ]
    assert key_file_problem(chain, "/home/u", 1000, [1000, 50], True) is None
    assert key_file_problem(chain, "/home/u", 1000, [1000], True) is not None


def test_key_file_not_regular() -> None:
    chain = chain_for()
    chain[0] = PathStat(chain[0].path, 1000, 1000, DIR | 0o700)
    assert (
        key_file_problem(chain, "/home/u", 1000, [1000], True)
        == "/home/u/.ssh/authorized_keys is not a regular file"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("/bin/bash", True, True), None),
        (("", True, True), None),
        (
            ("/usr/sbin/nologin", True, True),
            "account has no valid login shell (/usr/sbin/nologin ends every session)",
        ),
        (("/bin/false", True, True), "account has no valid login shell (/bin/false ends every session)"),
        (("/bin/zsh", False, False), "account has no valid login shell (/bin/zsh does not exist)"),
        (
            ("/etc/passwd", True, False),
            "account has no valid login shell (/etc/passwd is not an executable file)",
        ),
    ],
)
def test_shell_problem(args: tuple[str, bool, bool], expected: str | None) -> None:
    assert shell_problem(*args) == expected


def test_shell_problem_directory() -> None:
    assert shell_problem("/bin", True, True, is_regular=False) is not None


SHADOW = (
    "root:*:19000:0:99999:7:::\n"
    "rampart:$y$j9T$abc:19000:0:99999:7:::\n"
    "locked:!$y$j9T$abc:19000:0:99999:7:::\n"
    "expired:$y$j9T$abc:19000:0:99999:7::19500:\n"
    "short:x\n"
)


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("rampart", (True, False, False)),
        ("locked", (True, True, False)),
        ("expired", (True, False, True)),
        ("short", (True, False, False)),
        ("ghost", (False, False, False)),
        ("root", (True, False, False)),
    ],
)
def test_shadow(user: str, expected: tuple[bool, bool, bool]) -> None:
    assert parse_shadow_entry(SHADOW, user, today=19500) == expected


def test_shadow_not_yet_expired() -> None:
    assert parse_shadow_entry(SHADOW, "expired", today=19499) == (True, False, False)


# ---------------------------------------------------------------------------
# Key usability
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keytype", "accepted", "expected"),
    [
        ("ssh-rsa", ["rsa-sha2-512", "rsa-sha2-256"], True),  # RSA key with rsa-sha2 only
        ("ssh-rsa", ["ssh-ed25519"], False),
        ("ssh-rsa", ["ssh-rsa"], True),
        ("ssh-rsa-cert-v01@openssh.com", ["rsa-sha2-256-cert-v01@openssh.com"], True),
        ("ssh-rsa-cert-v01@openssh.com", ["rsa-sha2-256"], False),
        ("ssh-ed25519", ["ssh-ed25519*"], True),  # sshd treats the list as patterns
        ("sk-ssh-ed25519@openssh.com", ["sk-ssh-ed25519@openssh.com"], True),
        ("sk-ssh-ed25519@openssh.com", ["ssh-ed25519"], False),
        ("ecdsa-sha2-nistp384", ["ecdsa-sha2-nistp256"], False),
        ("ssh-dss", ["ssh-ed25519", "rsa-sha2-512"], False),
    ],
)
def test_algorithm_accepted(keytype: str, accepted: list[str], expected: bool) -> None:
    assert algorithm_accepted(keytype, accepted) is expected


def test_signature_algorithms() -> None:
    assert signature_algorithms("ssh-rsa") == ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
    assert signature_algorithms("ssh-ed25519") == ["ssh-ed25519"]


def test_expiry_time() -> None:
    assert parse_expiry_time("20200101Z") == datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    assert parse_expiry_time("202001011230Z").minute == 30
    assert parse_expiry_time("20200101123045Z").second == 45
    assert parse_expiry_time("20991231").tzinfo is not None
    for bad in ("2020", "2020-01-01", "20200101x"):
        with pytest.raises(ValueError, match="invalid expiry-time"):
            parse_expiry_time(bad)


def reject(
    key: AuthorizedKey, cfg: dict[str, object], addr: str = "10.1.2.3", is_root: bool = False
) -> str | None:
    return key_rejection(key, cfg, addr=addr, host=addr, is_root=is_root, now=NOW)


def test_key_rejections_on_real_hardened_config() -> None:
    cfg = config("bookworm", "sshd_T_hardened")
    keys = {
        k.line: k for k in parse_authorized_keys((FIXTURES / "authorized_keys.odd").read_text(), source="ak")
    }
    assert reject(keys[3], cfg) is None
    assert reject(keys[5], cfg) is None  # RSA 3072, from 10/8, accepted as rsa-sha2-*
    assert (
        reject(keys[5], cfg, addr="10.9.9.9") == 'ak:5: from="10.0.0.0/8,!10.9.9.9" does not match 10.9.9.9'
    )
    assert reject(keys[5], cfg, addr="192.0.2.1") is not None
    assert reject(keys[6], cfg) == "ak:6: ecdsa-sha2-nistp256 is not accepted by PubkeyAcceptedAlgorithms"
    assert reject(keys[7], cfg) == "ak:7: RSA key has 1024 bits, RequiredRSASize is 3072"
    assert (
        reject(keys[8], cfg)
        == "ak:8: cert-authority key, but PubkeyAcceptedAlgorithms accepts no certificate type"
    )
    assert reject(keys[9], cfg) == 'ak:9: key option "frobnicate" is unknown'
    assert reject(keys[14], cfg) == "ak:14: ssh-dss is not accepted by PubkeyAcceptedAlgorithms"
    assert reject(keys[15], cfg) == 'ak:15: from="*.example.com" does not match 10.1.2.3'
    assert (
        key_rejection(keys[15], cfg, addr="10.1.2.3", host="admin.example.com", is_root=False, now=NOW)
        is None
    )


def test_key_rejections_on_real_default_config() -> None:
    cfg = config("bookworm", "sshd_T_default")
    keys = {
        k.line: k for k in parse_authorized_keys((FIXTURES / "authorized_keys.odd").read_text(), source="ak")
    }
    assert reject(keys[6], cfg) == 'ak:6: expiry-time="20200101" has passed'
    assert reject(keys[7], cfg) is None  # 1024-bit RSA passes the default RequiredRSASize 1024
    assert reject(keys[8], cfg) is None  # cert-authority: certificates are accepted by default
    assert reject(keys[14], cfg) == "ak:14: ssh-dss is not accepted by PubkeyAcceptedAlgorithms"


def test_cert_authority_with_unaccepted_ca_algorithm() -> None:
    cfg = config("bookworm", "sshd_T_default")
    cfg["casignaturealgorithms"] = ["rsa-sha2-512"]
    (key,) = parse_authorized_keys(f"cert-authority {key_line('ca')}")
    assert reject(key, cfg) == "line 1: CA key type ssh-ed25519 is not in CASignatureAlgorithms"


def test_invalid_expiry_time_option() -> None:
    cfg = config("bookworm", "sshd_T_default")
    (key,) = parse_authorized_keys(f'expiry-time="soon" {key_line("ed25519")}')
    assert reject(key, cfg) == 'line 1: invalid expiry-time="soon"'


def test_forced_commands_only_for_root() -> None:
    cfg = config("bookworm", "sshd_T_default")
    cfg["permitrootlogin"] = "forced-commands-only"
    plain, forced = parse_authorized_keys(
        f'{key_line("ed25519")}\ncommand="/usr/bin/backup" {key_line("ed25519_2")}'
    )
    assert reject(plain, cfg, is_root=True) is not None
    assert reject(forced, cfg, is_root=True) is None
    assert reject(plain, cfg, is_root=False) is None


# ---------------------------------------------------------------------------
# Access decisions
# ---------------------------------------------------------------------------


def account(name: str = "rampart", **kwargs: Any) -> Account:
    values: dict[str, Any] = {"uid": 1000, "home": f"/home/{name}", "groups": [name]}
    values.update(kwargs)
    return Account(name, **values)


def files(*names: str) -> list[KeyFile]:
    return [KeyFile("/home/u/.ssh/authorized_keys", keys=keys_of(*names))]


def decide(
    cfg: dict[str, Any], acct: Account, key_files: list[KeyFile], addr: str = "10.1.2.3", **kwargs: Any
) -> dict[str, Any]:
    return evaluate_access(cfg, acct, key_files, addr=addr, now=NOW, **kwargs)


@pytest.mark.parametrize("release", RELEASES)
def test_default_config_lets_a_user_with_a_key_in(release: str) -> None:
    result = decide(config(release, "sshd_T_default"), account(), files("ed25519"))
    assert result["allowed"] is True
    assert result["problems"] == []
    assert result["usable_keys"] == 1
    assert result["groups"] == ["rampart"]
    assert result["user"] == "rampart"
    assert result["addr"] == result["host"] == "10.1.2.3"


@pytest.mark.parametrize("release", RELEASES)
def test_default_config_root_with_key(release: str) -> None:
    result = decide(config(release, "sshd_T_default"), account("root", uid=0, home="/root"), files("ed25519"))
    assert result["allowed"] is True


@pytest.mark.parametrize("release", RELEASES)
def test_match_block_needs_two_keys(release: str) -> None:
    cfg = config(release, "sshd_T_hardened_rampart_10")
    acct = account(groups=["rampart"])
    one = decide(cfg, acct, files("ed25519"))
    assert one["allowed"] is False
    assert one["problems"] == [
        "AuthenticationMethods 'publickey,publickey publickey,password' needs 2 different usable keys "
        "for a public-key-only login, the user has 1"
    ]
    assert decide(cfg, acct, files("ed25519", "ed25519_2"))["allowed"] is True


@pytest.mark.parametrize("release", RELEASES)
def test_rsa_key_refused_by_match_block(release: str) -> None:
    cfg = config(release, "sshd_T_hardened_rampart_10")
    result = decide(cfg, account(), files("rsa3072"))
    assert result["problems"][0] == (
        "user rampart has no authorized key of a type PubkeyAcceptedAlgorithms accepts "
        "(has: ssh-rsa; accepted: ssh-ed25519)"
    )
    # From outside 10/8 the Match block does not apply and RSA (rsa-sha2 only) is fine,
    # but AllowUsers only lets rampart in from 10/8.
    outside = decide(
        config(release, "sshd_T_hardened_rampart_192"), account(), files("rsa3072"), addr="192.0.2.7"
    )
    assert outside["usable_keys"] == 1
    assert outside["problems"] == [
        f"user rampart from 192.0.2.7 is not in AllowUsers ({HARDENED_ALLOW_USERS})"
    ]


@pytest.mark.parametrize("release", RELEASES)
def test_negated_address_in_allow_users(release: str) -> None:
    cfg = config(release, "sshd_T_hardened_rampart_10")
    result = decide(cfg, account(), files("ed25519", "ed25519_2"), addr="10.9.9.9")
    assert result["problems"] == [f"user rampart from 10.9.9.9 is not in AllowUsers ({HARDENED_ALLOW_USERS})"]


@pytest.mark.parametrize("release", RELEASES)
def test_root_not_in_allow_groups(release: str) -> None:
    cfg = config(release, "sshd_T_hardened_root")
    result = decide(cfg, account("root", uid=0, home="/root", groups=["root"]), files("ed25519"))
    assert result["problems"] == ["user root is not in AllowGroups (wheel, rampart); their groups: root"]


@pytest.mark.parametrize("release", RELEASES)
def test_group_match_block(release: str) -> None:
    cfg = config(release, "sshd_T_hardened_deploy")
    assert decide(cfg, account("deploy", groups=["deploy", "wheel"]), files("ed25519"))["allowed"] is True
    root_in_wheel = decide(cfg, account("root", uid=0, groups=["root", "wheel"]), files("ed25519"))
    assert "PermitRootLogin no blocks root" in root_in_wheel["problems"]


@pytest.mark.parametrize("release", RELEASES)
def test_missing_account(release: str) -> None:
    cfg = config(release, "sshd_T_hardened_ghost")
    result = decide(cfg, Account("ghost", exists=False), [], lport=2200, laddr="10.0.0.5")
    assert result["allowed"] is False
    assert result["problems"] == [
        "account does not exist",
        "sshd would not listen on 10.0.0.5 port 2200 that this connection uses "
        "(listens on 0.0.0.0:22, 0.0.0.0:2222, [::1]:2200)",
    ]


@pytest.mark.parametrize("release", RELEASES)
def test_deny_users(release: str) -> None:
    cfg = config(release, "sshd_T_hardened")
    assert (
        "user mallory is listed in DenyUsers ('mallory')"
        in decide(cfg, account("mallory"), files("ed25519"))["problems"]
    )
    from_66 = decide(cfg, account("deploy", groups=["wheel"]), files("ed25519"), addr="192.0.2.66")
    assert from_66["problems"] == ["user deploy is listed in DenyUsers ('*@192.0.2.66')"]


def test_deny_groups_and_wildcards() -> None:
    cfg = config("bookworm", "sshd_T_default")
    cfg["denygroups"] = ["contract*"]
    cfg["allowgroups"] = ["adm?n", "!wheel"]
    result = decide(cfg, account(groups=["rampart", "contractors"]), files("ed25519"))
    assert result["problems"] == [
        "user rampart is in group contractors, which DenyGroups lists (contract*)",
        "user rampart is not in AllowGroups (adm?n, !wheel); their groups: rampart, contractors",
    ]
    assert decide(cfg, account(groups=["admin"]), files("ed25519"))["allowed"] is True
    no_groups = decide(cfg, account(groups=[]), files("ed25519"))
    assert "user rampart is not in any group, which AllowGroups/DenyGroups require" in no_groups["problems"]


def test_invalid_allow_and_deny_entries() -> None:
    cfg = config("bookworm", "sshd_T_default")
    cfg["allowusers"] = ["rampart@10.0.0.1/8"]
    cfg["denyusers"] = ["x@10.0.0.1/8"]
    expected = [
        "DenyUsers entry 'x@10.0.0.1/8' is invalid (sshd refuses to start)",
        "AllowUsers entry 'rampart@10.0.0.1/8' is invalid (sshd refuses to start)",
    ]
    assert decide(cfg, account(), files("ed25519"))["problems"] == expected
    assert decide(cfg, account("x"), files("ed25519"))["problems"] == expected


def test_hostname_patterns_use_host() -> None:
    cfg = config("bookworm", "sshd_T_default")
    cfg["allowusers"] = ["rampart@*.admin.example.com"]
    assert decide(cfg, account(), files("ed25519"))["allowed"] is False
    assert decide(cfg, account(), files("ed25519"), host="ws1.admin.example.com")["allowed"] is True


def test_permit_root_login_values() -> None:
    cfg = config("bookworm", "sshd_T_default")
    root = account("root", uid=0, home="/root", groups=["root"])
    for value, allowed in [
        ("yes", True),
        ("without-password", True),
        ("prohibit-password", True),
        ("no", False),
    ]:
        cfg["permitrootlogin"] = value
        assert decide(cfg, root, files("ed25519"))["allowed"] is allowed, value
    cfg["permitrootlogin"] = "forced-commands-only"
    result = decide(cfg, root, files("ed25519"))
    assert result["problems"] == [
        "user root has no usable authorized key: /home/u/.ssh/authorized_keys:1: "
        "PermitRootLogin forced-commands-only accepts only keys with a command= option"
    ]
    cfg["permitrootlogin"] = "sometimes"
    assert (
        "PermitRootLogin sometimes is not understood; assuming it blocks root"
        in decide(cfg, root, files("ed25519"))["problems"]
    )


def test_pubkey_authentication_no_and_password_only_methods() -> None:
    cfg = config("bookworm", "sshd_T_default")
    cfg["pubkeyauthentication"] = "no"
    cfg["authenticationmethods"] = ["password"]
    assert decide(cfg, account(), files("ed25519"))["problems"] == [
        "PubkeyAuthentication is no",
        "AuthenticationMethods 'password' does not allow public-key-only login",
    ]


def test_authentication_methods_with_a_key_only_list() -> None:
    cfg = config("bookworm", "sshd_T_default")
    cfg["authenticationmethods"] = ["publickey,keyboard-interactive", "publickey"]
    assert decide(cfg, account(), files("ed25519"))["allowed"] is True


def test_no_keys_at_all() -> None:
    cfg = config("bookworm", "sshd_T_default")
    kfs = [
        KeyFile("/home/rampart/.ssh/authorized_keys", exists=False),
        KeyFile("/home/rampart/.ssh/authorized_keys2", exists=False),
    ]
    assert decide(cfg, account(), kfs)["problems"] == [
        "user rampart has no authorized keys (looked in: /home/rampart/.ssh/authorized_keys, "
        "/home/rampart/.ssh/authorized_keys2)"
    ]
    assert decide(cfg, account(), [])["problems"] == [
        "user rampart has no authorized keys (looked in: nowhere, AuthorizedKeysFile is none)"
    ]


def test_ignored_key_file_is_reported() -> None:
    cfg = config("bookworm", "sshd_T_default")
    kfs = [
        KeyFile(
            "/home/rampart/.ssh/authorized_keys", problem="StrictModes refuses it", keys=keys_of("ed25519")
        )
    ]
    assert decide(cfg, account(), kfs)["problems"] == [
        "/home/rampart/.ssh/authorized_keys is ignored: StrictModes refuses it",
        "user rampart has no authorized keys (looked in: /home/rampart/.ssh/authorized_keys)",
    ]


def test_mixed_rejections_are_listed() -> None:
    cfg = config("bookworm", "sshd_T_hardened")
    result = decide(cfg, account(groups=["wheel"]), files("rsa1024", "ecdsa256"))
    assert result["problems"] == [
        "user rampart has no usable authorized key: /home/u/.ssh/authorized_keys:1: RSA key has 1024 bits, "
        "RequiredRSASize is 3072; /home/u/.ssh/authorized_keys:2: ecdsa-sha2-nistp256 is not accepted by "
        "PubkeyAcceptedAlgorithms"
    ]


def test_refused_keys_become_notes_when_another_works() -> None:
    cfg = config("bookworm", "sshd_T_hardened")
    result = decide(cfg, account(groups=["wheel"]), files("ed25519", "ecdsa256"))
    assert result["allowed"] is True
    assert result["usable_keys"] == 1
    assert result["notes"] == [
        "key refused: /home/u/.ssh/authorized_keys:2: "
        "ecdsa-sha2-nistp256 is not accepted by PubkeyAcceptedAlgorithms"
    ]


def test_keys_command_and_ca_notes() -> None:
    cfg = config("bookworm", "sshd_T_default")
    cfg["authorizedkeyscommand"] = "/usr/bin/sss_ssh_authorizedkeys"
    cfg["trustedusercakeys"] = "/etc/ssh/ca.pub"
    cfg["revokedkeys"] = "/etc/ssh/revoked"
    result = decide(cfg, account(), [])
    assert result["allowed"] is True  # keys may come from the command: not a proven lock-out
    assert result["notes"] == [
        "keys from AuthorizedKeysCommand /usr/bin/sss_ssh_authorizedkeys were not evaluated",
        "certificates signed by TrustedUserCAKeys were not evaluated",
        "RevokedKeys was not checked",
    ]


def test_locked_expired_and_shell() -> None:
    cfg = config("bookworm", "sshd_T_default")  # UsePAM yes
    acct = account(
        locked=True,
        expired=True,
        shell="/usr/sbin/nologin",
        shell_problem="account has no valid login shell (x)",
    )
    assert decide(cfg, acct, files("ed25519"))["problems"] == [
        "account has expired (its shadow expiry date has passed)",
        "account has no valid login shell (x)",
    ]
    cfg["usepam"] = "no"
    cfg["chrootdirectory"] = "/srv/chroot"
    assert decide(cfg, acct, files("ed25519"))["problems"] == [
        "account is locked (password field starts with '!') and UsePAM is no",
        "account has expired (its shadow expiry date has passed)",
    ]


@pytest.mark.parametrize(
    ("laddr", "lport", "problem"),
    [
        (None, 22, None),
        (None, 2222, None),
        ("10.0.0.5", 2222, None),
        ("::1", 2200, None),
        ("10.0.0.5", None, None),
        (None, 2022, "sshd would not listen on port 2022 that this connection uses"),
        ("::2", 2200, "sshd would not listen on ::2 port 2200 that this connection uses"),
        ("::2", None, "sshd would not listen on ::2 that this connection uses"),
        ("fe80::1", 22, "sshd would not listen on fe80::1 port 22"),
    ],
)
def test_listen_checks(laddr: str | None, lport: int | None, problem: str | None) -> None:
    cfg = config("bookworm", "sshd_T_hardened")
    result = decide(cfg, account(groups=["wheel"]), files("ed25519"), laddr=laddr, lport=lport)
    if problem is None:
        assert result["problems"] == []
    else:
        assert len(result["problems"]) == 1
        assert result["problems"][0].startswith(problem)


def test_listen_check_on_default_dual_stack() -> None:
    cfg = config("bookworm", "sshd_T_default")
    assert decide(cfg, account(), files("ed25519"), laddr="2001:db8::1", lport=22)["allowed"] is True
    assert decide(cfg, account(), files("ed25519"), laddr="10.0.0.5", lport=22)["allowed"] is True


# ---------------------------------------------------------------------------
# Real sshd as the oracle (tests/fixtures/sshd/realrun.sh)
# ---------------------------------------------------------------------------
# realrun.sh created accounts with every lock-out below in a lab container, captured each
# account's facts (sshd -T -C, passwd, groups, authorized_keys, stat of the path, shadow
# without the hash), then started that container's sshd and tried a real key login per
# account.  Replaying the facts through evaluate_access() must give sshd's answer.

REALRUN_USERS = [
    "rampart",
    "deploy",
    "nokey",
    "rsasmall",
    "rsabig",
    "ecdsa",
    "nologin",
    "strict",
    "unreadable",
    "fromkey",
    "mallory",
    "outsider",
    "expired",
    "twokeys",
    "onekey2",
    "root",
    "ghost",
]


def realrun(release: str, name: str) -> str:
    path = FIXTURES / release / "realrun" / name
    return path.read_text() if path.exists() else ""


def replay(release: str, user: str) -> dict[str, Any]:
    cfg = parse_effective_config(realrun(release, f"user_{user}.sshd_T"))
    passwd = realrun(release, f"user_{user}.passwd").strip()
    if not passwd:
        return evaluate_access(
            cfg, Account(user, exists=False), [], addr="127.0.0.1", laddr="127.0.0.1", lport=2222
        )
    name, _x, uid, _gid, _gecos, home, shell = passwd.split(":")
    shadow_fields = realrun(release, f"user_{user}.shadow").strip().split(":")
    shadow_line = ":".join([shadow_fields[0], "!", *shadow_fields[1:]])  # the hash was not captured
    today = (datetime.date.today() - datetime.date(1970, 1, 1)).days
    _found, locked, expired = parse_shadow_entry(shadow_line, name, today)
    groups = realrun(release, f"user_{user}.groups").split()
    group_entries = [line.split(":") for line in realrun(release, "getent_group").splitlines()]
    gid_of = {entry[0]: int(entry[2]) for entry in group_entries}
    gids = [gid_of[g] for g in groups]
    private = private_group_ids(
        name,
        (
            (line.split(":")[0], int(line.split(":")[3]))
            for line in realrun(release, "getent_passwd").splitlines()
        ),
        ((int(entry[2]), [m for m in entry[3].split(",") if m]) for entry in group_entries),
    )
    account_ = Account(
        name,
        uid=int(uid),
        home=home,
        shell=shell,
        shell_problem=shell_problem(shell, True, True),  # bash and nologin exist in the image
        groups=groups,
        locked=locked,
        expired=expired,
    )
    key_files = []
    for template in cfg["authorizedkeysfile"]:
        path = expand_authorized_keys_path(template, name, home, int(uid))
        stat_lines = realrun(release, f"user_{user}.stat").splitlines()
        if not stat_lines or stat_lines[0].split()[0] != path:
            key_files.append(KeyFile(path, exists=False))
            continue
        chain = [
            PathStat(p, int(u), int(g), int(m, 16)) for p, u, g, m in (line.split() for line in stat_lines)
        ]
        problem = key_file_problem(
            chain, home, int(uid), gids, cfg["strictmodes"] == "yes", private_gids=private
        )
        keys = (
            [] if problem else parse_authorized_keys(realrun(release, f"user_{user}.authorized_keys"), path)
        )
        key_files.append(KeyFile(path, problem=problem, keys=keys))
    return evaluate_access(cfg, account_, key_files, addr="127.0.0.1", laddr="127.0.0.1", lport=2222)


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("user", REALRUN_USERS)
def test_decisions_match_real_sshd_logins(release: str, user: str) -> None:
    logged_in = realrun(release, f"login_{user}.rc").strip() == "0"
    result = replay(release, user)
    assert result["allowed"] is logged_in, result["problems"]


@pytest.mark.parametrize("release", RELEASES)
def test_replay_agrees_with_the_module_run_on_the_host(release: str) -> None:
    import json

    module_result = json.loads(realrun(release, "module_candidate.json"))
    for entry in module_result["access"]:
        replayed = replay(release, entry["user"])
        assert (entry["user"], entry["allowed"], entry["problems"]) == (
            entry["user"],
            replayed["allowed"],
            replayed["problems"],
        )


@pytest.mark.parametrize("release", RELEASES)
def test_real_sshd_refusals_are_the_ones_we_name(release: str) -> None:
    log = realrun(release, "sshd.log")
    assert "User mallory from 127.0.0.1 not allowed because listed in DenyUsers" in log
    assert "User rampart from 127.0.0.2 not allowed because not listed in AllowUsers" in log
    assert "refusing RSA key: Invalid key length" in log
    assert "signature algorithm ecdsa-sha2-nistp256 not in PubkeyAcceptedAlgorithms" in log
    assert "not from a permitted host (host=127.0.0.1, ip=127.0.0.1, required=10.0.0.0/8)" in log
    assert "Could not open user 'unreadable' authorized keys" in log
    assert "drop connection" not in log  # no PerSourcePenalties interference


def test_private_group_ids() -> None:
    accounts = [("alice", 1000), ("bob", 1001), ("carol", 1002), ("dave", 1002)]
    groups = [
        (1000, []),
        (1001, ["alice"]),
        (1002, []),
        (1003, ["alice"]),
        (1004, ["alice", "bob"]),
        (1005, []),
    ]
    assert private_group_ids("alice", accounts, groups) == {1000, 1003}
    assert private_group_ids("bob", accounts, groups) == set()
    assert private_group_ids("dave", accounts, groups) == set()


def test_debian_group_writable_tolerance() -> None:
    chain = chain_for(home_mode=0o775)
    assert key_file_problem(chain, "/home/u", 1000, [1000], True, private_gids={1000}) is None
    assert key_file_problem(chain, "/home/u", 1000, [1000], True, private_gids={5}) is not None
    world = chain_for(home_mode=0o777)
    assert key_file_problem(world, "/home/u", 1000, [1000], True, private_gids={1000}) is not None
    root_owned = chain_for(home_mode=0o775)
    root_owned[2] = PathStat("/home/u", 0, 1000, DIR | 0o775)  # group-writable, owner not the user
    assert key_file_problem(root_owned, "/home/u", 1000, [1000], True, private_gids={1000}) is not None
