"""Command line: ``python -m lab images|up|down|play|status`` (see lab/README.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from lab import naming
from lab import recipe as r
from lab.util import DEFAULT_INVENTORY_DIR, ROOT, say

ESTATE_FILE = ROOT / "lab" / "estate.yml"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for ``python -m lab``."""
    parser = argparse.ArgumentParser(
        prog="python -m lab",
        description="Rampart's lab: Debian hosts with systemd and sshd, as podman containers or QEMU VMs.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    release_help = f"Debian release, repeatable (default: {' and '.join(r.RELEASES)})"

    images = sub.add_parser("images", help="build the base images (cached by recipe hash)")
    images.add_argument("--release", action="append", choices=r.RELEASES, help=release_help)
    images.add_argument("--force", action="store_true", help="rebuild even when the recipe is unchanged")
    images.add_argument("--jobs", type=int, default=2, help="builds at once (default: 2)")
    images.add_argument(
        "--kind",
        choices=("container", "vm", "all"),
        default="container",
        help="container images (podman), VM images (.lab/vm/images/) or both (default: %(default)s)",
    )

    up = sub.add_parser("up", help="start a lab (idempotent) and write its inventory")
    up.add_argument("--name", default=naming.DEFAULT_LAB, help="lab name (default: %(default)s)")
    up.add_argument("--release", action="append", choices=r.RELEASES, help=release_help)
    up.add_argument("--hosts", type=int, default=1, help="hosts per release (default: %(default)s)")
    up.add_argument(
        "--instance",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME:RELEASE[:KIND]",
        help="an explicitly named host, repeatable (replaces --release/--hosts); KIND container or vm "
        "overrides --kind",
    )
    up.add_argument(
        "--platforms",
        metavar="JSON",
        help="Molecule's platform list as JSON (name, release, kind, disks, ...); replaces --instance",
    )
    up.add_argument(
        "--estate",
        nargs="?",
        const=ESTATE_FILE,
        type=Path,
        metavar="FILE",
        help=f"the hosts and groups of an estate (default: {_rel(ESTATE_FILE)}, the demo's); "
        "replaces --instance",
    )
    vm = up.add_argument_group("VMs", "settings for every VM of this call (see lab/README.md)")
    vm.add_argument(
        "--kind", choices=naming.KINDS, default="container", help="what hosts are (default: %(default)s)"
    )
    vm.add_argument(
        "--disks", type=int, default=0, help="extra virtio disks per VM, e.g. for RAID (default: 0)"
    )
    vm.add_argument("--disk-size", default="256M", help="size of each extra disk (default: %(default)s)")
    vm.add_argument("--memory", default="1G", help="memory per VM (default: %(default)s)")
    vm.add_argument("--cpus", type=int, default=2, help="virtual CPUs per VM (default: %(default)s)")
    vm.add_argument(
        "--boot",
        choices=naming.BOOT_MODES,
        default="snapshot",
        help="snapshot: resume a clone of a booted template (seconds; the first VM of a shape makes "
        "it); cold: boot the kernel (about a minute) (default: %(default)s)",
    )
    vm.add_argument(
        "--host-port",
        type=int,
        action="append",
        default=[],
        metavar="PORT",
        help="let the VMs reach 127.0.0.1:PORT on this host at 10.0.2.100:PORT, repeatable",
    )
    vm.add_argument(
        "--boot-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="fail (with the console log) when a VM is not ready in time (default: %(default)s)",
    )
    up.add_argument("--json", action="store_true", help="print the hosts as JSON on stdout")
    inventory = up.add_mutually_exclusive_group()
    inventory.add_argument(
        "--inventory",
        type=Path,
        help=f"write hosts.yml and group_vars/lab.yml here (default: {_rel(DEFAULT_INVENTORY_DIR)} "
        "for the default lab, nothing for others)",
    )
    inventory.add_argument("--no-inventory", action="store_true", help="write no inventory")
    up.add_argument(
        "--network",
        choices=("auto", "bridge", "slirp4netns"),
        default="auto",
        help="bridge: a lab podman network (needs iptables on the host); slirp4netns: user-mode "
        "networking per host; auto: bridge when iptables is installed (default)",
    )
    up.add_argument("--no-build", action="store_true", help="fail instead of building missing images")
    up.add_argument("--jobs", type=int, default=2, help="image builds at once (default: 2)")

    down = sub.add_parser("down", help="remove a lab's containers, network and inventory")
    down.add_argument("--name", default=naming.DEFAULT_LAB, help="lab name (default: %(default)s)")
    down.add_argument(
        "--inventory", type=Path, help="inventory folder to clean (default lab: inventories/lab)"
    )

    play = sub.add_parser("play", help="run a playbook on the lab through ansible-runner and summarise it")
    play.add_argument("playbook", help="playbook path, relative to the checkout (e.g. playbooks/site.yml)")
    play.add_argument(
        "--inventory",
        type=Path,
        default=DEFAULT_INVENTORY_DIR / "hosts.yml",
        help="inventory (default: the lab's)",
    )
    play.add_argument("--check", action="store_true", help="check mode with diff")
    play.add_argument(
        "--expect-no-changes", action="store_true", help="fail if any task reports a change (idempotence)"
    )

    estate = sub.add_parser(
        "estate",
        help="the demo: start the lab estate, check, harden twice, verify, and build the compliance report",
    )
    estate.add_argument("--name", default=naming.DEFAULT_LAB, help="lab name (default: %(default)s)")
    estate.add_argument(
        "--inventory",
        type=Path,
        help=f"inventory folder (default: {_rel(DEFAULT_INVENTORY_DIR)} for the lab `lab`, "
        ".lab/estates/NAME/inventory otherwise)",
    )
    estate.add_argument(
        "--reports",
        type=Path,
        help="where the control records and the compliance report go (default: reports/ for the lab `lab`, "
        ".lab/estates/NAME/reports otherwise)",
    )

    status = sub.add_parser("status", help="list this checkout's lab containers, networks and images")
    status.add_argument("--name", help="only this lab")
    status.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and check ``argv``; exits with a usage message on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "name", None) is not None:
            naming.validate_lab_name(args.name)
        if args.command == "up":
            args.specs, args.children = up_specs(args)
            if args.boot_timeout <= 0:
                raise ValueError("--boot-timeout must be positive")
            if args.no_inventory:
                args.inventory = None
            elif args.inventory is None and args.name == naming.DEFAULT_LAB:
                args.inventory = DEFAULT_INVENTORY_DIR
        if args.command == "down" and args.inventory is None and args.name == naming.DEFAULT_LAB:
            args.inventory = DEFAULT_INVENTORY_DIR
        if args.command == "estate":
            default = args.name == naming.DEFAULT_LAB
            home = ROOT / ".lab" / "estates" / args.name
            args.inventory = args.inventory or (DEFAULT_INVENTORY_DIR if default else home / "inventory")
            args.reports = args.reports or (ROOT / "reports" if default else home / "reports")
        if getattr(args, "jobs", 1) < 1:
            raise ValueError("--jobs must be at least 1")
    except ValueError as exc:
        parser.error(str(exc))
    return args


