"""A small WebSocket client (RFC 6455) on the standard library, for the
agent's /execute/stream, /terminal and /files/watch: text frames of JSON,
client-masked, with ping/pong and close. Enough for those three endpoints;
no extensions, no compression."""
import base64
import hashlib
import json
import os
import socket
import struct
import urllib.parse

from . import errors

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocket:
    def __init__(self, url, headers=None, timeout=60):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("ws", "http"):
            raise errors.HopxError("only ws:// (plain) WebSockets are supported here: %s" % url)
        self.sock = socket.create_connection((u.hostname, u.port or 80), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % (u.path or "/"), "Host: %s" % u.netloc, "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        lines += ["%s: %s" % kv for kv in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        head = self._read_until(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].split()
        if len(status) < 2 or status[1] != b"101":
            self.sock.close()
            code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
            raise errors.from_response(code or 502, {"message": "WebSocket refused: " + head.split(b"\r\n")[0].decode(
                "latin-1")})
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if ("sec-websocket-accept: " + want).lower().encode() not in head.lower():
            self.sock.close()
            raise errors.HopxError("WebSocket handshake: a wrong Sec-WebSocket-Accept")
        self.closed = False

    def set_timeout(self, seconds):
        self.sock.settimeout(seconds)

    def _read_until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise errors.NetworkError("WebSocket: the connection closed during the handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(marker, 1)
        return head

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, obj):
        self._send_frame(0x1, json.dumps(obj).encode())

    def recv_text(self):
        """The next text/binary message as str, or None once the socket is closed; raises
        errors.TimeoutError when none comes within the timeout (None: wait for ever)."""
        message = b""
        while True:
            try:
                b0, b1 = self._read(2)
            except socket.timeout:  # quiet for longer than the timeout: not an end
                raise errors.TimeoutError("WebSocket: no message in %ss" % self.sock.gettimeout()) from None
            except (EOFError, OSError):
                self.closed = True
                return None
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                self.close()
                return None
            message += payload
            if b0 & 0x80:
                return message.decode("utf-8", "replace")

    def recv(self):
        """The next JSON message (blank and invalid frames skipped), or None when closed."""
        while True:
            text = self.recv_text()
            if text is None:
                return None
            if not text.strip():
                continue
            try:
                return json.loads(text)
            except ValueError:
                continue

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self._send_frame(0x8, struct.pack(">H", 1000))
            except OSError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass
