/* What the boot vCPU needs to start a kernel directly in 64-bit mode: a GDT,
 * identity-mapped page tables for the first 4 GiB, and the initial special
 * and general registers (Linux x86-64 boot protocol: RSI = zero page). */
#ifndef HOPX_BOOT_LONGMODE_H
#define HOPX_BOOT_LONGMODE_H

#include <stdint.h>

#include <linux/kvm.h>

struct guest_mem;

/* GDT selectors. */
#define BOOT_CS 0x08
#define BOOT_DS 0x10
#define BOOT_TSS 0x18

/* Write the GDT, an empty IDT and the page tables into guest memory. 0 or -errno. */
int longmode_write_tables(const struct guest_mem *m);

/* Set SREGS for 64-bit mode with the tables above (other fields untouched). */
void longmode_sregs(struct kvm_sregs *sregs);

/* Registers at the kernel's 64-bit entry point. */
void longmode_regs(struct kvm_regs *regs, uint64_t entry, uint64_t zero_page);

/* A GDT descriptor from flags (access byte | flags << 12), base and limit. */
uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

#endif
