/* The warm Python worker (warm.c has the protocol): one interpreter that
 * runs each request like a notebook cell (globals persist between requests,
 * as in Jupyter). A request is a JSON line on fd 3: {"code", "cwd", "env",
 * "out", "err", "rich"}; the run's fds 1 and 2 point at the "out" and "err"
 * files for its duration, rich outputs (python_rich.h) go to "rich", and
 * the answer is {"exit_code": N} on fd 4. */
#ifndef HOPX_AGENT_WARM_PYTHON_H
#define HOPX_AGENT_WARM_PYTHON_H

#include "python_rich.h"

static const char warm_python[] = PYTHON_RICH
	"import traceback\n"
	"os.set_inheritable(3, False); os.set_inheritable(4, False)  # not for the code's children\n"
	"reqs, resp = os.fdopen(3, 'r'), os.fdopen(4, 'w')\n"
	"null = os.open(os.devnull, os.O_RDWR)\n"
	"g = {'__name__': '__main__'}\n"
	"base_env = dict(os.environ)\n"
	"for line in reqs:\n"
	"    req = json.loads(line)\n"
	"    os.environ.clear(); os.environ.update(req.get('env') or base_env)\n"
	"    code, rich = 0, {}\n"
	"    sys.stdout.flush(); sys.stderr.flush()\n"
	"    out = os.open(req['out'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\n"
	"    err = os.open(req['err'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\n"
	"    os.dup2(out, 1); os.dup2(err, 2); os.close(out); os.close(err)\n"
	"    try:\n"
	"        os.chdir(req.get('cwd') or '/')\n"
	"        rich = rich_of(run_cell(req['code'], g))\n"
	"    except SystemExit as e:\n"
	"        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)\n"
	"    except BaseException:\n"
	"        traceback.print_exc()\n"
	"        code = 1\n"
	"    sys.stdout.flush(); sys.stderr.flush()\n"
	"    os.dup2(null, 1); os.dup2(null, 2)\n"
	"    write_rich(rich, req.get('rich'))\n"
	"    resp.write(json.dumps({'exit_code': code}) + '\\n')\n"
	"    resp.flush()\n";

#endif
