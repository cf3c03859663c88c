/*
 * ward lookup NAME... [-c FILE] [--json] [--client IP [--mac MAC]]
 *
 * Without --client: the database's view of each name: listed or not, the categories, the
 * stored entry that matched (the name itself or a parent that covers subdomains) and the
 * feeds that listed it.
 *
 * With --client: the verdict that client would get from wardd right now, and why. Whether
 * it may ask at all (allow_clients), whether its MAC counts (trusted_forwarders), the
 * profile, the local time and the decision come from blocklists/policy.h, the code wardd
 * runs, so the explanation cannot drift from what the daemon does: action, reason,
 * profile, the categories behind a block, the deny/allow rule or schedule, the Extended
 * DNS Error code and text, and for safe search the rewrite target.
 *
 * NAME is presentation text as dig and kdig take it: "\255" and "\." escapes give any
 * byte, so a name wardd can receive can be asked about here. It is turned into the wire
 * form wardd decides on (blocklists/name.h); a UTF-8 name is first converted to its
 * xn-- form, as a browser would before asking.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocklists/catdb.h"
#include "blocklists/clock.h"
#include "blocklists/error.h"
#include "blocklists/feed.h"
#include "blocklists/lookup.h"
#include "blocklists/name.h"
#include "blocklists/policy.h"
#include "tools/ward.h"

struct lookup_ctx {
	const struct ward_conf *conf;
	struct ward_catdb_reader *reader; /* NULL: no database yet (only with --client) */
	bool json;
	cJSON *results;
	bool client_set;
	struct ward_lookup who;           /* with --client: the client, policy, overrides */
	struct ward_override_table *ov;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: ward lookup NAME... [-c FILE] [--json] [--client IP [--mac MAC]]\n"
		     "  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n"
		     "      --client IP    the verdict this client gets from wardd now, and why\n"
		     "      --mac MAC      the client's MAC, as a router passes it (EDNS 65001)\n"
		     "      --json         machine-readable output\n"
		     "exit: 0 ok, 1 error (no database, invalid name or address)\n");
}

/* ---- what a verdict means on the wire ------------------------------------------------------- */

/* "sinkhole: A 0.0.0.0, AAAA ::, other types NODATA; TTL 60" */
static void describe_block(const struct ward_conf_block *b, char *buf, size_t cap)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET, b->ipv4, v4, sizeof(v4));
	inet_ntop(AF_INET6, b->ipv6, v6, sizeof(v6));
	switch (b->mode) {
	case WARD_BLOCK_SINKHOLE:
		snprintf(buf, cap, "sinkhole: A %s, AAAA %s, other types NODATA; TTL %u", v4, v6,
			 b->ttl);
		break;
	case WARD_BLOCK_NXDOMAIN:
	case WARD_BLOCK_NODATA:
		snprintf(buf, cap, "%s with an SOA (minimum %u); TTL %u",
			 b->mode == WARD_BLOCK_NXDOMAIN ? "NXDOMAIN" : "NODATA", b->ttl, b->ttl);
		break;
	default:
		snprintf(buf, cap, "REFUSED");
	}
}

/* ---- the database's view --------------------------------------------------------------------- */

static void print_match_details(struct lookup_ctx *L, const struct ward_cat_match *m,
				char feeds[][64])
{
	char allowed[512];
	if (!m->found)
		return;
	printf("  entry: %s (%s)\n", m->entry, m->exact ? "exact" : "parent domain");
	if (m->allowed)
		printf("  allowed by an exception: %s\n",
		       ward_tool_cats(L->conf->categories, m->allowed, allowed, sizeof(allowed)));
	printf("  feeds:");
	for (unsigned i = 0; i < m->n_feeds && i < WARD_CATDB_MATCH_FEEDS; i++)
		printf("%s %s", i ? "," : "", feeds[i]);
	printf("%s\n", m->n_feeds ? "" : " -");
}

