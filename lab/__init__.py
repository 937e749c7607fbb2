"""Rampart's container lab: Debian hosts with systemd and sshd in podman, for Ansible and Molecule.

Run it as ``python -m lab`` from the repository root; see lab/README.md.
"""
