/*
 * A set of lower-case wire names with a value each: the allow and deny lists of the
 * policy, the safe-search table and the override table. Open addressing, built once and
 * then read-only, so any number of threads may look names up in it at once.
 * Internal to blocklists/.
 */
#ifndef WARD_NAMESET_H
#define WARD_NAMESET_H

#include <stddef.h>
#include <stdint.h>

#define WARD_NAMESET_FILTER_BITS 4096

struct ward_nameset {
	const uint8_t **slots; /* NULL = empty; else a length byte and a wire name, in `store` */
	const void **values;
	uint8_t *store;        /* every name added, each preceded by its wire length */
	size_t store_used, store_cap;
	size_t mask;
	size_t count;          /* an empty set answers without hashing */
	uint64_t filter[WARD_NAMESET_FILTER_BITS / 64]; /* a bit per quick_bit() of each name:
							   most misses answer without hashing */
};

/* Room for `expected` names of at most `text_bytes` characters in all (a plain name's
 * wire form is two bytes longer than its text, plus the length byte).
 * @return 0 or WARD_ENOMEM (free the set either way). */
int ward_nameset_init(struct ward_nameset *set, size_t expected, size_t text_bytes);
void ward_nameset_free(struct ward_nameset *set);

/* Add a presentation name (lower-cased here); a name added twice keeps the last value.
 * @return 0, or WARD_EINVAL when it is not a name or the room is used up. */
int ward_nameset_add(struct ward_nameset *set, const char *text, const void *value);

/* Add a lower-case wire name. @return 0 or WARD_EINVAL (not a name, no room). */
int ward_nameset_add_wire(struct ward_nameset *set, const uint8_t *wire, const void *value);

/* The slot of an exact wire name of `len` bytes, or SIZE_MAX. */
size_t ward_nameset_find(const struct ward_nameset *set, const uint8_t *name, size_t len);

/* The value of the name itself, else of its nearest parent ("a.b.c", "b.c", "c"; never
 * the root), or NULL. */
const void *ward_nameset_match_suffix(const struct ward_nameset *set, const uint8_t *name,
				      size_t len);

#endif
