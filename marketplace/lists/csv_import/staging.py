"""The one way a CSV gets into a list, for the pages, the API and the command line:
stage (read the file, map its columns), preview (a dry run with a per-row report:
row, column, what is wrong), then apply (all or nothing, or the good rows and a
report of the rest, as the caller chooses).

`import_bytes` does the three at once in the caller's transaction (the API and the
CLI). `StagedImports` keeps the staged file in a ListImport row between the steps
(the pages: upload, map, preview, confirm) and applies it in the worker, with
progress.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.core import outbox
from marketplace.core.errors import Conflict, DomainError, NotFound
from marketplace.core.models import utcnow
from marketplace.lists.csv_import.applying import MODES, Importer, ImportResult, Progress
from marketplace.lists.csv_import.mapping import (
    auto_mapping,
    check_mapping,
    remember_mapping,
    remembered_mapping,
)
from marketplace.lists.csv_import.reading import CsvFile, parse_text
from marketplace.lists.models import ListImport
from marketplace.lists.operations import ListKind, list_kind
from marketplace.lists.uploads import decode_upload

RUN_TASK = "workers.tasks.run_list_import"
MAX_REPORTED_ERRORS = 1000


@dataclass(frozen=True)
class StagedFile:
    """A file read and mapped, ready for a preview or to be applied."""

    kind: ListKind
    csv_file: CsvFile
    mapping: dict[str, str]
    text: str = ""  # as decoded, without a BOM (what the pages keep between steps)


def stage(
    session: Session,
    user_id: int,
    kind: str | ListKind,
    data: bytes,
    *,
    encoding: str | None = None,
    mapping: dict[str, str] | None = None,
) -> StagedFile:
    """Read the file (through the upload guard's checks) and map its columns: as
    the caller says, else as the collector last did, else by their headings."""
    kind = list_kind(kind)
    text, used = decode_upload(data, encoding or None)
    csv_file = parse_text(text, used)
    if mapping is None:
        mapping = auto_mapping(
            csv_file.header, kind.name, remembered_mapping(session, user_id, kind.name)
        )
    return StagedFile(kind, csv_file, mapping, text.lstrip("\ufeff"))


def preview(
    session: Session,
    user_id: int,
    staged: StagedFile,
    *,
    mode: str = "all_or_nothing",
    choices: dict[int, int] | None = None,
) -> ImportResult:
    """What applying would do, row by row; changes nothing."""
    return Importer(session).run(
        user_id, staged.kind, staged.csv_file, staged.mapping,
        mode=mode, dry_run=True, choices=choices,
    )  # fmt: skip


def apply(
    session: Session,
    user_id: int,
    staged: StagedFile,
    *,
    mode: str = "all_or_nothing",
    choices: dict[int, int] | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Write the file into the list (or refuse it, in all_or_nothing mode)."""
    return Importer(session).run(
        user_id, staged.kind, staged.csv_file, staged.mapping,
        mode=mode, choices=choices, progress=progress,
    )  # fmt: skip


def import_bytes(
    session: Session,
    user: User,
    kind: str | ListKind,
    data: bytes,
    *,
    mode: str = "all_or_nothing",
    dry_run: bool = False,
    encoding: str | None = None,
    mapping: dict[str, str] | None = None,
    choices: dict[int, int] | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Stage, then preview (`dry_run`) or apply, in one call; an applied import
    remembers its column mapping for the collector's next file."""
    staged = stage(session, user.id, kind, data, encoding=encoding, mapping=mapping)
    if dry_run:
        return preview(session, user.id, staged, mode=mode, choices=choices)
    result = apply(session, user.id, staged, mode=mode, choices=choices, progress=progress)
    header, name = staged.csv_file.header, staged.kind.name
    remember_mapping(session, user.id, name, check_mapping(staged.mapping, header, name))
    return result


class StagedImports:
    """The pages' import: the staged file kept between upload, mapping, preview and
    confirmation, then applied by the worker."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def upload(
        self, user: User, kind: str, data: bytes, filename: str, encoding: str | None = None
    ) -> ListImport:
        staged = stage(self.session, user.id, kind, data, encoding=encoding)
        csv_file = staged.csv_file
        job = ListImport(
            user_id=user.id,
            kind=staged.kind.name,
            filename=filename[:200],
            encoding=csv_file.encoding,
            delimiter=csv_file.delimiter,
            content=staged.text,
            mapping=staged.mapping,
            total_rows=len(csv_file.rows),
        )
        self.session.add(job)
        self.session.flush()
        return job

    def get(self, user: User, import_id: int) -> ListImport:
        job = self.session.scalar(
            select(ListImport).where(ListImport.id == import_id, ListImport.user_id == user.id)
        )
        if job is None:
            raise NotFound(_("No such import."))
        return job

    @staticmethod
    def csv_file(job: ListImport) -> CsvFile:
        return parse_text(job.content, job.encoding, job.delimiter)

    @classmethod
    def staged(cls, job: ListImport) -> StagedFile:
        return StagedFile(list_kind(job.kind), cls.csv_file(job), dict(job.mapping))

    def set_mapping(self, user: User, import_id: int, mapping: dict[str, str]) -> ListImport:
        job = self._editable(user, import_id)
        job.mapping = check_mapping(mapping, self.csv_file(job).header, job.kind)
        remember_mapping(self.session, user.id, job.kind, job.mapping)
        self.session.flush()
        return job

    def _editable(self, user: User, import_id: int) -> ListImport:
        job = self.get(user, import_id)
        if job.status != "uploaded":
            raise DomainError(_("This import has already been started."))
        return job

    def preview(self, user: User, import_id: int, mode: str = "all_or_nothing") -> ImportResult:
        job = self.get(user, import_id)
        return preview(self.session, user.id, self.staged(job), mode=mode, choices=_choices(job))

    def start(self, user: User, import_id: int, mode: str, choices: dict[int, int]) -> ListImport:
        job = self._editable(user, import_id)
        if mode not in MODES:
            raise DomainError(_("Choose all_or_nothing or good_rows."), field="mode")
        job.mode = mode
        job.choices = {str(k): v for k, v in choices.items()}
        job.status = "queued"
        self.session.flush()
        outbox.enqueue(self.session, RUN_TASK, import_id=job.id)
        return job

    def import_good_rows(self, user: User, import_id: int) -> ListImport:
        """After an all-or-nothing import was refused (and wrote nothing), import
        the same upload's good rows and report the rest: queued again, so the
        worker applies it in one transaction like any other."""
        job = self.get(user, import_id)
        if job.status != "refused":
            raise Conflict(_("Only a refused import can import its good rows."))
        job.mode = "good_rows"
        job.status = "queued"
        job.finished_at = None
        self.session.flush()
        outbox.enqueue(self.session, RUN_TASK, import_id=job.id)
        return job

    def run(self, import_id: int, progress: Progress | None = None) -> ImportResult | None:
        """The task body: apply a queued file and record the outcome."""
        job = self.session.get(ListImport, import_id)
        if job is None or job.status not in ("queued", "running"):
            return None  # already done by an earlier delivery
        job.status = "running"
        owner = self.session.get(User, job.user_id)
        # The problems are kept for the import page: in the collector's language.
        with force_locale((owner.locale if owner else None) or "en"):
            result = apply(
                self.session, job.user_id, self.staged(job),
                mode=job.mode, choices=_choices(job), progress=progress,
            )  # fmt: skip
        job.status = "done" if result.applied or result.ok else "refused"
        if job.mode == "good_rows" and not result.ok:
            job.status = "done"
        job.created_rows = result.created if job.status == "done" else 0
        job.updated_rows = result.updated if job.status == "done" else 0
        job.error_rows = result.error_rows + len(result.ambiguous)
        job.errors = [e.as_dict() for e in result.errors[:MAX_REPORTED_ERRORS]]
        job.report = result.report
        job.finished_at = utcnow()
        self.session.flush()
        return result

    def recent(self, user: User, limit: int = 10) -> list[ListImport]:
        return list(
            self.session.scalars(
                select(ListImport)
                .where(ListImport.user_id == user.id, ListImport.status != "uploaded")
                .order_by(ListImport.id.desc())
                .limit(limit)
            )
        )


def _choices(job: ListImport) -> dict[int, int]:
    return {int(k): int(v) for k, v in job.choices.items()}
