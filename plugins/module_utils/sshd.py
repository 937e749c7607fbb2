# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsing and decision logic for OpenSSH's sshd.

Nothing here touches the host: every function takes strings, numbers or the small
dataclasses below, so the logic is unit-tested against captured real outputs.  The
``sshd_effective_info`` module does the I/O (running ``sshd -T``, reading passwd,
shadow and authorized_keys files) and calls into this file.

Where a function mirrors an OpenSSH C function, the C name is given so the two can be
compared: the aim is to decide exactly as sshd decides, not as a reader might guess.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import itertools
import re
import shlex
import stat
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

ConfigValue: TypeAlias = "str | list[str]"
EffectiveConfig = dict[str, ConfigValue]

# ---------------------------------------------------------------------------
# sshd -T output
# ---------------------------------------------------------------------------

#: Keys whose value is a comma-separated algorithm list.
COMMA_LIST_KEYS = frozenset(
    {
        "ciphers",
        "macs",
        "kexalgorithms",
        "hostkeyalgorithms",
        "pubkeyacceptedalgorithms",
        "pubkeyacceptedkeytypes",  # name before OpenSSH 8.5
        "hostbasedacceptedalgorithms",
        "hostbasedacceptedkeytypes",  # name before OpenSSH 8.5
        "casignaturealgorithms",
        "gssapikexalgorithms",  # Debian's GSSAPI key exchange patch
    }
)

#: Keys whose values are whitespace-separated words; sshd prints some of them once per
#: entry (allowusers ...) and some on one line (authorizedkeysfile ...): both are
#: flattened into one list.
WORD_LIST_KEYS = frozenset(
    {
        "allowusers",
        "allowgroups",
        "denyusers",
        "denygroups",
        "authorizedkeysfile",
        "authenticationmethods",
        "acceptenv",
        "permitopen",
        "permitlisten",
    }
)

#: Keys printed once per entry whose entries may contain spaces (kept whole).
REPEATED_KEYS = frozenset({"hostkey", "hostcertificate", "listenaddress", "port", "subsystem", "setenv"})

#: Keys that sshd leaves out of ``sshd -T`` when they are unset; returned as [].
EMPTY_WHEN_ABSENT = ("allowusers", "allowgroups", "denyusers", "denygroups")

_KEY_RE = re.compile(r"^[a-z][a-z0-9]*$")


