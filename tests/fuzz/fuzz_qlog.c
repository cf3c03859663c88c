/*
 * Fuzz the query log's record decoder (blocklists/qlog.h): a log file on disk may be
 * damaged, and the decoder must refuse such a record without reading past it. Whatever
 * decodes must encode again to the same bytes, and turn into JSON (the API's and
 * `ward log`'s output) without trouble.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ward_qlog_entry e;
	static uint8_t buf[WARD_QLOG_VALUE_MAX];
	if (ward_qlog_decode(data, size, &e) != 0)
		return 0;
	size_t len = ward_qlog_encode(&e, buf, sizeof(buf));
	check(len == size && memcmp(buf, data, size) == 0);
	cJSON *o = ward_qlog_entry_json(&e, NULL);
	char *text = cJSON_PrintUnformatted(o);
	check(text != NULL);
	free(text);
	cJSON_Delete(o);
	return 0;
}
