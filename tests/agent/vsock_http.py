#!/usr/bin/env python3
"""HTTP to a hopx-agent inside a VM through hopx-vmm's vsock socket: connect
to the VM's Unix socket, "CONNECT <port>\\n", read "OK ...\\n", then speak
HTTP/1.1 on the same stream (one request per connection, as the agent closes
each). Used by the in-VM suite (tests/integration/agent_vm.sh)."""
import http.client
import json
import socket
import time


class VsockConnection(http.client.HTTPConnection):
    def __init__(self, uds, port, timeout=120):
        super().__init__("localhost", timeout=timeout)
        self.uds, self.vport = uds, port

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.uds)
        s.sendall(b"CONNECT %d\n" % self.vport)
        line = b""
        while not line.endswith(b"\n"):
            c = s.recv(1)
            if not c:
                raise ConnectionError("vsock: no OK (nobody listening on port %d yet?)" % self.vport)
            line += c
        if not line.startswith(b"OK "):
            raise ConnectionError("vsock: %r" % line)
        self.sock = s


def call(uds, token, method, path, obj=None, port=7777, timeout=120):
    c = VsockConnection(uds, port, timeout)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
    c.request(method, path, body=json.dumps(obj) if obj is not None else None, headers=headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, json.loads(body) if body else None


def wait_healthy(uds, token, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            st, body = call(uds, token, "GET", "/health", timeout=10)
            if st == 200:
                return body
        except (OSError, ConnectionError, http.client.HTTPException):
            pass
        time.sleep(1)
    raise SystemExit("the agent never answered /health over vsock")
