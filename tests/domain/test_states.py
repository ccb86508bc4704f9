"""The UPS state machine of PS3.4 Table CC.1.1-2, cell by cell, and the N-SET rules."""

from __future__ import annotations

import pytest

from app.domain.states import (
    CancelOutcome,
    State,
    Transition,
    change_state,
    check_update_allowed,
    parse_state,
    request_cancellation,
)
from app.domain.status import Status, UPSError

TX = "1.2.826.0.1.3680043.8.498.1"
OTHER_TX = "1.2.826.0.1.3680043.8.498.2"

SCHEDULED, IN_PROGRESS, COMPLETED, CANCELED = State.SCHEDULED, State.IN_PROGRESS, State.COMPLETED, State.CANCELED
EXISTING = [SCHEDULED, IN_PROGRESS, COMPLETED, CANCELED]


def stored_uid(current: State) -> str | None:
    """What the store holds: no Transaction UID until the item is claimed."""
    return None if current is SCHEDULED else TX


def refused_with(status: Status, *args) -> UPSError:
    with pytest.raises(UPSError) as info:
        change_state(*args)
    assert info.value.status is status, f"expected {status.name}, got {info.value.status.name}"
    return info.value


# --- column "No UPS": every event is C307 ---------------------------------------------


@pytest.mark.parametrize("requested", EXISTING)
@pytest.mark.parametrize("tx", [TX, None])
def test_state_change_of_a_workitem_that_does_not_exist_is_refused_as_no_such_ups(requested, tx):
    refused_with(Status.NO_SUCH_UPS, None, requested, tx, None)


def test_cancel_request_for_a_workitem_that_does_not_exist_is_refused_as_no_such_ups():
    with pytest.raises(UPSError) as info:
        request_cancellation(None)
    assert info.value.status is Status.NO_SUCH_UPS


def test_update_of_a_workitem_that_does_not_exist_is_refused_as_no_such_ups():
    with pytest.raises(UPSError) as info:
        check_update_allowed(None, TX, None)
    assert info.value.status is Status.NO_SUCH_UPS


# --- row "-> IN PROGRESS with a Transaction UID" -----------------------------------------


def test_claiming_a_scheduled_workitem_moves_it_to_in_progress():
    outcome = change_state(SCHEDULED, IN_PROGRESS, TX, None)
    assert outcome == Transition(IN_PROGRESS, Status.SUCCESS, needs_final_state_check=False)


def test_second_claim_is_refused_as_already_in_progress():
    refused_with(Status.ALREADY_IN_PROGRESS, IN_PROGRESS, IN_PROGRESS, OTHER_TX, TX)


def test_claim_by_the_owner_again_is_still_refused_as_already_in_progress():
    refused_with(Status.ALREADY_IN_PROGRESS, IN_PROGRESS, IN_PROGRESS, TX, TX)


@pytest.mark.parametrize("current", [COMPLETED, CANCELED])
@pytest.mark.parametrize("tx", [TX, OTHER_TX])
def test_claiming_a_final_workitem_is_refused_as_no_longer_updatable(current, tx):
    refused_with(Status.MAY_NO_LONGER_BE_UPDATED, current, IN_PROGRESS, tx, TX)


# --- row "-> IN PROGRESS without a Transaction UID" --------------------------------------


@pytest.mark.parametrize("current", EXISTING)
@pytest.mark.parametrize("missing", [None, ""])
def test_claim_without_transaction_uid_is_refused_as_missing_transaction_uid(current, missing):
    error = refused_with(Status.WRONG_TRANSACTION_UID, current, IN_PROGRESS, missing, stored_uid(current))
    assert "missing" in error.message.lower()


# --- row "-> SCHEDULED" ------------------------------------------------------------------


@pytest.mark.parametrize("current", EXISTING)
@pytest.mark.parametrize("tx", [TX, None])
def test_going_back_to_scheduled_is_refused_for_every_state(current, tx):
    refused_with(Status.SCHEDULED_ONLY_BY_CREATE, current, SCHEDULED, tx, stored_uid(current))


# --- rows "-> COMPLETED / CANCELED with the correct Transaction UID" ---------------------


@pytest.mark.parametrize("requested", [COMPLETED, CANCELED])
def test_finishing_a_scheduled_workitem_is_refused_as_not_in_progress(requested):
    # A SCHEDULED item has no recorded UID yet; whatever UID comes, it is not yet claimed.
    refused_with(Status.NOT_IN_PROGRESS, SCHEDULED, requested, TX, None)


@pytest.mark.parametrize("requested", [COMPLETED, CANCELED])
def test_owner_may_finish_an_in_progress_workitem_after_the_final_state_check(requested):
    outcome = change_state(IN_PROGRESS, requested, TX, TX)
    assert outcome.new_state is requested
    assert outcome.status is Status.SUCCESS
    assert outcome.needs_final_state_check is True


def test_completing_a_completed_workitem_again_succeeds_with_warning_b306_and_changes_nothing():
    outcome = change_state(COMPLETED, COMPLETED, TX, TX)
    assert outcome == Transition(None, Status.ALREADY_COMPLETED)
    assert outcome.status.is_warning


def test_canceling_a_canceled_workitem_again_succeeds_with_warning_b304_and_changes_nothing():
    outcome = change_state(CANCELED, CANCELED, TX, TX)
    assert outcome == Transition(None, Status.ALREADY_CANCELED)
    assert outcome.status.is_warning


def test_canceling_a_completed_workitem_is_refused_as_no_longer_updatable():
    refused_with(Status.MAY_NO_LONGER_BE_UPDATED, COMPLETED, CANCELED, TX, TX)


