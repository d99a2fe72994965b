#!/usr/bin/env python3
"""Device I/O benchmark: hopx-vmm against QEMU's microvm, both running the
same freestanding test guest (tests/guest/, hopxguest.run=bench), same
machine, alternating runs.

Measured per run (the guest prints "BENCH <name> start|end" on its serial
port; the host timestamps those lines as they arrive):
  blk-seq-read      sequential reads, 128 KiB requests, 16 in flight (MiB/s)
  blk-rand-read-4k  random 4 KiB reads, 16 in flight (IOPS)
  vsock-tx          guest -> host stream into a Unix socket (MiB/s, timed by
                    the host from first byte to EOF)
QEMU uses its own virtio-mmio devices (modern, force-legacy=false) and
vhost-vsock where /dev/vhost-vsock exists; where it does not, its vsock column
says so. Prints medians, spread and hopx/QEMU ratios; writes every run to
build/bench/io-<timestamp>.json.

usage: bench/io.py [--runs N] [--blk-mib M] [--rand-ops N] [--vsock-mib M]
"""
import argparse
import json
import os
import re
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from boot import host_info  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timed_lines(cmd, timeout):
    """Run CMD; return ([(t, line)], exit status) with arrival times of stdout lines."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    lines, buf, end = [], b"", time.monotonic() + timeout
    while time.monotonic() < end:
        if not sel.select(timeout=1):
            if p.poll() is not None:
                break
            continue
        chunk = os.read(p.stdout.fileno(), 65536)
        now = time.monotonic()
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            lines.append((now, line.decode(errors="replace")))
    if p.poll() is None:
        p.kill()
    p.wait()
    return lines, p.returncode


def parse(lines):
    """{name: (seconds, bytes, ops, errors)} from BENCH start/end lines."""
    starts, out = {}, {}
    for t, line in lines:
        m = re.search(r"BENCH (\S+) start", line)
        if m:
            starts[m.group(1)] = t
        m = re.search(r"BENCH (\S+) end (.*)", line)
        if m and m.group(1) in starts:
            kv = dict(x.split("=") for x in m.group(2).split())
            out[m.group(1)] = (t - starts[m.group(1)], int(kv.get("bytes", 0)), int(kv.get("ops", 0)),
                               int(kv.get("errors", 0)))
    return out


def cmdline(a):
    return ("console=ttyS0 hopxguest.run=bench hopxguest.blk_mib=%d hopxguest.rand_ops=%d "
            "hopxguest.vsock_mib=%d" % (a.blk_mib, a.rand_ops, a.vsock_mib))


def run_hopx(a, disk, tmp):
    uds = os.path.join(tmp, "v.sock")
    if os.path.exists(uds + ".done"):
        os.unlink(uds + ".done")
    peer = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/guest/peer.py"), "serve", uds, "--bench",
                             "--seconds", str(a.timeout)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    lines, rc = timed_lines([a.vmm, "run", "--kernel", a.guest, "--drive", "path=%s" % disk,
                             "--vsock", "cid=9,uds=%s" % uds, "--cmdline", cmdline(a)], a.timeout)
    open(uds + ".done", "w").close()
    pout = peer.communicate(timeout=30)[0]
    res = parse(lines)
    m = re.search(r"BENCH vsock-tx bytes=(\d+) seconds=([\d.]+)", pout)
    if m and "vsock-tx" in res:
        res["vsock-tx"] = (float(m.group(2)), int(m.group(1)), 0, res["vsock-tx"][3])
    return res, rc, lines


def run_qemu(a, disk, tmp):
    cmd = [a.qemu, "-M", "microvm,x-option-roms=off,rtc=off,pit=on,pic=off,isa-serial=on,ioapic2=off,acpi=off",
           "-global", "virtio-mmio.force-legacy=false", "-enable-kvm", "-m", "128", "-nographic", "-nodefaults",
           "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4", "-kernel", a.guest,
           "-drive", "file=%s,format=raw,if=none,id=d0" % disk, "-device", "virtio-blk-device,drive=d0"]
    qa = argparse.Namespace(**vars(a))
    if not os.path.exists("/dev/vhost-vsock"):
        qa.vsock_mib = 0
    else:
        cmd += ["-device", "vhost-vsock-device,guest-cid=9"]
    lines, rc = timed_lines(cmd + ["-append", cmdline(qa)], a.timeout)
    return parse(lines), rc, lines


def summary(runs, name, unit):
    vals = []
    for r in runs:
        if name in r and r[name][0] > 0 and not r[name][3]:
            secs, nbytes, ops, _ = r[name]
            vals.append(ops / secs if unit == "IOPS" else nbytes / secs / (1 << 20))
    return vals


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--blk-mib", type=int, default=256)
    ap.add_argument("--rand-ops", type=int, default=20000)
    ap.add_argument("--vsock-mib", type=int, default=256)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--vmm", default=os.path.join(ROOT, "build/hopx-vmm"))
    ap.add_argument("--guest", default=os.path.join(ROOT, "build/guest/test-guest.elf"))
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64") or "qemu-system-x86_64")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="hopx-bench-io-")
    disk = os.path.join(tmp, "disk.img")
    with open(disk, "wb") as f:
        for _ in range(a.blk_mib + 1):
            f.write(os.urandom(1 << 20))
    info = host_info()
    print("bench-io: %s, %s cores, %s KVM; %d runs each, alternating" % (info["cpu"], info["cores"], info["kvm"],
                                                                         a.runs), flush=True)
    runs = {"hopx": [], "qemu": []}
    notes = {"hopx": [], "qemu": []}
    for i in range(a.runs):
        for side, fn in (("hopx", run_hopx), ("qemu", run_qemu)):
            res, rc, lines = fn(a, disk, tmp)
            runs[side].append(res)
            if not res:
                notes[side].append("run %d: exit %s, no BENCH lines; last: %s" % (
                    i, rc, lines[-1][1] if lines else "(no output)"))
            print("  run %d %-4s %s" % (i, side, " ".join("%s=%.2fs" % (k, v[0]) for k, v in sorted(res.items()))),
                  flush=True)
    rows = [("blk-seq-read", "MiB/s"), ("blk-rand-read-4k", "IOPS"), ("vsock-tx", "MiB/s")]
    report = {"host": info, "args": vars(a), "runs": runs, "notes": notes, "summary": {}}
    print("\n%-18s %6s %14s %14s %8s" % ("", "unit", "hopx median", "QEMU median", "ratio"))
    for name, unit in rows:
        h, q = summary(runs["hopx"], name, unit), summary(runs["qemu"], name, unit)
        hm = statistics.median(h) if h else None
        qm = statistics.median(q) if q else None
        ratio = hm / qm if hm and qm else None
        report["summary"][name] = {"unit": unit, "hopx": h, "qemu": q, "hopx_median": hm, "qemu_median": qm,
                                   "ratio": ratio}
        print("%-18s %6s %14s %14s %8s" % (name, unit, "%.1f (%d)" % (hm, len(h)) if hm else "n/a",
                                           "%.1f (%d)" % (qm, len(q)) if qm else "n/a",
                                           "%.2f" % ratio if ratio else "n/a"))
    if not os.path.exists("/dev/vhost-vsock"):
        print("QEMU vsock: n/a (no /dev/vhost-vsock on this host: vhost_vsock module not loaded/available)")
    for side in notes:
        for n in notes[side]:
            print("%s: %s" % (side, n))
    os.makedirs(os.path.join(ROOT, "build/bench"), exist_ok=True)
    out = os.path.join(ROOT, "build/bench/io-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
    print("wrote", out)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
