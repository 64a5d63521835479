"""Which tricks exist: the modules that declare them, and :func:`specs` (name -> TrickSpec).

Each module in :data:`MODULES` declares ``SPEC`` (or ``SPECS``, a tuple) at its top, torch-free;
they are imported on the first :func:`specs` call (not torch). Adding a trick: its module and
one line here. :func:`register` adds a spec at run time (a plug-in, or a test's own trick).
"""

from __future__ import annotations

import importlib

from .specs import TrickSpec

#: the trick modules of this package, in the order their tricks are listed (``known: ...``)
MODULES = (
    "rdrop",
    "adversarial",
    "losses",
    "mixup",
    "distill",
    "swa",
    "longtext",
    "eda",
)

_SPECS: dict[str, TrickSpec] = {}


def specs() -> dict[str, TrickSpec]:
    """Every registered trick by name: the modules' in :data:`MODULES` order, then the added ones."""
    if not _SPECS:
        for name in MODULES:
            module = importlib.import_module(f"{__package__}.{name}")
            for spec in getattr(module, "SPECS", None) or (module.SPEC,):
                _SPECS[spec.name] = spec
    return _SPECS


def register(spec: TrickSpec) -> TrickSpec:
    """Add a trick; its name must be new."""
    if spec.name in specs():
        raise ValueError(f"trick {spec.name!r} is registered already")
    _SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a trick added with :func:`register` (tests)."""
    specs().pop(name, None)
