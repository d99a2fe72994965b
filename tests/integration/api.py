#!/usr/bin/env python3
"""Tiny client for hopx-vmm's control API over its Unix socket.

  api.py SOCK METHOD PATH [JSON]     prints "<status> <body>", exits 0
  api.py SOCK cycles N               N pause/resume cycles, exits 0 if all 204
  api.py SOCK wait                   waits (up to 30 s) until the socket answers
"""
import http.client
import socket
import sys
import time


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(sock, method, path, body=None):
    c = UnixConnection(sock)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read().decode()
    c.close()
    return r.status, data


def main():
    sock, what = sys.argv[1], sys.argv[2]
    if what == "wait":
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                call(sock, "GET", "/")
                return 0
            except OSError:
                time.sleep(0.05)
        return 1
    if what == "cycles":
        for i in range(int(sys.argv[3])):
            for state in ("Paused", "Resumed"):
                st, body = call(sock, "PATCH", "/vm", '{"state": "%s"}' % state)
                if st != 204:
                    print("cycle %d %s: %d %s" % (i, state, st, body))
                    return 1
        return 0
    body = sys.argv[4] if len(sys.argv) > 4 else None
    st, data = call(sock, what, sys.argv[3], body)
    print(st, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
