"""`Catalogue`, the catalogue service on one session: its records and revisions
(operations.records) and catalogue files (operations.catalogue_files)."""

from __future__ import annotations

from marketplace.catalogue.operations.catalogue_files import CatalogueFiles


class Catalogue(CatalogueFiles):
    """Catalogue records on one session, one at a time or a whole file at once."""
