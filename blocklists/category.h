/*
 * Category registry: names that users type <-> stable bit numbers stored in the database.
 *
 * Bits 0..31 are ward's well-known categories and never change meaning (they are on disk).
 * Bits 32..63 belong to the operator's own category names from config, in the order the
 * config lists them; ward_cat_registry_add() assigns them.
 */
#ifndef WARD_CATEGORY_H
#define WARD_CATEGORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t ward_catset;

enum ward_cat_bit {
	WARD_CAT_MALWARE = 0,
	WARD_CAT_PHISHING = 1,
	WARD_CAT_SCAM = 2,
	WARD_CAT_CSAM = 3,
	WARD_CAT_ADULT = 4,
	WARD_CAT_GAMBLING = 5,
	WARD_CAT_VIOLENCE = 6,
	WARD_CAT_DRUGS = 7,
	WARD_CAT_WEAPONS = 8,
	WARD_CAT_HATE = 9,
	WARD_CAT_DATING = 10,
	WARD_CAT_SOCIAL = 11,
	WARD_CAT_GAMES = 12,
	WARD_CAT_VIDEO = 13,
	WARD_CAT_CHAT = 14,
	WARD_CAT_PROXY = 15,
	WARD_CAT_PIRACY = 16,
	WARD_CAT_ADS = 17,
	WARD_CAT_TRACKING = 18,
	WARD_CAT_CRYPTO = 19,
	WARD_CAT_FAKENEWS = 20,
	WARD_CAT_SHORTENER = 21,
	WARD_CAT_DYNDNS = 22,
	WARD_CAT_NOSAFESEARCH = 23,
	WARD_CAT_HACKING = 24,
	WARD_CAT_BUILTIN_COUNT = 25,
	WARD_CAT_CUSTOM_FIRST = 32,
	WARD_CAT_MAX = 64,
};

#define WARD_CAT(bit) ((ward_catset)1 << (bit))
/* Categories whose blocks are "security" (EDE 15 Blocked) rather than family (EDE 17). */
#define WARD_CAT_SECURITY_SET \
	(WARD_CAT(WARD_CAT_MALWARE) | WARD_CAT(WARD_CAT_PHISHING) | WARD_CAT(WARD_CAT_SCAM))

struct ward_cat_registry;

/* @return a registry holding the built-in categories, or NULL on allocation failure. */
struct ward_cat_registry *ward_cat_registry_new(void);
void ward_cat_registry_free(struct ward_cat_registry *reg);

/*
 * Register an operator category. Adding a name that already exists returns its bit.
 * @return the bit (0..63), WARD_EINVAL for an invalid name (must be [a-z0-9_-]{1,31}),
 *         WARD_ENOMEM when all 32 custom bits are taken.
 */
int ward_cat_registry_add(struct ward_cat_registry *reg, const char *name);

/* @return the bit for a name (case-insensitive), or WARD_ENOTFOUND. */
int ward_cat_bit(const struct ward_cat_registry *reg, const char *name);

/* @return the name of a bit, or NULL if unassigned. Valid while reg lives. */
const char *ward_cat_name(const struct ward_cat_registry *reg, unsigned bit);

/*
 * Write the set's names, comma-separated, lowest bit first, into buf (always
 * NUL-terminated). @return the length written (truncated to fit).
 */
size_t ward_cat_format(const struct ward_cat_registry *reg, ward_catset set, char *buf,
		       size_t cap);

#endif
