"""What can go wrong talking to a worklist provider, as sentences a technologist understands.

BackendError
├── Unreachable      the provider cannot be reached (network, DNS, TLS, timeout)
└── Refused          the provider answered and said no (status and its reason)
    └── Conflict     someone else changed the item first (claimed, completed, canceled)
"""

from __future__ import annotations


class BackendError(Exception):
    """An error with a sentence for the technologist; `detail` goes to the log and the inspector."""

    def __init__(self, sentence: str, detail: str = "") -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.detail = detail


class Unreachable(BackendError):
    """Nothing was answered: the operation may be retried later."""


class Refused(BackendError):
    def __init__(self, sentence: str, detail: str = "", status: int = 0, reason: str = "") -> None:
        super().__init__(sentence, detail)
        self.status = status
        self.reason = reason


class Conflict(Refused):
    """The workitem is not in the state this request needs."""
