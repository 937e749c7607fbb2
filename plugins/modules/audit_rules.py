#!/usr/bin/python
# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: own one audit rules.d file and keep the kernel's rules in step with it."""
# Ansible modules keep DOCUMENTATION/EXAMPLES/RETURN above the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_rules
short_description: Write the audit rules file a role owns and load it into the kernel
version_added: "0.1.0"
description:
  - Writes O(rules) to the rules.d file O(path) (atomically, owner root, mode 0600) when its
    content differs, and loads the rules with C(augenrules --load) when the kernel's rules
    (C(auditctl -l)) or settings (C(auditctl -s)) differ from what augenrules would load.
  - The comparison is between the kernel and the whole of rules.d as augenrules assembles it
    (files in C(ls -v) order, the last C(-D), C(-b), C(-f) and C(-e) win), with this file's
    new content in place. Rules other files load are therefore not reported as unexpected,
    and a control another file overrides (Debian's C(audit.rules) sorts after C(50-*.rules)
    and sets C(-b 8192) and C(-f 1)) is reported in a warning, not reloaded forever.
  - Both sides are normalised before they are compared, as C(auditctl -l) prints rules -
    C(-k KEY) and C(-F key=KEY), C(auid!=unset), C(-1) and C(4294967295), C(exit=-EACCES)
    and C(-13), syscall lists in any order or split over several C(-S), perms in any order,
    C(a2&01003) and C(0x203), C(-w DIR/) and C(-F dir=DIR -F perm=..), fields in any order.
  - Order matters within one filter list (the kernel stops at the first rule that matches a
    syscall and logs that rule's key), not across lists. A kernel whose rules are all there
    but in another order is reloaded (RV(reordered)).
  - When the kernel's rules are immutable (C(-e 2), RV(enabled) is 2) nothing is loaded; the
    file is still written, and RV(reboot_required) says whether the rules differ.
  - In a container the kernel refuses audit requests from the container's PID namespace. The
    module then writes the file only, so the configuration is right once it runs on a VM or
    bare metal, and returns RV(kernel_audit) false with a message saying so.
author:
  - Rampart developers
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Two diffs, the rules file and the kernel's rules (C(auditctl -l) before, as augenrules
        would load them after).
  platform:
    platforms: posix
