#!/usr/bin/env python3
"""The guest torture suite (make soak-vm): one vm sandbox through a real
hopxd, driven by the Python SDK, takes a mix of requests four at a time --
python, bash and javascript runs, commands, file writes read back, background
processes, a stream, a terminal, the extended-state check
(tests/init/xstate.c, built with -mavx2 and, where the host has it,
-mavx512f) and the kernel check (tests/init/kernel-check.c: registers across
system calls and signals, kernel copies into fresh pages), running beside
everything else. Every answer is checked against
what it must be. Then the same after a pause and resume, and in a clone (a
second sandbox restored copy-on-write from the same template snapshot, run
alongside the first).

Zero failures allowed: the SDK's agent calls are never retried, nor are
hopxd's forwards to the agent, and the report also fails the run on a
worker the agent saw end on its own, or an error hopxd logged. It prints counts and median times
per kind, and writes them to build/soak/soak-vm-<time>.json.

usage: soak_vm.py [--build DIR] [--requests N] [--after N] [--seed S]
  --requests  requests in the first phase (500)
  --after     requests after pause/resume and in the clone, each (100)
Needs root and /dev/kvm (exit 77 without them).
"""
import argparse
import collections
import concurrent.futures
import json
import os
import random
import statistics
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "sdk/python"))
sys.path.insert(0, os.path.join(ROOT, "tests/orchestrator"))
import hopx  # noqa: E402
from hopx import Sandbox  # noqa: E402
from test_hopxd import Hopxd, KEY, config_for  # noqa: E402

SLOW = 600  # seconds any one request may take: four at a time in a guest whose kernel is emulated


