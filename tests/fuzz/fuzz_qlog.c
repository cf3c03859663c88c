/*
 * Fuzz the query log's readers (blocklists/qlog.h): a segment file on disk may be
 * damaged or torn, and neither the frame walker nor the record decoder may read past it.
 * The first input byte picks which: even, one record's value (whatever decodes must
 * encode again to the same bytes, and turn into JSON, the API's and `ward log`'s output);
 * odd, a segment's frames (every record walked must frame again within its own bytes).
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/qlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void fuzz_value(const uint8_t *p, size_t n)
{
	static struct ward_qlog_entry e;
	static uint8_t buf[WARD_QLOG_VALUE_MAX];
	if (ward_qlog_decode(p, n, &e) != 0)
		return;
	size_t len = ward_qlog_encode(&e, buf, sizeof(buf));
	check(len == n && memcmp(buf, p, n) == 0);
	cJSON *o = ward_qlog_entry_json(&e, NULL);
	char *text = cJSON_PrintUnformatted(o);
	check(text != NULL);
	free(text);
	cJSON_Delete(o);
}

struct walk {
	const uint8_t *base;
	size_t len;
};

static void each(void *ctx, const struct ward_qlog_entry *e)
{
	const struct walk *w = ctx;
	static uint8_t buf[WARD_QLOG_FRAME_MAX];
	size_t n = ward_qlog_frame(e, buf, sizeof(buf));
	check(n > 0 && e->id + n <= w->len && memcmp(buf, w->base + e->id, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		struct walk w = {data + 1, size - 1};
		check(ward_qlog_parse(data + 1, size - 1, each, &w) <= size - 1);
	} else {
		fuzz_value(data + 1, size - 1);
	}
	return 0;
}
