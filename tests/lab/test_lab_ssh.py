"""Editing the lab's known_hosts file."""

from __future__ import annotations

import pytest

from lab import ssh

KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB"


def test_pattern() -> None:
    assert ssh.known_hosts_pattern(40123) == "[127.0.0.1]:40123"


def test_public_key_drops_the_comment() -> None:
    assert ssh.public_key(f"{KEY_A} root@lab-bookworm-1\n") == KEY_A


@pytest.mark.parametrize("line", ["", "garbage", "AAAA ssh-ed25519"])
def test_public_key_rejects_garbage(line: str) -> None:
    with pytest.raises(ValueError, match="not an OpenSSH public key"):
        ssh.public_key(line)


def test_update_replaces_the_entry_for_a_reused_port() -> None:
    text = f"# lab\n[127.0.0.1]:1000 {KEY_A}\n[127.0.0.1]:2000 {KEY_A}\n"
    updated = ssh.update_known_hosts(text, {"[127.0.0.1]:1000": KEY_B})
    assert updated == f"# lab\n[127.0.0.1]:2000 {KEY_A}\n[127.0.0.1]:1000 {KEY_B}\n"


def test_update_of_an_empty_file() -> None:
    assert ssh.update_known_hosts("", {"[127.0.0.1]:1": KEY_A}) == f"[127.0.0.1]:1 {KEY_A}\n"


def test_update_is_idempotent() -> None:
    once = ssh.update_known_hosts("", {"[127.0.0.1]:1": KEY_A})
    assert ssh.update_known_hosts(once, {"[127.0.0.1]:1": KEY_A}) == once


def test_remove() -> None:
    text = f"[127.0.0.1]:1 {KEY_A}\n[127.0.0.1]:2 {KEY_B}\n"
    assert ssh.remove_known_hosts(text, ["[127.0.0.1]:1"]) == f"[127.0.0.1]:2 {KEY_B}\n"
    assert ssh.remove_known_hosts(text, ["[127.0.0.1]:1", "[127.0.0.1]:2"]) == ""
