/*
 * An ISP's subscriber table: address prefix (IPv4 or IPv6, any length) -> profile name,
 * plus optional allow and deny names per subscriber, in the category database's
 * environment (key space `subscribers`, described at the top of catdb.c), so that one
 * snapshot carries it to every node.
 *
 * Written by `ward subscribers import FILE` (CSV, the whole table replaced in one
 * transaction), `set` and `remove`; read by wardd's workers through their catdb reader,
 * which they renew every 100 ms, so a change is in force within a second.
 *
 * Which profile a client gets is decided in policy.c: a trusted MAC, then the longest
 * prefix of the JSON `clients` list and of this table together, the JSON entry winning
 * when both have the same prefix, then default_profile.
 */
#ifndef WARD_SUBSCRIBERS_H
#define WARD_SUBSCRIBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "blocklists/addr.h"

struct ward_catdb;
struct ward_catdb_reader;
struct ward_conf;

#define WARD_SUB_PROFILE_MAX 63   /* bytes of a profile name */
#define WARD_SUB_NAMES_MAX 2048   /* bytes of a subscriber's allow (or deny) names */
#define WARD_SUB_KEY_MAX 18

struct ward_sub_match {
	bool found;
	uint8_t prefix_len;           /* of the matching prefix, in its own family */
	int family;                   /* AF_INET or AF_INET6 */
	char profile[WARD_SUB_PROFILE_MAX + 1];
	/* The subscriber's own names, lower-case, separated by one space; "" for none.
	 * Copied only when the subscriber has any. */
	char allow[WARD_SUB_NAMES_MAX + 1];
	char deny[WARD_SUB_NAMES_MAX + 1];
};

/* The entry of a space-separated list (allow / deny of a match) that covers the name in
 * text (lower-case, no trailing dot): the name itself or a parent. NULL when none.
 * @param rule  receives the entry, NUL-terminated */
const char *ward_sub_list_match(const char *list, const char *name, char *rule, size_t cap);

/*
 * The longest prefix in the table that holds addr (IPv4-mapped IPv6 counts as IPv4),
 * among those longer than `longer_than` (in IPv6 terms: an IPv4 /L is /L+96; -1: any).
 * No allocation; one search of the range index (a second get when the subscriber has
 * allow or deny names), or, without a current index, one get per prefix length in use.
 * @return 0 (out->found says whether one matched) or the WARD_E* code of a failed read.
 */
int ward_sub_lookup(struct ward_catdb_reader *r, const struct sockaddr *addr, int longer_than,
		    struct ward_sub_match *out);

/* One entry, as `set` takes it. allow and deny: names separated by spaces or ';', or
 * NULL / "" for none. */
struct ward_sub_entry {
	struct ward_cidr prefix;
	const char *profile;
	const char *allow;
	const char *deny;
};

/* Add or replace one entry. @return 0, WARD_EINVAL (a name or the profile is not
 * valid; *why says which), or a database error. */
int ward_sub_set(struct ward_catdb *db, const struct ward_sub_entry *e, const char **why);

#define WARD_SUB_VALUE_MAX (1 + WARD_SUB_PROFILE_MAX + 2 * (2 + WARD_SUB_NAMES_MAX))

/*
 * One CSV line of an import (without its newline; modified in place): the entry, and its
 * stored value (WARD_SUB_VALUE_MAX bytes in value). conf NULL: any profile name.
 * @return 0, or WARD_EINVAL with *why set. No allocation.
 */
int ward_sub_parse_line(char *line, const struct ward_conf *conf, struct ward_sub_entry *e,
			uint8_t *value, size_t *vlen, const char **why);

/* Decode a stored value into m's profile, allow and deny. @return false when malformed. */
bool ward_sub_value_decode(const uint8_t *value, size_t len, struct ward_sub_match *m);

/* Remove one entry. @return 0, WARD_ENOTFOUND, or a database error. */
int ward_sub_remove(struct ward_catdb *db, const struct ward_cidr *prefix);

/* What an import did, or where it stopped. */
struct ward_sub_import_result {
	uint64_t entries;     /* entries in the new table */
	uint64_t line;        /* the offending line, on WARD_EINVAL */
	char why[192];        /* the reason, on failure */
};

/*
 * Replace the whole table with the CSV file at path, in one transaction: nothing changes
 * unless every line is valid. Lines: `prefix,profile[,allow names][,deny names]`; blank
 * lines, lines starting with '#' and a first line starting "prefix," are skipped. A
 * prefix may appear once. When conf is not NULL every profile must be one of its.
 * @return 0, WARD_EINVAL (res->line, res->why), WARD_EIO, WARD_ENOMEM or a database error.
 */
int ward_sub_import(struct ward_catdb *db, const char *path, const struct ward_conf *conf,
		    struct ward_sub_import_result *res);

/* Entries in the table (0 when there is none). */
int ward_sub_count(struct ward_catdb *db, uint64_t *n);

/*
 * The range index (key space `sub_index`, subscribers_index.c): each family's address
 * space cut into ranges owned by their most specific prefix, packed into chunks keyed by
 * their last address, so that a lookup is one LMDB descent into a small tree and a search
 * inside one chunk. Derived from the table, written in the same transaction as every
 * change to it; a snapshot without a current index (a database an older ward wrote) is
 * answered by one LMDB get per prefix length in use instead.
 */
#define WARD_SUBIDX_VALUES_MAX 255 /* profile-only values the index names by number */
#define WARD_SUBIDX_NONE 255       /* owner length: no prefix holds the range */
#define WARD_SUBIDX_REF 255        /* value number: the value is in the prefix table */

/*
 * The owner of addr (family 4 or 6, big-endian bytes, 4 or 16) in one stored chunk:
 * *len its prefix length or WARD_SUBIDX_NONE, *vid its value number or WARD_SUBIDX_REF.
 * Never reads outside chunk[0..size). @return 0 or WARD_EFORMAT (not a well-formed chunk,
 * or addr is below its first range).
 */
int ward_sub_chunk_find(const uint8_t *chunk, size_t size, unsigned fam, const uint8_t *addr,
			uint8_t *len, uint8_t *vid);

/* Does the reader's snapshot have a current index (lookups use it)? false also when it
 * cannot be read. For tests. */
bool ward_sub_indexed(struct ward_catdb_reader *r);

#ifdef WARD_TEST_HOOKS
/* At most cap ranges per chunk from now on (0: the normal size), so that a test with a few
 * hundred prefixes has many chunks. */
void ward_sub_test_set_chunk_cap(unsigned cap);
#endif

#endif
