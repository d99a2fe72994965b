"""hopx: the Python SDK for hopx sandboxes (hopxd) and HopX's API, standard
library only.

    from hopx import Sandbox
    with Sandbox.create(template="code-interpreter", base_url="http://127.0.0.1:8080") as sb:
        print(sb.run_code("print(6*7)").stdout)

The API key comes from api_key= or $HOPX_API_KEY; the server from base_url=,
$HOPX_BASE_URL, or HopX's own."""
from .async_sandbox import AsyncSandbox
from .errors import (APIError, AuthenticationError, CodeExecutionError, DesktopNotAvailableError,
                     FileNotFoundError, FileOperationError, HopxError, NetworkError, NotFoundError,
                     RateLimitError, ResourceLimitError, SandboxExpiredError, ServerError, TemplateNotFoundError,
                     TimeoutError, TokenExpiredError, ValidationError)
from .models import CommandResult, ExecutionResult, FileInfo, RichOutput, SandboxInfo, Template
from .sandbox import Sandbox

__version__ = "0.1.0"
__all__ = ["Sandbox", "AsyncSandbox", "ExecutionResult", "CommandResult", "RichOutput", "SandboxInfo", "FileInfo",
           "Template", "HopxError", "APIError", "AuthenticationError", "TokenExpiredError", "ValidationError",
           "NotFoundError", "SandboxExpiredError", "TemplateNotFoundError", "FileNotFoundError", "FileOperationError",
           "ResourceLimitError", "RateLimitError", "ServerError", "NetworkError", "TimeoutError",
           "DesktopNotAvailableError", "CodeExecutionError"]
