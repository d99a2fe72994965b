#!/usr/bin/env python3
"""Host side of the Linux vsock integration test (see linux_devices.sh).

1. Guest-initiated: listen on UDS_6000 (hopx-vmm forwards the guest's
   connection to host port 6000 there) and expect the guest's hello.
2. Host-initiated: connect to UDS, send "CONNECT 5000\\n", expect "OK <port>\\n",
   send SIZE random bytes (more than one credit window) while reading the
   echo, and compare checksums.
Prints one "vsock-host: ..." line per step; exits 0 only if all passed.
"""
import hashlib
import os
import socket
import sys
import threading
import time

uds, size, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + timeout


def fail(msg):
    print("vsock-host: FAILED:", msg, flush=True)
    sys.exit(1)


lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
path = uds + "_6000"
if os.path.exists(path):
    os.unlink(path)
lst.bind(path)
lst.listen(1)
lst.settimeout(timeout)
try:
    conn, _ = lst.accept()
except socket.timeout:
    fail("the guest never connected to host port 6000")
conn.settimeout(30)
hello = b""
while True:
    d = conn.recv(4096)
    if not d:
        break
    hello += d
conn.close()
if hello != b"hello from the guest\n":
    fail("guest-initiated stream carried %r" % hello)
print("vsock-host: guest-initiated stream: ok (%r)" % hello, flush=True)

# The guest listens on 5000 right before connecting to us, so it is ready.
while True:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(uds)
    s.sendall(b"CONNECT 5000\n")
    line = b""
    while not line.endswith(b"\n"):
        d = s.recv(1)
        if not d:
            break
        line += d
    if line.startswith(b"OK "):
        break
    s.close()
    if time.monotonic() > deadline:
        fail("CONNECT 5000 never answered OK (last: %r)" % line)
    time.sleep(0.5)
print("vsock-host: host-initiated stream: %s" % line.decode().strip(), flush=True)

data = os.urandom(size)
got = bytearray()


def reader():
    while True:
        d = s.recv(65536)
        if not d:
            return
        got.extend(d)


t = threading.Thread(target=reader)
t.start()
s.sendall(data)
s.shutdown(socket.SHUT_WR)
t.join(timeout)
s.close()
if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
    fail("echo of %d bytes came back as %d bytes with another checksum" % (size, len(got)))
print("vsock-host: echo of %d bytes: ok (sha256 %s)" % (size, hashlib.sha256(data).hexdigest()[:16]), flush=True)