def parse_effective_config(text: str) -> EffectiveConfig:
    """Parse the stdout of ``sshd -T`` into a dict with lowercased keys.

    * keys in :data:`COMMA_LIST_KEYS` become lists split on commas;
    * keys in :data:`WORD_LIST_KEYS` become lists split on whitespace, all lines joined
      (``authorizedkeysfile none`` becomes ``[]``: sshd skips ``none``;
      ``authenticationmethods any`` stays ``["any"]``);
    * keys in :data:`REPEATED_KEYS`, and any other key sshd prints more than once,
      become lists with one element per line;
    * everything else is a string (``""`` when sshd printed the key alone);
    * allowusers/allowgroups/denyusers/denygroups are ``[]`` when sshd did not print them.

    Raises ValueError naming the offending line when a line is not ``key value`` with a
    lowercase alphanumeric key, or when there is no line at all.
    """
    config: dict[str, Any] = {}
    seen_once: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        key, _sep, value = line.partition(" ")
        value = value.strip()
        if not _KEY_RE.match(key):
            raise ValueError(f"sshd -T output line {lineno} is not 'keyword value': {raw!r}")
        if key in COMMA_LIST_KEYS:
            config.setdefault(key, []).extend(v for v in value.split(",") if v)
        elif key in WORD_LIST_KEYS:
            words = value.split()
            if key == "authorizedkeysfile":
                words = [w for w in words if w.lower() != "none"]
            config.setdefault(key, []).extend(words)
        elif key in REPEATED_KEYS:
            config.setdefault(key, []).append(value)
        elif key in seen_once:
            previous = config[key]
            config[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            config[key] = value
            seen_once.add(key)
    if not config:
        raise ValueError("sshd -T printed no configuration")
    for key in EMPTY_WHEN_ABSENT:
        config.setdefault(key, [])
    return config


_VERSION_RE = re.compile(r"OpenSSH_(\d+)\.(\d+)(p\d+)?")


def parse_version(text: str) -> tuple[str, list[int]]:
    """Find the OpenSSH version in ``sshd -V`` / ``ssh -V`` output.

    ``"OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024"`` gives
    ``("9.2p1", [9, 2])``.  Raises ValueError when no version is found.
    """
    match = _VERSION_RE.search(text)
    if match is None:
        raise ValueError(f"no OpenSSH version found in {text.strip()[:200]!r}")
    major, minor, portable = match.groups()
    return f"{major}.{minor}{portable or ''}", [int(major), int(minor)]


_ALGORITHM_RE = re.compile(r"^[A-Za-z0-9@._+-]+$")


def parse_query_list(text: str, kind: str = "algorithm") -> list[str]:
    """Parse ``ssh -Q KIND`` output: one name per line.  Raises ValueError on garbage."""
    names: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if not _ALGORITHM_RE.match(line):
            raise ValueError(f"ssh -Q {kind} output line {lineno} is not an algorithm name: {raw!r}")
        names.append(line)
    return names


def parse_listen_address(value: str) -> tuple[str, int]:
    """Split an ``sshd -T`` listenaddress value (``0.0.0.0:22``, ``[::]:22 rdomain x``)."""
    hostport = value.split(maxsplit=1)[0] if value.strip() else ""
    match = re.match(r"^\[(?P<v6>[^\]]+)\]:(?P<p6>\d+)$|^(?P<v4>[^:\s]+):(?P<p4>\d+)$", hostport)
    if match is None:
        raise ValueError(f"listenaddress value is not ADDRESS:PORT: {value!r}")
    if match.group("v6") is not None:
        return match.group("v6"), int(match.group("p6"))
    return match.group("v4"), int(match.group("p4"))


# ---------------------------------------------------------------------------
# sshd_config Include directives (for the list of drop-ins sshd reads)
# ---------------------------------------------------------------------------


def parse_include_patterns(text: str) -> list[str]:
    """Return the arguments of every ``Include`` line of an sshd_config text, in order.

    Handles any keyword case, ``Include=pattern``, several patterns per line, quotes and
    trailing comments.  Relative patterns are returned as written; see
    :func:`resolve_include_pattern`.
    """
    patterns: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^(\S+?)(?:\s*=\s*|\s+)(.*)$", line)
        if match is None or match.group(1).lower() != "include":
            continue
        try:
            patterns.extend(shlex.split(match.group(2), comments=True))
        except ValueError:
            continue  # unbalanced quotes: sshd -t rejects the file anyway
    return patterns


def resolve_include_pattern(pattern: str, base: str = "/etc/ssh") -> str:
    """sshd reads relative Include paths from /etc/ssh, whatever file includes them."""
    if pattern.startswith("/") or pattern.startswith("~"):
        return pattern
    return f"{base.rstrip('/')}/{pattern}"


# ---------------------------------------------------------------------------
# OpenSSH pattern matching (match.c, addrmatch.c)
# ---------------------------------------------------------------------------

_MAX_SUBPATTERN = 1023  # match_pattern_list() gives up on subpatterns this long


def match_pattern(string: str, pattern: str) -> bool:
    """match.c ``match_pattern``: ``*`` is any run of characters, ``?`` exactly one.

    Case-sensitive, whole-string, no other metacharacters (``[`` is literal, ``!`` too).
    Linear two-pointer glob matching (no regex, so no catastrophic backtracking).
    """
    s_i = p_i = 0
    star = -1
    mark = 0
    while s_i < len(string):
        if p_i < len(pattern) and pattern[p_i] == "*":
            star = p_i
            mark = s_i
            p_i += 1
        elif p_i < len(pattern) and (pattern[p_i] == "?" or pattern[p_i] == string[s_i]):
            s_i += 1
            p_i += 1
        elif star >= 0:
            p_i = star + 1
            mark += 1
            s_i = mark
        else:
            return False
    while p_i < len(pattern) and pattern[p_i] == "*":
        p_i += 1
    return p_i == len(pattern)


def _split_pattern_list(patterns: str) -> list[str]:
    """Split like match_pattern_list(): a trailing comma does not add an empty entry."""
    if not patterns:
        return []
    subs = patterns.split(",")
    if subs[-1] == "":
        subs.pop()
    return subs


def match_pattern_list(string: str, patterns: str, dolower: bool = False) -> int:
    """match.c ``match_pattern_list``: comma-separated patterns, each optionally ``!``-negated.

    Returns -1 when a negated pattern matches (negation wins over any positive match),
    1 when a positive pattern matches, 0 otherwise.  With ``dolower`` the patterns are
    lowercased (for host names).
    """
    got_positive = False
    for entry in _split_pattern_list(patterns):
        negated = entry.startswith("!")
        sub = entry[1:] if negated else entry
        if len(sub) >= _MAX_SUBPATTERN:
            return 0
        if match_pattern(string, sub.lower() if dolower else sub):
            if negated:
                return -1
            got_positive = True
    return 1 if got_positive else 0


def _parse_cidr(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | int:
    """addrmatch.c ``addr_pton_cidr``: a network, -1 if not an address, -2 if invalid mask."""
    addr_part, slash, mask_part = entry.partition("/")
    if slash and (not mask_part.isdigit() or int(mask_part) > 128):
        return -1
    try:
        addr = ipaddress.ip_address(addr_part)
    except ValueError:
        return -1
    masklen = int(mask_part) if slash else addr.max_prefixlen
    if masklen > addr.max_prefixlen:
        return -2
    try:
        return ipaddress.ip_network(f"{addr}/{masklen}", strict=True)
    except ValueError:
        return -2  # host bits set, e.g. 10.0.0.1/8: sshd calls this an inconsistent mask


def addr_match_list(addr: str | None, patterns: str) -> int:
    """addrmatch.c ``addr_match_list``: match an address against CIDR/wildcard entries.

    Returns 1 on a match, -1 on a negated match, 0 on no match, -2 when an entry is
    invalid (empty, or a CIDR with host bits set / impossible mask).  Entries that are
    not addresses are matched as wildcard patterns against the address text.
    ``addr=None`` only validates.
    """
    try_addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    if addr is not None:
        try:
            try_addr = ipaddress.ip_address(addr)
        except ValueError:
            return 0
    result = 0
    for item in patterns.split(","):
        negated = item.startswith("!")
        entry = item[1:] if negated else item
        if entry == "":
            return -2
        network = _parse_cidr(entry)
        if network == -2:
            return -2
        if isinstance(network, int):
            found = addr is not None and match_pattern(addr, entry)
        else:
            found = try_addr is not None and try_addr.version == network.version and try_addr in network
        if found:
            if negated:
                return -1
            result = 1
    return result


def match_host_and_ip(host: str | None, ipaddr: str | None, patterns: str) -> int:
    """match.c ``match_host_and_ip``: 1 on match, 0 on no or negated match, -1 on error."""
    mip = addr_match_list(ipaddr, patterns)
    if mip == -2:
        return -1
    if host is None or ipaddr is None or mip == -1:
        return 0
    mhost = match_pattern_list(host.lower(), patterns, dolower=True)
    if mhost == -1:
        return 0
    if mhost == 0 and mip == 0:
        return 0
    return 1


def match_user(user: str, host: str, ipaddr: str, pattern: str) -> int:
    """match.c ``match_user`` for one AllowUsers/DenyUsers entry.

    ``USER`` or ``USER@HOSTS``: the user part is a single wildcard pattern (no lists, no
    negation), split at the first ``@``; HOSTS is a comma list of address/CIDR/hostname
    patterns.  Returns 1 on match, 0 on none, -1 when the entry is invalid (sshd refuses
    to start with it).
    """
    user_pattern, at, hosts = pattern.partition("@")
    if not at:
        return 1 if match_pattern(user, pattern) else 0
    if not match_pattern(user, user_pattern):
        return 0
    return match_host_and_ip(host, ipaddr, hosts)


def validate_user_pattern(pattern: str) -> bool:
    """True when sshd accepts the AllowUsers/DenyUsers entry (match_user test mode)."""
    _user, at, hosts = pattern.partition("@")
    return not at or match_host_and_ip(None, None, hosts) >= 0


# ---------------------------------------------------------------------------
# authorized_keys
# ---------------------------------------------------------------------------

#: Key types OpenSSH reads from authorized_keys (sshkey.c), certificate types included.
KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-ed25519-cert-v01@openssh.com",
        "sk-ssh-ed25519@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
        "ssh-rsa",
        "ssh-rsa-cert-v01@openssh.com",
        "ssh-dss",
        "ssh-dss-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ssh-xmss@openssh.com",
        "ssh-xmss-cert-v01@openssh.com",
    }
)

