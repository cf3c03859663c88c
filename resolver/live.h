/*
 * What wardd's main thread keeps live for the workers besides the policy: the wall clock
 * (for override expiry) and the override table (blocklists/overrides.h).
 *
 * On every housekeeping tick (500 ms) the main thread publishes the clock and reads the
 * database's `overrides_changed` counter; when it moved (a `ward allow`, an API call) or
 * the config was reloaded, it builds a new immutable table and swaps it in with one
 * atomic store. Workers pick it up on their next query, so a change is in force within
 * a tick and a worker's refresh. The old table is retired and freed once every worker
 * (and the web thread) has moved past it. A timed override ends on time without a
 * rebuild: expiry is checked per match against the published clock.
 */
#ifndef WARD_LIVE_H
#define WARD_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "resolver/worker.h"

struct ward_live {
	struct ward_override_state *retired;
	uint64_t seq;              /* publications so far */
	uint64_t built_gen;        /* overrides_changed the current table was built from */
	const struct ward_conf *built_conf;
	bool built;
	int last_error;            /* logged once per distinct failure */
};

/*
 * Publish the clock and, when the overrides changed (or `force`), a new table for
 * `conf`. db may be NULL (no database yet: an empty table). Main thread only.
 */
void ward_live_tick(struct ward_live *l, struct ward_shared *shared, const struct ward_conf *conf,
		    struct ward_catdb *db, bool force);

/* Free retired tables that no reader can hold any more: `oldest_seen` is the smallest
 * seen_overrides of every worker and the web thread. */
void ward_live_retire(struct ward_live *l, uint64_t oldest_seen);

/* Free everything, the table in force included (after the workers stopped). */
void ward_live_free(struct ward_live *l, struct ward_shared *shared);

#endif
