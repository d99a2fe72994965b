/* hopx-vmm's --drive, --net and --vsock options. */
#include <errno.h>
#include <string.h>

#include "../../frontend/cli_devices.h"
#include "test_helpers.h"

static int drive(struct hopx_vm_config *cfg, const char *s)
{
	static char buf[16][128];
	static int n;
	char *b = buf[n++ % 16];

	strcpy(b, s);
	return cli_parse_drive(b, cfg);
}

static void test_drive(void **state)
{
	struct hopx_vm_config cfg;

	(void)state;
	hopx_vm_config_init(&cfg);
	log_set_level(LOG_SILENT);
	assert_int_equal(drive(&cfg, "path=/a.img"), 0);
	assert_int_equal(drive(&cfg, "path=/b.img,ro,id=data,direct"), 0);
	assert_int_equal(cfg.ndrives, 2);
	assert_string_equal(cfg.drives[0].path, "/a.img");
	assert_false(cfg.drives[0].read_only);
	assert_null(cfg.drives[0].id);
	assert_true(cfg.drives[1].read_only);
	assert_true(cfg.drives[1].direct);
	assert_string_equal(cfg.drives[1].id, "data");
	assert_int_equal(drive(&cfg, "ro"), -EINVAL);                 /* no path */
	assert_int_equal(drive(&cfg, "path="), -EINVAL);
	assert_int_equal(drive(&cfg, "path=/x,bogus"), -EINVAL);
	assert_int_equal(drive(&cfg, "path=/x,id=123456789012345678901"), -EINVAL); /* 21 bytes */
	assert_int_equal(cfg.ndrives, 2);
	while (cfg.ndrives < HOPX_MAX_DRIVES)
		assert_int_equal(drive(&cfg, "path=/x"), 0);
	assert_int_equal(drive(&cfg, "path=/x"), -EINVAL); /* too many */
}

static void test_net(void **state)
{
	struct hopx_vm_config cfg;
	char a[] = "tap=tap0,mac=02:00:00:aa:bb:cc", b[] = "tap=tap1", c[] = "mac=02:00:00:00:00:01",
	     d[] = "tap=t,mac=01:00:00:00:00:01", e[] = "tap=t,mac=02:00:00:00:00", f[] = "tap=0123456789abcdef";

	(void)state;
	hopx_vm_config_init(&cfg);
	log_set_level(LOG_SILENT);
	assert_int_equal(cli_parse_net(a, &cfg), 0);
	assert_true(cfg.nets[0].mac_set);
	assert_memory_equal(cfg.nets[0].mac, ((uint8_t[]){ 2, 0, 0, 0xaa, 0xbb, 0xcc }), 6);
	assert_int_equal(cli_parse_net(b, &cfg), 0);
	assert_false(cfg.nets[1].mac_set);
	assert_int_equal(cli_parse_net(c, &cfg), -EINVAL); /* no tap */
	assert_int_equal(cli_parse_net(d, &cfg), -EINVAL); /* multicast MAC */
	assert_int_equal(cli_parse_net(e, &cfg), -EINVAL); /* short MAC */
	assert_int_equal(cli_parse_net(f, &cfg), -EINVAL); /* 16-character name */
	assert_int_equal(cfg.nnets, 2);
}

static void test_vsock(void **state)
{
	struct hopx_vm_config cfg;
	char a[] = "cid=3,uds=/tmp/v.sock", b[] = "cid=4,uds=/x", c[] = "cid=2,uds=/x", d[] = "uds=/x",
	     e[] = "cid=4294967295,uds=/x", f[] = "cid=3x,uds=/x";

	(void)state;
	log_set_level(LOG_SILENT);
	hopx_vm_config_init(&cfg);
	assert_int_equal(cli_parse_vsock(c, &cfg), -EINVAL); /* 2 is the host */
	assert_int_equal(cli_parse_vsock(d, &cfg), -EINVAL);
	assert_int_equal(cli_parse_vsock(e, &cfg), -EINVAL);
	assert_int_equal(cli_parse_vsock(f, &cfg), -EINVAL);
	assert_int_equal(cli_parse_vsock(a, &cfg), 0);
	assert_int_equal(cfg.vsock.cid, 3);
	assert_string_equal(cfg.vsock.uds_path, "/tmp/v.sock");
	assert_int_equal(cli_parse_vsock(b, &cfg), -EINVAL); /* one device per VM */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drive),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_vsock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
