"""Worklist Console: the modality-side user agent of the DICOM worklist workflow."""

__version__ = "0.1.0"
