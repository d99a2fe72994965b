/* MP table writer (Intel MP Spec 1.4; see mptable.h). Layout, all within the
 * 1 KiB at BOOT_MPTABLE_ADDR that e820 reserves:
 *   floating pointer (16) | header (44) | processors (20 each) | bus (8) |
 *   IOAPIC (8) | 16 I/O interrupts (8 each) | 2 local interrupts (8 each) */
#include "mptable.h"

#include <errno.h>
#include <string.h>

#include "../lib/log.h"
#include "../lib/memory.h"
#include "../lib/layout.h"

struct mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

#define CPU_ENABLED 1
#define CPU_BOOTPROCESSOR 2
#define APIC_VERSION 0x14
#define IOAPIC_VERSION 0x11
#define MP_SPEC_REV 4

_Static_assert(sizeof(struct mpf_intel) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mpc_table) == 44, "MP config header is 44 bytes");
_Static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry is 20 bytes");

uint8_t mptable_sum(const void *p, uint64_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

int mptable_write(const struct guest_mem *m, unsigned int ncpus)
{
	const uint64_t size = sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
			      ncpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
			      sizeof(struct mpc_ioapic) + (MPTABLE_IRQS + 2) * sizeof(struct mpc_intsrc);
	const uint8_t ioapic_id = (uint8_t)ncpus;
	uint8_t *base, *p;
	struct mpf_intel *mpf;
	struct mpc_table *mpc;

	if (ncpus == 0 || ncpus > GUEST_VCPUS_MAX || size > BOOT_EBDA_END - BOOT_MPTABLE_ADDR) {
		pr_err("MP table: %u vCPUs do not fit (1..%d)", ncpus, GUEST_VCPUS_MAX);
		return -EINVAL;
	}
	base = guest_mem_ptr(m, BOOT_MPTABLE_ADDR, size);
	if (!base)
		return -EFAULT;
	memset(base, 0, size);

	mpf = (struct mpf_intel *)base;
	mpc = (struct mpc_table *)(base + sizeof(*mpf));
	p = (uint8_t *)(mpc + 1);

	for (unsigned int i = 0; i < ncpus; i++) {
		struct mpc_cpu *c = (struct mpc_cpu *)p;

		c->type = MP_PROCESSOR;
		c->apicid = (uint8_t)i;
		c->apicver = APIC_VERSION;
		c->cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0);
		c->cpufeature = 0x600; /* family 6 */
		c->featureflag = (1u << 9) | (1u << 0); /* APIC, FPU */
		p += sizeof(*c);
	}
	{
		struct mpc_bus *b = (struct mpc_bus *)p;

		b->type = MP_BUS;
		b->busid = 0;
		memcpy(b->bustype, "ISA   ", 6);
		p += sizeof(*b);
	}
	{
		struct mpc_ioapic *io = (struct mpc_ioapic *)p;

		io->type = MP_IOAPIC;
		io->apicid = ioapic_id;
		io->apicver = IOAPIC_VERSION;
		io->flags = 1; /* enabled */
		io->apicaddr = (uint32_t)IOAPIC_ADDR;
		p += sizeof(*io);
	}
	/* ISA IRQ n arrives on IOAPIC pin n (edge, active high: the bus defaults). */
	for (unsigned int irq = 0; irq < MPTABLE_IRQS; irq++) {
		struct mpc_intsrc *s = (struct mpc_intsrc *)p;

		s->type = MP_INTSRC;
		s->irqtype = MP_INT;
		s->srcbus = 0;
		s->srcbusirq = (uint8_t)irq;
		s->dstapic = ioapic_id;
		s->dstirq = (uint8_t)irq;
		p += sizeof(*s);
	}
	/* LINT0 takes the 8259's ExtINT, LINT1 the NMI, on every local APIC (0xff). */
	for (unsigned int lint = 0; lint < 2; lint++) {
		struct mpc_intsrc *s = (struct mpc_intsrc *)p;

		s->type = MP_LINTSRC;
		s->irqtype = lint == 0 ? MP_EXTINT : MP_NMI;
		s->srcbus = 0;
		s->dstapic = 0xff;
		s->dstirq = (uint8_t)lint;
		p += sizeof(*s);
	}

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "HOPX    ", 8);
	memcpy(mpc->productid, "HOPX-VMM    ", 12);
	mpc->oemcount = (uint16_t)(ncpus + 1 + 1 + MPTABLE_IRQS + 2);
	mpc->lapic = (uint32_t)LAPIC_ADDR;
	mpc->checksum = (uint8_t)-mptable_sum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(BOOT_MPTABLE_ADDR + sizeof(*mpf));
	mpf->length = 1; /* in 16-byte units */
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = (uint8_t)-mptable_sum(mpf, sizeof(*mpf));
	return 0;
}
