"""The word diff the Drafts page shows between revisions."""

from __future__ import annotations

from sopbench.ui.diff import diff_html, diff_stats


def test_changed_words_are_marked_and_the_rest_kept() -> None:
    html = diff_html(
        "Open late on Friday.\nBring friends.", "Open late on Saturday.\nBring friends."
    )
    assert html.startswith('<div class="sb-diff"')
    assert '<span class="del">Friday.\n</span><span class="add">Saturday.\n</span>' in html
    assert "Open late on " in html and "Bring friends." in html
    assert diff_stats("Open late on Friday.", "Open late on Saturday, 9pm.") == (2, 1)


def test_texts_are_escaped_never_rendered() -> None:
    html = diff_html("<b>{{ 7 * 7 }}</b>", "<script>alert(1)</script> {{ 7 * 7 }}")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "49" not in html and "7 * 7" in html


def test_identical_texts_have_no_marks() -> None:
    assert 'class="add"' not in diff_html("same text", "same text")
    assert diff_stats("same text", "same text") == (0, 0)
