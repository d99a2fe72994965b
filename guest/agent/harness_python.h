/* The Python harness /execute runs the user's code in (as `python3 -c`):
 * it executes the code like a notebook cell, and writes rich outputs to
 * the file named by $HOPX_RICH_OUT as JSON: "result" (repr of the last
 * expression), "json" (the last expression if JSON-able), "html" (its
 * _repr_html_, e.g. a pandas DataFrame), "png" (the current matplotlib
 * figure, base64). hopx-api.md §5 says which top-level fields the SDK reads. */
#ifndef HOPX_AGENT_HARNESS_PYTHON_H
#define HOPX_AGENT_HARNESS_PYTHON_H

static const char harness_python[] =
	"import ast, sys, os, json, base64, io\n"
	"code = sys.argv[1]\n"
	"rich = {}\n"
	"g = {'__name__': '__main__'}\n"
	"os.environ.setdefault('MPLBACKEND', 'Agg')  # no import at start: matplotlib is slow to load\n"
	"tree = ast.parse(code, '<code>', 'exec')\n"
	"last = None\n"
	"if tree.body and isinstance(tree.body[-1], ast.Expr):\n"
	"    last = ast.Expression(tree.body.pop().value)\n"
	"exec(compile(tree, '<code>', 'exec'), g)\n"
	"value = eval(compile(last, '<code>', 'eval'), g) if last is not None else None\n"
	"if value is not None:\n"
	"    rich['result'] = repr(value)\n"
	"    if hasattr(value, '_repr_html_'):\n"
	"        try:\n"
	"            rich['html'] = value._repr_html_()\n"
	"        except Exception:\n"
	"            pass\n"
	"    try:\n"
	"        json.dumps(value)\n"
	"        rich['json'] = value\n"
	"    except Exception:\n"
	"        pass\n"
	"if 'matplotlib.pyplot' in sys.modules:\n"
	"    plt = sys.modules['matplotlib.pyplot']\n"
	"    if plt.get_fignums():\n"
	"        buf = io.BytesIO()\n"
	"        plt.gcf().savefig(buf, format='png')\n"
	"        rich['png'] = base64.b64encode(buf.getvalue()).decode()\n"
	"out = os.environ.get('HOPX_RICH_OUT')\n"
	"if out and rich:\n"
	"    with open(out, 'w') as f:\n"
	"        json.dump(rich, f)\n";

#endif
