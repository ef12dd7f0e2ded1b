"""Show text that users supplied (file names, share links, file contents) without rendering it as Markdown.

Streamlit renders every message as Markdown: a share link's ``?[re-login](https://evil)=1`` or a COCO
category named ``![](https://tracker/x.png)`` would become a link or load a remote image. Wrap such text
with :func:`code` (shown as inline code) or pass whole messages that quote it through
:func:`escape_markdown` (shown as plain text).
"""

from __future__ import annotations

import re

__all__ = ["code", "escape_markdown"]

# Backslash-escaped: what starts a link, image, code span, heading, table, HTML or $ maths.
_ESCAPED = re.compile(r"([\\`*\[\]()!<>#$|~{}])")
# Broken with a zero-width space, because Streamlit's Markdown finds them in the text after escapes
# are resolved: bare URLs (scheme://, www.), e-mail addresses, :emoji: codes and :red[...] / :material/x:.
_ZERO_WIDTH = "\u200b"
_SPLIT = re.compile(r"(:(?=\S)|@|(?<=[wW]{3})(?=\.))")
_BACKTICKS = re.compile(r"`+")


def escape_markdown(text, limit: int | None = 2000) -> str:
    """``text`` with no Markdown meaning left: it reads the same, but nothing in it renders.

    Characters that start links, images, code, headings, tables and ``$`` maths are
    backslash-escaped; bare URLs, e-mail addresses, ``:emoji:`` codes and ``:red[...]``
    directives get a zero-width space after their ``:``/``@``/``www``. Newlines become spaces;
    the text is cut to ``limit`` characters (None: no cut).
    """
    text = str(text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "..."
    text = " ".join(text.splitlines())
    return _SPLIT.sub(lambda m: m.group(0) + _ZERO_WIDTH, _ESCAPED.sub(r"\\\1", text))


def code(text, limit: int | None = 120) -> str:
    """``text`` as one inline code span (no Markdown inside), cut to ``limit`` characters."""
    text = " ".join(str(text).splitlines())
    if limit is not None and len(text) > limit:
        text = text[:limit] + "..."
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"
