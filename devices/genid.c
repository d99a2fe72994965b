/* VM generation device (see genid.h). Reads of any width return the bytes
 * at that offset; writes are ignored. */
#include "genid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static int fill(struct genid *g)
{
	uint8_t id[GENID_LEN];

	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
		return -errno;
	pthread_mutex_lock(&g->lock);
	memcpy(g->id, id, sizeof(id));
	pthread_mutex_unlock(&g->lock);
	explicit_bzero(id, sizeof(id));
	return 0;
}

int genid_init(struct genid *g)
{
	pthread_mutex_init(&g->lock, NULL);
	return fill(g);
}

int genid_refresh(struct genid *g)
{
	return fill(g);
}

void genid_destroy(struct genid *g)
{
	explicit_bzero(g->id, sizeof(g->id));
	pthread_mutex_destroy(&g->lock);
}

static void genid_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct genid *g = opaque;

	pthread_mutex_lock(&g->lock);
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < GENID_LEN ? g->id[off + i] : 0;
	pthread_mutex_unlock(&g->lock);
}

static void genid_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	(void)data;
	(void)len;
}

const struct bus_ops genid_bus_ops = {
	.name = "genid",
	.read = genid_read,
	.write = genid_write,
};
