#!/usr/bin/env python3
"""The lifecycle soak (make soak): on each runtime, a real hopxd driven by
the Python SDK runs CYCLES create -> run code -> kill cycles (every other
sandbox with internet access, so with a veth pair and egress rules), then
PAUSES pause -> run -> resume -> run cycles on one sandbox. Before the first
measured cycle (after one warm-up, which makes what is made once per hopxd:
the template snapshot, the egress table, cgroup parents) and after the last,
it counts what a sandbox leaves on the host if its teardown misses
something, and fails unless each count is back where it was (and unless a
live sandbox shows in those counts, so they can see one):

  hopxd's open file descriptors and its RSS (flat: within RSS_SLACK_KIB),
  network links (TAP, veth), hopx cgroups, mounts, attached loop devices,
  socket files and files under the state directory's sandboxes/, the
  registry's sandbox and token rows, hopx-vmm and hopx-jail processes.

The report prints each count before and after, and the cycles' median times.

usage: soak_lifecycle.py [--build DIR] [--runtimes namespace,vm] [--cycles N] [--pauses N]
Needs root (exit 77 without it; the vm runtime is skipped without /dev/kvm).
"""
import argparse
import glob
import os
import sqlite3
import statistics
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "sdk/python"))
sys.path.insert(0, os.path.join(ROOT, "tests/orchestrator"))
from hopx import Sandbox  # noqa: E402
from test_hopxd import Hopxd, KEY, config_for  # noqa: E402

RSS_SLACK_KIB = 4096


def count_files(top, sockets_only=False):
    n = 0
    for dirpath, dirnames, filenames in os.walk(top):
        for name in filenames + ([] if sockets_only else dirnames):
            p = os.path.join(dirpath, name)
            try:
                if not sockets_only or (os.lstat(p).st_mode & 0o170000) == 0o140000:
                    n += 1
            except OSError:
                pass
    return n


def procs_named(*names):
    n = 0
    for p in glob.glob("/proc/[0-9]*/comm"):
        try:
            with open(p) as f:
                if f.read().strip() in names:
                    n += 1
        except OSError:
            pass
    return n


def host_counts(d):
    pid = d.proc.pid
    with open("/proc/%d/status" % pid) as f:
        rss = int([ln for ln in f if ln.startswith("VmRSS:")][0].split()[1])
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()
    with open("/proc/self/mounts") as f:
        mounts = f.read().splitlines()
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.state, "hopxd.db"), uri=True)
    try:
        rows = db.execute("SELECT (SELECT count(*) FROM sandboxes), (SELECT count(*) FROM tokens)").fetchone()
    finally:
        db.close()
    return {
        "hopxd fds": len(os.listdir("/proc/%d/fd" % pid)),
        "hopxd rss KiB": rss,
        "network links": len(links),
        "veth hx*": sum(1 for ln in links if ln.split(": ")[1].startswith("hx")),
        "hopx cgroups": len(glob.glob("/sys/fs/cgroup/*/hopx/*/")) + len(glob.glob("/sys/fs/cgroup/hopx/*/")),
        "mounts": len(mounts),
        "loop devices": len(glob.glob("/sys/block/loop*/loop/backing_file")),
        "socket files": count_files(d.state, sockets_only=True),
        "sandbox files": count_files(os.path.join(d.state, "sandboxes")),
        "registry sandboxes": rows[0],
        "registry tokens": rows[1],
        "vmm/jail processes": procs_named("hopx-vmm", "hopx-jail"),
    }


def check_run(sb, n):
    r = sb.run_code("print(%d + 1)" % n, timeout=600)
    if (r.stdout, r.exit_code) != ("%d\n" % (n + 1), 0):
        raise AssertionError("run %d: %r %r %r" % (n, r.stdout, r.stderr, r.exit_code))