def test_completing_a_canceled_workitem_is_refused_as_no_longer_updatable():
    refused_with(Status.MAY_NO_LONGER_BE_UPDATED, CANCELED, COMPLETED, TX, TX)


# --- row "-> COMPLETED / CANCELED with a wrong or missing Transaction UID" ---------------


@pytest.mark.parametrize("requested", [COMPLETED, CANCELED])
@pytest.mark.parametrize("current", [IN_PROGRESS, COMPLETED, CANCELED])
def test_finishing_with_someone_elses_transaction_uid_is_refused_as_wrong_transaction_uid(current, requested):
    refused_with(Status.WRONG_TRANSACTION_UID, current, requested, OTHER_TX, TX)


@pytest.mark.parametrize("requested", [COMPLETED, CANCELED])
@pytest.mark.parametrize("current", EXISTING)
@pytest.mark.parametrize("missing", [None, ""])
def test_finishing_without_transaction_uid_is_refused_as_missing_transaction_uid(current, requested, missing):
    error = refused_with(Status.WRONG_TRANSACTION_UID, current, requested, missing, stored_uid(current))
    assert "missing" in error.message.lower()


def test_warning_b306_is_not_given_to_a_caller_with_the_wrong_transaction_uid():
    refused_with(Status.WRONG_TRANSACTION_UID, COMPLETED, COMPLETED, OTHER_TX, TX)


def test_warning_b304_is_not_given_to_a_caller_with_the_wrong_transaction_uid():
    refused_with(Status.WRONG_TRANSACTION_UID, CANCELED, CANCELED, OTHER_TX, TX)


# --- Request Cancellation (CC.2.2.3) ------------------------------------------------------


def test_cancel_request_on_a_scheduled_workitem_cancels_it_at_once():
    assert request_cancellation(SCHEDULED) == CancelOutcome(cancel_now=True, notify_performer=False)


def test_cancel_request_on_an_in_progress_workitem_only_notifies_the_performer():
    assert request_cancellation(IN_PROGRESS) == CancelOutcome(cancel_now=False, notify_performer=True)


def test_cancel_request_on_a_canceled_workitem_succeeds_with_warning_b304():
    outcome = request_cancellation(CANCELED)
    assert outcome == CancelOutcome(False, False, Status.ALREADY_CANCELED)
    assert outcome.status.is_warning


def test_cancel_request_on_a_completed_workitem_is_refused_with_c311():
    with pytest.raises(UPSError) as info:
        request_cancellation(COMPLETED)
    assert info.value.status is Status.ALREADY_COMPLETED_NO_CANCEL


# --- N-SET Transaction UID rules (CC.2.6.2-3) -------------------------------------------


def test_scheduled_workitem_may_be_updated_without_a_transaction_uid():
    assert check_update_allowed(SCHEDULED, None, None) is None


def test_update_of_a_scheduled_workitem_that_carries_a_transaction_uid_is_refused():
    with pytest.raises(UPSError) as info:
        check_update_allowed(SCHEDULED, TX, None)
    assert info.value.status is Status.NOT_IN_PROGRESS


def test_owner_may_update_an_in_progress_workitem():
    assert check_update_allowed(IN_PROGRESS, TX, TX) is None


def test_update_of_an_in_progress_workitem_without_transaction_uid_says_it_is_missing():
    with pytest.raises(UPSError) as info:
        check_update_allowed(IN_PROGRESS, None, TX)
    assert info.value.status is Status.WRONG_TRANSACTION_UID
    assert "missing" in info.value.message


def test_update_of_an_in_progress_workitem_with_another_transaction_uid_says_it_is_incorrect():
    with pytest.raises(UPSError) as info:
        check_update_allowed(IN_PROGRESS, OTHER_TX, TX)
    assert info.value.status is Status.WRONG_TRANSACTION_UID
    assert "incorrect" in info.value.message


@pytest.mark.parametrize("current", [COMPLETED, CANCELED])
@pytest.mark.parametrize("tx", [TX, None])
def test_update_of_a_final_workitem_is_refused_even_for_its_owner(current, tx):
    with pytest.raises(UPSError) as info:
        check_update_allowed(current, tx, TX)
    assert info.value.status is Status.MAY_NO_LONGER_BE_UPDATED
    assert current.value in info.value.message


# --- states by name ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["SCHEDULED", "IN PROGRESS", "COMPLETED", "CANCELED", " CANCELED "])
def test_state_names_of_the_standard_are_understood(text):
    assert parse_state(text).value == text.strip()


@pytest.mark.parametrize("text", [None, "", "DISCONTINUED", "in progress", "CANCELLED"])
def test_unknown_state_name_is_an_invalid_attribute_value(text):
    with pytest.raises(UPSError) as info:
        parse_state(text)
    assert info.value.status is Status.INVALID_ATTRIBUTE_VALUE


def test_only_completed_and_canceled_are_final():
    assert [s for s in State if s.is_final] == [COMPLETED, CANCELED]


@pytest.mark.parametrize(
    "status,warning",
    [
        (Status.ALREADY_CANCELED, True),
        (Status.ALREADY_COMPLETED, True),
        (Status.WRONG_TRANSACTION_UID, False),
        (Status.SUCCESS, False),
        (Status.ALREADY_COMPLETED_NO_CANCEL, False),
    ],
)
def test_b304_and_b306_are_warnings_but_c3xx_are_failures(status, warning):
    assert status.is_warning is warning


def test_already_final_warnings_use_the_texts_of_ps3_18():
    assert Status.ALREADY_CANCELED.text == "The UPS is already in the requested state of CANCELED."
    assert Status.ALREADY_COMPLETED.text == "The UPS is already in the requested state of COMPLETED."
