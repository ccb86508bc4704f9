"""Code tables the console offers: CID 29 modalities and CID 9300 discontinuation reasons."""

from __future__ import annotations

from .build import MODALITIES
from .workitem import Code

MODALITY_CODES: tuple[Code, ...] = tuple(Code(value, "DCM", meaning) for value, meaning in MODALITIES.items())

# CID 9300 Procedure Discontinuation Reasons (PS3.16).
DISCONTINUATION_REASONS: tuple[Code, ...] = tuple(
    Code(value, "DCM", meaning)
    for value, meaning in (
        ("110500", "Doctor canceled procedure"),
        ("110501", "Equipment failure"),
        ("110502", "Incorrect procedure ordered"),
        ("110503", "Patient allergic to media/contrast"),
        ("110504", "Patient died"),
        ("110505", "Patient refused to continue procedure"),
        ("110506", "Patient taken for treatment or surgery"),
        ("110507", "Patient did not arrive"),
        ("110508", "Patient pregnant"),
        ("110509", "Change of procedure for correct charging"),
        ("110510", "Duplicate order"),
        ("110511", "Nursing unit cancel"),
        ("110512", "Incorrect side ordered"),
        ("110513", "Discontinued for unspecified reason"),
        ("110514", "Incorrect worklist entry selected"),
        ("110515", "Patient condition prevented continuing"),
        ("110516", "Equipment change"),
    )
)
UNSPECIFIED_REASON = DISCONTINUATION_REASONS[13]

# The image storage SOP Class a modality's output most likely has (for instance references).
STORAGE_CLASSES: dict[str, str] = {
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",
    "MG": "1.2.840.10008.5.1.4.1.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "NM": "1.2.840.10008.5.1.4.1.1.20",
    "PT": "1.2.840.10008.5.1.4.1.1.128",
    "RF": "1.2.840.10008.5.1.4.1.1.12.2",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
    "XA": "1.2.840.10008.5.1.4.1.1.12.1",
}
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
