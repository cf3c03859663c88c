/*
 * The review queue from the command line (blocklists/reports.h), through the code wardd's
 * JSON API runs (blocklists/admin.h):
 *
 *   ward reports [--json]
 *   ward reports accept ID [--profile P | --everyone] [--for 1h]
 *   ward reports reject ID
 *
 * Accepting "wrongly-blocked" creates an allow override, "should-be-blocked" a deny
 * override as the suggested category; rejecting keeps the record, and the child's page
 * shows the answer.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/admin.h"
#include "blocklists/catdb.h"
#include "blocklists/clock.h"
#include "blocklists/error.h"
#include "tools/ward.h"

struct cli {
	const char *conf_path;
	const char *profile;
	const char *duration;
	bool everyone;
	bool json;
	struct ward_conf *conf;
	struct ward_catdb *db;
	struct ward_admin admin;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: ward reports [--json] [-c FILE]\n"
		     "       ward reports accept ID [--profile P | --everyone] [--for DURATION] "
		     "[-c FILE]\n"
		     "       ward reports reject ID [-c FILE]\n"
		     "  accept             wrongly-blocked: allow the name; should-be-blocked: deny\n"
		     "                     it as the suggested category. For the report's profile\n"
		     "                     unless --profile or --everyone says otherwise.\n"
		     "      --profile P    accept: the override is for this profile\n"
		     "      --everyone     accept: the override is for every client\n"
		     "      --for D        accept: how long the override lasts: 30m, 1h, 2d\n"
		     "                     (default: until removed)\n"
		     "      --json         list: machine-readable output\n"
		     "  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n");
}

static int parse(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"profile", required_argument, NULL, 'p'},
		{"everyone", no_argument, NULL, 'e'},     {"for", required_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->conf_path = optarg; break;
		case 'p': c->profile = optarg; break;
		case 'e': c->everyone = true; break;
		case 'f': c->duration = optarg; break;
		case 'j': c->json = true; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (c->profile && c->everyone) {
		fprintf(stderr, "ward reports: --profile and --everyone exclude each other\n");
		return -1;
	}
	return 0;
}

static int open_all(struct cli *c)
{
	if (ward_tool_load_conf(c->conf_path, &c->conf) < 0 ||
	    ward_tool_become_db_owner(c->conf, "reports", true) < 0)
		return -1;
	int rc = ward_catdb_open(c->conf->database, WARD_CATDB_WRITE, &c->db);
	if (rc < 0) {
		fprintf(stderr, "ward reports: cannot open the database in %s: %s\n",
			c->conf->database, ward_strerror(rc));
		return -1;
	}
	c->admin = (struct ward_admin){.db = c->db, .conf = c->conf, .source = "cli",
				       .now = ward_clock_now()};
	return 0;
}

static int failed(struct cli *c, int rc)
{
	fprintf(stderr, "ward reports: %s\n", c->admin.error[0] ? c->admin.error
							       : ward_strerror(rc));
	return WARD_EXIT_FAIL;
}

static void print_report(const struct ward_report *r, int64_t now)
{
	char name[WARD_NAME_TEXT_MAX], ago[48];
	ward_name_to_text(r->name, name, sizeof(name));
	printf("%-5llu %-9s %-17s %s\n", (unsigned long long)r->id,
	       ward_report_status_name(r->status), ward_report_kind_name(r->kind), name);
	printf("      from %s, profile %s, %s", r->client[0] ? r->client : "?",
	       r->profile[0] ? r->profile : "(none)", ward_tool_age(r->updated, now, ago,
								    sizeof(ago)));
	if (r->category[0])
		printf(", category %s", r->category);
	if (r->count > 1)
		printf(", asked %u times", r->count);
	if (r->override_id)
		printf(", override %llu", (unsigned long long)r->override_id);
	printf("\n");
	if (r->message[0])
		printf("      \"%s\"\n", r->message);
}

static int list(struct cli *c)
{
	struct ward_report *items;
	size_t n;
	int rc = ward_reports_list(c->db, NULL, &items, &n);
	if (rc)
		return failed(c, rc);
	if (c->json) {
		cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "reports");
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, ward_admin_report_json(&items[i]));
		ward_tool_print_json(o);
	} else if (n == 0) {
		printf("no reports\n");
	}
	for (size_t i = 0; !c->json && i < n; i++)
		print_report(&items[i], c->admin.now);
	free(items);
	return WARD_EXIT_OK;
}

static int resolve(struct cli *c, const char *what, const char *id_text)
{
	uint64_t id, seconds = 0;
	struct ward_override o;
	if (ward_tool_parse_u64(id_text, 1, UINT64_MAX, &id) < 0) {
		fprintf(stderr, "ward reports %s: '%s' is not a report id\n", what, id_text);
		return WARD_EXIT_FAIL;
	}
	if (c->duration && ward_admin_parse_duration(c->duration, &seconds) < 0) {
		fprintf(stderr, "ward reports: --for: a duration such as 30m, 1h or 2d\n");
		return WARD_EXIT_FAIL;
	}
	bool accept = strcmp(what, "accept") == 0;
	int rc = accept ? ward_admin_accept(&c->admin, id, c->profile, c->everyone, seconds, &o)
			: ward_admin_reject(&c->admin, id);
	if (rc)
		return failed(c, rc);
	if (accept)
		printf("accepted report %llu: override %llu\n", (unsigned long long)id,
		       (unsigned long long)o.id);
	else
		printf("rejected report %llu\n", (unsigned long long)id);
	return WARD_EXIT_OK;
}

int ward_cmd_reports(int argc, char **argv)
{
	struct cli c = {.conf_path = WARD_CONF_DEFAULT_PATH};
	int rc = parse(argc, argv, &c);
	if (rc)
		return rc > 0 ? WARD_EXIT_OK : WARD_EXIT_FAIL;
	char **args = argv + optind;
	int nargs = argc - optind;
	bool resolving = nargs == 2 && (strcmp(args[0], "accept") == 0 ||
					strcmp(args[0], "reject") == 0);
	if (nargs != 0 && !resolving) {
		usage(stderr);
		return WARD_EXIT_FAIL;
	}
	if (open_all(&c) < 0) {
		rc = WARD_EXIT_FAIL;
	} else if (resolving) {
		rc = resolve(&c, args[0], args[1]);
	} else {
		rc = list(&c);
	}
	if (c.db)
		ward_catdb_close(c.db);
	ward_conf_free(c.conf);
	return rc;
}
