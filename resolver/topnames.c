/* Space-saving sketches of blocked names per profile slot and 2-hour bucket (topnames.h). */
#include "resolver/topnames.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct counter {
	uint64_t count, error;
	uint8_t len;                       /* 0: free */
	uint8_t name[WARD_WIRE_NAME_MAX];
};

/* The names' hashes and counts apart from the names, so finding a name or the smallest
 * count reads one short array, not K names. */
struct bucket {
	int64_t epoch;                     /* unix seconds / WARD_TOP_BUCKET_S it counts */
	uint32_t hash[WARD_TOP_K];
	uint64_t count[WARD_TOP_K];        /* = c[i].count */
	struct counter c[WARD_TOP_K];
};

struct slot_sketch {
	struct bucket b[WARD_TOP_BUCKETS];
};

struct ward_top {
	struct slot_sketch *slots[WARD_TOP_SLOTS];
};

struct ward_top *ward_top_new(void)
{
	return calloc(1, sizeof(struct ward_top));
}

void ward_top_free(struct ward_top *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < WARD_TOP_SLOTS; i++)
		free(t->slots[i]);
	free(t);
}

static struct bucket *bucket_for(struct slot_sketch *s, int64_t now)
{
	int64_t epoch = now / WARD_TOP_BUCKET_S;
	struct bucket *b = &s->b[(uint64_t)epoch % WARD_TOP_BUCKETS];
	if (b->epoch != epoch) {
		memset(b, 0, sizeof(*b));
		b->epoch = epoch;
	}
	return b;
}

/* Eight bytes at a time: names are short, and this runs once per block. */
static uint32_t name_hash(const uint8_t *name, size_t len)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ len, w;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, name + i, 8);
		h = (h ^ w) * 0xFF51AFD7ED558CCDull;
	}
	w = 0;
	memcpy(&w, name + i, len - i);
	h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
	return (uint32_t)(h ^ h >> 32);
}

void ward_top_add(struct ward_top *t, unsigned slot, const uint8_t *name, int64_t now)
{
	size_t len = ward_name_wire_len(name);
	if (slot >= WARD_TOP_SLOTS || len == 0 || now < 0)
		return;
	if (!t->slots[slot] && !(t->slots[slot] = calloc(1, sizeof(struct slot_sketch))))
		return;
	struct bucket *b = bucket_for(t->slots[slot], now);
	uint32_t h = name_hash(name, len);
	size_t min = 0;
	for (size_t i = 0; i < WARD_TOP_K; i++) {
		if (b->hash[i] == h && b->c[i].len == len && memcmp(b->c[i].name, name, len) == 0) {
			b->c[i].count = ++b->count[i];
			return;
		}
		if (b->count[i] < b->count[min])
			min = i; /* a free counter has count 0: it is the minimum */
	}
	struct counter *c = &b->c[min];
	c->error = b->count[min];
	c->count = ++b->count[min];
	c->len = (uint8_t)len;
	memcpy(c->name, name, len);
	b->hash[min] = h;
}

/* ---- reading: merge the buckets of the window -------------------------------------------- */

struct merged {
	struct ward_top_item *items;
	size_t n, cap;
};

static void gather_slot(struct merged *m, const struct slot_sketch *s, int64_t now)
{
	int64_t newest = now / WARD_TOP_BUCKET_S;
	for (size_t i = 0; s && i < WARD_TOP_BUCKETS; i++) {
		const struct bucket *b = &s->b[i];
		if (b->epoch > newest || b->epoch <= newest - WARD_TOP_BUCKETS)
			continue;
		for (size_t j = 0; j < WARD_TOP_K && m->n < m->cap; j++) {
			const struct counter *c = &b->c[j];
			if (!c->len)
				continue;
			struct ward_top_item *it = &m->items[m->n++];
			memset(it->name, 0, sizeof(it->name));
			memcpy(it->name, c->name, c->len);
			it->count = c->count;
			it->error = c->error;
		}
	}
}

static int by_name(const void *a, const void *b)
{
	return memcmp(((const struct ward_top_item *)a)->name,
		      ((const struct ward_top_item *)b)->name, WARD_WIRE_NAME_MAX);
}

static int most_first(const void *a, const void *b)
{
	const struct ward_top_item *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return by_name(a, b);
}

/* Names are zero-padded, so equal names compare equal over the whole buffer. */
static size_t fold(struct ward_top_item *items, size_t n)
{
	size_t m = 0;
	qsort(items, n, sizeof(*items), by_name);
	for (size_t i = 0; i < n; i++) {
		if (m && by_name(&items[m - 1], &items[i]) == 0) {
			items[m - 1].count += items[i].count;
			items[m - 1].error += items[i].error;
		} else {
			items[m++] = items[i];
		}
	}
	qsort(items, m, sizeof(*items), most_first);
	return m;
}

size_t ward_top_get(const struct ward_top *t, int slot, int64_t now, struct ward_top_item *out,
		    size_t cap)
{
	struct merged m = {0};
	size_t used = 0;
	for (int i = 0; i < WARD_TOP_SLOTS; i++)
		used += (slot < 0 || slot == i) && t->slots[i];
	if (slot >= WARD_TOP_SLOTS || used == 0)
		return 0;
	m.cap = used * WARD_TOP_K * WARD_TOP_BUCKETS;
	if (!(m.items = malloc(m.cap * sizeof(*m.items))))
		return 0;
	for (int i = 0; i < WARD_TOP_SLOTS; i++)
		if (slot < 0 || slot == i)
			gather_slot(&m, t->slots[i], now);
	size_t n = fold(m.items, m.n);
	n = n < cap ? n : cap;
	memcpy(out, m.items, n * sizeof(*out));
	free(m.items);
	return n;
}
