/* hopxd's sandbox lifecycle rules (orchestrator/sandbox.c): the state
 * transitions pause and resume allow, and the checks of lifecycle
 * requests: create bodies (template, timeout, types, env), timeouts, ids,
 * template names; and what a listing says of each runtime. */
#include <errno.h>
#include <string.h>

#include "../../orchestrator/runtime.h"
#include "../../orchestrator/sandbox.h"
#include "../../orchestrator/templates.h"
#include "hopxd_test.h"

static void test_pause_transitions(void **state)
{
	(void)state;
	assert_int_equal(sandbox_transition("running", SANDBOX_PAUSE), SANDBOX_GO);
	assert_int_equal(sandbox_transition("paused", SANDBOX_PAUSE), SANDBOX_ALREADY);
	assert_int_equal(sandbox_transition("creating", SANDBOX_PAUSE), SANDBOX_REFUSED);
	assert_int_equal(sandbox_transition("resuming", SANDBOX_PAUSE), SANDBOX_REFUSED);
	assert_int_equal(sandbox_transition("", SANDBOX_PAUSE), SANDBOX_REFUSED);
}

static void test_resume_transitions(void **state)
{
	(void)state;
	assert_int_equal(sandbox_transition("paused", SANDBOX_RESUME), SANDBOX_GO);
	assert_int_equal(sandbox_transition("running", SANDBOX_RESUME), SANDBOX_ALREADY);
	assert_int_equal(sandbox_transition("creating", SANDBOX_RESUME), SANDBOX_REFUSED);
	assert_int_equal(sandbox_transition("resuming", SANDBOX_RESUME), SANDBOX_REFUSED);
	assert_int_equal(sandbox_transition("deleted", SANDBOX_RESUME), SANDBOX_REFUSED);
}

static void test_settling(void **state)
{
	(void)state;
	assert_true(sandbox_settling("creating"));
	assert_true(sandbox_settling("resuming"));
	assert_false(sandbox_settling("running"));
	assert_false(sandbox_settling("paused"));
}

/* Parse TEXT as a create body: the status it gets, its code in *CODE. */
static unsigned int create(const char *text, struct create_request *req, const char **code)
{
	static json_t *body; /* kept until the next call: REQ points into it */
	char why[512];

	json_decref(body);
	body = text ? json_loads(text, 0, NULL) : NULL;
	if (text)
		assert_non_null(body);
	return sandbox_parse_create(body, req, code, why, sizeof(why));
}

static void test_create_valid(void **state)
{
	struct create_request r;
	const char *code;

	(void)state;
	assert_int_equal(create("{\"template_name\":\"code-interpreter\"}", &r, &code), 0);
	assert_string_equal(r.template_name, "code-interpreter");
	assert_int_equal(r.timeout_s, 0);
	assert_false(r.internet);
	assert_null(r.env);
	assert_int_equal(create("{\"template_name\":\"a\",\"template_id\":\"b\",\"timeout_seconds\":300,"
				"\"internet_access\":false,\"env_vars\":{\"X\":\"1\",\"Y\":\"\"}}",
				&r, &code),
			 0);
	assert_string_equal(r.template_name, "b"); /* template_id wins */
	assert_int_equal(r.timeout_s, 300);
	assert_false(r.internet);
	assert_int_equal(json_object_size(r.env), 2);
	assert_int_equal(create("{\"template_id\":\"base\",\"timeout_seconds\":86400}", &r, &code), 0);
	assert_string_equal(r.template_name, "base");
}

static void test_create_template(void **state)
{
	struct create_request r;
	const char *code;

	(void)state;
	assert_int_equal(create(NULL, &r, &code), 400); /* an empty POST */
	assert_string_equal(code, "INVALID_REQUEST");
	assert_int_equal(create("{}", &r, &code), 400);
	assert_int_equal(create("{\"template_name\":5}", &r, &code), 400);
	assert_int_equal(create("{\"template_name\":null}", &r, &code), 400);
	assert_int_equal(create("{\"template_id\":[\"x\"]}", &r, &code), 400);
	assert_string_equal(code, "INVALID_REQUEST");
}

static void test_create_timeout(void **state)
{
	static const char *const bad[] = { "0", "-1", "\"60\"", "1.5", "86401", "true", "null", "{}" };
	struct create_request r;
	const char *code;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *text = g_strdup_printf("{\"template_name\":\"base\",\"timeout_seconds\":%s}", bad[i]);

		assert_int_equal(create(text, &r, &code), 400);
		assert_string_equal(code, "INVALID_REQUEST");
		g_free(text);
	}
	assert_int_equal(create("{\"template_name\":\"base\",\"timeout_seconds\":1}", &r, &code), 0);
	assert_int_equal(r.timeout_s, 1);
}

