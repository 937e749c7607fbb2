"""Tests for the sshd_effective_info module: main() with run_command answered from real captures.

Accounts are faked (pwd/grp), but their home directories and authorized_keys files are
real files in a temporary directory, so the module's own file checks run for real.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.rampart.hardening.plugins.module_utils.sshd import parse_effective_config
from ansible_collections.rampart.hardening.plugins.modules import sshd_effective_info

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "sshd"
SSHD = "/usr/sbin/sshd"
SSH = "/usr/bin/ssh"
USER_UID = os.getuid() or 1000  # a non-root uid that owns (or, as root, can read) the test files


def fixture(release: str, name: str) -> tuple[int, str, str]:
    base = FIXTURES / release / name
    return (
        int((base.with_suffix(".rc")).read_text()),
        base.with_suffix(".stdout").read_text(),
        base.with_suffix(".stderr").read_text(),
    )


@dataclass
class FakePasswd:
    pw_name: str
    pw_uid: int
    pw_gid: int
    pw_dir: str
    pw_shell: str


@dataclass
class FakeGroup:
    gr_name: str
    gr_gid: int = 0
    gr_mem: list[str] = field(default_factory=list)


@dataclass
class Host:
    """The fake host: command answers, accounts, and a record of the commands run."""

    release: str
    root: Path
    t_specs: dict[str | None, str] = field(default_factory=dict)  # -C spec -> fixture name
    overrides: dict[tuple[str, ...], list[tuple[int, str, str]]] = field(default_factory=dict)
    users: dict[str, FakePasswd] = field(default_factory=dict)
    groups: dict[int, str] = field(default_factory=dict)
    memberships: dict[str, list[int]] = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)

    def run(self, args: list[str]) -> tuple[int, str, str]:
        self.commands.append(list(args))
        for prefix, answers in self.overrides.items():
            if tuple(args[: len(prefix)]) == prefix and answers:
                return answers.pop(0) if len(answers) > 1 else answers[0]
        if args == [SSHD, "-V"]:
            return fixture(self.release, "sshd_V")
        if args == [SSH, "-V"]:
            return fixture(self.release, "ssh_V")
        if args[:2] == [SSH, "-Q"]:
            return fixture(self.release, f"ssh_Q_{args[2]}")
        if args[:2] == [SSHD, "-t"]:
            self.candidates.append(args[3])
            assert Path(args[3]).exists()
            return fixture(self.release, "sshd_t_hardened")
        if args[:2] == [SSHD, "-T"]:
            spec = args[5] if len(args) > 5 else None
            return fixture(self.release, self.t_specs[spec])
        raise AssertionError(f"unexpected command {args}")

    def add_user(
        self, name: str, groups: list[str], keys: list[str], uid: int = USER_UID, shell: str = "/bin/sh"
    ) -> Path:
        home = self.root / name
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(parents=True)
        home.chmod(0o755)
        ssh_dir.chmod(0o755)
        key_file = ssh_dir / "authorized_keys"
        key_file.write_text("".join((FIXTURES / "keys" / f"{k}.pub").read_text() for k in keys))
        key_file.chmod(0o644)
        gids = []
        for group in groups:
            gid = next((g for g, n in self.groups.items() if n == group), 2000 + len(self.groups))
            self.groups[gid] = group
            gids.append(gid)
        self.users[name] = FakePasswd(name, uid, gids[0], str(home), shell)
        self.memberships[name] = gids
        return home


@pytest.fixture
def world_readable_tmp() -> Iterator[Path]:
    """A temp dir any uid may enter (pytest's own tmp_path sits under a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="rampart-sshd-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def host_factory(
    monkeypatch: pytest.MonkeyPatch, world_readable_tmp: Path, tmp_path: Path
) -> Callable[[str], Host]:
    def make(release: str) -> Host:
        host = Host(release, world_readable_tmp)

        def run_command(_self: Any, args: list[str], **_kwargs: Any) -> tuple[int, str, str]:
            return host.run(args)

        def get_bin_path(_self: Any, name: str, required: bool = False, opt_dirs: Any = None) -> str:
            return {"sshd": SSHD, "ssh": SSH}[name]

        def getpwnam(name: str) -> FakePasswd:
            if name not in host.users:
                raise KeyError(name)
            return host.users[name]

        def getgrgid(gid: int) -> FakeGroup:
            if gid not in host.groups:
                raise KeyError(gid)
            return FakeGroup(host.groups[gid])

        # Importing controller code (other tests import ansible.errors) makes module warnings
        # go to the controller's display instead of the result; a real module run is not there.
        monkeypatch.setattr(module_utils_internal, "is_controller", False)
        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", get_bin_path)

        def getgrall() -> list[FakeGroup]:
            return [
                FakeGroup(name, gid, [u for u, gids in host.memberships.items() if gid in gids[1:]])
                for gid, name in host.groups.items()
            ]

        monkeypatch.setattr(pwd, "getpwnam", getpwnam)
        monkeypatch.setattr(pwd, "getpwall", lambda: list(host.users.values()))
        monkeypatch.setattr(grp, "getgrall", getgrall)
        monkeypatch.setattr(grp, "getgrgid", getgrgid)
        monkeypatch.setattr(os, "getgrouplist", lambda name, _gid: host.memberships[name])
        shadow = tmp_path / "shadow"
        shadow.write_text("")
        monkeypatch.setattr(sshd_effective_info, "SHADOW_PATH", str(shadow))
        config_file = tmp_path / "sshd_config"
        config_file.write_text((FIXTURES / release / "sshd_config.dist").read_text())
        return host

    return make


