#!/usr/bin/env python3
"""Agent benchmark (host transport): hopx-agent in a mount namespace on a Unix
socket (tests/agent/agent_ns.sh), driven over HTTP, in a copy-on-write view
of the code-interpreter template when it is built (else on the host's own
interpreters). Median latency over --runs of:
  /execute print(1) (or its equivalent) for each language whose interpreter
  is there (python, javascript, bash, go), on the warm workers and, side by
  side in the same run, on a second agent started with --no-warm (a new
  interpreter per request), with the ratio;
  a 1 MiB /files/write followed by /files/read.
Writes build/bench/agent-<timestamp>.json. Needs root.
usage: bench/agent.py [--runs N] [--image TEMPLATE.ext4 | --no-image]
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


WARM = ("python", "javascript", "bash")  # the languages with a warm worker (guest/agent/warm.c)


def start_agent(tmp, name, token, image, extra):
    root, sock = os.path.join(tmp, name), os.path.join(tmp, name + ".sock")
    os.mkdir(root)
    proc = subprocess.Popen([os.path.join(ROOT, "tests/agent/agent_ns.sh"), os.path.join(ROOT, "build/hopx-agent"),
                             sock, token, root, image or ""] + extra,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    return proc, sock, Agent(sock, token)


def timed(agent, lang, code):
    t0 = time.monotonic()
    st, body = agent.call("POST", "/execute", {"code": code, "language": lang, "timeout": 300})
    dt = time.monotonic() - t0
    return dt, st == 200 and body.get("stdout") == "1\n", body


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--image", default=os.path.join(ROOT, "build/templates/code-interpreter.ext4"))
    ap.add_argument("--no-image", action="store_true")
    a = ap.parse_args()
    image = None if a.no_image or not os.path.exists(a.image) else os.path.abspath(a.image)
    tmp = tempfile.mkdtemp(prefix="hopx-bench-agent-")
    token = "bench-token-%d" % os.getpid()
    procs = []
    info = host_info()
    print("bench-agent: %s, %s cores; %d runs each, medians; root: %s" %
          (info["cpu"], info["cores"], a.runs, image or "the host's /usr"))
    results = {}
    try:
        proc, sock, agent = start_agent(tmp, "warm", token, image, [])
        procs.append((proc, sock))
        proc, sock, cold = start_agent(tmp, "cold", token, image, ["--no-warm"])
        procs.append((proc, sock))
        time.sleep(1)  # the warm workers start with the agent
        print("  /execute   %-10s %10s %10s %8s" % ("language", "warm", "one-shot", "ratio"))
        for lang, code in CODE.items():
            dt, ok, body = timed(cold, lang, code)
            if not ok:
                print("  /execute   %-10s n/a (%s)" % (lang, (body.get("stderr") or "")[:60].strip()
                                                      if isinstance(body, dict) else body))
                continue
            warm, one = [], []
            for _ in range(a.runs):  # alternating, so both see the same noise
                dt, ok, body = timed(agent, lang, code)
                assert ok, body
                warm.append(dt)
                dt, ok, body = timed(cold, lang, code)
                assert ok, body
                one.append(dt)
            results[lang] = {"warm": warm, "one_shot": one}
            mw, mo = statistics.median(warm), statistics.median(one)
            if lang in WARM:
                print("  /execute   %-10s %8.1f ms %7.1f ms %7.1fx" % (lang, 1e3 * mw, 1e3 * mo, mo / mw))
            else:
                print("  /execute   %-10s %10s %7.1f ms   (no warm worker: a build per run)" % (lang, "-", 1e3 * mo))
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
        for proc, sock in procs:
            subprocess.run(["pkill", "-f", "hopx-agent --listen unix:" + sock])
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(ROOT, "build/bench"), exist_ok=True)
    path = os.path.join(ROOT, "build/bench/agent-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        json.dump({"host": info, "runs": a.runs, "image": image, "results": results}, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
