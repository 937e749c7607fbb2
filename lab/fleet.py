"""Start, list and remove a lab's containers (the podman side of ``up``/``down``/``status``)."""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lab import naming, vms
from lab import recipe as r
from lab.images import ensure_images, inspect_image
from lab.inventory import GROUP_VARS, LabHost, render_inventory
from lab.parse import Container, Network, parse_network_addresses, parse_network_ls, parse_ps
from lab.podman import podman
from lab.ssh import SshPaths, ensure_keypair, forget_host_keys, known_hosts_pattern, public_key, set_host_keys
from lab.ssh import wait_for_ssh as _wait_for_ssh
from lab.util import ROOT, STATE_DIR, atomic_write, file_lock, say

NETWORK_MODES = ("auto", "bridge", "slirp4netns")
LABEL_NETWORK = "rampart.lab.network"
READY_TIMEOUT = 120.0

# Runs in a new container: install the lab key for the admin, wait for the host key, print it.
_PREPARE_SCRIPT = """\
set -eu
home=$(getent passwd "$1" | cut -d: -f6)
umask 077
mkdir -p "$home/.ssh"
cat > "$home/.ssh/authorized_keys"
chown -R "$1:$1" "$home/.ssh"
i=0
while [ ! -s /etc/ssh/ssh_host_ed25519_key.pub ]; do
  i=$((i + 1)); [ "$i" -le 600 ] || { echo "no SSH host key after 120 s" >&2; exit 1; }
  sleep 0.2
done
cat /etc/ssh/ssh_host_ed25519_key.pub
"""


@dataclass(frozen=True)
class Lab:
    """One lab of this checkout: its name and the checkout id in its resource names."""

    name: str
    checkout: str = naming.checkout_id(ROOT)

    @property
    def labels(self) -> dict[str, str]:
        """Labels on every resource of this lab."""
        return naming.lab_labels(self.name, self.checkout)

    @property
    def network(self) -> str:
        """The lab's podman network (bridge mode)."""
        return naming.network_name(self.name, self.checkout)

    def container(self, host: str) -> str:
        """The podman container name of a host of this lab."""
        return naming.container_name(self.name, self.checkout, host)


def list_containers(labels: dict[str, str]) -> list[Container]:
    """Return every container (running or not) that carries all ``labels``."""
    proc = podman("ps", "--all", "--format", "json", *naming.label_filters(labels))
    wanted = labels.items()
    # Filter again in Python: podman versions differ in how they combine label filters.
    return [c for c in parse_ps(proc.stdout) if all(c.labels.get(k) == v for k, v in wanted)]


def list_networks(labels: dict[str, str]) -> list[Network]:
    """Return every podman network that carries all ``labels``."""
    proc = podman("network", "ls", "--format", "json", *naming.label_filters(labels))
    wanted = labels.items()
    return [n for n in parse_network_ls(proc.stdout) if all(n.labels.get(k) == v for k, v in wanted)]


def resolve_network_mode(mode: str) -> str:
    """Pick bridge when the host can do it (netavark needs iptables), else slirp4netns."""
    if mode != "auto":
        return mode
    return "bridge" if shutil.which("iptables") else "slirp4netns"


def up(
    lab: Lab,
    specs: Sequence[naming.HostSpec],
    *,
    network_mode: str = "auto",
    build: bool = True,
    inventory_dir: Path | None = None,
    jobs: int = 2,
    vm_timeout: float | None = None,
    children: Mapping[str, list[str]] | None = None,
) -> list[LabHost]:
    """Bring ``lab`` to exactly ``specs``: keep running hosts, start or create the others, drop extras.

    Containers come first (seconds), then VMs (see lab/vms.py). A host that changes kind
    is removed as the old kind and created as the new one. The hosts keep their specs' groups;
    ``children`` (parent group -> groups) completes an estate's inventory.
    """
    specs = naming.check_unique(specs)
    container_specs = [spec for spec in specs if spec.kind == "container"]
    vm_specs = [spec for spec in specs if spec.kind == "vm"]
    ssh = SshPaths(STATE_DIR)
    pubkey = ensure_keypair(ssh)

    with file_lock(STATE_DIR / "locks" / f"lab-{lab.name}.lock"):
        hosts: dict[str, LabHost] = {}
        if container_specs or _has_containers(lab):
            for host in _up_containers(
                lab, container_specs, ssh, pubkey, network_mode=network_mode, build=build, jobs=jobs
            ):
                hosts[host.name] = host
        if vm_specs or vms.list_vms(lab.name):
            if vm_specs:
                _ensure_vm_images([spec.release for spec in vm_specs], build=build, jobs=jobs)
            timeout = vms.READY_TIMEOUT if vm_timeout is None else vm_timeout
            start = time.monotonic()
            for host in vms.up_vms(lab.name, lab.checkout, vm_specs, ssh, pubkey, timeout=timeout):
                hosts[host.name] = host
            if vm_specs:
                say(f"{lab.name}: {len(vm_specs)} VM(s) ready in {time.monotonic() - start:.1f} s")
        ordered = [dataclasses.replace(hosts[spec.name], groups=spec.groups) for spec in specs]
        if inventory_dir is not None:
            write_inventory(inventory_dir, ordered, children)
        return ordered


