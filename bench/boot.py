#!/usr/bin/env python3
"""Boot benchmark: hopx-vmm against QEMU's microvm, same kernel, initrd and
command line, same machine, alternating runs.

For each side and run it records time to the kernel's "Run /init as init
process" and to guest userspace ready, and KVM's exit and emulated-instruction
counters at "Run /init" (hopx-vmm: its --boot-timings, from KVM_GET_STATS_FD;
QEMU: the same KVM binary stats through QMP query-stats). A side that
fails is recorded as a failure with its reason (on software-KVM hosts QEMU
stops at the kernel's INT3 self-test, which it cannot fix up).

Prints medians, spread and hopx/QEMU ratios, and writes every run to
build/bench/boot-<timestamp>.json (compare later changes against
bench/results/).

usage: bench/boot.py [--runs N] [--kernel K] [--initrd I] [--timeout S]
"""
import argparse
import json
import os
import platform
import re
import selectors
import shutil
import statistics
import subprocess
import sys
import time

BASE_CMDLINE = "console=ttyS0 reboot=k panic=-1"


def sh(*args):
    return subprocess.run(args, capture_output=True, text=True)


def host_info():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1) if m else ""
    except OSError:
        pass
    return {
        "host": platform.node(),
        "kernel": platform.release(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kvm": "software (kvm_pvm)" if os.path.isdir("/sys/module/kvm_pvm") else "hardware",
    }


def run_hopx(vmm, kernel, initrd, timeout):
    t0 = time.monotonic()
    try:
        p = subprocess.run([vmm, "run", "--kernel", kernel, "--initrd", initrd, "--cmdline", BASE_CMDLINE,
                            "--console", "none", "--boot-timings", "-v"],
                           capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"ok": False, "reason": f"timeout after {timeout}s"}
    wall = time.monotonic() - t0
    out = p.stderr

    def num(label):
        m = re.search(r"boot-timings: %s\s+([0-9.]+)" % re.escape(label), out)
        return float(m.group(1)) if m else None

    r = {"ok": p.returncode == 0, "wall_s": wall,
         "run_init_ms": num("Run /init"), "ready_ms": num("userspace ready"),
         "exits_to_init": num("kvm exits to /init"), "emulated_to_init": num("emulated to /init"),
         "exits_total": num("kvm exits"), "emulated_total": num("emulated insns"),
         "vmm_exits": num("vmm exits"), "fixups": num("pvm fix-ups"),
         "first_fixup_ms": num("first fix-up"), "exits_to_fixup": num("kvm exits to fix-up"),
         "emulated_to_fixup": num("emulated to fix-up")}
    m = re.search(r"guest command line: (.*)", out)
    if m:
        r["cmdline"] = m.group(1)  # what the guest got, PVM workarounds included
    if p.returncode != 0:
        r["reason"] = (out.strip().splitlines() or ["exit %d" % p.returncode])[-1]
    return r


def qmp_kvm_stats(sock_path):
    """QEMU's KVM binary stats (query-stats, QEMU 7.1+), summed over vCPUs:
    {"exits": N, "insn_emulation": N}, or {} if unavailable."""
    import socket
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(sock_path)
        f = s.makefile("rw")
        f.readline()  # greeting
        for cmd in ({"execute": "qmp_capabilities"},
                    {"execute": "query-stats", "arguments": {"target": "vcpu", "providers": [{"provider": "kvm"}]}}):
            f.write(json.dumps(cmd) + "\n")
            f.flush()
            while True:
                line = f.readline()
                if not line:
                    return {}
                if not line.strip():
                    continue
                reply = json.loads(line)
                if "return" in reply or "error" in reply:
                    break
        s.close()
    except (OSError, ValueError):
        return {}
    total = {}
    for vcpu in reply.get("return", []):  # one entry per vCPU and provider
        for st in vcpu.get("stats", []):
            if st.get("name") in ("exits", "insn_emulation") and isinstance(st.get("value"), int):
                total[st["name"]] = total.get(st["name"], 0) + st["value"]
    return total


def run_qemu(qemu, kernel, initrd, cmdline, timeout):
    # On software-KVM hosts "-cpu host" dies setting MSRs: use QEMU's default model there.
    cpu = [] if os.path.isdir("/sys/module/kvm_pvm") else ["-cpu", "host"]
    args = [qemu, "-M", "microvm,x-option-roms=off,rtc=off,acpi=off,isa-serial=on,pit=on,pic=on",
            "-enable-kvm"] + cpu + ["-m", "128", "-smp", "1",
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-serial", "stdio", "-kernel", kernel, "-initrd", initrd, "-append", cmdline]
    qmp = "/tmp/hopx-bench-qmp-%d.sock" % os.getpid()
    args += ["-qmp", "unix:%s,server=on,wait=off" % qmp]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ, "out")
    sel.register(p.stderr, selectors.EVENT_READ, "err")
    buf = {"out": b"", "err": b""}
    r = {"ok": False}
    deadline = t0 + timeout
    while time.monotonic() < deadline and p.poll() is None:
        for key, _ in sel.select(timeout=0.2):
            data = os.read(key.fileobj.fileno(), 65536)
            buf[key.data] += data
            now = time.monotonic()
            if key.data == "out" and "run_init_ms" not in r and b"Run /init as init process" in buf["out"]:
                r["run_init_ms"] = (now - t0) * 1000
                st = qmp_kvm_stats(qmp)
                r["exits_to_init"] = st.get("exits")
                r["emulated_to_init"] = st.get("insn_emulation")
            if key.data == "out" and b"reboot: System halted" in buf["out"]:
                r["ok"] = True
            if key.data == "err" and b"KVM internal error" in buf["err"] and "exits_total" not in r:
                st = qmp_kvm_stats(qmp)
                r["exits_total"] = st.get("exits")
                r["emulated_total"] = st.get("insn_emulation")
                # The first instruction it cannot complete: comparable with
                # hopx-vmm's counters at its first fix-up.
                r["first_fixup_ms"] = (time.monotonic() - t0) * 1000
                r["exits_to_fixup"] = r["exits_total"]
                r["emulated_to_fixup"] = r["emulated_total"]
                # QEMU stops the vCPU and waits forever: read its register dump, then stop.
                deadline = min(deadline, time.monotonic() + 1.0)
        if r.get("ok"):
            st = qmp_kvm_stats(qmp)
            r["exits_total"] = st.get("exits")
            r["emulated_total"] = st.get("insn_emulation")
            break
    p.kill()
    p.wait()
    for key, name in ((p.stdout, "out"), (p.stderr, "err")):
        buf[name] += key.read() or b""  # whatever it wrote before it died
    r["wall_s"] = time.monotonic() - t0
    if os.path.exists(qmp):
        os.unlink(qmp)
    if not r["ok"]:
        err = buf["err"].decode(errors="replace")
        code = re.search(r"Code=(.*)", err)
        rip = re.search(r"RIP=([0-9a-f]+)", err)
        if "KVM internal error" in err:
            at = re.search(r"<([0-9a-f]{2})>", code.group(1)) if code else None
            r["reason"] = "KVM internal error (emulation) at RIP %s, instruction byte %s" % (
                rip.group(1) if rip else "?", at.group(1) if at else "?")
        elif time.monotonic() >= t0 + timeout:
            r["reason"] = "timeout after %ds" % timeout
        else:
            r["reason"] = (err.strip().splitlines() or ["exited without powering off"])[-1]
    return r


def summarize(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def fmt(s, unit=""):
    if not s:
        return "n/a"
    if unit == "ms":
        return "%.0f ms (%.0f..%.0f, n=%d)" % (s["median"], s["min"], s["max"], s["n"])
    return "%.0f (%.0f..%.0f, n=%d)" % (s["median"], s["min"], s["max"], s["n"])


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")))
    ap.add_argument("--kernel", default=os.path.join(root, "build/guest/vmlinux"))
    ap.add_argument("--initrd", default=os.path.join(root, "build/guest/test-initrd.cpio"))
    ap.add_argument("--vmm", default=os.path.join(root, "build/hopx-vmm"))
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64") or "qemu-system-x86_64")
    ap.add_argument("--timeout", type=int, default=180)
    a = ap.parse_args()

    if not os.path.exists("/dev/kvm"):
        print("bench-boot: /dev/kvm is absent: nothing to measure")
        return 77
    info = host_info()
    print("bench-boot: %s, %s cores, %s KVM, host kernel %s" % (info["cpu"], info["cores"], info["kvm"], info["kernel"]))
    results = {"hopx": [], "qemu": []}
    have_qemu = shutil.which(a.qemu) is not None
    cmdline = BASE_CMDLINE
    for i in range(a.runs):
        h = run_hopx(a.vmm, a.kernel, a.initrd, a.timeout)
        # QEMU's guest gets exactly the command line hopx-vmm gave its guest.
        cmdline = h.pop("cmdline", cmdline)
        if i == 0:
            print("bench-boot: guest cmdline (both sides): %s" % cmdline)
        results["hopx"].append(h)
        print("  run %d hopx-vmm: %s" % (i + 1, json.dumps(h)))
        if have_qemu:
            q = run_qemu(a.qemu, a.kernel, a.initrd, cmdline, a.timeout)
        else:
            q = {"ok": False, "reason": "%s not installed (apt-get install qemu-system-x86)" % a.qemu}
        results["qemu"].append(q)
        print("  run %d qemu:     %s" % (i + 1, json.dumps(q)))

    summary = {}
    print()
    print("%-22s %-34s %-34s %s" % ("", "hopx-vmm", "qemu microvm", "hopx/qemu"))
    rows = [("run_init_ms", "ms", "time to Run /init"), ("ready_ms", "ms", "time to userspace"),
            ("exits_to_init", "", "KVM exits to /init"), ("emulated_to_init", "", "emulated to /init"),
            # On software-KVM hosts QEMU stops at the first instruction KVM
            # cannot emulate (the INT3 self-test): compare the work up to there.
            ("first_fixup_ms", "ms", "time to INT3 self-test"), ("exits_to_fixup", "", "KVM exits to INT3"),
            ("emulated_to_fixup", "", "emulated to INT3")]
    for key, unit, label in rows:
        at_fixup = key.endswith("fixup") or key == "first_fixup_ms"
        hs = summarize([r for r in results["hopx"] if r["ok"] or at_fixup], key)
        qs = summarize([r for r in results["qemu"] if r["ok"] or at_fixup], key)
        if not hs and not qs:
            continue
        ratio = "%.2f" % (hs["median"] / qs["median"]) if hs and qs and qs["median"] else "n/a"
        summary[key] = {"hopx": hs, "qemu": qs, "ratio": ratio}
        print("%-22s %-34s %-34s %s" % (label, fmt(hs, unit), fmt(qs, unit), ratio))
    for side in ("hopx", "qemu"):
        fails = [r.get("reason", "?") for r in results[side] if not r["ok"]]
        ok = len(results[side]) - len(fails)
        print("%s: %d/%d runs ok%s" % (side, ok, len(results[side]),
                                       ("; failures: " + "; ".join(sorted(set(fails)))) if fails else ""))
    os.makedirs(os.path.join(root, "build/bench"), exist_ok=True)
    path = os.path.join(root, "build/bench/boot-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        json.dump({"host": info, "cmdline": cmdline, "runs": results, "summary": summary}, f, indent=1)
    print("bench-boot: every run written to %s" % os.path.relpath(path, root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
