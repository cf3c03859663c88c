/*
 * Domain names in wire form (length-prefixed labels, no compression), as wardd receives
 * them and as the policy and the category database look them up, and their presentation
 * form (RFC 1035 5.1 text, with \DDD and \X escapes) that people type and read.
 *
 * Every byte value is legal in a wire label, so the wire form is the only one in which a
 * name can be checked without losing anything: the policy works on it, and `ward lookup`
 * turns its argument into it with ward_name_from_text() before asking the same policy.
 */
#include "blocklists/name.h"

#include <idn2.h>
#include <string.h>

/* One character of a label in presentation form; returns its length (1, 2 or 4). */
static size_t escape_char(uint8_t c, char out[4])
{
	if (c == '.' || c == '\\') {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	if (c > 0x20 && c < 0x7F) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = (char)('0' + c / 100);
	out[2] = (char)('0' + c / 10 % 10);
	out[3] = (char)('0' + c % 10);
	return 4;
}

/* The common case: a label with nothing to escape is one memcpy.
 * @return false (nothing written) when the label needs escaping or does not fit. */
static bool copy_plain_label(const uint8_t *label, char *buf, size_t cap, size_t *n)
{
	unsigned len = label[0];
	if (*n + len >= cap)
		return false;
	for (unsigned i = 1; i <= len; i++) {
		uint8_t c = label[i];
		if (c <= 0x20 || c >= 0x7F || c == '.' || c == '\\')
			return false;
	}
	memcpy(buf + *n, label + 1, len);
	*n += len;
	return true;
}

size_t ward_name_to_text(const uint8_t *wire, char *buf, size_t cap)
{
	size_t n = 0, pos = 0;

	if (cap == 0)
		return 0;
	buf[0] = 0;
	if (!wire)
		return 0;
	if (wire[0] == 0) {
		if (cap < 2)
			return 0;
		buf[0] = '.';
		buf[1] = 0;
		return 1;
	}
	/* Stop at anything that is not a valid uncompressed name: the caller may hand us
	 * bytes we cannot fully trust, and half a name is better than a read overrun. */
	while (wire[pos] != 0 && wire[pos] <= 63 && pos + wire[pos] + 1 < WARD_WIRE_NAME_MAX) {
		if (pos > 0) {
			if (n + 1 >= cap)
				goto out;
			buf[n++] = '.';
		}
		if (copy_plain_label(wire + pos, buf, cap, &n)) {
			pos += wire[pos] + 1u;
			continue;
		}
		for (unsigned i = 1; i <= wire[pos]; i++) {
			char e[4];
			size_t k = escape_char(wire[pos + i], e);
			if (n + k >= cap)
				goto out;
			memcpy(buf + n, e, k);
			n += k;
		}
		pos += wire[pos] + 1u;
	}
out:
	buf[n] = 0;
	return n;
}

/* One byte of a presentation label: a plain character, \X or \DDD. -1 if invalid. */
static int unescape_char(const char **s)
{
	const char *p = *s;
	if (p[0] != '\\') {
		*s = p + 1;
		return (uint8_t)p[0];
	}
	if (p[1] >= '0' && p[1] <= '9') {
		if (!(p[2] >= '0' && p[2] <= '9' && p[3] >= '0' && p[3] <= '9'))
			return -1;
		int v = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
		*s = p + 4;
		return v > 255 ? -1 : v;
	}
	if (p[1] == 0)
		return -1;
	*s = p + 2;
	return (uint8_t)p[1];
}

size_t ward_name_from_text(const char *text, uint8_t *wire, size_t cap)
{
	uint8_t tmp[WARD_WIRE_NAME_MAX];
	size_t n = 0;
	const char *s = text;

	if (!text || !wire || !*s)
		return 0;
	if (s[0] == '.' && s[1] == 0) {
		if (cap < 1)
			return 0;
		wire[0] = 0;
		return 1;
	}
	while (*s) {
		size_t lab = n++;
		unsigned llen = 0;
		while (*s && *s != '.') {
			int c = unescape_char(&s);
			/* n + 1 < 255 keeps room for the root label. */
			if (c < 0 || llen == 63 || n + 1 >= WARD_WIRE_NAME_MAX)
				return 0;
			tmp[n++] = (uint8_t)c;
			llen++;
		}
		if (llen == 0)
			return 0;
		tmp[lab] = (uint8_t)llen;
		if (*s == '.')
			s++;
	}
	tmp[n++] = 0;
	if (n > cap)
		return 0;
	memcpy(wire, tmp, n);
	return n;
}

size_t ward_name_wire_len(const uint8_t *wire)
{
	size_t pos = 0;
	while (wire[pos] != 0) {
		if (wire[pos] > 63 || pos + wire[pos] + 1u >= WARD_WIRE_NAME_MAX)
			return 0;
		pos += wire[pos] + 1u;
	}
	return pos + 1;
}

void ward_name_lower(uint8_t *wire)
{
	for (size_t pos = 0; wire[pos] != 0; pos += wire[pos] + 1u)
		for (unsigned i = 1; i <= wire[pos]; i++)
			if (wire[pos + i] >= 'A' && wire[pos + i] <= 'Z')
				wire[pos + i] = (uint8_t)(wire[pos + i] + ('a' - 'A'));
}

int ward_name_idn_to_ascii(const char *in, size_t len, char *out, size_t cap)
{
	char buf[WARD_NAME_IDN_INPUT_MAX + 1], *ascii = NULL;
	if (len > WARD_NAME_IDN_INPUT_MAX || memchr(in, '\0', len))
		return -1;
	memcpy(buf, in, len);
	buf[len] = '\0';
	int rc = idn2_to_ascii_8z(buf, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	size_t n = rc == IDN2_OK ? strlen(ascii) : 0;
	bool fits = rc == IDN2_OK && n < cap;
	for (size_t i = 0; fits && i < n; i++)
		fits = (unsigned char)ascii[i] < 0x80;
	if (fits)
		memcpy(out, ascii, n + 1);
	idn2_free(ascii);
	return fits ? (int)n : -1;
}
