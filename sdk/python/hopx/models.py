"""Result and info objects of the hopx SDK."""
import base64
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


@dataclass
class RichOutput:
    """One rich output of a run: type is a MIME type, data maps it to the content."""
    type: str
    data: Dict[str, Any]


@dataclass
class ExecutionResult:
    success: bool = False
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    execution_time: float = 0.0
    language: Optional[str] = None
    png: Optional[str] = None
    html: Optional[str] = None
    json: Any = None
    result: Optional[str] = None
    error: Optional[str] = None
    rich_outputs: List[RichOutput] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, b):
        r = cls(success=bool(b.get("success")), stdout=b.get("stdout") or "", stderr=b.get("stderr") or "",
                exit_code=int(b.get("exit_code") or 0), execution_time=float(b.get("execution_time") or 0),
                language=b.get("language"), png=b.get("png"), html=b.get("html"), json=b.get("json"),
                result=b.get("result"), error=b.get("error"), raw=b)
        if r.png:
            r.rich_outputs.append(RichOutput("image/png", {"image/png": r.png}))
        if r.html:
            r.rich_outputs.append(RichOutput("text/html", {"text/html": r.html}))
        if "json" in b:
            r.rich_outputs.append(RichOutput("application/json", {"application/json": r.json}))
        if r.result is not None and r.result != r.stdout:
            r.rich_outputs.append(RichOutput("text/plain", {"text/plain": r.result}))
        return r

    def png_bytes(self):
        """The PNG (a matplotlib figure) as bytes, or None."""
        return base64.b64decode(self.png) if self.png else None


@dataclass
class CommandResult:
    success: bool = False
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    execution_time: float = 0.0

    @classmethod
    def from_body(cls, b):
        return cls(bool(b.get("success")), b.get("stdout") or "", b.get("stderr") or "",
                   int(b.get("exit_code") or 0), float(b.get("execution_time") or 0))


@dataclass
class SandboxInfo:
    sandbox_id: str
    status: str
    public_host: Optional[str] = None
    template_name: Optional[str] = None
    runtime: Optional[str] = None
    created_at: Optional[str] = None
    expires_at: Optional[str] = None
    timeout_seconds: Optional[int] = None
    internet_access: Optional[bool] = None
    resources: Dict[str, Any] = field(default_factory=dict)
    raw: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, b):
        return cls(sandbox_id=b.get("id") or b.get("sandbox_id"), status=b.get("status"),
                   public_host=b.get("public_host"), template_name=b.get("template_name"),
                   runtime=b.get("runtime"), created_at=b.get("created_at"), expires_at=b.get("expires_at"),
                   timeout_seconds=b.get("timeout_seconds"), internet_access=b.get("internet_access"),
                   resources=b.get("resources") or {}, raw=b)


@dataclass
class FileInfo:
    name: str
    path: str
    size: int
    is_dir: bool
    modified: Optional[str] = None
    permissions: Optional[str] = None


@dataclass
class Template:
    name: str
    display_name: str = ""
    description: str = ""
    language: str = ""
    category: str = ""
    default_resources: Dict[str, Any] = field(default_factory=dict)
    features: List[str] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, b):
        return cls(name=b.get("name") or b.get("id"), display_name=b.get("display_name") or "",
                   description=b.get("description") or "", language=b.get("language") or "",
                   category=b.get("category") or "", default_resources=b.get("default_resources") or {},
                   features=b.get("features") or [], raw=b)
