"""What can go wrong talking to a worklist provider, as sentences a technologist understands.

BackendError                  retryable: False
├── Unreachable               retryable: True — nothing usable was answered; try again later
│   ├── TimedOut              the provider did not answer in time
│   ├── ServerFault           the provider failed on its side (HTTP 5xx)
│   └── Aborted               the peer closed the association (A-ABORT) before it answered
└── Refused                   the provider answered and said no (status and its reason)
    ├── NotPermitted          who we are may not do this (HTTP 403): the profile must change
    └── Conflict              someone else changed the item first (claimed, completed, canceled)
        └── AlreadyFinished   the step was already completed or discontinued

Whether an operation is tried again is decided by `retryable`, a property of the class: the
sentence is for people and may be reworded freely.
"""

from __future__ import annotations


class BackendError(Exception):
    """An error with a sentence for the technologist; `detail` goes to the log and the inspector."""

    retryable = False

    def __init__(self, sentence: str, detail: str = "") -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.detail = detail


class Unreachable(BackendError):
    """Nothing usable was answered: the operation may be retried later."""

    retryable = True


class TimedOut(Unreachable):
    """The provider was reached but did not answer in time."""


class ServerFault(Unreachable):
    """The provider failed on its side (an HTTP 5xx): it may work again later."""


class Aborted(Unreachable):
    """The peer closed the association (or the connection) before it answered."""


class Refused(BackendError):
    def __init__(self, sentence: str, detail: str = "", status: int = 0, reason: str = "") -> None:
        super().__init__(sentence, detail)
        self.status = status
        self.reason = reason


class NotPermitted(Refused):
    """The provider does not let this profile's user act as its AE title, or do this at all (HTTP
    403). A configuration error, not an outage: waiting does not mend it, and nothing that asked
    is lost for it — what waits to be sent is kept until the profile changes or someone asks again."""


class Conflict(Refused):
    """The workitem is not in the state this request needs."""


class AlreadyFinished(Conflict):
    """The procedure step was already completed or discontinued: a retried final report is done."""
