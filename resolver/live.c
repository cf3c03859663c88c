/* Live state for the workers: the clock and the override table (live.h). */
#include "resolver/live.h"

#include <stdlib.h>

#include "blocklists/clock.h"
#include "blocklists/error.h"
#include "blocklists/log.h"

static void publish(struct ward_live *l, struct ward_shared *shared,
		    struct ward_override_table *table)
{
	struct ward_override_state *st = calloc(1, sizeof(*st));
	if (!st) {
		ward_override_table_free(table);
		ward_log_error("out of memory publishing the overrides; keeping the old ones");
		return;
	}
	st->table = table;
	st->seq = ++l->seq;
	struct ward_override_state *old = atomic_exchange(&shared->overrides, st);
	if (old) {
		old->retired_next = l->retired;
		l->retired = old;
	}
}

void ward_live_tick(struct ward_live *l, struct ward_shared *shared, const struct ward_conf *conf,
		    struct ward_catdb *db, bool force)
{
	atomic_store(&shared->unix_now, ward_clock_now());
	uint64_t gen = 0;
	int rc = db ? ward_overrides_generation(db, &gen) : 0;
	if (rc == 0 && l->built && !force && gen == l->built_gen && conf == l->built_conf)
		return;
	struct ward_override_table *table = NULL;
	if (rc == 0)
		rc = db ? ward_override_table_load(db, conf, &table)
			: ward_override_table_new(conf, NULL, 0, 0, &table);
	if (rc != 0) {
		/* The table in force stays: a read that failed says nothing new. */
		if (rc != l->last_error)
			ward_log_error("cannot read the overrides: %s", ward_strerror(rc));
		l->last_error = rc;
		return;
	}
	l->last_error = 0;
	if (l->built && ward_override_table_generation(table) != l->built_gen)
		ward_log_info("overrides changed: %zu in force",
			      ward_override_table_count(table));
	l->built = true;
	l->built_gen = ward_override_table_generation(table);
	l->built_conf = conf;
	publish(l, shared, table);
}

static void state_free(struct ward_override_state *st)
{
	ward_override_table_free(st->table);
	free(st);
}

void ward_live_retire(struct ward_live *l, uint64_t oldest_seen)
{
	struct ward_override_state **link = &l->retired;
	while (*link) {
		struct ward_override_state *st = *link;
		if (st->seq < oldest_seen) {
			*link = st->retired_next;
			ward_log_debug("freed the retired override table %llu",
				       (unsigned long long)st->seq);
			state_free(st);
		} else {
			link = &st->retired_next;
		}
	}
}

void ward_live_free(struct ward_live *l, struct ward_shared *shared)
{
	ward_live_retire(l, UINT64_MAX);
	struct ward_override_state *st = atomic_exchange(&shared->overrides, NULL);
	if (st)
		state_free(st);
}
