# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that shape SSH data for sshd templates, so roles keep it out of Jinja."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
_NEEDS_QUOTES = re.compile(r"[\s#\"']")


def _string_list(value: Any, what: str) -> list[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise AnsibleFilterError(f"{what} must be a list of strings, got {type(value).__name__}: {value!r}")
    bad = [item for item in value if not isinstance(item, str)]
    if bad:
        raise AnsibleFilterError(f"{what} must be a list of strings, {bad[0]!r} is a {type(bad[0]).__name__}")
    return list(value)


def ssh_algorithms(preferred: Any, supported: Any, kind: str = "algorithms") -> list[str]:
    """Ordered intersection: ``preferred`` entries that ``supported`` has, in ``preferred`` order.

    ``{{ ssh_access_ciphers | rampart.hardening.ssh_algorithms(__supported['cipher'], 'Ciphers') }}``.
    Duplicates are dropped.  Raises AnsibleFilterError naming ``kind`` and both lists
    when nothing is left, and when an input is not a list of strings.
    """
    wanted = _string_list(preferred, f"{kind}: the preferred list")
    available = set(_string_list(supported, f"{kind}: the supported list"))
    result = [name for name in dict.fromkeys(wanted) if name in available]
    if not result:
        raise AnsibleFilterError(
            f"{kind}: none of the preferred algorithms is supported by this OpenSSH "
            f"(preferred: {', '.join(wanted) or 'none'}; supported: {', '.join(sorted(available)) or 'none'})"
        )
    return result


def _render_word(word: Any, keyword: str) -> str:
    if isinstance(word, bool):
        return "yes" if word else "no"
    if isinstance(word, int):
        return str(word)
    if not isinstance(word, str):
        raise AnsibleFilterError(f"{keyword}: cannot render {type(word).__name__} {word!r} for sshd_config")
    if word == "":
        raise AnsibleFilterError(f"{keyword}: an empty value cannot be written to sshd_config")
    if _UNSAFE.search(word):
        raise AnsibleFilterError(f"{keyword}: value {word!r} contains a control character or newline")
    if _NEEDS_QUOTES.search(word):
        if '"' in word:
            raise AnsibleFilterError(
                f"{keyword}: value {word!r} has a space and a double quote; sshd cannot read it"
            )
        return f'"{word}"'
    return word


def sshd_option(value: Any, separator: str = ",", keyword: str = "value") -> str:
    """Render a value as sshd_config syntax.

    Booleans become ``yes``/``no``, integers text, lists are joined with ``separator``
    (``,`` for algorithm lists, ``" "`` for AllowGroups, AuthorizedKeysFile ...).  A word
    with blanks, ``#`` or quotes is double-quoted; newlines and control characters are
    refused, so no value can inject another directive.
    """
    if separator not in (",", " "):
        raise AnsibleFilterError(f"{keyword}: separator must be ',' or ' ', got {separator!r}")
    if isinstance(value, (list, tuple)):
        if not value:
            raise AnsibleFilterError(f"{keyword}: an empty list cannot be written to sshd_config")
        words = [_render_word(item, keyword) for item in value]
        if separator == "," and any(w.startswith('"') or "," in w for w in words):
            raise AnsibleFilterError(
                f"{keyword}: comma-separated entries cannot contain blanks or commas: {value!r}"
            )
        return separator.join(words)
    return _render_word(value, keyword)


class FilterModule:
    """rampart.hardening SSH filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "ssh_algorithms": ssh_algorithms,
            "sshd_option": sshd_option,
        }
