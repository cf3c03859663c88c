/*
 * What subscribers.c (the prefix table: set, remove, import, the reader's state) shares
 * with subscribers_index.c (the derived range index, key space `sub_index` in catdb.c's
 * comment). Not a public header.
 */
#ifndef WARD_SUBSCRIBERS_INTERNAL_H
#define WARD_SUBSCRIBERS_INTERNAL_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/catdb_internal.h"
#include "blocklists/subscribers.h"

#define WARD_SUB_FAM4 4
#define WARD_SUB_FAM6 6

/* Prefix table key: family, prefix length, network address. @return its length. */
size_t ward_sub_make_key(unsigned fam, const uint8_t *addr, unsigned len,
			 uint8_t key[WARD_SUB_KEY_MAX]);

/* The prefix lengths in use (meta sub_lengths; all clear when there is none).
 * @return 0 or a read error. */
int ward_sub_lengths_get(struct ward_catdb *db, MDB_txn *txn, struct ward_sub_lengths *l);

/* The profile-only values of the index (meta sub_values), as a reader holds them:
 * pointers into the map, valid for the snapshot they were loaded from. */
struct ward_subidx_values {
	unsigned n;
	const uint8_t *v[WARD_SUBIDX_VALUES_MAX];
};

/*
 * Is the index of this snapshot usable: meta sub_index names the current format and the
 * shape of `subscribers` it was derived from (an older ward's write to the table leaves
 * it stale), and meta sub_values decodes. @return 0 (*ok says) or a read error.
 */
int ward_subidx_check(MDB_txn *txn, MDB_dbi meta, MDB_dbi subs, MDB_dbi idx, bool *ok,
		      struct ward_subidx_values *vals);

/*
 * The owner of addr (fam, big-endian bytes) in the index: *len its prefix length
 * (WARD_SUBIDX_NONE: no prefix holds addr) and *vid its value (an index into vals, or
 * WARD_SUBIDX_REF: the value is in the prefix table). cur: a cursor on `sub_index`.
 * @return 0, WARD_EFORMAT (a damaged or missing chunk), or a read error.
 */
int ward_subidx_find(MDB_cursor *cur, unsigned fam, const uint8_t *addr, uint8_t *len,
		     uint8_t *vid);

/* Writers, inside the transaction that changed `subscribers` (and meta sub_lengths). */

/* Is the index in this write transaction current? Ask before changing the table. */
int ward_subidx_valid(struct ward_catdb *db, MDB_txn *txn, bool *ok);

/* Replace the whole index with one derived from the table (import; an index found stale). */
int ward_subidx_rebuild(struct ward_catdb *db, MDB_txn *txn);

/* The prefix (fam, addr, len) was added, removed or given another value: recompute the
 * chunks its addresses fall in. was_valid: ward_subidx_valid() before the change (when
 * false the whole index is rebuilt instead). */
int ward_subidx_changed(struct ward_catdb *db, MDB_txn *txn, bool was_valid, unsigned fam,
			const uint8_t *addr, unsigned len);

#endif
