#!/usr/bin/env python3
"""hopx-agent's HTTP API on the host (tests/agent/agent_ns.sh runs it in a
mount namespace over a scratch root): every endpoint implemented so far and
its error paths, against the wire contract in ../shared/reference/hopx-api.md.

usage: test_agent.py AGENT_BINARY [TEMPLATE.ext4]   (needs root: mount namespaces, chroot)
With a template image (make templates), the agent runs in a copy-on-write
view of it and the template's own tests run too.
"""
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import json
import unittest

import websocket  # python3-websocket (websocket-client)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import Agent  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "test-token-%d" % os.getpid()
SUPERVISOR = "supervisor-%d" % os.getpid()


class AgentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hopx-agent-test-")
        cls.root = os.path.join(cls.tmp, "root")
        os.mkdir(cls.root)
        cls.sock = os.path.join(cls.tmp, "agent.sock")
        cls.log = open(os.path.join(cls.tmp, "agent.log"), "w+")
        cls.token_file = os.path.join(cls.tmp, "tokens")
        with open(cls.token_file, "w") as f:
            f.write("file-token-one\n")
        cls.proc = subprocess.Popen([os.path.join(HERE, "agent_ns.sh"), AGENT, cls.sock, TOKEN, cls.root,
                                     IMAGE or "", "--supervisor-token", SUPERVISOR, "--token-file", cls.token_file],
                                    stdout=cls.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(cls.sock):
                break
            time.sleep(0.05)
        cls.a = Agent(cls.sock, TOKEN)
        cls.agent_pid = int(subprocess.check_output(["pgrep", "-f", "hopx-agent --listen unix:" + cls.sock]).split()[0])

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        subprocess.run(["pkill", "-f", "hopx-agent --listen unix:" + cls.sock])
        cls.proc.wait()
        for d in ("", ".lower", ".rw"):  # the namespace's mounts went with it
            if os.path.isdir(cls.root + d):
                os.rmdir(cls.root + d) if not os.listdir(cls.root + d) else None
        cls.log.seek(0)
        log = cls.log.read()
        cls.log.close()
        if "ERROR" in log or "runtime error" in log or "CRITICAL" in log:
            print("--- agent log:\n" + log[-4000:])
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def call(self, *a, **kw):
        return self.a.call(*a, **kw)

    def ok(self, method, path, obj=None, status=200, **kw):
        st, body = self.call(method, path, obj, **kw)
        self.assertEqual(st, status, body)
        return body

    def error(self, method, path, obj, status, code, **kw):
        st, body = self.call(method, path, obj, **kw)
        self.assertEqual(st, status, body)
        self.assertEqual(body["code"], code, body)
        self.assertIsInstance(body["message"], str)  # the SDK reads "message", not "error"
        return body

    # --- auth, ids, routing -------------------------------------------------
    def test_auth(self):
        self.assertEqual(self.ok("GET", "/health", token=False)["status"], "ok")
        self.error("GET", "/info", None, 401, "UNAUTHORIZED", token=False)
        self.error("GET", "/info", None, 401, "UNAUTHORIZED", token="wrong-" + TOKEN)
        self.error("GET", "/info", None, 401, "UNAUTHORIZED", token=TOKEN[:-1])
        self.assertIn("version", self.ok("GET", "/info"))
        st, headers, _ = self.a.raw("GET", "/info")
        self.assertTrue(any(k.lower() == "x-request-id" and v for k, v in headers))

    def test_routing_and_bad_bodies(self):
        self.error("GET", "/nowhere", None, 404, "NOT_FOUND")
        st, _, body = self.a.raw("POST", "/execute", body="{not json")
        self.assertEqual(st, 400)
        st, _, body = self.a.raw("POST", "/execute", body="[1,2]")
        self.assertEqual(st, 400)
        self.error("POST", "/execute", {"language": "python"}, 400, "INVALID_REQUEST")
        self.error("POST", "/execute", {"code": "1", "language": "cobol"}, 400, "UNSUPPORTED_LANGUAGE")
        self.error("POST", "/execute", {"code": "1", "timeout": -5}, 400, "INVALID_REQUEST")
        self.error("POST", "/execute", {"code": "1", "env": ["A=1"]}, 400, "INVALID_REQUEST")
        self.error("GET", "/desktop/vnc/start", None, 501, "DESKTOP_NOT_AVAILABLE")

    def test_huge_body_refused(self):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.sock)
        # With Expect: 100-continue the refusal comes before any of the body.
        s.sendall(b"POST /files/write HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
                  b"\r\nContent-Type: application/json\r\nContent-Length: 200000000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        s.settimeout(10)
        reply = s.recv(4096)
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:100])

    def test_tokens_extended_by_the_supervisor(self):
        # --token-file at start; SIGHUP adds the file's new tokens and revokes none.
        self.ok("GET", "/info", token="file-token-one")
        self.error("GET", "/info", None, 401, "UNAUTHORIZED", token="file-token-two")
        with open(self.token_file + ".new", "w") as f:
            f.write("file-token-two\n")
        os.rename(self.token_file + ".new", self.token_file)  # replaced, as a supervisor would
        os.kill(self.agent_pid, signal.SIGHUP)
        for _ in range(50):
            if self.call("GET", "/info", token="file-token-two")[0] == 200:
                break
            time.sleep(0.05)
        self.ok("GET", "/info", token="file-token-two")
        self.ok("GET", "/info", token="file-token-one")
        # POST /auth/tokens: the supervisor's token only.
        self.error("POST", "/auth/tokens", {"tokens": ["api-token-1"]}, 401, "UNAUTHORIZED")
        self.error("POST", "/auth/tokens", {"tokens": ["short"]}, 400, "INVALID_REQUEST", token=SUPERVISOR)
        self.error("POST", "/auth/tokens", {"tokens": "api-token-1"}, 400, "INVALID_REQUEST", token=SUPERVISOR)
        self.error("POST", "/auth/tokens", {"tokens": ["ok-token-1", 7]}, 400, "INVALID_REQUEST", token=SUPERVISOR)
        self.error("GET", "/info", None, 401, "UNAUTHORIZED", token="ok-token-1")  # all or nothing
        n = self.ok("POST", "/auth/tokens", {"tokens": ["api-token-1"]}, token=SUPERVISOR)["tokens"]
        self.ok("GET", "/info", token="api-token-1")
        self.ok("GET", "/info")  # the earlier ones stay
        self.ok("GET", "/info", token=SUPERVISOR)  # the supervisor's works everywhere
        self.assertEqual(self.ok("POST", "/auth/tokens", {"tokens": ["api-token-1"]}, token=SUPERVISOR)["tokens"], n)

    def test_client_gone_before_the_reply(self):
        """A client that hangs up during a run: the reply is dropped, the
        agent carries on (replying into libsoup's torn-down connection
        was a use after free)."""
        for lang, code in (("bash", "sleep 0.5"), ("python", "import time\ntime.sleep(0.5)"),
                           ("go", "package main\nfunc main() {}")):
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.sock)
            body = json.dumps({"code": code, "language": lang}).encode()
            s.sendall(b"POST /execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
                      b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            time.sleep(0.1)
            s.close()
        time.sleep(0.8)
        self.assertEqual(self.ok("POST", "/execute", {"code": "echo alive", "language": "bash"})["stdout"], "alive\n")

    # --- /execute -------------------------------------------------------------
    def test_execute_languages(self):
        r = self.ok("POST", "/execute", {"code": "print(1+1)", "language": "python"})
        self.assertEqual((r["success"], r["stdout"], r["exit_code"]), (True, "2\n", 0))
        self.assertIsInstance(r["execution_time"], float)
        r = self.ok("POST", "/execute", {"code": "console.log(6*7)", "language": "javascript"})
        self.assertEqual(r["stdout"], "42\n")
        r = self.ok("POST", "/execute", {"code": "echo $((6*7)); echo oops >&2; exit 3", "language": "bash"})
        self.assertEqual((r["success"], r["stdout"], r["stderr"], r["exit_code"]), (False, "42\n", "oops\n", 3))

    def test_execute_rich_result(self):
        r = self.ok("POST", "/execute", {"code": "x = 20\n{'a': x + 1, 'b': [1, 2]}", "language": "python"})
        self.assertEqual(r["json"], {"a": 21, "b": [1, 2]})
        self.assertEqual(r["result"], "{'a': 21, 'b': [1, 2]}")

    def test_execute_failure_is_200(self):
        r = self.ok("POST", "/execute", {"code": "raise ValueError('boom')", "language": "python"})
        self.assertFalse(r["success"])
        self.assertEqual(r["exit_code"], 1)
        self.assertIn("ValueError: boom", r["stderr"])

    def test_timeout_kills_the_process_group(self):
        marker = "sleep 4242%d" % os.getpid()
        t0 = time.monotonic()
        r = self.ok("POST", "/execute", {"code": "bash -c '%s' & %s; echo never" % (marker, marker),
                                         "language": "bash", "timeout": 1})
        self.assertLess(time.monotonic() - t0, 5)
        self.assertFalse(r["success"])
        self.assertEqual(r["exit_code"], 124)
        self.assertIn("timed out", r["stderr"])
        time.sleep(0.3)
        left = subprocess.run(["pgrep", "-f", marker], capture_output=True).stdout
        self.assertEqual(left, b"", "children of a timed-out run survived")

    def test_warm_python(self):
        # One warm interpreter: globals persist between runs, as in a notebook.
        self.ok("POST", "/execute", {"code": "warm_x = 41", "language": "python"})
        r = self.ok("POST", "/execute", {"code": "import os\nprint(warm_x + 1, os.getcwd(), os.environ['W'])",
                                         "language": "python", "workdir": "/workspace", "env": {"W": "w"}})
        self.assertEqual(r["stdout"], "42 /workspace w\n")
        # Output of child processes is caught too.
        r = self.ok("POST", "/execute", {"code": "import subprocess\nsubprocess.run(['echo', 'child'])",
                                         "language": "python"})
        self.assertEqual(r["stdout"], "child\n")
        r = self.ok("POST", "/execute", {"code": "import sys\nsys.exit(4)", "language": "python"})
        self.assertEqual((r["exit_code"], r["success"]), (4, False))
        # A timeout kills the worker; the next run gets a fresh one.
        r = self.ok("POST", "/execute", {"code": "import time\ntime.sleep(30)", "language": "python", "timeout": 1})
        self.assertEqual((r["exit_code"], r["success"]), (124, False))
        r = self.ok("POST", "/execute", {"code": "print('again')", "language": "python"})
        self.assertEqual(r["stdout"], "again\n")
        # Two at once: the second runs in a one-shot interpreter.
        import threading
        out = {}
        t = threading.Thread(target=lambda: out.update(a=self.call("POST", "/execute", {
            "code": "import time\ntime.sleep(0.5)\nprint('a')", "language": "python"})))
        t.start()
        time.sleep(0.1)
        b = self.ok("POST", "/execute", {"code": "print('b')", "language": "python"})
        t.join()
        self.assertEqual((out["a"][1]["stdout"], b["stdout"]), ("a\n", "b\n"))

    def test_warm_worker_crash_is_named(self):
        # A worker that dies mid-run: the run says so, the console names how
        # it ended (a dying worker's pipe ends before it can be reaped, and a
        # zombie still answers kill(pid, 0)), and the next run gets a new one.
        r = self.ok("POST", "/execute", {"code": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)",
                                         "language": "python"})
        self.assertFalse(r["success"])
        self.assertIn("the python worker died", r["stderr"])
        self.assertEqual(self.ok("POST", "/execute", {"code": "print('after')", "language": "python"})["stdout"],
                         "after\n")
        for _ in range(50):
            with open(self.log.name) as f:
                log = f.read()
            if "ended: killed" in log:
                break
            time.sleep(0.1)
        pid = re.search(r"no answer from the python worker \(pid (\d+)\): end of its answers", log)
        self.assertTrue(pid, log)
        self.assertIn("the python worker (pid %s) ended: killed by signal 11" % pid.group(1), log)
        self.assertNotIn("still ran", log)

    def test_warm_javascript(self):
        # One warm node: each run has its own scope (const twice is fine),
        # globalThis persists, and it is the same process every time.
        pids = set()
        for _ in range(2):
            r = self.ok("POST", "/execute", {"code": "const x = 6 * 7; globalThis.n = (globalThis.n || 0) + 1;"
                                             "console.log(x, process.pid)", "language": "javascript"})
            self.assertTrue(r["success"], r)
            out = r["stdout"].split()
            self.assertEqual(out[0], "42")
            pids.add(out[1])
        self.assertEqual(len(pids), 1, "a node process per request")
        # Timers and awaited promises finish before the answer, as with node -e.
        r = self.ok("POST", "/execute", {"code": "setTimeout(() => console.log('late', n), 150);"
                                         "await new Promise(r => setTimeout(r, 20)); console.log(process.cwd(),"
                                         "process.env.W, require('path').basename('/a/b.js'))",
                                         "language": "javascript", "env": {"W": "w"}})
        self.assertEqual(r["stdout"], "/workspace w b.js\nlate 2\n")
        r = self.ok("POST", "/execute", {"code": "console.log(typeof process.env.W)", "language": "javascript"})
        self.assertEqual(r["stdout"], "undefined\n")  # the request's env went with its run
        r = self.ok("POST", "/execute", {"code": "process.exit(5)", "language": "javascript"})
        self.assertEqual((r["exit_code"], r["success"]), (5, False))
        r = self.ok("POST", "/execute", {"code": "null.x", "language": "javascript"})
        self.assertEqual(r["exit_code"], 1)
        self.assertIn("TypeError", r["stderr"])
        r = self.ok("POST", "/execute", {"code": "Promise.reject(new Error('nope'))", "language": "javascript"})
        self.assertEqual(r["exit_code"], 1)
        self.assertIn("nope", r["stderr"])
        r = self.ok("POST", "/execute", {"code": "while (true) {}", "language": "javascript", "timeout": 1})
        self.assertEqual((r["exit_code"], r["success"]), (124, False))
        r = self.ok("POST", "/execute", {"code": "console.log(typeof n, process.pid)", "language": "javascript"})
        self.assertEqual(r["stdout"].split()[0], "undefined")  # a fresh worker after the timeout
        self.assertNotIn(r["stdout"].split()[1], pids)

    def test_warm_bash(self):
        # One warm bash forks a subshell per run: same parent each time,
        # and nothing a run sets outlives it.
        parent = "read -r _ _ _ pp _ < /proc/$BASHPID/stat; echo $pp"
        a = self.ok("POST", "/execute", {"code": "x=1; cd /tmp; " + parent, "language": "bash"})
        b = self.ok("POST", "/execute", {"code": "echo \"[$x]\" \"$PWD\" $# \"[$1]\"; " + parent, "language": "bash"})
        self.assertEqual(b["stdout"].split("\n")[0], "[] /workspace 0 []")
        self.assertEqual(a["stdout"].split()[-1], b["stdout"].split()[-1])
        self.assertNotEqual(int(a["stdout"].split()[-1]), self.agent_pid)
        r = self.ok("POST", "/execute", {"code": "echo \"$Q\" ${HOME:-nohome}", "language": "bash",
                                         "env": {"Q": "it's \"quoted\" $(not run)", "HOME": ""}})
        self.assertEqual(r["stdout"], "it's \"quoted\" $(not run) nohome\n")
        r = self.ok("POST", "/execute", {"code": "if then", "language": "bash"})
        self.assertEqual((r["exit_code"], r["success"]), (2, False))
        self.assertIn("syntax error", r["stderr"])
        r = self.ok("POST", "/execute", {"code": "cat; echo done", "language": "bash"})
        self.assertEqual(r["stdout"], "done\n")  # stdin is /dev/null, not the worker's requests

    def test_execute_async_signed_callback(self):
        import hashlib
        import hmac
        import http.server
        import threading
        got = []

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append((dict(self.headers), body))
                self.send_response(500 if len(got) == 1 else 200)  # the first delivery fails: retried
                self.end_headers()

            def log_message(self, *a):
                pass

        srv = http.server.HTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        url = "http://127.0.0.1:%d/hook" % srv.server_port
        try:
            self.error("POST", "/execute/async", {"code": "1", "callback_url": "ftp://x/"}, 400, "INVALID_REQUEST")
            self.error("POST", "/execute/async", {"code": "1", "callback_url": url,
                                                  "callback_headers": {"X-A": "b\r\nX-Evil: 1"}},
                       400, "INVALID_REQUEST")
            r = self.ok("POST", "/execute/async", {"code": "print(6*7)", "language": "python", "callback_url": url,
                                                   "callback_headers": {"X-Job": "j1"},
                                                   "callback_signature_secret": "s3cret"}, status=202)
            self.assertEqual((r["status"], r["callback_url"]), ("running", url))
            for _ in range(100):
                if len(got) >= 2:
                    break
                time.sleep(0.05)
            self.assertEqual(len(got), 2, "delivered once more after the 500")
            headers, body = got[1]
            res = json.loads(body)
            self.assertEqual((res["execution_id"], res["status"], res["stdout"], res["exit_code"]),
                             (r["execution_id"], "completed", "42\n", 0))
            self.assertEqual(headers["X-Job"], "j1")
            want = hmac.new(b"s3cret", headers["X-HopX-Timestamp"].encode() + b"." + body, hashlib.sha256)
            self.assertEqual(headers["X-HopX-Signature"], "sha256=" + want.hexdigest())
            self.assertLess(abs(int(headers["X-HopX-Timestamp"]) - time.time()), 60)
            listed = {p["execution_id"]: p for p in self.ok("GET", "/execute/processes")["processes"]}
            self.assertEqual(listed[r["execution_id"]]["status"], "completed")
        finally:
            srv.shutdown()

    def test_env_precedence(self):
        self.ok("PUT", "/env", {"env_vars": {"G": "global", "BOTH": "global"}})
        r = self.ok("POST", "/execute", {"code": "echo $G $BOTH $REQ", "language": "bash",
                                         "env": {"BOTH": "request", "REQ": "r"}})
        self.assertEqual(r["stdout"], "global request r\n")
        self.assertEqual(self.ok("PATCH", "/env", {"env_vars": {"X": "1"}, "merge": True})["env_vars"],
                         {"G": "global", "BOTH": "global", "X": "1"})
        self.assertEqual(self.ok("PUT", "/env", {"env_vars": {"Y": "2"}})["env_vars"], {"Y": "2"})
        self.assertEqual(self.ok("GET", "/env")["env_vars"], {"Y": "2"})
        self.error("PUT", "/env", {"env_vars": {"A=B": "1"}}, 400, "INVALID_REQUEST")
        self.error("PUT", "/env", {"env_vars": {"A": 1}}, 400, "INVALID_REQUEST")
        self.ok("PUT", "/env", {"env_vars": {}})

    # --- commands and processes ----------------------------------------------
    def test_commands(self):
        self.ok("POST", "/files/write", {"path": "/workspace/c.txt", "content": "a\nb\n"})
        r = self.ok("POST", "/commands/run", {"command": "bash", "args": ["-c", "wc -l < c.txt; pwd"],
                                              "timeout": 30, "workdir": "/workspace"})
        self.assertEqual((r["stdout"], r["exit_code"], r["success"]), ("2\n/workspace\n", 0, True))
        r = self.ok("POST", "/commands/run", {"command": "bash", "args": ["-c", "sleep 5"], "timeout": 1})
        self.assertEqual(r["exit_code"], 124)
        r = self.ok("POST", "/commands/run", {"command": "/nonexistent/binary"})
        self.assertEqual(r["exit_code"], 127)
        self.error("POST", "/commands/run", {"args": ["x"]}, 400, "INVALID_REQUEST")

    def test_background_processes(self):
        r = self.ok("POST", "/execute/background", {"code": "import time; time.sleep(30)", "language": "python",
                                                    "name": "sleeper"})
        pid = r["process_id"]
        procs = self.ok("GET", "/execute/processes")["processes"]
        mine = [p for p in procs if p["process_id"] == pid]
        self.assertEqual((mine[0]["status"], mine[0]["name"]), ("running", "sleeper"))
        self.assertEqual(self.ok("POST", "/execute/kill/" + pid)["status"], "killed")
        time.sleep(0.3)
        mine = [p for p in self.ok("GET", "/execute/processes")["processes"] if p["process_id"] == pid]
        self.assertNotEqual(mine[0]["status"], "running")
        self.error("POST", "/execute/kill/nope", None, 404, "PROCESS_NOT_FOUND")
        r = self.ok("POST", "/commands/background", {"command": "bash", "args": ["-c", "echo bg"]})
        time.sleep(0.3)
        done = [p for p in self.ok("GET", "/execute/processes")["processes"] if p["process_id"] == r["process_id"]]
        self.assertEqual((done[0]["status"], done[0]["stdout"]), ("completed", "bg\n"))
        self.assertTrue(any(p["pid"] == self.agent_pid for p in self.ok("GET", "/processes")["processes"]))

    # --- files ------------------------------------------------------------------
    def test_files_round_trip(self):
        name = "/workspace/my file+x&y.txt"
        self.ok("POST", "/files/write", {"path": name, "content": "héllo\n", "mode": "0600"})
        self.assertEqual(self.ok("GET", "/files/read", query={"path": name})["content"], "héllo\n")
        self.assertTrue(self.ok("GET", "/files/exists", query={"path": name})["exists"])
        listing = self.ok("GET", "/files/list", query={"path": "/workspace"})["files"]
        entry = [f for f in listing if f["name"] == "my file+x&y.txt"][0]
        self.assertEqual((entry["size"], entry["is_dir"], entry["permissions"]), (7, False, "0600"))
        self.error("POST", "/files/write", {"path": name, "content": "x", "overwrite": False}, 409,
                   "FILE_OPERATION_FAILED")
        self.ok("DELETE", "/files/remove", query={"path": name})
        self.assertFalse(self.ok("GET", "/files/exists", query={"path": name})["exists"])

    def test_files_binary(self):
        data = bytes(range(256)) * 100
        self.ok("POST", "/files/write", {"path": "/workspace/b.bin", "content": base64.b64encode(data).decode(),
                                         "encoding": "base64"})
        st, _, got = self.a.raw("GET", "/files/download?path=%2Fworkspace%2Fb.bin")
        self.assertEqual((st, got), (200, data))
        r = self.ok("GET", "/files/read", query={"path": "/workspace/b.bin"})
        self.assertEqual(base64.b64decode(r["content"]), data)

    def test_files_upload(self):
        boundary = "hopxboundary"
        payload = os.urandom(100000)
        body = (b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u.bin\"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" + payload +
                b"\r\n--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n"
                b"/workspace/up/u.bin\r\n--" + boundary.encode() + b"--\r\n")
        self.ok("POST", "/files/mkdir", {"path": "/workspace/up/deeper"})
        st, _, _ = self.a.raw("POST", "/files/upload", body=body,
                              headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
        self.assertEqual(st, 200)
        st, _, got = self.a.raw("GET", "/files/download?path=/workspace/up/u.bin")
        self.assertEqual(got, payload)
        st, _, _ = self.a.raw("POST", "/files/upload", body=b"junk",
                              headers={"Content-Type": "multipart/form-data; boundary=x"})
        self.assertEqual(st, 400)
        self.ok("DELETE", "/files/remove", query={"path": "/workspace/up"})  # recursive
        self.assertFalse(self.ok("GET", "/files/exists", query={"path": "/workspace/up"})["exists"])

    def test_files_errors(self):
        b = self.error("GET", "/files/read", None, 404, "FILE_NOT_FOUND", query={"path": "/workspace/sandbox.csv"})
        self.assertEqual(b["path"], "/workspace/sandbox.csv")
        self.assertNotIn("sandbox", b["message"])  # the SDK would call it SandboxExpiredError
        self.error("GET", "/files/read", None, 400, "INVALID_PATH", query={"path": "/../../etc/shadow"})
        self.error("GET", "/files/read", None, 400, "INVALID_PATH", query={"path": "relative.txt"})
        self.error("GET", "/files/read", None, 400, "FILE_OPERATION_FAILED", query={"path": "/dev/zero"})
        self.error("GET", "/files/read", None, 400, "FILE_OPERATION_FAILED", query={"path": "/workspace"})
        self.error("DELETE", "/files/remove", None, 400, "FILE_OPERATION_FAILED", query={"path": "/"})
        self.error("POST", "/files/write", {"path": "/workspace/x", "content": "x", "mode": "rwx"}, 400,
                   "INVALID_REQUEST")
        self.error("GET", "/files/read", None, 400, "INVALID_REQUEST")

    # --- WebSockets -------------------------------------------------------------------
    def ws(self, path, token=True):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.sock)
        headers = ["Authorization: Bearer " + TOKEN] if token else []
        return websocket.create_connection("ws://localhost" + path, socket=s, header=headers, timeout=20)

    def frames(self, conn, until, limit=500):
        got = []
        for _ in range(limit):
            f = json.loads(conn.recv())
            got.append(f)
            if f.get("type") == until:
                return got
        self.fail("no %r frame in %s" % (until, got[-5:]))

    def test_ws_auth(self):
        with self.assertRaises(websocket.WebSocketBadStatusException) as e:
            self.ws("/execute/stream", token=False)
        self.assertEqual(e.exception.status_code, 401)

    def test_ws_execute_stream(self):
        c = self.ws("/execute/stream")
        c.send(json.dumps({"type": "execute", "language": "python", "timeout": 30,
                           "code": "import sys, time\nprint('one', flush=True)\ntime.sleep(0.3)\n"
                                   "print('two', file=sys.stderr, flush=True)\nsys.exit(3)"}))
        fr = self.frames(c, "complete")
        out = "".join(f["data"] for f in fr if f["type"] == "stdout")
        err = "".join(f["data"] for f in fr if f["type"] == "stderr")
        result = [f for f in fr if f["type"] == "result"][0]
        self.assertEqual((out, err, result["exit_code"], fr[-1]["success"]), ("one\n", "two\n", 3, False))
        # The final frame comes again until the client closes (the SDK may miss one).
        self.assertEqual(json.loads(c.recv())["type"], "complete")
        c.close()

    def test_ws_stream_timeout(self):
        c = self.ws("/execute/stream")
        c.send(json.dumps({"type": "execute", "language": "bash", "code": "echo start; sleep 30", "timeout": 1}))
        fr = self.frames(c, "complete")
        self.assertIn({"type": "error", "code": "TIMEOUT"}, [{"type": f["type"], "code": f.get("code")} for f in fr])
        self.assertEqual([f for f in fr if f["type"] == "result"][0]["exit_code"], 124)
        c.close()

    def test_ws_terminal(self):
        c = self.ws("/terminal")
        c.send(json.dumps({"type": "resize", "cols": 100, "rows": 40}))
        c.send(json.dumps({"type": "input", "data": "stty size; echo hopx-$((40+2)); exit 7\n"}))
        fr = self.frames(c, "exit")
        text = "".join(f.get("data", "") for f in fr if f["type"] == "output")
        self.assertIn("40 100", text)
        self.assertIn("hopx-42", text)
        self.assertEqual(fr[-1]["code"], 7)
        c.close()

    def test_ws_files_watch(self):
        self.ok("POST", "/files/mkdir", {"path": "/workspace/watched"})
        c = self.ws("/files/watch")
        c.send(json.dumps({"action": "watch", "path": "/workspace/watched"}))
        time.sleep(0.3)
        self.ok("POST", "/files/mkdir", {"path": "/workspace/watched/sub"})
        time.sleep(0.2)
        self.ok("POST", "/files/write", {"path": "/workspace/watched/sub/new.txt", "content": "x"})
        seen = set()
        for _ in range(50):
            f = json.loads(c.recv())
            seen.add((f["path"], f["event"]))
            if any(p.endswith("sub/new.txt") for p, _ in seen):
                break
        self.assertIn(("/workspace/watched/sub", "created"), seen)
        self.assertTrue(any(p == "/workspace/watched/sub/new.txt" for p, _ in seen), seen)  # recursive
        c.close()

    # --- info -----------------------------------------------------------------------
    def test_metrics_and_cache(self):
        m = self.ok("GET", "/metrics/snapshot")
        self.assertGreater(m["system"]["memory"]["total"], 0)
        self.assertGreater(m["system"]["cpu"]["cores"], 0)
        self.assertGreater(m["process"]["count"], 0)
        self.assertGreaterEqual(m["requests_total"], 1)
        self.assertIn("cache", self.ok("GET", "/cache/stats"))
        self.assertIn("message", self.ok("POST", "/cache/clear"))

    def test_zz_no_leaks(self):
        """After everything: no zombie children, and the fd count stays small."""
        time.sleep(0.5)
        zombies = subprocess.run(["ps", "-o", "stat=", "--ppid", str(self.agent_pid)], capture_output=True,
                                 text=True).stdout.split()
        self.assertNotIn("Z", "".join(zombies))
        fds = len(os.listdir("/proc/%d/fd" % self.agent_pid))
        self.assertLess(fds, 40, "the agent holds %d fds" % fds)


