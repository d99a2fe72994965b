/* The guest-physical memory map hopx-vmm builds (Firecracker-style).
 *
 *   0x00000500  GDT (4 entries)                 0x00007000  zero page (boot_params)
 *   0x00000520  IDT (empty)                     0x00008000  setup_data: RNG seed
 *   0x00009000  PML4, 0xa000 PDPT, 0xb000.. 4 PDs: identity map of the first 4 GiB
 *   0x00008ff0  initial stack pointer           0x00020000  kernel command line
 *   0x0009fc00  MP table (reserved in e820)     0x00100000  RAM continues (kernel at its paddr)
 *   initrd      page-aligned, as high as RAM and the kernel's initrd_addr_max allow
 *   0xd0000000  MMIO gap up to 4 GiB: boot timer, VM generation ID (+0x100), then one 4 KiB
 *               slot per virtio device from 0xd0001000
 *   RAM beyond the gap's start continues at 4 GiB.
 */
#ifndef HOPX_BOOT_LAYOUT_H
#define HOPX_BOOT_LAYOUT_H

#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_IDT_ADDR 0x520ULL
#define BOOT_ZERO_PAGE_ADDR 0x7000ULL
#define BOOT_SETUP_DATA_ADDR 0x8000ULL
#define BOOT_SETUP_DATA_MAX 0xff0ULL
#define BOOT_STACK_ADDR 0x8ff0ULL
#define BOOT_PML4_ADDR 0x9000ULL
#define BOOT_PDPT_ADDR 0xa000ULL
#define BOOT_PD_ADDR 0xb000ULL /* four 4 KiB PDs: 0xb000..0xefff */
#define BOOT_CMDLINE_ADDR 0x20000ULL
#define BOOT_CMDLINE_MAX 4096ULL
#define BOOT_MPTABLE_ADDR 0x9fc00ULL
#define BOOT_EBDA_END 0xa0000ULL
#define BOOT_HIMEM_START 0x100000ULL

#define MMIO_GAP_START 0xd0000000ULL
#define MMIO_GAP_END 0x100000000ULL
/* Guest writes here mark "userspace ready" (see devices/boot_timer.c). */
#define BOOT_TIMER_MMIO_ADDR MMIO_GAP_START
#define BOOT_TIMER_MMIO_SIZE 0x100ULL
/* The VM generation device (devices/genid.h) and its ISA IRQ (COM2's, free). */
#define GENID_MMIO_ADDR (MMIO_GAP_START + 0x100ULL)
#define GENID_MMIO_SIZE 0x20ULL
#define GENID_IRQ 3

/* virtio-mmio slots: 4 KiB each after the boot timer, IRQs from this list
 * (IOAPIC pins; 8 stays free for an RTC, 4 is the UART). */
#define VIRTIO_MMIO_BASE (MMIO_GAP_START + 0x1000ULL)
#define VIRTIO_IRQS { 5, 6, 7, 9, 10, 11, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23 }

#define IOAPIC_ADDR 0xfec00000ULL
#define LAPIC_ADDR 0xfee00000ULL

/* Guest RAM bounds accepted by hopx-vmm. */
#define GUEST_MEM_MIN_MIB 32ULL
#define GUEST_MEM_MAX_MIB (1024ULL * 1024) /* 1 TiB */
#define GUEST_VCPUS_MAX 32

#endif
