"""Tests for the backup filters: inventory keys and loop results in, the role's shapes out, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.filter.backup import (
    FilterModule,
    backup_client_targets,
    backup_controls,
    backup_signer,
    backup_targets,
    openpgp_key,
)

FIXTURES = Path(__file__).parents[3] / "fixtures" / "openpgp"
PUBLIC = (FIXTURES / "ed25519-public.asc").read_text()
OTHER = (FIXTURES / "rsa-public.asc").read_text()
INFO = {"address": "10.0.0.5", "port": 2222, "host_key": "ssh-ed25519 AAAAkey"}


def test_every_filter_is_registered() -> None:
    assert set(FilterModule().filters()) == {
        "openpgp_key",
        "gpg_keyring",
        "backup_signer",
        "backup_input_problems",
        "backup_client_targets",
        "backup_controls",
        "backup_targets",
    }


def test_openpgp_key_never_raises() -> None:
    assert openpgp_key(PUBLIC)["kind"] == "public"
    assert openpgp_key(None)["kind"] == "invalid"
    assert "not an ASCII-armored" in openpgp_key("hello")["error"]


def test_targets_get_what_they_publish_and_their_keys() -> None:
    results = [
        {"item": {"name": "site", "host": "b1"}, "rc": 0, "stdout": json.dumps(INFO)},
        {
            "item": {"name": "cust", "host": "b2", "kind": "additional", "recipients": [OTHER]},
            "rc": 1,
            "stdout": "",
        },
    ]
    site, customer = backup_targets(results, [PUBLIC])
    assert (site["kind"], site["info"], [k["fingerprint"] for k in site["keys"]]) == (
        "secondary",
        INFO,
        ["B03E1FF81DCFDB66704C5058F149B9EECBE359ED"],
    )
    assert (customer["kind"], customer["info"]) == ("additional", None)
    assert [k["fingerprint"] for k in customer["keys"]] == ["5B379D2440102FCECD9414EEAAA2C7D435CA4A72"]
    [entry] = backup_client_targets(
        [site], "/etc/rampart-backup", "/etc/rampart-backup/id_ed25519", "rb-web-01"
    )
    assert entry == {
        "name": "site",
        "kind": "secondary",
        "address": "10.0.0.5",
        "port": 2222,
        "user": "rb-web-01",
        "known_hosts": "/etc/rampart-backup/known_hosts.site",
        "identity": "/etc/rampart-backup/id_ed25519",
        "recipients": ["B03E1FF81DCFDB66704C5058F149B9EECBE359ED"],
    }


def test_a_target_json_that_is_not_json_is_an_error() -> None:
    with pytest.raises(AnsibleFilterError, match="backup_targets"):
        backup_targets([{"item": {"name": "site", "host": "b1"}, "rc": 0, "stdout": "{"}], [PUBLIC])


def test_signer_by_user_id() -> None:
    keys = [{"fingerprint": "A" * 40, "user_ids": ["rampart-backup signing key of web-01"]}]
    assert backup_signer(keys, "rampart-backup signing key of web-01") == "A" * 40
    assert backup_signer(keys, "rampart-backup signing key of web-02") == ""
    with pytest.raises(AnsibleFilterError, match="backup_signer"):
        backup_signer([{"name": "no user_ids"}], "x")


def test_controls_refuse_what_is_not_evidence() -> None:
    with pytest.raises(AnsibleFilterError, match="expected a dict of evidence"):
        backup_controls(["not", "evidence"])
    with pytest.raises(AnsibleFilterError, match="backup_controls"):
        backup_controls({"targets": [{"name": "site"}], "statuses": []})
