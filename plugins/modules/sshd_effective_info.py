#!/usr/bin/python
# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: sshd's effective configuration and who it would let in."""
# Ansible modules keep DOCUMENTATION/EXAMPLES/RETURN above the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sshd_effective_info
short_description: Report sshd's effective configuration and whether given users could still log in
version_added: "0.1.0"
description:
  - Runs C(sshd -T) (with C(-C) for a connection) and returns the effective configuration
    as a dictionary, the OpenSSH version, and the algorithms this OpenSSH build supports
    (C(ssh -Q)).
  - Evaluates, as sshd itself would, whether each given account could log in with a public
    key over a given connection, and says in plain words what would lock it out
    (DenyUsers/AllowUsers/DenyGroups/AllowGroups, PermitRootLogin, PubkeyAuthentication,
    AuthenticationMethods, key types against PubkeyAcceptedAlgorithms and RequiredRSASize,
    key options C(from=) and C(expiry-time=), unreadable or StrictModes-refused
    authorized_keys files, missing accounts and shells, expired or (without PAM) locked
    accounts, and ports sshd would not listen on).
  - With O(config_content) it checks a candidate sshd_config (C(sshd -t)) and evaluates
    that instead of the installed one, so a role can refuse to install a configuration
    that would lock its own connection out.
  - Read-only. Run it as root (C(become=true)); sshd needs the host keys and the
    authorized_keys files of other users have to be read.
  - If sshd reports that its privilege separation directory (C(/run/sshd) on Debian) is
    missing, the module creates it with mode 0755, as Debian's own init script does
    before C(sshd -t), and warns. Nothing else on the host is changed.
