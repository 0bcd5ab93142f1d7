"""Text from the data, made safe for Streamlit's Markdown.

``st.error``, ``st.warning``, ``st.info``, ``st.success``, ``st.caption`` and ``st.markdown``
render their text as Markdown: a member id or title such as
``![x](http://host/pixel.png) [click](http://x)`` would make every viewer's browser fetch the
image and show the link. Every text that can hold a value from the data (ids, titles, segment
values, file names, error messages that quote them) goes through :func:`escape` before it
reaches one of them; the text then shows exactly as written.
"""

from __future__ import annotations

import re

#: Characters that start Markdown or Streamlit markup anywhere in a line: links and images
#: (``[``), emphasis and code (``*``, ``~``, `````; ``_`` only where it can emphasise, not
#: inside a word such as ``member_id``), HTML and autolinks (``<``), math (``$``), tables
#: (``|``), e-mail autolinks (``@``) and the escape itself. CommonMark shows a backslash-escaped
#: character as itself. Other punctuation (``.``, ``:``, ``(``) stays as it is, so that file
#: names and messages read the same in the page source.
_SPECIAL = re.compile(r"([\\`*{}\[\]<>|~$@]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
#: Bare web addresses that GitHub-flavoured Markdown turns into links: ``http://``,
#: ``https://``, ``ftp://`` and ``www.``.
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp)(:)(?=//)|\b(www)(\.)")
#: Block markers at the start of the text: headings, lists, quotes, rules.
_BLOCK_START = re.compile(r"^(\s*)([#>+\-=])|^(\s*\d+)([.)])(?=\s|$)")


def escape(text: object) -> str:
    """``text`` as Markdown that renders as the same plain text: no link, image, emphasis,
    heading or directive; line breaks become spaces so a value cannot start a new block."""
    plain = " ".join(str(text).splitlines()) if text is not None else ""
    out = _SPECIAL.sub(r"\\\1", plain)
    out = _AUTOLINK.sub(lambda m: f"{m[1]}\\:" if m[1] else f"{m[3]}\\.", out)
    return _BLOCK_START.sub(
        lambda m: f"{m[1]}\\{m[2]}" if m[2] else f"{m[3]}\\{m[4]}", out, count=1
    )


def shown(markdown: str) -> str:
    """The text a reader sees for ``markdown`` written by :func:`escape` (backslash escapes
    removed), for tests and logs."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)
