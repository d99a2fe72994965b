#!/usr/bin/env python3
"""Sandbox benchmark: a real hopxd (state in a temporary directory), driven
by the Python SDK, per runtime given:
  create -> first run_code("print(1)") result: latency of each step and of
  the two together, median over --runs (each sandbox killed after);
  sandboxes per second: --burst creates at once from --burst threads, timed
  until all answered, then all killed.
Writes build/bench/sandbox-<timestamp>.json. Needs root.
usage: bench/sandbox.py [--runs N] [--burst N] [--runtime namespace|vm ...]   (default: both where KVM is)
"""
import argparse
import concurrent.futures
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "sdk/python"))
sys.path.insert(0, os.path.join(ROOT, "tests/orchestrator"))
from boot import host_info  # noqa: E402
from hopx import Sandbox  # noqa: E402
import test_hopxd  # noqa: E402  (its Hopxd runner)


def bench_runtime(runtime, runs, burst):
    build = os.path.join(ROOT, "build")
    config = test_hopxd.config_for(build, runtime)
    config["max_sandboxes"] = burst + 4
    d = test_hopxd.Hopxd(build, runtime, config)
    d.start()
    if runtime == "vm":
        d.wait_templates(1800)
    kw = {"api_key": test_hopxd.KEY, "base_url": d.url}
    out = {"create_s": [], "first_run_s": [], "create_to_result_s": [], "kill_s": []}
    try:
        Sandbox.create(template="code-interpreter", **kw).kill()  # warm the page cache
        for _ in range(runs):
            t0 = time.monotonic()
            sb = Sandbox.create(template="code-interpreter", **kw)
            t1 = time.monotonic()
            r = sb.run_code("print(1)")
            t2 = time.monotonic()
            assert r.stdout == "1\n", r
            sb.kill()
            t3 = time.monotonic()
            out["create_s"].append(t1 - t0)
            out["first_run_s"].append(t2 - t1)
            out["create_to_result_s"].append(t2 - t0)
            out["kill_s"].append(t3 - t2)
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(burst) as pool:
            sbs = list(pool.map(lambda _: Sandbox.create(template="code-interpreter", **kw), range(burst)))
        out["burst"] = burst
        out["burst_s"] = time.monotonic() - t0
        out["sandboxes_per_s"] = burst / out["burst_s"]
        with concurrent.futures.ThreadPoolExecutor(burst) as pool:
            list(pool.map(lambda sb: sb.kill(), sbs))
    finally:
        d.cleanup()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--burst", type=int, default=10)
    ap.add_argument("--runtime", action="append")
    a = ap.parse_args()
    info = host_info()
    print("bench-sandbox: %s, %s cores; %d runs, medians; burst of %d" % (info["cpu"], info["cores"], a.runs, a.burst))
    results = {}
    runtimes = a.runtime or (["namespace", "vm"] if os.access("/dev/kvm", os.W_OK) else ["namespace"])
    for runtime in runtimes:
        r = results[runtime] = bench_runtime(runtime, a.runs, a.burst)
        med = {k: statistics.median(v) for k, v in r.items() if isinstance(v, list)}
        print("  %-10s create %6.1f ms   first run_code %6.1f ms   create->result %6.1f ms   kill %6.1f ms" %
              (runtime, 1e3 * med["create_s"], 1e3 * med["first_run_s"], 1e3 * med["create_to_result_s"],
               1e3 * med["kill_s"]))
        print("  %-10s %d creates at once: %.2f s, %.1f sandboxes/s" %
              (runtime, r["burst"], r["burst_s"], r["sandboxes_per_s"]))
    os.makedirs(os.path.join(ROOT, "build/bench"), exist_ok=True)
    path = os.path.join(ROOT, "build/bench/sandbox-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        json.dump({"host": info, "runs": a.runs, "results": results}, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