class TemplateTest(AgentTest):
    """The same suite inside the code-interpreter template, plus what needs
    its packages: real rich outputs and Go."""

    def test_matplotlib_png(self):
        r = self.ok("POST", "/execute", {"language": "python", "timeout": 120, "code":
                                         "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 4, 1])\n"
                                         "plt.title('hopx')"})
        self.assertTrue(r["success"], r["stderr"])
        png = base64.b64decode(r["png"])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        self.assertGreater(width * height, 10000)

    def test_dataframe_html(self):
        r = self.ok("POST", "/execute", {"language": "python", "timeout": 120, "code":
                                         "import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})"})
        self.assertTrue(r["success"], r["stderr"])
        self.assertIn("<table", r["html"])
        self.assertIn("<td>x</td>", r["html"])

    def test_go(self):
        r = self.ok("POST", "/execute", {"language": "go", "timeout": 300, "code":
                                         'package main\nimport "fmt"\nfunc main() { fmt.Println(6 * 7) }\n'})
        self.assertEqual((r["stdout"], r["success"]), ("42\n", True), r["stderr"])


if __name__ == "__main__":
    AGENT = os.path.abspath(sys.argv.pop(1))
    IMAGE = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 and sys.argv[1].endswith(".ext4") else None
    if os.geteuid() != 0:
        print("SKIP: the agent suite needs root (mount namespaces, chroot)")
        sys.exit(77)
    if IMAGE:
        unittest.main(verbosity=2, defaultTest="TemplateTest")
    else:
        unittest.main(verbosity=2, defaultTest="AgentTest")