def up_specs(args: argparse.Namespace) -> tuple[list[naming.HostSpec], dict[str, list[str]]]:
    """The hosts ``up`` asks for, and an estate's parent groups."""
    explicit = [bool(args.instance), bool(args.platforms), args.estate is not None]
    if any(explicit) and (args.release or args.hosts != 1):
        raise ValueError(
            "--instance/--platforms/--estate replace --release and --hosts: give one or the other"
        )
    if sum(explicit) > 1:
        raise ValueError("give one of --instance, --platforms and --estate")
    if args.estate is not None:
        return estate_specs(args.estate)
    if args.platforms:
        return platform_specs(args.platforms), {}
    specs = host_specs(
        args.name, args.release, args.hosts, args.instance, kind=args.kind, vm=vm_settings(args)
    )
    return specs, {}


def vm_settings(args: argparse.Namespace) -> naming.VmSettings:
    """Return the VM settings the ``up`` options ask for."""
    return naming.VmSettings(
        disks=args.disks,
        disk_size_mib=naming.parse_size_mib(args.disk_size),
        memory_mib=naming.parse_size_mib(args.memory),
        cpus=args.cpus,
        boot=args.boot,
        host_ports=tuple(args.host_port),
    )


def host_specs(
    lab: str,
    releases: Sequence[str] | None,
    hosts: int,
    instances: Sequence[str],
    *,
    kind: str = "container",
    vm: naming.VmSettings | None = None,
) -> list[naming.HostSpec]:
    """Return the hosts ``up`` asks for: explicit instances, or a fleet per release."""
    if instances:
        specs = [naming.parse_instance(text, r.RELEASES, kind, vm) for text in instances]
    else:
        chosen = list(dict.fromkeys(releases or r.RELEASES))
        specs = naming.fleet_specs(lab, chosen, hosts, kind, vm)
    return naming.check_unique(specs)


