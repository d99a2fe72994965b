#!/usr/bin/env python3
"""Per-request cost on the vm runtime: a real hopxd (state in a temporary
directory) and one code-interpreter sandbox, driven by the Python SDK; for
each request kind, wall time and the sandbox VMM's own counters around it
(GET /metrics on its control socket: KVM exits, exits to hopx-vmm, PVM
fix-ups, XSAVE/XRSTOR among them). Counts, not wall time, are the figure of
merit on software-KVM hosts. Writes build/bench/requests-<timestamp>.json.
Needs root and /dev/kvm.
usage: bench/requests.py [--runs N] [--build DIR]
"""
import argparse
import glob
import http.client
import json
import os
import socket
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
from test_hopxd import Hopxd, KEY, config_for  # noqa: E402


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def counters(state, sandbox_id):
    sock = glob.glob(os.path.join(state, "sandboxes", sandbox_id, "run", "api.sock"))[0]
    c = UnixHTTP(sock)
    c.request("GET", "/metrics")
    m = json.loads(c.getresponse().read())
    c.close()
    fx = m.get("pvm_fixups", {}).get("by_kind", {})
    return {"kvm_exits": m["vm"]["kvm_exits"], "vmm_exits": m["vm"]["vcpu_exits"],
            "fixups": sum(fx.values()), "xsave_xrstor": fx.get("xsave", 0) + fx.get("xrstor", 0)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    d = Hopxd(a.build, "vm", config_for(a.build, "vm"))
    d.start()
    results = {}
    try:
        d.wait_templates(1800)
        sb = Sandbox.create(template="code-interpreter", api_key=KEY, base_url=d.url)
        kinds = [
            ("python print(1)", lambda: sb.run_code("print(1)")),
            ("bash echo 1", lambda: sb.run_code("echo 1", language="bash")),
            ("commands.run true", lambda: sb.commands.run("true", timeout=120)),
            ("file write+read", lambda: (sb.files.write("/workspace/x", "x"), sb.files.read("/workspace/x"))),
        ]
        for name, call in kinds:
            rows = []
            for _ in range(a.runs):
                before = counters(d.state, sb.sandbox_id)
                t = time.monotonic()
                call()
                ms = 1e3 * (time.monotonic() - t)
                after = counters(d.state, sb.sandbox_id)
                rows.append(dict({k: after[k] - before[k] for k in after}, ms=ms))
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            results[name] = {"runs": rows, "median": med}
            print("%-18s %8.0f ms  kvm exits %7.0f  vmm exits %5.0f  fix-ups %5.0f (xsave/xrstor %5.0f)" %
                  (name, med["ms"], med["kvm_exits"], med["vmm_exits"], med["fixups"], med["xsave_xrstor"]),
                  flush=True)
        sb.kill()
    finally:
        d.cleanup()
    os.makedirs(os.path.join(ROOT, "build/bench"), exist_ok=True)
    out = os.path.join(ROOT, "build/bench", "requests-%d.json" % int(time.time()))
    with open(out, "w") as f:
        json.dump({"host": host_info(), "runs": a.runs, "results": results}, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
