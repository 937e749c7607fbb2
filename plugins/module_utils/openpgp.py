# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an ASCII-armored OpenPGP key is, read without GnuPG (ENC-02).

The backup roles take keys from the inventory. Before anything changes on a host they must
know that a recipient key is a *public* key (a secret key there would put the means to decrypt
every backup on the production hosts) and that the verifier's key is a secret key, and they need
each key's fingerprint to compare with what GnuPG reports on the host. This reads the armor
(RFC 4880 section 6, RFC 9580) and the packet headers only: the key type of the first packet and
the v4 fingerprint (SHA-1 over the public-key material). Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

# Packet tags (RFC 9580 section 5).
SECRET_KEY = 5
PUBLIC_KEY = 6
SECRET_SUBKEY = 7
USER_ID = 13
PUBLIC_SUBKEY = 14

_ARMOR = re.compile(
    r"-----BEGIN PGP (?P<kind>PUBLIC KEY BLOCK|PRIVATE KEY BLOCK)-----\r?\n"
    r"(?P<body>.*?)"
    r"-----END PGP (?P=kind)-----",
    re.DOTALL,
)


def _dearmor(text: str) -> tuple[str, bytes]:
    match = _ARMOR.search(text or "")
    if not match:
        raise ValueError(
            "not an ASCII-armored OpenPGP key block (no BEGIN/END PGP PUBLIC or PRIVATE KEY BLOCK lines)"
        )
    lines = match.group("body").replace("\r", "").split("\n")
    # Armor headers (e.g. "Comment: ...") end at the first empty line, when there are any.
    if "" in lines and any(":" in line for line in lines[: lines.index("")]):
        lines = lines[lines.index("") + 1 :]
    data = [line.strip() for line in lines if line.strip() and not line.startswith("=")]
    try:
        raw = base64.b64decode("".join(data), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the key block's base64 does not decode: {exc}") from exc
    kind = "public" if match.group("kind") == "PUBLIC KEY BLOCK" else "secret"
    return kind, raw


def packets(raw: bytes) -> list[tuple[int, bytes]]:
    """Split binary OpenPGP data into (tag, body) pairs; ValueError on a malformed header."""
    out = []
    pos = 0
    while pos < len(raw):
        header = raw[pos]
        if not header & 0x80:
            raise ValueError(f"byte {pos} is not an OpenPGP packet header")
        if header & 0x40:  # new format
            tag = header & 0x3F
            first = raw[pos + 1]
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                length, pos = ((first - 192) << 8) + raw[pos + 2] + 192, pos + 3
            elif first == 255:
                length, pos = int.from_bytes(raw[pos + 2 : pos + 6], "big"), pos + 6
            else:
                raise ValueError("partial body lengths do not occur in a key block")
        else:  # old format
            tag = (header >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4}.get(header & 0x03)
            if size is None:
                raise ValueError("an indeterminate packet length does not occur in a key block")
            length = int.from_bytes(raw[pos + 1 : pos + 1 + size], "big")
            pos += 1 + size
        if pos + length > len(raw):
            raise ValueError("a packet runs past the end of the key block")
        out.append((tag, raw[pos : pos + length]))
        pos += length
    return out


def _public_part(tag: int, body: bytes) -> bytes:
    """The public-key material of a key packet (a secret key packet starts with it)."""
    if not body or body[0] != 4:
        raise ValueError(f"only version 4 keys are supported (found version {body[0] if body else 'none'})")
    if tag in (PUBLIC_KEY, PUBLIC_SUBKEY):
        return body
    # Secret key: version, time, algorithm, then the algorithm's public MPIs or fields; the
    # public material is re-serialised by GnuPG into the public key, so read it by algorithm.
    algorithm = body[5]
    pos = 6
    if algorithm in (1, 2, 3):  # RSA: n, e
        count = 2
    elif algorithm == 17:  # DSA: p, q, g, y
        count = 4
    elif algorithm in (16, 20):  # Elgamal: p, g, y
        count = 3
    elif algorithm in (18, 19, 22):  # ECDH, ECDSA, EdDSA: curve OID, point (ECDH adds KDF params)
        pos += 1 + body[pos]
        count = 1
    else:
        raise ValueError(f"unknown public-key algorithm {algorithm}")
    for _ in range(count):
        bits = int.from_bytes(body[pos : pos + 2], "big")
        pos += 2 + (bits + 7) // 8
    if algorithm == 18:
        pos += 1 + body[pos]
    return body[:pos]


def fingerprint(tag: int, body: bytes) -> str:
    """The v4 fingerprint of a key packet, as 40 upper-case hex digits."""
    public = _public_part(tag, body)
    return hashlib.sha1(b"\x99" + len(public).to_bytes(2, "big") + public).hexdigest().upper()


def read_key(text: str) -> dict[str, object]:
    """Describe one armored key: kind (public|secret), fingerprint, user_ids, subkey fingerprints.

    ValueError, with a message fit for an operator, when the text is not one OpenPGP key.
    """
    kind, raw = _dearmor(text)
    found = packets(raw)
    if not found or found[0][0] not in (PUBLIC_KEY, SECRET_KEY):
        raise ValueError("the key block does not start with a public or secret key packet")
    tag, body = found[0]
    packet_kind = "public" if tag == PUBLIC_KEY else "secret"
    if packet_kind != kind:
        raise ValueError(f"the armor says {kind} key but the first packet is a {packet_kind} key")
    if sum(1 for t, _ in found if t in (PUBLIC_KEY, SECRET_KEY)) != 1:
        raise ValueError("the key block holds more than one key; give one key per entry")
    return {
        "kind": kind,
        "fingerprint": fingerprint(tag, body),
        "user_ids": [b.decode("utf-8", "replace") for t, b in found if t == USER_ID],
        "subkeys": [fingerprint(t, b) for t, b in found if t in (PUBLIC_SUBKEY, SECRET_SUBKEY)],
    }


def parse_colons(text: str) -> list[dict[str, object]]:
    """Read ``gpg --with-colons --list-keys`` / ``--list-secret-keys`` output: one dict per primary key.

    Each has ``kind`` (pub or sec), ``fingerprint``, ``capabilities`` (the key's usable
    capabilities, e.g. ``scSC``), ``user_ids`` and ``subkeys`` (fingerprints, with ``secret``).
    """
    keys: list[dict[str, object]] = []
    current: dict[str, object] | None = None
    last: str | None = None
    for line in text.splitlines():
        fields = line.split(":")
        record = fields[0]
        if record in ("pub", "sec"):
            current = {
                "kind": record,
                "fingerprint": "",
                "capabilities": fields[11] if len(fields) > 11 else "",
                "user_ids": [],
                "subkeys": [],
            }
            keys.append(current)
            last = record
        elif current is None:
            continue
        elif record in ("sub", "ssb"):
            last = record
        elif record == "fpr" and len(fields) > 9:
            if last in ("pub", "sec"):
                current["fingerprint"] = fields[9].upper()
            else:
                current["subkeys"].append(fields[9].upper())  # type: ignore[attr-defined]
            last = "fpr"
        elif record == "uid" and len(fields) > 9:
            current["user_ids"].append(fields[9])  # type: ignore[attr-defined]
    return keys
