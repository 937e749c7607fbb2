"""Generate the Variables section of each role README from meta/argument_specs.yml.

python scripts/role_docs.py          rewrite the section in every roles/*/README.md
python scripts/role_docs.py --check  exit 1 if any README is out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- BEGIN VARIABLES (generated from meta/argument_specs.yml) -->", "<!-- END VARIABLES -->"


def _default(name: str, spec: dict[str, Any], defaults: dict[str, Any]) -> str:
    value = defaults.get(name, spec.get("default"))
    if value is None:
        return "required" if spec.get("required") else "(none)"
    if isinstance(value, str) and "{{" in value:
        return f"`{value}`".replace("|", "\\|") if len(value) <= 80 else "see `defaults/main.yml`"
    text = _yaml(value)
    if len(text) <= 80 and "\n" not in text:
        return f"`{text}`"
    return (
        f"see `defaults/main.yml` ({len(value)} entries)"
        if isinstance(value, list)
        else "see `defaults/main.yml`"
    )


def _yaml(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _suboptions(options: dict[str, Any]) -> str:
    parts = []
    for name, spec in options.items():
        flag = (
            "required"
            if spec.get("required")
            else f"default `{spec['default']}`"
            if "default" in spec
            else "optional"
        )
        parts.append(f"`{name}` ({spec.get('type', 'str')}, {flag}): {_text(spec).rstrip('.')}")
    return " Each item: " + "; ".join(parts) + "."


def _text(spec: dict[str, Any]) -> str:
    """The description as one Markdown table cell: C()/I() markup as code, pipes escaped."""
    description = spec.get("description", "")
    text = " ".join(description) if isinstance(description, list) else str(description)
    text = re.sub(r"\b[CIOV]\(([^)]*)\)", r"`\1`", text)
    return text.replace("|", "\\|")


def render(role: Path) -> str:
    spec = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]
    defaults = yaml.safe_load((role / "defaults/main.yml").read_text()) or {}
    rows = ["| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for name, option in spec["options"].items():
        kind = option.get("type", "str")
        if kind == "list" and "elements" in option:
            kind = f"list of {option['elements']}"
        if "choices" in option:
            kind += " (" + ", ".join(f"`{c}`" for c in option["choices"]) + ")"
        description = _text(option) + (_suboptions(option["options"]) if "options" in option else "")
        rows.append(f"| `{name}` | {kind} | {_default(name, option, defaults)} | {description} |")
    return "\n".join([BEGIN, *rows, END])


def main(argv: list[str]) -> int:
    stale = []
    for role in sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml")):
        readme = role / "README.md"
        text = readme.read_text() if readme.exists() else f"# {role.name}\n\n## Variables\n\n{BEGIN}\n{END}\n"
        if BEGIN not in text or END not in text:
            print(f"{readme}: add the markers {BEGIN} ... {END}")
            return 1
        head, rest = text.split(BEGIN, 1)
        new = head + render(role) + rest.split(END, 1)[1]
        if new != text:
            stale.append(str(readme.relative_to(ROOT)))
            if "--check" not in argv:
                readme.write_text(new)
    if stale and "--check" in argv:
        print("out of date (run python scripts/role_docs.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
