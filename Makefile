# hopx: plain Makefile. `make` builds build/hopx-vmm (frontend/) and
# build/libhopxvmm.a (lib/ boot/ devices/ vmm/, exporting only vmm.h's names);
# `make test` builds and runs every test; `make asan` does both with
# AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/.
# `make guest-kernel` builds build/guest/vmlinux (cached outside the clone).

CC ?= gcc
BUILD ?= build
SAN ?=

WARNINGS := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
	    -Wformat=2 -Wvla
CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -D_GNU_SOURCE -pthread -Iinclude $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(EXTRA_LDFLAGS)
# What libhopxvmm needs, and what the CLI adds (its control API and config file).
LIBS := -lz -llzma -lzstd -luring -lfdt
CLI_LIBS := -ljansson -lmicrohttpd
ifneq ($(SAN),)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRCS := \
	lib/log.c lib/memory.c lib/clock.c \
	vmm/kvm_stats.c vmm/x86_emu.c vmm/x86_xsave.c vmm/x86_walk.c vmm/console.c \
	vmm/vcpu.c vmm/pvm.c vmm/vm.c vmm/pause.c vmm/timings.c vmm/metrics.c \
	vmm/snapfile.c vmm/vstate.c vmm/snapshot.c vmm/snapexport.c \
	boot/elf.c boot/bzimage.c boot/decompress.c boot/zeropage.c boot/mptable.c boot/longmode.c boot/cmdline.c \
	devices/bus.c devices/serial.c devices/i8042.c devices/boot_timer.c devices/genid.c \
	devices/virtqueue.c devices/devloop.c devices/virtio_mmio.c devices/disk.c devices/virtio_blk.c \
	devices/tap.c devices/virtio_net.c devices/vsock_conn.c devices/virtio_vsock.c
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# The CLI: users of include/hopx/vmm.h, with their own copy of lib/'s logging
# and clock (the library's copies are local to it).
CLI_SRCS := frontend/main.c frontend/api.c frontend/cli_devices.c frontend/fc_config.c
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/lib/log.o $(BUILD)/obj/lib/clock.o

UNIT_TESTS := test_elf test_bzimage test_zeropage test_mptable test_longmode \
	      test_serial test_i8042 test_x86_emu test_console test_bus test_decompress \
	      test_virtqueue test_vsock_conn test_vsock_device test_cli_devices test_cmdline \
	      test_virtio_mmio test_virtio_blk test_virtio_net test_x86_walk
# hopxd's and hopx-agent's: they link those programs' objects (all but main.o).
HOPXD_UNIT_TESTS := test_hopxd_registry test_hopxd_auth test_hopxd_sandbox
AGENT_UNIT_TESTS := test_agent_files test_agent_env
HOPXD_UNIT_BINS := $(HOPXD_UNIT_TESTS:%=$(BUILD)/tests/%)
AGENT_UNIT_BINS := $(AGENT_UNIT_TESTS:%=$(BUILD)/tests/%)
UNIT_BINS := $(UNIT_TESTS:%=$(BUILD)/tests/%) $(HOPXD_UNIT_BINS) $(AGENT_UNIT_BINS)

GUEST_KERNEL := build/guest/vmlinux
TEST_INIT := $(BUILD)/guest/test-init
TEST_INITRD := $(BUILD)/guest/test-initrd.cpio
TEST_GUEST := $(BUILD)/guest/test-guest.elf
DEMO_INITRD := $(BUILD)/guest/demo-initrd.cpio

.PHONY: all deps deps-test deps-graph test unit-test asan fuzz hopxd check-stock-kernel guest-kernel test-guest demo bench-boot bench-io bench-snapshot bench-agent bench-sandbox bench-requests vm-demo examples agent templates deps-agent clean soak soak-vm
all: deps $(BUILD)/hopx-vmm $(BUILD)/libhopxvmm.a

