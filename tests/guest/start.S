/* Entry points and interrupt stubs of the hopx test guest.
 *
 * _start:    64-bit long mode with identity-mapped page tables (hopx-vmm);
 *            RSI = boot_params, whose cmd_line_ptr is at offset 0x228.
 * pvh_start: 32-bit protected mode, paging off (PVH, QEMU's microvm);
 *            EBX = hvm_start_info, whose cmdline_paddr is at offset 24. We
 *            build identity page tables for 4 GiB and enter long mode.
 * Both end in guest_main(cmdline physical address) on our own stack. */
#define BOOT_CMDLINE_PTR 0x228
#define PVH_CMDLINE_PADDR 24

	.section .note.pvh, "a"
	.balign 4
	.long 4            /* name size */
	.long 4            /* desc size */
	.long 18           /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	cli
	movl BOOT_CMDLINE_PTR(%rsi), %edi
	jmp common64

	.code32
	.globl pvh_start
pvh_start:
	cli
	movl PVH_CMDLINE_PADDR(%ebx), %esi
	movl $stack_top, %esp
	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..3; PDs map 4 GiB in 2 MiB pages. */
	movl $pdpt, %eax
	orl $3, %eax
	movl %eax, pml4
	movl $0, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $pds, %eax
	orl $3, %eax
	movl %eax, pdpt(,%ecx,8)
	incl %ecx
	cmpl $4, %ecx
	jne 1b
	movl $0, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax          /* present, writable, 2 MiB */
	movl %ecx, %edx
	shrl $11, %edx           /* bits 32+ of the address: index / 2048 */
	movl %eax, pds(,%ecx,8)
	movl %edx, pds+4(,%ecx,8)
	incl %ecx
	cmpl $2048, %ecx
	jne 2b
	movl %cr4, %eax
	orl $0x20, %eax          /* PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx   /* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax    /* PG | PE */
	movl %eax, %cr0
	lgdt gdt_desc
	ljmp $0x08, $pvh64

	.code64
pvh64:
	movl %esi, %edi
common64:
	lgdt gdt_desc
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $stack_top, %rsp
	/* Reload CS with our own code segment. */
	pushq $0x08
	leaq 3f(%rip), %rax
	pushq %rax
	lretq
3:	call guest_main
4:	cli
	hlt
	jmp 4b

/* Interrupt stubs: vectors 32..63 call irq_handler(vector). */
	.macro irq_stub n
	.globl irq_stub_\n
irq_stub_\n:
	pushq $\n
	jmp irq_common
	.endm
	.irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	irq_stub \n
	.endr
	.irp n, 48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
	irq_stub \n
	.endr

irq_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	movq 72(%rsp), %rdi      /* the vector pushed by the stub */
	call irq_handler
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	addq $8, %rsp
	iretq

/* Exceptions the cpu scenario provokes on purpose (#UD 6, #GP 13, #PF 14):
 * with fault_recover set, note the vector, error code and CR2, and go on at
 * fault_recover; otherwise they are fatal like any other. */
	.macro fault_stub n, has_error
	.globl fault_stub_\n
fault_stub_\n:
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\n
	jmp fault_common
	.endm
	fault_stub 6, 0
	fault_stub 13, 1
	fault_stub 14, 1

fault_common:
	cmpq $0, fault_recover(%rip)
	je 6f
	pushq %rax
	movq 8(%rsp), %rax
	movq %rax, fault_vector(%rip)
	movq 16(%rsp), %rax
	movq %rax, fault_error(%rip)
	movq %cr2, %rax
	movq %rax, fault_cr2(%rip)
	movq fault_recover(%rip), %rax
	movq %rax, 24(%rsp)      /* the saved RIP */
	movq $0, fault_recover(%rip)
	popq %rax
	addq $16, %rsp
	iretq
6:	addq $16, %rsp           /* vector and error code: exc_stub sees the CPU's frame */
	jmp exc_stub

/* Exceptions (0..31): report the vector and stop. */
	.globl exc_stub
exc_stub:
	movq %rsp, %rdi
	call exception_handler
5:	cli
	hlt
	jmp 5b

	.section .data
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff   /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff   /* 0x10: data */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.section .bss
	.balign 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pds:	.skip 4 * 4096
	.balign 16
	.globl stack
stack:	.skip 65536
stack_top:
