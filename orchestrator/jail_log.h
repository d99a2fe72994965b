/* hopx-jail's one way to say something: a line "hopx-jail: ..." on stderr
 * (the sandbox's log file, which hopxd reads back when a sandbox dies).
 * hopx-jail is a short-lived helper: its lines are plain text. */
#ifndef HOPX_JAIL_LOG_H
#define HOPX_JAIL_LOG_H

void jail_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
