"""Character sets of MWL answers: ISO_IR 100, ISO_IR 192 and Japanese ISO 2022 IR 87 decode
correctly, and an answer without Specific Character Set uses the profile's fallback."""

from __future__ import annotations

from io import BytesIO

import pytest
from pydicom import Dataset, dcmread
from pydicom.filewriter import dcmwrite

from app.backends.dimse_worklist import decode_answer
from app.domain.mapping import mwl_to_ups
from app.domain.workitem import Workitem


def as_received(charset: str | list[str] | None, name: str, raw_name: bytes | None = None) -> Dataset:
    """A dataset as it comes off the wire: encoded bytes, not yet decoded."""
    ds = Dataset()
    if charset is not None:
        ds.SpecificCharacterSet = charset
    ds.PatientName = name
    ds.PatientID = "P1"
    buffer = BytesIO()
    dcmwrite(buffer, ds, implicit_vr=False, little_endian=True, enforce_file_format=False)
    data = buffer.getvalue()
    if raw_name is not None:
        data = data.replace(name.encode("ascii", "replace"), raw_name)
    return dcmread(BytesIO(data), force=True)


@pytest.mark.parametrize(
    "charset, name",
    [
        ("ISO_IR 100", "Müller^Jürgen"),
        ("ISO_IR 192", "Peña^María José"),
        (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎"),
    ],
)
def test_answers_decode_by_their_character_set(charset, name):
    workitem = Workitem(mwl_to_ups(decode_answer(as_received(charset, name), "ISO_IR 100")))
    alphabetic, _, ideographic = name.partition("=")
    assert workitem.patient_name.alphabetic == alphabetic
    assert workitem.patient_name.ideographic == ideographic


def test_an_answer_without_character_set_uses_the_fallback():
    received = as_received(None, "Mxller^Jxrgen", raw_name="Müller^Jürgen".encode("latin-1"))
    assert Workitem(mwl_to_ups(decode_answer(received, "ISO_IR 100"))).patient_name.alphabetic == "Müller^Jürgen"


@pytest.mark.parametrize(
    "charset, text",
    [
        ("ISO_IR 100", "Schädel nativ"),
        ("ISO_IR 192", "Tórax con contraste"),
        (["", "ISO 2022 IR 87"], "頭部単純"),
    ],
)
def test_text_in_a_sequence_item_decodes_by_the_answers_character_set(charset, text):
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.PatientName = "Doe^Jane"
    step = Dataset()
    step.ScheduledProcedureStepDescription = text
    step.ScheduledPerformingPhysicianName = "Yamada^Tarou=山田^太郎" if "IR 87" in str(charset) else "Núñez^José"
    ds.ScheduledProcedureStepSequence = [step]
    buffer = BytesIO()
    dcmwrite(buffer, ds, implicit_vr=False, little_endian=True, enforce_file_format=False)
    received = dcmread(BytesIO(buffer.getvalue()), force=True)
    answer = decode_answer(received, "ISO_IR 100")
    (item,) = answer["00400100"]["Value"]
    assert item["00400007"]["Value"] == [text]
    assert item["00400006"]["Value"][0]["Alphabetic"] in ("Yamada^Tarou", "Núñez^José")
    if "IR 87" in str(charset):
        assert item["00400006"]["Value"][0]["Ideographic"] == "山田^太郎"
