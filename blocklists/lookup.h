/*
 * A verdict for one client and name, explained as JSON: the object `ward lookup NAME
 * --client IP --json` prints for each name, and the body of wardd's
 * `GET /api/v1/lookup?name=N&client=IP`. One implementation for both, over the code
 * wardd decides with (blocklists/policy.h), so the three cannot disagree.
 */
#ifndef WARD_LOOKUP_H
#define WARD_LOOKUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "blocklists/overrides.h"
#include "blocklists/policy.h"

struct ward_lookup {
	/* set by the caller */
	const struct ward_conf *conf;
	struct ward_policy *policy;
	struct ward_catdb_reader *reader;       /* NULL: no database (wardd then filters
						   without categories) */
	const struct ward_override_table *ov;   /* NULL: no overrides */
	struct ward_policy_time now;
	const char *client_text;                /* the address as given */
	struct sockaddr_storage client;
	bool has_mac;
	uint8_t mac[6];
	const char *mac_text;
	/* set by ward_lookup_prepare() */
	bool refused;                           /* outside allow_clients */
	struct ward_policy_verdict refusal;
	size_t profile;
	bool mac_ignored;                       /* not from a trusted forwarder */
};

/* Who the client is to the policy: allow_clients, then its profile. */
void ward_lookup_prepare(struct ward_lookup *L);

/* The verdict wardd gives now, explained (v->text filled).
 * @return 0, or the failed lookup's WARD_E* code (v says SERVFAIL, as wardd would). */
int ward_lookup_verdict(struct ward_lookup *L, const uint8_t *wire, struct ward_policy_verdict *v);

/* The database's view of a name (`ward lookup NAME --json` without --client), as a new
 * cJSON object. feeds[] are the names of m->feeds (ward_lookup_feed_names). */
void *ward_lookup_match_json(const struct ward_conf *conf, const char *name,
			     const struct ward_cat_match *m, char feeds[][64]);

/* The whole result for a client: the match object plus the verdict's fields. */
void *ward_lookup_result_json(struct ward_lookup *L, const char *name,
			      const struct ward_policy_verdict *v);

/* Names of the feeds that listed the entry ("#id" when unknown). */
void ward_lookup_feed_names(struct ward_catdb_reader *r, const struct ward_cat_match *m,
			    char names[][64]);

const char *ward_lookup_ede_name(int code);
const char *ward_lookup_day_name(unsigned wday);
const char *ward_lookup_block_mode_name(enum ward_block_mode mode);

/* "aa:bb:cc:dd:ee:ff" or with '-'. @return 0 or -1. */
int ward_lookup_parse_mac(const char *text, uint8_t mac[6]);
/* An IPv4 or IPv6 address. @return 0 or -1. */
int ward_lookup_parse_client(const char *text, struct sockaddr_storage *out);

#endif