def _has_containers(lab: Lab) -> bool:
    if shutil.which("podman") is None:
        return False
    return bool(list_containers(lab.labels))


def _ensure_vm_images(releases: Sequence[str], *, build: bool, jobs: int) -> None:
    from lab.vmimages import ensure_vm_images, vm_image_state

    if build:
        ensure_vm_images(releases, jobs=jobs)
        return
    missing = [rel for rel in dict.fromkeys(releases) if vm_image_state(rel).image is None]
    if missing:
        raise RuntimeError(f"no VM image for {', '.join(missing)}: run `python -m lab images --kind vm`")


def _up_containers(
    lab: Lab,
    specs: Sequence[naming.HostSpec],
    ssh: SshPaths,
    pubkey: str,
    *,
    network_mode: str,
    build: bool,
    jobs: int,
) -> list[LabHost]:
    releases = list(dict.fromkeys(spec.release for spec in specs))
    if build:
        ensure_images(releases, jobs=jobs)
    else:
        missing = [rel for rel in releases if inspect_image(r.image_name(rel)) is None]
        if missing:
            raise RuntimeError(f"no image for {', '.join(missing)}: run `python -m lab images`")
    mode = resolve_network_mode(network_mode)

    existing = {c.name: c for c in list_containers(lab.labels)}
    wanted = {lab.container(spec.name): spec for spec in specs}
    extras = [c for name, c in existing.items() if name not in wanted]
    if extras:
        say(f"{lab.name}: removing hosts no longer asked for: {', '.join(c.name for c in extras)}")
        _remove(ssh, extras)
    if not wanted:
        return []
    if mode == "bridge":
        _ensure_network(lab, ipv6=any(spec.ipv6 for spec in specs))

    start = time.monotonic()
    fresh: list[str] = []
    for name, spec in wanted.items():
        current = existing.get(name)
        if current and current.running:
            continue
        if current:
            podman("start", name)
        else:
            _create(lab, spec, name, mode)
        fresh.append(name)
    containers = {c.name: c for c in list_containers(lab.labels)}
    with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:
        hosts = list(pool.map(lambda item: _ready(ssh, pubkey, containers[item[0]], item[1]), wanted.items()))
    # On the bridge network the hosts reach each other: record where (rampart_address).
    hosts = _with_peer_addresses(lab, hosts) if mode == "bridge" else hosts
    if fresh:
        say(
            f"{lab.name}: {len(fresh)} of {len(hosts)} containers started in {time.monotonic() - start:.1f} s"
        )
    else:
        say(f"{lab.name}: all {len(hosts)} containers were already running")
    return hosts


def _with_peer_addresses(lab: Lab, hosts: Sequence[LabHost]) -> list[LabHost]:
    """The hosts with their IPv4 address on the lab network: where the other lab hosts reach them."""
    proc = podman("inspect", "--format", "json", *[host.container for host in hosts])
    addresses = parse_network_addresses(proc.stdout, lab.network)
    return [dataclasses.replace(host, peer_address=addresses.get(host.container)) for host in hosts]


def _ensure_network(lab: Lab, ipv6: bool = False) -> None:
    """The lab's bridge network; dual-stack (podman picks a unique local /64) when asked."""
    if any(n.name == lab.network for n in list_networks(lab.labels)):
        return
    labels = [arg for key, value in sorted(lab.labels.items()) for arg in ("--label", f"{key}={value}")]
    podman("network", "create", *labels, *(["--ipv6"] if ipv6 else []), lab.network)


