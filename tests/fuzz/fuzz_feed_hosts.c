/* libFuzzer target: the hosts feed parser (see fuzz_feed.h for what is checked). */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/fuzz_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_feed(WARD_FEED_HOSTS, data, size);
}
