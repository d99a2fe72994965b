/* Templates hopxd can start (templates.c): NAME.ext4 + NAME.json in the
 * templates directory. */
#ifndef HOPXD_TEMPLATES_H
#define HOPXD_TEMPLATES_H

#include <stdbool.h>
#include <jansson.h>

json_t *templates_list(void);                   /* new reference: array of manifests */
json_t *template_find(const char *name_or_id);  /* new reference, or NULL */
char *template_image(const char *name);         /* path of NAME.ext4, or NULL */
/* A name a template can have: 1-63 of [A-Za-z0-9_-]. */
bool template_name_ok(const char *name);

#endif
