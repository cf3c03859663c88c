/*
 * The in-memory override table (overrides.h): built once from the stored records, then
 * read-only, so wardd's workers match names against it without locks or LMDB.
 *
 * One group per profile name that has overrides, plus one for everyone; each holds an
 * allow set and a deny set of wire names (blocklists/nameset.h) whose values are the
 * records, and the profile's pause. The groups are also indexed by the profile indexes
 * of the config the table was built with, so the per-query lookup is an array read.
 */
#include "blocklists/overrides.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/nameset.h"

struct group {
	char profile[WARD_OVERRIDE_PROFILE_MAX]; /* "" = everyone */
	struct ward_nameset allow, deny;
	size_t n_allow, n_deny;
	size_t allow_bytes, deny_bytes;          /* wire bytes the sets will hold */
	const struct ward_override_hit *pause;
};

struct ward_override_table {
	const struct ward_conf *conf;
	uint64_t generation;
	size_t count;
	struct group *groups;
	size_t n_groups;
	struct group *everyone;
	struct group **by_profile;   /* conf->n_profiles entries, NULL = no overrides */
	struct ward_override_hit *hits;
	char *text;                  /* names and categories the hits point at */
};

static struct group *group_for(struct ward_override_table *t, const char *profile)
{
	for (size_t i = 0; i < t->n_groups; i++)
		if (strcmp(t->groups[i].profile, profile) == 0)
			return &t->groups[i];
	struct group *g = &t->groups[t->n_groups++];
	snprintf(g->profile, sizeof(g->profile), "%s", profile);
	return g;
}

/* First pass: the groups, how much each set will hold, and the bytes of text.
 * @return the text bytes the hits need. */
static size_t count_groups(struct ward_override_table *t, const struct ward_override *list,
			   size_t n)
{
	char name[WARD_NAME_TEXT_MAX];
	size_t text = 1;
	for (size_t i = 0; i < n; i++) {
		const struct ward_override *o = &list[i];
		struct group *g = group_for(t, o->profile);
		size_t wire = ward_name_wire_len(o->name);
		if (o->kind == WARD_OVERRIDE_ALLOW) {
			g->n_allow++;
			g->allow_bytes += wire;
		} else if (o->kind == WARD_OVERRIDE_DENY) {
			g->n_deny++;
			g->deny_bytes += wire;
		}
		text += ward_name_to_text(o->name, name, sizeof(name)) + 1;
		text += strnlen(o->category, sizeof(o->category) - 1) + 1;
	}
	return text;
}

static int init_sets(struct ward_override_table *t)
{
	for (size_t i = 0; i < t->n_groups; i++) {
		struct group *g = &t->groups[i];
		int rc = ward_nameset_init(&g->allow, g->n_allow, g->allow_bytes);
		if (!rc)
			rc = ward_nameset_init(&g->deny, g->n_deny, g->deny_bytes);
		if (rc)
			return rc;
		if (!g->profile[0])
			t->everyone = g;
	}
	return 0;
}

/* The hit for record o, its texts copied to *text (advanced). */
static void fill_hit(const struct ward_conf *conf, const struct ward_override *o,
		     struct ward_override_hit *h, char **text)
{
	h->id = o->id;
	h->kind = o->kind;
	h->expires = o->expires;
	h->everyone = !o->profile[0];
	h->name = *text;
	*text += ward_name_to_text(o->name, *text, WARD_NAME_TEXT_MAX) + 1;
	h->category = *text;
	size_t n = strnlen(o->category, sizeof(o->category) - 1);
	memcpy(*text, o->category, n);
	(*text)[n] = '\0';
	*text += n + 1;
	int bit = o->category[0] && conf ? ward_cat_bit(conf->categories, o->category) : -1;
	h->categories = bit >= 0 ? WARD_CAT((unsigned)bit) : 0;
}

static int add_records(struct ward_override_table *t, const struct ward_override *list,
		       size_t n)
{
	char *text = t->text;
	for (size_t i = 0; i < n; i++) {
		const struct ward_override *o = &list[i];
		struct ward_override_hit *h = &t->hits[i];
		struct group *g = group_for(t, o->profile);
		fill_hit(t->conf, o, h, &text);
		int rc = 0;
		if (o->kind == WARD_OVERRIDE_ALLOW)
			rc = ward_nameset_add_wire(&g->allow, o->name, h);
		else if (o->kind == WARD_OVERRIDE_DENY)
			rc = ward_nameset_add_wire(&g->deny, o->name, h);
		else if (!g->pause || g->pause->id < h->id)
			g->pause = h;
		if (rc)
			return rc;
		t->count++;
	}
	return 0;
}

