/*
 * ward stats [-c FILE] [--json]: what the database holds and how fresh each feed is.
 *
 * Per-category figures add up the entries of the feeds that carry the category, so a
 * name listed by two such feeds counts twice; the database total counts it once. Each
 * feed also shows why lines of its last good copy became no entry (public suffixes, IPs,
 * URLs, ...), as `ward update` counted them. What the config leaves unfiltered (an empty
 * database, a blocked category that no feed supplies) is warned about on stderr, and
 * listed under "warnings" with --json.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocklists/catdb.h"
#include "blocklists/coverage.h"
#include "blocklists/error.h"
#include "blocklists/feed.h"
#include "blocklists/update.h"
#include "tools/ward.h"

struct cat_total {
	uint64_t entries;
	unsigned feeds;
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: ward stats [-c FILE] [--json]\n"
		     "  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n"
		     "      --json         machine-readable output\n");
}

/* Feed states in config order; a feed never seen by `ward update` gets a zeroed state. */
static int load_states(struct ward_catdb *db, const struct ward_conf *conf,
		       struct ward_catdb_feed_state *st)
{
	for (size_t i = 0; i < conf->n_feeds; i++) {
		int rc = ward_catdb_feed_get(db, conf->feeds[i].name, &st[i]);
		if (rc == WARD_ENOTFOUND) {
			memset(&st[i], 0, sizeof(st[i]));
			snprintf(st[i].name, sizeof(st[i].name), "%s", conf->feeds[i].name);
		} else if (rc < 0) {
			fprintf(stderr, "ward stats: feed %s: %s\n", conf->feeds[i].name,
				ward_strerror(rc));
			return rc;
		}
	}
	return 0;
}

static void category_totals(const struct ward_conf *conf, const struct ward_catdb_feed_state *st,
			    struct cat_total tot[WARD_CAT_MAX])
{
	memset(tot, 0, sizeof(*tot) * WARD_CAT_MAX);
	for (size_t i = 0; i < conf->n_feeds; i++) {
		if (!conf->feeds[i].enabled || st[i].last_good <= 0)
			continue;
		for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++) {
			if (conf->feeds[i].categories & WARD_CAT(bit)) {
				tot[bit].entries += st[i].entries;
				tot[bit].feeds++;
			}
		}
	}
}

/* "rejected: public-suffix 125, ip 3" into buf, or "" when nothing was rejected. */
static const char *rejects_text(const struct ward_catdb_feed_state *st, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int r = 0; r < WARD_REJECT_COUNT && o < cap; r++) {
		if (!st->rejected[r])
			continue;
		o += (size_t)snprintf(buf + o, cap - o, "%s%s %llu", o ? ", " : "rejected: ",
				      ward_feed_reject_name((enum ward_feed_reject)r),
				      (unsigned long long)st->rejected[r]);
	}
	return buf;
}

static void print_human(const struct ward_conf *conf, const struct ward_catdb_meta *meta,
			const struct ward_catdb_feed_state *st, const struct cat_total *tot)
{
	int64_t now = (int64_t)time(NULL);
	char when[32], age[48], cats[256], rejects[512];
	printf("database %s: generation %llu, %llu domains, built %s", conf->database,
	       (unsigned long long)meta->generation, (unsigned long long)meta->domains,
	       ward_tool_time(meta->built_at, when, sizeof(when)));
	printf(meta->built_at > 0 ? " (%s)\n" : "%s\n",
	       meta->built_at > 0 ? ward_tool_age(meta->built_at, now, age, sizeof(age)) : "");
	printf("\n%-16s %10s %6s\n", "category", "entries", "feeds");
	for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++) {
		const char *name = ward_cat_name(conf->categories, bit);
		if (tot[bit].feeds && name)
			printf("%-16s %10llu %6u\n", name, (unsigned long long)tot[bit].entries,
			       tot[bit].feeds);
	}
	printf("(entries summed over feeds: a name in two feeds counts twice)\n");
	printf("\n%-28s %-8s %10s  %-19s %-14s %s\n", "feed", "state", "entries", "last good",
	       "", "categories / last error");
	for (size_t i = 0; i < conf->n_feeds; i++) {
		const struct ward_conf_feed *f = &conf->feeds[i];
		printf("%-28s %-8s %10llu  %-19s %-14s %s\n", f->name,
		       f->enabled ? "enabled" : "disabled", (unsigned long long)st[i].entries,
		       ward_tool_time(st[i].last_good, when, sizeof(when)),
		       st[i].last_good > 0 ? ward_tool_age(st[i].last_good, now, age, sizeof(age))
					   : "",
		       ward_tool_cats(conf->categories, f->categories, cats, sizeof(cats)));
		if (st[i].last_error[0])
			printf("%-28s last error (%s): %s\n", "",
			       ward_tool_time(st[i].last_attempt, when, sizeof(when)),
			       st[i].last_error);
		if (rejects_text(&st[i], rejects, sizeof(rejects))[0])
			printf("%-28s %s\n", "", rejects);
	}
}

static cJSON *cats_array(const struct ward_cat_registry *reg, ward_catset set)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++) {
		const char *name = ward_cat_name(reg, bit);
		if ((set & WARD_CAT(bit)) && name)
			cJSON_AddItemToArray(a, cJSON_CreateString(name));
	}
	return a;
}