static void print_human_match(struct lookup_ctx *L, const char *name,
			      const struct ward_cat_match *m, char feeds[][64])
{
	char cats[512];
	if (!m->found) {
		printf("%s: not listed\n", name);
		return;
	}
	printf("%s: %s", name, m->categories ? "listed" : "not listed");
	if (m->categories)
		printf(" (%s)", ward_tool_cats(L->conf->categories, m->categories, cats,
						sizeof(cats)));
	printf("\n");
	print_match_details(L, m, feeds);
}

/* ---- the verdict for a client ---------------------------------------------------------------- */

static void print_human_answer(const struct ward_conf *conf, const struct ward_policy_verdict *v)
{
	char text[160], addr[INET_ADDRSTRLEN];
	switch (v->action) {
	case WARD_POLICY_BLOCK:
		describe_block(&conf->block, text, sizeof(text));
		printf("  answer: %s\n", text);
		break;
	case WARD_POLICY_NXDOMAIN:
		printf("  answer: NXDOMAIN (every block mode); TTL %u\n", conf->block.ttl);
		break;
	case WARD_POLICY_CNAME:
		printf("  answer: CNAME %s, then its addresses from upstream\n", v->rewrite_target);
		break;
	case WARD_POLICY_ADDRESS:
		printf("  answer: A %s, other types NODATA\n",
		       inet_ntop(AF_INET, v->rewrite_ipv4, addr, sizeof(addr)));
		break;
	case WARD_POLICY_SERVFAIL:
		printf("  answer: SERVFAIL (the policy could not be checked: never forwarded)\n");
		break;
	case WARD_POLICY_REFUSED:
		printf("  answer: REFUSED (the client is outside allow_clients)\n");
		break;
	default:
		printf("  answer: from upstream (or the cache)\n");
	}
}

static void print_human_verdict(struct lookup_ctx *L, const char *name,
				const struct ward_policy_verdict *v, char feeds[][64])
{
	char cats[512];
	bool rewrite = v->action == WARD_POLICY_CNAME || v->action == WARD_POLICY_ADDRESS;
	printf("%s: %s for client %s", name,
	       rewrite ? "safe-search rewrite" : ward_policy_action_name(v->action),
	       L->who.client_text);
	if (L->who.has_mac)
		printf(" (MAC %s%s)", L->who.mac_text,
		       L->who.mac_ignored ? ", ignored: not from a trusted_forwarders address"
					     : "");
	printf(", profile %s, %s %02u:%02u\n", v->profile_name ? v->profile_name : "(none)",
	       ward_lookup_day_name(L->who.now.wday), L->who.now.minute / 60u, L->who.now.minute % 60u);
	printf("  reason: %s", ward_policy_reason_name(v->reason));
	if (v->rule)
		printf(" (rule %s)", v->rule);
	if (v->schedule_name)
		printf(" (schedule %s)", v->schedule_name);
	if (v->override_id)
		printf(" (override %llu%s)", (unsigned long long)v->override_id,
		       v->until ? ", timed" : "");
	printf("\n");
	if (v->categories)
		printf("  categories: %s\n",
		       ward_tool_cats(L->conf->categories, v->categories, cats, sizeof(cats)));
	else if (v->match.categories)
		printf("  listed as: %s (%s)\n",
		       ward_tool_cats(L->conf->categories, v->match.categories, cats,
				      sizeof(cats)),
		       v->reason == WARD_REASON_ALLOW || v->reason == WARD_REASON_OVERRIDE_ALLOW
			       ? "lifted by the allow rule"
						      : "not blocked for this profile");
	print_match_details(L, &v->match, feeds);
	if (v->ede_code >= 0)
		printf("  EDE: %d %s: %s\n", v->ede_code, ward_lookup_ede_name(v->ede_code), v->text);
	else if (v->text[0])
		printf("  why: %s\n", v->text);
	print_human_answer(L->conf, v);
}