static int index_profiles(struct ward_override_table *t)
{
	size_t np = t->conf ? t->conf->n_profiles : 0;
	t->by_profile = calloc(np ? np : 1, sizeof(*t->by_profile));
	if (!t->by_profile)
		return WARD_ENOMEM;
	for (size_t i = 0; i < np; i++)
		for (size_t j = 0; j < t->n_groups; j++)
			if (t->groups[j].profile[0] &&
			    strcmp(t->groups[j].profile, t->conf->profiles[i].name) == 0)
				t->by_profile[i] = &t->groups[j];
	return 0;
}

int ward_override_table_new(const struct ward_conf *conf, const struct ward_override *list,
			    size_t n, uint64_t generation, struct ward_override_table **out)
{
	*out = NULL;
	struct ward_override_table *t = calloc(1, sizeof(*t));
	if (!t)
		return WARD_ENOMEM;
	t->conf = conf;
	t->generation = generation;
	t->groups = calloc(n ? n : 1, sizeof(*t->groups));
	t->hits = calloc(n ? n : 1, sizeof(*t->hits));
	int rc = t->groups && t->hits ? 0 : WARD_ENOMEM;
	if (!rc) {
		t->text = malloc(count_groups(t, list, n));
		rc = t->text ? init_sets(t) : WARD_ENOMEM;
	}
	if (!rc)
		rc = add_records(t, list, n);
	if (!rc)
		rc = index_profiles(t);
	if (rc) {
		ward_override_table_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void ward_override_table_free(struct ward_override_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->groups && i < t->n_groups; i++) {
		ward_nameset_free(&t->groups[i].allow);
		ward_nameset_free(&t->groups[i].deny);
	}
	free(t->groups);
	free(t->by_profile);
	free(t->hits);
	free(t->text);
	free(t);
}

int ward_override_table_load(struct ward_catdb *db, const struct ward_conf *conf,
			     struct ward_override_table **out)
{
	uint64_t gen = 0;
	struct ward_override *list = NULL;
	size_t n = 0;
	int rc = ward_overrides_generation(db, &gen);
	/* Expired records stay out: they can only come back through a new write. */
	if (!rc)
		rc = ward_overrides_list(db, 0, &list, &n);
	if (!rc)
		rc = ward_override_table_new(conf, list, n, gen, out);
	free(list);
	return rc;
}

uint64_t ward_override_table_generation(const struct ward_override_table *t)
{
	return t ? t->generation : 0;
}

size_t ward_override_table_count(const struct ward_override_table *t)
{
	return t ? t->count : 0;
}

/* ---- matching ------------------------------------------------------------------------------ */

static const struct group *profile_group(const struct ward_override_table *t,
					 const struct ward_conf *conf, size_t profile)
{
	if (!conf || profile >= conf->n_profiles)
		return NULL;
	if (conf == t->conf)
		return t->by_profile[profile];
	/* A table built for another config (the moment after a SIGHUP): by name. */
	for (size_t i = 0; i < t->n_groups; i++)
		if (strcmp(t->groups[i].profile, conf->profiles[profile].name) == 0)
			return &t->groups[i];
	return NULL;
}

/* The nearest entry in force: the name, then each parent; an expired entry is passed
 * over so that a parent's entry still applies. */
static const struct ward_override_hit *match_set(const struct ward_nameset *set,
						 const uint8_t *name, size_t len, int64_t now)
{
	if (!set->count)
		return NULL;
	for (size_t off = 0; name[off] != 0; off += name[off] + 1u) {
		size_t i = ward_nameset_find(set, name + off, len - off);
		if (i == SIZE_MAX)
			continue;
		const struct ward_override_hit *h = set->values[i];
		if (h->expires == 0 || h->expires > now)
			return h;
	}
	return NULL;
}

static const struct ward_override_hit *match_group(const struct group *g,
						   enum ward_override_kind kind,
						   const uint8_t *name, size_t len, int64_t now)
{
	if (!g)
		return NULL;
	return match_set(kind == WARD_OVERRIDE_ALLOW ? &g->allow : &g->deny, name, len, now);
}

bool ward_override_table_match(const struct ward_override_table *t,
			       const struct ward_conf *conf, size_t profile,
			       enum ward_override_kind kind, const uint8_t *name, size_t len,
			       int64_t now, struct ward_override_hit *hit)
{
	if (!t || !t->count)
		return false;
	const struct ward_override_hit *h =
		match_group(profile_group(t, conf, profile), kind, name, len, now);
	if (!h)
		h = match_group(t->everyone, kind, name, len, now);
	if (h)
		*hit = *h;
	return h != NULL;
}

bool ward_override_table_paused(const struct ward_override_table *t,
				const struct ward_conf *conf, size_t profile, int64_t now,
				struct ward_override_hit *hit)
{
	if (!t || !t->count)
		return false;
	const struct group *g = profile_group(t, conf, profile);
	if (!g || !g->pause || (g->pause->expires != 0 && g->pause->expires <= now))
		return false;
	*hit = *g->pause;
	return true;
}
