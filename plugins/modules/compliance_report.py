# This file is documentation only; the work is done by the action plugin of the same name.
from __future__ import annotations

DOCUMENTATION = r"""
module: compliance_report
short_description: Write the compliance report (JSON, JUnit, HTML) of the inventory's hosts
description:
  - Policy control MON-02. Reads each host's control records (C(<records_dir>/<host>.json), written by the
    C(rampart.hardening.controls) callback) and judges them against the controls catalogue
    (C(meta/controls.yml)), per host and per control.
  - Each cell gets a status. From the newest record (enforce or check mode), C(pass), C(fail), C(drift),
    C(not_applicable), C(error) or C(unreachable); C(stale) when the latest run of the record's playbook and
    mode did not refresh it or it is older than O(max_age). Without a record, C(not_assessed) (the host has
    records, not this one), C(never_assessed) (no file) or C(not_implemented) (nothing records the control).
  - Writes C(report.json) (schema C(docs/report.schema.json)), C(report.junit.xml) and a self-contained
    C(report.html) to O(output_dir), and keeps the JSON in C(<output_dir>/history/<UTC time>.json). The
    report lists what changed since the newest earlier history entry.
  - Fails, naming the cells, when a cell's status is in O(fail_on) (a stale cell also when its record's
    status is). The files are written first.
  - Runs on the controller only (it never connects to a host). See C(docs/report.md).
version_added: "0.1.0"
author:
  - Rampart developers
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - The report is written in check mode too (it changes nothing on a managed host); set
        O(write_in_check_mode=false) to only compute the verdict.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  hosts:
    description: The inventory hostnames to report on, for example C("{{ groups['all'] }}").
    type: list
    elements: str
    required: true
  groups:
    description: The groups of each host (host name to list of group names), shown and used as a filter.
    type: dict
    default: {}
  records_dir:
    description:
      - Where the per-host record files are.
      - Default C($RAMPART_REPORT_DIR), else C(reports/controls) (relative to the working directory, as for
        the callback).
    type: path
  output_dir:
    description: Where the report files go (created when missing).
    type: path
    default: reports/compliance
  fail_on:
    description:
      - The cell statuses that fail the report (and the task).
      - Any status but C(pass); C(stale), C(not_assessed), C(never_assessed) and C(not_implemented) are
        accepted too.
    type: list
    elements: str
    default: [fail, drift, error, unreachable]
  max_age:
    description:
      - A record older than this is C(stale), for example C(7d), C(12h), C(30m), C(2w); C(0) turns ageing off.
      - A bare number other than 0 is refused (days or seconds?).
    type: str
    default: 7d
  inventory:
    description: A label for the inventory, shown in the report's header.
    type: str
    default: ""
  write_in_check_mode:
    description: Write the report files in check mode too.
    type: bool
    default: true
notes:
  - C(changed) is true when the report files were written.
seealso:
  - module: rampart.hardening.control
"""

EXAMPLES = r"""
- name: MON-02 | Write the compliance report
  rampart.hardening.compliance_report:
    hosts: "{{ groups['all'] }}"
    groups: "{{ dict(groups['all'] | zip(groups['all'] | map('extract', hostvars, 'group_names'))) }}"
    output_dir: "{{ playbook_dir }}/../reports/compliance"
    fail_on: [fail, drift, error, unreachable, stale]
    max_age: 3d
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
result:
  description: C(pass), or C(fail) when a cell's status is in O(fail_on).
  returned: always
  type: str
  sample: fail
files:
  description: The files of this report (written unless in check mode with O(write_in_check_mode=false)).
  returned: always
  type: dict
  sample:
    json: reports/compliance/report.json
    junit: reports/compliance/report.junit.xml
    html: reports/compliance/report.html
    history: reports/compliance/history/20261203T100000Z.json
totals:
  description: How many cells have each status, fleet-wide.
  returned: always
  type: dict
  sample: {pass: 120, fail: 2, drift: 1, error: 0, unreachable: 0, stale: 3, not_assessed: 10,
           never_assessed: 0, not_applicable: 14, not_implemented: 84}
failing:
  description: The cells that fail the report, as C(host ID status).
  returned: always
  type: list
  elements: str
  sample: [web-01 RAC-04 fail, web-01 RAC-01 drift]
changes:
  description: How many cells are newly failing, fixed and newly stale since the previous report.
  returned: always
  type: dict
  sample: {previous: "2026-12-02T10:00:00Z", newly_failing: 1, fixed: 1, newly_stale: 0}
"""
