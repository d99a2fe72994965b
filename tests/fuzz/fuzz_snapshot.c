/* libFuzzer target: the snapshot state-file loader. Input: a whole state
 * file. snapr_parse must refuse anything with a bad header, size or CRC, or
 * a malformed tree; then every decoder a restore runs before touching KVM
 * (vCPU/VM state, UART and virtio transport blobs) must refuse or accept
 * without reading out of bounds. The CRC is fixed up for half the inputs so
 * the fuzzer gets past it into the tree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../devices/serial.h"
#include "../../devices/virtio_mmio.h"
#include "../../lib/log.h"
#include "../../vmm/snapfile.h"
#include "../../vmm/vstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapr r;
	struct vm_kvm_state vms;
	struct vcpu_kvm_state *vcs;
	uint8_t *buf;
	int dev;

	log_set_level(LOG_SILENT);
	if (size < sizeof(struct snap_header) || size > (1u << 20))
		return 0;
	buf = malloc(size);
	memcpy(buf, data, size);
	if (data[0] & 1) { /* a valid header around the fuzzer's tree */
		struct snap_header h = { .magic = SNAP_MAGIC, .version = SNAP_VERSION };

		h.size = size - sizeof(h);
		h.crc32 = (uint32_t)crc32(0, buf + sizeof(h), (uInt)h.size);
		memcpy(buf, &h, sizeof(h));
	}
	if (snapr_parse(&r, buf, size, "fuzz") == 0) {
		vcs = calloc(2, sizeof(*vcs));
		vstate_decode(&r, 2, &vms, vcs);
		vstate_free(vcs, 2);
		free(vcs);
		dev = snapr_child(&r, 0, "devices");
		if (dev >= 0) {
			struct serial_state ss;
			struct virtio_mmio_state vs;
			int v = snapr_child(&r, dev, "virtio@0");

			snapr_blob(&r, dev, "serial", &ss, sizeof(ss));
			if (v >= 0) {
				snapr_str(&r, v, "type", 32);
				snapr_blob(&r, v, "transport", &vs, sizeof(vs));
			}
		}
		snapr_free(&r);
	}
	free(buf);
	return 0;
}