author:
  - Rampart developers
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  config_file:
    description:
      - The sshd configuration file to evaluate when O(config_content) is not given.
    type: path
    default: /etc/ssh/sshd_config
  config_content:
    description:
      - A whole candidate sshd_config. It is written to a private temporary file, checked
        with C(sshd -t -f FILE) (the module fails with sshd's message if it is invalid),
        and evaluated instead of O(config_file). The temporary file is always removed.
      - Relative C(Include) paths in it are read from C(/etc/ssh), as sshd does.
    type: str
  connection:
    description:
      - The connection to evaluate, passed to C(sshd -T -C) so Match blocks apply. The
        returned RV(config) is the configuration for this connection.
      - Typically built from C(SSH_CONNECTION) of the managing connection.
    type: dict
    suboptions:
      user:
        description: The account that logs in.
        type: str
        required: true
      addr:
        description: The client IP address.
        type: str
        required: true
      host:
        description:
          - The client host name sshd would use. With C(UseDNS no), the default, sshd uses
            the address, so leave this unset unless UseDNS is yes.
          - Defaults to O(connection.addr).
        type: str
      laddr:
        description: The server address the connection arrives at (for Match LocalAddress and ListenAddress).
        type: str
      lport:
        description: The server port the connection arrives at (for Match LocalPort and Port/ListenAddress).
        type: int
  check_users:
    description:
      - More accounts, for example the declared administrators, whose access is evaluated
        as well, each with its own C(sshd -T -C user=NAME,...) so Match User/Group blocks apply.
      - They are evaluated as if they connected like O(connection) (same address, host,
        local address and port). Without O(connection) they are evaluated from address
        C(127.0.0.1) with no local address or port, so address-bound rules (C(user@10.0.0.0/8),
        Match Address) are judged for a local login; give O(connection) to judge a remote one.
    type: list
    elements: str
    default: []
  sshd_path:
    description:
      - Path of the sshd binary. By default C(sshd) is looked up in PATH and C(/usr/sbin).
    type: path
notes:
  - C(ssh -Q) (package openssh-client, a dependency of openssh-server on Debian) gives
    RV(supported); it lists what the installed OpenSSH library supports, which is the
    same for sshd.
  - StrictModes is checked as Debian's sshd does it when C(ssh -V) reports a Debian or
    Ubuntu build (group-writable is tolerated when the group's only member is the owner).
  - Certificates (TrustedUserCAKeys), AuthorizedKeysCommand and RevokedKeys are not
    evaluated; the access entry says so in its C(notes). File ACLs are not considered
    when deciding whether the user can read its authorized_keys.
seealso:
  - name: sshd -T
    description: The sshd(8) manual, extended test mode.
    link: https://man.openbsd.org/sshd#T
"""

EXAMPLES = r"""
- name: RAC-01 | Know the managing connection
  ansible.builtin.set_fact:
    __sshd_connection: "{{ ansible_env.SSH_CONNECTION.split(' ') }}"

- name: RAC-01 | Check that the candidate configuration keeps us and the admins in
  rampart.hardening.sshd_effective_info:
    config_content: "{{ lookup('ansible.builtin.template', 'sshd_config.j2') }}"
    connection:
      user: "{{ ansible_user }}"
      addr: "{{ __sshd_connection[0] }}"
      laddr: "{{ __sshd_connection[2] }}"
      lport: "{{ __sshd_connection[3] | int }}"
    check_users: "{{ sshd_admin_users }}"
  register: __sshd_candidate

- name: RAC-01 | Refuse a configuration that would lock someone out
  ansible.builtin.assert:
    that: __sshd_candidate.access | rejectattr('allowed') | list | length == 0
    fail_msg: "{{ __sshd_candidate.access | rejectattr('allowed') | map(attribute='problems') | flatten }}"

- name: RAC-01 | Pick the strongest ciphers this OpenSSH supports
  ansible.builtin.set_fact:
    __sshd_ciphers: >-
      {{ sshd_ciphers | rampart.hardening.ssh_algorithms(__sshd_candidate.supported['cipher'], 'Ciphers') }}

- name: Show the effective settings of the installed configuration
  rampart.hardening.sshd_effective_info:
  register: __sshd_effective
"""

RETURN = r"""
version:
  description: OpenSSH version, from C(sshd -V) (and C(ssh -V), which also gives the portable suffix).
  returned: always
  type: str
  sample: 9.2p1
version_info:
  description: Major and minor OpenSSH version.
  returned: always
  type: list
  elements: int
  sample: [9, 2]
config:
  description:
    - The effective configuration printed by C(sshd -T), for O(connection) when given.
    - Keys are lowercase. Algorithm lists (ciphers, macs, kexalgorithms, hostkeyalgorithms,
      pubkeyacceptedalgorithms, hostbasedacceptedalgorithms, casignaturealgorithms,
      gssapikexalgorithms) are lists split on commas.
    - allowusers, allowgroups, denyusers, denygroups, authorizedkeysfile,
      authenticationmethods, acceptenv, permitopen and permitlisten are lists of words;
      the four allow/deny lists are empty when unset, C(authorizedkeysfile none) gives an
      empty list, C(authenticationmethods any) stays C([any]) and each element of a
      non-default one is a comma-separated method list such as C(publickey,password).
    - hostkey, hostcertificate, listenaddress (C(ADDRESS:PORT), IPv6 in brackets), port,
      subsystem (C(NAME COMMAND)) and setenv are lists with one element per entry, as is
      any other key sshd prints more than once.
    - Everything else is a string exactly as sshd prints it, for example
      C(permitrootlogin without-password) for prohibit-password and requiredrsasize C("1024").
  returned: always
  type: dict
  sample:
    port: ["22"]
    listenaddress: ["[::]:22", "0.0.0.0:22"]
    permitrootlogin: without-password
    ciphers: [chacha20-poly1305@openssh.com, aes256-gcm@openssh.com]
    allowusers: []
    authenticationmethods: [any]
supported:
  description:
    - Algorithms this OpenSSH build supports, from C(ssh -Q cipher|mac|kex|key|key-sig).
      C(key-sig) is missing on an OpenSSH too old to list it.
  returned: always
  type: dict
  sample:
    cipher: [aes128-ctr, aes256-gcm@openssh.com, chacha20-poly1305@openssh.com]
    mac: [hmac-sha2-256-etm@openssh.com]
    kex: [sntrup761x25519-sha512@openssh.com, curve25519-sha256]
    key: [ssh-ed25519, ssh-rsa]
    key-sig: [ssh-ed25519, rsa-sha2-512, rsa-sha2-256]
access:
  description:
    - One entry per evaluated account, the O(connection) user first, then O(check_users).
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: Account name.
      type: str
    addr:
      description: Client address the account was evaluated from.
      type: str
    host:
      description: Client host name used for C(user@host) patterns and C(from=) options.
      type: str
    allowed:
      description: True when nothing found would stop a public-key login.
      type: bool
    problems:
      description: Plain-English reasons the account would be locked out; empty when allowed.
      type: list
      elements: str
      sample:
        - "user rampart is not in AllowGroups (wheel); their groups: rampart, users"
        - >-
          user rampart has no authorized key of a type PubkeyAcceptedAlgorithms accepts
          (has: ssh-rsa; accepted: ssh-ed25519)
    notes:
      description: What was not evaluated, and keys refused while another key still works.
      type: list
      elements: str
    groups:
      description: The account's primary and supplementary groups.
      type: list
      elements: str
    usable_keys:
      description: How many authorized keys sshd would accept for this connection.
      type: int
    key_files:
      description: The authorized_keys files sshd would look at, expanded.
      type: list
      elements: str
dropins:
  description:
    - Files sshd reads through C(Include) directives, in the order it reads them
      (globs sorted, nested includes followed).
  returned: always
  type: list
  elements: str
  sample: [/etc/ssh/sshd_config.d/50-rampart.conf]
"""

import datetime
import glob
import grp
import ipaddress
import os
import pwd
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rampart.hardening.plugins.module_utils.sshd import (
    Account,
    KeyFile,
    PathStat,
    evaluate_access,
    expand_authorized_keys_path,
    key_file_problem,
    parse_authorized_keys,
    parse_effective_config,
    parse_include_patterns,
    parse_query_list,
    parse_shadow_entry,
    parse_version,
    private_group_ids,
    resolve_include_pattern,
    shell_problem,
)

SHADOW_PATH = "/etc/shadow"
QUERY_KINDS = ("cipher", "mac", "kex", "key", "key-sig")
LOCAL_ADDR = "127.0.0.1"
MAX_INCLUDE_DEPTH = 16  # sshd's own limit
PRIVSEP_MISSING = "Missing privilege separation directory:"

ARGUMENT_SPEC: dict[str, Any] = {
    "config_file": {"type": "path", "default": "/etc/ssh/sshd_config"},
    "config_content": {"type": "str"},
    "connection": {
        "type": "dict",
        "options": {
            "user": {"type": "str", "required": True},
            "addr": {"type": "str", "required": True},
            "host": {"type": "str"},
            "laddr": {"type": "str"},
            "lport": {"type": "int"},
        },
    },
    "check_users": {"type": "list", "elements": "str", "default": []},
    "sshd_path": {"type": "path"},
}


def _fail(module: AnsibleModule, msg: str, cmd: list[str], result: tuple[int, str, str]) -> None:
    rc, out, err = result
    if rc != 0 and os.geteuid() != 0:
        msg += " (the module is not running as root: use become=true)"
    module.fail_json(msg=msg, cmd=cmd, rc=rc, stdout=out, stderr=err)


def run_sshd(module: AnsibleModule, cmd: list[str], what: str, candidate: str | None = None) -> str:
    """Run sshd; create the privilege separation directory once if sshd asks for it.

    ``candidate`` is the temporary file holding config_content: messages call it that.
    """
    rc, out, err = module.run_command(cmd)
    if rc != 0 and PRIVSEP_MISSING in err:
        path = err.split(PRIVSEP_MISSING, 1)[1].strip().splitlines()[0].strip()
        if path.startswith("/") and not Path(path).exists():
            Path(path).mkdir(mode=0o755, parents=True)
            Path(path).chmod(0o755)
            module.warn(f"created sshd's missing privilege separation directory {path} (mode 0755)")
            rc, out, err = module.run_command(cmd)
    if rc != 0:
        first = (err.strip() or out.strip() or "no output").splitlines()[0]
        if candidate:
            first = first.replace(candidate, "config_content")
        _fail(module, f"{what} failed: {first}", cmd, (rc, out, err))
    for line in dict.fromkeys(err.splitlines()):
        if line.strip():
            module.warn(f"{what}: {line.strip()}")
    return str(out)


def get_version(module: AnsibleModule, sshd: str, ssh: str) -> tuple[str, list[int], bool]:
    """(version, [major, minor], Debian-patched).

    sshd -V gives the server's version; ssh -V adds the portable suffix (9.2 -> 9.2p1)
    where sshd leaves it out (Debian 12).  A Debian or Ubuntu build carries Debian's
    StrictModes patch, see private_group_ids().
    """
    found: list[tuple[str, list[int]]] = []
    texts: list[str] = []
    for binary in (sshd, ssh):
        _rc, out, err = module.run_command([binary, "-V"])
        try:
            found.append(parse_version(f"{err}\n{out}"))
            texts.append(f"{err}\n{out}")
        except ValueError:
            continue
    if not found:
        module.fail_json(msg=f"could not find the OpenSSH version in the output of {sshd} -V or {ssh} -V")
    version, info = found[0]
    if len(found) == 2 and found[1][1] == info and found[1][0].startswith(version):
        version = found[1][0]
    elif len(found) == 2 and found[1][1] != info:
        module.warn(
            f"sshd is OpenSSH {version} but ssh is OpenSSH {found[1][0]}: supported lists come from ssh"
        )
    debian = any(marker in text for text in texts for marker in ("Debian", "Ubuntu"))
    return version, info, debian


def get_supported(module: AnsibleModule, ssh: str) -> dict[str, list[str]]:
    supported: dict[str, list[str]] = {}
    for kind in QUERY_KINDS:
        cmd = [ssh, "-Q", kind]
        rc, out, err = module.run_command(cmd)
        if rc != 0:
            if kind == "key-sig":
                continue  # older OpenSSH cannot list it
            _fail(module, f"ssh -Q {kind} failed", cmd, (rc, out, err))
        try:
            supported[kind] = parse_query_list(out, kind)
        except ValueError as exc:
            _fail(module, str(exc), cmd, (rc, out, err))
    return supported


@contextmanager
def config_to_evaluate(module: AnsibleModule, sshd: str) -> Iterator[tuple[str, str]]:
    """Yield (path, text) of the configuration to evaluate; a candidate lives in a temp file."""
    content = module.params["config_content"]
    if content is None:
        path = module.params["config_file"]
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            module.fail_json(msg=f"cannot read config_file {path}: {exc.strerror}")
        yield path, text
        return
    fd, path = tempfile.mkstemp(prefix="sshd_config.", suffix=".candidate", dir=module.tmpdir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        run_sshd(module, [sshd, "-t", "-f", path], "sshd -t on the candidate configuration", candidate=path)
        yield path, content
    finally:
        Path(path).unlink(missing_ok=True)


def connection_spec(user: str, addr: str, host: str, laddr: str | None, lport: int | None) -> str:
    spec = f"user={user},addr={addr},host={host}"
    if laddr:
        spec += f",laddr={laddr}"
    if lport is not None:
        spec += f",lport={lport}"
    return spec


def check_params(module: AnsibleModule) -> None:
    """Reject values sshd's -C option cannot carry before anything runs."""
    conn = module.params["connection"] or {}
    names = [conn.get("user")] if conn else []
    names += module.params["check_users"]
    for name in names:
        if not name or any(c in name for c in ", \t\n=:"):
            module.fail_json(msg=f"invalid account name {name!r}")
    for key in ("addr", "laddr"):
        if conn.get(key):
            try:
                ipaddress.ip_address(conn[key])
            except ValueError:
                module.fail_json(msg=f"connection.{key} must be an IP address, got {conn[key]!r}")
    if conn.get("host") and any(c in conn["host"] for c in ", \t\n"):
        module.fail_json(msg=f"invalid connection.host {conn['host']!r}")
    if conn.get("lport") is not None and not 0 < conn["lport"] < 65536:
        module.fail_json(msg=f"connection.lport must be 1-65535, got {conn['lport']}")


def _path_stat(path: Path) -> PathStat:
    st = path.stat()
    return PathStat(str(path), st.st_uid, st.st_gid, st.st_mode)


def read_key_file(
    path: str, home: str, uid: int, gids: list[int], *, strict_modes: bool, private_gids: set[int]
) -> KeyFile:
    """Stat and read one authorized_keys file the way sshd would look at it."""
    real = Path(path).resolve()
    try:
        chain = [_path_stat(entry) for entry in (real, *real.parents)]
    except FileNotFoundError:
        return KeyFile(path, exists=False)
    except OSError as exc:
        return KeyFile(path, problem=f"cannot be checked: {exc.strerror}")
    problem = key_file_problem(
        chain, str(Path(home).resolve()), uid, gids, strict_modes, private_gids=private_gids
    )
    if problem:
        return KeyFile(path, problem=problem)
    try:
        text = real.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return KeyFile(path, problem=f"cannot be read: {exc.strerror}")
    return KeyFile(path, keys=parse_authorized_keys(text, source=path))


def lookup_account(name: str, config: dict[str, Any], debian: bool) -> tuple[Account, list[KeyFile]]:
    """Everything evaluate_access needs to know about an account, read from the host."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return Account(name, exists=False), []
    gids = os.getgrouplist(name, pw.pw_gid)
    groups: list[str] = []
    for gid in gids:
        try:
            groups.append(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    shell = pw.pw_shell or "/bin/sh"
    try:
        st = Path(shell).stat()
        problem = shell_problem(
            shell,
            True,
            bool(st.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)),
            stat.S_ISREG(st.st_mode),
        )
    except OSError:
        problem = shell_problem(shell, False, False)
    locked = expired = False
    try:
        shadow = Path(SHADOW_PATH).read_text(encoding="utf-8", errors="replace")
        today = (datetime.date.today() - datetime.date(1970, 1, 1)).days
        _found, locked, expired = parse_shadow_entry(shadow, name, today)
    except OSError:
        pass
    account = Account(
        name,
        uid=pw.pw_uid,
        home=pw.pw_dir,
        shell=shell,
        shell_problem=problem,
        groups=list(dict.fromkeys(groups)),
        locked=locked,
        expired=expired,
    )
    strict_modes = str(config.get("strictmodes", "yes")) == "yes"
    private_gids: set[int] = set()
    if strict_modes and debian:
        private_gids = private_group_ids(
            name,
            ((entry.pw_name, entry.pw_gid) for entry in pwd.getpwall()),
            ((entry.gr_gid, entry.gr_mem) for entry in grp.getgrall()),
        )
    key_files: list[KeyFile] = []
    for template in config.get("authorizedkeysfile", []):
        try:
            path = expand_authorized_keys_path(template, name, pw.pw_dir, pw.pw_uid)
        except ValueError as exc:
            key_files.append(KeyFile(template, exists=False, problem=str(exc)))
            continue
        key_files.append(
            read_key_file(
                path, pw.pw_dir, pw.pw_uid, gids, strict_modes=strict_modes, private_gids=private_gids
            )
        )
    return account, key_files


def _glob(pattern: str) -> list[str]:
    """glob(3) as sshd uses it: ``*`` skips dotfiles (pathlib's glob would not), ~ is root's home."""
    return glob.glob(str(Path(pattern).expanduser()))  # noqa: PTH207


def list_dropins(text: str, depth: int = 0) -> list[str]:
    """Files sshd reads through Include, in order (sshd sorts each glob's matches)."""
    files: list[str] = []
    if depth >= MAX_INCLUDE_DEPTH:
        return files
    for pattern in parse_include_patterns(text):
        for path in sorted(_glob(resolve_include_pattern(pattern))):
            if not Path(path).is_file():
                continue
            files.append(path)
            try:
                files.extend(
                    list_dropins(Path(path).read_text(encoding="utf-8", errors="replace"), depth + 1)
                )
            except OSError:
                continue
    return list(dict.fromkeys(files))


def effective_config(
    module: AnsibleModule, sshd: str, path: str, spec: str | None, candidate: bool
) -> dict[str, Any]:
    cmd = [sshd, "-T", "-f", path] + (["-C", spec] if spec else [])
    what = "sshd -T" + (f" -C {spec}" if spec else "")
    out = run_sshd(module, cmd, what, candidate=path if candidate else None)
    try:
        return parse_effective_config(out)
    except ValueError as exc:
        module.fail_json(msg=f"{what}: {exc}", cmd=cmd, stdout=out)
        raise  # not reached: fail_json exits


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    check_params(module)
    sshd = module.params["sshd_path"] or module.get_bin_path("sshd", required=True, opt_dirs=["/usr/sbin"])
    ssh = module.get_bin_path("ssh", required=True, opt_dirs=["/usr/bin"])
    conn = module.params["connection"]
    version, version_info, debian = get_version(module, sshd, ssh)
    supported = get_supported(module, ssh)

    if conn:
        addr, host = conn["addr"], conn.get("host") or conn["addr"]
        laddr, lport = conn.get("laddr"), conn.get("lport")
        users = [conn["user"], *module.params["check_users"]]
    else:
        addr, host, laddr, lport = LOCAL_ADDR, LOCAL_ADDR, None, None
        users = list(module.params["check_users"])

    access: list[dict[str, Any]] = []
    with config_to_evaluate(module, sshd) as (path, text):
        spec = connection_spec(conn["user"], addr, host, laddr, lport) if conn else None
        candidate = module.params["config_content"] is not None
        config = effective_config(module, sshd, path, spec, candidate)
        for user in dict.fromkeys(users):
            user_spec = connection_spec(user, addr, host, laddr, lport)
            user_config = (
                config if user_spec == spec else effective_config(module, sshd, path, user_spec, candidate)
            )
            account, key_files = lookup_account(user, user_config, debian)
            access.append(
                evaluate_access(
                    user_config, account, key_files, addr=addr, host=host, laddr=laddr, lport=lport
                )
            )
        dropins = list_dropins(text)

    module.exit_json(
        changed=False,
        version=version,
        version_info=version_info,
        config=config,
        supported=supported,
        access=access,
        dropins=dropins,
    )


if __name__ == "__main__":
    main()