def soak_runtime(build, runtime, cycles, pauses):
    d = Hopxd(build, runtime, config_for(build, runtime))
    d.start()
    times = {"create": [], "run": [], "kill": [], "pause": [], "resume": []}
    failures = []

    def timed(what, fn):
        t = time.monotonic()
        v = fn()
        times[what].append(time.monotonic() - t)
        return v

    def cycle(i):
        sb = timed("create", lambda: Sandbox.create(template="code-interpreter", internet_access=bool(i % 2),
                                                    api_key=KEY, base_url=d.url))
        try:
            timed("run", lambda: check_run(sb, i))
        finally:
            timed("kill", sb.kill)

    try:
        if runtime == "vm":
            d.wait_templates(1800)
        cycle(0)  # warm-up: what hopxd makes once stays
        time.sleep(1)
        before = host_counts(d)
        # One sandbox alive (with internet access): the counts must see it,
        # or they could not see one left behind either.
        sb = Sandbox.create(template="code-interpreter", internet_access=True, api_key=KEY, base_url=d.url)
        check_run(sb, 0)
        during = host_counts(d)
        sb.kill()
        time.sleep(1)
        for i in range(1, cycles + 1):
            try:
                cycle(i)
            except Exception:
                failures.append("cycle %d: %s" % (i, traceback.format_exc(limit=3)))
                print("FAIL " + failures[-1], flush=True)
            if i % 10 == 0 or i == cycles:
                print("  %s: %d/%d cycles" % (runtime, i, cycles), flush=True)
        if pauses:
            sb = Sandbox.create(template="code-interpreter", api_key=KEY, base_url=d.url)
            try:
                for i in range(1, pauses + 1):
                    try:
                        timed("pause", sb.pause)
                        if sb.get_info().status != "paused":
                            raise AssertionError("not paused after pause")
                        timed("resume", sb.resume)
                        check_run(sb, 1000 + i)
                    except Exception:
                        failures.append("pause/resume %d: %s" % (i, traceback.format_exc(limit=3)))
                        print("FAIL " + failures[-1], flush=True)
                        break
                    if i % 10 == 0 or i == pauses:
                        print("  %s: %d/%d pause/resume cycles" % (runtime, i, pauses), flush=True)
            finally:
                sb.kill()
        time.sleep(2)  # hopxd reaps what it killed asynchronously
        after = host_counts(d)
    finally:
        d.cleanup()
    leaks = []
    print("\n%s: %d create/run/kill cycles, %d pause/resume cycles" % (runtime, cycles, pauses))
    print("  %-20s %10s %14s %10s" % ("count", "before", "one sandbox", "after"))
    for k in before:
        b, a = before[k], after[k]
        grew = a > b + RSS_SLACK_KIB if k == "hopxd rss KiB" else a != b
        print("  %-20s %10d %14d %10d%s" % (k, b, during[k], a, "   LEAK" if grew else ""))
        if grew:
            leaks.append("%s: %s %d -> %d" % (runtime, k, b, a))
    # What every sandbox has while it runs; the probes are blind if not.
    seen = ["hopxd fds", "hopx cgroups", "socket files", "sandbox files", "registry sandboxes", "registry tokens",
            "veth hx*"] + (["vmm/jail processes"] if runtime == "vm" else [])
    for k in seen:
        if during[k] <= before[k]:
            failures.append("%s: a live sandbox did not show in %r (%d, before %d)" % (runtime, k, during[k], before[k]))
    for k, v in times.items():
        if v:
            print("  median %-8s %8.2f s (%d)" % (k, statistics.median(v), len(v)))
    log = d.logged
    errors = [ln for ln in log.splitlines() if '"level":"error"' in ln or "Sanitizer" in ln]
    for ln in errors[:20]:
        print("  hopxd: " + ln[:300])
    if errors or any(d.exit_codes):
        failures.append("%s: hopxd logged %d errors, exit codes %s" % (runtime, len(errors), d.exit_codes))
    return failures + leaks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runtimes", default="namespace,vm")
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--pauses", type=int, default=50)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: the lifecycle soak needs root")
        return 77
    problems = []
    for rt in a.runtimes.split(","):
        if rt == "vm" and not os.path.exists("/dev/kvm"):
            print("SKIP: the vm runtime needs /dev/kvm")
            continue
        try:
            problems += soak_runtime(os.path.abspath(a.build), rt, a.cycles, a.pauses)
        except Exception:
            problems.append("%s: %s" % (rt, traceback.format_exc()))
    for p in problems:
        print("PROBLEM " + p)
    print("soak: " + ("FAILED" if problems else "PASS"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
