"""The marks on this console's rows and the offers made at start-up, worked out without Qt: what
every view of the console shows alike."""

from __future__ import annotations

from app.backends.claim_store import Claim
from app.console.marks import outlived_offers, resume_offer, row_marks
from app.domain.events import EventType, WorkitemEvent


def claim(uid: str) -> Claim:
    return Claim(uid, f"mpps-{uid}", 1_795_000_000.0, "Weiß^Günther", "CT chest")


def request(uid: str, reason: str = "") -> WorkitemEvent:
    return WorkitemEvent(EventType.CANCEL_REQUESTED, uid, requesting_ae="RIS", reason=reason)


def test_an_ending_waiting_to_be_sent_is_marked_with_the_state_it_is_going_to():
    marks = row_marks({"a", "b", "c"}, {"a": "complete", "b": "put_back"}, {})
    assert marks == {
        "a": ("COMPLETING", "Completing: waiting to be sent"),
        "b": ("PUTTING BACK", "Putting Back: waiting to be sent"),
    }


def test_a_cancellation_request_marks_its_row_unless_the_ending_already_waits():
    marks = row_marks({"a", "b"}, {"a": "discontinue"}, {"a": request("a"), "b": request("b", "Wrong patient")})
    assert marks == {
        "a": ("STOPPING", "Stopping: waiting to be sent"),
        "b": ("", "Cancellation requested by RIS: Wrong patient"),
    }


def test_start_up_offers_to_resume_what_runs_and_tells_what_waits():
    offer = resume_offer([claim("a"), claim("b"), claim("c")], {"b": "discontinue", "c": "complete"})
    assert [c.uid for c in offer.running] == ["a"]
    assert [c.uid for c in offer.waiting] == ["b", "c"] and offer.waiting_kind == "discontinue"
    assert resume_offer([], {}).running == () and resume_offer([], {}).waiting == ()


def test_the_offers_go_once_nothing_is_left_for_them():
    assert outlived_offers({"a"}, {}, {"a"}) == (False, True)  # still running, nothing waits
    assert outlived_offers({"a"}, {"a": "complete"}, {"a"}) == (True, False)  # ended here, not sent yet
    assert outlived_offers({"b"}, {}, {"a"}) == (True, True)  # what was offered is no longer here
