/*
 * DNS names and the small pieces every other dns_*.c file shares: the one name reader
 * that enforces the compression rules, presentation form, and the OPT/EDE writer.
 */
#include "resolver/dns.h"

#include <string.h>

#include "resolver/dns_wire.h"

size_t ward_dns__utf8_fit(const char *text, size_t text_len, size_t max)
{
	if (text_len <= max)
		return text_len;
	size_t n = max;
	/* text[n] is the first byte left out; never leave out only the tail of a character. */
	while (n > 0 && ((uint8_t)text[n] & 0xC0) == 0x80)
		n--;
	return n;
}

size_t ward_dns__ede_text_len(const char *text)
{
	if (!text)
		return 0;
	return ward_dns__utf8_fit(text, strnlen(text, WARD_DNS_EDE_TEXT_MAX + 1),
				  WARD_DNS_EDE_TEXT_MAX);
}

size_t ward_dns__write_opt(uint8_t *p, unsigned ext_rcode, bool do_bit, int ede_code,
			   const char *text, size_t text_len)
{
	p[0] = 0;
	ward_dns__wr16(p + 1, WARD_TYPE_OPT);
	ward_dns__wr16(p + 3, WARD_DNS_EDNS_SIZE);
	p[5] = (uint8_t)ext_rcode;
	p[6] = 0; /* version */
	p[7] = do_bit ? 0x80 : 0;
	p[8] = 0;
	if (ede_code < 0) {
		ward_dns__wr16(p + 9, 0);
		return WARD_DNS_OPT_FIXED;
	}
	ward_dns__wr16(p + 9, (unsigned)(WARD_DNS_EDE_FIXED + text_len));
	ward_dns__wr16(p + 11, WARD_EDNS_OPT_EDE);
	ward_dns__wr16(p + 13, (unsigned)(2 + text_len));
	ward_dns__wr16(p + 15, (unsigned)ede_code);
	if (text_len)
		memcpy(p + 17, text, text_len);
	return WARD_DNS_OPT_FIXED + WARD_DNS_EDE_FIXED + text_len;
}

uint16_t ward_dns__reply_flags(const struct ward_dns_query *q, unsigned rcode)
{
	unsigned kept = q->flags & (0x7800u | WARD_DNS_F_RD | WARD_DNS_F_CD);
	return (uint16_t)(WARD_DNS_F_QR | WARD_DNS_F_RA | kept | (rcode & 0xFu));
}

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

/* The common case on the query path: a label with nothing to escape is one memcpy.
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

size_t ward_dns_name_to_text(const uint8_t *wire, char *buf, size_t cap)
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
	while (wire[pos] != 0 && wire[pos] <= 63 && pos + wire[pos] + 1 < WARD_DNS_NAME_MAX) {
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

size_t ward_dns_name_from_text(const char *text, uint8_t *wire, size_t cap)
{
	uint8_t tmp[WARD_DNS_NAME_MAX];
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
			if (c < 0 || llen == 63 || n + 1 >= WARD_DNS_NAME_MAX)
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
