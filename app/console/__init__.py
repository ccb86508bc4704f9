"""The console's workflow with one worklist provider, without Qt: what the window, the command
line and the tests drive alike. Changes are told to listeners (`WorkflowListener`)."""

from .listener import WorkflowListener
from .refusals import why_not
from .sentences import CONFIGURATION, CONNECTION, named, plural, procedure_key
from .workflow import Workflow

__all__ = [
    "CONFIGURATION",
    "CONNECTION",
    "Workflow",
    "WorkflowListener",
    "named",
    "plural",
    "procedure_key",
    "why_not",
]
