"""API resources for the caller's trade lists: `/me/haves` and `/me/wants` (list,
create, read, change, delete), CSV `/import` and `/export` for each, and the photos
of a Have. One set of resources, registered for each kind."""

from __future__ import annotations

from marketplace.lists.api import csv_resources
from marketplace.lists.api.resources import blp, have_dict, want_dict

__all__ = ["blp", "csv_resources", "have_dict", "want_dict"]
