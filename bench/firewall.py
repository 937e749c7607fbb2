"""Benchmark the firewall (NET-02, NET-03): access-list compilation and large sets in a live kernel.

    python -m bench.firewall [--acl 100000] [--set 1000000] [--add 10000] [--seed 1]

Runs as root on the host, with the kernel work in a throwaway network namespace (``unshare -n``),
so this machine's own firewall is never touched. Measures (wall time; each step once):

1. compile: ``compile_acl`` + ``render_ruleset`` (what the role's filters run) for --acl source
   entries (random IPv4 and IPv6 networks, 100 per rule), then ``nft -c`` and ``nft -f`` of the
   rendered table in the namespace;
2. load: a block-list file of --set random unique IPv4 addresses into the role's ``blocklist_v4``
   hash set, with the ``nft_set`` module run as Ansible runs it (``state: exact``), then the same
   run again (unchanged), then the next day's list (--add addresses gone, --add new);
3. add: --add more addresses with ``nft_set`` ``state: present``, and again (unchanged);
4. for comparison: the million through ``nft -f`` alone, and one ``nft list set`` of it;
5. memory: the module's peak RSS and the kernel's (MemAvailable before and after the load; noisy
   on a shared machine).

Prints one JSON object with the figures and the commands; nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.rampart.hardening.plugins.module_utils.nft import (  # noqa: E402
    compile_acl,
    render_ruleset,
)

MODULE = ROOT / "plugins" / "modules" / "nft_set.py"


def meminfo() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, value = line.split(":", 1)
        fields[key] = int(value.split()[0])
    return {"slab_kib": fields["Slab"], "available_kib": fields["MemAvailable"]}


def random_networks(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        if rng.random() < 0.8:
            plen = rng.choice([16, 20, 24, 28, 32])
            out.append(str(ipaddress.ip_network((rng.getrandbits(32), plen), strict=False)))
        else:
            plen = rng.choice([32, 48, 64, 128])
            out.append(str(ipaddress.ip_network((rng.getrandbits(128), plen), strict=False)))
    return out


def unique_ipv4(rng: random.Random, count: int, avoid: set[int]) -> list[int]:
    chosen: set[int] = set()
    while len(chosen) < count:
        value = rng.randrange(0x0B000000, 0xDF000000)  # 11.0.0.0 - 222.255.255.255: public unicast-ish
        if value not in avoid:
            chosen.add(value)
    return list(chosen)


def timed(argv: list[str], stdin: str | None = None) -> float:
    start = time.monotonic()
    subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True)
    return time.monotonic() - start


def run_module(args: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
    """nft_set as Ansible runs it on a host: a Python process with the arguments in a JSON file.

    Returns (wall seconds, peak RSS in KiB of the module process, result).
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = {**os.environ, "PYTHONPATH": str(ROOT / ".collections")}
    start = time.monotonic()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, str(MODULE), handle.name], env=env, stdout=subprocess.PIPE, stderr=errors
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0  # reaped by wait4
        errors.seek(0)
        err = errors.read()
    seconds = time.monotonic() - start
    Path(handle.name).unlink()
    result = json.loads(out)
    if result.get("failed"):
        raise SystemExit(f"nft_set {args} failed: {result.get('msg')} {err.decode()[-2000:]}")
    return seconds, usage.ru_maxrss, result


def write_list(path: Path, addresses: list[int]) -> None:
    path.write_text("".join(f"{ipaddress.IPv4Address(a)}\n" for a in addresses))


