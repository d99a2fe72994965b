#!/usr/bin/env python3
"""End to end: a real hopxd (state in a temporary directory, a free port)
driven by the project's Python SDK (sdk/python), on the runtime given.

usage: test_hopxd.py BUILD_DIR [--runtime namespace|vm]   (needs root: namespaces, cgroups, loop devices)

The vm suite is smaller (guest userspace is slow on software-KVM hosts): it
waits for the template's snapshot (one boot per host boot, cached under
~/.cache/hopx/template-snapshots), then checks the core flow on microVMs.
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "sdk/python"))
import hopx  # noqa: E402
from hopx import Sandbox, AsyncSandbox  # noqa: E402

KEY = "test-key-%d" % os.getpid()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Hopxd:
    """hopxd as a subprocess, restartable on the same state."""

    def __init__(self, build, runtime, config=None):
        self.build, self.runtime = build, runtime
        self.tmp = tempfile.mkdtemp(prefix="hopxd-test-")
        self.state = os.path.join(self.tmp, "state")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.config = os.path.join(self.tmp, "hopxd.json")
        with open(self.config, "w") as f:
            json.dump(config or {}, f)
        self.log = open(os.path.join(self.tmp, "hopxd.log"), "a+")
        self.proc = None
        self.exit_codes = []  # of every stop: 0, or a sanitizer's report made it fail

    def start(self):
        self.proc = subprocess.Popen([os.path.join(self.build, "hopxd"), "--listen", "127.0.0.1:%d" % self.port,
                                      "--api-key", KEY, "--runtime", self.runtime, "--state-dir", self.state,
                                      "--config", self.config], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("hopxd did not start:\n" + self.logtext())

    def wait_templates(self, timeout):
        """The vm runtime: until every template snapshot being made is ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            h = json.loads(urllib.request.urlopen(self.url + "/health", timeout=5).read())
            states = set(h.get("templates", {}).values())
            if "failed" in states:
                raise RuntimeError("a template snapshot failed:\n" + self.logtext()[-3000:])
            if "preparing" not in states:
                return
            time.sleep(2)
        raise RuntimeError("template snapshots not ready in %d s" % timeout)

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.exit_codes.append(self.proc.wait(30))
            self.proc = None

    def logtext(self):
        if not os.path.exists(self.log.name):
            return getattr(self, "logged", "")
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def cleanup(self):
        # Whatever a failing test left: kill it through the API, then stop.
        try:
            for info in Sandbox.list(api_key=KEY, base_url=self.url):
                Sandbox(info.sandbox_id, api_key=KEY, base_url=self.url).kill()
        except hopx.HopxError:
            pass
        self.stop()
        self.logged = self.logtext()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def config_for(build, runtime):
    c = {"idle_timeout_seconds": 3600, "max_sandboxes": 20}
    if runtime == "vm":
        c.update(prepare_templates=["code-interpreter"],
                 snapshot_dir=os.path.expanduser("~/.cache/hopx/template-snapshots"),
                 kernel=os.path.join(ROOT, "build/guest/vmlinux"))
        # As agent_vm.sh: under ASan the VMM and hopxd are the sanitized
        # parts; the guest keeps the plain agent (README: open bugs).
        plain = os.path.join(ROOT, "build/templates")
        if os.path.abspath(build) != os.path.join(ROOT, "build") and os.path.exists(plain + "/code-interpreter.ext4"):
            c["templates_dir"] = plain
    return c


