"""syndicate: one canonical article model, published as feeds, newsletters and digests."""

from __future__ import annotations

__version__ = "0.1.0"
