"""Values from the data render as text: no image is fetched, no link is shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from dashboard.markup import escape
from tests.conftest import write_csvs

PAYLOAD = "![x](http://host/pixel.png) [click](http://x)"
RENDER = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def _html(markdown: str) -> str:
    return RENDER.render(markdown)


@pytest.mark.parametrize(
    "text",
    [
        PAYLOAD,
        "<img src=http://host/p.png>",
        "[a]: http://x\n\n[a]",
        "# heading\n- item",
        "**bold** _it_ `code` ~~s~~",
        "a | b\n--- | ---\nc | d",
        "http://host/x.png <http://host/y>",
        "\\![x](http://host/pixel.png)",
        "12. item",
        "+ item",
        "see www.example.com or ann@example.com",
        "> quote",
    ],
)
def test_escaped_text_renders_as_the_same_plain_text(text: str) -> None:
    html = _html(escape(text))
    assert "<img" not in html
    assert "<a " not in html
    for tag in ("<h1", "<li", "<strong", "<em", "<code", "<table", "<s>", "<del"):
        assert tag not in html
    shown = RENDER.renderInline(escape(text))
    import html as html_module

    assert html_module.unescape(shown) == " ".join(text.splitlines())


def test_none_and_numbers_are_text() -> None:
    assert escape(None) == ""
    assert escape(3.5) == "3.5"
    assert escape("12. x") == "12\\. x"


def _markdown_texts(at: AppTest) -> list[str]:
    texts = [e.value for kind in ("error", "warning", "info", "success", "caption", "markdown")
             for e in getattr(at, kind)]  # fmt: skip
    return [str(t) for t in texts]


def test_a_member_id_in_an_error_message_is_shown_as_text(
    app_on: Callable[..., AppTest], tmp_path: Path
) -> None:
    folder = write_csvs(
        tmp_path / "evil",
        {
            "members": f"member_id,joined_at\n{PAYLOAD},2024-01-01\n{PAYLOAD},2024-01-02\n",
            "activity": f"member_id,occurred_at,kind\n{PAYLOAD},2024-01-03,post\n",
        },
    )
    at = app_on(folder)
    texts = _markdown_texts(at)
    assert any("pixel" in t for t in texts), texts  # the duplicate id is named...
    for text in texts:
        html = _html(text)
        assert "<img" not in html, text  # ...but never as an image
        assert 'href="http://x"' not in html, text  # ...or a link
