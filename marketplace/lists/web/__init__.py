"""List pages: Haves and Wants (one set of views registered for each kind: filters,
sorting, pages, inline edit), photos, moving a Want to Haves, the one-click add
buttons, series completion, jars and charts, the public collection page, and CSV
import (upload → map → preview → run as a task, with progress) and export. Views
parse, call the list services, and map errors."""

from __future__ import annotations

from marketplace.lists.web import collection, entries, imports
from marketplace.lists.web.common import bp

__all__ = ["bp", "collection", "entries", "imports"]
