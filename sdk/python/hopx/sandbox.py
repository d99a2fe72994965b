"""Sandbox: one isolated machine on a hopxd (or HopX) server, and the code,
commands, files and environment in it."""
import datetime
import os

from . import errors
from ._http import Client
from ._ws import WebSocket
from .models import ExecutionResult, SandboxInfo, Template
from .resources import Commands, Env, Files, Terminal

DEFAULT_BASE_URL = "https://api.hopx.dev"


def _base_url(base_url):
    return (base_url or os.environ.get("HOPX_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def _api_key(api_key):
    return api_key or os.environ.get("HOPX_API_KEY")


def _lifecycle(api_key, base_url, timeout=60):
    key = _api_key(api_key)
    return Client(_base_url(base_url), {"X-API-Key": key} if key else {}, timeout=timeout)


class Sandbox:
    """A sandbox. Sandbox.create(template="code-interpreter") starts one and
    returns when it is ready; use it as a context manager to kill it at the end."""

    def __init__(self, sandbox_id, api_key=None, base_url=None, token=None, token_expires_at=None):
        self.sandbox_id = sandbox_id
        self._api_key = _api_key(api_key)
        self._base_url = _base_url(base_url)
        self._lc = _lifecycle(self._api_key, self._base_url)
        self._token = token
        self._token_expires_at = token_expires_at
        self._public_host = None
        self._agent_http = None
        self.files = Files(self)
        self.commands = Commands(self)
        self.env = Env(self)

    # --- lifecycle (class side) ------------------------------------------------------
    @classmethod
    def create(cls, template=None, template_id=None, timeout_seconds=None, internet_access=None, env_vars=None,
               region=None, api_key=None, base_url=None, timeout=300):
        body = {}
        if template_id is not None:
            body["template_id"] = str(template_id)
        elif template is not None:
            body["template_name"] = template
        else:
            raise errors.ValidationError("create needs template= or template_id=")
        for k, v in (("region", region), ("timeout_seconds", timeout_seconds), ("internet_access", internet_access),
                     ("env_vars", env_vars)):
            if v is not None:
                body[k] = v
        r = _lifecycle(api_key, base_url, timeout).request("POST", "/v1/sandboxes", body)
        sid = r.get("sandbox_id") or r.get("id")
        if not sid:
            raise errors.APIError("the server's answer has no sandbox id")
        sb = cls(sid, api_key, base_url, r.get("auth_token"), r.get("token_expires_at"))
        sb._public_host = r.get("public_host")
        return sb

    @classmethod
    def connect(cls, sandbox_id, api_key=None, base_url=None):
        sb = cls(sandbox_id, api_key, base_url)
        info = sb.get_info()
        if info.status == "paused":
            sb.resume()
        elif info.status != "running":
            raise errors.APIError("sandbox %s is %s" % (sandbox_id, info.status))
        sb.refresh_token()
        return sb

    @classmethod
    def iter(cls, status=None, region=None, api_key=None, base_url=None):
        lc = _lifecycle(api_key, base_url)
        cursor = None
        while True:
            page = lc.request("GET", "/v1/sandboxes", params={"limit": 100, "status": status, "region": region,
                                                               "cursor": cursor})
            for item in page.get("data") or []:
                if item:
                    yield SandboxInfo.from_body(item)
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return

    @classmethod
    def list(cls, status=None, region=None, limit=None, api_key=None, base_url=None):
        out = []
        for info in cls.iter(status=status, region=region, api_key=api_key, base_url=base_url):
            out.append(info)
            if limit and len(out) >= limit:
                break
        return out

    @classmethod
    def list_templates(cls, category=None, language=None, api_key=None, base_url=None):
        r = _lifecycle(api_key, base_url).request("GET", "/v1/templates",
                                                  params={"category": category, "language": language})
        return [Template.from_body(t) for t in r.get("data") or []]

    @classmethod
    def get_template(cls, name, api_key=None, base_url=None):
        return Template.from_body(_lifecycle(api_key, base_url).request("GET", "/v1/templates/" + name))

    @classmethod
    def health_check(cls, base_url=None):
        return Client(_base_url(base_url), timeout=10).request("GET", "/health")

    # --- lifecycle (this sandbox) ----------------------------------------------------------
    def get_info(self):
        info = SandboxInfo.from_body(self._lc.request("GET", "/v1/sandboxes/" + self.sandbox_id))
        if self._public_host is None:
            self._public_host = info.public_host
        return info

    def pause(self):
        self._lc.request("POST", "/v1/sandboxes/%s/pause" % self.sandbox_id)

    def resume(self):
        self._lc.request("POST", "/v1/sandboxes/%s/resume" % self.sandbox_id)

    def kill(self):
        self._lc.request("DELETE", "/v1/sandboxes/" + self.sandbox_id)

    def set_timeout(self, seconds):
        if seconds <= 0:
            raise errors.ValidationError("timeout must be positive")
        self._lc.request("PUT", "/v1/sandboxes/%s/timeout" % self.sandbox_id, {"timeout_seconds": int(seconds)})

    def refresh_token(self):
        r = self._lc.request("POST", "/v1/sandboxes/%s/token/refresh" % self.sandbox_id)
        self._token, self._token_expires_at = r.get("auth_token"), r.get("token_expires_at")
        self._agent_http = None
        return self._token

    def get_token(self):
        if not self._token or self._token_hours_left() < 1:
            self.refresh_token()
        return self._token

    def _token_hours_left(self):
        try:
            exp = datetime.datetime.fromisoformat(self._token_expires_at.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            return 0
        return (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 3600

    # --- the agent --------------------------------------------------------------------------
    def _agent_client(self):
        if self._agent_http is None:
            if self._public_host is None:
                self.get_info()
            if not self._public_host:
                raise errors.APIError("the server gave this sandbox no public_host")
            token = self.get_token()
            self._agent_http = Client(self._public_host, {"Authorization": "Bearer " + token}, retries=1)
        return self._agent_http

    def _agent(self, method, path, body=None, params=None, timeout=None, raw=False):
        try:
            return self._agent_client().request(method, path, body, params=params, timeout=timeout, raw=raw)
        except errors.AuthenticationError:
            self.refresh_token()  # once: a token that expired meanwhile
            return self._agent_client().request(method, path, body, params=params, timeout=timeout, raw=raw)

    def _ws(self, path):
        if self._public_host is None:
            self.get_info()
        host = self._public_host.split("://", 1)[-1].split("/", 1)[0]
        return WebSocket("ws://%s%s" % (host, path), {"Authorization": "Bearer " + self.get_token()})

    def run_code(self, code, language="python", timeout=120, env=None, working_dir="/workspace"):
        body = {"code": code, "language": language, "timeout": timeout, "workdir": working_dir}
        if env:
            body["env"] = env
        return ExecutionResult.from_body(self._agent("POST", "/execute", body, timeout=timeout + 30))

    def run_code_background(self, code, language="python", timeout=300, env=None, working_dir="/workspace",
                            name=None, request_timeout=30):
        """Starts CODE and returns its process (process_id, ...); REQUEST_TIMEOUT is how long
        the start itself may take (in a loaded guest, starting a process takes seconds)."""
        body = {"code": code, "language": language, "timeout": timeout, "workdir": working_dir}
        if env:
            body["env"] = env
        if name:
            body["name"] = name
        return self._agent("POST", "/execute/background", body, timeout=request_timeout)

    def run_code_stream(self, code, language="python", timeout=60, env=None, working_dir="/workspace"):
        """Yields the stream's messages (stdout, stderr, result, ...) until "complete"."""
        ws = self._ws("/execute/stream")
        ws.set_timeout(timeout + 30 if timeout else None)  # the code may print nothing for most of its run
        try:
            msg = {"type": "execute", "code": code, "language": language, "timeout": timeout, "workdir": working_dir}
            if env:
                msg["env"] = env
            ws.send(msg)
            while True:
                m = ws.recv()
                if m is None:
                    return
                yield m
                if m.get("type") == "complete":
                    return
        finally:
            ws.close()

    def list_processes(self):
        return self._agent("GET", "/execute/processes").get("processes") or []

    def kill_process(self, process_id):
        return self._agent("POST", "/execute/kill/" + process_id)

    def get_metrics_snapshot(self):
        return self._agent("GET", "/metrics/snapshot")

    get_agent_metrics = get_metrics_snapshot

    def get_agent_info(self):
        return self._agent("GET", "/info")

    def get_health(self):
        return self._agent("GET", "/health")

    @property
    def terminal(self):
        return Terminal(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.kill()
        except errors.NotFoundError:
            pass

    def __repr__(self):
        return "Sandbox(%r)" % self.sandbox_id