#: authorized_keys options (auth-options.c sshauthopt_parse); flags in the second set
#: also accept a ``no-`` prefix.  An unknown option makes sshd ignore the whole line.
KEY_VALUE_OPTIONS = frozenset(
    {"command", "environment", "expiry-time", "from", "permitopen", "permitlisten", "principals", "tunnel"}
)
KEY_FLAG_OPTIONS = frozenset({"restrict", "cert-authority"})
KEY_NEGATABLE_FLAGS = frozenset(
    {
        "port-forwarding",
        "agent-forwarding",
        "x11-forwarding",
        "pty",
        "user-rc",
        "touch-required",
        "verify-required",
    }
)


@dataclass
class AuthorizedKey:
    """One non-comment line of an authorized_keys file."""

    keytype: str
    options: list[tuple[str, str | None]] = field(default_factory=list)
    comment: str = ""
    source: str = ""
    line: int = 0
    rsa_bits: int | None = None
    error: str | None = None  # set when sshd would ignore the line

    def option(self, name: str) -> str | None:
        """Value of the first option called ``name`` ('' for a flag), None when absent."""
        for opt_name, value in self.options:
            if opt_name == name:
                return "" if value is None else value
        return None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.source else f"line {self.line}"


def _read_ssh_string(blob: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(blob):
        raise ValueError("truncated key blob")
    length = int.from_bytes(blob[offset : offset + 4], "big")
    end = offset + 4 + length
    if end > len(blob):
        raise ValueError("truncated key blob")
    return blob[offset + 4 : end], end


def decode_key_blob(data: str) -> tuple[str, int | None]:
    """Decode a base64 public key blob: its embedded type name and, for RSA, the modulus bits.

    Raises ValueError when the text is not base64 or the blob is malformed.
    """
    try:
        blob = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("key data is not valid base64") from exc
    name_bytes, offset = _read_ssh_string(blob, 0)
    try:
        name = name_bytes.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValueError("key blob does not start with a key type name") from exc
    bits: int | None = None
    if name in ("ssh-rsa", "ssh-rsa-cert-v01@openssh.com"):
        if name != "ssh-rsa":
            _nonce, offset = _read_ssh_string(blob, offset)
        _exponent, offset = _read_ssh_string(blob, offset)
        modulus, offset = _read_ssh_string(blob, offset)
        bits = int.from_bytes(modulus, "big").bit_length()
    return name, bits


def _try_key(text: str) -> tuple[str, int | None, str] | None:
    """If ``text`` starts with ``TYPE BASE64 [comment]`` (blob type == TYPE), parse it."""
    parts = text.split(None, 2)
    if len(parts) < 2:
        return None
    keytype, data = parts[0], parts[1]
    try:
        embedded, bits = decode_key_blob(data)
    except ValueError:
        return None
    if embedded != keytype:
        return None
    return keytype, bits, parts[2].strip() if len(parts) > 2 else ""


def _split_options(text: str) -> tuple[str, str] | None:
    """sshkey_advance_past_options(): options end at the first unquoted blank."""
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if not quoted and char in " \t":
            break
        if char == "\\" and text[i + 1 : i + 2] == '"':
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        i += 1
    if quoted:
        return None
    return text[:i], text[i:].lstrip(" \t")


def parse_key_options(text: str) -> list[tuple[str, str | None]]:
    """Parse ``opt,opt="value",...`` into (lowercased name, value or None).

    Raises ValueError with sshd's reason when an option is unknown or malformed.
    """
    options: list[tuple[str, str | None]] = []
    i = 0
    while i < len(text):
        match = re.match(r"[A-Za-z0-9-]+", text[i:])
        if match is None:
            raise ValueError(f"bad key option at {text[i:][:40]!r}")
        name = match.group(0).lower()
        i += len(match.group(0))
        value: str | None = None
        if text[i : i + 2] == '="':
            i += 2
            chars: list[str] = []
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and text[i + 1 : i + 2] == '"':
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= len(text):
                raise ValueError(f'missing end quote in option "{name}"')
            i += 1
            value = "".join(chars)
        if value is None:
            base = name[3:] if name.startswith("no-") else name
            if name not in KEY_FLAG_OPTIONS and base not in KEY_NEGATABLE_FLAGS:
                reason = "needs a quoted value" if name in KEY_VALUE_OPTIONS else "is unknown"
                raise ValueError(f'key option "{name}" {reason}')
        elif name not in KEY_VALUE_OPTIONS:
            raise ValueError(f'key option "{name}" is unknown')
        options.append((name, value))
        if i < len(text):
            if text[i] != ",":
                raise ValueError(f"bad key option at {text[i:][:40]!r}")
            i += 1
    return options


def parse_authorized_keys(text: str, source: str = "") -> list[AuthorizedKey]:
    """Parse an authorized_keys file as sshd does (auth2-pubkey.c check_authkey_line).

    Blank lines and ``#`` comments are skipped.  A line either starts with a key
    (``TYPE BASE64 [comment]``, the type being whatever name the decoded blob carries,
    so unknown future types still parse) or with an options string up to the first
    unquoted blank, followed by the key.  Lines sshd would ignore are returned with
    ``error`` set and ``keytype`` as far as it could be read.
    """
    keys: list[AuthorizedKey] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parsed = _try_key(line)
        options: list[tuple[str, str | None]] = []
        error: str | None = None
        if parsed is None:
            split = _split_options(line)
            if split is None:
                error = "unterminated quote in key options"
                keys.append(AuthorizedKey("", source=source, line=lineno, error=error))
                continue
            option_text, rest = split
            parsed = _try_key(rest)
            if parsed is None:
                words = line.split()
                first = words[0] if words else ""
                guess = first if first in KEY_TYPES else (rest.split()[0] if rest.split() else "")
                keys.append(
                    AuthorizedKey(guess, source=source, line=lineno, error="no valid public key on this line")
                )
                continue
            try:
                options = parse_key_options(option_text)
            except ValueError as exc:
                error = str(exc)
        keytype, bits, comment = parsed
        keys.append(AuthorizedKey(keytype, options, comment, source, lineno, bits, error))
    return keys


def expand_authorized_keys_path(template: str, user: str, home: str, uid: int) -> str:
    """auth.c ``expand_authorized_keys``: %% %h %u %U, then relative paths are under home.

    Raises ValueError on an unknown or dangling ``%`` token (sshd fails the login).
    """
    out: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char != "%":
            out.append(char)
            i += 1
            continue
        token = template[i + 1 : i + 2]
        if token == "%":
            out.append("%")
        elif token == "h":
            out.append(home)
        elif token == "u":
            out.append(user)
        elif token == "U":
            out.append(str(uid))
        elif token == "":
            raise ValueError(f"AuthorizedKeysFile {template!r} ends with a lone %")
        else:
            raise ValueError(f"AuthorizedKeysFile {template!r} has unknown token %{token}")
        i += 2
    path = "".join(out)
    if path.startswith("/"):
        return path
    return f"{home.rstrip('/')}/{path}"


# ---------------------------------------------------------------------------
# Files and accounts
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PathStat:
    """What :func:`key_file_problem` needs from ``os.stat`` of one path."""

    path: str
    uid: int
    gid: int
    mode: int


def _may(entry: PathStat, uid: int, gids: Sequence[int], what: str) -> bool:
    """Unix permission check for ``uid``: ``what`` is "r" or "x"."""
    if uid == 0:
        return True
    owner, group, other = (
        (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)
        if what == "r"
        else (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
    )
    if entry.uid == uid:
        return bool(entry.mode & owner)
    if entry.gid in gids:
        return bool(entry.mode & group)
    return bool(entry.mode & other)


_STRICT_RULE = "must be owned by the user or root and not group/world-writable"


def private_group_ids(
    user: str, accounts: Iterable[tuple[str, int]], groups: Iterable[tuple[int, Sequence[str]]]
) -> set[int]:
    """Group ids whose only member is ``user``.

    ``accounts`` gives (name, primary gid) of every account, ``groups`` (gid, member
    names) of every group.  Debian's sshd (patch "Allow harmless group-writability")
    lets StrictModes accept group-writable files and directories whose group contains
    only their owner, as Debian's per-user groups with umask 002 produce.
    """
    members: dict[int, set[str]] = {}
    for name, gid in accounts:
        members.setdefault(gid, set()).add(name)
    for gid, names in groups:
        members.setdefault(gid, set()).update(names)
    return {gid for gid, names in members.items() if names == {user}}


def _strict_modes_problem(
    chain: Sequence[PathStat], home: str, uid: int, private_gids: Collection[int]
) -> str | None:
    """misc.c safe_path(): the file, then directories up to the home directory (or /)."""
    target = chain[0]
    home_norm = home.rstrip("/") or "/"
    for entry in chain:
        group_ok = entry.gid in private_gids and entry.uid == uid
        if entry.uid not in (0, uid) or entry.mode & 0o002 or (entry.mode & 0o020 and not group_ok):
            kind = "file" if entry is target else "directory"
            return (
                f"StrictModes refuses {target.path}: {kind} {entry.path} has owner {entry.uid}, "
                f"group {entry.gid}, mode {stat.S_IMODE(entry.mode):04o} ({_STRICT_RULE})"
            )
        if entry is not target and entry.path == home_norm:
            break
    return None


def key_file_problem(
    chain: Sequence[PathStat],
    home: str,
    uid: int,
    gids: Sequence[int],
    strict_modes: bool,
    *,
    private_gids: Collection[int] = (),
) -> str | None:
    """Why sshd would ignore an authorized_keys file, or None when it reads it.

    ``chain`` is the file's canonical path first, then every parent directory up to
    ``/``.  sshd opens the file as the user (so the user needs search permission on
    every directory and read permission on the file; ACLs are not considered), and
    with StrictModes it refuses files and directories up to the home directory that are
    not owned by root or the user or are group/world-writable (misc.c safe_path).
    ``private_gids`` (see :func:`private_group_ids`) are groups Debian's sshd tolerates
    group write permission for; pass none for an unpatched OpenSSH.
    """
    if not chain:
        return None
    target = chain[0]
    if not stat.S_ISREG(target.mode):
        return f"{target.path} is not a regular file"
    blocked = next((entry for entry in chain[1:] if not _may(entry, uid, gids, "x")), None)
    if blocked is not None:
        return f"the user cannot enter directory {blocked.path} to read {target.path}"
    if not _may(target, uid, gids, "r"):
        mode = stat.S_IMODE(target.mode)
        return f"the user cannot read {target.path} (owner {target.uid}, mode {mode:04o})"
    return _strict_modes_problem(chain, home, uid, private_gids) if strict_modes else None


def shell_problem(shell: str, exists: bool, executable: bool, is_regular: bool = True) -> str | None:
    """Decide whether the login shell lets an SSH login run anything.

    sshd itself refuses a shell that is missing or not an executable regular file
    (auth.c allowed_user).  It accepts ``nologin``/``false``, but they end every session
    and command at once, which is a lock-out for an administrator (and for Ansible).
    """
    shown = shell or "/bin/sh"
    if not exists:
        return f"account has no valid login shell ({shown} does not exist)"
    if not is_regular or not executable:
        return f"account has no valid login shell ({shown} is not an executable file)"
    if shown.rsplit("/", 1)[-1] in ("nologin", "false"):
        return f"account has no valid login shell ({shown} ends every session)"
    return None


def parse_shadow_entry(text: str, user: str, today: int) -> tuple[bool, bool, bool]:
    """Look ``user`` up in /etc/shadow text: (found, locked, expired).

    ``today`` is days since 1970-01-01.  Locked means the password field starts with
    ``!`` (what ``passwd -l``/``usermod -L`` do); expired means the account expiry date
    (8th field) is today or earlier, which both PAM and sshd refuse.
    """
    for raw in text.splitlines():
        fields = raw.split(":")
        if len(fields) < 2 or fields[0] != user:
            continue
        locked = fields[1].startswith("!")
        expire = fields[7].strip() if len(fields) > 7 else ""
        expired = bool(expire.isdigit() and today >= int(expire))
        return True, locked, expired
    return False, False, False


@dataclass
class Account:
    """What the access decision needs to know about a local account."""

    name: str
    exists: bool = True
    uid: int = 1000
    home: str = ""
    shell: str = "/bin/sh"
    shell_problem: str | None = None  # from shell_problem(); None when fine
    groups: list[str] = field(default_factory=list)
    locked: bool = False
    expired: bool = False


@dataclass
class KeyFile:
    """An authorized_keys file sshd would look at for a user."""

    path: str
    exists: bool = True
    problem: str | None = None  # set when sshd would ignore the file
    keys: list[AuthorizedKey] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Access decision
# ---------------------------------------------------------------------------

_RSA_SIGS = ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
_RSA_CERT_SIGS = [
    "rsa-sha2-512-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
]
_CERT_SUFFIX = "-cert-v01@openssh.com"


def signature_algorithms(keytype: str) -> list[str]:
    """Algorithm names a client may offer for a key of ``keytype``.

    An RSA key signs as rsa-sha2-512, rsa-sha2-256 or (legacy SHA-1) ssh-rsa; every
    other type signs under its own name.
    """
    if keytype == "ssh-rsa":
        return list(_RSA_SIGS)
    if keytype == "ssh-rsa-cert-v01@openssh.com":
        return list(_RSA_CERT_SIGS)
    return [keytype]


def algorithm_accepted(keytype: str, accepted: Sequence[str]) -> bool:
    """True when some signature algorithm of ``keytype`` matches the accepted list.

    Like sshd, the accepted list is a pattern list (match_pattern_list).
    """
    pattern = ",".join(accepted)
    return any(match_pattern_list(alg, pattern) == 1 for alg in signature_algorithms(keytype))


def parse_expiry_time(value: str) -> datetime.datetime:
    """Parse an ``expiry-time`` key option: YYYYMMDD[HHMM[SS]], local time or with Z for UTC."""
    text = value.strip()
    utc = text.endswith(("Z", "z"))
    if utc:
        text = text[:-1]
    formats = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
    if len(text) not in formats or not text.isdigit():
        raise ValueError(f"invalid expiry-time {value!r}")
    parsed = datetime.datetime.strptime(text, formats[len(text)])
    if utc:
        return parsed.replace(tzinfo=datetime.UTC)
    return parsed.astimezone()  # naive = local time


def _as_list(value: ConfigValue | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return list(value)


def _as_str(config: Mapping[str, Any], key: str, default: str) -> str:
    value = config.get(key, default)
    if isinstance(value, list):
        return str(value[-1]) if value else default
    return str(value)


_TYPE_REFUSED = " is not accepted by PubkeyAcceptedAlgorithms"


def _accepted_algorithms(config: Mapping[str, Any]) -> list[str]:
    return _as_list(config.get("pubkeyacceptedalgorithms", config.get("pubkeyacceptedkeytypes")))


def _key_type_reasons(key: AuthorizedKey, config: Mapping[str, Any]) -> Iterator[str]:
    accepted = _accepted_algorithms(config)
    if key.option("cert-authority") is not None:
        if not any(alg.endswith(_CERT_SUFFIX) for alg in accepted):
            yield "cert-authority key, but PubkeyAcceptedAlgorithms accepts no certificate type"
        ca_algs = _as_list(config.get("casignaturealgorithms"))
        if ca_algs and not algorithm_accepted(key.keytype, ca_algs):
            yield f"CA key type {key.keytype} is not in CASignatureAlgorithms"
    elif not algorithm_accepted(key.keytype, accepted):
        yield f"{key.keytype}{_TYPE_REFUSED}"
    required = _as_str(config, "requiredrsasize", "")
    if key.rsa_bits is not None and required.isdigit() and key.rsa_bits < int(required):
        yield f"RSA key has {key.rsa_bits} bits, RequiredRSASize is {required}"


def _key_option_reasons(
    key: AuthorizedKey,
    config: Mapping[str, Any],
    *,
    addr: str,
    host: str,
    is_root: bool,
    now: datetime.datetime,
) -> Iterator[str]:
    source = key.option("from")
    if source is not None and match_host_and_ip(host, addr, source) != 1:
        yield f'from="{source}" does not match {addr}'
    expiry = key.option("expiry-time")
    if expiry is not None:
        try:
            if parse_expiry_time(expiry) <= now:
                yield f'expiry-time="{expiry}" has passed'
        except ValueError:
            yield f'invalid expiry-time="{expiry}"'
    forced_only = _as_str(config, "permitrootlogin", "") == "forced-commands-only"
    if is_root and forced_only and key.option("command") is None:
        yield "PermitRootLogin forced-commands-only accepts only keys with a command= option"


def key_rejection(
    key: AuthorizedKey,
    config: Mapping[str, Any],
    *,
    addr: str,
    host: str,
    is_root: bool,
    now: datetime.datetime,
) -> str | None:
    """Why sshd would refuse ``key`` for this connection (first reason), or None if it accepts it.

    Checks, in sshd's order: the line parses, the key (or, for ``cert-authority``, a
    certificate signed by it) has an algorithm PubkeyAcceptedAlgorithms accepts,
    RequiredRSASize, the ``from=`` and ``expiry-time=`` options, and for root under
    ``PermitRootLogin forced-commands-only`` a ``command=`` option.
    """
    if key.error:
        return f"{key.where}: {key.error}"
    reasons = itertools.chain(
        _key_type_reasons(key, config),
        _key_option_reasons(key, config, addr=addr, host=host, is_root=is_root, now=now),
    )
    reason = next(reasons, None)
    return None if reason is None else f"{key.where}: {reason}"


def _listen_problem(config: Mapping[str, Any], laddr: str | None, lport: int | None) -> str | None:
    """Whether sshd would listen on the local address/port the connection arrives at."""
    if lport is None and laddr is None:
        return None
    listens: list[tuple[str, int]] = []
    for value in _as_list(config.get("listenaddress")):
        try:
            listens.append(parse_listen_address(value))
        except ValueError:
            continue
    if not listens:
        return None
    shown = ", ".join(f"[{a}]:{p}" if ":" in a else f"{a}:{p}" for a, p in listens)

    def covers(listen_addr: str) -> bool:
        if laddr is None or listen_addr == laddr:
            return True
        try:
            local = ipaddress.ip_address(laddr)
        except ValueError:
            return False
        return listen_addr == ("0.0.0.0" if local.version == 4 else "::")

    if any((lport is None or port == lport) and covers(a) for a, port in listens):
        return None
    if laddr is None:
        return f"sshd would not listen on port {lport} that this connection uses (listens on {shown})"
    where = laddr if lport is None else f"{laddr} port {lport}"
    return f"sshd would not listen on {where} that this connection uses (listens on {shown})"


def _authentication_methods_problem(config: Mapping[str, Any], usable_keys: int) -> str | None:
    """AuthenticationMethods must offer a list made only of publickey steps."""
    lists = _as_list(config.get("authenticationmethods")) or ["any"]
    if any(method.lower() == "any" for method in lists):
        return None
    needed = [
        len(methods)
        for methods in ([m for m in method_list.split(",") if m] for method_list in lists)
        if methods and all(m == "publickey" for m in methods)
    ]
    shown = " ".join(lists)
    if not needed:
        return f"AuthenticationMethods '{shown}' does not allow public-key-only login"
    if 0 < usable_keys < min(needed):  # with no usable key at all, the key problem says so
        return (
            f"AuthenticationMethods '{shown}' needs {min(needed)} different usable keys for a "
            f"public-key-only login, the user has {usable_keys}"
        )
    return None


def _account_problems(config: Mapping[str, Any], account: Account) -> list[str]:
    problems: list[str] = []
    if account.locked and _as_str(config, "usepam", "no") != "yes":
        problems.append("account is locked (password field starts with '!') and UsePAM is no")
    if account.expired:
        problems.append("account has expired (its shadow expiry date has passed)")
    if account.shell_problem and _as_str(config, "chrootdirectory", "none").lower() == "none":
        problems.append(account.shell_problem)
    return problems


def _user_list_problems(config: Mapping[str, Any], user: str, addr: str, host: str) -> list[str]:
    """DenyUsers, then AllowUsers (auth.c allowed_user).

    sshd checks every entry when it starts and refuses to run with an invalid one (a
    CIDR with host bits set), which locks everybody out whatever the user.
    """
    deny_users = _as_list(config.get("denyusers"))
    allow_users = _as_list(config.get("allowusers"))
    problems = [
        f"{keyword} entry '{pattern}' is invalid (sshd refuses to start)"
        for keyword, patterns in (("DenyUsers", deny_users), ("AllowUsers", allow_users))
        for pattern in patterns
        if not validate_user_pattern(pattern)
    ]
    if problems:
        return problems
    denied = next((p for p in deny_users if match_user(user, host, addr, p) == 1), None)
    if denied is not None:
        problems.append(f"user {user} is listed in DenyUsers ('{denied}')")
    if allow_users and not any(match_user(user, host, addr, p) == 1 for p in allow_users):
        problems.append(f"user {user} from {addr} is not in AllowUsers ({', '.join(allow_users)})")
    return problems


def _group_list_problems(config: Mapping[str, Any], user: str, groups: Sequence[str]) -> list[str]:
    """DenyGroups, then AllowGroups: single wildcard patterns, no lists or negation (ga_match)."""
    deny_groups = _as_list(config.get("denygroups"))
    allow_groups = _as_list(config.get("allowgroups"))
    problems: list[str] = []
    if not (deny_groups or allow_groups):
        return problems
    if not groups:
        problems.append(f"user {user} is not in any group, which AllowGroups/DenyGroups require")
    denied = next((g for g in groups for p in deny_groups if match_pattern(g, p)), None)
    if denied is not None:
        listed = ", ".join(deny_groups)
        problems.append(f"user {user} is in group {denied}, which DenyGroups lists ({listed})")
    if allow_groups and not any(match_pattern(g, p) for g in groups for p in allow_groups):
        problems.append(
            f"user {user} is not in AllowGroups ({', '.join(allow_groups)}); "
            f"their groups: {', '.join(groups) or 'none'}"
        )
    return problems


def _method_problems(config: Mapping[str, Any], user: str, is_root: bool) -> list[str]:
    problems: list[str] = []
    if is_root:
        root_login = _as_str(config, "permitrootlogin", "prohibit-password")
        if root_login == "no":
            problems.append(f"PermitRootLogin no blocks {user}")
        elif root_login not in ("yes", "prohibit-password", "without-password", "forced-commands-only"):
            problems.append(f"PermitRootLogin {root_login} is not understood; assuming it blocks {user}")
    if _as_str(config, "pubkeyauthentication", "yes") != "yes":
        problems.append("PubkeyAuthentication is no")
    return problems


def _key_notes(config: Mapping[str, Any]) -> list[str]:
    notes: list[str] = []
    keys_command = _as_str(config, "authorizedkeyscommand", "none")
    if keys_command.lower() != "none":
        notes.append(f"keys from AuthorizedKeysCommand {keys_command} were not evaluated")
    if _as_str(config, "trustedusercakeys", "none").lower() != "none":
        notes.append("certificates signed by TrustedUserCAKeys were not evaluated")
    if _as_str(config, "revokedkeys", "none").lower() != "none":
        notes.append("RevokedKeys was not checked")
    return notes


def _key_problems(
    config: Mapping[str, Any],
    user: str,
    key_files: Sequence[KeyFile],
    verdicts: Sequence[tuple[AuthorizedKey, str | None]],
) -> list[str]:
    problems = [f"{kf.path} is ignored: {kf.problem}" for kf in key_files if kf.problem]
    rejections = [reason for _key, reason in verdicts if reason is not None]
    if len(rejections) < len(verdicts):
        return problems
    if _as_str(config, "authorizedkeyscommand", "none").lower() != "none":
        return problems  # keys may come from the command: not a proven lock-out
    if not verdicts:
        looked = ", ".join(kf.path for kf in key_files) or "nowhere, AuthorizedKeysFile is none"
        problems.append(f"user {user} has no authorized keys (looked in: {looked})")
    elif all(reason.endswith(_TYPE_REFUSED) for reason in rejections):
        has = ", ".join(dict.fromkeys(key.keytype for key, _reason in verdicts))
        accepted = ", ".join(_accepted_algorithms(config))
        problems.append(
            f"user {user} has no authorized key of a type PubkeyAcceptedAlgorithms accepts "
            f"(has: {has}; accepted: {accepted})"
        )
    else:
        problems.append(f"user {user} has no usable authorized key: {'; '.join(rejections)}")
    return problems


def evaluate_access(
    config: Mapping[str, Any],
    account: Account,
    key_files: Sequence[KeyFile],
    *,
    addr: str,
    host: str | None = None,
    laddr: str | None = None,
    lport: int | None = None,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """Decide whether ``account`` can log in with a public key, as sshd would decide.

    ``config`` is this user's effective configuration (``sshd -T -C user=...``, so Match
    blocks are already applied); ``host`` is the client host name sshd would use (the
    address itself unless UseDNS is yes).  The checks follow auth.c allowed_user() and
    auth2-pubkey.c: account (existence, lock without PAM, expiry, shell), DenyUsers,
    AllowUsers, DenyGroups, AllowGroups (in that order), PermitRootLogin for uid 0,
    PubkeyAuthentication, the authorized keys and AuthenticationMethods; plus whether
    sshd listens where the connection arrives.  Every problem is reported, not only the
    first; ``allowed`` is true when there is none.

    Returns ``{user, addr, host, allowed, problems, notes, groups, usable_keys, key_files}``.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    host = host or addr
    user = account.name
    listen = _listen_problem(config, laddr, lport)
    result: dict[str, Any] = {
        "user": user,
        "addr": addr,
        "host": host,
        "groups": list(account.groups),
        "key_files": [kf.path for kf in key_files],
        "notes": [],
        "usable_keys": 0,
    }
    if not account.exists:
        problems = ["account does not exist"] + ([listen] if listen else [])
        result.update(allowed=False, problems=problems)
        return result

    is_root = account.uid == 0
    keys = [key for kf in key_files if not kf.problem for key in kf.keys]
    verdicts = [
        (key, key_rejection(key, config, addr=addr, host=host, is_root=is_root, now=now)) for key in keys
    ]
    usable = sum(1 for _key, reason in verdicts if reason is None)
    problems = [
        *_account_problems(config, account),
        *_user_list_problems(config, user, addr, host),
        *_group_list_problems(config, user, account.groups),
        *_method_problems(config, user, is_root),
        *_key_problems(config, user, key_files, verdicts),
    ]
    methods = _authentication_methods_problem(config, usable)
    if methods:
        problems.append(methods)
    if listen:
        problems.append(listen)
    notes = _key_notes(config)
    if usable:
        notes.extend(f"key refused: {reason}" for _key, reason in verdicts if reason is not None)
    result.update(allowed=not problems, problems=problems, notes=notes, usable_keys=usable)
    return result
