"""Backends the console talks through (UPS-RS, DIMSE) and the local claim store — see issue [2/4]."""
