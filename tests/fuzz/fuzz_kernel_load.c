/* libFuzzer target: kernel_load() (ELF and bzImage, including host-side
 * payload decompression) on arbitrary bytes. Any crash, hang, leak or
 * sanitizer report is a bug: bad kernels must only ever get an error. */
#include <stddef.h>
#include <stdint.h>

#include "../../boot/kernel.h"
#include "../../lib/log.h"
#include "../../lib/memory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	struct kernel_image k;

	if (!mem.host) {
		log_set_level(LOG_SILENT);
		if (guest_mem_init(&mem, 64ULL << 20))
			return 0;
	}
	kernel_load(&mem, data, size, &k);
	return 0;
}
