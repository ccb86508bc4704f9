"""The roles a user or token is given (what each may do is app.domain.access's rule): a module of
their own, since the command line offers them as choices and `--version` must not pay for the rules."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MODALITY = "modality"
    RIS = "ris"
    ADMIN = "admin"


ROLES = tuple(role.value for role in Role)
