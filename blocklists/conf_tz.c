/*
 * POSIX TZ strings (POSIX.1-2017 8.3, "TZ"), as OpenWrt keeps the local time zone in
 * /etc/TZ and uci (system.@system[0].timezone) instead of a zoneinfo name:
 *
 *   std offset [dst [offset] [,start[/time],end[/time]]]
 *   "CET-1CEST,M3.5.0,M10.5.0/3"   "UTC0"   "<+0330>-3:30"   "EST5EDT"
 *
 * std and dst are 3 or more letters, or <...> quoting letters, digits, '+' and '-'.
 * An offset is [+-]hh[:mm[:ss]] with hh up to 24; a rule time may go up to 167 hours
 * either way (POSIX.1-2024, glibc and musl accept it). A date is Jn (1-365, no leap day),
 * n (0-365) or Mm.w.d (month 1-12, week 1-5, weekday 0-6).
 * Only the syntax is checked: glibc and musl then interpret the string themselves.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "blocklists/conf_internal.h"

#define TZ_MAX_LEN 128

static bool tz_name(const char **p)
{
	const char *s = *p;
	size_t n = 0;
	if (*s == '<') {
		for (s++; isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '-'; n++)
			;
		if (n < 3 || s[n] != '>')
			return false;
		*p = s + n + 1;
		return true;
	}
	while (isalpha((unsigned char)s[n]))
		n++;
	*p = s + n;
	return n >= 3;
}

/* Up to digits_max decimal digits with a value in [min, max]. */
static bool tz_number(const char **p, unsigned digits_max, unsigned min, unsigned max)
{
	unsigned v = 0, n = 0;
	while (n < digits_max && isdigit((unsigned char)**p)) {
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
		n++;
	}
	return n > 0 && !isdigit((unsigned char)**p) && v >= min && v <= max;
}

/* [+-]hh[:mm[:ss]] with hh at most max_hours, mm and ss two digits each. */
static bool tz_time(const char **p, unsigned max_hours)
{
	if (**p == '+' || **p == '-')
		(*p)++;
	if (!tz_number(p, 3, 0, max_hours))
		return false;
	for (int part = 0; part < 2 && **p == ':'; part++) {
		(*p)++;
		const char *start = *p;
		if (!tz_number(p, 2, 0, 59) || *p - start != 2)
			return false;
	}
	return true;
}

static bool tz_date(const char **p)
{
	switch (**p) {
	case 'J': (*p)++; return tz_number(p, 3, 1, 365);
	case 'M':
		(*p)++;
		if (!tz_number(p, 2, 1, 12) || *(*p)++ != '.' || !tz_number(p, 1, 1, 5))
			return false;
		return *(*p)++ == '.' && tz_number(p, 1, 0, 6);
	default: return tz_number(p, 3, 0, 365);
	}
}

static bool tz_rule(const char **p)
{
	if (!tz_date(p))
		return false;
	if (**p == '/') {
		(*p)++;
		return tz_time(p, 167);
	}
	return true;
}

bool ward_conf__posix_tz(const char *text)
{
	const char *p = text;
	if (!text || strlen(text) > TZ_MAX_LEN)
		return false;
	if (!tz_name(&p) || !tz_time(&p, 24))
		return false;
	if (*p == '\0')
		return true;
	if (!tz_name(&p))
		return false;
	if (*p && *p != ',' && !tz_time(&p, 24))
		return false;
	if (*p == '\0')
		return true;
	if (*p++ != ',' || !tz_rule(&p) || *p++ != ',' || !tz_rule(&p))
		return false;
	return *p == '\0';
}
