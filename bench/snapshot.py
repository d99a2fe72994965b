#!/usr/bin/env python3
"""Snapshot benchmark (hopx-vmm, our kernel, the test /init waiting at a
prompt), all in one run on one host:

  cold boot     process start -> the guest's /init prompt ("ready for clone")
  create        PUT /snapshot/create duration (paused VM), state and memory
                file sizes (logical and on disk: the memory file is sparse)
  restore       new process start -> first vCPU entry (--boot-timings), and
                -> the guest's answer to a line typed at restore (its /init
                read it and printed 16 urandom bytes: guest code ran)
  overhead      VMM memory beyond guest RAM in a restored, running VM (from
                /proc/PID/smaps, every mapping but guest RAM): anonymous
                memory, and RSS including shared libraries' pages
  clones        1, 10 and 100 clones of one snapshot running side by side:
                total PSS (page cache shared through MAP_PRIVATE counts once)
                and the drop in MemAvailable

Medians over --runs. Writes build/bench/snapshot-<timestamp>.json.
usage: bench/snapshot.py [--runs N] [--clones 1,10,100]
"""
import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
from boot import host_info  # noqa: E402
from api import call  # noqa: E402

VMM = os.path.join(ROOT, "build/hopx-vmm")
KERNEL = os.path.join(ROOT, "build/guest/vmlinux")
INITRD = os.path.join(ROOT, "build/guest/test-initrd.cpio")
CMDLINE = "console=ttyS0 reboot=k panic=-1 hopx_clone=1"


def wait_line(path, pattern, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path, "rb") as f:
                if re.search(pattern.encode(), f.read()):
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.01)
    raise SystemExit("timeout waiting for %r in %s" % (pattern, path))


def meminfo_available():
    with open("/proc/meminfo") as f:
        return int(re.search(r"MemAvailable:\s+(\d+)", f.read()).group(1)) * 1024


def smaps(pid, guest_bytes):
    """(pss of everything, rss outside guest RAM, anonymous memory outside guest
    RAM) of PID, bytes. Anonymous memory (heap, stacks, rings, buffers) is
    what each VMM alone costs; the rest of its RSS is shared libraries'
    pages, shared by every VMM on the host."""
    pss = rss_other = priv_other = 0
    size = 0
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    a, b = line.split()[0].split("-")
                    size = int(b, 16) - int(a, 16)
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
                elif line.startswith("Rss:") and size != guest_bytes:
                    rss_other += int(line.split()[1]) * 1024
                elif line.startswith("Anonymous:") and size != guest_bytes:
                    priv_other += int(line.split()[1]) * 1024
    except OSError:
        pass
    return pss, rss_other, priv_other


def restore(tmp, state, mem, typed, timings=False):
    out = open(os.path.join(tmp, "restore-%d.out" % time.monotonic_ns()), "wb+")
    args = [VMM, "restore", "--state", state, "--mem", mem] + (["--boot-timings"] if timings else [])
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
    if typed:
        p.stdin.write(b"go\r")
        p.stdin.flush()
    return p, out, t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--clones", default="1,10,100")
    a = ap.parse_args()
    info = host_info()
    tmp = tempfile.mkdtemp(prefix="hopx-bench-snap-")
    api = os.path.join(tmp, "api.sock")
    boot_out = os.path.join(tmp, "boot.out")
    print("bench-snapshot: %s, %s cores, %s KVM" % (info["cpu"], info["cores"], info["kvm"]), flush=True)

    # Cold boot to the prompt, then snapshots of it.
    t0 = time.monotonic()
    vm = subprocess.Popen([VMM, "run", "--kernel", KERNEL, "--initrd", INITRD, "--cmdline", CMDLINE,
                           "--api-sock", api], stdin=subprocess.PIPE, stdout=open(boot_out, "wb"),
                          stderr=subprocess.STDOUT)
    cold = wait_line(boot_out, r"ready for clone", 300) - t0
    st, _ = call(api, "PATCH", "/vm", '{"state": "Paused"}')
    assert st == 204
    creates = []
    for i in range(5):
        state, mem = os.path.join(tmp, "state%d" % i), os.path.join(tmp, "mem%d" % i)
        c0 = time.monotonic()
        st, body = call(api, "PUT", "/snapshot/create", json.dumps({"snapshot_path": state, "mem_file_path": mem}))
        assert st == 204, body
        creates.append(time.monotonic() - c0)
    vm.kill()
    vm.wait()
    state, mem = os.path.join(tmp, "state0"), os.path.join(tmp, "mem0")
    sizes = {"state_bytes": os.path.getsize(state), "mem_bytes": os.path.getsize(mem),
             "mem_on_disk_bytes": os.stat(mem).st_blocks * 512}
    guest_bytes = sizes["mem_bytes"]
    print("cold boot to /init prompt: %.2f s; snapshot create median %.1f ms; state %d B, memory %d MiB "
          "(%.1f MiB on disk)" % (cold, 1e3 * statistics.median(creates), sizes["state_bytes"],
                                   guest_bytes >> 20, sizes["mem_on_disk_bytes"] / 2**20), flush=True)

    # Restores: to the first vCPU entry and to the guest's answer.
    entry, answer, overhead, private = [], [], [], []
    for i in range(a.runs):
        p, out, r0 = restore(tmp, state, mem, typed=False, timings=True)
        fname = out.name
        # Let it settle at the prompt, measure overhead, then type and time the answer.
        time.sleep(0.5)
        _, rss_other, priv_other = smaps(p.pid, guest_bytes)
        overhead.append(rss_other)
        private.append(priv_other)
        typed = time.monotonic()
        p.stdin.write(b"go\r")
        p.stdin.flush()
        answered = wait_line(fname, r"urandom [0-9a-f]{32}", 60)
        p.wait(timeout=120)
        text = open(fname, errors="replace").read()
        m = re.search(r"first vCPU entry\s+([\d.]+) ms", text)
        if m:
            entry.append(float(m.group(1)) / 1e3)
        answer.append(answered - typed)
    print("restore: new process -> first vCPU entry median %.1f ms (%d runs); typed line -> guest answer "
          "median %.1f ms" % (1e3 * statistics.median(entry), len(entry), 1e3 * statistics.median(answer)))
    print("VMM memory beyond guest RAM: anonymous %.2f MiB, RSS with shared libraries %.2f MiB (medians)" % (
        statistics.median(private) / 2**20, statistics.median(overhead) / 2**20), flush=True)

    # Clones side by side.
    clones = {}
    for n in [int(x) for x in a.clones.split(",")]:
        subprocess.run(["sync"])
        before = meminfo_available()
        procs = [restore(tmp, state, mem, typed=False)[0] for _ in range(n)]
        time.sleep(3 + n * 0.05)
        alive = sum(p.poll() is None for p in procs)
        pss = sum(smaps(p.pid, guest_bytes)[0] for p in procs)
        after = meminfo_available()
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
        clones[n] = {"alive": alive, "pss_bytes": pss, "memavailable_drop_bytes": before - after}
        print("%3d clones: %d running, total PSS %.1f MiB (%.2f MiB each), MemAvailable down %.1f MiB" % (
            n, alive, pss / 2**20, pss / 2**20 / n, (before - after) / 2**20), flush=True)

    report = {"host": info, "cold_boot_s": cold, "create_s": creates, "sizes": sizes, "restore_entry_s": entry,
              "restore_answer_s": answer, "overhead_rss_bytes": overhead, "overhead_anon_bytes": private, "clones": clones}
    os.makedirs(os.path.join(ROOT, "build/bench"), exist_ok=True)
    path = os.path.join(ROOT, "build/bench/snapshot-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
