/*
 * ward log [-c FILE] [--client IP] [--since 1h] [--verdict V] [--profile P] [--limit N]
 *          [--json]: the query log, newest first.
 *
 * It reads the log's LMDB environment (query_log.path) directly, through the code wardd's
 * GET /api/v1/log runs (blocklists/qlog.h), so it works whether wardd runs or not. With
 * query_log.mode "blocked" (the default) the log holds blocked and rewritten answers
 * only: allowed names are never recorded.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/admin.h"
#include "blocklists/catdb.h"
#include "blocklists/clock.h"
#include "blocklists/error.h"
#include "blocklists/qlog.h"
#include "tools/ward.h"

#define LIMIT_DEFAULT 50

struct cli {
	const char *conf_path;
	const char *client, *since, *verdict, *profile, *limit;
	bool json;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: ward log [--client IP] [--since D] [--verdict V] [--profile P] "
		     "[--limit N] [--json] [-c FILE]\n"
		     "      --client IP    only queries from this address (anonymized: x.x.x.0)\n"
		     "      --since D      only the last D: 30m, 1h, 2d\n"
		     "      --verdict V    forwarded, cached, blocked, rewritten, refused,\n"
		     "                     servfail, invalid, local or dropped\n"
		     "      --profile P    only queries of this profile\n"
		     "      --limit N      at most N entries, newest first (default %d, at most %d)\n"
		     "      --json         machine-readable output\n"
		     "  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n",
		LIMIT_DEFAULT, WARD_QLOG_RESULTS_MAX);
}

static int parse(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"client", required_argument, NULL, 'C'},
		{"since", required_argument, NULL, 's'},  {"verdict", required_argument, NULL, 'v'},
		{"profile", required_argument, NULL, 'p'}, {"limit", required_argument, NULL, 'l'},
		{"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->conf_path = optarg; break;
		case 'C': c->client = optarg; break;
		case 's': c->since = optarg; break;
		case 'v': c->verdict = optarg; break;
		case 'p': c->profile = optarg; break;
		case 'l': c->limit = optarg; break;
		case 'j': c->json = true; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static int bad(const char *what)
{
	fprintf(stderr, "ward log: %s\n", what);
	return -1;
}

static int make_filter(const struct cli *c, const struct ward_conf *conf,
		       struct ward_qlog_filter *f)
{
	uint64_t n, seconds;
	memset(f, 0, sizeof(*f));
	f->verdict = -1;
	f->limit = LIMIT_DEFAULT;
	f->profile = c->profile;
	if (c->client && ward_qlog_client_parse(c->client, f->client) != 0)
		return bad("--client: an IP address");
	f->has_client = c->client != NULL;
	if (c->since) {
		if (ward_admin_parse_duration(c->since, &seconds) != 0)
			return bad("--since: a duration such as 30m, 1h or 2d");
		f->since = ward_clock_now() - (int64_t)seconds;
	}
	if (c->verdict && (f->verdict = ward_verdict_parse(c->verdict)) < 0)
		return bad("--verdict: forwarded, cached, blocked, rewritten, refused, servfail, "
			   "invalid, local or dropped");
	if (c->limit) {
		if (ward_tool_parse_u64(c->limit, 1, WARD_QLOG_RESULTS_MAX, &n) < 0)
			return bad("--limit: a number from 1 to 10000");
		f->limit = n;
	}
	/* Nothing older than retention_days, even from a segment wardd has not deleted yet. */
	int64_t oldest = ward_clock_now() - (int64_t)conf->query_log.retention_days * 86400;
	if (f->since < oldest)
		f->since = oldest;
	return 0;
}

static void print_entry(const struct ward_qlog_entry *e, const struct ward_conf *conf)
{
	char when[32], client[64], name[WARD_NAME_TEXT_MAX], type[16], cats[256];
	ward_tool_time(e->time, when, sizeof(when));
	ward_qlog_client_text(e->client, client, sizeof(client));
	ward_name_to_text(e->name, name, sizeof(name));
	printf("%s  %-15s %-10s %-9s %-5s %s", when, client, e->profile[0] ? e->profile : "-",
	       ward_verdict_name(e->verdict), ward_qlog_type_text(e->qtype, type, sizeof(type)),
	       name);
	if (e->categories)
		printf("  %s", ward_tool_cats(conf->categories, e->categories, cats, sizeof(cats)));
	if (e->feed[0])
		printf(" (%s)", e->feed);
	if (e->verdict == WARD_VERDICT_FORWARDED)
		printf("  %u ms", (unsigned)e->latency_ms);
	printf("\n");
}

static int show(const struct cli *c, const struct ward_conf *conf,
		const struct ward_qlog_result *r)
{
	if (c->json) {
		cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "entries");
		for (size_t i = 0; i < r->n; i++)
			cJSON_AddItemToArray(arr, ward_qlog_entry_json(&r->entries[i],
								       conf->categories));
		cJSON_AddBoolToObject(o, "truncated", r->truncated);
		return ward_tool_print_json(o) == 0 ? WARD_EXIT_OK : WARD_EXIT_FAIL;
	}
	for (size_t i = 0; i < r->n; i++)
		print_entry(&r->entries[i], conf);
	if (r->n == 0)
		printf("no matching queries in the log\n");
	else if (r->truncated)
		printf("(more: --limit or --since)\n");
	return WARD_EXIT_OK;
}

static int run(const struct cli *c, const struct ward_conf *conf)
{
	struct ward_qlog_filter f;
	struct ward_qlog_result r;
	struct ward_qlog *log;
	if (make_filter(c, conf, &f) < 0)
		return WARD_EXIT_FAIL;
	int rc = ward_qlog_open(conf->query_log.path, false, 0, &log);
	if (rc == WARD_ENOTFOUND) {
		fprintf(stderr, "ward log: no query log in %s yet (query_log.mode is %s)\n",
			conf->query_log.path, conf->query_log.mode == WARD_QLOG_OFF ? "off"
					      : conf->query_log.mode == WARD_QLOG_ALL ? "all"
										 : "blocked");
		if (c->json)
			printf("{\"entries\": [], \"truncated\": false}\n");
		return WARD_EXIT_OK;
	}
	if (rc == 0)
		rc = ward_qlog_query(log, &f, &r);
	ward_qlog_close(log);
	if (rc == 0) { /* feeds by name, when the category database is there to ask */
		struct ward_catdb *db = NULL;
		if (ward_catdb_open(conf->database, WARD_CATDB_READ, &db) == 0)
			ward_qlog_name_feeds(&r, db);
		ward_catdb_close(db);
	}
	if (rc) {
		fprintf(stderr, "ward log: %s: %s\n", conf->query_log.path, ward_strerror(rc));
		return WARD_EXIT_FAIL;
	}
	rc = show(c, conf, &r);
	free(r.entries);
	return rc;
}

int ward_cmd_log(int argc, char **argv)
{
	struct cli c = {.conf_path = WARD_CONF_DEFAULT_PATH};
	struct ward_conf *conf = NULL;
	int rc = parse(argc, argv, &c);
	if (rc)
		return rc > 0 ? WARD_EXIT_OK : WARD_EXIT_FAIL;
	if (ward_tool_load_conf(c.conf_path, &conf) < 0 ||
	    ward_tool_become_db_owner(conf, "log", true) < 0) {
		ward_conf_free(conf);
		return WARD_EXIT_FAIL;
	}
	rc = run(&c, conf);
	ward_conf_free(conf);
	return rc;
}