options:
  rules:
    description:
      - The whole content of the file, as auditctl lines, usually from the
        P(rampart.hardening.audit_rules#filter) filter. Every line must be a rule (C(-a), C(-w)) or an
        allowed control (C(-b), C(-f), C(-e), C(-r), C(--backlog_wait_time), C(--loginuid-immutable)).
      - An empty list leaves a file with only its header.
    type: list
    elements: str
    required: true
  path:
    description:
      - The rules.d file this module owns. Its directory must exist (the auditd package creates it).
    type: path
    default: /etc/audit/rules.d/50-rampart.rules
  load:
    description:
      - Load the rules with C(augenrules --load) when the kernel differs. With C(false) only the
        file is written, and RV(missing)/RV(unexpected) still report the difference.
    type: bool
    default: true
notes:
  - Run as root (C(become=true)).
  - Without a bare C(-D) anywhere in rules.d (Debian's C(audit.rules) has one) reloading fails
    with "Rule exists"; the module warns.
  - User and group names in uid/gid fields are resolved on the host before the comparison,
    since C(auditctl -l) prints numbers.
seealso:
  - name: auditctl(8)
    description: The rule syntax.
    link: https://man7.org/linux/man-pages/man8/auditctl.8.html
"""

EXAMPLES = r"""
- name: AUD-02 | Audit rules as data, rendered once
  ansible.builtin.set_fact:
    __audit_policy_lines: "{{ audit_policy_rules | rampart.hardening.audit_rules }}"

- name: AUD-09 | Write and load the audit rules
  rampart.hardening.audit_rules:
    rules: "{{ __audit_policy_lines }}"
  register: __audit_policy_loaded

- name: AUD-09 | Say when immutable rules need a reboot
  ansible.builtin.debug:
    msg: "Audit rules are immutable until reboot; the new rules load then."
  when: __audit_policy_loaded.reboot_required
"""

RETURN = r"""
loaded:
  description: The kernel's rules as C(auditctl -l) prints them, after any load. Empty without kernel audit.
  returned: always
  type: list
  elements: str
  sample: ["-w /etc/passwd -p wa -k AUD-03-identity"]
missing:
  description:
    - Rules and controls rules.d would load that the kernel does not have (before any load),
      as written in rules.d.
  returned: always
  type: list
  elements: str
unexpected:
  description:
    - Rules the kernel has that no rules.d file loads (added by hand, or from a removed file),
      as C(auditctl -l) prints them.
  returned: always
  type: list
  elements: str
reordered:
  description: The kernel has the same rules as rules.d but in another order within a filter list.
  returned: always
  type: bool
enabled:
  description:
    - The kernel's audit state from C(auditctl -s) (0 off, 1 on, 2 on and immutable); null
      without kernel audit.
  returned: always
  type: int
  sample: 1
immutable:
  description: The rules are locked until reboot (RV(enabled) is 2).
  returned: always
  type: bool
reboot_required:
  description: The rules are immutable and differ from rules.d; they load at the next boot.
  returned: always
  type: bool
kernel_audit:
  description: The kernel answered audit requests (false in a container).
  returned: always
  type: bool
status:
  description: C(auditctl -s) as a dict; empty without kernel audit.
  returned: always
  type: dict
  sample: {enabled: 1, failure: 1, backlog_limit: 8192, backlog_wait_time: 60000}
file_changed:
  description: The rules file was (or in check mode would be) written or had its owner or mode fixed.
  returned: always
  type: bool
msg:
  description: What was done, in a sentence.
  returned: always
  type: str
"""

import grp
import os
import pwd
import tempfile
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rampart.hardening.plugins.module_utils.audit import (
    CONTROL_OPTIONS,
    CONTROL_STATUS,
    AuditRuleError,
    ParsedLine,
    assemble_rules_d,
    compare_rules,
    control_in_effect,
    kernel_refusal,
    parse_rule_line,
    parse_rule_list,
    parse_status,
)

HEADER = "## Managed by Ansible (rampart.hardening.audit_rules): changes made here are overwritten.\n"
MODE = 0o600
REFUSED_MSG = (
    "the kernel refused audit requests from this PID namespace (a container?): {path} was "
    "{written}; its rules load when this configuration runs on a VM or bare metal"
)

ARGUMENT_SPEC: dict[str, Any] = {
    "rules": {"type": "list", "elements": "str", "required": True},
    "path": {"type": "path", "default": "/etc/audit/rules.d/50-rampart.rules"},
    "load": {"type": "bool", "default": True},
}


def resolve_id(field: str, name: str) -> int | None:
    """uid/gid fields name users or groups; auditctl -l prints their numbers."""
    try:
        if field in ("gid", "egid", "sgid", "fsgid", "obj_gid"):
            return grp.getgrnam(name).gr_gid
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def check_rules(module: AnsibleModule, lines: list[str]) -> list[str]:
    """Every line must parse and be allowed; no rule twice. Fails before anything runs."""
    seen: dict[Any, int] = {}
    clean: list[str] = []
    for index, raw in enumerate(lines):
        line = " ".join(raw.split())
        try:
            parsed = parse_rule_line(line, resolve_id)
        except AuditRuleError as exc:
            module.fail_json(msg=f"rules[{index}] {raw!r}: {exc}")
        if parsed.control is not None and parsed.control[0] not in CONTROL_OPTIONS:
            module.fail_json(
                msg=f"rules[{index}] {raw!r}: control {parsed.control[0]} is not allowed here "
                f"(allowed: {', '.join(CONTROL_OPTIONS)})"
            )
        ident = parsed.control[0] if parsed.control else parsed.rule
        if ident in seen:
            module.fail_json(
                msg=f"rules[{index}] {raw!r}: same as rules[{seen[ident]}]; the kernel refuses a rule "
                "it already has (Rule exists) and a second control would override the first"
            )
        seen[ident] = index
        clean.append(line)
    return clean


def run_auditctl(module: AnsibleModule, auditctl: str, flag: str) -> tuple[int, str, str, str | None]:
    """(rc, stdout, stderr, refusal reason) of ``auditctl FLAG``; fails on other errors."""
    rc, out, err = module.run_command([auditctl, flag])
    if rc == 0:
        return rc, out, err, None
    reason = kernel_refusal(rc, out, err, os.geteuid())
    if reason is None:
        hint = " (the module is not running as root: use become=true)" if os.geteuid() != 0 else ""
        first = (err.strip() or out.strip() or "no output").splitlines()[0]
        module.fail_json(
            msg=f"auditctl {flag} failed: {first}{hint}", cmd=[auditctl, flag], rc=rc, stdout=out, stderr=err
        )
    return rc, out, err, reason


def read_rules_d(directory: Path, own: Path, content: str) -> list[tuple[str, str]]:
    files = []
    for entry in sorted(directory.iterdir()):
        if entry.name.endswith(".rules") and entry.is_file() and entry != own:
            files.append((entry.name, entry.read_text(encoding="utf-8", errors="replace")))
    files.append((own.name, content))
    return files


def kernel_state(
    module: AnsibleModule, auditctl: str
) -> tuple[dict[str, Any], list[ParsedLine], str | None, tuple[int, str, str]]:
    """(status, loaded rules, refusal reason, raw auditctl -s result)."""
    rc, out, err, reason = run_auditctl(module, auditctl, "-s")
    if reason:
        return {}, [], reason, (rc, out, err)
    try:
        status = parse_status(out)
    except ValueError as exc:
        module.fail_json(msg=str(exc), cmd=[auditctl, "-s"], stdout=out, stderr=err)
    rc, out, err, reason = run_auditctl(module, auditctl, "-l")
    if reason:
        return {}, [], reason, (rc, out, err)
    try:
        loaded = parse_rule_list(out, resolve_id)
    except AuditRuleError as exc:
        module.fail_json(msg=str(exc), cmd=[auditctl, "-l"], stdout=out, stderr=err)
    return status, loaded, None, (rc, out, err)


def differences(
    files: list[tuple[str, str]], own_name: str, status: dict[str, Any], loaded: list[ParsedLine]
) -> tuple[list[str], list[str], bool, tuple[list[str], list[str]], list[str]]:
    """(missing, unexpected, reordered, (kernel lines, expected lines), warnings) of rules.d.

    Both line lists are in the form auditctl -l prints (see Rule.text), controls first
    and -e last as augenrules loads them, so their diff shows only real differences.
    """
    assembled = assemble_rules_d(files, resolve_id)
    warnings = [f"cannot read {problem}; left out of the comparison" for problem in assembled.problems]
    own_controls = {}
    for name, text in files:
        if name == own_name:
            for line in text.splitlines():
                words = line.split()
                if words and words[0] in CONTROL_OPTIONS:
                    own_controls[words[0]] = line.strip()
    for option, line in own_controls.items():
        winner = assembled.controls.get(option)
        if winner is not None and not winner.source.startswith(f"{own_name}:"):
            warnings.append(
                f"{line!r} in {own_name} is overridden by {winner.text!r} in {winner.source.split(':')[0]} "
                f"(augenrules keeps the last {option}); remove it there or use a file that sorts later"
            )
    if status.get("enabled") == 0 and "-e" not in assembled.controls:
        warnings.append(
            "the kernel's auditing is off (auditctl -s: enabled 0) and no rules.d file has -e: the rules "
            "load but nothing is logged; add the control -e 1 (or -e 2)"
        )
    if "-D" not in assembled.controls:
        warnings.append("no rules.d file has a bare -D: reloading will fail with 'Rule exists'")
    expected = assembled.rules()
    comparison = compare_rules(expected, loaded)
    missing = list(comparison.missing)
    for option, parsed in assembled.controls.items():
        if parsed.control and control_in_effect(option, parsed.control[1], status) is False:
            missing.append(parsed.text)
    options = sorted(  # augenrules puts -b and -f first
        (o for o in assembled.controls if o in CONTROL_STATUS and o != "-e"),
        key=lambda o: o not in ("-b", "-f"),
    )
    ending = ["-e"] if "-e" in assembled.controls else []
    want = [assembled.controls[o].text for o in options]
    have = [kernel_control(o, status) for o in options]
    lines = [
        *want,
        *(p.rule.text() for p in expected if p.rule),
        *(assembled.controls[o].text for o in ending),
    ]
    kernel = [*have, *(p.rule.text() for p in loaded if p.rule), *(kernel_control(o, status) for o in ending)]
    return missing, comparison.unexpected, comparison.reordered, (kernel, lines), warnings


def kernel_control(option: str, status: dict[str, Any]) -> str:
    """A control line as the kernel's status has it (for the diff)."""
    value = status.get(CONTROL_STATUS[option])
    if option == "--loginuid-immutable":
        return option if isinstance(value, dict) and value.get("locked") else f"# {option} (not set)"
    return f"{option} {value}"


def write_file(module: AnsibleModule, path: Path, content: str | None) -> None:
    """Write content (None: only fix owner and mode) atomically as root:root 0600."""
    if content is not None:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(content)
            os.chmod(tmp, MODE)  # noqa: PTH101 - on the fd's path before the move
            module.atomic_move(tmp, str(path))
        finally:
            if Path(tmp).exists():
                Path(tmp).unlink()
    path.chmod(MODE)  # atomic_move copies the old file's mode onto the new one
    if os.geteuid() == 0:
        os.chown(path, 0, 0)


def main() -> None:  # noqa: PLR0912, PLR0915 - the one place that orders the steps
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    path = Path(module.params["path"])
    lines = check_rules(module, module.params["rules"])
    content = HEADER + "".join(f"{line}\n" for line in lines)
    if not path.parent.is_dir():
        module.fail_json(
            msg=f"rules directory {path.parent} does not exist: is the auditd package installed?"
        )
    try:
        current = path.read_text(encoding="utf-8", errors="replace") if path.exists() else None
    except OSError as exc:
        module.fail_json(msg=f"cannot read {path}: {exc.strerror}")
    content_changed = current != content
    attrs_changed = False
    if current is not None:
        st = path.stat()
        attrs_changed = (st.st_mode & 0o7777) != MODE or (
            os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0)
        )
    file_changed = content_changed or attrs_changed

    auditctl = module.get_bin_path("auditctl", required=True, opt_dirs=["/sbin", "/usr/sbin"])
    status, loaded, refused, _raw = kernel_state(module, auditctl)
    files = read_rules_d(path.parent, path, content)
    diff: list[dict[str, str]] = [
        {"before_header": str(path), "after_header": str(path), "before": current or "", "after": content}
    ]
    result: dict[str, Any] = {
        "path": str(path),
        "loaded": [],
        "missing": [],
        "unexpected": [],
        "reordered": False,
        "enabled": None,
        "immutable": False,
        "reboot_required": False,
        "kernel_audit": refused is None,
        "status": status,
        "file_changed": file_changed,
    }
    if refused is not None:
        if not module.check_mode and file_changed:
            write_file(module, path, content if content_changed else None)
        written = (
            ("written" if content_changed else "fixed (owner, mode)") if file_changed else "already right"
        )
        if module.check_mode and file_changed:
            written = "to be " + written
        msg = REFUSED_MSG.format(path=path, written=written)
        if refused == "no_audit":
            msg = f"this kernel has no audit support: {path} was {written}"
        module.exit_json(
            changed=file_changed, msg=msg, diff=diff if content_changed and module._diff else [], **result
        )

    missing, unexpected, reordered, (kernel_lines, expected_lines), warnings = differences(
        files, path.name, status, loaded
    )
    for warning in warnings:
        module.warn(warning)
    enabled = status["enabled"]
    kernel_differs = bool(missing or unexpected or reordered)
    immutable = enabled == 2
    will_load = module.params["load"] and kernel_differs and not immutable
    loaded_text = [p.text for p in loaded]
    if kernel_differs:
        diff.append(
            {
                "before_header": "kernel (auditctl -l)",
                "after_header": "rules.d (as augenrules --load loads it)",
                "before": "".join(f"{line}\n" for line in kernel_lines),
                "after": "".join(f"{line}\n" for line in expected_lines),
            }
        )
    result.update(
        loaded=loaded_text,
        missing=missing,
        unexpected=unexpected,
        reordered=reordered,
        enabled=enabled,
        immutable=immutable,
        reboot_required=immutable and kernel_differs,
    )
    changed = file_changed or will_load
    if module.check_mode:
        verb = "would load the rules" if will_load else "would leave the kernel as it is"
        module.exit_json(
            changed=changed, msg=f"check mode: {verb}", diff=diff if module._diff else [], **result
        )

    if file_changed:
        write_file(module, path, content if content_changed else None)
    if will_load:
        augenrules = module.get_bin_path("augenrules", required=True, opt_dirs=["/sbin", "/usr/sbin"])
        rc, out, err = module.run_command([augenrules, "--load"])
        status, after, refused, _raw = kernel_state(module, auditctl)
        still_missing, still_unexpected, still_reordered, _lines, _w = differences(
            files, path.name, status, after
        )
        if rc != 0 or still_missing or still_unexpected or still_reordered:
            problem = (err.strip() or out.strip() or "no output").splitlines()[0] if rc != 0 else None
            module.fail_json(
                msg=(
                    f"augenrules --load failed: {problem}"
                    if problem
                    else "augenrules --load ran but the kernel still differs from rules.d"
                ),
                cmd=[augenrules, "--load"],
                rc=rc,
                stdout=out,
                stderr=err,
                still_missing=still_missing,
                still_unexpected=still_unexpected,
                **{k: v for k, v in result.items() if k not in ("missing", "unexpected")},
                missing=missing,
                unexpected=unexpected,
            )
        result.update(
            loaded=[p.text for p in after],
            status=status,
            enabled=status["enabled"],
            immutable=status["enabled"] == 2,  # the rules may have just made it so (-e 2)
        )
    if will_load:
        msg = "loaded the rules with augenrules --load"
    elif result["reboot_required"]:
        msg = "the kernel's audit rules are immutable (-e 2): the new rules load at the next boot"
        module.warn(msg)
    elif kernel_differs:
        msg = "the kernel differs from rules.d; load=false left it as it is"
    else:
        msg = "the kernel already has these rules"
    if file_changed:
        msg = f"{'wrote' if content_changed else 'fixed owner and mode of'} {path}; {msg}"
    module.exit_json(changed=changed, msg=msg, diff=diff if module._diff else [], **result)


if __name__ == "__main__":
    main()
