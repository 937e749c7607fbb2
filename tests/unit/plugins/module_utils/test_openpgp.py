"""Tests for module_utils/openpgp.py: key blocks read without GnuPG (fixtures made with GnuPG 2.2)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.openpgp import parse_colons, read_key

FIXTURES = Path(__file__).parents[3] / "fixtures" / "openpgp"


@pytest.mark.parametrize(
    ("name", "kind", "fingerprint", "subkeys"),
    [
        (
            "ed25519-public.asc",
            "public",
            "B03E1FF81DCFDB66704C5058F149B9EECBE359ED",
            ["619E68C346E968F5CD55E853002DCED632B4C776"],
        ),
        (
            "ed25519-secret.asc",
            "secret",
            "B03E1FF81DCFDB66704C5058F149B9EECBE359ED",
            ["619E68C346E968F5CD55E853002DCED632B4C776"],
        ),
        ("rsa-public.asc", "public", "5B379D2440102FCECD9414EEAAA2C7D435CA4A72", []),
        ("rsa-secret.asc", "secret", "5B379D2440102FCECD9414EEAAA2C7D435CA4A72", []),
    ],
)
def test_key_kind_and_fingerprint(name: str, kind: str, fingerprint: str, subkeys: list[str]) -> None:
    key = read_key((FIXTURES / name).read_text())
    assert (key["kind"], key["fingerprint"], key["subkeys"]) == (kind, fingerprint, subkeys)


def test_user_ids() -> None:
    assert read_key((FIXTURES / "ed25519-public.asc").read_text())["user_ids"] == ["verifier <v@lab>"]


def test_armor_headers_are_skipped() -> None:
    text = (FIXTURES / "rsa-public.asc").read_text()
    with_header = text.replace("-----\n\n", "-----\nComment: exported for the lab\n\n", 1)
    assert read_key(with_header)["fingerprint"] == "5B379D2440102FCECD9414EEAAA2C7D435CA4A72"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not an ASCII-armored OpenPGP key block"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG", "not an ASCII-armored OpenPGP key block"),
        (
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----",
            "base64 does not decode",
        ),
        (
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----",
            "not an OpenPGP packet header",
        ),
    ],
)
def test_garbage_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_key(text)


def test_armor_that_lies_about_its_content_is_refused() -> None:
    secret = (FIXTURES / "rsa-secret.asc").read_text().replace("PRIVATE KEY BLOCK", "PUBLIC KEY BLOCK")
    with pytest.raises(ValueError, match="the armor says public key but the first packet is a secret key"):
        read_key(secret)


def test_two_keys_in_one_entry_are_refused() -> None:
    one = (FIXTURES / "rsa-public.asc").read_text()
    two = (FIXTURES / "ed25519-public.asc").read_text()

    def raw(text: str) -> bytes:
        lines = text.split("\n\n", 1)[1].splitlines()
        return base64.b64decode(
            "".join(line for line in lines if line and not line.startswith(("=", "-----")))
        )

    joined = base64.b64encode(raw(one) + raw(two)).decode()
    text = f"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n{joined}\n-----END PGP PUBLIC KEY BLOCK-----"
    with pytest.raises(ValueError, match="more than one key"):
        read_key(text)


COLONS = """sec:u:255:22:F149B9EECBE359ED:1796300000:::u:::scSC:::+:::23::0:
fpr:::::::::B03E1FF81DCFDB66704C5058F149B9EECBE359ED:
grp:::::::::0000:
uid:u::::1796300000::HASH::rampart-backup signing key of web-01::::::::::0:
sec:u:255:22:AAAABBBBCCCCDDDD:1796300000:::u:::cESC:::+:::23::0:
fpr:::::::::1111111111111111111111111111AAAABBBBCCCCDDDD:
uid:u::::1796300000::HASH::verifier <v@lab>::::::::::0:
ssb:u:255:18:002DCED632B4C776:1796300000::::::e:::+:::cv25519::
fpr:::::::::619E68C346E968F5CD55E853002DCED632B4C776:
"""


def test_colons_listing() -> None:
    keys = parse_colons(COLONS)
    assert [(k["kind"], k["fingerprint"], k["capabilities"]) for k in keys] == [
        ("sec", "B03E1FF81DCFDB66704C5058F149B9EECBE359ED", "scSC"),
        ("sec", "1111111111111111111111111111AAAABBBBCCCCDDDD", "cESC"),
    ]
    assert keys[0]["user_ids"] == ["rampart-backup signing key of web-01"] and keys[0]["subkeys"] == []
    assert keys[1]["subkeys"] == ["619E68C346E968F5CD55E853002DCED632B4C776"]


def test_empty_listing() -> None:
    assert parse_colons("") == []
