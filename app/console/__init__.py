"""The console's workflow with one worklist provider, without Qt: what the window, the command
line and the tests drive alike. Changes are told to listeners (`WorkflowListener`).

Its names load on first use (PEP 562): the command line reads `app.console.opening` for its
options, which must not pull in the workflow, the claim store and pydicom behind them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.domain.lazy_names import lazy_attributes

if TYPE_CHECKING:
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

_MODULE_OF = {
    "Claim": "app.backends.claim_store",
    "Waiting": "app.backends.claim_store",
    "BackendError": "app.backends.errors",
    "Capabilities": "app.backends.protocol",
    "Exchange": "app.backends.protocol",
    "PeerCheck": "app.backends.protocol",
    "Hl7Link": ".hl7_link",
    "WorkflowListener": ".listener",
    "merged_into": ".marks",
    "why_not": ".refusals",
    "CONFIGURATION": ".sentences",
    "CONNECTION": ".sentences",
    "named": ".sentences",
    "plural": ".sentences",
    "procedure_key": ".sentences",
    "Workflow": ".workflow",
}


__getattr__ = lazy_attributes(__name__, globals(), _MODULE_OF)


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
