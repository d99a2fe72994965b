/* The virtio-mmio transport with a fake device behind it (no KVM, no
 * backend): the register file, feature negotiation, queue setup, the status
 * machine, accesses a driver must not make, the notify and interrupt
 * eventfds, and the snapshot state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio_driver.h"

#define FAKE_ID 42
#define FAKE_BASE 0xd0001000ULL
#define FAKE_IRQ 5
#define FAKE_FEATURE (1ULL << 3) /* a device-specific bit it offers */


/* A device that returns every chain at once, as used with its writable
 * length, and counts what the transport asked of it. */
static struct fake {
	struct virtio_mmio t;
	uint8_t config[8];
	unsigned int activations, resets, notifies[2];
} fk;

static void fake_activate(struct virtio_mmio *t)
{
	(void)t;
	__atomic_add_fetch(&fk.activations, 1, __ATOMIC_SEQ_CST);
}

static void fake_reset(struct virtio_mmio *t)
{
	(void)t;
	__atomic_add_fetch(&fk.resets, 1, __ATOMIC_SEQ_CST);
}

static void fake_notify(struct virtio_mmio *t, unsigned int q)
{
	struct vq_chain c;

	__atomic_add_fetch(&fk.notifies[q], 1, __ATOMIC_SEQ_CST);
	while (virtio_mmio_pop(t, q, &c, "bad chain", NULL)) {
		vq_push(&t->vqs[q], c.head, c.in_len);
		virtio_mmio_signal_used(t, q);
	}
}

static const struct virtio_dev_ops fake_ops = {
	.type = "virtio-fake",
	.device_id = FAKE_ID,
	.num_queues = 2,
	.activate = fake_activate,
	.reset = fake_reset,
	.notify = fake_notify,
};

static int fake_setup(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	if (virtio_mmio_init(&fk.t, &fake_ops, &fk, "f0", NULL, &vd_mem, FAKE_BASE, FAKE_IRQ))
		return -1;
	memcpy(fk.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	fk.t.config = fk.config;
	fk.t.config_len = sizeof(fk.config);
	fk.t.device_features = FAKE_FEATURE;
	return 0;
}

static int fake_teardown(void **state)
{
	(void)state;
	virtio_mmio_destroy(&fk.t);
	return 0;
}

static unsigned int load(const unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void test_identity_registers(void **state)
{
	struct vd d = { .t = &fk.t, .mem = &vd_mem };
	uint8_t b[4];

	(void)state;
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_DEVICE_ID), FAKE_ID);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_VENDOR_ID), 0x58504f48);
	vd_write(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_DEVICE_FEATURES),
			 FAKE_FEATURE | (1U << VIRTIO_RING_F_INDIRECT_DESC) | (1U << VIRTIO_RING_F_EVENT_IDX));
	vd_write(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_DEVICE_FEATURES), 1U << (VIRTIO_F_VERSION_1 - 32));
	vd_write(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	vd_write(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), VQ_MAX_SIZE);
	vd_write(&d, VIRTIO_MMIO_QUEUE_SEL, 2); /* the fake has two queues */
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_STATUS), 0);
	/* Config space, any width; past its end reads as zeros. */
	virtio_mmio_bus_ops.read(&fk.t, VIRTIO_MMIO_CONFIG + 6, b, 4);
	assert_memory_equal(b, "\x07\x08\x00\x00", 4);
	virtio_mmio_bus_ops.read(&fk.t, VIRTIO_MMIO_CONFIG + 1, b, 1);
	assert_int_equal(b[0], 2);
}

static void test_feature_negotiation(void **state)
{
	struct vd d = { .t = &fk.t, .mem = &vd_mem };
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	(void)state;
	/* A legacy driver (no VERSION_1) is refused at FEATURES_OK. */
	vd_write(&d, VIRTIO_MMIO_STATUS, st);
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)FAKE_FEATURE);
	vd_write(&d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_STATUS), st);
	/* So is a bit the device did not offer. */
	vd_write(&d, VIRTIO_MMIO_STATUS, 0);
	vd_write(&d, VIRTIO_MMIO_STATUS, st);
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES, 1U << 5);
	vd_write(&d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_STATUS), st);
	/* Offered bits are accepted, and frozen once FEATURES_OK is set. */
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)FAKE_FEATURE | (1U << VIRTIO_RING_F_EVENT_IDX));
	vd_write(&d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_STATUS), st | VIRTIO_CONFIG_S_FEATURES_OK);
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	assert_int_equal(fk.t.driver_features,
			 (1ULL << VIRTIO_F_VERSION_1) | FAKE_FEATURE | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	/* Queue setup, then DRIVER_OK makes the queues live with the features. */
	vd_queue_setup(&d, 0);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_QUEUE_READY), 1);
	vd_write(&d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	assert_true(fk.t.vqs[0].active);
	assert_true(fk.t.vqs[0].event_idx);
	assert_false(fk.t.vqs[0].indirect);
	assert_int_equal(fk.t.vqs[0].size, VD_QSZ);
	assert_int_equal(fk.t.vqs[0].desc_gpa, VD_RING(0));
	assert_false(fk.t.vqs[1].active); /* never set ready: stays off */
}