def inside(opts: argparse.Namespace) -> dict[str, Any]:
    """Everything that needs the kernel; runs in the throwaway namespace."""
    rng = random.Random(opts.seed)
    figures: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="bench-firewall."))

    rules = [
        {"name": f"r{i}", "ports": [1000 + i % 60000], "sources": random_networks(rng, 100)}
        for i in range(opts.acl // 100)
    ]
    start = time.monotonic()
    acl = compile_acl({"firewall_rules": rules})
    compiled = time.monotonic() - start
    ruleset = render_ruleset(acl)
    figures["compile"] = {
        "entries": opts.acl,
        "rules": len(rules),
        "merged_networks": sum(len(r["ipv4"]) + len(r["ipv6"]) for r in acl["rules"]),
        "compile_s": round(compiled, 2),
        "render_s": round(time.monotonic() - start - compiled, 2),
        "ruleset_bytes": len(ruleset),
    }
    path = work / "ruleset.nft"
    path.write_text(ruleset)
    figures["compile"]["nft_check_s"] = round(timed(["nft", "-c", "-f", str(path)]), 2)
    figures["compile"]["nft_load_s"] = round(timed(["nft", "-f", str(path)]), 2)

    # A small table (the role's, with a block-list set big enough), so the set figures measure the set alone.
    small = render_ruleset(
        compile_acl({"firewall_rules": [{"name": "ssh", "ports": [22], "sources": ["10.0.0.0/8"]}]}),
        {"blocklist_size": opts.set + 2 * opts.add + 1},
    )
    subprocess.run(["nft", "-f", "-"], input=small, text=True, check=True)
    addresses = unique_ipv4(rng, opts.set + 2 * opts.add, set())
    block, extra, churn = (
        addresses[: opts.set],
        addresses[opts.set : opts.set + opts.add],
        addresses[opts.set + opts.add :],
    )
    block_file, extra_file, churn_file = work / "blocklist.txt", work / "extra.txt", work / "churn.txt"
    write_list(block_file, block)
    write_list(extra_file, extra)
    # The next day's list: --add addresses gone, --add new ones.
    write_list(churn_file, block[opts.add :] + churn)
    exact = {"name": "blocklist_v4", "state": "exact", "cache_dir": str(work / "cache")}

    before = meminfo()
    seconds, rss, result = run_module({**exact, "paths": [str(block_file)]})
    after = meminfo()
    figures["load"] = {
        "addresses": opts.set,
        "nft_set_module_s": round(seconds, 2),
        "module_peak_rss_mib": round(rss / 1024, 1),
        "added": result["added_count"],
        "count_after": result["count"],
        "kernel_memory_mib": round((before["available_kib"] - after["available_kib"]) / 1024, 1),
    }
    seconds, _, result = run_module({**exact, "paths": [str(block_file)]})
    figures["load"]["rerun_unchanged_s"] = round(seconds, 2)
    figures["load"]["rerun_changed"] = result["changed"]
    seconds, _, result = run_module({**exact, "paths": [str(churn_file)]})
    figures["update"] = {
        "addresses": opts.set,
        "nft_set_module_s": round(seconds, 2),
        "added": result["added_count"],
        "removed": result["removed_count"],
    }

    seconds, _, result = run_module({"name": "blocklist_v4", "paths": [str(extra_file)], "state": "present"})
    figures["add"] = {
        "addresses": opts.add,
        "nft_set_module_s": round(seconds, 2),
        "added": result["added_count"],
    }
    seconds, _, result = run_module({"name": "blocklist_v4", "paths": [str(extra_file)], "state": "present"})
    figures["add"]["rerun_unchanged_s"] = round(seconds, 2)
    figures["add"]["rerun_changed"] = result["changed"]

    # For comparison: the same million through nft -f (what the module did before it spoke netlink).
    subprocess.run(["nft", "flush", "set", "inet", "rampart", "blocklist_v4"], check=True)
    script = work / "load.nft"
    chunks = [block[i : i + 20000] for i in range(0, len(block), 20000)]
    script.write_text(
        "".join(
            "add element inet rampart blocklist_v4 { "
            + ", ".join(str(ipaddress.IPv4Address(a)) for a in c)
            + " }\n"
            for c in chunks
        )
    )
    figures["load"]["nft_f_s"] = round(timed(["nft", "-f", str(script)]), 2)
    start = time.monotonic()
    subprocess.run(["nft", "list", "set", "inet", "rampart", "blocklist_v4"], capture_output=True, check=True)
    figures["load"]["nft_list_set_s"] = round(time.monotonic() - start, 2)
    shutil.rmtree(work)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--acl", type=int, default=100_000, help="ACL source entries to compile")
    parser.add_argument("--set", type=int, default=1_000_000, help="addresses in the block list")
    parser.add_argument("--add", type=int, default=10_000, help="addresses added incrementally")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.inside:
        print(json.dumps(inside(opts)))
        return
    if os.geteuid() != 0:
        raise SystemExit("bench.firewall: run as root (it uses a throwaway network namespace: unshare -n)")
    argv = [
        sys.executable,
        "-m",
        "bench.firewall",
        "--inside",
        "--acl",
        str(opts.acl),
        "--set",
        str(opts.set),
    ]
    argv += ["--add", str(opts.add), "--seed", str(opts.seed)]
    proc = subprocess.run(["unshare", "-n", *argv], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench.firewall failed:\n{proc.stderr[-3000:]}")
    figures = json.loads(proc.stdout)
    nft_version = subprocess.run(
        ["nft", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    figures["environment"] = {
        "nft": nft_version,
        "kernel": os.uname().release,
        "load_average": round(os.getloadavg()[0], 2),
        "command": " ".join(["python -m bench.firewall", *sys.argv[1:]]),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
