# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address elements of nftables sets, fast enough for million-line block lists (NET-03).

Pure functions for the ``nft_set`` module (unit-tested against the standard library's
``ipaddress`` with hypothesis, tests/unit/plugins/module_utils/test_nft_elements.py).
Addresses are plain integers and networks ``(first, last)`` integer intervals: an
``ipaddress`` object per line costs about ten times as much, which matters at 10^6 lines.

* :func:`parse` validates one line (an address, or a network with its host bits clear);
* :func:`merge` and :func:`cidrs` collapse intervals and write them back as networks;
* :func:`digest`, :func:`pack` and :func:`unpack` give a set's content a stable fingerprint
  and a compact file form. ``nft_set`` keeps that fingerprint in the comment of one marker
  element of the set and the content in a cache file, so an unchanged million-address list
  is recognised by looking up one element instead of listing the set.
"""

from __future__ import annotations

import bisect
import hashlib
import ipaddress
import socket
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

Interval = tuple[int, int]

BITS = {4: 32, 6: 128}
FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
# Marker elements: addresses that are never a packet's source (limited broadcast; reserved
# multicast scope 0), so keeping one in a deny set cannot drop real traffic.
MARKER = {4: (1 << 32) - 1, 6: 0xFF00 << 112}
MARKER_PREFIX = "rampart sha256:"


class ElementError(ValueError):
    """A bad line; the message says why (the caller adds where it was)."""


def parse(value: str) -> tuple[int, int, int]:
    """(IP version, first address, prefix length) of an address or network in CIDR form."""
    address, slash, prefix = value.partition("/")
    version = 6 if ":" in address else 4
    try:
        first = int.from_bytes(socket.inet_pton(FAMILY[version], address), "big")
    except (OSError, ValueError):
        raise ElementError(f"{value!r} is not an IPv4/IPv6 address or network") from None
    bits = BITS[version]
    if not slash:
        return version, first, bits
    if not (prefix.isascii() and prefix.isdigit()) or int(prefix) > bits or len(prefix) > 3:
        raise ElementError(f"{value!r} is not an IPv4/IPv6 address or network (bad prefix length)")
    length = int(prefix)
    if first & ((1 << (bits - length)) - 1):
        raise ElementError(f"{value!r} is not an IPv4/IPv6 address or network (host bits set)")
    return version, first, length


def numbered(text: str) -> Iterator[tuple[int, str]]:
    """(line number, value) for each line of a list file that is not blank or a ``#`` comment."""
    for number, line in enumerate(text.splitlines(), 1):
        value = (line.split("#", 1)[0] if "#" in line else line).strip()
        if value:
            yield number, value


def plain_addresses(text: str) -> tuple[int, list[int]] | None:
    """(version, addresses) when every non-blank line is a bare address of one IP version.

    The fast path for the usual block list (a few times faster than :func:`parse` per line);
    anything else (comments, networks, mixed versions, a bad line) returns None, and the
    caller validates line by line, which names the bad line.
    """
    if "#" in text or "/" in text:
        return None
    version = 6 if ":" in text else 4
    pton, family = socket.inet_pton, FAMILY[version]
    try:
        return version, [
            int.from_bytes(pton(family, v), "big") for v in map(str.strip, text.splitlines()) if v
        ]
    except (OSError, ValueError):
        return None


def text(version: int, first: int, length: int | None = None) -> str:
    """An address, or a network when a shorter prefix length is given."""
    if version == 4:
        address = socket.inet_ntop(socket.AF_INET, first.to_bytes(4, "big"))
    else:  # inet_ntop writes ::0.1.240.0 where ipaddress (and RFC 5952) write ::1:f000
        address = str(ipaddress.IPv6Address(first))
    return address if length is None or length == BITS[version] else f"{address}/{length}"


def interval(version: int, first: int, length: int) -> Interval:
    return first, first | ((1 << (BITS[version] - length)) - 1)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted intervals with overlapping and adjacent ones joined."""
    merged: list[Interval] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def cidrs(version: int, span: Interval) -> list[str]:
    """The fewest networks covering an interval exactly, as text."""
    bits = BITS[version]
    lo, hi = span
    out = []
    while lo <= hi:
        size = (lo & -lo).bit_length() - 1 if lo else bits
        while lo + (1 << size) - 1 > hi:
            size -= 1
        out.append(text(version, lo, bits - size))
        lo += 1 << size
    return out


class Coverage:
    """Merged intervals, for 'does the set already cover this' questions in O(log n)."""

    def __init__(self, intervals: Iterable[Interval]) -> None:
        merged = merge(intervals)
        self.starts = [lo for lo, _ in merged]
        self.ends = [hi for _, hi in merged]

    def covers(self, span: Interval) -> bool:
        index = bisect.bisect_right(self.starts, span[0]) - 1
        return index >= 0 and self.ends[index] >= span[1]

    def overlaps(self, span: Interval) -> bool:
        index = bisect.bisect_right(self.starts, span[1]) - 1
        return index >= 0 and self.ends[index] >= span[0]


def pack(version: int, addresses: Iterable[int]) -> bytes:
    """Addresses sorted, as consecutive big-endian integers (the cache file's form)."""
    ordered = sorted(addresses)
    if version == 4:
        packed = array("I", ordered)
        if packed.itemsize != 4:
            raise RuntimeError("array('I') is not 32 bits on this platform")
        if socket.htonl(1) != 1:
            packed.byteswap()
        return packed.tobytes()
    return b"".join(a.to_bytes(16, "big") for a in ordered)


def unpack(version: int, data: bytes) -> list[int]:
    width = BITS[version] // 8
    if len(data) % width:
        raise ValueError(f"cache of IPv{version} addresses has {len(data)} bytes, not a multiple of {width}")
    if version == 4:
        values = array("I")
        values.frombytes(data)
        if socket.htonl(1) != 1:
            values.byteswap()
        return values.tolist()
    return [int.from_bytes(data[i : i + 16], "big") for i in range(0, len(data), 16)]


def digest(packed: bytes) -> str:
    return hashlib.sha256(packed).hexdigest()


def marker_comment(packed: bytes) -> str:
    return MARKER_PREFIX + digest(packed)


def _address(value: str) -> tuple[int, int]:
    version = 6 if ":" in value else 4
    return version, int.from_bytes(socket.inet_pton(FAMILY[version], value), "big")


def json_elements(doc: dict[str, Any], name: str) -> list[tuple[Interval, str]]:
    """Each element of set ``name`` in ``nft -j list set`` output: ((first, last), comment)."""
    for item in doc.get("nftables", []):
        found = item.get("set")
        if found and found.get("name") == name:
            return [_json_element(element) for element in found.get("elem", [])]
    raise ValueError(f"set {name} is not in the nft output")


def _json_element(value: Any, comment: str = "") -> tuple[Interval, str]:
    if isinstance(value, dict):
        if "elem" in value:
            return _json_element(value["elem"]["val"], value["elem"].get("comment", ""))
        if "prefix" in value:
            version, first = _address(value["prefix"]["addr"])
            return interval(version, first, int(value["prefix"]["len"])), comment
        if "range" in value:
            return (_address(value["range"][0])[1], _address(value["range"][1])[1]), comment
    if isinstance(value, str):
        first = _address(value)[1]
        return (first, first), comment
    raise ValueError(f"unexpected set element in nft -j output: {value!r}")