static void test_status_machine(void **state)
{
	struct vd d;
	uint32_t ok = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		      VIRTIO_CONFIG_S_DRIVER_OK;
	uint64_t gen;

	(void)state;
	assert_int_equal(vd_init(&d, &fk.t, &vd_mem, 1ULL << VIRTIO_F_VERSION_1, 2), ok);
	/* Queue registers are frozen while live. */
	vd_write(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
	vd_write(&d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	vd_write(&d, VIRTIO_MMIO_QUEUE_NUM, 4);
	assert_int_equal(fk.t.vqs[0].desc_gpa, VD_RING(0));
	assert_int_equal(fk.t.vqs[0].size, VD_QSZ);
	/* Clearing bits without a reset is ignored. */
	vd_write(&d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_STATUS), ok);
	/* Writing 0 resets: registers, queues, a new generation. */
	gen = fk.t.generation;
	vd_write(&d, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(fk.t.generation, gen + 1);
	assert_int_equal(fk.t.driver_features, 0);
	assert_false(fk.t.vqs[0].active);
	vd_write(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(fk.t.reset_pending);

	/* DRIVER_OK without FEATURES_OK: the device needs a reset. */
	vd_write(&d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vd_write(&d, VIRTIO_MMIO_STATUS,
		 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(vd_read(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* NEEDS_RESET sticks until the driver resets. */
	vd_write(&d, VIRTIO_MMIO_STATUS, ok);
	assert_true(vd_read(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	vd_write(&d, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_STATUS), 0);
}

static void test_bad_queue_setup_needs_reset(void **state)
{
	struct vd d;
	uint32_t st;

	(void)state;
	/* A ring outside guest RAM is refused at DRIVER_OK. */
	vd_init(&d, &fk.t, &vd_mem, 1ULL << VIRTIO_F_VERSION_1, 0);
	vd_write(&d, VIRTIO_MMIO_STATUS, 0);
	st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	vd_write(&d, VIRTIO_MMIO_STATUS, st);
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	vd_write(&d, VIRTIO_MMIO_STATUS, st |= VIRTIO_CONFIG_S_FEATURES_OK);
	vd_queue_setup(&d, 0);
	vd_write(&d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x10); /* 64 GiB up: no RAM there */
	assert_int_equal(fk.t.vqs[0].used_gpa, VD_RING(0) + 0x2000); /* ready: frozen */
	vd_write(&d, VIRTIO_MMIO_QUEUE_READY, 0);
	vd_write(&d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x10);
	vd_write(&d, VIRTIO_MMIO_QUEUE_READY, 1);
	vd_write(&d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(vd_read(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_false(fk.t.vqs[0].active);
	/* A queue bigger than QueueNumMax likewise. */
	vd_write(&d, VIRTIO_MMIO_STATUS, 0);
	vd_write(&d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write(&d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	vd_write(&d, VIRTIO_MMIO_STATUS, st);
	vd_queue_setup(&d, 0);
	vd_write(&d, VIRTIO_MMIO_QUEUE_READY, 0);
	vd_write(&d, VIRTIO_MMIO_QUEUE_NUM, VQ_MAX_SIZE + 1);
	vd_write(&d, VIRTIO_MMIO_QUEUE_READY, 1);
	vd_write(&d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(vd_read(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_bad_accesses(void **state)
{
	struct vd d = { .t = &fk.t, .mem = &vd_mem };
	uint8_t b[2] = { 0xff, 0xff };
	uint8_t one = VIRTIO_CONFIG_S_ACKNOWLEDGE;

	(void)state;
	/* Registers are 32-bit: other widths read as zeros, writes are dropped. */
	virtio_mmio_bus_ops.read(&fk.t, VIRTIO_MMIO_MAGIC_VALUE, b, 2);
	assert_int_equal(b[0] | b[1], 0);
	virtio_mmio_bus_ops.write(&fk.t, VIRTIO_MMIO_STATUS, &one, 1);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_STATUS), 0);
	/* Misaligned, unknown and read-only registers change nothing. */
	vd_write(&d, VIRTIO_MMIO_STATUS + 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vd_write(&d, 0x0f0, 0xffffffff);
	vd_write(&d, VIRTIO_MMIO_MAGIC_VALUE, 0);
	vd_write(&d, VIRTIO_MMIO_DEVICE_ID, 7);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_DEVICE_ID), FAKE_ID);
	/* Queue registers of a queue the device does not have. */
	vd_write(&d, VIRTIO_MMIO_QUEUE_SEL, 7);
	vd_write(&d, VIRTIO_MMIO_QUEUE_NUM, 8);
	vd_write(&d, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_QUEUE_READY), 0);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		assert_null(fk.t.vqs[q].mem);
	assert_true(fk.t.warned); /* and the driver's misbehaviour was logged */
}

/* Without a VMM, a QueueNotify register write lands on the queue's eventfd,
 * as KVM's ioeventfd would signal it. */
static void test_notify_eventfd(void **state)
{
	struct vd d = { .t = &fk.t, .mem = &vd_mem };

	(void)state;
	assert_true(fk.t.notify_fd[0] >= 0 && fk.t.notify_fd[1] >= 0);
	assert_int_equal(fk.t.notify_fd[2], -1); /* two queues: no third eventfd */
	vd_write(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	vd_write(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	vd_write(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 2); /* no such queue: dropped */
	assert_int_equal(devloop_eventfd_read(fk.t.notify_fd[1]), 2);
	assert_int_equal(devloop_eventfd_read(fk.t.notify_fd[0]), 0);
}

/* With the device thread running: a notify reaches the device, its used
 * entry raises the interrupt through the irqfd, ISR shows why, and the
 * driver acknowledges it. */
static void test_interrupt_eventfd(void **state)
{
	struct vd d;
	uint64_t buf;
	uint16_t id, head;
	uint32_t len;

	(void)state;
	assert_int_equal(virtio_mmio_start(&fk.t), 0);
	vd_init(&d, &fk.t, &vd_mem, 1ULL << VIRTIO_F_VERSION_1, 2);
	for (int i = 0; i < 2000 && !load(&fk.activations); i++)
		usleep(1000);
	assert_int_equal(load(&fk.activations), 1);
	assert_int_equal(load(&fk.resets), 1); /* vd_init's reset, run on the device thread */
	assert_int_equal(vd_eventfd_wait(fk.t.irqfd, 0), 0); /* nothing to say yet */

	buf = vd_alloc(&d, 512);
	head = vd_send(&d, 1, (struct vd_seg[]){ { buf, 16, false }, { buf + 16, 100, true } }, 2);
	assert_true(vd_used(&d, 1, &id, &len, 2000));
	assert_int_equal(id, head);
	assert_int_equal(len, 100);
	assert_int_equal(load(&fk.notifies[1]), 1);
	assert_int_equal(load(&fk.notifies[0]), 0);
	assert_true(vd_eventfd_wait(fk.t.irqfd, 2000) >= 1);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	vd_write(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* The driver asked for no interrupts (NO_INTERRUPT, no EVENT_IDX): the
	 * chain comes back without one. */
	((uint16_t *)vd_ptr(&d, VD_RING(1) + 0x1000, 2))[0] = VRING_AVAIL_F_NO_INTERRUPT;
	vd_send(&d, 1, (struct vd_seg[]){ { buf, 8, true } }, 1);
	assert_true(vd_used(&d, 1, &id, &len, 2000));
	assert_int_equal(len, 8);
	assert_int_equal(vd_eventfd_wait(fk.t.irqfd, 100), 0);
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	((uint16_t *)vd_ptr(&d, VD_RING(1) + 0x1000, 2))[0] = 0;

	/* An available index a whole queue ahead: the device fails and says so
	 * with a configuration interrupt. */
	((uint16_t *)vd_ptr(&d, VD_RING(0) + 0x1000, 4))[1] = VD_QSZ + 1;
	vd_write(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(vd_eventfd_wait(fk.t.irqfd, 2000) >= 1);
	assert_true(vd_read(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(vd_read(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_false(fk.t.vqs[0].active);
	assert_false(fk.t.vqs[1].active);
}

/* What a snapshot keeps of the transport comes back in a fresh one, and a
 * state from another slot is refused. */
static void test_save_load(void **state)
{
	struct virtio_mmio_state st;
	struct virtio_mmio other;
	struct vd d;

	(void)state;
	vd_init(&d, &fk.t, &vd_mem, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX), 2);
	fk.t.vqs[1].last_avail = 3;
	fk.t.vqs[1].next_used = 2;
	virtio_mmio_save(&fk.t, &st);
	assert_int_equal(st.device_id, FAKE_ID);
	assert_int_equal(st.q[1].last_avail, 3);

	assert_int_equal(virtio_mmio_init(&other, &fake_ops, &fk, "f1", NULL, &vd_mem, FAKE_BASE, FAKE_IRQ), 0);
	other.device_features = FAKE_FEATURE;
	assert_int_equal(virtio_mmio_load(&other, &st), 0);
	assert_int_equal(other.status, fk.t.status);
	assert_int_equal(other.driver_features, fk.t.driver_features);
	assert_true(other.vqs[1].active);
	assert_true(other.vqs[1].event_idx);
	assert_int_equal(other.vqs[1].last_avail, 3);
	assert_int_equal(other.vqs[1].next_used, 2);
	assert_int_equal(other.vqs[0].used_gpa, VD_RING(0) + 0x2000);
	virtio_mmio_destroy(&other);

	assert_int_equal(virtio_mmio_init(&other, &fake_ops, &fk, "f2", NULL, &vd_mem, FAKE_BASE + 0x1000, 6), 0);
	assert_int_equal(virtio_mmio_load(&other, &st), -EINVAL);
	virtio_mmio_destroy(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_registers, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_feature_negotiation, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_status_machine, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_bad_queue_setup_needs_reset, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_bad_accesses, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_notify_eventfd, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_eventfd, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_save_load, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, vd_group_setup, vd_group_teardown);
}
