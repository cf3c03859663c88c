#include "blocklists/coverage.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "blocklists/error.h"

/* Categories the enabled feeds list, and those of them that some feed with a good
 * download supplies. */
struct supply {
	ward_catset listed;
	ward_catset supplied;
};

static int feed_supply(const struct ward_conf *conf, struct ward_catdb *db, struct supply *s)
{
	struct ward_catdb_feed_state st;
	for (size_t i = 0; i < conf->n_feeds; i++) {
		const struct ward_conf_feed *f = &conf->feeds[i];
		if (!f->enabled)
			continue;
		s->listed |= f->categories;
		if (!db)
			continue;
		int rc = ward_catdb_feed_get(db, f->name, &st);
		if (rc == WARD_ENOTFOUND)
			continue;
		if (rc < 0)
			return rc;
		if (st.last_good > 0)
			s->supplied |= f->categories;
	}
	return 0;
}

static ward_catset profile_blocks(const struct ward_conf_profile *p)
{
	ward_catset set = p->blocked;
	for (size_t i = 0; i < p->n_schedules; i++)
		set |= p->schedules[i].block;
	return set;
}

/* "WHO blocks a,b, but <pre> these categories <post>: nothing is blocked for them".
 * @return 1 when it warned. */
static int warn_gap(const struct ward_conf *conf, const char *who, ward_catset gap,
		    const char *pre, const char *post, ward_coverage_fn fn, void *ctx)
{
	char names[512], msg[WARD_COVERAGE_MSG_MAX];
	if (!gap)
		return 0;
	bool one = (gap & (gap - 1)) == 0;
	ward_cat_format(conf->categories, gap, names, sizeof(names));
	snprintf(msg, sizeof(msg), "%s blocks %s, but %s%s%s: nothing is blocked for %s", who,
		 names, pre, one ? "this category" : "these categories", post,
		 one ? "it" : "them");
	fn(ctx, msg);
	return 1;
}

/* @param checked_supply  the database holds names, so feeds' downloads count too */
static int warn_one(const struct ward_conf *conf, const char *who, ward_catset blocks,
		    const struct supply *s, bool checked_supply, ward_coverage_fn fn, void *ctx)
{
	int n = warn_gap(conf, who, blocks & ~s->listed, "no enabled feed lists ", "", fn, ctx);
	if (checked_supply)
		n += warn_gap(conf, who, blocks & s->listed & ~s->supplied, "no feed that lists ",
			      " has been downloaded successfully yet", fn, ctx);
	return n;
}

static int warn_profiles(const struct ward_conf *conf, const struct supply *s,
			 bool checked_supply, ward_coverage_fn fn, void *ctx)
{
	char who[128];
	int n = warn_one(conf, "enforced_categories", conf->enforced, s, checked_supply, fn,
			 ctx);
	for (size_t i = 0; i < conf->n_profiles; i++) {
		const struct ward_conf_profile *p = &conf->profiles[i];
		snprintf(who, sizeof(who), "profile \"%s\"", p->name);
		n += warn_one(conf, who, profile_blocks(p) & ~conf->enforced, s, checked_supply,
			      fn, ctx);
	}
	return n;
}

/* @return 1 when the database is missing or empty (and says so), 0, or an error. */
static int warn_empty(const struct ward_conf *conf, struct ward_catdb *db,
		      ward_coverage_fn fn, void *ctx)
{
	char msg[WARD_COVERAGE_MSG_MAX];
	struct ward_catdb_meta meta = { 0 };
	if (db) {
		int rc = ward_catdb_meta_get(db, &meta);
		if (rc < 0 && rc != WARD_ENOTFOUND)
			return rc;
		if (meta.domains > 0)
			return 0;
	}
	snprintf(msg, sizeof(msg),
		 "the category database in %s %s: no name is blocked by category until `ward "
		 "update` has downloaded a feed", conf->database,
		 db ? "holds no names (no feed has been downloaded successfully)"
		    : "does not exist yet");
	fn(ctx, msg);
	return 1;
}

int ward_coverage_check(const struct ward_conf *conf, struct ward_catdb *db,
			ward_coverage_fn fn, void *ctx)
{
	struct supply s = { 0, 0 };
	int empty = warn_empty(conf, db, fn, ctx);
	if (empty < 0)
		return empty;
	int rc = feed_supply(conf, db, &s);
	if (rc < 0)
		return rc;
	return empty + warn_profiles(conf, &s, empty == 0, fn, ctx);
}
