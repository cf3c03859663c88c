/* Sets of wire names (see nameset.h). */
#include "blocklists/nameset.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/name.h"

static uint32_t name_hash(const uint8_t *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

/* A few bytes of a wire name, for the pre-filter: its length, the first label's length
 * and first byte and the last byte of its last label tell most names apart from a set's
 * at a few instructions, where the full hash costs one multiply per byte (and
 * ward_nameset_match_suffix asks once per label). */
static unsigned quick_bit(const uint8_t *s, size_t len)
{
	uint32_t h = (uint32_t)len * 0x9E3779B1u;
	if (len >= 2)
		h ^= ((uint32_t)s[0] << 8 | s[1]) * 0x85EBCA77u ^ (uint32_t)s[len - 2] * 0xC2B2AE3Du;
	return (h ^ h >> 15) % WARD_NAMESET_FILTER_BITS;
}

static bool quick_may_contain(const struct ward_nameset *set, const uint8_t *s, size_t len)
{
	unsigned b = quick_bit(s, len);
	return set->filter[b / 64] >> (b % 64) & 1;
}

int ward_nameset_init(struct ward_nameset *set, size_t expected, size_t text_bytes)
{
	size_t cap = 8;
	while (cap < expected * 2 + 1)
		cap <<= 1;
	memset(set, 0, sizeof(*set));
	set->slots = calloc(cap, sizeof(*set->slots));
	set->values = calloc(cap, sizeof(*set->values));
	set->store_cap = text_bytes + 3 * expected;
	set->store = malloc(set->store_cap ? set->store_cap : 1);
	set->mask = cap - 1;
	return set->slots && set->values && set->store ? 0 : WARD_ENOMEM;
}

void ward_nameset_free(struct ward_nameset *set)
{
	free(set->slots);
	free(set->values);
	free(set->store);
	memset(set, 0, sizeof(*set));
}

/* @return the slot of a wire name of `len` bytes: its own, or the empty one to fill. */
static size_t set_slot(const struct ward_nameset *set, const uint8_t *name, size_t len)
{
	size_t i = name_hash(name, len) & set->mask;
	for (; set->slots[i]; i = (i + 1) & set->mask)
		if (set->slots[i][0] == len && memcmp(set->slots[i] + 1, name, len) == 0)
			break;
	return i;
}

/* The entry at set->store + store_used holds a length byte and a wire name: index it. */
static void insert_stored(struct ward_nameset *set, size_t len, const void *value)
{
	uint8_t *entry = set->store + set->store_used;
	entry[0] = (uint8_t)len;
	size_t i = set_slot(set, entry + 1, len);
	if (!set->slots[i]) {
		unsigned b = quick_bit(entry + 1, len);
		set->filter[b / 64] |= 1ULL << (b % 64);
		set->slots[i] = entry;
		set->store_used += 1 + len;
		set->count++;
	}
	set->values[i] = value;
}

int ward_nameset_add(struct ward_nameset *set, const char *text, const void *value)
{
	uint8_t *entry = set->store + set->store_used;
	if (set->store_cap - set->store_used < 2)
		return WARD_EINVAL;
	size_t len = ward_name_from_text(text, entry + 1, set->store_cap - set->store_used - 1);
	if (!len)
		return WARD_EINVAL;
	ward_name_lower(entry + 1);
	insert_stored(set, len, value);
	return 0;
}

int ward_nameset_add_wire(struct ward_nameset *set, const uint8_t *wire, const void *value)
{
	size_t len = ward_name_wire_len(wire);
	if (!len || set->store_cap - set->store_used < len + 1 || set->count * 2 >= set->mask)
		return WARD_EINVAL;
	memcpy(set->store + set->store_used + 1, wire, len);
	insert_stored(set, len, value);
	return 0;
}

size_t ward_nameset_find(const struct ward_nameset *set, const uint8_t *name, size_t len)
{
	if (!set->count || !quick_may_contain(set, name, len))
		return SIZE_MAX;
	size_t i = set_slot(set, name, len);
	return set->slots[i] ? i : SIZE_MAX;
}

const void *ward_nameset_match_suffix(const struct ward_nameset *set, const uint8_t *name,
				      size_t len)
{
	if (!set->count)
		return NULL;
	for (size_t off = 0; name[off] != 0; off += name[off] + 1u) {
		size_t i = ward_nameset_find(set, name + off, len - off);
		if (i != SIZE_MAX)
			return set->values[i];
	}
	return NULL;
}
