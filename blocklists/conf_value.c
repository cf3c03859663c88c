/*
 * The small text formats inside config values: times of day, durations, domain names,
 * resolv.conf, plus the edit distance behind "did you mean". Pure functions, so the unit
 * tests can table them directly.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/conf_internal.h"
#include "blocklists/name.h"

#define RESOLV_CONF_MAX (64 * 1024)
#define DISTANCE_MAX_LEN 64

static int digit(char c)
{
	return c >= '0' && c <= '9';
}

int ward_conf__time(const char *text, int allow_24, uint16_t *minutes)
{
	const char *p = text;
	unsigned h = 0;
	int nh = 0;
	while (digit(*p) && nh < 2) {
		h = h * 10 + (unsigned)(*p++ - '0');
		nh++;
	}
	if (nh == 0 || *p++ != ':')
		return -1;
	if (!digit(p[0]) || !digit(p[1]) || p[2] != '\0')
		return -1;
	unsigned m = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
		return -1;
	*minutes = (uint16_t)(h * 60 + m);
	return 0;
}

static const struct {
	char unit;
	uint64_t seconds;
} duration_units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };

static int unit_rank(char c)
{
	for (int i = 0; i < 4; i++)
		if (duration_units[i].unit == c)
			return i;
	return -1;
}

/* Components must come largest unit first ("1h30m", not "30m1h"), each unit once. */
int ward_conf__duration(const char *text, uint64_t max_s, uint64_t *seconds)
{
	const char *p = text;
	uint64_t total = 0;
	int last = -1;
	if (*p == '\0')
		return -1;
	while (*p) {
		uint64_t n = 0;
		int nd = 0;
		while (digit(*p)) {
			if (++nd > 9)
				return -1;
			n = n * 10 + (uint64_t)(*p++ - '0');
		}
		int rank = unit_rank(*p);
		if (nd == 0 || rank <= last)
			return -1;
		p++;
		last = rank;
		total += n * duration_units[rank].seconds;
		if (total > max_s)
			return -1;
	}
	*seconds = total;
	return 0;
}

const char *ward_conf__duration_format(uint64_t seconds, char *buf, size_t cap)
{
	for (int i = 0; i < 4; i++) {
		uint64_t u = duration_units[i].seconds;
		if (seconds % u == 0 && (seconds >= u || u == 1)) {
			snprintf(buf, cap, "%llu%c", (unsigned long long)(seconds / u),
				 duration_units[i].unit);
			break;
		}
	}
	return buf;
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || digit(c) || c == '-' || c == '_';
}

/* A name whose last label is numeric is an IPv4 address: no TLD is all digits. */
static int looks_like_ip(const char *name)
{
	const char *last = strrchr(name, '.');
	last = last ? last + 1 : name;
	if (*last == '\0')
		return 0;
	for (const char *p = last; *p; p++)
		if (!digit(*p))
			return 0;
	return 1;
}

enum ward_conf__name_why ward_conf__domain(const char *text, char *out, size_t cap)
{
	size_t len = strlen(text);
	/* Internationalized names in the A-label form feeds and lookups use. */
	char ascii[WARD_NAME_TEXT_MAX];
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)text[i] >= 0x80) {
			if (ward_name_idn_to_ascii(text, len, ascii, sizeof(ascii)) < 0)
				return WARD_CONF__NAME_IDN;
			text = ascii;
			len = strlen(text);
			break;
		}
	}
	if (len > 0 && text[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len >= cap)
		return WARD_CONF__NAME_INVALID;
	struct in6_addr a6;
	if (strchr(text, ':') && inet_pton(AF_INET6, text, &a6) == 1)
		return WARD_CONF__NAME_IP;
	if (text[0] == '*')
		return WARD_CONF__NAME_WILDCARD;

	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if ((unsigned char)c >= 0x80)
			return WARD_CONF__NAME_IDN;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return WARD_CONF__NAME_INVALID;
			label = 0;
		} else if (!name_char(c) || ++label > 63) {
			return WARD_CONF__NAME_INVALID;
		}
		out[i] = c;
	}
	out[len] = '\0';
	if (label == 0)
		return WARD_CONF__NAME_INVALID;
	if (looks_like_ip(out))
		return WARD_CONF__NAME_IP;
	return WARD_CONF__NAME_OK;
}

size_t ward_conf__distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[DISTANCE_MAX_LEN + 1];
	if (la > DISTANCE_MAX_LEN || lb > DISTANCE_MAX_LEN)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One line: "nameserver ADDR [anything]". Copies ADDR into ns when it is a plain address. */
static int resolv_line(const char *line, size_t len, char ns[INET6_ADDRSTRLEN])
{
	static const char kw[] = "nameserver";
	size_t i = 0;
	while (i < len && space(line[i]))
		i++;
	if (len - i <= sizeof(kw) - 1 || memcmp(line + i, kw, sizeof(kw) - 1) != 0)
		return 0;
	i += sizeof(kw) - 1;
	if (!space(line[i]))
		return 0;
	while (i < len && space(line[i]))
		i++;
	size_t start = i;
	while (i < len && !space(line[i]) && line[i] != '#' && line[i] != ';')
		i++;
	size_t tlen = i - start;
	if (tlen == 0 || tlen >= INET6_ADDRSTRLEN)
		return 0;
	char token[INET6_ADDRSTRLEN];
	memcpy(token, line + start, tlen);
	token[tlen] = '\0';
	uint8_t buf[16];
	if (inet_pton(AF_INET, token, buf) != 1 && inet_pton(AF_INET6, token, buf) != 1)
		return 0;
	memcpy(ns, token, tlen + 1);
	return 1;
}

/* Like the C library, only the first WARD_CONF__MAX_NS usable servers count. */
size_t ward_conf__resolv(const char *path, char ns[WARD_CONF__MAX_NS][INET6_ADDRSTRLEN])
{
	size_t count = 0;
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f)
		return 0;
	char *buf = malloc(RESOLV_CONF_MAX);
	size_t n = buf ? fread(buf, 1, RESOLV_CONF_MAX, f) : 0;
	fclose(f);
	for (size_t pos = 0; pos < n && count < WARD_CONF__MAX_NS;) {
		const char *nl = memchr(buf + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - buf) : n;
		count += (size_t)resolv_line(buf + pos, end - pos, ns[count]);
		pos = end + 1;
	}
	free(buf);
	return count;
}
