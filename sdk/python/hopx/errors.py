"""Typed errors of the hopx SDK, mapped from hopxd's and the agent's error
bodies ({"message", "code", ...}) and HTTP statuses."""


class HopxError(Exception):
    """Base class of every error this SDK raises."""

    def __init__(self, message, status_code=None, code=None, request_id=None, details=None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.details = details or {}


class APIError(HopxError):
    """An error answer from the API that no narrower class describes."""


class AuthenticationError(APIError):
    """401: a missing or wrong API key or sandbox token."""


class TokenExpiredError(AuthenticationError):
    """401 with code TOKEN_EXPIRED."""


class ValidationError(APIError):
    """400/422: the request was malformed or a field was out of range."""


class NotFoundError(APIError):
    """404: no such sandbox, template, process or endpoint."""


class SandboxExpiredError(NotFoundError):
    """410, or a sandbox that is gone (killed, expired)."""


class TemplateNotFoundError(NotFoundError):
    """404 with code TEMPLATE_NOT_FOUND."""


class FileNotFoundError(NotFoundError):  # noqa: A001 (the SDK's name)
    """404 with code FILE_NOT_FOUND; .path names the file."""

    @property
    def path(self):
        return self.details.get("path")


class FileOperationError(APIError):
    """A file operation the agent refused (FILE_OPERATION_FAILED, PERMISSION_DENIED, ...)."""


class ResourceLimitError(APIError):
    """429 with code RESOURCE_LIMIT (too many sandboxes), or TOO_MANY_PROCESSES."""


class RateLimitError(APIError):
    """429 for any other reason."""


class ServerError(APIError):
    """5xx."""


class NetworkError(HopxError):
    """The server could not be reached."""


class TimeoutError(NetworkError):  # noqa: A001 (the SDK's name)
    """No answer within the timeout."""


class DesktopNotAvailableError(APIError):
    """501 / DESKTOP_NOT_AVAILABLE: this sandbox has no desktop."""


class CodeExecutionError(HopxError):
    """Raised by callers that want failed code to be an exception (not raised by run_code)."""


def from_response(status, body, request_id=None):
    """The error for an HTTP STATUS with a parsed JSON BODY (dict or None)."""
    body = body if isinstance(body, dict) else {}
    message = body.get("message") or body.get("error") or "HTTP %d" % status
    if not isinstance(message, str):
        message = str(message)
    code = body.get("code")
    args = dict(status_code=status, code=code, request_id=request_id or body.get("request_id"), details=body)
    if status == 401:
        cls = TokenExpiredError if code == "TOKEN_EXPIRED" else AuthenticationError
    elif status == 410 or code == "SANDBOX_EXPIRED":
        cls = SandboxExpiredError
    elif code == "FILE_NOT_FOUND":
        cls = FileNotFoundError
    elif code in ("FILE_OPERATION_FAILED", "PERMISSION_DENIED", "IS_A_DIRECTORY", "NOT_A_DIRECTORY",
                  "FILE_EXISTS", "PATH_OUTSIDE_ROOT"):
        cls = FileOperationError
    elif code == "TEMPLATE_NOT_FOUND":
        cls = TemplateNotFoundError
    elif code == "SANDBOX_NOT_FOUND":
        cls = SandboxExpiredError
    elif status == 404:
        cls = NotFoundError
    elif status in (400, 422):
        cls = ValidationError
    elif status == 429:
        cls = ResourceLimitError if code in ("RESOURCE_LIMIT", "TOO_MANY_PROCESSES") else RateLimitError
    elif status == 501 or code == "DESKTOP_NOT_AVAILABLE":
        cls = DesktopNotAvailableError
    elif status >= 500:
        cls = ServerError
    else:
        cls = APIError
    return cls(message, **args)
