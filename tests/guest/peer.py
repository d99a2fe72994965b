#!/usr/bin/env python3
"""Host side of the test guest's scenarios (tests/guest/).

  peer.py mkdisk PATH MIB        write a disk image filled with blk_pattern
  peer.py checkdisk PATH         check the sectors the guest wrote (16..23, 32..39)
  peer.py serve UDS [--tap IF] [--seconds N] [--bench]
      vsock: UDS_7000 echo, UDS_7001 CRC32 sink (or timing sink with --bench),
      UDS_7002 "ready" then CONNECT 8000 through UDS and check the echo;
      net (with --tap, run inside the TAP's namespace): wait for the guest's
      0x88b5 frame, answer with one to its MAC.
Prints "peer: ..." lines; exits 0 when every host-side check passed.
"""
import os
import socket
import struct
import sys
import threading
import time
import zlib

GOLD = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1


def pattern_bytes(first_word, nwords, xor=0):
    return struct.pack("<%dQ" % nwords, *[(((w + 1) * GOLD) & MASK) ^ xor for w in range(first_word, first_word + nwords)])


def mkdisk(path, mib):
    with open(path, "wb") as f:
        words = (mib << 20) // 8
        step = 1 << 16
        for w in range(0, words, step):
            f.write(pattern_bytes(w, min(step, words - w)))


def checkdisk(path):
    with open(path, "rb") as f:
        f.seek(16 * 512)
        wrote = f.read(4096)
        f.seek(32 * 512)
        discarded = f.read(4096)
        f.seek(0)
        first = f.read(4096)
    ok = True
    if wrote != pattern_bytes(16 * 64, 512, MASK):
        print("peer: FAILED: sectors 16..23 do not hold what the guest wrote")
        ok = False
    if discarded != bytes(4096):
        print("peer: FAILED: discarded sectors 32..39 do not read as zeroes")
        ok = False
    if first != pattern_bytes(0, 512):
        print("peer: FAILED: sector 0..7 changed")
        ok = False
    if ok:
        print("peer: disk image holds the guest's write and discard")
    return ok


results = {}
lock = threading.Lock()


def note(key, ok, msg):
    with lock:
        results[key] = ok
        print("peer: %s: %s" % (key, msg), flush=True)


def listener(path):
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    return s


def echo_server(path):
    lst = listener(path)
    while True:
        c, _ = lst.accept()

        def run(c=c):
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.close()
        threading.Thread(target=run, daemon=True).start()


def guest_block():
    """The test guest's 64 KiB xorshift64* block (seed 7), as vsock.c makes it."""
    x, out = 7, bytearray()
    for _ in range(65536 // 8):
        x ^= x >> 12
        x = (x ^ (x << 25)) & MASK
        x ^= x >> 27
        out += struct.pack("<Q", (x * 0x2545F4914F6CDD1D) & MASK)
    return bytes(out)


def expected_crc(n):
    block, crc, done = guest_block(), 0, 0
    while done < n:
        part = block[:min(len(block), n - done)]
        crc = zlib.crc32(part, crc)
        done += len(part)
    return crc


def sink_server(path, bench):
    lst = listener(path)
    while True:
        c, _ = lst.accept()
        crc, n, t0 = 0, 0, None
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            if t0 is None:
                t0 = time.monotonic()
            crc = zlib.crc32(d, crc)
            n += len(d)
        dt = time.monotonic() - (t0 or time.monotonic())
        if bench:
            c.sendall(b"ok %d\n" % n)
            c.close()
            print("peer: BENCH vsock-tx bytes=%d seconds=%.6f" % (n, dt), flush=True)
            continue
        want = expected_crc(n)
        c.sendall(b"ok %d\n" % n if crc == want else b"crc mismatch %x != %x\n" % (crc, want))
        c.close()
        note("vsock-large-transfer", crc == want, "received %d bytes, crc32 %08x (expected %08x)" % (n, crc, want))


def host_connect(uds):
    lst = listener(uds + "_7002")
    c, _ = lst.accept()  # the guest says it is ready for CONNECT 8000
    while c.recv(4096):
        pass
    c.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(uds)
    s.sendall(b"CONNECT 8000\n")
    line = b""
    while not line.endswith(b"\n"):
        d = s.recv(1)
        if not d:
            break
        line += d
    if not line.startswith(b"OK "):
        note("vsock-host-connect", False, "FAILED: CONNECT 8000 answered %r" % line)
        return
    data = os.urandom(100000)
    got = bytearray()

    def reader():
        while len(got) < len(data):
            d = s.recv(65536)
            if not d:
                break
            got.extend(d)
    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    t.join(60)
    s.close()
    ok = bytes(got) == data
    note("vsock-host-connect", ok, ("echo of %d bytes matches" % len(data)) if ok else
         "FAILED: echo of %d bytes came back as %d bytes" % (len(data), len(got)))


def net_peer(tap):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88B5))
    s.bind((tap, 0))
    s.settimeout(120)
    while True:
        f = s.recv(2048)
        if f[12:14] == b"\x88\xb5" and f[14:25] == b"hopx-net-tx":
            break
    guest_mac = f[6:12]
    note("net-tx-seen", True, "frame from %s on %s" % (guest_mac.hex(":"), tap))
    reply = guest_mac + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"hopx-net-rx" + bytes(49)
    for _ in range(20):  # until the guest is done (it ignores repeats)
        s.send(reply)
        time.sleep(0.5)


def serve(args):
    uds = args[0]
    tap = args[args.index("--tap") + 1] if "--tap" in args else None
    seconds = float(args[args.index("--seconds") + 1]) if "--seconds" in args else 300
    bench = "--bench" in args
    threads = [threading.Thread(target=sink_server, args=(uds + "_7001", bench), daemon=True)]
    if not bench:
        threads.append(threading.Thread(target=echo_server, args=(uds + "_7000",), daemon=True))
        threads.append(threading.Thread(target=host_connect, args=(uds,), daemon=True))
    if tap:
        threads.append(threading.Thread(target=net_peer, args=(tap,), daemon=True))
    for t in threads:
        t.start()
    # Run until killed or the time is up; exit status from what was seen.
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            time.sleep(0.2)
            if os.path.exists(uds + ".done"):
                break
    except KeyboardInterrupt:
        pass
    return all(results.values())


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "mkdisk":
        mkdisk(sys.argv[2], int(sys.argv[3]))
    elif cmd == "checkdisk":
        sys.exit(0 if checkdisk(sys.argv[2]) else 1)
    elif cmd == "serve":
        sys.exit(0 if serve(sys.argv[2:]) else 1)
    else:
        sys.exit("usage: see the docstring")
