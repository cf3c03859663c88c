/*
 * Chunks of the subscribers' range index (subscribers_index.c) as LMDB hands them back:
 * a damaged page must make ward_sub_chunk_find() refuse (WARD_EFORMAT) or answer with an
 * owner of valid shape, never read outside the chunk.
 * Input: one byte (low bit: IPv6), the 16 address bytes looked up, then the chunk.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/subscribers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond))                                                                   \
			abort();                                                               \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 17 || size > 65536)
		return 0;
	unsigned fam = data[0] & 1 ? 6 : 4;
	size_t n = size - 17;
	uint8_t *chunk = malloc(n ? n : 1); /* exactly n bytes: ASan sees a read past it */
	if (!chunk)
		return 0;
	memcpy(chunk, data + 17, n);
	uint8_t len = 0, vid = 0;
	int rc = ward_sub_chunk_find(chunk, n, fam, data + 1, &len, &vid);
	CHECK(rc == 0 || rc == WARD_EFORMAT);
	if (rc == 0)
		CHECK(len == WARD_SUBIDX_NONE || len <= (fam == 4 ? 32 : 128));
	/* The other family never accepts a chunk of this one. */
	CHECK(ward_sub_chunk_find(chunk, n, fam == 4 ? 6 : 4, data + 1, &len, &vid) != 0 ||
	      n < 2 || chunk[1] != fam);
	free(chunk);
	return 0;
}
