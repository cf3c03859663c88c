/*
 * Fuzz the decoders of the overrides and reports key spaces: records on disk may be
 * damaged, and each decoder must refuse them without reading past them. The first input
 * byte picks the decoder (even: override, odd: report). Whatever decodes must encode
 * again to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/overrides.h"
#include "blocklists/reports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void fuzz_override(const uint8_t *p, size_t n)
{
	struct ward_override o;
	uint8_t buf[WARD_OVERRIDE_VALUE_MAX];
	if (ward_override_decode(p, n, &o) != 0)
		return;
	int len = ward_override_encode(&o, buf, sizeof(buf));
	check(len == (int)n && memcmp(buf, p, n) == 0);
}

static void fuzz_report(const uint8_t *p, size_t n)
{
	static uint8_t buf[WARD_REPORT_VALUE_MAX];
	static struct ward_report r;
	if (ward_report_decode(p, n, &r) != 0)
		return;
	(void)ward_report_message_ok(r.message);
	int len = ward_report_encode(&r, buf, sizeof(buf));
	check(len == (int)n && memcmp(buf, p, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_report(data + 1, size - 1);
	else
		fuzz_override(data + 1, size - 1);
	return 0;
}
