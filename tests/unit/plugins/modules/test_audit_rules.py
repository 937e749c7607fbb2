"""Tests for the audit_rules module: main() with auditctl and augenrules answered by a fake kernel.

The kernel's refusals are the real texts captured in podman (tests/fixtures/audit/<release>/);
``auditctl -s`` on a working kernel is the documented format (tests/fixtures/audit/documented/).
The rules.d directory and the rules file are real files in a temporary directory.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args
from ansible_collections.rampart.hardening.plugins.module_utils.audit import assemble_rules_d, render_rules
from ansible_collections.rampart.hardening.plugins.modules import audit_rules

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "audit"
AUDITCTL = "/usr/sbin/auditctl"
AUGENRULES = "/usr/sbin/augenrules"
STATUS = (FIXTURES / "documented" / "auditctl_s.stdout").read_text()
DEBIAN_BASE = (FIXTURES / "rulesd" / "audit.rules").read_text()
RULES = render_rules(
    [
        {"control": "--backlog_wait_time 60000"},
        {"key": "AUD-03-identity", "watch": "/etc/passwd", "perms": "wa"},
        {
            "key": "AUD-02-access-denied",
            "syscalls": ["open", "openat", "creat"],
            "fields": ["exit=-EACCES", "auid>=1000", "auid!=unset"],
        },
    ]
)


def capture(release: str, name: str) -> tuple[int, str, str]:
    base = FIXTURES / release / name
    return (
        int(base.with_suffix(".rc").read_text()),
        base.with_suffix(".stdout").read_text(),
        base.with_suffix(".stderr").read_text(),
    )


@dataclass
class Kernel:
    """auditctl and augenrules as the kernel would answer them."""

    rules_d: Path
    status: str = STATUS
    listed: list[str] = field(default_factory=list)
    refuse: tuple[int, str, str] | None = None
    load_result: tuple[int, str, str] = (0, "", "")
    load_changes_kernel: bool = True
    commands: list[list[str]] = field(default_factory=list)

    def run(self, args: list[str]) -> tuple[int, str, str]:
        self.commands.append(list(args))
        if args[0] == AUDITCTL and self.refuse is not None:
            return self.refuse
        if args == [AUDITCTL, "-s"]:
            return 0, self.status, ""
        if args == [AUDITCTL, "-l"]:
            return 0, "".join(f"{line}\n" for line in self.listed) or "No rules\n", ""
        if args == [AUGENRULES, "--load"]:
            if self.load_changes_kernel:
                self.load()
            return self.load_result
        raise AssertionError(f"unexpected command {args}")

    def load(self) -> None:
        """What augenrules --load leaves in the kernel, printed as auditctl -l prints it."""
        files = [(p.name, p.read_text()) for p in self.rules_d.iterdir() if p.name.endswith(".rules")]
        assembled = assemble_rules_d(files)
        self.listed = [p.rule.text() for p in assembled.rules() if p.rule]
        for option, parsed in assembled.controls.items():
            value = parsed.control[1] if parsed.control else ""
            name = {
                "-b": "backlog_limit",
                "-f": "failure",
                "-e": "enabled",
                "--backlog_wait_time": "backlog_wait_time",
            }
            if option in name:
                lines = [ln for ln in self.status.splitlines() if not ln.startswith(name[option] + " ")]
                self.status = "\n".join([*lines, f"{name[option]} {value}"]) + "\n"


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Kernel:
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir()
    (rules_d / "audit.rules").write_text(DEBIAN_BASE)
    fake = Kernel(rules_d)

    def run_command(_self: Any, args: list[str], **_kwargs: Any) -> tuple[int, str, str]:
        return fake.run(args)

    def get_bin_path(_self: Any, name: str, required: bool = False, opt_dirs: Any = None) -> str:
        return {"auditctl": AUDITCTL, "augenrules": AUGENRULES}[name]

    monkeypatch.setattr(module_utils_internal, "is_controller", False)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", get_bin_path)
    return fake


def run_module(
    kernel: Kernel, capsys: pytest.CaptureFixture[str], rules: list[str] = RULES, **args: Any
) -> dict[str, Any]:
    params = {
        "rules": rules,
        "path": str(kernel.rules_d / "50-rampart.rules"),
        "_ansible_tmpdir": str(kernel.rules_d.parent),
        **args,
    }
    ansible_warnings._global_warnings.clear()  # a real module run starts with none
    with patch_module_args(params), pytest.raises(SystemExit):
        audit_rules.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def warnings(result: dict[str, Any]) -> list[str]:
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def loads(kernel: Kernel) -> int:
    return sum(1 for c in kernel.commands if c[0] == AUGENRULES)


def test_first_run_writes_and_loads_then_is_idempotent(
    kernel: Kernel, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(kernel, capsys, _ansible_diff=True)
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is True
    assert result["kernel_audit"] is True
    assert result["enabled"] == 1
    assert result["immutable"] is False
    assert result["missing"] == RULES[1:]  # --backlog_wait_time 60000 is already in effect
    assert result["unexpected"] == []
    assert result["loaded"] == [
        "-w /etc/passwd -p wa -k AUD-03-identity",
        "-a always,exit -F arch=b64 -S open,creat,openat -F auid!=unset -F auid>=1000 -F exit=-EACCES "
        "-F key=AUD-02-access-denied",
        "-a always,exit -F arch=b32 -S open,creat,openat -F auid!=unset -F auid>=1000 -F exit=-EACCES "
        "-F key=AUD-02-access-denied",
    ]
    assert result["msg"].startswith("wrote ")
    path = kernel.rules_d / "50-rampart.rules"
    assert path.read_text() == audit_rules.HEADER + "".join(f"{line}\n" for line in RULES)
    st = path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (0, 0)
    assert loads(kernel) == 1
    assert [d["before_header"] for d in result["diff"]] == [str(path), "kernel (auditctl -l)"]
    assert not [p for p in kernel.rules_d.iterdir() if p.name.startswith(".")]  # no temp file left

    again = run_module(kernel, capsys)
    assert again["changed"] is False
    assert again["missing"] == again["unexpected"] == []
    assert again["msg"] == "the kernel already has these rules"
    assert loads(kernel) == 1


def test_check_mode_changes_nothing(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module(kernel, capsys, _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] is True
    assert result["msg"] == "check mode: would load the rules"
    assert not (kernel.rules_d / "50-rampart.rules").exists()
    assert loads(kernel) == 0
    assert result["diff"][0]["after"].endswith("-k AUD-02-access-denied\n")
    assert "-w /etc/passwd -p wa -k AUD-03-identity" in result["diff"][1]["after"]


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
@pytest.mark.parametrize("capture_dir", ["", "cap_audit_control/"])
def test_container_writes_the_file_only(
    kernel: Kernel, capsys: pytest.CaptureFixture[str], release: str, capture_dir: str
) -> None:
    kernel.refuse = capture(release, f"{capture_dir}auditctl_s")
    result = run_module(kernel, capsys)
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is True
    assert result["kernel_audit"] is False
    assert result["enabled"] is None
    assert result["loaded"] == []
    assert "refused audit requests from this PID namespace" in result["msg"]
    assert (kernel.rules_d / "50-rampart.rules").exists()
    assert loads(kernel) == 0
    again = run_module(kernel, capsys)
    assert again["changed"] is False
    assert "was already right" in again["msg"]


def test_container_check_mode(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    kernel.refuse = capture("bookworm", "auditctl_s")
    result = run_module(kernel, capsys, _ansible_check_mode=True)
    assert result["changed"] is True
    assert "was to be written" in result["msg"]
    assert not (kernel.rules_d / "50-rampart.rules").exists()


def test_kernel_without_audit(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    kernel.refuse = (255, "", (FIXTURES / "documented" / "auditctl_s_noaudit.stderr").read_text())
    result = run_module(kernel, capsys)
    assert result["kernel_audit"] is False
    assert result["msg"].startswith("this kernel has no audit support")


def test_not_root_is_not_a_container(
    kernel: Kernel, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel.refuse = capture("bookworm", "auditctl_s")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = run_module(kernel, capsys)
    assert result["failed"] is True
    assert result["msg"] == (
        "auditctl -s failed: You must be root to run this program. "
        "(the module is not running as root: use become=true)"
    )


def test_immutable_kernel_is_not_loaded(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    kernel.status = (FIXTURES / "documented" / "auditctl_s_immutable.stdout").read_text()
    result = run_module(kernel, capsys)
    assert result["changed"] is True  # the file
    assert result["immutable"] is True
    assert result["reboot_required"] is True
    assert loads(kernel) == 0
    assert any("load at the next boot" in w for w in warnings(result))
    kernel.load()  # the reboot
    kernel.status = (FIXTURES / "documented" / "auditctl_s_immutable.stdout").read_text()
    after_boot = run_module(kernel, capsys)
    assert after_boot["changed"] is False
    assert after_boot["reboot_required"] is False


def test_audit_off_in_the_kernel_warns(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    """Debian 12's VM came up with enabled 0 (real capture): rules load, nothing is logged."""
    kernel.status = (FIXTURES / "bookworm" / "vm" / "auditctl_s_before.stdout").read_text()
    result = run_module(kernel, capsys)
    assert result["enabled"] == 0
    assert any("auditing is off (auditctl -s: enabled 0)" in w for w in warnings(result))
    enabled = run_module(kernel, capsys, rules=[*RULES, "-e 1"])
    assert enabled["missing"] == ["-e 1"]
    assert enabled["enabled"] == 1
    assert not any("auditing is off" in w for w in warnings(enabled))


