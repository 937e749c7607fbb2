"""The compliance report (policy control MON-02): one model, three renderers.

- ``catalogue``: the policy's controls (``meta/controls.yml``) and what implements them;
- ``records``: the per-host record files the ``rampart.hardening.controls`` callback writes;
- ``model``: host x control cells with a status, fleet totals and the verdict;
- ``history``: what changed since the previous report;
- ``as_json``, ``junit``, ``html``: the renderers;
- ``generate``: the one call that reads the inputs and writes the outputs (used by the
  ``rampart.hardening.compliance_report`` action).

Everything but ``generate`` is pure: inputs are strings, dicts and datetimes (``now`` is a
parameter), so the tests are deterministic.
"""