def platform_specs(text: str) -> list[naming.HostSpec]:
    """Return the hosts of ``--platforms JSON`` (Molecule's platform list)."""
    from lab.platforms import parse_platforms

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--platforms is not JSON: {exc}") from None
    return parse_platforms(data, r.RELEASES)


def estate_specs(path: Path) -> tuple[list[naming.HostSpec], dict[str, list[str]]]:
    """The hosts of an estate file (a platform list, as in Molecule) and its parent groups."""
    import yaml

    from lab.platforms import parse_platforms

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"--estate {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("platforms"), list):
        raise ValueError(f"--estate {path}: expected a mapping with a list of platforms")
    children = data.get("children") or {}
    if not isinstance(children, dict) or not all(
        isinstance(kids, list) and all(isinstance(k, str) for k in kids) for kids in children.values()
    ):
        raise ValueError(f"--estate {path}: children must map a group to a list of groups")
    for parent in children:
        naming.validate_group_name(parent, f"--estate {path}: children")
    return parse_platforms(data["platforms"], r.RELEASES), {str(k): list(v) for k, v in children.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m lab``; return the exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    commands = {
        "images": cmd_images,
        "up": cmd_up,
        "down": cmd_down,
        "play": cmd_play,
        "estate": cmd_estate,
        "status": cmd_status,
    }
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except Exception as exc:  # one readable line instead of a traceback
        print(f"lab: error: {exc}", file=sys.stderr)
        return 1


def cmd_images(args: argparse.Namespace) -> int:
    """``images``: build missing or outdated images."""
    from lab.images import ensure_images
    from lab.vmimages import ensure_vm_images

    releases = list(dict.fromkeys(args.release or r.RELEASES))
    start = time.monotonic()
    built = False
    if args.kind in ("container", "all"):
        results = ensure_images(releases, force=args.force, jobs=args.jobs)
        for result in results:
            if result.built:
                print(
                    f"{result.release}: built {result.reference} in {result.seconds:.1f} s "
                    f"(recipe {result.recipe_hash})"
                )
            else:
                print(f"{result.release}: {result.reference} is up to date (recipe {result.recipe_hash})")
        built = built or any(result.built for result in results)
    if args.kind in ("vm", "all"):
        vm_results = ensure_vm_images(releases, force=args.force, jobs=args.jobs)
        for vm_result in vm_results:
            where = _rel(vm_result.directory)
            if vm_result.built:
                print(
                    f"{vm_result.release}: built VM image {where} in {vm_result.seconds:.1f} s "
                    f"({vm_result.size / 1e6:.0f} MB)"
                )
            else:
                print(f"{vm_result.release}: VM image {where} is up to date")
        built = built or any(result.built for result in vm_results)
    if built:
        print(f"total: {time.monotonic() - start:.1f} s with --jobs {args.jobs}")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    """``up``: start the lab and report its hosts."""
    from lab.fleet import Lab, up
    from lab.inventory import host_list

    start = time.monotonic()
    hosts = up(
        Lab(args.name),
        args.specs,
        network_mode=args.network,
        build=not args.no_build,
        inventory_dir=args.inventory,
        jobs=args.jobs,
        vm_timeout=args.boot_timeout,
        children=args.children,
    )
    if args.json:
        print(json.dumps(host_list(hosts), indent=2))
    else:
        for host in hosts:
            print(
                f"{host.name:28} {host.release:9} {host.kind:9} ssh -p {host.port} {host.user}@{host.address}"
                f"  ({host.container})"
            )
    if args.inventory is not None:
        say(f"inventory: {_rel(args.inventory / 'hosts.yml')}")
    say(f"up took {time.monotonic() - start:.1f} s")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """``down``: remove the lab's containers, VMs and network."""
    from lab.fleet import Lab, down

    hosts, networks = down(Lab(args.name), inventory_dir=args.inventory)
    if not hosts and not networks:
        say(f"{args.name}: nothing to remove")
    for name in hosts + networks:
        say(f"removed {name}")
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    """``play``: run a playbook through ansible-runner; print what it did, host by host."""
    from lab.play import run_playbook, summarise

    run = run_playbook(args.playbook, args.inventory, check=args.check)
    print(summarise(run))
    if not run.ok:
        return 1
    if args.expect_no_changes and run.changed:
        print(f"not idempotent: {run.changed_count()} task(s) changed on a second run", file=sys.stderr)
        return 1
    return 0


def cmd_estate(args: argparse.Namespace) -> int:
    """``estate``: the demo's whole story on the lab estate (lab/estate.py)."""
    from lab.estate import run, ssh_commands

    result = run(args.name, args.inventory, args.reports)
    print("\n== time per step")
    print(f"{result.up_seconds:7.1f} s  start the estate's {len(result.hosts)} hosts")
    for step, play in result.runs:
        verdict = "" if play.ok else "  FAILED"
        print(f"{play.seconds:7.1f} s  {step.name}{verdict}")
    print(f"{result.seconds:7.1f} s  in all")
    print("\n== log in to the estate (it stays up; `./rampart lab down` removes it)")
    print("\n".join(ssh_commands(result.hosts)))
    html = args.reports / "compliance" / "report.html"
    if html.exists():
        print(f"\n== the compliance report: {_rel(html)} (also report.json and report.junit.xml beside it)")
    return 0 if result.ok else 1


def cmd_status(args: argparse.Namespace) -> int:
    """``status``: list this checkout's lab containers, VMs, networks and images."""
    from lab.fleet import Lab, list_containers, list_networks
    from lab.images import image_state
    from lab.vmimages import vm_image_state
    from lab.vms import list_vms

    checkout = Lab(naming.DEFAULT_LAB).checkout
    labels = {naming.LABEL_CHECKOUT: checkout}
    if args.name:
        labels[naming.LABEL_LAB] = args.name
    containers = list_containers(labels)
    networks = list_networks(labels)
    images = [image_state(release) for release in r.RELEASES]
    machines = list_vms(args.name)
    vm_images = [vm_image_state(release) for release in r.RELEASES]
    if args.json:
        print(
            json.dumps(
                {
                    "checkout": checkout,
                    "containers": [
                        {
                            "lab": c.labels.get(naming.LABEL_LAB),
                            "host": c.labels.get(naming.LABEL_HOST),
                            "release": c.labels.get(naming.LABEL_RELEASE),
                            "name": c.name,
                            "state": c.state,
                            "port": c.ssh_port,
                        }
                        for c in containers
                    ],
                    "vms": [
                        {
                            "lab": vm.record.lab,
                            "host": vm.record.host,
                            "release": vm.record.release,
                            "name": vm.record.resource,
                            "state": vm.state,
                            "port": vm.record.port,
                            "pid": vm.record.pid,
                            "boot": vm.record.boot,
                            "directory": str(vm.directory),
                        }
                        for vm in machines
                    ],
                    "networks": [n.name for n in networks],
                    "images": [
                        {
                            "reference": i.reference,
                            "recipe": i.want,
                            "built_from": i.have,
                            "current": i.current,
                        }
                        for i in images
                    ],
                    "vm_images": [
                        {
                            "release": v.release,
                            "recipe": v.want,
                            "current": v.current,
                            "outdated": list(v.others),
                        }
                        for v in vm_images
                    ],
                },
                indent=2,
            )
        )
        return 0
    print(f"checkout {checkout}")
    print(f"{'LAB':14} {'HOST':28} {'RELEASE':9} {'KIND':9} {'STATE':8} {'SSH':6} NAME")
    for c in containers:
        print(
            f"{c.labels.get(naming.LABEL_LAB, '?'):14} {c.labels.get(naming.LABEL_HOST, '?'):28} "
            f"{c.labels.get(naming.LABEL_RELEASE, '?'):9} {'container':9} {c.state:8} "
            f"{c.ssh_port or '-'!s:6} {c.name}"
        )
    for vm in machines:
        print(
            f"{vm.record.lab:14} {vm.record.host:28} {vm.record.release:9} {'vm':9} {vm.state:8} "
            f"{vm.record.port!s:6} {vm.record.resource} (pid {vm.record.pid})"
        )
    for n in networks:
        print(f"network {n.name}")
    for i in images:
        if i.image is None:
            state = "missing"
        else:
            state = "current" if i.current else f"outdated (built from {i.have})"
        print(f"image {i.reference}: {state}")
    for v in vm_images:
        state = "current" if v.current else "missing"
        if v.others:
            state += f" (older: {', '.join(v.others)})"
        print(f"vm image {v.release}-{v.want}: {state}")
    return 0