def test_load_false_reports_without_loading(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module(kernel, capsys, load=False)
    assert result["changed"] is True
    assert result["missing"]
    assert loads(kernel) == 0
    assert result["msg"].endswith("load=false left it as it is")


def test_hand_added_and_reordered_rules_are_reloaded(
    kernel: Kernel, capsys: pytest.CaptureFixture[str]
) -> None:
    run_module(kernel, capsys)
    kernel.listed.append("-w /tmp/x -p wa -k hand")
    result = run_module(kernel, capsys, _ansible_diff=True)
    assert result["unexpected"] == ["-w /tmp/x -p wa -k hand"]
    kernel_diff = result["diff"][-1]
    assert kernel_diff["before"] == kernel_diff["after"] + "-w /tmp/x -p wa -k hand\n"
    assert kernel_diff["after"].startswith("-b 8192\n-f 1\n--backlog_wait_time 60000\n-w /etc/passwd")
    assert result["changed"] is True
    assert loads(kernel) == 2
    kernel.listed.reverse()
    reordered = run_module(kernel, capsys)
    assert reordered["reordered"] is True
    assert reordered["missing"] == reordered["unexpected"] == []
    assert loads(kernel) == 3


def test_control_overridden_by_a_later_file_warns_once(
    kernel: Kernel, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = ["-b 16384", *RULES]
    run_module(kernel, capsys, rules=rules)
    result = run_module(kernel, capsys, rules=rules)
    assert result["changed"] is False
    assert any(
        "'-b 16384' in 50-rampart.rules is overridden by '-b 8192' in audit.rules" in w
        for w in warnings(result)
    )


def test_missing_control_is_loaded(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    (kernel.rules_d / "audit.rules").write_text("-D\n")
    result = run_module(kernel, capsys, rules=["-b 16384", "-f 2"])
    assert result["missing"] == ["-b 16384", "-f 2"]
    assert loads(kernel) == 1
    assert run_module(kernel, capsys, rules=["-b 16384", "-f 2"])["changed"] is False


def test_no_bare_D_warns(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    (kernel.rules_d / "audit.rules").unlink()
    (kernel.rules_d / "10-other.rules").write_text(
        "-a always,exit -F arch=b64 -S chmod -k AUD-02-x\nbad line\n"
    )
    result = run_module(kernel, capsys)
    messages = warnings(result)
    assert "no rules.d file has a bare -D: reloading will fail with 'Rule exists'" in messages
    assert any(m.startswith("cannot read 10-other.rules line 2 'bad line'") for m in messages)
    assert result["loaded"][0] == "-a always,exit -F arch=b64 -S chmod -F key=AUD-02-x"


def test_augenrules_failure_is_reported(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    kernel.load_result = (1, "", "There was an error in line 4 of /etc/audit/audit.rules\n")
    kernel.load_changes_kernel = False
    result = run_module(kernel, capsys)
    assert result["failed"] is True
    assert result["msg"] == "augenrules --load failed: There was an error in line 4 of /etc/audit/audit.rules"
    assert result["still_missing"] == RULES[1:]


def test_load_that_changes_nothing_fails(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    kernel.load_changes_kernel = False
    result = run_module(kernel, capsys)
    assert result["failed"] is True
    assert result["msg"] == "augenrules --load ran but the kernel still differs from rules.d"


def test_wrong_mode_alone_is_fixed(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    run_module(kernel, capsys)
    path = kernel.rules_d / "50-rampart.rules"
    path.chmod(0o644)
    result = run_module(kernel, capsys)
    assert result["changed"] is True
    assert result["msg"].startswith("fixed owner and mode of ")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (["-w /etc/passwd -p wz -k AUD-03-x"], "rules[0] '-w /etc/passwd -p wz -k AUD-03-x': perms must be"),
        (["-D"], "control -D is not allowed here"),
        (["-w /etc/passwd -p wa -k AUD-03-x", "-w /etc/passwd/ -p aw -k AUD-03-x"], "rules[1] "),
        (["-b 1", "-b 2"], "same as rules[0]"),
        (["rm -rf /"], "unexpected word 'rm'"),
    ],
)
def test_bad_rules_are_rejected_before_anything_runs(
    kernel: Kernel, capsys: pytest.CaptureFixture[str], rules: list[str], message: str
) -> None:
    result = run_module(kernel, capsys, rules=rules)
    assert result["failed"] is True
    assert message in result["msg"]
    assert kernel.commands == []


def test_missing_rules_directory(kernel: Kernel, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = run_module(kernel, capsys, path=str(tmp_path / "nope" / "50-rampart.rules"))
    assert result["failed"] is True
    assert "does not exist: is the auditd package installed?" in result["msg"]


def test_garbage_from_auditctl_fails_cleanly(kernel: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    kernel.status = "garbage\n"
    result = run_module(kernel, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("auditctl -s printed no 'enabled' line")
    kernel.status = STATUS
    kernel.listed = ["NLMSG_ERROR 22 (Invalid argument)"]
    result = run_module(kernel, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("auditctl -l line 1")


def test_documentation_matches_the_argument_spec() -> None:
    import yaml

    doc = yaml.safe_load(audit_rules.DOCUMENTATION)
    assert doc["module"] == "audit_rules"
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "full"
    assert set(doc["options"]) == set(audit_rules.ARGUMENT_SPEC)
    for name, spec in audit_rules.ARGUMENT_SPEC.items():
        assert doc["options"][name]["type"] == spec["type"]
        assert doc["options"][name].get("default") == spec.get("default")
    returned = yaml.safe_load(audit_rules.RETURN)
    assert {
        "loaded",
        "missing",
        "unexpected",
        "enabled",
        "immutable",
        "reboot_required",
        "kernel_audit",
    } <= set(returned)
    yaml.safe_load(audit_rules.EXAMPLES)


def test_kernel_helper_prints_like_auditctl(kernel: Kernel) -> None:
    """Guard the fake: its listing must parse as auditctl -l output does."""
    (kernel.rules_d / "50-rampart.rules").write_text("\n".join(RULES) + "\n")
    kernel.load()
    assert kernel.listed[0] == "-w /etc/passwd -p wa -k AUD-03-identity"
    assert "backlog_wait_time 60000" in kernel.status


# The module run for real through Ansible on the lab's QEMU VMs (tests/fixtures/audit/vmcapture.py).


def realrun(release: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((FIXTURES / release / "vm" / f"module_{name}.json").read_text())
    return result


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_real_run_on_lab_vms(release: str) -> None:
    check = realrun(release, "check_mode")
    assert (check["_ansible_status"], check["changed"]) == ("CHANGED", True)
    assert check["msg"] == "check mode: would load the rules"
    assert len(check["missing"]) == 18  # 17 rules and --loginuid-immutable
    first = realrun(release, "first")
    assert (first["_ansible_status"], first["changed"]) == ("CHANGED", True)
    assert (
        first["msg"] == "wrote /etc/audit/rules.d/50-rampart.rules; loaded the rules with augenrules --load"
    )
    assert len(first["loaded"]) == 17
    assert first["status"]["loginuid_immutable"] == {"locked": True, "value": 1}
    again = realrun(release, "again")
    assert (again["_ansible_status"], again["changed"]) == ("SUCCESS", False)
    assert again["msg"] == "the kernel already has these rules"
    assert again["missing"] == again["unexpected"] == []
    assert again["reordered"] is False
    immutable = realrun(release, "immutable_load")
    assert immutable["changed"] is True
    assert immutable["enabled"] == 2
    change = realrun(release, "immutable_change")
    assert change["changed"] is True  # the file only
    assert (change["immutable"], change["reboot_required"]) == (True, True)
    assert change["missing"] == ["-w /etc/hosts -p wa -k AUD-04-hosts"]
    assert change["msg"].endswith("the new rules load at the next boot")
    summary = realrun(release, "summary")
    assert summary["changed"] is False
    assert summary["malformed_lines"] == 0
    assert summary["files"] == ["/var/log/audit/audit.log"]
