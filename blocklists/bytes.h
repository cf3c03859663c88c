/*
 * Fixed-width integers in stored keys and records, in a stated byte order, so that a
 * database or a log written on one machine reads the same on any other (arm64, s390x).
 * One move each (a copy of the swapped value, which compilers make a single load or
 * store), because record codecs run on every lookup and every logged query.
 * n is the width in bytes, 1 to 8.
 */
#ifndef WARD_BYTES_H
#define WARD_BYTES_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

static inline void ward_bytes_put_be(uint8_t *p, uint64_t v, unsigned n)
{
	uint64_t be = htobe64(v << (64 - 8 * n));
	memcpy(p, &be, n);
}

static inline uint64_t ward_bytes_get_be(const uint8_t *p, unsigned n)
{
	uint64_t be = 0;
	memcpy(&be, p, n);
	return be64toh(be) >> (64 - 8 * n);
}

static inline void ward_bytes_put_le(uint8_t *p, uint64_t v, unsigned n)
{
	uint64_t le = htole64(v);
	memcpy(p, &le, n);
}

static inline uint64_t ward_bytes_get_le(const uint8_t *p, unsigned n)
{
	uint64_t le = 0;
	memcpy(&le, p, n);
	return le64toh(le);
}

#endif
