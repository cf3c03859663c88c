/*
 * Private to blocklists/conf*.c: the text-level parsers behind the config schema. Each
 * says *why* it refused, so the schema code can name the reason in its message; the
 * public wrappers in conf.h collapse that to WARD_EINVAL.
 */
#ifndef WARD_CONF_INTERNAL_H
#define WARD_CONF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/conf.h"

/* "21:00", "7:30"; "24:00" only when allow_24 (the end of a window). @return 0 or -1. */
int ward_conf__time(const char *text, int allow_24, uint16_t *minutes);

/* "45s", "30m", "12h", "1d", "1h30m". @return 0 or -1 (also above max_s). */
int ward_conf__duration(const char *text, uint64_t max_s, uint64_t *seconds);

/* Format seconds the way a config writes them: "1d", "12h", "90s". */
const char *ward_conf__duration_format(uint64_t seconds, char *buf, size_t cap);

/* Why a domain name was refused. */
enum ward_conf__name_why {
	WARD_CONF__NAME_OK = 0,
	WARD_CONF__NAME_INVALID,
	WARD_CONF__NAME_IP,       /* looks like an address, not a name */
	WARD_CONF__NAME_WILDCARD, /* "*.example.com" */
	WARD_CONF__NAME_IDN,      /* non-ASCII: write the xn-- form */
};

/* Normalize a domain name (lower-case, no trailing dot) into out (cap >= 254).
 * Labels 1..63 of [a-z0-9_-], total 1..253. */
enum ward_conf__name_why ward_conf__domain(const char *text, char *out, size_t cap);

/* A POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3" (syntax only, see conf_tz.c). */
bool ward_conf__posix_tz(const char *text);

/* Levenshtein distance, giving up (returning a large value) for long strings. */
size_t ward_conf__distance(const char *a, const char *b);

/*
 * Read up to WARD_CONF__MAX_NS nameserver addresses from a resolv.conf, in order,
 * skipping anything that is not a plain IPv4/IPv6 address (IPv6 zones included).
 * A missing file yields zero addresses. Each text is a NUL-terminated address, no port.
 * @return the count found.
 */
#define WARD_CONF__MAX_NS 3
size_t ward_conf__resolv(const char *path, char ns[WARD_CONF__MAX_NS][INET6_ADDRSTRLEN]);

#endif
