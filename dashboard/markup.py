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

#: ASCII punctuation that Markdown, GitHub's extensions or Streamlit give a meaning: links and
#: images, emphasis, code, headings, lists, tables, HTML, math ($), directives (:red[...],
#: :material/icon:) and autolinks (http:// and www.). CommonMark lets any of them be escaped
#: with a backslash and then shows the character itself.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$^&=\"'%@/])")


def escape(text: object) -> str:
    """``text`` as Markdown that renders as the same plain text: no link, image, emphasis,
    heading or directive; line breaks become spaces so a value cannot start a new block."""
    plain = " ".join(str(text).splitlines()) if text is not None else ""
    return _SPECIAL.sub(r"\\\1", plain)
