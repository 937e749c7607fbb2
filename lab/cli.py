"""Command line: ``python -m lab images|up|down|status`` (see lab/README.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from lab import naming
from lab import recipe as r
from lab.util import DEFAULT_INVENTORY_DIR, say


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for ``python -m lab``."""
    parser = argparse.ArgumentParser(
        prog="python -m lab",
        description="Rampart's container lab: Debian hosts with systemd and sshd in podman.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    release_help = f"Debian release, repeatable (default: {' and '.join(r.RELEASES)})"

    images = sub.add_parser("images", help="build the base images (cached by recipe hash)")
    images.add_argument("--release", action="append", choices=r.RELEASES, help=release_help)
    images.add_argument("--force", action="store_true", help="rebuild even when the recipe is unchanged")
    images.add_argument("--jobs", type=int, default=2, help="builds at once (default: 2)")

    up = sub.add_parser("up", help="start a lab (idempotent) and write its inventory")
    up.add_argument("--name", default=naming.DEFAULT_LAB, help="lab name (default: %(default)s)")
    up.add_argument("--release", action="append", choices=r.RELEASES, help=release_help)
    up.add_argument("--hosts", type=int, default=1, help="hosts per release (default: %(default)s)")
    up.add_argument(
        "--instance",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME:RELEASE",
        help="an explicitly named host, repeatable (replaces --release/--hosts)",
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
            if args.instance and (args.release or args.hosts != 1):
                raise ValueError("--instance replaces --release and --hosts: give one or the other")
            args.specs = host_specs(args.name, args.release, args.hosts, args.instance)
            if args.no_inventory:
                args.inventory = None
            elif args.inventory is None and args.name == naming.DEFAULT_LAB:
                args.inventory = DEFAULT_INVENTORY_DIR
        if args.command == "down" and args.inventory is None and args.name == naming.DEFAULT_LAB:
            args.inventory = DEFAULT_INVENTORY_DIR
        if getattr(args, "jobs", 1) < 1:
            raise ValueError("--jobs must be at least 1")
    except ValueError as exc:
        parser.error(str(exc))
    return args


def host_specs(
    lab: str, releases: Sequence[str] | None, hosts: int, instances: Sequence[str]
) -> list[naming.HostSpec]:
    """Return the hosts ``up`` asks for: explicit instances, or a fleet per release."""
    if instances:
        specs = [naming.parse_instance(text, r.RELEASES) for text in instances]
    else:
        chosen = list(dict.fromkeys(releases or r.RELEASES))
        specs = naming.fleet_specs(lab, chosen, hosts)
    return naming.check_unique(specs)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m lab``; return the exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    commands = {"images": cmd_images, "up": cmd_up, "down": cmd_down, "play": cmd_play, "status": cmd_status}
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

    releases = list(dict.fromkeys(args.release or r.RELEASES))
    start = time.monotonic()
    results = ensure_images(releases, force=args.force, jobs=args.jobs)
    for result in results:
        if result.built:
            print(
                f"{result.release}: built {result.reference} in {result.seconds:.1f} s "
                f"(recipe {result.recipe_hash})"
            )
        else:
            print(f"{result.release}: {result.reference} is up to date (recipe {result.recipe_hash})")
    if any(result.built for result in results):
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
    )
    if args.json:
        print(json.dumps(host_list(hosts), indent=2))
    else:
        for host in hosts:
            print(
                f"{host.name:28} {host.release:9} ssh -p {host.port} {host.user}@{host.address}"
                f"  ({host.container})"
            )
    if args.inventory is not None:
        say(f"inventory: {_rel(args.inventory / 'hosts.yml')}")
    say(f"up took {time.monotonic() - start:.1f} s")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """``down``: remove the lab's containers and network."""
    from lab.fleet import Lab, down

    containers, networks = down(Lab(args.name), inventory_dir=args.inventory)
    if not containers and not networks:
        say(f"{args.name}: nothing to remove")
    for name in containers + networks:
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


def cmd_status(args: argparse.Namespace) -> int:
    """``status``: list this checkout's lab containers, networks and images."""
    from lab.fleet import Lab, list_containers, list_networks
    from lab.images import image_state

    checkout = Lab(naming.DEFAULT_LAB).checkout
    labels = {naming.LABEL_CHECKOUT: checkout}
    if args.name:
        labels[naming.LABEL_LAB] = args.name
    containers = list_containers(labels)
    networks = list_networks(labels)
    images = [image_state(release) for release in r.RELEASES]
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
                },
                indent=2,
            )
        )
        return 0
    print(f"checkout {checkout}")
    print(f"{'LAB':14} {'HOST':28} {'RELEASE':9} {'STATE':8} {'SSH':6} CONTAINER")
    for c in containers:
        print(
            f"{c.labels.get(naming.LABEL_LAB, '?'):14} {c.labels.get(naming.LABEL_HOST, '?'):28} "
            f"{c.labels.get(naming.LABEL_RELEASE, '?'):9} {c.state:8} {c.ssh_port or '-'!s:6} {c.name}"
        )
    for n in networks:
        print(f"network {n.name}")
    for i in images:
        if i.image is None:
            state = "missing"
        else:
            state = "current" if i.current else f"outdated (built from {i.have})"
        print(f"image {i.reference}: {state}")
    return 0
