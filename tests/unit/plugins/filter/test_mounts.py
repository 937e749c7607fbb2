from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.filter.mounts import FilterModule, network_mounts

FIXTURES = Path(__file__).parents[3] / "fixtures" / "mounts"
NETWORK = ["nfs", "nfs4", "cifs", "smb3", "fuse.sshfs"]


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_registered() -> None:
    assert FilterModule().filters()["network_mounts"] is network_mounts


def test_active_nfs_and_cifs_mounts_with_escaped_space() -> None:
    found = network_mounts(read("proc-mounts-nfs-cifs.txt"), {}, NETWORK)
    assert [(m["fstype"], m["source"], m["target"], m["where"]) for m in found] == [
        ("nfs4", "nfs.example.net:/export/data", "/mnt/data", "mounted"),
        ("cifs", "//files.example.net/finance", "/mnt/finance reports", "mounted"),
    ]


def test_real_host_mount_table_has_no_network_drives() -> None:
    assert network_mounts(read("host-proc-mounts.txt"), {}, NETWORK) == []


def test_fstab_entries_keep_their_line_for_removal() -> None:
    found = network_mounts("", {"/etc/fstab": read("fstab")}, NETWORK)
    assert [m["target"] for m in found] == ["/mnt/data", "/mnt/finance reports"]
    assert found[0]["line"] == "nfs.example.net:/export/data /mnt/data nfs4 noauto,_netdev 0 0"
    assert found[0]["summary"] == "nfs4 nfs.example.net:/export/data on /mnt/data (in /etc/fstab)"


def test_automount_master_hosts_map_and_map_entries() -> None:
    tables = {"/etc/auto.master": read("auto.master"), "/etc/auto.misc": read("auto.misc")}
    found = network_mounts("", tables, NETWORK)
    assert [(m["where"], m["target"], m["fstype"]) for m in found] == [
        ("/etc/auto.master", "/net", "nfs"),
        ("/etc/auto.misc", "finance", "cifs"),
        ("/etc/auto.misc", "scratch", "nfs"),
        ("/etc/auto.misc", "home", "nfs"),
    ]


def test_master_maps_name_program_and_directory_maps_and_fragments() -> None:
    """Debian's auto.master with /net and /smb enabled is not clean: auto.net mounts NFS exports and
    auto.smb CIFS shares; a map in LDAP cannot be read here; fragments in auto.master.d count too."""
    tables = {
        "/etc/auto.master": read("auto.master.debian"),
        "/etc/auto.master.d/projects.autofs": read("projects.autofs"),
    }
    found = network_mounts("", tables, NETWORK, ["/etc/auto.net", "/etc/auto.smb"])
    assert [m["summary"] for m in found] == [
        "nfs /etc/auto.net on /net (in /etc/auto.master)",
        "cifs /etc/auto.smb on /smb (in /etc/auto.master)",
        "automount map from ldap ldap:ou=auto.home,dc=example,dc=com on /home (in /etc/auto.master)",
        "nfs -hosts on /nfs (in /etc/auto.master.d/projects.autofs)",
    ]
    # Without the program maps installed, /net and /smb name plain files (read on their own).
    assert len(network_mounts("", tables, NETWORK)) == 3
    other = {"/etc/auto.master": "/x program:/usr/local/bin/mapper\n"}
    assert network_mounts("", other, NETWORK)[0]["fstype"] == "program map (mounts what it prints)"


def test_systemd_mount_units_of_network_types() -> None:
    tables = {
        "/etc/systemd/system/srv-share.mount": read("srv-share.mount"),
        "/etc/systemd/system/var-cache-scratch.mount": read("var-cache.mount"),
    }
    found = network_mounts("", tables, NETWORK)
    assert [m["summary"] for m in found] == [
        "nfs4 files.example.net:/export/projects on /srv/share (in /etc/systemd/system/srv-share.mount)"
    ]


def test_only_the_listed_types_count() -> None:
    assert network_mounts(read("proc-mounts-nfs-cifs.txt"), {}, ["cifs"])[0]["fstype"] == "cifs"
    assert network_mounts(read("proc-mounts-nfs-cifs.txt"), {}, []) == []


@pytest.mark.parametrize(
    ("mounts", "tables", "message"),
    [
        ("garbage", {}, "cannot read mount table line 'garbage'"),
        ("", {"/etc/fstab": "just-two fields"}, "cannot read fstab line"),
        ("", {"/etc/passwd": ""}, "neither /etc/fstab, an /etc/auto.* map nor a systemd mount unit"),
        (None, {}, "expects mount-table text"),
    ],
)
def test_bad_input_is_named(mounts: str, tables: dict[str, str], message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message.replace(".", r"\.").replace("*", r"\*")):
        network_mounts(mounts, tables, NETWORK)


def test_empty_input() -> None:
    assert network_mounts("", {"/etc/fstab": "", "/etc/auto.master": "# nothing\n"}, NETWORK) == []
