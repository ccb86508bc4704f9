"""A package's names loaded on first use (PEP 562), for the packages whose import must stay cheap
(`app.domain`, `app.console`): the command line's quick commands import them for a few names."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from importlib import import_module
from typing import Any


def lazy_attributes(
    package: str, namespace: MutableMapping[str, Any], module_of: Mapping[str, str]
) -> Callable[[str], Any]:
    """The `__getattr__` of `package`: a name of `module_of` is imported from its module (absolute,
    or relative to `package`) the first time it is asked for, and kept in `namespace` (the package's
    globals), so that the next use finds it without a call."""

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        namespace[name] = value
        return value

    return __getattr__