def run_module(args: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    args = {"config_file": str(tmp_path / "sshd_config"), "_ansible_tmpdir": str(tmp_path), **args}
    with patch_module_args(args), pytest.raises(SystemExit):
        sshd_effective_info.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def warnings(result: dict[str, Any]) -> list[str]:
    """Warning texts: ansible-core 2.19 returns WarningSummary dicts, older cores plain strings."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def spec(user: str, addr: str = "10.1.2.3", extra: str = ",laddr=10.0.0.5,lport=22") -> str:
    return f"user={user},addr={addr},host={addr}{extra}"


def hardened_host(host_factory: Callable[[str], Host], release: str) -> Host:
    host = host_factory(release)
    host.t_specs = {
        spec("rampart"): "sshd_T_hardened_rampart_10",
        spec("deploy"): "sshd_T_hardened_deploy",
        spec("ghost"): "sshd_T_hardened_ghost",
        spec("root"): "sshd_T_hardened_root",
    }
    host.add_user("rampart", ["rampart"], ["ed25519", "ed25519_2"])
    host.add_user("deploy", ["deploy", "wheel"], ["ed25519"])
    host.add_user("root", ["root"], ["ed25519"], uid=0)
    return host


CONNECTION = {"user": "rampart", "addr": "10.1.2.3", "laddr": "10.0.0.5", "lport": 22}


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_connection_and_admins_on_hardened_config(
    host_factory: Callable[[str], Host], release: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hardened_host(host_factory, release)
    result = run_module(
        {"connection": CONNECTION, "check_users": ["deploy", "ghost", "root", "rampart"]}, tmp_path, capsys
    )
    assert result["changed"] is False
    assert "failed" not in result, result.get("msg")
    assert result["version"] == {"bookworm": "9.2p1", "trixie": "10.0p2"}[release]
    assert result["version_info"] == {"bookworm": [9, 2], "trixie": [10, 0]}[release]
    expected = parse_effective_config(fixture(release, "sshd_T_hardened_rampart_10")[1])
    assert result["config"] == expected
    assert sorted(result["supported"]) == ["cipher", "kex", "key", "key-sig", "mac"]
    assert "ssh-ed25519" in result["supported"]["key"]
    by_user = {entry["user"]: entry for entry in result["access"]}
    assert list(by_user) == ["rampart", "deploy", "ghost", "root"]  # duplicates dropped
    assert by_user["rampart"]["allowed"] is True
    assert by_user["rampart"]["usable_keys"] == 2
    assert by_user["rampart"]["groups"] == ["rampart"]
    assert by_user["rampart"]["key_files"][1] == "/etc/ssh/authorized_keys/rampart"
    assert by_user["deploy"]["allowed"] is True
    assert by_user["ghost"]["problems"] == ["account does not exist"]
    assert by_user["root"]["problems"] == [
        "user root is not in AllowGroups (wheel, rampart); their groups: root"
    ]
    assert result["dropins"] == []


def test_key_files_are_expanded_per_user(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = hardened_host(host_factory, "bookworm")
    result = run_module({"connection": CONNECTION}, tmp_path, capsys)
    (entry,) = result["access"]
    assert entry["key_files"] == [
        str(host.root / "rampart/.ssh/authorized_keys"),
        "/etc/ssh/authorized_keys/rampart",
    ]


def test_candidate_that_locks_the_connection_out(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = hardened_host(host_factory, "bookworm")
    host.t_specs = {spec("rampart", "192.0.2.7", ""): "sshd_T_hardened_rampart_192"}
    candidate = (FIXTURES / "hardened.conf").read_text()
    result = run_module(
        {"config_content": candidate, "connection": {"user": "rampart", "addr": "192.0.2.7"}},
        tmp_path,
        capsys,
    )
    (entry,) = result["access"]
    assert entry["allowed"] is False
    assert entry["problems"] == [
        "user rampart from 192.0.2.7 is not in AllowUsers "
        "(rampart@10.0.0.0/8,!10.9.9.9, deploy, root@10.*, ops@192.0.2.*)"
    ]
    (tmp_file,) = host.candidates
    assert not Path(tmp_file).exists()
    t_commands = [c for c in host.commands if c[1] == "-T"]
    assert t_commands == [[SSHD, "-T", "-f", tmp_file, "-C", spec("rampart", "192.0.2.7", "")]]


@pytest.mark.parametrize(
    "case", ["bad_keyword", "unknown_cipher", "bad_cidr", "match_disallowed", "bad_value"]
)
def test_invalid_candidate_fails_with_sshds_words(
    host_factory: Callable[[str], Host], case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = hardened_host(host_factory, "trixie")
    host.overrides[(SSHD, "-t")] = [fixture("trixie", f"sshd_t_invalid_{case}")]
    result = run_module({"config_content": "whatever\n", "connection": CONNECTION}, tmp_path, capsys)
    assert result["failed"] is True
    rc, _out, err = fixture("trixie", f"sshd_t_invalid_{case}")
    assert result["msg"] == f"sshd -t on the candidate configuration failed: {err.splitlines()[0]}"
    assert result["rc"] == rc
    assert result["stderr"] == err
    tmp_file = next(c[3] for c in host.commands if c[1] == "-t")
    assert not Path(tmp_file).exists()
    assert not any(c[1] == "-T" for c in host.commands)


def test_missing_privsep_directory_is_created_once(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = hardened_host(host_factory, "bookworm")
    privsep = tmp_path / "run" / "sshd"
    rc, out, err = fixture("bookworm", "sshd_T_noprivsep")
    host.overrides[(SSHD, "-T")] = [
        (rc, out, err.replace("/run/sshd", str(privsep))),
        fixture("bookworm", "sshd_T_hardened_rampart_10"),
    ]
    result = run_module({"connection": CONNECTION}, tmp_path, capsys)
    assert "failed" not in result
    assert stat.S_IMODE(privsep.stat().st_mode) == 0o755
    assert any("privilege separation directory" in w for w in warnings(result))


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_no_host_keys_fails_clearly(
    host_factory: Callable[[str], Host], release: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = hardened_host(host_factory, release)
    host.overrides[(SSHD, "-T")] = [fixture(release, "sshd_T_nohostkeys")]
    result = run_module({"connection": CONNECTION}, tmp_path, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"sshd -T -C {spec('rampart')} failed: sshd: no hostkeys available -- exiting."
    )
    assert result["rc"] == 1


def test_garbage_from_sshd_T_fails_with_the_line(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = hardened_host(host_factory, "bookworm")
    host.overrides[(SSHD, "-T")] = [(0, "port 22\nWARNING: something odd\n", "")]
    result = run_module({"connection": CONNECTION}, tmp_path, capsys)
    assert result["failed"] is True
    assert "line 2 is not 'keyword value': 'WARNING: something odd'" in result["msg"]


def test_without_connection_config_is_plain_and_users_are_local(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = host_factory("trixie")
    local = "user=rampart,addr=127.0.0.1,host=127.0.0.1"
    host.t_specs = {None: "sshd_T_default", local: "sshd_T_default"}
    host.add_user("rampart", ["rampart"], ["rsa1024"])
    result = run_module({"check_users": ["rampart"]}, tmp_path, capsys)
    assert result["config"] == parse_effective_config(fixture("trixie", "sshd_T_default")[1])
    (entry,) = result["access"]
    assert entry["addr"] == "127.0.0.1"
    assert entry["allowed"] is True
    t_commands = [c for c in host.commands if c[1] == "-T"]
    assert [c[4:] for c in t_commands] == [[], ["-C", local]]


def test_nothing_to_evaluate(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = host_factory("bookworm")
    host.t_specs = {None: "sshd_T_default"}
    result = run_module({}, tmp_path, capsys)
    assert result["access"] == []
    assert result["config"]["permitrootlogin"] == "without-password"


def test_check_mode_gives_the_same_answer(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hardened_host(host_factory, "bookworm")
    result = run_module({"connection": CONNECTION, "_ansible_check_mode": True}, tmp_path, capsys)
    assert result["changed"] is False
    assert result["access"][0]["allowed"] is True


def test_strict_modes_and_shadow_read_from_real_files(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = hardened_host(host_factory, "bookworm")
    home = host.root / "rampart"
    home.chmod(0o775)
    (tmp_path / "shadow").write_text("rampart:!$y$hash:19000:0:99999:7::1:\n")
    result = run_module({"connection": CONNECTION}, tmp_path, capsys)
    (entry,) = result["access"]
    st = home.stat()
    assert entry["problems"] == [
        "account has expired (its shadow expiry date has passed)",
        f"{home}/.ssh/authorized_keys is ignored: StrictModes refuses {home}/.ssh/authorized_keys: "
        f"directory {home} has owner {st.st_uid}, group {st.st_gid}, mode 0775 "
        "(must be owned by the user or root and not group/world-writable)",
        f"user rampart has no authorized keys (looked in: {home}/.ssh/authorized_keys, "
        "/etc/ssh/authorized_keys/rampart)",
    ]


@pytest.mark.parametrize(
    ("release", "tolerated"), [("bookworm", True), ("trixie", True), ("upstream", False)]
)
def test_debian_tolerates_a_group_writable_home_of_a_private_group(
    host_factory: Callable[[str], Host],
    release: str,
    tolerated: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Debian's sshd accepts a group-writable home whose group has only its owner (realrun: 'strict')."""
    host = hardened_host(host_factory, "bookworm" if release == "upstream" else release)
    if release == "upstream":
        host.overrides[(SSHD, "-V")] = [(0, "", "OpenSSH_9.2, OpenSSL 3.0.20\n")]
        host.overrides[(SSH, "-V")] = [(0, "", "OpenSSH_9.2p1, OpenSSL 3.0.20\n")]
    home = host.root / "rampart"
    os.chown(home, USER_UID, os.getgid())
    home.chmod(0o775)
    host.users["rampart"].pw_gid = os.getgid()
    host.groups[os.getgid()] = "rampart"
    host.memberships["rampart"] = [os.getgid()]
    result = run_module({"connection": CONNECTION}, tmp_path, capsys)
    assert result["access"][0]["allowed"] is tolerated
    # A second member in the group makes it unsafe even on Debian.
    host.memberships["deploy"].append(os.getgid())
    result = run_module({"connection": CONNECTION}, tmp_path, capsys)
    assert result["access"][0]["allowed"] is False


def test_shell_that_is_not_executable(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = hardened_host(host_factory, "bookworm")
    shell = tmp_path / "notashell"
    shell.write_text("")
    shell.chmod(0o644)
    host.users["rampart"].pw_shell = str(shell)
    result = run_module({"connection": CONNECTION}, tmp_path, capsys)
    assert result["access"][0]["problems"] == [
        f"account has no valid login shell ({shell} is not an executable file)"
    ]
    host.users["rampart"].pw_shell = str(tmp_path / "missing")
    result = run_module({"connection": CONNECTION}, tmp_path, capsys)
    assert "does not exist" in result["access"][0]["problems"][0]


def test_dropins_follow_includes_in_sshd_order(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = host_factory("bookworm")
    host.t_specs = {None: "sshd_T_default"}
    conf_d = tmp_path / "conf.d"
    nested = tmp_path / "nested"
    conf_d.mkdir()
    nested.mkdir()
    (conf_d / "50-b.conf").write_text(f"Include {nested}/*.conf\n")
    (conf_d / "10-a.conf").write_text("PermitRootLogin no\n")
    (conf_d / ".hidden.conf").write_text("")
    (conf_d / "notes.txt").write_text("")
    (nested / "x.conf").write_text("")
    (tmp_path / "sshd_config").write_text(f"Include {conf_d}/*.conf\nInclude {tmp_path}/absent/*.conf\n")
    result = run_module({}, tmp_path, capsys)
    assert result["dropins"] == [str(conf_d / "10-a.conf"), str(conf_d / "50-b.conf"), str(nested / "x.conf")]


def test_unreadable_config_file(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host_factory("bookworm")
    result = run_module({"config_file": str(tmp_path / "nope")}, tmp_path, capsys)
    assert result["failed"] is True
    assert result["msg"] == f"cannot read config_file {tmp_path / 'nope'}: No such file or directory"


@pytest.mark.parametrize(
    ("connection", "check_users", "message"),
    [
        ({"user": "rampart", "addr": "admin.example.com"}, [], "connection.addr must be an IP address"),
        ({"user": "rampart", "addr": "10.0.0.1", "laddr": "x"}, [], "connection.laddr must be an IP address"),
        ({"user": "ramp,art", "addr": "10.0.0.1"}, [], "invalid account name 'ramp,art'"),
        ({"user": "rampart", "addr": "10.0.0.1", "host": "a,b"}, [], "invalid connection.host"),
        ({"user": "rampart", "addr": "10.0.0.1", "lport": 70000}, [], "connection.lport must be 1-65535"),
        (None, ["ok", "user=root"], "invalid account name 'user=root'"),
    ],
)
def test_bad_parameters_are_rejected_before_running_anything(  # noqa: PLR0917 - pytest fixtures and params
    host_factory: Callable[[str], Host],
    connection: dict[str, Any] | None,
    check_users: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host = host_factory("bookworm")
    result = run_module({"connection": connection, "check_users": check_users}, tmp_path, capsys)
    assert result["failed"] is True
    assert message in result["msg"]
    assert host.commands == []


def test_version_falls_back_to_ssh_and_key_sig_may_be_missing(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = host_factory("bookworm")
    host.t_specs = {None: "sshd_T_default"}
    host.overrides[(SSHD, "-V")] = [(255, "", "sshd: illegal option\n")]
    host.overrides[(SSH, "-Q", "key-sig")] = [(255, "", 'Unsupported query "key-sig"\n')]
    result = run_module({}, tmp_path, capsys)
    assert result["version"] == "9.2p1"
    assert "key-sig" not in result["supported"]


def test_version_mismatch_warns(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = host_factory("bookworm")
    host.t_specs = {None: "sshd_T_default"}
    host.overrides[(SSH, "-V")] = [(0, "", "OpenSSH_10.0p2 Debian-7, OpenSSL 3.5.1\n")]
    result = run_module({}, tmp_path, capsys)
    assert result["version"] == "9.2"
    assert any("sshd is OpenSSH 9.2 but ssh is OpenSSH 10.0p2" in w for w in warnings(result))


def test_no_version_at_all_fails(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = host_factory("bookworm")
    host.overrides[(SSHD, "-V")] = [(127, "", "not found")]
    host.overrides[(SSH, "-V")] = [(127, "", "not found")]
    result = run_module({}, tmp_path, capsys)
    assert result["failed"] is True
    assert "could not find the OpenSSH version" in result["msg"]


def test_ssh_query_failure_is_reported(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = host_factory("bookworm")
    host.overrides[(SSH, "-Q", "cipher")] = [(1, "", "boom\n")]
    result = run_module({}, tmp_path, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("ssh -Q cipher failed")
    assert result["stderr"] == "boom\n"


def test_documentation_is_valid_yaml() -> None:
    import yaml

    doc = yaml.safe_load(sshd_effective_info.DOCUMENTATION)
    assert doc["module"] == "sshd_effective_info"
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "none"
    assert set(doc["options"]) == set(sshd_effective_info.ARGUMENT_SPEC)
    assert set(doc["options"]["connection"]["suboptions"]) == set(
        sshd_effective_info.ARGUMENT_SPEC["connection"]["options"]
    )
    returned = yaml.safe_load(sshd_effective_info.RETURN)
    assert set(returned) == {"version", "version_info", "config", "supported", "access", "dropins"}
    yaml.safe_load(sshd_effective_info.EXAMPLES)


def test_candidate_errors_name_config_content_not_the_temp_file(
    host_factory: Callable[[str], Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = hardened_host(host_factory, "bookworm")
    real_run = host.run

    def run(args: list[str]) -> tuple[int, str, str]:
        if args[1] == "-t":
            host.commands.append(list(args))
            return (
                255,
                "",
                f"{args[3]}: line 2: Bad configuration option: Frobnicate\n{args[3]}: terminating\n",
            )
        return real_run(args)

    host.run = run  # type: ignore[method-assign]
    result = run_module({"config_content": "Frobnicate yes\n"}, tmp_path, capsys)
    assert result["msg"] == (
        "sshd -t on the candidate configuration failed: "
        "config_content: line 2: Bad configuration option: Frobnicate"
    )
    assert host.commands[-1][3] in result["stderr"]


# The same module, run for real by tests/fixtures/sshd/realrun.sh inside lab containers.


def realrun_result(release: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((FIXTURES / release / "realrun" / f"module_{name}.json").read_text())
    return result


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_recorded_real_run_matches_the_module_contract(release: str) -> None:
    """Checks the results recorded from a real run (tests/fixtures/sshd/*/realrun, made by realrun.sh)
    against the module's contract; it replays recorded data and does not run the module itself."""
    checks = (FIXTURES / release / "realrun" / "checks.txt").read_text().splitlines()
    assert checks == ["privsep before: absent", "privsep after: 755 root", "candidate temp files left: 0"]
    candidate = realrun_result(release, "candidate")
    assert candidate["changed"] is False
    assert candidate["version"] == {"bookworm": "9.2p1", "trixie": "10.0p2"}[release]
    assert candidate["dropins"] == ["/etc/ssh/sshd_config.d/10-banner.conf"]
    assert candidate["config"]["port"] == ["2222"]
    assert any("privilege separation directory /run/sshd" in w for w in warnings(candidate))
    assert len(candidate["access"]) == 17
    negated = realrun_result(release, "negated")["access"][0]
    assert negated["allowed"] is False
    assert negated["problems"][0].startswith("user rampart from 127.0.0.2 is not in AllowUsers")
    wrong_port = realrun_result(release, "wrongport")["access"][0]
    assert wrong_port["problems"] == [
        "sshd would not listen on port 22 that this connection uses (listens on [::]:2222, 0.0.0.0:2222)"
    ]
    invalid = realrun_result(release, "invalid")
    assert invalid["failed"] is True
    assert invalid["msg"] == (
        "sshd -t on the candidate configuration failed: "
        "config_content: line 2: Bad configuration option: Frobnicate"
    )
    check_mode = realrun_result(release, "check_mode")
    assert check_mode["changed"] is False
    assert check_mode["access"][0]["allowed"] is True
    installed = realrun_result(release, "installed")
    assert installed["access"][0]["addr"] == "127.0.0.1"
    assert installed["config"]["allowgroups"] == ["wheel", "rampart"]
