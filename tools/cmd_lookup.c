/*
 * ward lookup NAME... [-c FILE] [--json]
 *
 * Explains the database's view of each name: listed or not, the categories, the stored
 * entry that matched (the name itself or a parent that covers subdomains) and the feeds
 * that listed it. Per-client policy (profiles, schedules) is not applied here; a later
 * --client option adds it.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <string.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "blocklists/feed.h"
#include "tools/ward.h"

struct lookup_ctx {
	const struct ward_conf *conf;
	struct ward_catdb_reader *reader;
	bool json;
	cJSON *results;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: ward lookup NAME... [-c FILE] [--json]\n"
		     "  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n"
		     "      --json         machine-readable output\n"
		     "exit: 0 ok, 1 error (no database, invalid name)\n");
}

static void feed_names(struct ward_catdb_reader *r, const struct ward_cat_match *m,
		       char names[][64])
{
	for (unsigned i = 0; i < m->n_feeds && i < WARD_CATDB_MATCH_FEEDS; i++)
		if (ward_catdb_feed_name(r, m->feeds[i], names[i], 64) < 0)
			snprintf(names[i], 64, "#%u", m->feeds[i]);
}

static cJSON *cats_json(const struct ward_cat_registry *reg, ward_catset set)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++) {
		if (!(set & WARD_CAT(bit)))
			continue;
		const char *name = ward_cat_name(reg, bit);
		char tmp[16];
		snprintf(tmp, sizeof(tmp), "bit%u", bit);
		cJSON_AddItemToArray(a, cJSON_CreateString(name ? name : tmp));
	}
	return a;
}

static void print_json_result(struct lookup_ctx *L, const char *name,
			      const struct ward_cat_match *m, char feeds[][64])
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddBoolToObject(o, "listed", m->categories != 0);
	cJSON_AddItemToObject(o, "categories", cats_json(L->conf->categories, m->categories));
	cJSON_AddItemToObject(o, "allowed", cats_json(L->conf->categories, m->allowed));
	if (m->found) {
		cJSON_AddStringToObject(o, "entry", m->entry);
		cJSON_AddBoolToObject(o, "exact", m->exact);
	}
	cJSON *fa = cJSON_AddArrayToObject(o, "feeds");
	for (unsigned i = 0; i < m->n_feeds && i < WARD_CATDB_MATCH_FEEDS; i++)
		cJSON_AddItemToArray(fa, cJSON_CreateString(feeds[i]));
	cJSON_AddItemToArray(L->results, o);
}

static void print_human_result(struct lookup_ctx *L, const char *name,
			       const struct ward_cat_match *m, char feeds[][64])
{
	char cats[512], allowed[512];
	if (!m->found) {
		printf("%s: not listed\n", name);
		return;
	}
	ward_tool_cats(L->conf->categories, m->categories, cats, sizeof(cats));
	printf("%s: %s", name, m->categories ? "listed" : "not listed");
	if (m->categories)
		printf(" (%s)", cats);
	printf("\n  entry: %s (%s)\n", m->entry, m->exact ? "exact" : "parent domain");
	if (m->allowed)
		printf("  allowed by an exception: %s\n",
		       ward_tool_cats(L->conf->categories, m->allowed, allowed, sizeof(allowed)));
	printf("  feeds:");
	for (unsigned i = 0; i < m->n_feeds && i < WARD_CATDB_MATCH_FEEDS; i++)
		printf("%s %s", i ? "," : "", feeds[i]);
	printf("%s\n", m->n_feeds ? "" : " -");
}

/* @return 0, or -1 when the name is invalid or the lookup failed. */
static int lookup_one(struct lookup_ctx *L, const char *arg)
{
	char name[WARD_NAME_MAX + 1], feeds[WARD_CATDB_MATCH_FEEDS][64];
	struct ward_cat_match m;
	int len = ward_feed_normalize_name(arg, strlen(arg), name, sizeof(name));
	if (len < 0) {
		fprintf(stderr, "ward lookup: '%s' is not a domain name (%s)\n", arg,
			ward_feed_reject_name((enum ward_feed_reject)(-len - 1)));
		return -1;
	}
	int rc = ward_cat_lookup(L->reader, name, (size_t)len, &m);
	if (rc < 0) {
		fprintf(stderr, "ward lookup: %s: %s\n", name, ward_strerror(rc));
		return -1;
	}
	feed_names(L->reader, &m, feeds);
	if (L->json)
		print_json_result(L, name, &m, feeds);
	else
		print_human_result(L, name, &m, feeds);
	return 0;
}

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int open_reader(const struct ward_conf *conf, struct ward_catdb **db,
		       struct ward_catdb_reader **r)
{
	int rc = ward_catdb_open(conf->database, WARD_CATDB_READ, db);
	if (rc == WARD_ENOTFOUND) {
		fprintf(stderr, "ward: no database in %s yet: run `ward update`\n", conf->database);
		return rc;
	}
	if (rc == 0 && (rc = ward_catdb_reader_new(*db, r)) < 0)
		ward_catdb_close(*db);
	if (rc < 0)
		fprintf(stderr, "ward: cannot open the database in %s: %s\n", conf->database,
			ward_strerror(rc));
	return rc;
}

int ward_cmd_lookup(int argc, char **argv)
{
	const char *conf_path = WARD_CONF_DEFAULT_PATH;
	struct lookup_ctx L = { 0 };
	struct ward_conf *conf = NULL;
	struct ward_catdb *db = NULL;
	int c, failed = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf_path = optarg; break;
		case 'j': L.json = true; break;
		case 'h': usage(stdout); return WARD_EXIT_OK;
		default: usage(stderr); return WARD_EXIT_FAIL;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return WARD_EXIT_FAIL;
	}
	if (ward_tool_load_conf(conf_path, &conf) < 0)
		return WARD_EXIT_FAIL;
	L.conf = conf;
	if (open_reader(conf, &db, &L.reader) < 0) {
		ward_conf_free(conf);
		return WARD_EXIT_FAIL;
	}
	if (L.json)
		L.results = cJSON_CreateArray();
	for (int i = optind; i < argc; i++)
		failed |= lookup_one(&L, argv[i]) < 0;
	if (L.json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "generation",
					(double)ward_catdb_reader_generation(L.reader));
		cJSON_AddItemToObject(o, "results", L.results);
		ward_tool_print_json(o);
	}
	ward_catdb_reader_free(L.reader);
	ward_catdb_close(db);
	ward_conf_free(conf);
	return failed ? WARD_EXIT_FAIL : WARD_EXIT_OK;
}
