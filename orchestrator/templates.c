/* Templates hopxd can start: each a root filesystem image NAME.ext4 with
 * its manifest NAME.json in the templates directory (make templates), as
 * GET /v1/templates lists them (hopx-api.md §2.1 names the fields). */
#include <dirent.h>
#include <string.h>

#include <glib.h>

#include "config.h"
#include "templates.h"

/* A manifest with the fields the SDK reads filled in. */
static json_t *load(const char *name)
{
	char *path = g_strdup_printf("%s/%s.json", cfg.templates_dir, name);
	char *image = g_strdup_printf("%s/%s.ext4", cfg.templates_dir, name);
	json_t *m = json_load_file(path, 0, NULL);
	bool present = g_file_test(image, G_FILE_TEST_IS_REGULAR);

	g_free(path);
	g_free(image);
	if (!json_is_object(m) || !present) {
		json_decref(m);
		return NULL;
	}
	json_object_set_new(m, "id", json_string(name));
	json_object_set_new(m, "name", json_string(name));
	if (!json_object_get(m, "display_name"))
		json_object_set_new(m, "display_name", json_string(name));
	if (!json_object_get(m, "category"))
		json_object_set_new(m, "category", json_string("development"));
	json_object_set_new(m, "is_active", json_true());
	json_object_set_new(m, "status", json_string("active"));
	return m;
}

json_t *templates_list(void)
{
	json_t *list = json_array();
	DIR *d = opendir(cfg.templates_dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0) {
			char *name = g_strndup(e->d_name, n - 5);
			json_t *m = load(name);

			if (m)
				json_array_append_new(list, m);
			g_free(name);
		}
	}
	if (d)
		closedir(d);
	return list;
}

bool template_name_ok(const char *name)
{
	if (!*name || strlen(name) > 63)
		return false;
	for (const char *p = name; *p; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_')
			return false;
	return true;
}

json_t *template_find(const char *name)
{
	return template_name_ok(name) ? load(name) : NULL;
}

char *template_image(const char *name)
{
	return template_name_ok(name) ? g_strdup_printf("%s/%s.ext4", cfg.templates_dir, name) : NULL;
}
