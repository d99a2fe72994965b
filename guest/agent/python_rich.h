/* The rich outputs of a Python run (hopx-api.md §5), shared by the one-shot
 * harness (harness_python.h) and the warm worker (warm_python.h): a
 * function rich_of(value) -> dict with "result" (repr of the last
 * expression), "json" (the value, if JSON-able), "html" (its _repr_html_,
 * e.g. a pandas DataFrame) and "png" (the current matplotlib figure, base64,
 * closed afterwards). Both harnesses write that dict to a file the agent
 * names, which adds the fields to the /execute reply. */
#ifndef HOPX_AGENT_PYTHON_RICH_H
#define HOPX_AGENT_PYTHON_RICH_H

#define PYTHON_RICH                                                                                  \
	"import ast, sys, os, json, base64, io\n"                                                    \
	"os.environ.setdefault('MPLBACKEND', 'Agg')  # no import at start: matplotlib is slow to load\n" \
	"def run_cell(code, g):\n"                                                                   \
	"    tree = ast.parse(code, '<code>', 'exec')\n"                                             \
	"    last = None\n"                                                                          \
	"    if tree.body and isinstance(tree.body[-1], ast.Expr):\n"                                \
	"        last = ast.Expression(tree.body.pop().value)\n"                                     \
	"    exec(compile(tree, '<code>', 'exec'), g)\n"                                             \
	"    return eval(compile(last, '<code>', 'eval'), g) if last is not None else None\n"        \
	"def rich_of(value):\n"                                                                      \
	"    rich = {}\n"                                                                            \
	"    if value is not None:\n"                                                                \
	"        rich['result'] = repr(value)\n"                                                     \
	"        if hasattr(value, '_repr_html_'):\n"                                                \
	"            try:\n"                                                                         \
	"                rich['html'] = value._repr_html_()\n"                                       \
	"            except Exception:\n"                                                            \
	"                pass\n"                                                                     \
	"        try:\n"                                                                             \
	"            json.dumps(value); rich['json'] = value\n"                                      \
	"        except Exception:\n"                                                                \
	"            pass\n"                                                                         \
	"    if 'matplotlib.pyplot' in sys.modules:\n"                                               \
	"        plt = sys.modules['matplotlib.pyplot']\n"                                           \
	"        if plt.get_fignums():\n"                                                            \
	"            buf = io.BytesIO(); plt.gcf().savefig(buf, format='png'); plt.close('all')\n"   \
	"            rich['png'] = base64.b64encode(buf.getvalue()).decode()\n"                      \
	"    return rich\n"                                                                          \
	"def write_rich(rich, path):\n"                                                              \
	"    if rich and path:\n"                                                                    \
	"        try:\n"                                                                             \
	"            with open(path, 'w') as f:\n"                                                   \
	"                json.dump(rich, f)\n"                                                       \
	"        except Exception:\n"                                                                \
	"            pass\n"

#endif