/* ---- one name ------------------------------------------------------------------------------- */

static int lookup_match(struct lookup_ctx *L, const char *name, const uint8_t *wire)
{
	char feeds[WARD_CATDB_MATCH_FEEDS][64];
	struct ward_cat_match m;
	int rc = ward_cat_lookup_wire(L->reader, wire, &m);
	if (rc < 0) {
		fprintf(stderr, "ward lookup: %s: %s\n", name, ward_strerror(rc));
		return -1;
	}
	ward_lookup_feed_names(L->reader, &m, feeds);
	if (L->json)
		cJSON_AddItemToArray(L->results, ward_lookup_match_json(L->conf, name, &m, feeds));
	else
		print_human_match(L, name, &m, feeds);
	return 0;
}

static int lookup_verdict(struct lookup_ctx *L, const char *name, const uint8_t *wire)
{
	char feeds[WARD_CATDB_MATCH_FEEDS][64];
	struct ward_policy_verdict v;
	int rc = ward_lookup_verdict(&L->who, wire, &v);
	if (L->json) {
		cJSON_AddItemToArray(L->results, ward_lookup_result_json(&L->who, name, &v));
	} else {
		ward_lookup_feed_names(L->reader, &v.match, feeds);
		print_human_verdict(L, name, &v, feeds);
	}
	/* wardd answers SERVFAIL here; the lookup did not work either. */
	if (rc < 0)
		fprintf(stderr, "ward lookup: %s: %s\n", name, ward_strerror(rc));
	return rc < 0 ? -1 : 0;
}

/*
 * NAME as wardd would receive it: lower-cased wire form. A name the feed rules accept
 * (which turns UTF-8 labels into xn-- labels) is taken in that form; anything else is
 * read as presentation text with escapes.
 * @return the wire length, or 0 when NAME is not a name at all.
 */
static size_t name_to_wire(const char *arg, uint8_t wire[WARD_WIRE_NAME_MAX])
{
	char norm[WARD_NAME_MAX + 1];
	int len = ward_feed_normalize_name(arg, strlen(arg), norm, sizeof(norm));
	size_t n = ward_name_from_text(len > 0 ? norm : arg, wire, WARD_WIRE_NAME_MAX);
	if (n)
		ward_name_lower(wire);
	return n;
}

