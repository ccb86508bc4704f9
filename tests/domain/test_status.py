"""The status table and the one DIMSE status builder every front uses."""

from __future__ import annotations

from app.domain.status import ERROR_ID_TEXT, ErrorID, InvalidRequest, Status, dimse_status


def test_a_dimse_status_carries_code_comment_offending_elements_and_error_id():
    status = dimse_status(
        Status.PROCESSING_FAILURE,
        ERROR_ID_TEXT[ErrorID.MPPS_NO_LONGER_UPDATABLE],
        offending=["00404005", "00741000"],
        error_id=ErrorID.MPPS_NO_LONGER_UPDATABLE,
    )
    assert status.Status == 0x0110
    assert status.ErrorComment == "Performed Procedure Step Object may no longer be updated"
    assert list(status.OffendingElement) == [0x00404005, 0x00741000]
    assert status.ErrorID == 0xA710


def test_an_error_comment_is_one_ascii_lo_value_of_64_characters_at_most():
    status = dimse_status(Status.INVALID_ATTRIBUTE_VALUE, "Müller\\Meier\n" + "x" * 100)
    assert status.ErrorComment == "M?ller/Meier..."  # cut at the last word that fits, and says so
    assert status.ErrorComment.isascii() and "\\" not in status.ErrorComment and "\n" not in status.ErrorComment


def test_success_says_nothing_more_than_its_code():
    status = dimse_status(Status.SUCCESS)
    assert status.Status == 0 and "ErrorComment" not in status and "OffendingElement" not in status


def test_c_find_statuses_are_named_and_pending_ones_known():
    assert (Status.PENDING, Status.PENDING_OPTIONAL_KEYS_UNSUPPORTED, Status.CANCELED) == (0xFF00, 0xFF01, 0xFE00)
    assert Status.PENDING.is_pending and not Status.SUCCESS.is_pending
    assert all(status.text for status in Status)


def test_a_refusal_names_its_offending_attributes():
    error = InvalidRequest("(0040,4005) is not a date-time.", offending=["00404005"])
    assert error.status is Status.INVALID_ATTRIBUTE_VALUE and error.offending == ("00404005",)


def test_a_dimse_n_status_names_its_attributes_in_the_attribute_identifier_list():
    status = dimse_status(Status.INVALID_ATTRIBUTE_VALUE, "bad", attributes=["00741002", "00741004"])
    assert list(status.AttributeIdentifierList) == [0x00741002, 0x00741004] and "OffendingElement" not in status