class Outside:
    """The tests' "internet": a network namespace routed from the host (a /30
    of TEST-NET-2, 198.51.100.0/24, picked by pid), with an HTTP server."""

    def __init__(self):
        base = (os.getpid() % 64) * 4
        self.ns, self.link = "hopx-outside-%d" % os.getpid(), "otest%d" % (os.getpid() % 100000)
        self.host_ip, self.ip = "198.51.100.%d" % (base + 1), "198.51.100.%d" % (base + 2)
        self.server = None

    def sh(self, *cmds):
        for c in cmds:
            subprocess.run(c.split(), check=True)

    def __enter__(self):
        self.sh("ip netns add " + self.ns, "ip link add %s type veth peer name eth0 netns %s" % (self.link, self.ns),
                "ip addr add %s/30 dev %s" % (self.host_ip, self.link), "ip link set %s up" % self.link,
                "ip -n %s addr add %s/30 dev eth0" % (self.ns, self.ip), "ip -n %s link set eth0 up" % self.ns,
                "ip -n %s link set lo up" % self.ns, "ip -n %s route add default via %s" % (self.ns, self.host_ip))
        self.dir = tempfile.mkdtemp(prefix="hopx-outside-")
        with open(os.path.join(self.dir, "index.html"), "w") as f:
            f.write("from outside\n")
        self.server = subprocess.Popen(["ip", "netns", "exec", self.ns, sys.executable, "-m", "http.server",
                                        "--bind", self.ip, "8080", "-d", self.dir],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                urllib.request.urlopen("http://%s:8080/" % self.ip, timeout=2).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the outside HTTP server did not start")

    def __exit__(self, *exc):
        if self.server:
            self.server.kill()
            self.server.wait()
        subprocess.run(["ip", "netns", "del", self.ns])
        shutil.rmtree(self.dir, ignore_errors=True)


# Run in a sandbox: how far a TCP connection to host:port gets.
PROBE = """
import socket
def probe(host, port):
    s = socket.socket()
    s.settimeout(4)
    try:
        s.connect((host, port))
        return "open"
    except ConnectionRefusedError:
        return "refused"          # reached: nothing listens there
    except (socket.timeout, TimeoutError):
        return "dropped"
    except OSError:
        return "unreachable"      # no route
    finally:
        s.close()
def fetch(host, port):            # an HTTP GET's body (socket only: imports are slow in VMs here)
    try:
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(b"GET / HTTP/1.0\\r\\nHost: outside\\r\\n\\r\\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        return data.split(b"\\r\\n\\r\\n", 1)[1].decode().strip()
    except Exception as e:
        return "error: %s" % e
def my_ip():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("198.51.100.1", 9))
        return s.getsockname()[0]
    except OSError:
        return ""
"""


class HopxdTest(unittest.TestCase):
    RUNTIME = "namespace"

    @classmethod
    def setUpClass(cls):
        cls.d = Hopxd(BUILD, cls.RUNTIME, config_for(BUILD, cls.RUNTIME))
        cls.d.start()
        if cls.RUNTIME == "vm":
            cls.d.wait_templates(1200)
        cls.kw = {"api_key": KEY, "base_url": cls.d.url}
        cls.sb = Sandbox.create(template="code-interpreter", timeout_seconds=900, env_vars={"FROM_CREATE": "yes"},
                                **cls.kw)

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        log = cls.d.logtext()
        if os.environ.get("HOPXD_TEST_LOG"):
            print("--- hopxd log:\n" + log[-8000:])
        if "CRITICAL" in log or "runtime error" in log or "Sanitizer" in log or any(cls.d.exit_codes):
            print("--- hopxd log:\n" + log[-4000:])
            raise AssertionError("hopxd exited with %s or logged an error" % cls.d.exit_codes)

    def test_health_and_templates(self):
        h = Sandbox.health_check(base_url=self.d.url)
        self.assertEqual((h["status"], h["runtime"]), ("ok", self.RUNTIME))
        names = [t.name for t in Sandbox.list_templates(**self.kw)]
        self.assertIn("code-interpreter", names)
        t = Sandbox.get_template("code-interpreter", **self.kw)
        self.assertEqual(t.language, "python")
        with self.assertRaises(hopx.NotFoundError):
            Sandbox.get_template("no-such-template", **self.kw)

    def test_info(self):
        info = self.sb.get_info()
        self.assertEqual((info.status, info.runtime, info.template_name), ("running", self.RUNTIME, "code-interpreter"))
        self.assertTrue(info.public_host.startswith(self.d.url + "/sandbox/"))
        self.assertGreater(info.resources["memory_mb"], 0)
        self.assertIn(self.RUNTIME if self.RUNTIME == "vm" else "namespaces", info.raw["isolation"])

    def test_vm_core(self):
        """What the vm suite checks on a microVM: code in three languages, files, a command."""
        r = self.sb.run_code("import os\nprint(6*7, os.environ.get('FROM_CREATE'), os.uname().nodename)")
        self.assertEqual((r.stdout, r.success), ("42 yes sandbox\n", True), r.stderr)
        self.assertEqual(self.sb.run_code("echo $((6*7))", language="bash").stdout, "42\n")
        r = self.sb.run_code("console.log(6*7, process.version.startsWith('v'))", language="javascript", timeout=300)
        self.assertEqual((r.stdout, r.exit_code), ("42 true\n", 0), r.stderr)
        self.sb.files.write("/workspace/vm.txt", "in a VM\n")
        self.assertEqual(self.sb.files.read("/workspace/vm.txt"), "in a VM\n")
        # Four processes: on a software-KVM host each fork+exec is seconds of
        # emulated kernel code, more than the default 30 s under load.
        r = self.sb.commands.run("cat /workspace/vm.txt | wc -l; touch /etc/written-here && echo rootfs-writable",
                                 timeout=120)
        self.assertEqual(r.stdout, "1\nrootfs-writable\n", r.stderr)

    def test_agent_socket_half_close(self):
        """A client that sends its request and shuts down its sending side
        (as HTTP/1.0 tools may) still gets the whole answer through the
        sandbox's agent socket (on the vm runtime, hopxd's vsock relay)."""
        path = os.path.join(self.d.state, "sandboxes", self.sb.sandbox_id, "run", "agent.sock")
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(120)
            s.connect(path)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            with s.makefile("rb") as f:  # to end-of-file
                data = f.read()
            s.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
            self.assertIn(b'"status"', data)

    def test_run_code_languages(self):
        r = self.sb.run_code("import os\nprint(6*7, os.environ.get('FROM_CREATE'))")
        self.assertEqual((r.stdout, r.success, r.exit_code), ("42 yes\n", True, 0))
        self.assertEqual(self.sb.run_code("console.log(6*7)", language="javascript").stdout, "42\n")
        self.assertEqual(self.sb.run_code("echo $((6*7))", language="bash").stdout, "42\n")
        r = self.sb.run_code('package main\nimport "fmt"\nfunc main() { fmt.Println(6*7) }\n', language="go",
                             timeout=300)
        self.assertEqual(r.stdout, "42\n", r.stderr)
        r = self.sb.run_code("raise SystemExit(3)")
        self.assertEqual((r.success, r.exit_code), (False, 3))

    def test_rich_outputs(self):
        r = self.sb.run_code("import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('hopx')", timeout=120)
        self.assertTrue(r.success, r.stderr)
        self.assertEqual(r.png_bytes()[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(r.rich_outputs[0].type, "image/png")
        r = self.sb.run_code("import pandas as pd\npd.DataFrame({'a': [1, 2]})", timeout=120)
        self.assertIn("<table", r.html)

    def test_files_commands_env(self):
        self.sb.files.write("/workspace/e2e hello.txt", "line one\n")
        self.assertEqual(self.sb.files.read("/workspace/e2e hello.txt"), "line one\n")
        self.sb.files.write("/workspace/bin.dat", bytes(range(256)))
        self.assertEqual(self.sb.files.read_bytes("/workspace/bin.dat"), bytes(range(256)))
        self.assertTrue(self.sb.files.exists("/workspace/bin.dat"))
        self.assertIn("e2e hello.txt", [f.name for f in self.sb.files.list("/workspace")])
        self.sb.files.remove("/workspace/bin.dat")
        self.assertFalse(self.sb.files.exists("/workspace/bin.dat"))
        with self.assertRaises(hopx.FileNotFoundError):
            self.sb.files.read("/workspace/missing.txt")
        r = self.sb.commands.run("cat '/workspace/e2e hello.txt' | wc -l")
        self.assertEqual((r.stdout, r.exit_code), ("1\n", 0))
        self.sb.env.set("E2E_VAR", "v1")
        self.assertEqual(self.sb.env.get("E2E_VAR"), "v1")
        self.assertEqual(self.sb.commands.run("echo $E2E_VAR").stdout, "v1\n")
        self.sb.env.delete("E2E_VAR")
        self.assertIsNone(self.sb.env.get("E2E_VAR"))

    def test_background_processes(self):
        p = self.sb.run_code_background("import time\ntime.sleep(30)", name="sleeper")
        ids = [x["process_id"] for x in self.sb.list_processes()]
        self.assertIn(p["process_id"], ids)
        self.sb.kill_process(p["process_id"])
        for _ in range(50):
            st = {x["process_id"]: x["status"] for x in self.sb.list_processes()}[p["process_id"]]
            if st != "running":
                break
            time.sleep(0.1)
        self.assertNotEqual(st, "running")

    def test_stream_and_terminal(self):
        frames = list(self.sb.run_code_stream("print('a')\nprint('b')"))
        self.assertEqual("".join(f["data"] for f in frames if f["type"] == "stdout"), "a\nb\n")
        self.assertEqual(frames[-1], {"type": "complete", "success": True})
        with self.sb.terminal as t:
            t.send_input("echo term-$((40+2)); exit 7\n")
            out = ""
            it = t.output()
            try:
                while "term-42" not in out:
                    out += next(it)
            except StopIteration:
                pass
            self.assertIn("term-42", out)

    def test_isolation(self):
        self.assertEqual(self.sb.commands.run("hostname").stdout, "sandbox\n")
        r = self.sb.commands.run("mount -t tmpfs x /mnt")
        self.assertNotEqual(r.exit_code, 0)  # no mounts (seccomp, no CAP_SYS_ADMIN)
        r = self.sb.commands.run("mknod /tmp/disk b 8 0")
        self.assertNotEqual(r.exit_code, 0)  # no device nodes (no CAP_MKNOD)
        r = self.sb.commands.run("echo x > /proc/sys/kernel/hostname")
        self.assertNotEqual(r.exit_code, 0)  # the host's sysctls are read-only
        self.assertEqual(self.sb.commands.run("ls /sys/class/net").stdout.split(), ["lo"])  # no route out
        r = self.sb.run_code("import urllib.request\nurllib.request.urlopen('%s/health', timeout=3)" % self.d.url)
        self.assertFalse(r.success)  # hopxd's API is out of reach (no network namespace route)
        other = Sandbox.create(template="code-interpreter", **self.kw)
        try:
            other.files.write("/workspace/mine.txt", "other\n")
            self.assertFalse(self.sb.files.exists("/workspace/mine.txt"))
            procs = self.sb.commands.run("ps ax | wc -l").stdout
            self.assertLess(int(procs), 20)  # its own pid namespace
        finally:
            other.kill()

    def test_internet_access(self):
        """internet_access: true is a way out (NAT) to anything but the host
        and other sandboxes; false (the default) is none."""
        with Outside() as out:
            sb = Sandbox.create(template="code-interpreter", internet_access=True, **self.kw)
            peer = None
            try:
                self.assertTrue(sb.get_info().internet_access)
                self.assertFalse(self.sb.get_info().internet_access)
                checks = ("print(fetch('%s', 8080))\nprint(probe('%s', 8081))\nprint(probe('%s', %d))\n"
                          "print(open('/etc/resolv.conf').read().count('nameserver') > 0)"
                          % (out.ip, out.ip, out.host_ip, self.d.port))
                r = sb.run_code(PROBE + checks, timeout=120)
                # the outside answers; a closed port there refuses (reached); the
                # host's own addresses (hopxd's port among them) are dropped
                self.assertEqual(r.stdout.split("\n")[:4], ["from outside", "refused", "dropped", "True"], r.stderr)
                r = self.sb.run_code(PROBE + "print(fetch('%s', 8080).startswith('error'))" % out.ip,
                                     timeout=120)
                self.assertEqual(r.stdout, "True\n", r.stderr)
                if self.RUNTIME == "namespace":  # sandbox to sandbox: dropped (VMs' addresses are all alike)
                    peer = Sandbox.create(template="code-interpreter", internet_access=True, **self.kw)
                    ip = peer.run_code(PROBE + "print(my_ip())").stdout.strip()
                    self.assertTrue(ip.startswith("10.201."), ip)
                    gw = ip.rsplit(".", 1)[0] + ".%d" % (int(ip.rsplit(".", 1)[1]) - 1)
                    r = sb.run_code(PROBE + "print(probe('%s', 7000), probe('%s', %d))" % (ip, gw, self.d.port))
                    self.assertEqual(r.stdout, "dropped dropped\n", r.stderr)
            finally:
                sb.kill()
                if peer:
                    peer.kill()

    def test_template_snapshot_lock(self):
        """A second hopxd on the same snapshot directory waits while another
        holds a snapshot's lock (it is making it), then uses it unbooted."""
        if self.RUNTIME != "vm":
            self.skipTest("template snapshots are the vm runtime's")
        import fcntl
        import re
        # hopxd's log lines are JSON: the directory ends before the closing quote
        m = re.search(r"template code-interpreter: (?:using the snapshot in|booted and snapshotted in) ([^\s\"]+)",
                      self.d.logtext())
        self.assertTrue(m, self.d.logtext()[-2000:])
        lock = open(os.path.join(m.group(1), "lock"), "a")
        other = Hopxd(BUILD, "vm", config_for(BUILD, "vm"))
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            other.start()
            for _ in range(3):
                h = json.loads(urllib.request.urlopen(other.url + "/health", timeout=5).read())
                self.assertEqual(h["templates"].get("code-interpreter"), "preparing")
                time.sleep(1)
            lock.close()
            other.wait_templates(60)
            h = json.loads(urllib.request.urlopen(other.url + "/health", timeout=5).read())
            self.assertEqual(h["templates"]["code-interpreter"], "ready")
            log = other.logtext()
            self.assertIn("another hopxd is making its snapshot", log)
            self.assertNotIn("booting it once", log)
        finally:
            lock.close()
            other.cleanup()
            other.stop()

    def test_cold_boot_fallback(self):
        """No snapshot can be made (here: the snapshot directory cannot be
        created): a sandbox boots its own VM instead."""
        if self.RUNTIME != "vm":
            self.skipTest("template snapshots are the vm runtime's")
        blocker = tempfile.NamedTemporaryFile(prefix="hopx-not-a-dir-")
        c = config_for(BUILD, "vm")
        c["snapshot_dir"] = os.path.join(blocker.name, "snapshots")
        other = Hopxd(BUILD, "vm", c)
        try:
            other.start()
            sb = Sandbox.create(template="code-interpreter", api_key=KEY, base_url=other.url, timeout=900)
            r = sb.run_code("print(6*7)", timeout=300)
            self.assertEqual((r.stdout, r.success), ("42\n", True), r.stderr)
            self.assertIn("sandbox.cold_boot", other.logtext())
            sb.kill()
        finally:
            other.cleanup()
            other.stop()
            blocker.close()

    def test_pause_resume_keeps_state(self):
        sb = Sandbox.create(template="code-interpreter", **self.kw)

        def count():
            for _ in range(300):  # a guest process can be slow to start on software-KVM hosts
                if sb.files.exists("/workspace/count"):
                    text = sb.files.read("/workspace/count").strip()
                    if text:
                        return int(text)
                time.sleep(0.1)
            self.fail("the loop never wrote its count")

        try:
            sb.files.write("/workspace/kept.txt", "before pause\n")
            sb.commands.run_background("i=0; while true; do i=$((i+1)); echo $i > /workspace/count; sleep 0.1; done")
            count()
            sb.pause()
            self.assertEqual(sb.get_info().status, "paused")
            with self.assertRaises(hopx.APIError) as e:
                sb.files.read("/workspace/kept.txt")
            self.assertEqual(e.exception.status_code, 409)
            time.sleep(0.5)
            sb.resume()
            self.assertEqual(sb.get_info().status, "running")
            self.assertEqual(sb.files.read("/workspace/kept.txt"), "before pause\n")
            a = count()
            for _ in range(300):  # the loop survived and runs on
                if count() > a:
                    break
                time.sleep(0.1)
            self.assertGreater(count(), a)
        finally:
            try:
                sb.kill()
            except hopx.NotFoundError:
                pass  # the failure above is the one to report

    def test_list_iter_and_cursor(self):
        ids = [s.sandbox_id for s in Sandbox.list(**self.kw)]
        self.assertIn(self.sb.sandbox_id, ids)
        self.assertEqual([s.sandbox_id for s in Sandbox.iter(**self.kw)], ids)
        page = json.loads(urllib.request.urlopen(urllib.request.Request(
            self.d.url + "/v1/sandboxes?limit=1", headers={"X-API-Key": KEY})).read())
        if len(ids) > 1:
            self.assertTrue(page["has_more"])
            self.assertEqual(page["next_cursor"], page["data"][0]["id"])

    def test_timeout_expiry_and_kill(self):
        sb = Sandbox.create(template="code-interpreter", timeout_seconds=3, **self.kw)
        self.assertEqual(sb.get_info().status, "running")
        for _ in range(60):
            try:
                sb.get_info()
            except hopx.NotFoundError:
                break
            time.sleep(0.2)
        with self.assertRaises(hopx.NotFoundError):
            sb.get_info()
        sb2 = Sandbox.create(template="code-interpreter", **self.kw)
        sb2.set_timeout(600)
        sb2.kill()
        with self.assertRaises(hopx.SandboxExpiredError):
            sb2.get_info()
        self.assertFalse(os.path.exists(os.path.join(self.d.state, "sandboxes", sb2.sandbox_id)))

    def test_auth_failures(self):
        with self.assertRaises(hopx.AuthenticationError):
            Sandbox.list(api_key="wrong-key-123", base_url=self.d.url)
        bad = Sandbox(self.sb.sandbox_id, api_key="wrong-key-123", base_url=self.d.url, token="hopx_at_forged",
                      token_expires_at="2999-01-01T00:00:00Z")
        bad._public_host = self.sb.get_info().public_host
        with self.assertRaises(hopx.AuthenticationError):
            bad.run_code("print(1)")
        # A token of one sandbox is no key to another.
        other = Sandbox.create(template="code-interpreter", **self.kw)
        try:
            req = urllib.request.Request(other.get_info().public_host + "/info",
                                         headers={"Authorization": "Bearer " + self.sb.get_token()})
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req)
            self.assertEqual(e.exception.code, 401)
        finally:
            other.kill()

    def test_bad_requests(self):
        def post(body, path="/v1/sandboxes"):
            req = urllib.request.Request(self.d.url + path, data=body, method="POST",
                                         headers={"X-API-Key": KEY, "Content-Type": "application/json"})
            try:
                return urllib.request.urlopen(req).status, None
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())
        self.assertEqual(post(b"{nope")[0], 400)
        self.assertEqual(post(b"[]")[0], 400)
        self.assertEqual(post(b"{}")[1]["code"], "INVALID_REQUEST")
        self.assertEqual(post(b'{"template_name":"x","timeout_seconds":-5}')[0], 400)
        self.assertEqual(post(b'{"template_name":"../../etc"}')[1]["code"], "TEMPLATE_NOT_FOUND")
        self.assertEqual(post(b'{"template_name":"code-interpreter","env_vars":{"A":1}}')[0], 400)
        self.assertEqual(post(b'{"template_name":"code-interpreter","internet_access":"yes"}')[0], 400)
        with self.assertRaises(hopx.ValidationError):
            Sandbox.create(template="code-interpreter", timeout_seconds=10 ** 9, **self.kw)

    def test_zz_restart_adopts_sandboxes(self):
        """hopxd restarts: running sandboxes are found again and keep their state."""
        self.sb.files.write("/workspace/survives.txt", "yes\n")
        self.d.stop()
        self.d.start()
        self.assertEqual(self.sb.files.read("/workspace/survives.txt"), "yes\n")
        self.assertIn("sandbox.adopted", self.d.logtext())

    def test_async_sandbox(self):
        import asyncio

        async def go():
            async with await AsyncSandbox.create(template="code-interpreter", **self.kw) as sb:
                r = await sb.run_code("print(2+2)")
                await sb.files.write("/workspace/async.txt", "x")
                return r.stdout, await sb.files.read("/workspace/async.txt")
        self.assertEqual(asyncio.run(go()), ("4\n", "x"))


# The vm suite: the core flow (a create is a snapshot restore; each guest
# process is slow on software-KVM hosts, so no Go, plots or terminals here).
VM_SUITE = ["test_health_and_templates", "test_info", "test_vm_core", "test_agent_socket_half_close", "test_internet_access",
            "test_template_snapshot_lock", "test_cold_boot_fallback", "test_pause_resume_keeps_state",
            "test_auth_failures", "test_timeout_expiry_and_kill", "test_zz_restart_adopts_sandboxes"]

if __name__ == "__main__":
    BUILD = os.path.abspath(sys.argv.pop(1))
    runtime = "namespace"
    if len(sys.argv) > 2 and sys.argv[1] == "--runtime":
        runtime = sys.argv.pop(2)
        sys.argv.pop(1)
    HopxdTest.RUNTIME = runtime
    if os.geteuid() != 0:
        print("SKIP: hopxd needs root (namespaces, cgroups, loop devices, /dev/kvm)")
        sys.exit(77)
    if runtime == "vm" and len(sys.argv) == 1:
        sys.argv += ["HopxdTest." + t for t in VM_SUITE]
    unittest.main(verbosity=2)
