"""CSV import and export of Have and Want lists.

Import is stage → preview → apply (`staging`), for the pages, the API and the CLI
alike:

- `uploads` (the upload guard) reads the bytes as UTF-8 (with or without a BOM) or,
  failing that, Windows-1251, unless the collector names the encoding;
- `reading` finds the delimiter (comma, semicolon or tab) and the rows;
- `mapping` maps columns to fields by name (English and Russian headings), or as
  the collector last mapped them;
- `rows` checks each row's values; `matching` matches rows to pins by catalogue
  number, else by legend, transliteration or title, several candidates being an
  ambiguity the collector resolves by choosing a pin for that row;
- `applying` plans each row as a new entry or an update of one already listed (so
  an export, from `exporting`, imports back to the same list) and writes in bulk.

Every problem names its row (the header is row 1), its column and the reason. In
"all_or_nothing" mode one bad row refuses the file; in "good_rows" mode the good
rows are imported and the bad ones come back as a downloadable report.
"""

from __future__ import annotations

from marketplace.lists.csv_import.applying import (
    MODES,
    Importer,
    ImportResult,
    Progress,
    report_csv,
)
from marketplace.lists.csv_import.exporting import export_csv, export_rows
from marketplace.lists.csv_import.mapping import (
    FIELD_LABELS,
    FIELDS,
    SYNONYMS,
    auto_mapping,
    check_mapping,
    remember_mapping,
    remembered_mapping,
)
from marketplace.lists.csv_import.matching import Ambiguity, Candidate, find_by_text
from marketplace.lists.csv_import.reading import (
    MAX_ROWS,
    CsvFile,
    parse_text,
    read_csv,
    sniff_delimiter,
)
from marketplace.lists.csv_import.rows import Parsed, RowError, parse_row
from marketplace.lists.csv_import.staging import (
    MAX_REPORTED_ERRORS,
    RUN_TASK,
    StagedFile,
    StagedImports,
    apply,
    import_bytes,
    preview,
    stage,
)
from marketplace.lists.operations import KINDS
from marketplace.lists.uploads import MAX_IMPORT_BYTES, FileTooLarge, decode_upload

__all__ = [
    "FIELDS",
    "FIELD_LABELS",
    "KINDS",
    "MAX_IMPORT_BYTES",
    "MAX_REPORTED_ERRORS",
    "MAX_ROWS",
    "MODES",
    "RUN_TASK",
    "SYNONYMS",
    "Ambiguity",
    "Candidate",
    "CsvFile",
    "FileTooLarge",
    "ImportResult",
    "Importer",
    "Parsed",
    "Progress",
    "RowError",
    "StagedFile",
    "StagedImports",
    "apply",
    "auto_mapping",
    "check_mapping",
    "decode_upload",
    "export_csv",
    "export_rows",
    "find_by_text",
    "import_bytes",
    "parse_row",
    "parse_text",
    "preview",
    "read_csv",
    "remember_mapping",
    "remembered_mapping",
    "report_csv",
    "sniff_delimiter",
    "stage",
]
