# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the log_forwarder role: the AUD-07 checks from evidence read on the host."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.module_utils.forwarding import forwarding_checks


def log_forwarding_checks(evidence: Any) -> list[dict[str, Any]]:
    """The AUD-07 checks (rsyslog runs the forwarding file; events reach the collector)."""
    if not isinstance(evidence, Mapping):
        raise AnsibleFilterError(f"log_forwarding_checks: expected a dict of evidence, got {evidence!r}")
    try:
        return forwarding_checks(evidence)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"log_forwarding_checks: {exc}") from exc


class FilterModule:
    """rampart.hardening log forwarding filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"log_forwarding_checks": log_forwarding_checks}
