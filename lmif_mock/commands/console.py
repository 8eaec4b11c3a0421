"""Making outside text safe to print on a terminal.

Event types, ids, URLs, paths and bodies reach the console of ``serve`` and ``listen`` from
whoever sends them. Printed raw, an escape sequence could retitle the terminal, clear it or
hide a line; a NUL or a lone surrogate could break the output. Such characters are shown as
Python-style escapes instead, so the line stays readable and the terminal stays untouched.
"""

from __future__ import annotations

import unicodedata

#: Categories never printed as they are: controls, format characters (bidirectional overrides,
#: zero-width characters), line and paragraph separators, surrogates and private use.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co"})


def _escaped(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: object, keep: str = "") -> str:
    """``text`` (any object, as ``str``) with every unsafe character escaped; ``keep`` lists
    characters left as they are (``"\\n\\t"`` for a body printed on its own lines)."""
    shown = str(text)
    if shown.isprintable():
        return shown  # the common case: nothing to escape
    return "".join(
        _escaped(c) if c not in keep and unicodedata.category(c) in _UNSAFE_CATEGORIES else c
        for c in shown
    )
