"""Benchmark the backup pipeline (STO-03/04) against its limit and against borg and restic.

    python -m bench.backup [--size-mib 1024] [--files 10000] [--changed 0.01] [--record]

Generates a data set in .lab/bench/backup/data (half compressible text, half random bytes, in
``--files`` files), then times on this machine, each as its own process tree (wall time; peak
RSS of the largest process, from getrusage of the waited children):

* limit: ``tar | zstd -T0 | gpg --sign --encrypt`` to /dev/null, the pipeline without the
  receiver or any bookkeeping; and the same into a file on the same disk, synced (what storing
  the backup costs at least);
* rampart: a full backup with roles/backup_client/files/rampart-backup into
  rampart-backup-receive (the SSH hop replaced by a local pipe, as in
  tests/unit/plugins/module_utils/test_backup_pipeline.py), the nightly run after
  ``--changed`` of the files were rewritten, the verification (rampart-backup-verify of the
  newest set), and a full restore (decrypt, zstd, tar of the chain);
* borg and restic from Debian (``./rampart setup`` installs them): a
  repository on the same disk, the first backup and the one after the same change.

The SSH transport is not in these figures: this machine runs no sshd to copy to over loopback.
``--record`` appends the figures to bench/results.json with the command.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".lab" / "bench" / "backup"
FIXTURES = ROOT / "tests" / "fixtures" / "openpgp"
CLIENT = ROOT / "roles" / "backup_client" / "files" / "rampart-backup"
RECEIVE = ROOT / "roles" / "backup_target" / "files" / "rampart-backup-receive"
VERIFY = ROOT / "roles" / "backup_target" / "files" / "rampart-backup-verify"
RESULTS = ROOT / "bench" / "results.json"
VERIFIER = "B03E1FF81DCFDB66704C5058F149B9EECBE359ED"


def timed(argv: list[str] | str, env: dict[str, str] | None = None, shell: bool = False) -> dict[str, Any]:
    """Run one command (a process tree); wall seconds and the peak RSS (MiB) of its largest process."""
    started = time.monotonic()
    if shell:  # bash, for pipefail
        argv = ["bash", "-c", f"set -o pipefail; {argv}"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv!r} exited {done.returncode}: {done.stderr[-800:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(peak, 1)}


def generate(data: Path, size_mib: int, files: int, seed: int = 7) -> None:
    if data.exists():
        shutil.rmtree(data)
    rng = random.Random(seed)
    per_file = size_mib * 1024 * 1024 // files
    words = [f"customer-{n} order {n * 7} total {n * 1.5:.2f}\n".encode() for n in range(1000)]
    for index in range(files):
        folder = data / f"d{index % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        if index % 2:
            body = os.urandom(per_file)
        else:
            body = b"".join(rng.choice(words) for _ in range(per_file // 30))[:per_file]
        (folder / f"f{index:05d}.dat").write_bytes(body)


def change(data: Path, share: float) -> int:
    paths = sorted(data.rglob("*.dat"))
    picked = paths[:: max(1, round(1 / share))]
    for path in picked:
        path.write_bytes(os.urandom(path.stat().st_size))
    return len(picked)


def gpg(home: Path, *args: str, stdin: str | None = None) -> str:
    argv = [
        "gpg",
        "--homedir",
        str(home),
        "--batch",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        *args,
    ]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=True).stdout


def setup(work: Path, data: Path, client: str = "bench") -> dict[str, Any]:
    """Keys, a store, a local stand-in for SSH, and the client and verifier settings, in ``work``.

    Wired as the roles wire them: the client holds the verifier's public key and its own signing
    key; the verifier holds its secret key and the client's public signing key; ``ssh`` on the
    returned ``env``'s PATH runs the receiver with the request as SSH_ORIGINAL_COMMAND, as the
    target's forced command does. Also used by tests/unit/.../test_backup_pipeline.py.
    """
    for sub in ("client-gnupg", "verifier-gnupg", "store", "state", "status", "clients", "bin"):
        shutil.rmtree(work / sub, ignore_errors=True)
        (work / sub).mkdir(parents=True, mode=0o700)
    client_gpg, verifier_gpg = work / "client-gnupg", work / "verifier-gnupg"
    gpg(client_gpg, "--import", stdin=(FIXTURES / "ed25519-public.asc").read_text())
    gpg(client_gpg, "--quick-gen-key", f"rampart-backup signing key of {client}", "ed25519", "sign", "never")
    listing = gpg(client_gpg, "--with-colons", "--list-secret-keys")
    signer = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
    gpg(verifier_gpg, "--import", stdin=(FIXTURES / "ed25519-secret.asc").read_text())
    gpg(verifier_gpg, "--import", stdin=gpg(client_gpg, "--armor", "--export", signer))
    store = work / "store" / client
    store.mkdir(mode=0o700)
    ssh = work / "bin" / "ssh"
    ssh.write_text(
        "#!/bin/sh\n# The target's forced command: the last argument is the client's request.\n"
        "for last; do :; done\n"
        f'SSH_ORIGINAL_COMMAND="$last" exec {sys.executable} {RECEIVE} --store {store}\n'
    )
    ssh.chmod(0o755)
    config = work / "client.json"
    target = {
        "name": "site",
        "kind": "secondary",
        "address": "192.0.2.1",
        "port": 2222,
        "user": f"rb-{client}",
        "known_hosts": "/dev/null",
        "identity": "/dev/null",
        "recipients": [VERIFIER],
    }
    config.write_text(
        json.dumps(
            {
                "client": client,
                "gnupghome": str(client_gpg),
                "signer": signer,
                "state_dir": str(work / "state"),
                "full_every_days": 7,
                "sources": [{"name": "data", "path": str(data)}],
                "databases": [],
                "targets": [target],
            }
        )
    )
    (work / "clients" / f"{client}.json").write_text(
        json.dumps(
            {
                "client": client,
                "store": str(store),
                "signer": signer,
                "expected": {"files": ["data"]},
                "max_age_hours": 26,
                "min_size_ratio": 0.5,
            }
        )
    )
    verifier = work / "verifier.json"
    verifier.write_text(
        json.dumps(
            {
                "target": "site",
                "gnupghome": str(verifier_gpg),
                "status_dir": str(work / "status"),
                "clients_dir": str(work / "clients"),
                "keep_fulls": 2,
            }
        )
    )
    env = {
        **os.environ,
        "PATH": f"{work / 'bin'}:{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT / "plugins" / "module_utils"),
    }
    return {
        "config": config,
        "verifier": verifier,
        "store": store,
        "status": work / "status" / f"{client}.json",
        "env": env,
        "signer": signer,
        "client_gpg": client_gpg,
        "verifier_gpg": verifier_gpg,
    }


def measure_rampart(work: Path, data: Path, share: float) -> dict[str, Any]:
    lab = setup(work, data)
    results: dict[str, Any] = {}
    pipeline = (
        f"tar -C / -cf - {data.relative_to('/')} | zstd -q -T0 -c | gpg --homedir {lab['client_gpg']} --batch"
        f" --trust-model always --compress-algo none --local-user {lab['signer']} --sign --encrypt"
        f" --recipient {VERIFIER} --output -"
    )
    results["limit"] = timed(f"{pipeline} > /dev/null", shell=True)
    stored = work / "limit.gpg"
    results["limit_stored"] = timed(f"{pipeline} > {stored} && sync {stored}", shell=True)
    stored.unlink()
    results["full"] = timed([sys.executable, str(CLIENT), "--config", str(lab["config"])], env=lab["env"])
    results["changed_files"] = change(data, share)
    time.sleep(1.1)  # a set is named by its second
    results["incremental"] = timed(
        [sys.executable, str(CLIENT), "--config", str(lab["config"])], env=lab["env"]
    )
    results["verify_newest"] = timed(
        [sys.executable, str(VERIFY), "--config", str(lab["verifier"]), "--no-prune"], env=lab["env"]
    )
    sets = sorted(p.name for p in lab["store"].iterdir() if p.name[0].isdigit())
    restore = work / "restore"
    shutil.rmtree(restore, ignore_errors=True)
    restore.mkdir()
    script = " && ".join(
        f"gpg --homedir {lab['verifier_gpg']} --batch --quiet"
        f" --decrypt {lab['store'] / name / 'data.tar.zst.gpg'}"
        f" | zstd -dcq | tar --extract --listed-incremental=/dev/null --file=- -C {restore}"
        for name in sets
    )
    results["restore_chain"] = timed(script, shell=True)
    results["stored_mib"] = round(
        sum(f.stat().st_size for f in lab["store"].rglob("*") if f.is_file()) / 2**20, 1
    )
    shutil.rmtree(restore, ignore_errors=True)
    for home in (lab["client_gpg"], lab["verifier_gpg"]):
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    return results


def measure_other(tool: str, work: Path, data: Path, share: float) -> dict[str, Any] | str:
    if not shutil.which(tool):
        return "not installed (run ./rampart setup)"
    repo = work / f"{tool}-repo"
    shutil.rmtree(repo, ignore_errors=True)
    env = {
        **os.environ,
        "BORG_PASSPHRASE": "bench",
        "RESTIC_PASSWORD": "bench",
        "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
    }
    if tool == "borg":
        subprocess.run(
            ["borg", "init", "--encryption=repokey", str(repo)], env=env, check=True, capture_output=True
        )
        commands = [
            ["borg", "create", "--compression", "zstd,3", f"{repo}::{name}", str(data)] for name in "ab"
        ]
    else:
        subprocess.run(["restic", "init", "--repo", str(repo)], env=env, check=True, capture_output=True)
        commands = [["restic", "backup", "--repo", str(repo), "--quiet", str(data)]] * 2
    first = timed(commands[0], env=env)
    change(data, share)
    second = timed(commands[1], env=env)
    size = sum(f.stat().st_size for f in repo.rglob("*") if f.is_file()) / 2**20
    shutil.rmtree(repo, ignore_errors=True)
    return {"full": first, "incremental": second, "stored_mib": round(size, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    data = WORK / "data"
    figures: dict[str, Any] = {"size_mib": args.size_mib, "files": args.files, "changed": args.changed}
    generate(data, args.size_mib, args.files)
    figures["rampart"] = measure_rampart(WORK, data, args.changed)
    for tool in ("borg", "restic"):
        generate(data, args.size_mib, args.files)
        figures[tool] = measure_other(tool, WORK, data, args.changed)
    figures["load_average"] = os.getloadavg()
    print(json.dumps(figures, indent=1))
    if args.record:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout
        runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
        runs.append(
            {
                "benchmark": "backup",
                "command": "python -m bench.backup " + " ".join(sys.argv[1:]),
                "commit": commit.strip(),
                "time": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                **figures,
            }
        )
        RESULTS.write_text(json.dumps(runs, indent=1) + "\n")
    shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
