# This file is documentation only; the work is done by the action plugin of the same name.
from __future__ import annotations

DOCUMENTATION = r"""
module: control
short_description: Report the state of one policy control (pass, fail, not applicable) with evidence
description:
  - Every rampart role ends each control it enforces with one of these tasks.
  - The result carries a C(rampart_control) record. The C(rampart.hardening.controls) callback
    collects the records per host into C(reports/controls/<host>.json) and prints a summary.
  - The record says when it was made and in which mode (C(enforce), or C(check) for a check-mode
    run). In check mode the callback turns the record into C(drift) when a task tagged with the
    control would change the host, so a verification never reports a pass the role would act on.
  - Runs on the controller only; it never connects to the host and never reports a change.
version_added: "0.1.0"
author: Rampart developers
options:
  id:
    description: The control ID from the policy, for example C(RAC-01).
    type: str
    required: true
  checks:
    description: What was verified. The control passes when every check is ok.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: What the check proves, in a few words.
        type: str
        required: true
      ok:
        description: Whether it held.
        type: bool
        required: true
      evidence:
        description: What was observed, for the report.
        type: str
  applicable:
    description: Set to false when the control does not apply to this host; I(reason) then says why.
    type: bool
    default: true
  reason:
    description: Why the control does not apply.
    type: str
  enforce:
    description: Fail the task when a check fails (otherwise the failure is only reported).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: RAC-01 | Report the effective sshd settings
  rampart.hardening.control:
    id: RAC-01
    enforce: true
    checks:
      - name: password authentication is off
        ok: "{{ __cfg['passwordauthentication'] == 'no' }}"
        evidence: "passwordauthentication {{ __cfg['passwordauthentication'] }}"

- name: RAC-03 | Network mounts are only checked on production
  rampart.hardening.control:
    id: RAC-03
    applicable: false
    reason: host is not in the production group
"""

RETURN = r"""
rampart_control:
  description: The control record.
  returned: always
  type: dict
  sample:
    id: RAC-01
    status: pass
    role: ssh_access
    summary: 12 checks passed
    time: "2026-11-23T06:12:00Z"
    mode: enforce
    checks: [{name: password authentication is off, ok: true, evidence: passwordauthentication no}]
"""
