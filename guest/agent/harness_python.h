/* The Python harness of one-shot runs (`python3 -c HARNESS CODE`: background
 * runs, /execute/stream, and /execute when the warm worker is busy): runs
 * the code like a notebook cell and writes its rich outputs (python_rich.h)
 * to the file named by $HOPX_RICH_OUT. */
#ifndef HOPX_AGENT_HARNESS_PYTHON_H
#define HOPX_AGENT_HARNESS_PYTHON_H

#include "python_rich.h"

static const char harness_python[] = PYTHON_RICH
	"rich = rich_of(run_cell(sys.argv[1], {'__name__': '__main__'}))\n"
	"write_rich(rich, os.environ.get('HOPX_RICH_OUT'))\n";

#endif
