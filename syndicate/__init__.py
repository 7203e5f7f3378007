"""syndicate: one canonical article model, published as feeds, newsletters and digests.

``from syndicate import Publication`` is the library API (``syndicate/api.py``). It is loaded
on first use by the module ``__getattr__`` below, so ``import syndicate`` (which every CLI
start pays for) stays a few milliseconds and loads none of the publishing machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import Publication as Publication
    from .errors import SyndicateError as SyndicateError

__version__ = "0.1.0"
__all__ = ["Publication", "SyndicateError", "__version__"]

# name -> the module that defines it, imported on first access
_LAZY = {"Publication": "api", "SyndicateError": "errors"}


def __getattr__(name: str) -> Any:
    """Import the library API on first access of one of its names (PEP 562)."""
    if name in _LAZY:
        # Deferred: the API imports the whole core, which `import syndicate` must not pay for.
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