# --- dependency probes: fail early, naming the Debian package ----------------
define probe_header
$(if $(shell printf '#include <$(1)>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo ok),,\
  $(error $(1) not found: apt-get install $(2) (or run scripts/install-deps.sh)))
endef
deps:
	$(call probe_header,linux/kvm.h,linux-libc-dev)
	$(call probe_header,asm/bootparam.h,linux-libc-dev)
	$(call probe_header,zlib.h,zlib1g-dev)
	$(call probe_header,lzma.h,liblzma-dev)
	$(call probe_header,zstd.h,libzstd-dev)
	$(call probe_header,liburing.h,liburing-dev)
	$(call probe_header,libfdt.h,libfdt-dev)
	$(call probe_header,jansson.h,libjansson-dev)
	$(call probe_header,microhttpd.h,libmicrohttpd-dev)

deps-test: deps
	$(call probe_header,cmocka.h,libcmocka-dev)

deps-agent:
	$(if $(shell pkg-config --exists libsoup-3.0 && echo ok),,\
	  $(error libsoup-3.0 not found: apt-get install libsoup-3.0-dev (or run scripts/install-deps.sh)))

# --- library and CLI ---------------------------------------------------------
$(BUILD)/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The library's objects are compiled -fvisibility=hidden; vmm.h marks its
# declarations default. One relocatable object with every hidden symbol made
# local, so an embedder sees only the hopx_ names (tests/integration/lib_exports.sh).
$(LIB_OBJS): CFLAGS += -fvisibility=hidden
$(BUILD)/libhopxvmm.a: $(LIB_OBJS)
	@rm -f $@
	ld -r -o $(BUILD)/obj/libhopxvmm.o $^
	objcopy --localize-hidden $(BUILD)/obj/libhopxvmm.o
	ar rcs $@ $(BUILD)/obj/libhopxvmm.o
# Every object, symbols as they are: for the unit tests and fuzz targets.
$(BUILD)/libhopxvmm-internal.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/hopx-vmm: $(CLI_OBJS) $(BUILD)/libhopxvmm.a
	$(CC) $^ $(LDFLAGS) $(LIBS) $(CLI_LIBS) -o $@

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# --- tests -----------------------------------------------------------------
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libhopxvmm-internal.a | deps-test
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libhopxvmm-internal.a $(LDFLAGS) $(LIBS) -lcmocka -o $@
$(BUILD)/tests/test_cli_devices: tests/unit/test_cli_devices.c $(BUILD)/obj/frontend/cli_devices.o \
		$(BUILD)/libhopxvmm-internal.a | deps-test
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS) -lcmocka -o $@


# The test guest's /init: static, so the initramfs needs nothing else.
$(TEST_INIT): tests/init/test-init.c tests/init/xstate.c tests/init/xstate.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static tests/init/test-init.c tests/init/xstate.c -o $@
# The extended-state check alone (static), for sandboxes and hosts; the
# soak's copies are compiled for AVX2 and AVX-512 throughout (its own code
# then keeps vector state live everywhere, not just in the check's asm).
XSTATE_SRC := tests/init/xstate-check.c tests/init/xstate.c tests/init/xstate.h
$(BUILD)/guest/xstate-check: $(XSTATE_SRC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static $(filter %.c,$^) -o $@
$(BUILD)/guest/xstate-check-%: $(XSTATE_SRC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -m$* -Wall -Wextra -Werror -static $(filter %.c,$^) -o $@
XSTATE_SOAK := $(BUILD)/guest/xstate-check-avx2 $(BUILD)/guest/xstate-check-avx512f
# System-call registers and kernel copies into fresh pages, checked (static).
$(BUILD)/guest/kernel-check: tests/init/kernel-check.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static $< -o $@

$(TEST_INITRD): $(TEST_INIT) tests/init/mkinitrd.sh
	tests/init/mkinitrd.sh $(TEST_INIT) $@

guest-kernel:
	guest-kernel-config/build.sh $(GUEST_KERNEL)

# hopx-agent (guest/agent/): the HopX Agent API, libsoup 3 + jansson.
AGENT_PKGS := libsoup-3.0 gio-unix-2.0 jansson
AGENT_CFLAGS = $(shell pkg-config --cflags $(AGENT_PKGS))
AGENT_LIBS = $(shell pkg-config --libs $(AGENT_PKGS)) -lutil
AGENT_SRCS := $(wildcard guest/agent/*.c)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/obj/%.o)
# Everything but main(): what the unit tests link.
AGENT_LIB_OBJS := $(filter-out $(BUILD)/obj/guest/agent/main.o,$(AGENT_OBJS))
$(BUILD)/obj/guest/agent/%.o: CFLAGS += $(AGENT_CFLAGS)
$(AGENT_OBJS): | deps-agent
$(BUILD)/hopx-agent: $(AGENT_OBJS)
	$(CC) $^ $(LDFLAGS) $(AGENT_LIBS) -o $@
agent: $(BUILD)/hopx-agent

# hopxd (orchestrator/): the sandbox service, libsoup 3 + jansson + SQLite;
# hopx-jail confines each sandbox (namespaces, cgroups, seccomp).
HOPXD_PKGS := libsoup-3.0 gio-unix-2.0 jansson sqlite3
HOPXD_CFLAGS = $(shell pkg-config --cflags $(HOPXD_PKGS))
HOPXD_LIBS = $(shell pkg-config --libs $(HOPXD_PKGS))
# In layers, each calling only those below it (no cycles):
#   HTTP front    main api gateway
#   lifecycle     sandbox
#   runtimes      runtime rt_namespace rt_vm tsnap vm_launch
#   below         auth reply agent_client vmm_client relay registry templates egress cgroup paths event util
HOPXD_SRCS := orchestrator/main.c orchestrator/api.c orchestrator/gateway.c orchestrator/reply.c orchestrator/auth.c \
	orchestrator/sandbox.c \
	orchestrator/runtime.c orchestrator/rt_namespace.c orchestrator/rt_vm.c orchestrator/tsnap.c orchestrator/vm_launch.c \
	orchestrator/agent_client.c orchestrator/vmm_client.c orchestrator/relay.c orchestrator/registry.c \
	orchestrator/templates.c orchestrator/egress.c orchestrator/cgroup.c orchestrator/paths.c orchestrator/event.c \
	orchestrator/util.c
HOPXD_OBJS := $(HOPXD_SRCS:%.c=$(BUILD)/obj/%.o)
# Everything but main(): what the unit tests link.
HOPXD_LIB_OBJS := $(filter-out $(BUILD)/obj/orchestrator/main.o,$(HOPXD_OBJS))
JAIL_SRCS := orchestrator/jail.c orchestrator/jail_net.c orchestrator/jail_log.c orchestrator/cgroup.c
JAIL_OBJS := $(JAIL_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/obj/orchestrator/%.o: CFLAGS += $(HOPXD_CFLAGS)
$(HOPXD_OBJS): | deps-agent
$(BUILD)/hopxd: $(HOPXD_OBJS)
	$(CC) $^ $(LDFLAGS) $(HOPXD_LIBS) -o $@
$(BUILD)/hopx-jail: $(JAIL_OBJS)
	$(CC) $^ $(LDFLAGS) -lseccomp -o $@
hopxd: $(BUILD)/hopxd $(BUILD)/hopx-jail

# Unit tests of hopxd and the agent: after their object lists, which their
# prerequisites expand.
$(HOPXD_UNIT_BINS): $(BUILD)/tests/%: tests/unit/%.c tests/unit/hopxd_test.h $(HOPXD_LIB_OBJS) | deps-test deps-agent
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(HOPXD_CFLAGS) $< $(HOPXD_LIB_OBJS) $(LDFLAGS) $(HOPXD_LIBS) -lcmocka -o $@

$(AGENT_UNIT_BINS): $(BUILD)/tests/%: tests/unit/%.c $(AGENT_LIB_OBJS) | deps-test deps-agent
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AGENT_CFLAGS) $< $(AGENT_LIB_OBJS) $(LDFLAGS) $(AGENT_LIBS) -lcmocka -o $@

# Templates (guest/templates/): root filesystems from Debian's debootstrap,
# cached by recipe under ~/.cache/hopx/templates, packed with hopx-agent.
TEMPLATE_NAMES := base code-interpreter
TEMPLATES := $(TEMPLATE_NAMES:%=$(BUILD)/templates/%.ext4)
$(BUILD)/templates/%.ext4: guest/templates/build.sh guest/templates/%/packages guest/templates/%/manifest.json \
		$(BUILD)/hopx-agent
	guest/templates/build.sh $* $(BUILD)/hopx-agent $(BUILD)/templates
templates: $(TEMPLATES)

# Programs embedding libhopxvmm (the README's example).
EXAMPLES := $(BUILD)/examples/clones
$(BUILD)/examples/%: examples/%.c $(BUILD)/libhopxvmm.a include/hopx/vmm.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libhopxvmm.a $(LDFLAGS) $(LIBS) -o $@
examples: $(EXAMPLES)

# An embedder defining names the library uses inside (tests/integration/lib_exports.sh).
$(BUILD)/tests/embed_names: tests/embed/embed_names.c $(BUILD)/libhopxvmm.a include/hopx/vmm.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libhopxvmm.a $(LDFLAGS) $(LIBS) -o $@

# The freestanding test guest (tests/guest/): ring 0, no libc, no SSE (its
# code runs in KVM's instruction emulator on software-KVM hosts), linked at
# 1 MiB with a PVH note. Never sanitized: it is a guest, not host code.
GUEST_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-mno-red-zone -mgeneral-regs-only -fno-builtin -fcf-protection=none -nostdlib -static -no-pie \
	-Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments
TEST_GUEST_SRCS := $(wildcard tests/guest/*.c) tests/guest/start.S
$(TEST_GUEST): $(TEST_GUEST_SRCS) $(wildcard tests/guest/*.h) tests/guest/guest.ld
	@mkdir -p $(dir $@)
	gcc $(GUEST_CFLAGS) -T tests/guest/guest.ld $(TEST_GUEST_SRCS) -o $@

test-guest: $(TEST_INITRD) $(TEST_GUEST)

$(DEMO_INITRD): guest/demo/init scripts/mkdemo-initrd.sh
	scripts/mkdemo-initrd.sh $@

# Boot a VM and run CMD in it (the README's first command).
# The main job on a built-in default: hopxd starts a sandbox from the
# code-interpreter template and runs code in it (scripts/sandbox-demo.py).
demo: all guest-kernel $(BUILD)/hopxd $(BUILD)/hopx-jail $(BUILD)/templates/code-interpreter.ext4
	scripts/sandbox-demo.py $(BUILD)

# Boot a bare VM and run CMD in it.
vm-demo: all guest-kernel $(DEMO_INITRD)
	BUILD=$(BUILD) scripts/demo.sh

unit-test: $(UNIT_BINS)
	tests/run.sh unit $(UNIT_BINS)

test: all $(UNIT_BINS) $(TEST_INITRD) $(TEST_GUEST) $(EXAMPLES) $(BUILD)/tests/embed_names $(BUILD)/hopx-agent $(BUILD)/hopxd $(BUILD)/hopx-jail \
	$(BUILD)/templates/code-interpreter.ext4 guest-kernel
	BUILD=$(BUILD) tests/run.sh all $(UNIT_BINS)

asan:
	$(MAKE) BUILD=build-asan SAN=1 test

# Debian's stock kernel to "Run /init" (slow on software-KVM hosts: not in `test`).
check-stock-kernel: all $(TEST_INITRD)
	BUILD=$(BUILD) tests/stock-kernel.sh

# libFuzzer targets (clang), each run for FUZZ_SECONDS over its seed corpus.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := fuzz_kernel_load fuzz_x86_emu fuzz_virtqueue fuzz_snapshot
FUZZ_SRCS := $(filter-out vmm/console.c vmm/vcpu.c vmm/pvm.c vmm/vm.c vmm/pause.c vmm/timings.c vmm/kvm_stats.c \
	vmm/snapshot.c vmm/metrics.c,$(LIB_SRCS))
build-fuzz/%: tests/fuzz/%.c $(FUZZ_SRCS)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -O1 -g -D_GNU_SOURCE -Iinclude -fsanitize=fuzzer,address,undefined \
		-Wno-gnu-variable-sized-type-not-at-end \
		$< $(FUZZ_SRCS) $(LIBS) -o $@

fuzz: $(FUZZ_TARGETS:%=build-fuzz/%)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p build-fuzz/corpus-$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
		build-fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build-fuzz/corpus-$$t tests/fuzz/seeds-$$t \
			2>build-fuzz/$$t.log || { tail -40 build-fuzz/$$t.log; exit 1; }; \
		grep -E "stat::number_of_executed_units|Done" build-fuzz/$$t.log | tail -2; \
	done

# --- benchmarks --------------------------------------------------------------
bench-boot: all $(TEST_INITRD) guest-kernel
	bench/boot.py

# virtio-blk and vsock throughput with the test guest, against QEMU's microvm.
bench-io: all $(TEST_GUEST)
	bench/io.py

# Snapshot create/restore latency, VMM overhead and clone memory (Linux guest).
bench-snapshot: all $(TEST_INITRD) guest-kernel
	bench/snapshot.py

# hopx-agent latency on the host transport (needs root).
bench-agent: $(BUILD)/hopx-agent
	bench/agent.py

# Per request kind on the vm runtime: wall time, KVM exits, PVM fix-ups (needs root, KVM).
bench-requests: $(BUILD)/hopxd $(BUILD)/hopx-jail $(BUILD)/templates/code-interpreter.ext4 guest-kernel
	bench/requests.py

# Sandbox create -> first result, and sandboxes per second, per runtime (needs root).
bench-sandbox: $(BUILD)/hopxd $(BUILD)/hopx-jail $(BUILD)/templates/code-interpreter.ext4
	bench/sandbox.py

# The guest torture suite: one vm sandbox, SOAK_REQUESTS mixed requests 4 at
# a time, then SOAK_AFTER after pause/resume and in a clone (tests/soak/).
SOAK_REQUESTS ?= 500
SOAK_AFTER ?= 100
soak-vm: all guest-kernel $(BUILD)/hopxd $(BUILD)/hopx-jail $(BUILD)/templates/code-interpreter.ext4 $(XSTATE_SOAK) $(BUILD)/guest/kernel-check
	tests/soak/soak_vm.py --build $(BUILD) --requests $(SOAK_REQUESTS) --after $(SOAK_AFTER)

# The lifecycle soak: SOAK_CYCLES create/run/kill and SOAK_PAUSES pause/resume
# cycles per runtime, then nothing left behind on the host.
SOAK_CYCLES ?= 200
SOAK_PAUSES ?= 50
soak: all guest-kernel $(BUILD)/hopxd $(BUILD)/hopx-jail $(BUILD)/templates/code-interpreter.ext4
	tests/soak/soak_lifecycle.py --build $(BUILD) --cycles $(SOAK_CYCLES) --pauses $(SOAK_PAUSES)

# Folder -> folder include edges, and a check of the layering (scripts/deps-graph.sh).
deps-graph:
	scripts/deps-graph.sh
	scripts/deps-graph.sh --files orchestrator

# Everything make builds (the guest kernel and templates stay cached in ~/.cache/hopx).
clean:
	rm -rf build build-asan build-fuzz $(filter-out build build-asan build-fuzz,$(BUILD)) sandbox-plot.png
