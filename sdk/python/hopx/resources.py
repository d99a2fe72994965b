"""A sandbox's agent-side resources: files, commands, env and the terminal."""
import base64
import os

from .models import CommandResult, FileInfo
from ._ws import WebSocket


class Files:
    def __init__(self, sandbox):
        self._s = sandbox

    def read(self, path):
        return self._s._agent("GET", "/files/read", params={"path": path})["content"]

    def read_bytes(self, path):
        return self._s._agent("GET", "/files/download", params={"path": path}, raw=True)

    download = read_bytes

    def write(self, path, content, mode="0644", overwrite=True):
        body = {"path": path, "overwrite": overwrite, "mode": mode}
        if isinstance(content, (bytes, bytearray)):
            body.update(content=base64.b64encode(bytes(content)).decode(), encoding="base64")
        else:
            body["content"] = content
        self._s._agent("POST", "/files/write", body)

    write_bytes = write

    def list(self, path="/workspace"):
        files = self._s._agent("GET", "/files/list", params={"path": path}).get("files") or []
        return [FileInfo(f.get("name"), f.get("path"), int(f.get("size") or 0), bool(f.get("is_dir")),
                         f.get("modified"), f.get("permissions")) for f in files if f]

    def exists(self, path):
        return bool(self._s._agent("GET", "/files/exists", params={"path": path}).get("exists"))

    def remove(self, path):
        self._s._agent("DELETE", "/files/remove", params={"path": path})

    def mkdir(self, path):
        self._s._agent("POST", "/files/mkdir", {"path": path})

    def upload(self, local_path, remote_path):
        with open(local_path, "rb") as f:
            content = f.read()
        self._s._agent_client().multipart("/files/upload", {"path": remote_path},
                                          {"file": (os.path.basename(local_path), content)})

    def watch(self, path="/workspace"):
        """Yields {"type":"change","path","event",...} dicts until the caller stops."""
        ws = self._s._ws("/files/watch")
        try:
            ws.send({"action": "watch", "path": path})
            while True:
                m = ws.recv()
                if m is None:
                    return
                if m.get("type") == "change":
                    yield m
        finally:
            ws.close()


class Commands:
    def __init__(self, sandbox):
        self._s = sandbox

    def run(self, command, timeout=30, working_dir="/workspace", env=None, background=False):
        body = {"command": "bash", "args": ["-c", command], "timeout": timeout, "workdir": working_dir}
        if env:
            body["env"] = env
        if background:
            return self._s._agent("POST", "/commands/background", body, timeout=30)
        return CommandResult.from_body(self._s._agent("POST", "/commands/run", body, timeout=timeout + 30))

    def run_background(self, command, timeout=120, working_dir="/workspace", env=None):
        return self.run(command, timeout=timeout, working_dir=working_dir, env=env, background=True)


class Env:
    def __init__(self, sandbox):
        self._s = sandbox

    def get_all(self):
        return self._s._agent("GET", "/env").get("env_vars") or {}

    def get(self, key, default=None):
        return self.get_all().get(key, default)

    def set_all(self, env_vars):
        return self._s._agent("PUT", "/env", {"env_vars": env_vars}).get("env_vars") or {}

    def update(self, env_vars):
        return self._s._agent("PATCH", "/env", {"env_vars": env_vars, "merge": True}).get("env_vars") or {}

    def set(self, key, value):
        return self.update({key: value})

    def delete(self, key):
        env = self.get_all()
        if key in env:
            del env[key]
            self.set_all(env)


class Terminal:
    """A PTY in the sandbox over a WebSocket: send input, read output, resize."""

    def __init__(self, sandbox):
        self._s = sandbox
        self.ws = None

    def connect(self):
        self.ws = self._s._ws("/terminal")
        self.ws.set_timeout(None)  # a shell may be quiet for as long as it likes
        return self

    def send_input(self, data):
        self.ws.send({"type": "input", "data": data})

    def resize(self, cols, rows):
        self.ws.send({"type": "resize", "cols": cols, "rows": rows})

    def output(self):
        """Yields output strings until the shell exits (then returns its exit code)."""
        while True:
            m = self.ws.recv()
            if m is None:
                return None
            if m.get("type") == "output":
                yield m.get("data", "")
            elif m.get("type") == "exit":
                return m.get("code")

    def close(self):
        if self.ws:
            self.ws.close()

    def __enter__(self):
        return self.connect() if self.ws is None else self

    def __exit__(self, *exc):
        self.close()


__all__ = ["Files", "Commands", "Env", "Terminal", "WebSocket"]
