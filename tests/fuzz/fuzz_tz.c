/*
 * POSIX TZ string checker fuzz target: any bytes in, a yes or no out, never a read past
 * the terminating NUL (the copy below is exactly as long as the input, so ASan sees one).
 * What it accepts starts with a zone name and fits the length limit.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/conf_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ward_conf__posix_tz(text)) {
		size_t len = strlen(text);
		if (len > 128 || len < 4 || !(isalpha((unsigned char)text[0]) || text[0] == '<'))
			abort();
		for (size_t i = 0; i < len; i++)
			if (isspace((unsigned char)text[i]) || !isprint((unsigned char)text[i]))
				abort();
	}
	free(text);
	return 0;
}
