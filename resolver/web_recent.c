/*
 * Recent blocks per device, for the "why was this blocked" page (web_internal.h).
 *
 * Bounded on every side: at most WARD_WEB_RECENT_CLIENTS devices (a new one takes the
 * place of the device that was blocked least recently) and WARD_WEB_RECENT_PER_CLIENT
 * names per device (a name blocked again moves to the front; the oldest name goes).
 * Memory is allocated per device on its first block and freed when it is replaced.
 */
#include <stdlib.h>
#include <string.h>

#include "blocklists/name.h"
#include "resolver/web_internal.h"

#define SLOTS (WARD_WEB_RECENT_CLIENTS * 2) /* open addressing, at most half full */

struct device {
	uint8_t key[16];
	int64_t last;                     /* unix seconds of its latest block */
	size_t n;
	struct ward_record items[WARD_WEB_RECENT_PER_CLIENT]; /* newest first */
};

struct web_recent {
	struct device *slots[SLOTS];
	size_t n_devices;
};

struct web_recent *web_recent_new(void)
{
	return calloc(1, sizeof(struct web_recent));
}

void web_recent_free(struct web_recent *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < SLOTS; i++)
		free(r->slots[i]);
	free(r);
}

static size_t hash16(const uint8_t key[16])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % SLOTS;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find(const struct web_recent *r, const uint8_t key[16])
{
	size_t i = hash16(key);
	while (r->slots[i] && memcmp(r->slots[i]->key, key, 16) != 0)
		i = (i + 1) % SLOTS;
	return i;
}

/* Remove the device in slot i, keeping every probe chain intact (backward shift). */
static void remove_at(struct web_recent *r, size_t i)
{
	free(r->slots[i]);
	r->slots[i] = NULL;
	r->n_devices--;
	for (size_t j = (i + 1) % SLOTS; r->slots[j]; j = (j + 1) % SLOTS) {
		struct device *d = r->slots[j];
		r->slots[j] = NULL;
		r->slots[find(r, d->key)] = d;
	}
}

static void evict_oldest(struct web_recent *r)
{
	size_t oldest = SLOTS;
	for (size_t i = 0; i < SLOTS; i++)
		if (r->slots[i] && (oldest == SLOTS || r->slots[i]->last < r->slots[oldest]->last))
			oldest = i;
	if (oldest != SLOTS)
		remove_at(r, oldest);
}

static struct device *device_for(struct web_recent *r, const uint8_t key[16])
{
	size_t i = find(r, key);
	if (r->slots[i])
		return r->slots[i];
	if (r->n_devices >= WARD_WEB_RECENT_CLIENTS) {
		evict_oldest(r);
		i = find(r, key);
	}
	struct device *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	memcpy(d->key, key, 16);
	r->slots[i] = d;
	r->n_devices++;
	return d;
}

static bool same_name(const uint8_t *a, const uint8_t *b)
{
	size_t la = ward_name_wire_len(a);
	return la && la == ward_name_wire_len(b) && memcmp(a, b, la) == 0;
}

static void add_to(struct device *d, const struct ward_record *rec)
{
	size_t i = 0;
	while (i < d->n && !same_name(d->items[i].name, rec->name))
		i++;
	if (i == d->n && d->n < WARD_WEB_RECENT_PER_CLIENT)
		d->n++;
	if (i == WARD_WEB_RECENT_PER_CLIENT)
		i--; /* the oldest name makes room */
	memmove(&d->items[1], &d->items[0], i * sizeof(d->items[0]));
	d->items[0] = *rec;
	d->last = rec->unix_s;
}

void web_recent_add(struct web_recent *r, const struct ward_record *rec, bool trusted_mac)
{
	uint8_t key[16];
	if (!ward_name_wire_len(rec->name))
		return;
	if (trusted_mac)
		web_mac_key(rec->mac, key);
	else
		memcpy(key, rec->client, 16);
	struct device *d = device_for(r, key);
	if (d)
		add_to(d, rec);
}

size_t web_recent_get(struct web_recent *r, const uint8_t key[16], struct ward_record *out,
		      size_t cap)
{
	const struct device *d = r->slots[find(r, key)];
	size_t n = 0;
	for (; d && n < d->n && n < cap; n++)
		out[n] = d->items[n];
	return n;
}
