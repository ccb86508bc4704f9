"""Which Specific Character Set (0008,0005) a data set we send must declare.

Each DIMSE message's data set stands alone (PS3.3 C.12.1.1.2): an N-SET does not inherit the
N-CREATE's character set, nor a sequence item a message it is not part of. So every data set
that leaves us declares what its text needs, by one rule:

- text all ASCII: the default repertoire needs no declaration (what every peer reads), and a
  declaration the data set already has is kept;
- else the first of the data set's own declaration and its sources' (the worklist item it was
  built from, say) that can carry every text value: an ISO 2022 IR 87 item goes back to the
  RIS as ISO 2022 IR 87, a Latin-1 one as Latin-1;
- else UTF-8 (ISO_IR 192), which carries everything.

pydicom then encodes the text by the declaration the data set holds when it is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from pydicom import Dataset
from pydicom.charset import python_encoding
from pydicom.valuerep import CUSTOMIZABLE_CHARSET_VR, PersonName

from .dicomjson import JsonDataset, person_name_text

SPECIFIC_CHARACTER_SET = "00080005"
UTF8 = "ISO_IR 192"

Declared = str | Sequence[str] | None


def terms(declared: Any) -> list[str]:
    """A Specific Character Set value as its list of defined terms ([] when there is none)."""
    if declared is None:
        return []
    if isinstance(declared, str):
        return [declared.strip()] if declared.strip() else []
    values = ["" if v is None else str(v).strip() for v in declared]
    return values if any(values) else []


@lru_cache(maxsize=64)
def _codecs(declared: tuple[str, ...]) -> tuple[str, ...] | None:
    """The Python codecs a declaration lets text use; None when a term is not one DICOM defines.
    In an ISO 2022 declaration the first, empty term is ISO 2022 IR 6: ASCII, not Latin-1."""
    codecs = []
    for term in declared:
        if term in ("", "ISO 2022 IR 6", "ISO_IR 6"):
            codecs.append("ascii")
        elif term in python_encoding:
            codecs.append(python_encoding[term])
        else:
            return None
    return tuple(codecs)


def can_carry(declared: Declared, text: str) -> bool:
    """Whether every character of `text` has a code in the character set `declared`."""
    codecs = _codecs(tuple(terms(declared)) or ("",))
    if codecs is None:
        return False
    for character in set(text):
        if character.isascii():
            continue
        if not any(_encodes(character, codec) for codec in codecs):
            return False
    return True


def _encodes(character: str, codec: str) -> bool:
    try:
        character.encode(codec)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def needed(texts: Iterable[str], *candidates: Declared) -> list[str]:
    """The character set the text needs (the rule above): [] for the default repertoire, else the
    first candidate declaration that carries it all, else UTF-8."""
    wide = [text for text in texts if not text.isascii()]
    declared = [terms(candidate) for candidate in candidates]
    if not wide:
        return declared[0] if declared else []
    for option in declared:
        if option and all(can_carry(option, text) for text in wide):
            return option
    return [UTF8]


def dataset_texts(ds: Dataset) -> Iterator[str]:
    """Every value of `ds` (its sequences' items too) that its character set encodes."""
    for element in ds.iterall():
        if element.VR not in CUSTOMIZABLE_CHARSET_VR or element.is_empty:
            continue
        value = element.value
        for part in [value] if isinstance(value, (str, bytes, PersonName)) else list(value):
            if isinstance(part, bytes):
                continue  # already encoded by whoever made it: nothing to choose for it
            yield str(part)


def json_texts(dataset: JsonDataset) -> Iterator[str]:
    """Every value of a DICOM JSON data set (its sequences' items too) that a character set encodes."""
    for element in dataset.values():
        if not isinstance(element, dict):
            continue
        vr = element.get("vr")
        for value in element.get("Value") or []:
            if vr == "SQ" and isinstance(value, dict):
                yield from json_texts(value)
            elif vr == "PN":
                yield person_name_text(value)
            elif vr in CUSTOMIZABLE_CHARSET_VR and isinstance(value, str):
                yield value


def declare(ds: Dataset, *sources: Declared) -> Dataset:
    """`ds` (changed in place) declaring the character set its text needs: its own declaration if
    that carries it, else the first of `sources` that does, else UTF-8."""
    chosen = needed(dataset_texts(ds), ds.get("SpecificCharacterSet"), *sources)
    if chosen:
        ds.SpecificCharacterSet = chosen if len(chosen) > 1 else chosen[0]
    return ds


def declared_in(dataset: JsonDataset) -> list[str]:
    """The Specific Character Set a DICOM JSON data set names ([] when none)."""
    element = dataset.get(SPECIFIC_CHARACTER_SET)
    return terms(element.get("Value")) if isinstance(element, dict) else []


def declare_json(dataset: JsonDataset, *sources: Declared) -> JsonDataset:
    """A copy of a DICOM JSON data set declaring the character set its text needs (as `declare`)."""
    chosen = needed(json_texts(dataset), declared_in(dataset), *sources)
    out = {tag: element for tag, element in dataset.items() if tag != SPECIFIC_CHARACTER_SET}
    if chosen:
        out = {SPECIFIC_CHARACTER_SET: {"vr": "CS", "Value": chosen}, **out}
    return out


def _iso2022_escapes() -> dict[bytes, str]:
    """Each ISO 2022 designation escape sequence and the DICOM defined term it announces."""
    from pydicom.charset import ENCODINGS_TO_CODES

    found: dict[bytes, str] = {}
    for term, codec in python_encoding.items():
        if term.startswith("ISO 2022 IR ") and term != "ISO 2022 IR 6" and codec in ENCODINGS_TO_CODES:
            found.setdefault(ENCODINGS_TO_CODES[codec], term)
    return found


ISO2022_ESCAPES = _iso2022_escapes()


def announced_by_escapes(texts: Iterable[bytes]) -> list[str]:
    """The character set that undeclared text written with ISO 2022 escape sequences uses (DCMTK's
    wlmscpfs sends an ISO 2022 IR 87 worklist file so, unless told `-csk`): the default repertoire
    first, then each set an escape designates; [] when no text holds one."""
    designated: list[str] = []
    for text in texts:
        if b"\x1b" not in text:
            continue
        for escape, term in ISO2022_ESCAPES.items():
            if escape in text and term not in designated:
                designated.append(term)
    return ["ISO 2022 IR 6", *designated] if designated else []
