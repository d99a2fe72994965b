#!/usr/bin/env python3
"""Agent benchmark (host transport): hopx-agent in a mount namespace on a Unix
socket (tests/agent/agent_ns.sh), driven over HTTP. Median latency over
--runs of:
  /execute print(1) (or its equivalent) for each language whose interpreter
  the host has (python, javascript, bash, go), and a 1 MiB /files/write
  followed by /files/read.
Writes build/bench/agent-<timestamp>.json. Needs root.
usage: bench/agent.py [--runs N]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests/agent"))
from boot import host_info  # noqa: E402
from client import Agent  # noqa: E402

CODE = {"python": "print(1)", "javascript": "console.log(1)", "bash": "echo 1",
        "go": 'package main\nimport "fmt"\nfunc main() { fmt.Println(1) }\n'}
BIN = {"python": "python3", "javascript": "node", "bash": "bash", "go": "go"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="hopx-bench-agent-")
    root, sock, token = os.path.join(tmp, "root"), os.path.join(tmp, "a.sock"), "bench-token-%d" % os.getpid()
    os.mkdir(root)
    proc = subprocess.Popen([os.path.join(ROOT, "tests/agent/agent_ns.sh"), os.path.join(ROOT, "build/hopx-agent"),
                             sock, token, root], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    agent = Agent(sock, token)
    info = host_info()
    print("bench-agent: %s, %s cores; %d runs each, medians" % (info["cpu"], info["cores"], a.runs))
    results = {}
    try:
        for lang, code in CODE.items():
            if not shutil.which(BIN[lang]):
                print("  %-10s n/a (no %s on this host)" % (lang, BIN[lang]))
                continue
            times = []
            for _ in range(a.runs):
                t0 = time.monotonic()
                st, body = agent.call("POST", "/execute", {"code": code, "language": lang})
                times.append(time.monotonic() - t0)
                assert st == 200 and body["stdout"] == "1\n", body
            results[lang] = times
            print("  /execute %-10s %7.1f ms" % (lang, 1e3 * statistics.median(times)))
        data = "x" * (1 << 20)
        times = []
        for _ in range(a.runs):
            t0 = time.monotonic()
            agent.call("POST", "/files/write", {"path": "/workspace/bench.txt", "content": data})
            st, body = agent.call("GET", "/files/read?path=/workspace/bench.txt")
            times.append(time.monotonic() - t0)
            assert body["content"] == data
        results["file_1mib_write_read"] = times
        print("  1 MiB write+read    %7.1f ms" % (1e3 * statistics.median(times)))
    finally:
        subprocess.run(["pkill", "-f", "hopx-agent --listen unix:" + sock])
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(ROOT, "build/bench"), exist_ok=True)
    path = os.path.join(ROOT, "build/bench/agent-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        json.dump({"host": info, "runs": a.runs, "results": results}, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
