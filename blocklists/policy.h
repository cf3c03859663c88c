/*
 * Family-filtering policy: who is asking, what applies to them now, and why.
 *
 * A struct ward_policy is built once from a config (and again on SIGHUP) and is then
 * read-only, so every wardd worker and `ward lookup --client` can share it without locks.
 *
 * Who is asking, before any name is looked at:
 *   a. a client outside allow_clients      -> REFUSED (ward_policy_admit)
 *   b. its profile: the MAC of EDNS option 65001, only from a trusted_forwarders address,
 *      then the longest matching client prefix, then default_profile
 *      (ward_policy_profile_for)
 *
 * ward_policy_decide() is the decision order of one query, written as a visible sequence:
 *   0. the category lookup fails           -> SERVFAIL (fail closed, never a forward)
 *   1. enforced categories                 -> block (no allow list, no override lifts them)
 *   2. a deny override (the profile's or everyone's, blocklists/overrides.h) -> block
 *   3. the profile is paused               -> block, unless its allow list (the config's)
 *                                             holds the name ("internet off for dinner")
 *   4. an allow override (profile or everyone) -> skip 5, 7 and 8
 *   5. profile deny (name/parent)          -> block
 *   6. profile allow (name/parent)         -> skip 7 and 8
 *   7. active schedule "all"               -> block
 *   8. categories blocked by the profile or an active schedule -> block
 *   9. anti-circumvention canaries, safe search, YouTube       -> rewrite
 *      (also for an allowed name: an allow entry or override lifts blocks, it does not
 *      switch off what the profile asks for; the profile's own settings do that)
 *  10. forward
 *
 * Overrides are a parent's live decisions, so they come before the config's lists: a
 * deny override beats the config's allow list and an allow override the config's deny
 * list; a deny beats an allow (the safer one). A pause beats allow overrides too (an
 * hour's allow of a game does not survive "internet off"), but not the profile's allow
 * list, which is what a pause leaves open. Only enforced categories beat everything.
 *
 * Names are lower-cased wire names (blocklists/name.h), matched label by label, so every
 * byte a client can put in a label is seen exactly as the category database, the allow
 * and deny lists and the safe-search table store it.
 */
#ifndef WARD_POLICY_H
#define WARD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "blocklists/name.h"
#include "blocklists/overrides.h"

struct ward_policy;

enum ward_policy_action {
	WARD_POLICY_FORWARD,       /* resolve upstream / from cache as usual */
	WARD_POLICY_BLOCK,         /* answer per conf->block.mode */
	WARD_POLICY_NXDOMAIN,      /* canary names: NXDOMAIN regardless of block mode */
	WARD_POLICY_CNAME,         /* safe search: CNAME to rewrite_target + its addresses */
	WARD_POLICY_ADDRESS,       /* safe search by fixed address (Yandex family) */
	WARD_POLICY_SERVFAIL,      /* the policy could not be checked: fail closed */
	WARD_POLICY_REFUSED,       /* the client is outside allow_clients */
};

enum ward_policy_reason {
	WARD_REASON_NONE,
	WARD_REASON_ENFORCED,
	WARD_REASON_DENY,
	WARD_REASON_ALLOW,
	WARD_REASON_SCHEDULE_ALL,
	WARD_REASON_CATEGORY,
	WARD_REASON_CANARY,
	WARD_REASON_SAFE_SEARCH,
	WARD_REASON_LOOKUP_FAILED,  /* the category database could not answer */
	WARD_REASON_ACL,            /* allow_clients */
	WARD_REASON_OVERRIDE_DENY,  /* step 2 */
	WARD_REASON_PAUSED,         /* step 3 */
	WARD_REASON_OVERRIDE_ALLOW, /* step 4 */
};

/* The moment a decision is made: local time as the schedules see it, and unix seconds
 * for the expiry of overrides. */
struct ward_policy_time {
	uint8_t wday;     /* 0 = sunday */
	uint16_t minute;  /* minutes after local midnight */
	int64_t unix_s;   /* wall clock (blocklists/clock.h) */
};

struct ward_policy_verdict {
	enum ward_policy_action action;
	enum ward_policy_reason reason;
	size_t profile;
	const char *profile_name;
	const char *schedule_name;  /* the schedule that blocked, or NULL */
	const char *rule;           /* the deny/allow entry (or override name) that matched */
	uint64_t override_id;       /* steps 2-4: the override behind the verdict, else 0 */
	bool override_everyone;     /* that override is for everyone, not the profile */
	int64_t until;              /* steps 2-3: unix seconds the block ends, 0 = no end */
	ward_catset categories;     /* the categories behind a category block */
	int ede_code;               /* RFC 8914 code for a block, WARD_EDE_NONE (-1) otherwise */
	int error;                  /* the WARD_E* code behind WARD_POLICY_SERVFAIL, else 0 */
	const char *rewrite_target; /* CNAME target, presentation form (static) */
	uint8_t rewrite_ipv4[4];    /* WARD_POLICY_ADDRESS */
	/* Keep these two last: begin_verdict() clears only what comes before them. */
	struct ward_cat_match match;  /* what the database said about the name */
	char text[192];             /* EDE EXTRA-TEXT, filled by ward_policy_explain():
				       "ward: gambling (feed ut1-gambling, profile kids)" */
};

