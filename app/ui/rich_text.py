"""Text put into the rich-text labels and dialogs."""

from __future__ import annotations

from html import escape


def plain(text: str) -> str:
    """Text shown as typed inside rich text: <, > and & escaped, quotes left as they are (they
    need escaping only inside attributes), so O'Neill reads as O'Neill in a label's text and in
    the accessible description read aloud from it."""
    return escape(text, quote=False)
