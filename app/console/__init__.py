"""The console's workflow with one worklist provider, without Qt: what the window, the command
line and the tests drive alike. Changes are told to listeners (`WorkflowListener`)."""

# the backends' plain values the window shows, named here: the window reaches nothing below the console
from app.backends.claim_store import Claim, Waiting
from app.backends.errors import BackendError
from app.backends.protocol import Capabilities, Exchange, PeerCheck

from .hl7_link import Hl7Link
from .listener import WorkflowListener
from .marks import merged_into
from .refusals import why_not
from .sentences import CONFIGURATION, CONNECTION, named, plural, procedure_key
from .workflow import Workflow

__all__ = [
    "BackendError",
    "Capabilities",
    "Claim",
    "Exchange",
    "Hl7Link",
    "PeerCheck",
    "Waiting",
    "CONFIGURATION",
    "CONNECTION",
    "Workflow",
    "WorkflowListener",
    "merged_into",
    "named",
    "plural",
    "procedure_key",
    "why_not",
]
