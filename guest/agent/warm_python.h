/* The warm Python worker: one long-running interpreter that /execute feeds
 * code to, so a request does not pay an interpreter start (milliseconds on
 * a host, seconds in a VM on a software-KVM host). It reads one JSON
 * request per line on stdin ({"code", "cwd", "env", "rich"}), runs the code
 * like a notebook cell (globals persist between requests, as in Jupyter),
 * with fds 0/1/2 pointed at /dev/null and two temporary files for the time
 * of the run (so output of child processes is caught too), and answers one
 * JSON line on its original stdout: {"stdout", "stderr", "exit_code"}. Rich
 * outputs go to the "rich" file, as with the one-shot harness. */
#ifndef HOPX_AGENT_WARM_PYTHON_H
#define HOPX_AGENT_WARM_PYTHON_H

static const char warm_python[] =
	"import ast, sys, os, json, base64, io, tempfile, traceback\n"
	"resp = os.fdopen(os.dup(1), 'w')\n"
	"reqs = os.fdopen(os.dup(0), 'r')\n"
	"null = os.open(os.devnull, os.O_RDWR)\n"
	"os.dup2(null, 0); os.dup2(null, 1)\n"
	"os.environ.setdefault('MPLBACKEND', 'Agg')  # no import at start: matplotlib is slow to load\n"
	"g = {'__name__': '__main__'}\n"
	"base_env = dict(os.environ)\n"
	"def run(code):\n"
	"    tree = ast.parse(code, '<code>', 'exec')\n"
	"    last = None\n"
	"    if tree.body and isinstance(tree.body[-1], ast.Expr):\n"
	"        last = ast.Expression(tree.body.pop().value)\n"
	"    exec(compile(tree, '<code>', 'exec'), g)\n"
	"    return eval(compile(last, '<code>', 'eval'), g) if last is not None else None\n"
	"for line in reqs:\n"
	"    req = json.loads(line)\n"
	"    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()\n"
	"    os.environ.clear(); os.environ.update(req.get('env') or base_env)\n"
	"    try:\n"
	"        os.chdir(req.get('cwd') or '/')\n"
	"    except OSError:\n"
	"        pass\n"
	"    sys.stdout.flush(); sys.stderr.flush()\n"
	"    os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)\n"
	"    code, rich = 0, {}\n"
	"    try:\n"
	"        value = run(req['code'])\n"
	"        if value is not None:\n"
	"            rich['result'] = repr(value)\n"
	"            if hasattr(value, '_repr_html_'):\n"
	"                try:\n"
	"                    rich['html'] = value._repr_html_()\n"
	"                except Exception:\n"
	"                    pass\n"
	"            try:\n"
	"                json.dumps(value); rich['json'] = value\n"
	"            except Exception:\n"
	"                pass\n"
	"        if 'matplotlib.pyplot' in sys.modules:\n"
	"            plt = sys.modules['matplotlib.pyplot']\n"
	"            if plt.get_fignums():\n"
	"                buf = io.BytesIO(); plt.gcf().savefig(buf, format='png'); plt.close('all')\n"
	"                rich['png'] = base64.b64encode(buf.getvalue()).decode()\n"
	"    except SystemExit as e:\n"
	"        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)\n"
	"    except BaseException:\n"
	"        traceback.print_exc()\n"
	"        code = 1\n"
	"    sys.stdout.flush(); sys.stderr.flush()\n"
	"    os.dup2(null, 1); os.dup2(null, 2)\n"
	"    out.seek(0); err.seek(0)\n"
	"    o, e = out.read().decode('utf-8', 'replace'), err.read().decode('utf-8', 'replace')\n"
	"    out.close(); err.close()\n"
	"    if rich and req.get('rich'):\n"
	"        try:\n"
	"            with open(req['rich'], 'w') as f:\n"
	"                json.dump(rich, f)\n"
	"        except Exception:\n"
	"            pass\n"
	"    resp.write(json.dumps({'stdout': o, 'stderr': e, 'exit_code': code}) + '\\n')\n"
	"    resp.flush()\n";

#endif