class Mismatch(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise Mismatch("%s: got %r, want %r" % (what, got, want))


class Kinds:
    """One method per request kind; each checks its answer and raises on any
    difference. N makes every request's expected answer its own."""

    def __init__(self, sb, xstate_bins):
        self.sb, self.xstate_bins = sb, xstate_bins
        # Correctness is the point here; latency is reported (median, max).
        # Four at a time in a guest whose kernel is emulated, the agent can
        # take well over the SDK's 60 s to answer even a listing (README:
        # open bugs).
        sb._agent_client().timeout = SLOW

    def python(self, n):
        r = self.sb.run_code("import os\nprint(%d * 3, os.getcwd())" % n, timeout=SLOW)
        expect("python", (r.stdout, r.stderr, r.exit_code), ("%d /workspace\n" % (n * 3), "", 0))

    def bash(self, n):
        r = self.sb.run_code("echo $((%d + 1)) $PWD" % n, language="bash", timeout=SLOW)
        expect("bash", (r.stdout, r.exit_code), ("%d /workspace\n" % (n + 1), 0))

    def javascript(self, n):
        r = self.sb.run_code("console.log(%d * 2, [1, 2, 3].map(x => x * %d).join(','))" % (n, n),
                             language="javascript", timeout=SLOW)
        expect("javascript", (r.stdout, r.exit_code), ("%d %d,%d,%d\n" % (2 * n, n, 2 * n, 3 * n), 0))

    def command(self, n):
        r = self.sb.commands.run("printf '%%s\\n' %d | tr 0-9 a-j; exit %d" % (n, n % 3), timeout=SLOW)
        want = str(n).translate(str.maketrans("0123456789", "abcdefghij")) + "\n"
        expect("command", (r.stdout, r.exit_code), (want, n % 3))

    def files(self, n):
        rnd = random.Random(n)
        data = bytes(rnd.getrandbits(8) for _ in range(rnd.choice([1, 100, 4096, 65537])))
        path = "/workspace/soak/f%d.bin" % n
        self.sb.files.write(path, data)
        expect("file read back", self.sb.files.read_bytes(path), data)
        self.sb.files.remove(path)

    def background(self, n):
        p = self.sb.run_code_background("print('bg-%d')" % n, name="soak-%d" % n, timeout=SLOW, request_timeout=SLOW)
        deadline = time.monotonic() + SLOW
        while time.monotonic() < deadline:
            st = [x for x in self.sb.list_processes() if x["process_id"] == p["process_id"]]
            if not st:
                raise Mismatch("background: %s not listed" % p["process_id"])
            if st[0]["status"] != "running":
                expect("background", (st[0]["status"], st[0].get("exit_code"), st[0].get("stdout")),
                       ("completed", 0, "bg-%d\n" % n))
                return
            time.sleep(2)
        raise Mismatch("background: still running after %d s" % SLOW)

    def stream(self, n):
        frames = list(self.sb.run_code_stream("print(%d)\nprint('x' * 3)" % n, timeout=SLOW))
        out = "".join(f.get("data", "") for f in frames if f["type"] == "stdout")
        if out != "%d\nxxx\n" % n or not frames or frames[-1] != {"type": "complete", "success": True}:
            raise Mismatch("stream: frames %r" % frames[-6:])

    def terminal(self, n):
        with self.sb.terminal as t:
            t.ws.set_timeout(SLOW)
            t.send_input("echo term-$((%d + 1)); exit 7\n" % n)
            out, it, code = "", t.output(), None
            try:
                while True:
                    out += next(it)
            except StopIteration as stop:
                code = stop.value
        if "term-%d" % (n + 1) not in out:
            raise Mismatch("terminal: no term-%d in %r" % (n + 1, out[-300:]))
        expect("terminal exit code", code, 7)

    def kernel(self, n):
        r = self.sb.commands.run("/workspace/kernel-check 200", timeout=SLOW)
        if r.exit_code != 0 or not r.stdout.endswith("hopx-kcheck: ok\n"):
            raise Mismatch("kernel-check: exit %d\n%s%s" % (r.exit_code, r.stdout, r.stderr))

    def xstate(self, n):
        for name in self.xstate_bins:
            r = self.sb.commands.run("/workspace/%s 20 3" % name, timeout=SLOW)
            if r.exit_code != 0 or "across 3 processes: ok" not in r.stdout:
                raise Mismatch("%s: exit %d\n%s%s" % (name, r.exit_code, r.stdout, r.stderr))


# Weights: how many of every 20 requests are of each kind.
MIX = [("python", 5), ("files", 4), ("bash", 3), ("javascript", 2), ("command", 2), ("background", 1),
       ("stream", 1), ("terminal", 1), ("xstate", 1), ("kernel", 1)]


def plan(count, rnd):
    """COUNT kinds in random order: one of each first (so a small run still
    has every kind), the rest by MIX's weights."""
    bag = [k for k, w in MIX for _ in range(w)]
    kinds = [k for k, _ in MIX][:count]
    kinds += [bag[i % len(bag)] for i in range(count - len(kinds))]
    rnd.shuffle(kinds)
    return kinds


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = collections.Counter()
        self.failed = collections.Counter()
        self.ms = collections.defaultdict(list)
        self.failures = []

    def attempt(self, phase, kind, n, call):
        """Run CALL, timed; a Mismatch or any SDK error (HTTP status, network,
        timeout) counts as a failure of KIND."""
        t = time.monotonic()
        err = None
        try:
            call()
        except Mismatch as e:
            err = str(e)
        except Exception:
            err = traceback.format_exc(limit=2)
        with self.lock:
            (self.failed if err else self.ok)[kind] += 1
            self.ms[kind].append(1e3 * (time.monotonic() - t))
            if err:
                self.failures.append({"phase": phase, "kind": kind, "n": n, "error": err})
                print("FAIL %s %s #%d: %s" % (phase, kind, n, err.splitlines()[-1][:300]), flush=True)


def run_phase(phase, kinds_obj, count, rnd, tally, workers=4):
    # Each request's number drawn here, in order, so a seed gives the same run.
    todo = [(kind, rnd.randrange(1, 10 ** 6) * 10 + i % 10) for i, kind in enumerate(plan(count, rnd))]
    done = [0]
    t0 = time.monotonic()

    def one(kind, n):
        tally.attempt(phase, kind, n, lambda: getattr(kinds_obj, kind)(n))
        with tally.lock:
            done[0] += 1
            if done[0] % 25 == 0 or done[0] == count:
                print("  %s: %d/%d requests, %.0f s" % (phase, done[0], count, time.monotonic() - t0), flush=True)

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        list(ex.map(lambda a: one(*a), todo))


def prepare(sb, bins):
    """The checks' binaries into the sandbox, and the directory the file requests use."""
    sb.files.mkdir("/workspace/soak")
    for name in bins + ["kernel-check"]:
        with open(os.path.join(ROOT, "build/guest", name), "rb") as f:
            sb.files.write("/workspace/" + name, f.read(), mode="0755")


def numpy_check(sb, phase, tally):
    """numpy's AVX paths (the guest kernel offers AVX now) give exact answers."""
    def check():
        r = sb.run_code("import numpy as np\na = np.arange(1, 200001, dtype=np.float64)\n"
                        "print(int(a.sum()), int((a * a).sum()), int(np.dot(a[:1000], a[:1000])))", timeout=SLOW)
        n = 200000
        want = "%d %d %d\n" % (n * (n + 1) // 2, n * (n + 1) * (2 * n + 1) // 6, 1000 * 1001 * 2001 // 6)
        expect("numpy", (r.stdout, r.exit_code), (want, 0))

    tally.attempt(phase, "numpy", 0, check)


def worker_ends(d, sandbox_id):
    """Lines where the agent saw a worker end on its own, or no answer from one."""
    path = os.path.join(d.state, "sandboxes", sandbox_id, "console.log")
    try:
        with open(path, errors="replace") as f:
            return [ln.strip() for ln in f if "hopx-agent:" in ln and ("worker" in ln or "heap" in ln)]
    except OSError:
        return []


def xstate_bins():
    bins = ["xstate-check-avx2"]
    with open("/proc/cpuinfo") as f:
        if " avx512f" in f.read():
            bins.append("xstate-check-avx512f")
    return bins


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--after", type=int, default=100)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()
    if os.geteuid() != 0 or not os.path.exists("/dev/kvm"):
        print("SKIP: soak-vm needs root and /dev/kvm")
        return 77
    print("soak-vm: seed %d, %d requests, then %d after pause/resume and %d in a clone, 4 at a time" %
          (a.seed, a.requests, a.after, a.after), flush=True)
    rnd = random.Random(a.seed)
    bins = xstate_bins()
    tally = Tally()
    d = Hopxd(a.build, "vm", config_for(a.build, "vm"))
    d.start()
    notes, ids = [], []
    t0 = time.monotonic()
    try:
        d.wait_templates(1800)
        kw = {"api_key": KEY, "base_url": d.url}
        sb = Sandbox.create(template="code-interpreter", timeout_seconds=24 * 3600, **kw)
        ids.append(sb.sandbox_id)
        prepare(sb, bins)
        numpy_check(sb, "start", tally)
        k = Kinds(sb, bins)
        k.xstate(0)
        run_phase("first", k, a.requests, rnd, tally)
        numpy_check(sb, "first", tally)

        sb.pause()
        expect("status after pause", sb.get_info().status, "paused")
        sb.resume()
        run_phase("resumed", k, a.after, rnd, tally)
        numpy_check(sb, "resumed", tally)

        clone = Sandbox.create(template="code-interpreter", timeout_seconds=24 * 3600, **kw)
        ids.append(clone.sandbox_id)
        prepare(clone, bins)
        run_phase("clone", Kinds(clone, bins), a.after, rnd, tally)
        numpy_check(clone, "clone", tally)
        for i in ids:
            notes += ["%s: %s" % (i, ln) for ln in worker_ends(d, i)]
        clone.kill()
        sb.kill()
    except Exception:
        tally.failures.append({"phase": "setup", "kind": "-", "n": 0, "error": traceback.format_exc()})
        print(traceback.format_exc(), flush=True)
    finally:
        d.cleanup()
    log = d.logged
    errors = [ln for ln in log.splitlines() if '"level":"error"' in ln or "Sanitizer" in ln]

    print("\nsoak-vm report (%.0f s, seed %d)" % (time.monotonic() - t0, a.seed))
    print("%-11s %6s %6s %10s %10s" % ("kind", "ok", "failed", "median ms", "max ms"))
    kinds = sorted(set(tally.ok) | set(tally.failed))
    for kind in kinds:
        print("%-11s %6d %6d %10.0f %10.0f" % (kind, tally.ok[kind], tally.failed[kind],
                                               statistics.median(tally.ms[kind]), max(tally.ms[kind])))
    print("%-11s %6d %6d" % ("all", sum(tally.ok.values()), sum(tally.failed.values())))
    print("agent worker ends (console): %d" % len(notes))
    for ln in notes:
        print("  " + ln)
    print("hopxd error lines: %d" % len(errors))
    for ln in errors[:20]:
        print("  " + ln[:300])
    for f in tally.failures:
        print("--- %s %s #%d:\n%s" % (f["phase"], f["kind"], f["n"], f["error"]))
    out = os.path.join(ROOT, "build/soak")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "soak-vm-%d.json" % int(time.time())), "w") as f:
        json.dump({"seed": a.seed, "requests": a.requests, "after": a.after,
                   "ok": tally.ok, "failed": tally.failed,
                   "median_ms": {k: statistics.median(v) for k, v in tally.ms.items()},
                   "max_ms": {k: max(v) for k, v in tally.ms.items()},
                   "failures": tally.failures, "worker_ends": notes, "errors": errors}, f,
                  indent=1)
    if tally.failures or notes or errors:
        print("soak-vm: FAILED")
        return 1
    print("soak-vm: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
