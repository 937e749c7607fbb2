"""The report as one self-contained HTML page (``report.html``): inline CSS and JS, no network.

The page is rendered here, escaped by Jinja2 (evidence comes from hosts); the script only filters,
switches views and opens a cell's detail, which is rendered once per cell in a ``<template>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.report.durations import (
    humane,
    readable,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report.junit import outcome
from ansible_collections.rampart.hardening.plugins.module_utils.report.model import Report, record_line
from ansible_collections.rampart.hardening.plugins.module_utils.report.statuses import (
    LABELS,
    MEANINGS,
    STATUSES,
    counts,
    worst,
)
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

TEMPLATES = Path(__file__).with_name("templates")
# Shown in every cell with the colour, so no status is told by colour alone.
SYMBOLS = {
    "pass": "✓",
    "fail": "✗",
    "drift": "Δ",
    "error": "!",
    "unreachable": "⊘",
    "stale": "◷",
    "not_assessed": "?",
    "never_assessed": "∅",
    "not_applicable": "\N{EN DASH}",
    "not_implemented": "·",
}


def render(report: Report) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(when=readable, ago=_ago, brief=_brief, worst=_worst, age_limit=_age_limit)
    env.globals.update(
        LABELS=LABELS,
        MEANINGS=MEANINGS,
        STATUSES=STATUSES,
        SYMBOLS=SYMBOLS,
        record_line=record_line,
    )
    return env.get_template("report.html.j2").render(
        r=report,
        v=_view(report),
        css=Markup(_asset("report.css") + _symbols_css()),
        js=Markup(_asset("report.js")),
    )


def _view(report: Report) -> dict[str, Any]:
    """What the template needs beyond the model: ids, groupings and counts."""
    catalogue = report.catalogue
    ids = {host.name: f"h{i}" for i, host in enumerate(report.hosts)}
    groups: dict[str, list[str]] = {}
    for host in report.hosts:
        for group in host.groups:
            groups.setdefault(group, []).append(ids[host.name])
    cells = [cell for by_control in report.cells.values() for cell in by_control.values()]
    return {
        "ids": ids,
        "families": [
            (code, name, catalogue.family_controls(code))
            for code, name in catalogue.families.items()
            if catalogue.family_controls(code)
        ],
        "groups": dict(sorted(groups.items())),
        "implemented": [c for c in catalogue.controls if c.implemented],
        "not_implemented": [c for c in catalogue.controls if not c.implemented],
        "failing": {s: n for s, n in counts(c.status for c in report.failing).items() if n},
        "cells": len(cells),
        "outcomes": {(c.host, c.control.id): outcome(c, report.options.fail_on) for c in cells},
        "data": {
            "hosts": {ids[h.name]: h.name for h in report.hosts},
            "groups": dict(sorted(groups.items())),
            "controls": {c.id: c.title for c in catalogue.controls},
        },
    }


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "time unknown"
    seconds = (now - moment).total_seconds()
    return "just now" if seconds < 60 else f"{humane(seconds)} ago"


def _age_limit(seconds: int) -> str:
    """max_age for people: ``7 days``, ``36 hours``; 0 is ``never``."""
    if not seconds:
        return "never (max_age 0)"
    unit, size = next(
        (u, s) for u, s in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)) if seconds % s == 0
    )
    amount = seconds // size
    return f"{amount} {unit}{'s' if amount != 1 else ''}"


def _brief(totals: Mapping[str, int]) -> str:
    """``12 pass · 2 fail``: the statuses present, in order."""
    return " · ".join(f"{n} {LABELS[s]}" for s, n in totals.items() if n) or "no cells"


def _worst(totals: Mapping[str, int]) -> str:
    """The status that stands for a group of cells: the most severe one present."""
    return worst(s for s, n in totals.items() if n)


def _symbols_css() -> str:
    """Each badge starts with its status's symbol (hidden from screen readers: the word follows)."""
    rules = [
        f'.badge.s-{s}::before {{ content: "{y}"; content: "{y}" / ""; font-weight: 700; }}'
        for s, y in SYMBOLS.items()
    ]
    return "\n".join(["/* Symbols (html.py SYMBOLS) */", *rules, ""])


def _asset(name: str) -> str:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    if "</" in text and name.endswith(".js"):
        raise ValueError(f"{name} must not contain '</' (it is inlined in a <script> element)")
    return text
