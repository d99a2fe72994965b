/* hopxd's small helpers: random tokens, hashes, times, processes. */
#ifndef HOPXD_UTIL_H
#define HOPXD_UTIL_H

#include <stdbool.h>
#include <stddef.h>

char *random_token(const char *prefix, size_t bytes);
char *token_hash(const char *token);
long long now_s(void);
/* Constant time in the contents of B (the secret). */
bool secret_equal(const char *a, const char *b);
/* PID's start time in clock ticks after boot; 0 if gone or a zombie. */
unsigned long long proc_start_time(int pid);
/* Start ARGV in its own session, output appended to LOG_PATH, reaped by
 * the main loop; its pid and start time. -errno (logged). */
int spawn_detached(char **argv, char **envp, const char *log_path, int *pid, unsigned long long *start);
/* End the process PID that started at START: SIGTERM, up to WAIT_MS for it
 * to go, then SIGKILL. Nothing if it is gone or the pid was reused. */
void stop_process(int pid, unsigned long long start, int wait_ms);

#endif
