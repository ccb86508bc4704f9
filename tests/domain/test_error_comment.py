"""The Error Comment of a DIMSE status is LO, 64 characters: a longer sentence is cut at a word
and says so, never in the middle of one."""

from __future__ import annotations

from app.domain.status import dimse_status


def test_a_long_comment_is_cut_at_a_word_with_an_ellipsis():
    sentence = "The submitted request is inconsistent with the state of the UPS Instance: it is CANCELED."
    comment = dimse_status(0xC300, sentence).ErrorComment
    assert comment == "The submitted request is inconsistent with the state of the..."
    assert len(comment) <= 64


def test_a_comment_that_fits_is_sent_whole_and_one_without_spaces_is_cut_with_an_ellipsis():
    assert dimse_status(0xC300, "There is no MPPS with this UID.").ErrorComment == "There is no MPPS with this UID."
    comment = dimse_status(0xC300, "x" * 100).ErrorComment
    assert comment == "x" * 61 + "..."
    assert dimse_status(0xC300, "a\\b é").ErrorComment == "a/b ?"
