/* The warm bash worker (warm.c has the protocol): one bash that runs each
 * request in a subshell it forks (no exec of a new bash: that is what costs
 * in a guest whose kernel code is emulated), so nothing a run does to the
 * shell's state outlives it, as with `bash -c`. A request is a line on fd 3
 * that the agent quoted: __hopx_run CODE_FILE ENV_FILE CWD OUT ERR. The
 * environment file unsets what the request drops and exports what it sets;
 * the answer is {"exit_code":N} on fd 4. */
#ifndef HOPX_AGENT_WARM_BASH_H
#define HOPX_AGENT_WARM_BASH_H

static const char warm_bash[] =
	"__hopx_run() {\n"
	"\t(\n"
	"\t\texec 3<&- 4>&- </dev/null >\"$4\" 2>\"$5\"\n"
	"\t\t. \"$2\" 2>/dev/null\n"
	"\t\tcd -- \"$3\" || exit 1\n"
	"\t\tHOPX_CODE_FILE=$1\n"
	"\t\tunset -f __hopx_run\n"
	"\t\tset --\n"
	"\t\t. \"$HOPX_CODE_FILE\"\n"
	"\t)\n"
	"\tprintf '{\"exit_code\":%d}\\n' \"$?\" >&4\n"
	"}\n"
	"while IFS= read -r __hopx_line <&3; do eval \"$__hopx_line\"; done\n";

#endif
