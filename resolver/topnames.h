/*
 * The most blocked names of the last 24 hours, per profile slot, in bounded memory.
 *
 * Each profile slot has WARD_TOP_BUCKETS buckets of WARD_TOP_BUCKET_S seconds; each bucket
 * is a space-saving sketch (Metwally et al., 2005) of WARD_TOP_K counters: a name already
 * counted adds one, a new name takes a free counter or replaces the smallest one, taking
 * over its count (the error it may carry). Any name blocked more than 1/K of a bucket's
 * blocks is in it, and a count is never too low. A read merges the buckets of the last 24
 * hours. Memory: WARD_TOP_K * WARD_TOP_BUCKETS counters (~80 KiB) per slot that has blocked
 * anything, allocated on its first block.
 *
 * One writer (the observer thread) and readers on other threads: the caller locks.
 */
#ifndef WARD_TOPNAMES_H
#define WARD_TOPNAMES_H

#include <stddef.h>
#include <stdint.h>

#include "blocklists/name.h"

#define WARD_TOP_K 24
#define WARD_TOP_BUCKETS 12
#define WARD_TOP_BUCKET_S 7200       /* 12 x 2 h = the last 24 hours */
#define WARD_TOP_SLOTS 64            /* = WARD_STATS_SLOTS */

struct ward_top;

struct ward_top_item {
	uint8_t name[WARD_WIRE_NAME_MAX]; /* lower-case wire form */
	uint64_t count;                   /* blocks in the window (an upper bound) */
	uint64_t error;                   /* how much of count may belong to other names */
};

/* @return an empty sketch, or NULL. */
struct ward_top *ward_top_new(void);
void ward_top_free(struct ward_top *t);

/* Count one block of `name` (wire form) for slot at unix second now. Slots past
 * WARD_TOP_SLOTS and invalid names are ignored; so is a slot whose memory cannot be had. */
void ward_top_add(struct ward_top *t, unsigned slot, const uint8_t *name, int64_t now);

/*
 * The most blocked names of the 24 hours before now, most first.
 * @param slot  a profile slot, or -1 for every slot together
 * @return how many were written to out (at most cap).
 */
size_t ward_top_get(const struct ward_top *t, int slot, int64_t now, struct ward_top_item *out,
		    size_t cap);

#endif
