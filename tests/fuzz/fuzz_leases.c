/*
 * Fuzz the DHCP leases parser (blocklists/leases.h): the file is written by another
 * program and its host names by the devices themselves. Any bytes in: never a crash or
 * a read past the input, at most `cap` leases, every name a NUL-terminated host name of
 * at most WARD_LEASE_NAME_MAX characters, every kept lease a full line's worth.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/leases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ward_lease leases[8];
	size_t n = 99;
	/* The input is copied so that a read past its end is caught by the sanitizers. */
	char *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	ward_leases_parse(copy, size, leases, 8, &n);
	if (n > 8)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *name = leases[i].name;
		size_t len = strnlen(name, sizeof(leases[i].name));
		if (len > WARD_LEASE_NAME_MAX || leases[i].expires < 0)
			abort();
		for (size_t j = 0; j < len; j++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
				    name[j]))
				abort();
	}
	free(copy);
	return 0;
}
