/* hopx test guest: a freestanding ring-0 program that hopx-vmm (or QEMU's
 * microvm, through its PVH note) boots as its kernel. It finds the
 * virtio-mmio devices on its command line, runs the scenarios named by
 * hopxguest.run= (comma-separated: blk, hostile, net, vsock, cpu, bench, counter),
 * reports
 * "TEST name: ok|FAILED (...)" lines on the serial port, and powers off by
 * printing the line hopx-vmm treats as power-off (and writing QEMU's
 * isa-debug-exit port, which hopx-vmm ignores).
 *
 * Drives: the first virtio-blk device is the test disk (filled by the host
 * with blk_pattern), a second one, if present, is the read-only drive. */
#include <linux/virtio_ids.h>

#include "guest.h"
#include "irq.h"
#include "lib.h"
#include "virtio.h"

const char *guest_cmdline;
void guest_main(uint64_t cmdline_paddr);

static bool wants(const char *run, const char *what)
{
	size_t n = strlen(what);

	for (const char *p = run; *p;) {
		if (strncmp(p, what, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		while (*p && *p != ',')
			p++;
		if (*p == ',')
			p++;
	}
	return false;
}

static uint64_t opt_u64(const char *key, uint64_t def)
{
	char buf[32];
	const char *p = buf;

	return cmdline_get(key, buf, sizeof(buf)) ? parse_u64(&p) : def;
}

static void power_off(void)
{
	gprintf("hopx-test-guest: %s, %d failure(s)\n", test_failures ? "FAILED" : "done", test_failures);
	gprintf("reboot: Power down\n");
	outb(0xf4, test_failures ? 1 : 0); /* QEMU isa-debug-exit: exit status (v << 1) | 1 */
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_main(uint64_t cmdline_paddr)
{
	struct gdev devs[MAX_DEVS];
	char run[64] = "blk,hostile,net,vsock";
	int n, from;
	struct gdev *blk, *ro, *net, *vs;

	guest_cmdline = (const char *)cmdline_paddr;
	cmdline_init(guest_cmdline);
	gprintf("hopx-test-guest: started, command line: %s\n", guest_cmdline ? guest_cmdline : "(none)");
	irq_init();
	cmdline_get("hopxguest.run", run, sizeof(run));
	n = virtio_find(devs, MAX_DEVS);
	gprintf("hopx-test-guest: %d virtio device(s), running %s\n", n, run);
	from = 0;
	blk = virtio_next(devs, n, VIRTIO_ID_BLOCK, &from);
	ro = virtio_next(devs, n, VIRTIO_ID_BLOCK, &from);
	from = 0;
	net = virtio_next(devs, n, VIRTIO_ID_NET, &from);
	from = 0;
	vs = virtio_next(devs, n, VIRTIO_ID_VSOCK, &from);

	if (wants(run, "blk") && check(blk != NULL, "blk-present", "no virtio-blk device"))
		blk_tests(blk, ro);
	if (wants(run, "hostile") && check(blk != NULL, "hostile-present", "no virtio-blk device"))
		hostile_tests(blk);
	if (wants(run, "net") && check(net != NULL, "net-present", "no virtio-net device"))
		net_tests(net);
	if (wants(run, "vsock") && check(vs != NULL, "vsock-present", "no virtio-vsock device"))
		vsock_tests(vs);
	if (wants(run, "cpu"))
		cpu_tests();
	if (wants(run, "counter"))
		counter_run(blk, opt_u64("hopxguest.count", 50));
	if (wants(run, "bench")) {
		if (blk)
			blk_bench(blk, opt_u64("hopxguest.blk_mib", 256), opt_u64("hopxguest.rand_ops", 20000));
		if (vs)
			vsock_bench(vs, (uint32_t)opt_u64("hopxguest.vsock_mib", 256));
	}
	power_off();
}
