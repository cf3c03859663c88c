/*
 * The small pieces every other dns_*.c file shares: EDE text fitting, the OPT/EDE writer
 * and reply flags. (Presentation form lives in blocklists/name.c, shared with `ward`.)
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
