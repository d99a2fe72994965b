/* The warm JavaScript worker (warm.c has the protocol): one node process
 * that runs each request's code as the body of an async function (so each
 * run has its own const/let scope, as `node -e` would, and may use top-level
 * await), with require, module, __filename and __dirname of a script in
 * the working directory. A request is a JSON line on fd 3: {"code", "cwd",
 * "env", "out", "err"}. For the run, process.stdout/stderr write to the
 * "out" and "err" files, process.exit ends the run (not the worker), and
 * the worker waits, as node would before exiting, until the timers and
 * I/O the code started are done. The answer is {"exit_code": N} on fd 4. */
#ifndef HOPX_AGENT_WARM_NODE_H
#define HOPX_AGENT_WARM_NODE_H

static const char warm_node[] =
	"'use strict';\n"
	"const fs = require('fs'), net = require('net'), path = require('path'), vm = require('vm');\n"
	"const readline = require('readline'), Module = require('module');\n"
	"const baseEnv = Object.assign({}, process.env);\n"
	"let out = -1, err = -1, failed = 0;\n"
	"const sink = (fd) => function (chunk, enc, cb) {\n"
	"  if (fd() >= 0) { try { fs.writeSync(fd(), typeof chunk === 'string' ? chunk : Buffer.from(chunk)); } catch (e) {} }\n"
	"  if (typeof enc === 'function') enc(); else if (typeof cb === 'function') cb();\n"
	"  return true;\n"
	"};\n"
	"process.stdout.write = sink(() => out);\n"
	"process.stderr.write = sink(() => err);\n"
	"class Exit { constructor(code) { this.code = code; } }\n"
	"process.exit = (code) => { throw new Exit(code === undefined ? process.exitCode : code); };\n"
	"const report = (e) => {\n"
	"  if (e instanceof Exit) { failed = e.code | 0; return; }\n"
	"  process.stderr.write((e && e.stack ? e.stack : String(e)) + '\\n'); failed = 1;\n"
	"};\n"
	"process.on('uncaughtException', report);\n"
	"process.on('unhandledRejection', report);\n"
	"const sleep = (ms) => new Promise((r) => setTimeout(r, ms));\n"
	"async function run(req) {\n"
	"  for (const k of Object.keys(process.env)) delete process.env[k];\n"
	"  Object.assign(process.env, req.env || baseEnv);\n"
	"  out = fs.openSync(req.out, 'w', 0o600); err = fs.openSync(req.err, 'w', 0o600);\n"
	"  failed = 0; process.exitCode = undefined;\n"
	"  const before = process.getActiveResourcesInfo().length;\n"
	"  try {\n"
	"    process.chdir(req.cwd || '/');\n"
	"    const file = path.join(process.cwd(), '[eval]');\n"
	"    const mod = new Module(file); mod.filename = file; mod.paths = Module._nodeModulePaths(process.cwd());\n"
	"    const fn = vm.runInThisContext('(async function (exports, require, module, __filename, __dirname) {' +\n"
	"      req.code + '\\n})', { filename: '[eval]' });\n"
	"    await fn.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, process.cwd());\n"
	"    await new Promise((r) => setImmediate(r)); // unhandled rejections are reported by now\n"
	"    while (process.getActiveResourcesInfo().length > before && !failed) await sleep(2);\n"
	"  } catch (e) { report(e); }\n"
	"  const code = failed || (process.exitCode | 0);\n"
	"  fs.closeSync(out); fs.closeSync(err); out = err = -1;\n"
	"  fs.writeSync(4, JSON.stringify({ exit_code: code }) + '\\n');\n"
	"}\n"
	"let queue = Promise.resolve();\n"
	"const reqs = new net.Socket({ fd: 3, readable: true, writable: false });\n"
	"readline.createInterface({ input: reqs }).on('line', (line) => {\n"
	"  queue = queue.then(() => run(JSON.parse(line)));\n"
	"});\n"
	"reqs.on('end', () => process.kill(process.pid, 'SIGKILL'));\n";

#endif
