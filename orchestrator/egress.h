/* egress.c: the host's rules for sandboxes with internet access (extra
 * denied CIDRs in DENY, a JSON array or NULL); whether they are in place,
 * and if not why. */
#ifndef HOPXD_EGRESS_H
#define HOPXD_EGRESS_H

#include <stdbool.h>
#include <jansson.h>

void egress_setup(json_t *deny);
bool egress_available(const char **why);

#endif
