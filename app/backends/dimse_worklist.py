"""The MWL C-FIND a DIMSE client sends, and how it reads the answers: what the console and the
gateway ask a RIS for (PS3.4 Table K.6-1), and each answer's text decoded by the character set it
names or, when it names none, by what its bytes show."""

from __future__ import annotations

import logging

from pydicom import Dataset
from pydicom.charset import CUSTOMIZABLE_CHARSET_VR, convert_encodings
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.valuerep import PersonName

from app.domain import charsets
from app.domain import tags as t
from app.domain.dicomjson import from_dataset
from app.domain.mapping import MODALITY, SPS_DESCRIPTION, SPS_SEQ, SPS_START_DATE, SPS_STATION_AE, SPS_STATUS
from app.domain.mwl_keys import ENTRY_KEYS, STEP_KEYS, always
from app.domain.worklist_query import WorklistQuery

log = logging.getLogger(__name__)

# Every return key of type 1 and 2 of Table K.6-1 (one list, `domain.mwl_keys`), and the others
# the console shows; the matching keys are set apart below
RETURN_KEYS = (
    *(tag for tag in always(ENTRY_KEYS) if tag != SPS_SEQ),
    t.ISSUER_OF_PATIENT_ID,
    t.REQUESTED_PROCEDURE_DESCRIPTION,
)
SPS_RETURN_KEYS = (
    *(tag for tag in always(STEP_KEYS) if tag not in (SPS_STATION_AE, SPS_START_DATE, MODALITY)),
    SPS_DESCRIPTION,
    SPS_STATUS,
)


def _ask(ds: Dataset, tags: tuple[str, ...], table: dict[str, tuple[str, str]]) -> None:
    """Zero-length return keys (K.2.2.1.2), an empty sequence for a sequence."""
    for tag in tags:
        vr = table[tag][0]
        ds.add_new(int(tag, 16), vr, [] if vr == "SQ" else None)


def mwl_identifier(query: WorklistQuery) -> Dataset:
    """The C-FIND identifier of a worklist query: Table K.6-1 matching keys plus return keys."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    _ask(ds, RETURN_KEYS, ENTRY_KEYS)
    ds.PatientName = query.patient_name
    ds.PatientID = query.patient_id
    ds.AccessionNumber = query.accession
    sps = Dataset()
    sps.ScheduledStationAETitle = query.station
    low = f"{query.date_from:%Y%m%d}" if query.date_from else ""
    high = f"{query.date_to:%Y%m%d}" if query.date_to else ""
    # whole days only, even when the query ends at an hour (the night window): combined date-time
    # matching of the Start Date and Time keys (PS3.4 C.2.2.2.5.1) is not something every MWL SCP
    # does, and one that matched the time range on its own would drop today's afternoon; the
    # backend narrows the answers to the hours (`WorklistQuery.holds`)
    sps.ScheduledProcedureStepStartDate = low if low == high else (f"{low}-{high}" if low or high else "")
    sps.Modality = query.modality
    _ask(sps, SPS_RETURN_KEYS, STEP_KEYS)
    sps.ScheduledProtocolCodeSequence = []
    ds.ScheduledProcedureStepSequence = [sps]
    return ds


def _received_texts(answer: Dataset, datasets: list[Dataset]) -> list[bytes]:
    """Every text value of an answer without a Specific Character Set, as the bytes received.

    A value not read yet stays as it came and is read once the character set is chosen: reading it
    by the default repertoire would drop the ISO 2022 escapes back to ASCII that part its words and
    name components. One pynetdicom has read already (with the default ISO 646 / Latin-1 reading,
    which maps each byte to one character) is turned back into its bytes; a person name keeps its
    own."""
    datasets.append(answer)
    original = answer.original_character_set or "iso8859"
    codec = original if isinstance(original, str) else original[0]
    texts: list[bytes] = []
    for tag in list(answer.keys()):
        raw = answer.get_item(tag)
        if isinstance(raw, RawDataElement) and _text_vr(raw) and raw.value:
            texts.append(bytes(raw.value))
            continue
        element = answer[tag]
        if element.VR == "SQ":
            for item in element.value:
                texts += _received_texts(item, datasets)
        elif element.VR == "PN":
            names = element.value if element.VM > 1 else [element.value]
            texts += [n.original_string for n in names if isinstance(n, PersonName) and n.original_string]
        elif element.VR in CUSTOMIZABLE_CHARSET_VR and not element.is_empty:
            value = element.value
            parts = [value] if isinstance(value, (str, bytes)) else list(value)
            try:
                raw_text = b"\\".join(p if isinstance(p, bytes) else p.encode(codec) for p in parts)
            except UnicodeEncodeError:
                continue
            element.value = raw_text  # decoded again below, by the character set chosen
            texts.append(raw_text)
    return texts


def _text_vr(raw: RawDataElement) -> bool:
    try:
        return (raw.VR or dictionary_VR(raw.tag)) in CUSTOMIZABLE_CHARSET_VR
    except KeyError:  # a private element of an implicit VR answer: nothing to say of it
        return False


def decode_answer(answer: Dataset, fallback_charset: str) -> dict:
    """A C-FIND answer as DICOM JSON, its text decoded by its Specific Character Set. For SCPs
    that omit it: UTF-8 when the text is valid UTF-8 and not plain ASCII (DCMTK's wlmscpfs sends
    its UTF-8 worklist files so; Latin-1 letters beyond ASCII practically never form valid UTF-8),
    the ISO 2022 sets whose escape sequences the text holds (its ISO 2022 files, unless run with
    `-csk`), else the fallback (the profile's or `find --charset`)."""
    if "SpecificCharacterSet" not in answer:
        datasets: list[Dataset] = []
        received = _received_texts(answer, datasets)
        wide = [text for text in received if not text.isascii()]
        charset: str | list[str] = fallback_charset
        escaped = charsets.announced_by_escapes(received)
        if escaped:
            charset = escaped
            log.info(
                "A worklist answer names no character set and its text holds ISO 2022 escapes: read as %s", escaped
            )
        elif wide and all(_is_utf8(text) for text in wide):
            charset = "ISO_IR 192"
            log.info(
                "A worklist answer names no character set and its text is UTF-8: read as UTF-8, not %s",
                fallback_charset,
            )
        answer.SpecificCharacterSet = charset
        # pydicom reads a value still as received by the character set the data set was read with
        encodings = convert_encodings(charset)
        for dataset in datasets:
            implicit, little = dataset.original_encoding
            dataset.set_original_encoding(implicit, little, encodings)
        # values read before the character set was chosen are bytes still: read them by it now
        answer.decode()
    # otherwise each value is read by the answer's own character set as it is turned into JSON
    return from_dataset(answer)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
