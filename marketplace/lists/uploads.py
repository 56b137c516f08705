"""The one guard on files collectors upload, used by the pages and the API alike:
size (the declared length is refused before anything is read, and what was read is
measured again), the part of the request the file must come in, and the text
encodings a CSV may be in."""

from __future__ import annotations

from flask import request
from flask_babel import format_decimal
from flask_babel import gettext as _

from marketplace.core.errors import DomainError

MAX_IMPORT_BYTES = 10 * 1024 * 1024
# Room for the multipart envelope and the form's other fields around the file.
ENVELOPE_BYTES = 64 * 1024


class FileTooLarge(DomainError):
    status = 413
    code = "too_large"


def refuse_declared_oversize(limit: int = MAX_IMPORT_BYTES) -> None:
    """Refuse an upload whose declared length is over `limit` before reading it,
    and let Werkzeug read no more than that (a body that lies about its length)."""
    request.max_content_length = limit + ENVELOPE_BYTES
    if (request.content_length or 0) > request.max_content_length:
        raise FileTooLarge(
            _("The file is larger than the %(limit)d MB limit.", limit=limit // 1_048_576)
        )


def read_upload(field: str, *, what: str, body_allowed: bool) -> bytes:
    """The uploaded file: the multipart field `field`, or (where `body_allowed`)
    the whole request body, as the API takes `text/csv`."""
    if body_allowed and request.mimetype != "multipart/form-data":
        return request.get_data()
    upload = request.files.get(field)
    if upload is None:
        raise DomainError(
            _("Send %(what)s as the multipart field '%(field)s'.", what=what, field=field),
            field=field,
        )
    return upload.read()


def decode_upload(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of an uploaded file and the encoding it was read with: the one the
    collector named, else UTF-8 (with or without a BOM), else Windows-1251 (what
    Excel in a Russian locale writes). Refuses files over the limit, empty files
    and binary (or UTF-16) ones."""
    if len(data) > MAX_IMPORT_BYTES:
        raise FileTooLarge(
            _(
                "The file is %(size)s MB; the limit is %(limit)d MB. Split it into smaller files.",
                size=format_decimal(round(len(data) / 1_048_576, 1)),
                limit=MAX_IMPORT_BYTES // 1_048_576,
            ),
            field="file",
        )
    if not data.strip():
        raise DomainError(_("The file is empty."), field="file")
    if b"\x00" in data[:4096]:
        raise DomainError(
            _(
                "This is not a text CSV file (it looks binary or UTF-16); save it as "
                "CSV in UTF-8 or Windows-1251."
            ),
            field="file",
        )
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (LookupError, UnicodeDecodeError) as exc:
            raise DomainError(
                _(
                    "The file cannot be read as %(encoding)s: %(error)s.",
                    encoding=encoding,
                    error=exc,
                ),
                field="file",
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise DomainError(
                _("The file is not valid UTF-8: %(error)s.", error=exc), field="file"
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251"), "cp1251"
    except UnicodeDecodeError:
        raise DomainError(
            _("The file is neither UTF-8 nor Windows-1251; choose its encoding."),
            field="encoding",
        ) from None
