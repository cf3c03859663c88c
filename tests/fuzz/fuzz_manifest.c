/*
 * Snapshot manifests (`ward sync` reads them from the network): the split into body and
 * signature line, and the body's parser, on arbitrary bytes. Accepted fields must be in
 * range; nothing may be read past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond))                                                                   \
			abort();                                                               \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	uint8_t sig[64];
	size_t body_len = 0;
	struct ward_snapshot_manifest m;
	const char *text = (const char *)data;
	if (ward_snapshot_manifest_split(text, size, &body_len, sig, err, sizeof(err)) == 0)
		CHECK(body_len < size);
	else
		body_len = size;
	if (ward_snapshot_manifest_parse(text, body_len, &m, err, sizeof(err)) == 0) {
		CHECK(strlen(m.sha256) == 64 && strlen(m.file) > 0 && strlen(m.file) < 128);
		CHECK(!strchr(m.file, '/') && m.file[0] != '.');
		CHECK(m.bytes < (1ull << 53) && m.generation < (1ull << 53));
	}
	return 0;
}