def _create(lab: Lab, spec: naming.HostSpec, name: str, mode: str) -> None:
    hostname = naming.hostname_for(spec.name)
    labels = {
        **lab.labels,
        naming.LABEL_HOST: spec.name,
        naming.LABEL_RELEASE: spec.release,
        LABEL_NETWORK: mode,
    }
    if mode == "bridge":
        network = ["--network", lab.network, "--network-alias", hostname]
    else:
        network = ["--network", mode]
    podman(
        "run",
        "--detach",
        "--name",
        name,
        "--hostname",
        hostname,
        *[arg for key, value in sorted(labels.items()) for arg in ("--label", f"{key}={value}")],
        "--systemd=always",
        "--cap-add",
        "NET_ADMIN",
        *network,
        "--publish",
        "127.0.0.1::22",
        *[arg for pair in spec.publish for arg in ("--publish", f"127.0.0.1:{pair[0]}:{pair[1]}")],
        r.image_name(spec.release),
        "/sbin/init",
    )


def _ready(ssh: SshPaths, pubkey: str, container: Container, spec: naming.HostSpec) -> LabHost:
    """Install the lab key, record the host key, and wait until the admin can SSH in and sudo."""
    if container.ssh_port is None:
        raise RuntimeError(f"{container.name}: port 22 is not published")
    user = r.ADMIN_USER
    proc = podman(
        "exec",
        "--interactive",
        container.name,
        "/bin/sh",
        "-c",
        _PREPARE_SCRIPT,
        "prepare",
        user,
        input_text=pubkey + "\n",
    )
    host_key = public_key(proc.stdout.strip().splitlines()[-1])
    set_host_keys(ssh, {known_hosts_pattern(container.ssh_port): host_key})
    _wait_for_ssh(ssh, container.ssh_port, user, READY_TIMEOUT)
    return LabHost(
        name=spec.name,
        release=spec.release,
        container=container.name,
        port=container.ssh_port,
        identity_file=str(ssh.identity),
        known_hosts=str(ssh.known_hosts),
        user=user,
    )


def _remove(ssh: SshPaths, containers: Sequence[Container]) -> None:
    if not containers:
        return
    names = [c.name for c in containers]
    # Under load podman can lose the race with a container's own stop and refuse with
    # "container state improper: stopped"; a second rm then finds it stopped and removes it.
    if podman("rm", "--force", "--time", "3", *names, check=False).returncode != 0:
        podman("rm", "--force", "--ignore", *names)
    forget_host_keys(ssh, [known_hosts_pattern(c.ssh_port) for c in containers if c.ssh_port])


def down(lab: Lab, *, inventory_dir: Path | None = None) -> tuple[list[str], list[str]]:
    """Remove the lab's containers, VMs and network; return (hosts, networks) removed.

    Containers and networks are found by label, VMs by their folder under .lab/vm/run/.
    """
    with file_lock(STATE_DIR / "locks" / f"lab-{lab.name}.lock"):
        ssh = SshPaths(STATE_DIR)
        names: list[str] = []
        networks: list[Network] = []
        if shutil.which("podman") is not None:
            containers = list_containers(lab.labels)
            _remove(ssh, containers)
            names += [c.name for c in containers]
            networks = list_networks(lab.labels)
            if networks:
                podman("network", "rm", *[n.name for n in networks])
        names += vms.down_vms(lab.name, ssh)
        if inventory_dir is not None:
            remove_inventory(inventory_dir)
        return names, [n.name for n in networks]


def write_inventory(
    directory: Path, hosts: Sequence[LabHost], children: Mapping[str, list[str]] | None = None
) -> None:
    """Write ``hosts.yml`` for the lab into ``directory``, and a minimal ``group_vars/lab.yml`` unless
    the folder has its own (``inventories/lab/`` does: the estate's settings)."""
    atomic_write(directory / "hosts.yml", render_inventory(hosts, children))
    if not (directory / "group_vars" / "lab.yml").exists():
        atomic_write(directory / "group_vars" / "lab.yml", GROUP_VARS)


def remove_inventory(directory: Path) -> None:
    """Remove what ``write_inventory`` wrote (and ``group_vars/`` if that left it empty)."""
    (directory / "hosts.yml").unlink(missing_ok=True)
    written = directory / "group_vars" / "lab.yml"
    if written.exists() and written.read_text() == GROUP_VARS:
        written.unlink()
    group_vars = directory / "group_vars"
    if group_vars.is_dir() and not any(group_vars.iterdir()):
        group_vars.rmdir()
