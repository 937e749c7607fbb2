# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One nftables set over netlink: its definition, single-element lookups, element changes.

Why not the ``nft`` command: every ``nft list``/``nft get`` first fetches *all* elements of
the set (nftables 1.0.6 and 1.1.3 alike; the kernel dump of a 1,000,000-address set takes
about 30 s on this project's machine, see bench/README.md). The kernel itself answers a
question about one element in microseconds (``NFT_MSG_GETSETELEM`` without the dump flag),
so ``nft_set`` asks it directly: the set's type and flags, and which of the given elements
it holds (with their comments). Element changes to sets without the interval flag are sent the
same way, as one transaction (a netlink batch, like ``nft -f``): most of the 3-4 s that
``nft -f`` takes for a million addresses is nft parsing and evaluating its input.

Standard library only (this file runs on target hosts). Message encoding and decoding are
pure functions, unit-tested on bytes; :class:`Netlink` does the socket I/O.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

NETLINK_NETFILTER = 12
SOL_NETLINK, NETLINK_CAP_ACK = 270, 10
SO_SNDBUFFORCE = 32
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWSET, NFT_MSG_GETSET = 9, 10
NFT_MSG_NEWSETELEM, NFT_MSG_GETSETELEM, NFT_MSG_DELSETELEM = 12, 13, 14
NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END = 0x10, 0x11
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_CREATE = 0x1, 0x4, 0x400
NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3FFF

# nft_set_attributes / nft_set_elem_list_attributes / nft_set_elem_attributes (linux/netfilter/nf_tables.h)
NFTA_SET_TABLE, NFTA_SET_NAME, NFTA_SET_FLAGS, NFTA_SET_KEY_TYPE, NFTA_SET_KEY_LEN = 1, 2, 3, 4, 5
NFTA_SET_DESC, NFTA_SET_TIMEOUT = 9, 11
NFTA_SET_DESC_SIZE = 1
NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_ELEMENTS = 1, 2, 3
NFTA_LIST_ELEM = 1
NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_TIMEOUT, NFTA_SET_ELEM_USERDATA = 1, 4, 6
NFTA_DATA_VALUE = 1
NFTNL_UDATA_SET_ELEM_COMMENT = 0

FAMILIES = {"ip": 2, "ip6": 10, "inet": 1, "arp": 3, "bridge": 7, "netdev": 5}
# Set flags (enum nft_set_flags) by the names nft prints.
SET_FLAGS = {
    "anonymous": 0x1,
    "constant": 0x2,
    "interval": 0x4,
    "map": 0x8,
    "timeout": 0x10,
    "dynamic": 0x20,
    "object": 0x40,
    "concat": 0x80,
}
# nftables' own data type numbers for set keys (the kernel stores them for nft).
KEY_TYPES = {7: "ipv4_addr", 8: "ipv6_addr"}
WINDOW = 256  # requests in flight: their replies must fit the socket's receive buffer
ATTR_MAX = 0xFFFF  # an attribute's length is 16 bits, so a message carries a few thousand elements

_HEADER = struct.Struct("=IHHII")  # struct nlmsghdr
_NFGEN = struct.Struct("=BBH")  # struct nfgenmsg (res_id is big-endian, always 0 here)
_ATTR = struct.Struct("=HH")  # struct nlattr


class NetlinkError(OSError):
    """The kernel refused a request (errno and a message naming the object)."""


@dataclass(frozen=True)
class SetInfo:
    name: str
    key_type: str  # ipv4_addr, ipv6_addr, or "type N" for other keys
    key_len: int
    flags: tuple[str, ...]
    timeout_ms: int
    size: int  # the most elements it may hold; 0: no limit


# ---------------------------------------------------------------------------
# Encoding and decoding (pure)
# ---------------------------------------------------------------------------


def attr(kind: int, payload: bytes) -> bytes:
    """One attribute, padded to 4 bytes."""
    length = _ATTR.size + len(payload)
    return _ATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def nested(kind: int, *children: bytes) -> bytes:
    return attr(kind | NLA_F_NESTED, b"".join(children))


def cstring(value: str) -> bytes:
    return value.encode() + b"\0"


def message(msg: int, family: str, seq: int, payload: bytes, flags: int = 0) -> bytes:
    """A request; without NLM_F_ACK a lookup gets exactly one reply: the object, or an error."""
    body = _NFGEN.pack(FAMILIES[family], 0, 0) + payload
    kind = (NFNL_SUBSYS_NFTABLES << 8) | msg
    return _HEADER.pack(_HEADER.size + len(body), kind, NLM_F_REQUEST | flags, seq, 0) + body


def batch_marker(msg: int, seq: int) -> bytes:
    """The message that opens or closes a transaction (res_id: the nftables subsystem, big-endian)."""
    body = struct.pack("=BB", socket.AF_UNSPEC, 0) + struct.pack("!H", NFNL_SUBSYS_NFTABLES)
    return _HEADER.pack(_HEADER.size + len(body), msg, NLM_F_REQUEST, seq, 0) + body


def element(key: bytes, timeout_ms: int = 0, comment: str = "") -> bytes:
    """One NFTA_LIST_ELEM: the key, and an optional timeout and comment."""
    parts = [nested(NFTA_SET_ELEM_KEY, attr(NFTA_DATA_VALUE, key))]
    if timeout_ms:
        parts.append(attr(NFTA_SET_ELEM_TIMEOUT, struct.pack("!Q", timeout_ms)))
    if comment:
        text = cstring(comment)
        parts.append(attr(NFTA_SET_ELEM_USERDATA, bytes([NFTNL_UDATA_SET_ELEM_COMMENT, len(text)]) + text))
    return nested(NFTA_LIST_ELEM, *parts)


def elements_messages(
    msg: int,
    family: str,
    table: str,
    name: str,
    keys: Sequence[bytes],
    *,
    timeout_ms: int = 0,
    comment: str = "",
) -> list[bytes]:
    """NEWSETELEM or DELSETELEM messages (sequence number 0) for the keys, as many per message as fit.

    Every element of one call has the same shape, so one is encoded and the others reuse its
    bytes around the key: a million elements take a fraction of a second.
    """
    if not keys:
        return []
    sample = element(keys[0], timeout_ms, comment)
    offset = 12  # the key follows the LIST_ELEM, KEY and DATA_VALUE headers
    head, tail = sample[:offset], sample[offset + len(keys[0]) :]
    header = attr(NFTA_SET_ELEM_LIST_TABLE, cstring(table)) + attr(NFTA_SET_ELEM_LIST_SET, cstring(name))
    flags = NLM_F_ACK | (NLM_F_CREATE if msg == NFT_MSG_NEWSETELEM else 0)
    out = []
    per_message = (ATTR_MAX - _ATTR.size) // len(sample)
    for start in range(0, len(keys), per_message):
        body = b"".join([head + key + tail for key in keys[start : start + per_message]])
        out.append(
            message(msg, family, 0, header + attr(NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED, body), flags)
        )
    return out


def flush_message(family: str, table: str, name: str) -> bytes:
    """DELSETELEM without elements: every element of the set goes."""
    payload = attr(NFTA_SET_ELEM_LIST_TABLE, cstring(table)) + attr(NFTA_SET_ELEM_LIST_SET, cstring(name))
    return message(NFT_MSG_DELSETELEM, family, 0, payload, NLM_F_ACK)


def get_set_request(family: str, table: str, name: str, seq: int) -> bytes:
    return message(
        NFT_MSG_GETSET, family, seq, attr(NFTA_SET_TABLE, cstring(table)) + attr(NFTA_SET_NAME, cstring(name))
    )


def get_element_request(family: str, table: str, name: str, key: bytes, seq: int) -> bytes:
    element = nested(NFTA_LIST_ELEM, nested(NFTA_SET_ELEM_KEY, attr(NFTA_DATA_VALUE, key)))
    return message(
        NFT_MSG_GETSETELEM,
        family,
        seq,
        attr(NFTA_SET_ELEM_LIST_TABLE, cstring(table))
        + attr(NFTA_SET_ELEM_LIST_SET, cstring(name))
        + nested(NFTA_SET_ELEM_LIST_ELEMENTS, element),
    )


def attributes(data: bytes) -> dict[int, bytes]:
    """Attribute type (flags masked off) to payload; the last wins for repeated types."""
    found: dict[int, bytes] = {}
    offset = 0
    while offset + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            raise ValueError(f"malformed netlink attribute at offset {offset}")
        found[kind & NLA_TYPE_MASK] = data[offset + _ATTR.size : offset + length]
        offset += (length + 3) & ~3
    return found


def be32(data: bytes) -> int:
    return int(struct.unpack("!I", data[:4])[0])


def parse_set(payload: bytes) -> SetInfo:
    """A NEWSET reply (after the nfgenmsg header) to its name, key and flags."""
    attrs = attributes(payload)
    bits = be32(attrs.get(NFTA_SET_FLAGS, b"\0\0\0\0"))
    key = be32(attrs[NFTA_SET_KEY_TYPE])
    return SetInfo(
        name=attrs[NFTA_SET_NAME].rstrip(b"\0").decode(),
        key_type=KEY_TYPES.get(key, f"type {key}"),
        key_len=be32(attrs[NFTA_SET_KEY_LEN]),
        flags=tuple(name for name, bit in SET_FLAGS.items() if bits & bit),
        timeout_ms=int(struct.unpack("!Q", attrs[NFTA_SET_TIMEOUT])[0]) if NFTA_SET_TIMEOUT in attrs else 0,
        size=be32(attributes(attrs.get(NFTA_SET_DESC, b"")).get(NFTA_SET_DESC_SIZE, b"\0\0\0\0")),
    )


def comment_of(userdata: bytes) -> str:
    """The comment in an element's user data (type-length-value records), or ''."""
    offset = 0
    while offset + 2 <= len(userdata):
        kind, length = userdata[offset], userdata[offset + 1]
        if kind == NFTNL_UDATA_SET_ELEM_COMMENT:
            return userdata[offset + 2 : offset + 2 + length].rstrip(b"\0").decode(errors="replace")
        offset += 2 + length
    return ""


def parse_elements(payload: bytes) -> Iterator[tuple[bytes, str]]:
    """(key, comment) for each element of a NEWSETELEM reply (after the nfgenmsg header)."""
    elements = attributes(payload).get(NFTA_SET_ELEM_LIST_ELEMENTS, b"")
    offset = 0
    while offset + _ATTR.size <= len(elements):
        length, _ = _ATTR.unpack_from(elements, offset)
        element = attributes(elements[offset + _ATTR.size : offset + length])
        key = attributes(element.get(NFTA_SET_ELEM_KEY, b"")).get(NFTA_DATA_VALUE, b"")
        yield key, comment_of(element.get(NFTA_SET_ELEM_USERDATA, b""))
        offset += (length + 3) & ~3


def replies(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(message type, sequence number, payload) for each netlink message in a datagram."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _, seq, _ = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            raise ValueError(f"malformed netlink message at offset {offset}")
        yield kind, seq, data[offset + _HEADER.size : offset + length]
        offset += (length + 3) & ~3


# ---------------------------------------------------------------------------
# I/O
# ---------------------------------------------------------------------------


class Netlink:
    """A netfilter netlink socket for read-only nftables requests."""

    def __init__(self, family: str, table: str, timeout: float = 10.0) -> None:
        if family not in FAMILIES:
            raise ValueError(f"unknown nftables family {family!r}")
        self.family, self.table = family, table
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        # Errors (ENOENT: "not in the set") then carry only the header, not the whole request.
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.settimeout(timeout)
        self.sock.bind((0, 0))
        self.seq = 0

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def _exchange(self, requests: Sequence[bytes]) -> dict[int, tuple[int, bytes]]:
        """Send lookups (one datagram) and collect the one reply each: seq -> (errno, payload)."""
        first = self.seq + 1
        self.seq += len(requests)
        self.sock.send(b"".join(requests))
        done: dict[int, tuple[int, bytes]] = {}
        while len(done) < len(requests):
            for kind, seq, payload in replies(self.sock.recv(1 << 20)):
                if not first <= seq <= self.seq or kind == NLMSG_DONE:
                    continue
                if kind == NLMSG_ERROR:
                    done[seq] = (-struct.unpack_from("=i", payload)[0], b"")
                else:
                    done[seq] = (0, payload[_NFGEN.size :])
        return done

    def set_info(self, name: str) -> SetInfo:
        """The set's definition; NetlinkError (ENOENT) when the table or the set is missing."""
        request = get_set_request(self.family, self.table, name, self.seq + 1)
        code, payload = self._exchange([request])[self.seq]
        if code:
            raise NetlinkError(code, f"{os.strerror(code)}: set {self.family} {self.table} {name}")
        return parse_set(payload)

    def commit(self, messages: Sequence[bytes]) -> None:
        """Send element changes as one transaction: all of them take effect, or none (NetlinkError)."""
        if not messages:
            return
        first = self.seq + 1
        numbered = []
        for index, msg in enumerate(messages):
            copy = bytearray(msg)
            struct.pack_into("=I", copy, 8, first + index)
            numbered.append(bytes(copy))
        self.seq += len(messages) + 1
        data = b"".join([batch_marker(NFNL_MSG_BATCH_BEGIN, first - 1), *numbered])
        data += batch_marker(NFNL_MSG_BATCH_END, self.seq)
        # The kernel takes a transaction only whole, in one datagram (SO_SNDBUFFORCE needs CAP_NET_ADMIN).
        self.sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, len(data) + 4096)
        self.sock.send(data)
        acked = 0
        while acked < len(messages):
            for kind, seq, payload in replies(self.sock.recv(1 << 20)):
                if kind != NLMSG_ERROR or not first <= seq < first + len(messages):
                    continue
                code = -struct.unpack_from("=i", payload)[0]
                if code:
                    raise NetlinkError(
                        code, f"{os.strerror(code)}: the change to table {self.table} was not made"
                    )
                acked += 1

    def lookup(self, name: str, keys: Sequence[bytes]) -> dict[bytes, str]:
        """The given keys that the set holds, each with its comment ('' when none)."""
        held: dict[bytes, str] = {}
        for start in range(0, len(keys), WINDOW):
            window = keys[start : start + WINDOW]
            requests = [
                get_element_request(self.family, self.table, name, key, self.seq + 1 + i)
                for i, key in enumerate(window)
            ]
            for code, payload in self._exchange(requests).values():
                if code and code != errno.ENOENT:
                    raise NetlinkError(code, f"{os.strerror(code)}: elements of set {self.table} {name}")
                held.update(parse_elements(payload))
        return held