static void add_warning(void *ctx, const char *warning)
{
	cJSON_AddItemToArray(ctx, cJSON_CreateString(warning));
}

static void print_json(const struct ward_conf *conf, struct ward_catdb *db,
		       const struct ward_catdb_meta *meta,
		       const struct ward_catdb_feed_state *st, const struct cat_total *tot)
{
	char hex[65];
	cJSON *o = cJSON_CreateObject();
	if (ward_coverage_check(conf, db, add_warning, cJSON_AddArrayToObject(o, "warnings")) < 0)
		fprintf(stderr, "ward stats: cannot check what the database covers\n");
	cJSON_AddStringToObject(o, "database", conf->database);
	cJSON_AddNumberToObject(o, "generation", (double)meta->generation);
	cJSON_AddNumberToObject(o, "built_at", (double)meta->built_at);
	cJSON_AddNumberToObject(o, "domains", (double)meta->domains);
	cJSON *cats = cJSON_AddObjectToObject(o, "categories");
	for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++) {
		const char *name = ward_cat_name(conf->categories, bit);
		if (!tot[bit].feeds || !name)
			continue;
		cJSON *c = cJSON_AddObjectToObject(cats, name);
		cJSON_AddNumberToObject(c, "entries", (double)tot[bit].entries);
		cJSON_AddNumberToObject(c, "feeds", tot[bit].feeds);
	}
	cJSON *feeds = cJSON_AddArrayToObject(o, "feeds");
	for (size_t i = 0; i < conf->n_feeds; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "name", conf->feeds[i].name);
		cJSON_AddBoolToObject(f, "enabled", conf->feeds[i].enabled);
		cJSON_AddStringToObject(f, "url", conf->feeds[i].url);
		cJSON_AddItemToObject(f, "categories",
				      cats_array(conf->categories, conf->feeds[i].categories));
		cJSON_AddNumberToObject(f, "id", st[i].id);
		cJSON_AddNumberToObject(f, "entries", (double)st[i].entries);
		cJSON_AddNumberToObject(f, "last_good", (double)st[i].last_good);
		cJSON_AddNumberToObject(f, "last_attempt", (double)st[i].last_attempt);
		cJSON_AddStringToObject(f, "last_error", st[i].last_error);
		cJSON_AddStringToObject(f, "etag", st[i].etag);
		cJSON_AddStringToObject(f, "last_modified", st[i].last_modified);
		ward_sha256_hex(st[i].sha256, hex);
		cJSON_AddStringToObject(f, "sha256", st[i].last_good > 0 ? hex : "");
		cJSON *rej = cJSON_AddObjectToObject(f, "rejected");
		for (int r = 0; r < WARD_REJECT_COUNT; r++)
			if (st[i].rejected[r])
				cJSON_AddNumberToObject(rej, ward_feed_reject_name((enum ward_feed_reject)r),
							(double)st[i].rejected[r]);
		cJSON_AddItemToArray(feeds, f);
	}
	ward_tool_print_json(o);
}

/* @return 0, or -1 after saying why (and, for a missing database, what that leaves
 *         unfiltered) */
static int open_db(const struct ward_conf *conf, struct ward_catdb **db)
{
	if (ward_tool_become_db_owner(conf, "stats", true) < 0)
		return -1;
	int rc = ward_catdb_open(conf->database, WARD_CATDB_READ, db);
	if (rc == WARD_ENOTFOUND) {
		fprintf(stderr, "ward: no database in %s yet: run `ward update`\n",
			conf->database);
		ward_tool_warn_coverage(conf, NULL, "stats");
	} else if (rc < 0) {
		fprintf(stderr, "ward: cannot open the database in %s: %s\n", conf->database,
			ward_strerror(rc));
	}
	return rc < 0 ? -1 : 0;
}

int ward_cmd_stats(int argc, char **argv)
{
	const char *conf_path = WARD_CONF_DEFAULT_PATH;
	struct ward_conf *conf = NULL;
	struct ward_catdb *db = NULL;
	struct ward_catdb_meta meta = { 0 };
	struct ward_catdb_feed_state *st = NULL;
	struct cat_total tot[WARD_CAT_MAX];
	bool json = false;
	int c, code = WARD_EXIT_FAIL;
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf_path = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return WARD_EXIT_OK;
		default: usage(stderr); return WARD_EXIT_FAIL;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return WARD_EXIT_FAIL;
	}
	if (ward_tool_load_conf(conf_path, &conf) < 0)
		return WARD_EXIT_FAIL;
	st = calloc(conf->n_feeds + 1, sizeof(*st));
	if (!st || open_db(conf, &db) < 0)
		goto out;
	int rc = ward_catdb_meta_get(db, &meta);
	if (rc < 0 && rc != WARD_ENOTFOUND) {
		fprintf(stderr, "ward stats: %s\n", ward_strerror(rc));
		goto out;
	}
	if (load_states(db, conf, st) < 0)
		goto out;
	category_totals(conf, st, tot);
	if (json) {
		print_json(conf, db, &meta, st, tot);
	} else {
		print_human(conf, &meta, st, tot);
		fflush(stdout);
		ward_tool_warn_coverage(conf, db, "stats");
	}
	code = WARD_EXIT_OK;
out:
	if (db)
		ward_catdb_close(db);
	free(st);
	ward_conf_free(conf);
	return code;
}
