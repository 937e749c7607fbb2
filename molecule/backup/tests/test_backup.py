"""STO-03/04/05, ENC-02, MON-01 end to end: what a backup proves, and what each kind of damage does.

The module fixture runs `playbooks/backup.yml` as an operator would (back up now, verify at the
targets, record). Then: the objects at the target are public-key encrypted to the verifier's key
and signed; the client cannot decrypt them, nor replace, delete or read anything at the target;
files and database come back identical; and a stale backup, a missing source, a truncated or
modified object and a manifest signed by another key each fail STO-04 with the place named and an
alert that reaches the collector. Every damage is undone before the next test.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).parents[2] / "resources"))
sys.path.insert(0, str(Path(__file__).parents[3]))
from labtest import ansible_playbook, control_record

from lab.fleet import Lab
from lab.podman import podman_env

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3]))
PG_CTL = "runuser -u postgres -- /usr/lib/postgresql/17/bin/pg_ctl"  # Debian 13's PostgreSQL
STORE = "/srv/rampart-backup"
LIB = "/usr/local/lib/rampart-backup"
VERIFIER_GNUPG = "/var/lib/rampart-backup/verifier/gnupg"
CLIENT_GNUPG = "/var/lib/rampart-backup/gnupg"

testinfra_hosts = ["ansible://backup-web"]


def lab_host(name: str) -> Any:
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


@pytest.fixture(scope="module")
def site() -> Any:
    return lab_host("backup-site")


@pytest.fixture(scope="module")
def extra() -> Any:
    return lab_host("backup-extra")


@pytest.fixture(scope="module")
def db() -> Any:
    return lab_host("backup-db")


@pytest.fixture(scope="module")
def collector() -> Any:
    return lab_host("backup-collector")


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("controls")


@pytest.fixture(scope="module")
def backed_up(report_dir: Path) -> str:
    """playbooks/backup.yml on the scenario's inventory: back up now, verify, record."""
    done = ansible_playbook(str(PROJECT / "playbooks" / "backup.yml"), report_dir=report_dir, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return done.stdout


def sudo(host: Any, command: str) -> str:
    out: str = host.check_output(f"sudo sh -c {shlex.quote(command)}")
    return out


def newest_set(target: Any, client: str) -> str:
    sets = sudo(target, f"ls {STORE}/{client}").split()
    return sorted(s for s in sets if s[0].isdigit())[-1]


def verify(target: Any, client: str, *options: str) -> tuple[int, dict[str, Any]]:
    """Run the verifier for one client (without pruning); its exit status and the status it wrote."""
    run = target.run(f"sudo {LIB}/rampart-backup-verify --no-prune --client {client} {' '.join(options)}")
    status = json.loads(sudo(target, f"cat /var/lib/rampart-backup/status/{client}.json"))
    return run.rc, status


def failing(status: dict[str, Any]) -> str:
    return "; ".join(c["evidence"] for c in status["checks"] if not c["ok"])


def alerts(collector: Any, sender: str, needle: str) -> int:
    """How many rampart-health alerts from ``sender`` containing ``needle`` the collector holds."""
    found = collector.run(f"sudo grep -rhF {shlex.quote(needle)} /var/log/remote/{sender}/")
    return sum(1 for line in found.stdout.splitlines() if "rampart-health" in line)


def alert_arrived(collector: Any, sender: str, needle: str, before: int = 0, timeout: float = 30) -> bool:
    """A new alert (more than ``before``) from ``sender`` containing ``needle`` reached the collector."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alerts(collector, sender, needle) > before:
            return True
        time.sleep(1)
    return False


def copy_between(source: Any, path: str, dest: Any, dest_path: str) -> None:
    """Copy a small file between lab hosts through the controller (base64, in pieces a command line takes)."""
    data = sudo(source, f"base64 -w0 {path}").strip()
    dest.check_output(f"sudo rm -f {dest_path}.b64")
    for start in range(0, len(data), 60000):
        dest.check_output(f"echo {data[start : start + 60000]} | sudo tee -a {dest_path}.b64 >/dev/null")
    dest.check_output(f"sudo sh -c 'base64 -d {dest_path}.b64 > {dest_path} && rm {dest_path}.b64'")


# --- what the nightly backup produced ----------------------------------------------------


def test_records_pass_for_both_clients(backed_up: str, report_dir: Path) -> None:
    for client, controls in (
        ("backup-web", ("STO-03", "STO-04", "ENC-02")),
        ("backup-db", ("STO-03", "STO-04", "STO-05", "ENC-02")),
    ):
        for control in controls:
            record = control_record(report_dir, client, control)
            assert record["status"] == "pass", (client, control, record)
    assert control_record(report_dir, "backup-web", "STO-05")["status"] == "not_applicable"


def test_objects_are_public_key_encrypted_to_the_verifier_and_signed(backed_up: str, site: Any) -> None:
    newest = newest_set(site, "backup-web")
    packets = sudo(
        site,
        f"gpg --homedir {VERIFIER_GNUPG} --batch --list-packets {STORE}/backup-web/{newest}/data.tar.zst.gpg",
    )
    assert ":pubkey enc packet:" in packets
    assert ":symkey enc packet:" not in packets
    key_ids = sudo(site, f"gpg --homedir {VERIFIER_GNUPG} --with-colons --list-secret-keys")
    encrypted_to = {
        line.split("keyid ")[1].split()[0] for line in packets.splitlines() if "pubkey enc packet" in line
    }
    assert encrypted_to and all(key_id in key_ids for key_id in encrypted_to)
    assert ":signature packet:" in packets or ":onepass_sig packet:" in packets


def test_the_client_cannot_decrypt_its_own_backup(backed_up: str, host: Any, site: Any) -> None:
    newest = newest_set(site, "backup-web")
    copy_between(site, f"{STORE}/backup-web/{newest}/manifest.json.gpg", host, "/tmp/own-backup.gpg")
    attempt = host.run(f"sudo gpg --homedir {CLIENT_GNUPG} --batch --decrypt /tmp/own-backup.gpg")
    assert attempt.rc != 0
    assert "No secret key" in attempt.stderr
    secret = sudo(host, f"gpg --homedir {CLIENT_GNUPG} --with-colons --list-secret-keys")
    assert secret.count("\nsec:") + secret.startswith("sec:") == 1  # only its signing key


# The site's address as the client has it in its settings (a shell substitution, run on the client).
SITE_ADDRESS = (
    "$(sudo python3 -c 'import json;"
    ' print(json.load(open("/etc/rampart-backup/client.json"))["targets"][0]["address"])\')'
)


def client_ssh(
    host: Any, command: str, stdin: str = "true", user: str = "rb-backup-web", tool: str = "ssh"
) -> tuple[int, str]:
    """As root on the client, reach the site's backup sshd with the client's key: exit status and output.

    (testinfra treats a local exit status of 255 as its own connection failing, so the status is echoed.)
    """
    port = "-p 2222"
    argv = (
        f"{stdin} | sudo timeout 60 {tool} -F /dev/null -i /etc/rampart-backup/id_ed25519"
        " -o BatchMode=yes -o IdentitiesOnly=yes"
        f" -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/rampart-backup/known_hosts.site {port}"
        f" {user}@{SITE_ADDRESS} {shlex.quote(command) if command else ''} 2>&1; echo rc=$?"
    )
    out = host.check_output(argv)
    body, _, status = out.rpartition("rc=")
    return int(status), body


def test_the_client_cannot_overwrite_a_stored_object(backed_up: str, host: Any, site: Any) -> None:
    newest = newest_set(site, "backup-web")
    before = sudo(site, f"sha256sum {STORE}/backup-web/{newest}/data.tar.zst.gpg")
    rc, out = client_ssh(host, f"put {newest}/data.tar.zst.gpg", stdin="echo garbage")
    assert rc != 0
    assert "already stored" in out
    assert sudo(site, f"sha256sum {STORE}/backup-web/{newest}/data.tar.zst.gpg") == before


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf /srv/rampart-backup",
        "cat /etc/passwd",
        "get manifest.json.gpg",
        "internal-sftp",
        "put ../backup-db/x.gpg",
        "sh",
    ],
)
def test_the_client_can_run_nothing_but_the_receiver(
    backed_up: str, host: Any, site: Any, command: str
) -> None:
    listing = sudo(site, f"find {STORE} | sort")
    rc, out = client_ssh(host, command)
    assert rc != 0
    assert "rampart-backup-receive" in out
    assert sudo(site, f"find {STORE} | sort") == listing


def test_the_sftp_subsystem_is_refused(backed_up: str, host: Any) -> None:
    rc, out = client_ssh(host, "sftp", tool="ssh -s")
    assert rc != 0
    assert "subsystem request failed" in out


def test_a_client_cannot_reach_another_clients_store(backed_up: str, host: Any, site: Any) -> None:
    rc, out = client_ssh(host, "sets", user="rb-backup-db")
    assert rc == 255
    assert "Permission denied" in out
    mode = sudo(site, f"stat -c '%a %U' {STORE}/backup-db").split()
    assert mode == ["700", "rb-backup-db"]


def test_files_restore_byte_identical(backed_up: str, host: Any, site: Any) -> None:
    sets = sorted(s for s in sudo(site, f"ls {STORE}/backup-web").split() if s[0].isdigit())
    chain = sets[max(i for i, name in enumerate(sets) if name.endswith("-full")) :]
    restored = f"/tmp/restore-{uuid.uuid4().hex[:8]}"
    sudo(site, f"mkdir -p {restored}")
    for name in chain:  # the full backup, then each incremental one in order (tar replays deletions too)
        sudo(
            site,
            f"gpg --homedir {VERIFIER_GNUPG} --batch --quiet"
            f" --decrypt {STORE}/backup-web/{name}/data.tar.zst.gpg"
            f" | zstd -dcq | tar --extract --listed-incremental=/dev/null --file=- -C {restored}",
        )
    original = sudo(
        host, "cd /srv/data && find . -path ./cache -prune -o -type f -print0 | sort -z | xargs -0 sha256sum"
    )
    copy = sudo(site, f"cd {restored}/srv/data && find . -type f -print0 | sort -z | xargs -0 sha256sum")
    sudo(site, f"rm -rf {restored}")
    assert copy == original
    assert "blob.bin" in copy and "name with spaces" in copy
    assert "skip-me" not in copy  # excluded


def fetch_decrypted(site: Any, client: str, obj: str, dest: Any, path: str, *, through: str = "") -> None:
    """Decrypt ``obj`` of the client's newest set at the target (the only place the key is), then
    copy the plaintext (``| through`` when given) to ``path`` on ``dest``."""
    newest = newest_set(site, client)
    decrypt = f"gpg --homedir {VERIFIER_GNUPG} --batch --quiet --decrypt {STORE}/{client}/{newest}/{obj}"
    sudo(site, f"{decrypt}{' | ' + through if through else ''} > {path}")
    copy_between(site, path, dest, path)
    sudo(site, f"rm -f {path}")


def test_database_restores_with_equal_row_checksums(backed_up: str, db: Any, site: Any) -> None:
    fetch_decrypted(site, "backup-db", "shop.pgdump.gpg", db, "/tmp/shop.dump")
    sudo(
        db,
        "chmod 644 /tmp/shop.dump && runuser -u postgres -- dropdb --if-exists shop_restored"
        " && runuser -u postgres -- createdb shop_restored",
    )
    sudo(
        db,
        "runuser -u postgres -- pg_restore --no-owner -d shop_restored /tmp/shop.dump"
        " && rm -f /tmp/shop.dump",
    )
    query = "SELECT count(*), md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o"
    source = sudo(db, f"runuser -u postgres -- psql -At -d shop -c {shlex.quote(query)}")
    restored = sudo(db, f"runuser -u postgres -- psql -At -d shop_restored -c {shlex.quote(query)}")
    sudo(db, "runuser -u postgres -- dropdb shop_restored")
    assert restored == source
    assert source.startswith("5000|")


def test_mariadb_restores_with_equal_row_checksums(backed_up: str, host: Any, site: Any) -> None:
    """The mysqldump --single-transaction stream, decrypted at the target, loads back row for row."""
    fetch_decrypted(site, "backup-web", "cms.sql.zst.gpg", host, "/tmp/cms.sql", through="zstd -dcq")
    sudo(
        host,
        "mariadb -e 'DROP DATABASE IF EXISTS cms_restored; CREATE DATABASE cms_restored'"
        " && mariadb cms_restored < /tmp/cms.sql && rm -f /tmp/cms.sql",
    )
    query = "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, title, body))) FROM pages"
    source = sudo(host, f"mariadb -N -D cms -e {shlex.quote(query)}")
    restored = sudo(host, f"mariadb -N -D cms_restored -e {shlex.quote(query)}")
    sudo(host, "mariadb -e 'DROP DATABASE cms_restored'")
    assert restored == source
    assert source.startswith("3000\t")


def psql(db: Any, statement: str, database: str = "shop") -> str:
    return sudo(db, f"runuser -u postgres -- psql -XAtq -d {database} -c {shlex.quote(statement)}").strip()


def pipe(source: str, produce: str, dest: str, consume: str) -> None:
    """Stream between two lab containers through the controller (podman exec), as root on both."""
    containers = Lab("backup")
    command = (
        f"podman exec {containers.container(source)} sh -c {shlex.quote(produce)}"
        f" | podman exec -i {containers.container(dest)} sh -c {shlex.quote(consume)}"
    )
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, env=podman_env(), timeout=300)


def test_wal_carries_the_database_past_the_base_backup_to_a_point_in_time_restore(
    backed_up: str, db: Any, site: Any
) -> None:
    """A change made after tonight's backup reaches the target in the WAL, and a cluster rebuilt from
    the newest base backup and the archived WAL (decrypted at the target) holds it."""
    psql(db, "DROP TABLE IF EXISTS late; CREATE TABLE late AS SELECT generate_series(1, 777) AS id")
    segment = psql(db, "SELECT pg_walfile_name(pg_current_wal_lsn())")
    psql(db, "SELECT pg_switch_wal()")
    deadline = time.monotonic() + 120
    while psql(db, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")[:24] < segment:
        assert time.monotonic() < deadline, "the segment was not archived within 120 s"
        time.sleep(2)
    rc, status = verify(site, "backup-db")
    assert rc == 0, failing(status)
    wal = next(c for c in status["checks"] if "write-ahead log" in c["name"])
    assert "each decrypted and signed by the client" in wal["evidence"]

    newest = newest_set(site, "backup-db")
    decrypt = f"gpg --homedir {VERIFIER_GNUPG} --batch --quiet --decrypt"
    restore = "/tmp/pitr"
    try:
        pipe(
            "backup-site",
            f"{decrypt} {STORE}/backup-db/{newest}/cluster.tar.zst.gpg | zstd -dcq",
            "backup-db",
            f"rm -rf {restore} {restore}-wal && mkdir -m 700 {restore} {restore}-wal && tar -x -C {restore}",
        )
        pipe(
            "backup-site",
            f"set -e; w=$(mktemp -d); cd {STORE}/backup-db/wal; for f in *.zst.gpg; do"
            f' {decrypt} "$f" | zstd -dcq > "$w/${{f%.*.zst.gpg}}"; done; tar -C "$w" -cf - .; rm -rf "$w"',
            "backup-db",
            f"tar -x -C {restore}-wal",
        )
        sudo(
            db,
            f"cd {restore} && rm -f postmaster.pid && touch recovery.signal postgresql.conf"
            f" && echo 'local all all peer' > pg_hba.conf && chown -R postgres: {restore} {restore}-wal",
        )
        options = (
            f"-c port=5499 -c listen_addresses='' -c unix_socket_directories={restore}"
            f" -c restore_command='cp {restore}-wal/%f %p' -c archive_mode=off"
        )
        sudo(
            db,
            # -l: the server's output to a file, or it would hold this SSH session open.
            f'{PG_CTL} -D {restore} -l {restore}.log -w -t 120 -o "{options}" start',
        )
        restored = sudo(
            db,
            f"runuser -u postgres -- psql -XAtq -h {restore} -p 5499 -d shop -c 'SELECT count(*) FROM late'",
        )
        assert restored.strip() == "777"
    finally:
        sudo(
            db,
            f"{PG_CTL} -D {restore} -m immediate stop || true; rm -rf {restore} {restore}-wal {restore}.log",
        )


def test_the_additional_target_gets_its_own_copy_for_its_own_key(
    backed_up: str, extra: Any, site: Any
) -> None:
    newest = newest_set(extra, "backup-db")
    rc, status = verify(extra, "backup-db")
    assert rc == 0, failing(status)
    extra_keys = sudo(extra, f"gpg --homedir {VERIFIER_GNUPG} --with-colons --list-secret-keys")
    site_keys = sudo(site, f"gpg --homedir {VERIFIER_GNUPG} --with-colons --list-secret-keys")
    assert status["encrypted_to"] and all(
        k in extra_keys and k not in site_keys for k in status["encrypted_to"]
    )
    assert newest == status["set"]


def test_the_next_night_is_incremental_and_verifies_as_a_chain(backed_up: str, host: Any, site: Any) -> None:
    host.check_output("echo changed | sudo tee /srv/data/record-1.txt >/dev/null")
    sudo(host, "systemctl start rampart-backup.service")
    newest = newest_set(site, "backup-web")
    assert newest.endswith("-incr")
    rc, status = verify(site, "backup-web")
    assert rc == 0, failing(status)
    chain = next(c for c in status["checks"] if "chain" in c["name"])
    assert chain["evidence"].endswith("-full")


# --- damage: each fails STO-04, names the place, and raises an alert at the collector ---------


@pytest.fixture
def intact(backed_up: str, site: Any) -> Iterator[str]:
    """The newest backup-web set, restored to exactly its state after each damage test."""
    newest = newest_set(site, "backup-web")
    sudo(
        site,
        f"cp -a {STORE}/backup-web/{newest} /root/pristine"
        " && cp -a /etc/rampart-backup/clients/backup-web.json /root/registration.json",
    )
    yield newest
    sudo(site, f"rm -rf {STORE}/backup-web/{newest} && mv /root/pristine {STORE}/backup-web/{newest}")
    sudo(site, "mv /root/registration.json /etc/rampart-backup/clients/backup-web.json")
    sudo(site, f"find {STORE}/backup-web -maxdepth 1 -name '2099*' -exec rm -rf {{}} +")
    rc, status = verify(site, "backup-web")
    assert rc == 0, failing(status)


def assert_fails_and_alerts(site: Any, collector: Any, needle: str, *options: str) -> None:
    before = alerts(collector, "backup-site", needle)
    rc, status = verify(site, "backup-web", *options)
    assert rc == 1
    assert needle in failing(status), failing(status)
    assert alert_arrived(collector, "backup-site", needle, before), (
        f"no new alert with {needle!r} at the collector"
    )


def test_a_stale_backup_fails(intact: str, site: Any, collector: Any) -> None:
    assert_fails_and_alerts(
        site, collector, f"the newest backup of backup-web at backup-site ({intact}) is", "--max-age-hours 0"
    )


def test_a_missing_source_fails(intact: str, site: Any, collector: Any) -> None:
    # The verifier is told backup-web also declares a tree called invoices.
    registration = "/etc/rampart-backup/clients/backup-web.json"
    declared = json.loads(sudo(site, f"cat {registration}"))
    declared["expected"]["files"].append("invoices")
    encoded = base64.b64encode(json.dumps(declared).encode()).decode()
    sudo(site, f"echo {encoded} | base64 -d > {registration}")
    assert_fails_and_alerts(site, collector, f"files source invoices is not in {intact} at backup-site")


def test_a_truncated_object_fails(intact: str, site: Any, collector: Any) -> None:
    path = f"{STORE}/backup-web/{intact}/data.tar.zst.gpg"
    sudo(site, f"chmod u+w {path} && truncate -s 2000 {path}")
    assert_fails_and_alerts(
        site, collector, f"data.tar.zst.gpg in {intact} at backup-site differs from what backup-web stored"
    )


def test_an_object_modified_at_the_target_fails(intact: str, site: Any, collector: Any) -> None:
    path = f"{STORE}/backup-web/{intact}/data.tar.zst.gpg"
    sudo(site, f"chmod u+w {path} && printf 'X' | dd of={path} bs=1 seek=5000 conv=notrunc status=none")
    assert_fails_and_alerts(
        site, collector, f"data.tar.zst.gpg in {intact} at backup-site differs from what backup-web stored"
    )


def test_a_backup_signed_by_another_key_fails(intact: str, site: Any, collector: Any) -> None:
    forged = "20991231T000000Z-full"
    manifest = {
        "format": 1,
        "client": "backup-web",
        "set": forged,
        "level": "full",
        "parent": None,
        "full": forged,
        "created": "2099-12-31T00:00:00+00:00",
        "objects": [],
    }
    encoded = base64.b64encode(json.dumps(manifest).encode()).decode()
    sudo(
        site,
        "set -e; export GNUPGHOME=$(mktemp -d);"
        " gpg --batch --passphrase '' --quick-gen-key 'forger <f@lab>' ed25519 sign never 2>/dev/null;"
        f" gpg --homedir {VERIFIER_GNUPG} --armor --export > $GNUPGHOME/verifier.asc;"
        " gpg --batch --import $GNUPGHOME/verifier.asc 2>/dev/null;"
        f" mkdir -p {STORE}/backup-web/{forged};"
        f" echo {encoded} | base64 -d | gpg --batch --trust-model always --sign --encrypt"
        " --recipient \"$(gpg --with-colons --list-keys | awk -F: '/^uid/ && /verifier/ {print $10; exit}')\""
        f" --output {STORE}/backup-web/{forged}/manifest.json.gpg; rm -rf $GNUPGHOME",
    )
    assert_fails_and_alerts(
        site, collector, f"manifest of {forged} at backup-site: it is not signed by the client's key"
    )


def test_a_failed_backup_run_raises_an_alert(backed_up: str, host: Any, collector: Any) -> None:
    sudo(
        host,
        "cp -a /etc/rampart-backup/known_hosts.site /root/known_hosts.site"
        " && echo '[10.255.255.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedToAnotherHost'"
        " > /etc/rampart-backup/known_hosts.site",
    )
    needle = "control=STO-03 host=backup-web status=fail"
    before = alerts(collector, "backup-web", needle)
    try:
        run = host.run("sudo systemctl start rampart-backup.service")
        assert run.rc != 0
        assert alert_arrived(collector, "backup-web", needle, before)
    finally:
        sudo(host, "mv /root/known_hosts.site /etc/rampart-backup/known_hosts.site")
