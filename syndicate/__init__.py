"""syndicate: feeds and announcements for a folder of Markdown posts."""

from __future__ import annotations

__version__ = "0.1.0"