/*
 * Build a policy from a validated config. The policy keeps a pointer to conf, which must
 * outlive it. @return 0, WARD_ENOMEM.
 */
int ward_policy_new(const struct ward_conf *conf, struct ward_policy **out);
void ward_policy_free(struct ward_policy *p);

/*
 * Step a: may this client ask at all (allow_clients)? wardd checks it before it answers
 * anything, `ward lookup --client` before it decides. When not, v says REFUSED with EDE
 * 18 (Prohibited: RFC 8914 4.19 names exactly this case) and nothing else applies.
 * @return true when the client is inside allow_clients (v untouched).
 */
bool ward_policy_admit(const struct ward_policy *p, const struct sockaddr *addr,
		       struct ward_policy_verdict *v);

/*
 * Step b: the profile for a client. A MAC (EDNS option 65001, as dnsmasq --add-mac adds
 * it) is believed only from an address in trusted_forwarders: any client can put the
 * option in its own query, and a MAC match beats the address match. From anyone else it
 * is ignored and *mac_ignored (may be NULL) is set, so the caller can count and log it.
 * Then the longest matching client prefix, then default_profile.
 * @return a profile index, or (size_t)-1 when the config has no profiles.
 */
size_t ward_policy_profile_for(const struct ward_policy *p, const struct sockaddr *addr,
			       const uint8_t *mac, bool *mac_ignored);

/* Local time in the config's timezone for `now`. Test builds honour WARD_TEST_NOW
 * ("sun 21:30": day and local HH:MM) so schedules can be tested at any hour.
 * Not thread-safe against ward_policy_new() (which may set TZ): wardd calls both from its
 * main thread only and hands the result to the workers. */
void ward_policy_local_time(const struct ward_policy *p, time_t now, struct ward_policy_time *t);

/*
 * Decide what one query gets.
 * @param reader  category database reader, or NULL when there is no database yet
 * @param ov      the overrides in force (matched against now->unix_s), or NULL for none
 * @param name    the question's name, lower-case wire form (the root is "\0")
 * @return 0 (v filled), or the WARD_E* code of a failed lookup: v then says
 *         WARD_POLICY_SERVFAIL with an EDE, and the query must not be forwarded.
 */
int ward_policy_decide(const struct ward_policy *p, struct ward_catdb_reader *reader,
		       const struct ward_override_table *ov, size_t profile, const uint8_t *name,
		       const struct ward_policy_time *now, struct ward_policy_verdict *v);

/*
 * Fill v->text, the EDE EXTRA-TEXT, for a verdict from ward_policy_decide() or
 * ward_policy_blocks_target(). Kept apart from the decision because it formats strings
 * and may read the database: wardd calls it only when the answer can carry the text
 * (the query had EDNS). `reader` must be the one the verdict was made with.
 */
void ward_policy_explain(const struct ward_policy *p, struct ward_catdb_reader *reader,
			 struct ward_policy_verdict *v);

/*
 * Would this profile block `name` (lower-case wire form) when it appears inside an answer
 * (a CNAME target)? Steps 0, 1, 2, 4, 5, 6 and 8 apply in that order (an allow entry or
 * override for the target lifts 8). Steps 3 and 7, a pause or a schedule's "all", do
 * not: the asked name was already let through (it is on the allow list), and its CDN
 * targets must stay reachable for the allow list to mean anything. Step 9 does not
 * either: a rewrite is for the asked name.
 * @return 1 and v filled when blocked, 0 when not, or a negative WARD_E* code when the
 *         lookup failed (v says WARD_POLICY_SERVFAIL: the answer must not go out).
 */
int ward_policy_blocks_target(const struct ward_policy *p, struct ward_catdb_reader *reader,
			      const struct ward_override_table *ov, size_t profile,
			      const uint8_t *name, const struct ward_policy_time *now,
			      struct ward_policy_verdict *v);

/*
 * When does a schedule block end? For a verdict whose reason is a schedule (an "all"
 * window, or a category the window adds), the local time its window ends, following on
 * into windows that start right then and block the same way (at most one week ahead).
 * @return true and *end filled; false when no schedule caused the verdict.
 */
bool ward_policy_schedule_end(const struct ward_policy *p, const struct ward_policy_verdict *v,
			      const struct ward_policy_time *now, struct ward_policy_time *end);

/* Short stable words for reasons and actions, for `ward lookup` and logs. */
const char *ward_policy_reason_name(enum ward_policy_reason reason);
const char *ward_policy_action_name(enum ward_policy_action action);

#endif
