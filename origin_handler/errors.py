"""The exception tree: every error carries its HTTP status and a short client-safe message."""

from __future__ import annotations


class OriginError(Exception):
    """Base error; `status` and `message` are what the client sees."""

    status: int = 500
    code: str = "internal"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class BadRequest(OriginError):
    """A malformed URL, parameter or key (400)."""

    status = 400
    code = "bad_request"


class Forbidden(OriginError):
    """A signature the policy needs is missing, malformed or wrong (403, never cached)."""

    status = 403
    code = "forbidden"


class MethodNotAllowed(OriginError):
    """Only GET, HEAD and OPTIONS are served (405)."""

    status = 405
    code = "method_not_allowed"


class NotFound(OriginError):
    """No such original (404, briefly cacheable)."""

    status = 404
    code = "not_found"


class TooLarge(OriginError):
    """The original is over the byte, pixel, frame or metadata limit (413)."""

    status = 413
    code = "too_large"


class UnsupportedFormat(OriginError):
    """The original is not one of the allowed image formats (415)."""

    status = 415
    code = "unsupported_format"


class Undecodable(OriginError):
    """The original claims an allowed format but cannot be decoded (422)."""

    status = 422
    code = "undecodable"


class EncodeError(OriginError):
    """The encoder for the chosen format failed or is missing from this build (500)."""

    status = 500
    code = "encode_failed"


class Misconfigured(OriginError):
    """The deployment contradicts itself, e.g. signing required but no keys given (500)."""

    status = 500
    code = "misconfigured"


class StorageError(OriginError):
    """The store failed or answered something unexpected (502)."""

    status = 502
    code = "storage_error"


class StorageUnavailable(StorageError):
    """The store timed out or throttled us (503)."""

    status = 503
    code = "storage_unavailable"


class StorageDeadline(StorageUnavailable):
    """The invocation's time budget for storage ran out before the store answered (503)."""

    code = "storage_deadline"


def as_origin_error(exc: BaseException) -> OriginError:
    """Map any exception to an OriginError; unknown ones become a generic 500."""
    if isinstance(exc, OriginError):
        return exc
    return OriginError("internal error")
