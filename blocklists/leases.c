/* A dnsmasq DHCP leases file (leases.h). */
#include "blocklists/leases.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/conf_store.h"
#include "blocklists/error.h"

#define FIELDS 5
#define FIELD_MAX 256

/* Split a line into up to FIELDS space-separated fields (NUL-terminated copies). */
static size_t split(const char *line, size_t len, char fields[FIELDS][FIELD_MAX])
{
	size_t n = 0, i = 0;
	while (i < len && n < FIELDS) {
		while (i < len && line[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && line[i] != ' ')
			i++;
		if (i == start)
			break;
		if (i - start >= FIELD_MAX)
			return 0; /* no field of a lease is that long */
		memcpy(fields[n], line + start, i - start);
		fields[n++][i - start] = '\0';
	}
	return n;
}

static bool parse_expiry(const char *s, int64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9' || strlen(s) > 19)
		return false;
	long long v = strtoll(s, &end, 10);
	*out = v;
	return *end == '\0' && v >= 0;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "aa:bb:cc:dd:ee:ff" exactly (dnsmasq writes other hardware types longer). */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool parse_addr(const char *s, uint8_t addr[16])
{
	uint8_t v4[4];
	if (inet_pton(AF_INET6, s, addr) == 1)
		return true;
	if (inet_pton(AF_INET, s, v4) != 1)
		return false;
	memset(addr, 0, 10);
	addr[10] = addr[11] = 0xff;
	memcpy(addr + 12, v4, 4);
	return true;
}

/* What the device called itself, reduced to what a host name may hold. */
static void clean_name(const char *s, char *out)
{
	size_t o = 0;
	if (strcmp(s, "*") == 0) {
		out[0] = '\0';
		return;
	}
	for (; *s && o < WARD_LEASE_NAME_MAX; s++) {
		char c = *s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.')
			out[o++] = c;
	}
	out[o] = '\0';
}

/* One line; v6 says a "duid" line came before (the second field is then an IAID).
 * @return true when it was a lease. */
static bool parse_line(const char *line, size_t len, bool v6, struct ward_lease *l)
{
	char f[FIELDS][FIELD_MAX];
	size_t n = split(line, len, f);
	memset(l, 0, sizeof(*l));
	if (n < 4 || !parse_expiry(f[0], &l->expires) || !parse_addr(f[2], l->addr))
		return false;
	if (!v6) {
		if (!parse_mac(f[1], l->mac))
			return false;
		l->has_mac = true;
	}
	clean_name(f[3], l->name);
	return true;
}

size_t ward_leases_parse(const char *text, size_t len, struct ward_lease *out, size_t cap,
			 size_t *n)
{
	size_t skipped = 0, pos = 0;
	bool v6 = false;
	*n = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, llen = end - pos;
		const char *line = text + pos;
		if (llen && line[llen - 1] == '\r')
			llen--;
		if (llen >= 5 && memcmp(line, "duid ", 5) == 0)
			v6 = true;
		else if (llen && *n < cap && parse_line(line, llen, v6, &out[*n]))
			(*n)++;
		else if (llen)
			skipped++;
		pos = end + 1;
	}
	return skipped;
}

int ward_leases_load(const char *path, struct ward_lease **out, size_t *n)
{
	char *text;
	size_t len;
	*out = NULL;
	*n = 0;
	int rc = ward_conf_store_read(path, WARD_LEASES_FILE_MAX, &text, &len, NULL);
	if (rc)
		return rc;
	struct ward_lease *leases = calloc(WARD_LEASES_MAX, sizeof(*leases));
	if (!leases) {
		free(text);
		return WARD_ENOMEM;
	}
	ward_leases_parse(text, len, leases, WARD_LEASES_MAX, n);
	free(text);
	if (*n == 0) {
		free(leases);
		return 0;
	}
	*out = leases;
	return 0;
}
