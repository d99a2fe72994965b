"""A small HTTP client for hopx-agent over its Unix socket (the test suite's)."""
import http.client
import json
import socket
import urllib.parse


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Agent:
    def __init__(self, sock, token):
        self.sock, self.token = sock, token

    def raw(self, method, path, body=None, headers=None, query=None, token=True, timeout=60):
        if query:
            path += "?" + urllib.parse.urlencode(query)
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        h.update(headers or {})
        c = UnixConnection(self.sock, timeout)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, r.getheaders(), data

    def call(self, method, path, obj=None, **kw):
        body = json.dumps(obj) if obj is not None else None
        status, headers, data = self.raw(method, path, body, **kw)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data
        return status, parsed
