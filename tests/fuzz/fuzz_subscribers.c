/*
 * Subscriber CSV lines (`ward subscribers import`): ward_sub_parse_line() on arbitrary
 * bytes, each input a line. An accepted line must give a value that decodes back to its
 * profile, with lists of valid shape; nothing may be read past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/subscribers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond))                                                                   \
			abort();                                                               \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	char *line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = 0;
	struct ward_sub_entry e;
	static uint8_t value[WARD_SUB_VALUE_MAX];
	static struct ward_sub_match m;
	size_t vlen = 0;
	const char *why = NULL;
	int rc = ward_sub_parse_line(line, NULL, &e, value, &vlen, &why);
	if (rc != 0) {
		CHECK(why != NULL);
	} else {
		CHECK(vlen > 1 && vlen <= WARD_SUB_VALUE_MAX);
		CHECK(ward_sub_value_decode(value, vlen, &m));
		CHECK(strcmp(m.profile, e.profile) == 0);
		CHECK(strlen(m.allow) <= WARD_SUB_NAMES_MAX && strlen(m.deny) <= WARD_SUB_NAMES_MAX);
		CHECK(!strchr(m.allow, ';') && !strstr(m.allow, "  ") && !strchr(m.deny, ';'));
		CHECK(e.prefix.prefix <= (e.prefix.family == AF_INET ? 32 : 128));
		/* A truncated value is refused, never read past. */
		for (size_t n = 0; n < vlen; n++) {
			uint8_t *cut = malloc(n ? n : 1);
			memcpy(cut, value, n);
			bool ok = ward_sub_value_decode(cut, n, &m);
			free(cut);
			CHECK(!ok || n == 1u + (size_t)value[0]);
		}
	}
	free(line);
	return 0;
}