static void test_create_types(void **state)
{
	struct create_request r;
	const char *code;

	(void)state;
	assert_int_equal(create("{\"template_name\":\"base\",\"internet_access\":\"yes\"}", &r, &code), 400);
	assert_string_equal(code, "INVALID_REQUEST");
	assert_int_equal(create("{\"template_name\":\"base\",\"internet_access\":1}", &r, &code), 400);
	/* true on a host whose egress rules are not in place (egress_setup never ran here) */
	assert_int_equal(create("{\"template_name\":\"base\",\"internet_access\":true}", &r, &code), 400);
	assert_string_equal(code, "INTERNET_NOT_AVAILABLE");
	assert_int_equal(create("{\"template_name\":\"base\",\"env_vars\":[\"A=1\"]}", &r, &code), 400);
	assert_string_equal(code, "INVALID_REQUEST");
	assert_int_equal(create("{\"template_name\":\"base\",\"env_vars\":\"A=1\"}", &r, &code), 400);
	assert_int_equal(create("{\"template_name\":\"base\",\"env_vars\":{\"A=B\":\"1\"}}", &r, &code), 400);
	assert_int_equal(create("{\"template_name\":\"base\",\"env_vars\":{\"\":\"1\"}}", &r, &code), 400);
	assert_int_equal(create("{\"template_name\":\"base\",\"env_vars\":{\"A\":1}}", &r, &code), 400);
	assert_int_equal(create("{\"template_name\":\"base\",\"env_vars\":{\"A\":null}}", &r, &code), 400);
}

static void test_timeout_ok(void **state)
{
	json_t *v;

	(void)state;
	cfg.max_lifetime_s = 100;
	assert_true(sandbox_timeout_ok(v = json_integer(100)));
	json_decref(v);
	assert_false(sandbox_timeout_ok(v = json_integer(101)));
	json_decref(v);
	assert_false(sandbox_timeout_ok(NULL));
	cfg.max_lifetime_s = 86400;
}

static void test_ids(void **state)
{
	(void)state;
	assert_true(sandbox_id_ok("sb_0123456789abcdef"));
	assert_true(sandbox_id_ok("sb_ABCdef"));
	assert_false(sandbox_id_ok("sb_"));
	assert_false(sandbox_id_ok(""));
	assert_false(sandbox_id_ok("0123456789abcdef"));
	assert_false(sandbox_id_ok("sb_xyz"));
	assert_false(sandbox_id_ok("sb_12/../34"));
	assert_false(sandbox_id_ok("../../etc"));
	assert_false(sandbox_id_ok("sb_0123456789abcdef0123456789abcdef0123456789")); /* longer than any id */
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = g_build_filename(dir, name, NULL);

	assert_true(g_file_set_contents(path, text, -1, NULL));
	g_free(path);
}

static void test_templates(void **state)
{
	json_t *t;
	char *image;

	(void)state;
	assert_int_equal(g_mkdir_with_parents(cfg.templates_dir, 0700), 0);
	write_file(cfg.templates_dir, "good.json", "{\"language\":\"python\"}");
	write_file(cfg.templates_dir, "good.ext4", "");
	write_file(cfg.templates_dir, "noimage.json", "{}");
	write_file(cfg.state_dir, "outside.json", "{}");
	write_file(cfg.state_dir, "outside.ext4", "");
	t = template_find("good");
	assert_non_null(t);
	assert_string_equal(json_string_value(json_object_get(t, "name")), "good");
	assert_string_equal(json_string_value(json_object_get(t, "category")), "development");
	json_decref(t);
	assert_null(template_find("noimage"));  /* a manifest without its image */
	assert_null(template_find("missing"));
	assert_null(template_find("../outside")); /* a real manifest, outside the templates directory */
	assert_null(template_find(""));
	assert_false(template_name_ok("a/b"));
	assert_false(template_name_ok(".."));
	assert_true(template_name_ok("code-interpreter_2"));
	assert_null(template_image("../outside"));
	image = template_image("good");
	assert_true(g_str_has_suffix(image, "/templates/good.ext4"));
	g_free(image);
	t = templates_list();
	assert_int_equal(json_array_size(t), 1);
	json_decref(t);
}

static void test_runtime_facts(void **state)
{
	struct sandbox s;
	json_t *o;

	(void)state;
	assert_ptr_equal(runtime_get("vm"), &rt_vm);
	assert_ptr_equal(runtime_get("namespace"), &rt_namespace);
	assert_null(runtime_get("auto"));
	assert_null(runtime_select("nope"));
	assert_true(runtime_start_timeout_s("vm") > runtime_start_timeout_s("namespace"));
	sample_sandbox(&s, "sb_0a", "running");
	o = sandbox_json(&s);
	assert_string_equal(json_string_value(json_object_get(o, "isolation")), "namespaces (weaker than a VM)");
	assert_string_equal(json_string_value(json_object_get(o, "public_host")), "http://127.0.0.1:8080/sandbox/sb_0a");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "running");
	json_decref(o);
	g_strlcpy(s.runtime, "vm", sizeof(s.runtime));
	o = sandbox_json(&s);
	assert_string_equal(json_string_value(json_object_get(o, "isolation")), "microvm");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_transitions),
		cmocka_unit_test(test_resume_transitions),
		cmocka_unit_test(test_settling),
		cmocka_unit_test_setup_teardown(test_create_valid, hopxd_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_create_template, hopxd_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_create_timeout, hopxd_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_create_types, hopxd_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_timeout_ok, hopxd_setup, hopxd_teardown),
		cmocka_unit_test(test_ids),
		cmocka_unit_test_setup_teardown(test_templates, hopxd_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_runtime_facts, hopxd_setup, hopxd_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
