"""Domain services: every business rule lives here. Services take a SQLAlchemy
session, flush but never commit, and raise `DomainError` subclasses that views and
the API map to responses."""


class DomainError(Exception):
    """A rule refused the operation; `field` names the input at fault, if one is."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """Several fields are wrong at once; `errors` maps each field to its messages."""

    status = 422
    code = "invalid_input"

    def __init__(self, errors: dict[str, list[str]], message: str | None = None) -> None:
        first = next(iter(errors.values()))[0] if errors else "The input is not valid."
        super().__init__(message or first)
        self.errors = errors


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
