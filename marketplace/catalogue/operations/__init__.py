"""The catalogue's verbs, one module per job:

* `records` — reading, creating and editing pins with a revision for every change;
* `pin_data` — checking and normalising pin data from any source;
* `catalogue_files` — CSV and JSON catalogue import (all or nothing) and export;
* `search_terms` — the spellings a pin is found under, and the search vocabulary;
* `themes` — the theme tree; `demo` — the demo catalogue;
* `service` — `Catalogue`, records and files on one session.

The names other modules use are re-exported here.
"""

from __future__ import annotations

from marketplace.catalogue.operations.catalogue_files import (
    MAX_IMPORT_BYTES,
    parse_catalogue_file,
    records_to_csv,
)
from marketplace.catalogue.operations.demo import load_demo_catalogue
from marketplace.catalogue.operations.pin_data import clean_pin_data
from marketplace.catalogue.operations.records import record_of, snapshot
from marketplace.catalogue.operations.search_terms import add_terms, index_pin, reindex_all
from marketplace.catalogue.operations.service import Catalogue
from marketplace.catalogue.operations.themes import THEMES, ensure_themes

__all__ = [
    "MAX_IMPORT_BYTES",
    "THEMES",
    "Catalogue",
    "add_terms",
    "clean_pin_data",
    "ensure_themes",
    "index_pin",
    "load_demo_catalogue",
    "parse_catalogue_file",
    "record_of",
    "records_to_csv",
    "reindex_all",
    "snapshot",
]