/* @return 0, or -1 when the name is invalid or the lookup failed. */
static int lookup_one(struct lookup_ctx *L, const char *arg)
{
	uint8_t wire[WARD_WIRE_NAME_MAX];
	char name[WARD_NAME_TEXT_MAX];
	if (!name_to_wire(arg, wire)) {
		fprintf(stderr, "ward lookup: '%s' is not a domain name (an empty label, a label "
			"over 63 bytes or a name over 255)\n", arg);
		return -1;
	}
	ward_name_to_text(wire, name, sizeof(name));
	if (L->client_set)
		return lookup_verdict(L, name, wire);
	return lookup_match(L, name, wire);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "json", no_argument, NULL, 'j' },
	{ "client", required_argument, NULL, 'C' },
	{ "mac", required_argument, NULL, 'M' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* @param optional  true: a missing database is not an error (wardd then filters without
 *                   categories, and the verdict says what it does) */
static int open_reader(const struct ward_conf *conf, bool optional, struct ward_catdb **db,
		       struct ward_catdb_reader **r)
{
	if (ward_tool_become_db_owner(conf, "lookup", true) < 0)
		return WARD_EACCES;
	int rc = ward_catdb_open(conf->database, WARD_CATDB_READ, db);
	if (rc == WARD_ENOTFOUND) {
		fprintf(stderr, "ward: no database in %s yet%s: run `ward update`\n",
			conf->database, optional ? " (answering as wardd would without one)" : "");
		*db = NULL;
		return optional ? 0 : rc;
	}
	if (rc == 0 && (rc = ward_catdb_reader_new(*db, r)) < 0)
		ward_catdb_close(*db);
	if (rc < 0)
		fprintf(stderr, "ward: cannot open the database in %s: %s\n", conf->database,
			ward_strerror(rc));
	return rc;
}

/* The policy wardd would build from this config, the overrides in force, and who the
 * client is to them. */
static int prepare_client(struct lookup_ctx *L, struct ward_catdb *db)
{
	int rc = ward_policy_new(L->conf, &L->who.policy);
	if (rc < 0) {
		fprintf(stderr, "ward lookup: cannot build the policy: %s\n", ward_strerror(rc));
		return rc;
	}
	if (db && (rc = ward_override_table_load(db, L->conf, &L->ov)) < 0) {
		fprintf(stderr, "ward lookup: cannot read the overrides: %s\n", ward_strerror(rc));
		return rc;
	}
	L->who.conf = L->conf;
	L->who.reader = L->reader;
	L->who.ov = L->ov;
	ward_lookup_prepare(&L->who);
	ward_policy_local_time(L->who.policy, time(NULL), &L->who.now);
	L->who.now.unix_s = ward_clock_now();
	return 0;
}

static int parse_args(int argc, char **argv, const char **conf_path, struct lookup_ctx *L)
{
	int c;
	const char *mac = NULL;
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c': *conf_path = optarg; break;
		case 'j': L->json = true; break;
		case 'C':
			if (ward_lookup_parse_client(optarg, &L->who.client) < 0) {
				fprintf(stderr, "ward lookup: --client '%s' is not an IP address\n",
					optarg);
				return -1;
			}
			L->client_set = true;
			L->who.client_text = optarg;
			break;
		case 'M': mac = optarg; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (mac && !L->client_set) {
		fprintf(stderr, "ward lookup: --mac needs --client\n");
		return -1;
	}
	if (mac && ward_lookup_parse_mac(mac, L->who.mac) < 0) {
		fprintf(stderr, "ward lookup: --mac '%s' is not a MAC address "
			"(aa:bb:cc:dd:ee:ff)\n", mac);
		return -1;
	}
	L->who.has_mac = mac != NULL;
	L->who.mac_text = mac;
	if (optind >= argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static void print_results(struct lookup_ctx *L)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "generation",
				L->reader ? (double)ward_catdb_reader_generation(L->reader) : 0);
	cJSON_AddItemToObject(o, "results", L->results);
	ward_tool_print_json(o);
}

int ward_cmd_lookup(int argc, char **argv)
{
	const char *conf_path = WARD_CONF_DEFAULT_PATH;
	struct lookup_ctx L = { 0 };
	struct ward_conf *conf = NULL;
	struct ward_catdb *db = NULL;
	int failed = 0, exit_code = WARD_EXIT_FAIL;
	int rc = parse_args(argc, argv, &conf_path, &L);
	if (rc != 0)
		return rc > 0 ? WARD_EXIT_OK : WARD_EXIT_FAIL;
	if (ward_tool_load_conf(conf_path, &conf) < 0)
		return WARD_EXIT_FAIL;
	L.conf = conf;
	if (open_reader(conf, L.client_set, &db, &L.reader) < 0)
		goto out_conf;
	if (L.client_set && prepare_client(&L, db) < 0)
		goto out_db;
	if (L.json)
		L.results = cJSON_CreateArray();
	for (int i = optind; i < argc; i++)
		failed |= lookup_one(&L, argv[i]) < 0;
	if (L.json)
		print_results(&L);
	exit_code = failed ? WARD_EXIT_FAIL : WARD_EXIT_OK;
out_db:
	ward_override_table_free(L.ov);
	ward_policy_free(L.who.policy);
	ward_catdb_reader_free(L.reader);
	if (db)
		ward_catdb_close(db);
out_conf:
	ward_conf_free(conf);
	return exit_code;
}
