/*
 * A parent's live decisions from the command line (blocklists/overrides.h), through the
 * code wardd's JSON API runs (blocklists/admin.h):
 *
 *   ward allow PROFILE NAME [--for 1h]            PROFILE may be "everyone"
 *   ward deny PROFILE NAME --category C [--for 1h]
 *   ward pause PROFILE --for 30m
 *   ward resume PROFILE
 *   ward overrides [--json]
 *   ward overrides remove ID
 *
 * Each writes the database directly (a small write transaction); wardd sees the change
 * within a second, without a restart or a signal.
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
	const char *cmd;
	const char *conf_path;
	const char *duration;
	const char *category;
	bool json;
	struct ward_conf *conf;
	struct ward_catdb *db;
	struct ward_admin admin;
};

#define HELP_CONFIG "  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n"
#define HELP_FOR "      --for D        how long: 30m, 1h, 1h30m, 2d (at most 366d)"

/* Each command's --help names exactly the options it takes (ward(8) and the bash
 * completion are checked against it), and `takes` is what parse() accepts. */
static const struct command_help {
	const char *cmd;
	const char *takes; /* c --config, f --for, C --category, j --json */
	const char *text;
} helps[] = {
	{ "allow", "cf",
	  "usage: ward allow PROFILE NAME [--for DURATION] [-c FILE]\n"
	  "  PROFILE            a profile of the config, or \"everyone\"\n"
	  HELP_FOR "; default until removed\n" HELP_CONFIG },
	{ "deny", "cfC",
	  "usage: ward deny PROFILE NAME --category C [--for DURATION] [-c FILE]\n"
	  "  PROFILE            a profile of the config, or \"everyone\"\n"
	  "      --category C   the category it is blocked as (the block answer names it)\n"
	  HELP_FOR "; default until removed\n" HELP_CONFIG },
	{ "pause", "cf",
	  "usage: ward pause PROFILE --for DURATION [-c FILE]\n"
	  "  PROFILE            a profile of the config: all but its allow list is blocked\n"
	  HELP_FOR "; needed\n" HELP_CONFIG },
	{ "resume", "c",
	  "usage: ward resume PROFILE [-c FILE]\n"
	  "  PROFILE            the paused profile\n" HELP_CONFIG },
	{ "overrides", "cj",
	  "usage: ward overrides [--json] [-c FILE]\n"
	  "       ward overrides remove ID [-c FILE]\n"
	  "      --json         machine-readable output\n" HELP_CONFIG },
};

static const struct command_help *help_for(const char *cmd)
{
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (strcmp(helps[i].cmd, cmd) == 0)
			return &helps[i];
	return &helps[sizeof(helps) / sizeof(helps[0]) - 1];
}

static void usage(FILE *out, const char *cmd)
{
	fputs(help_for(cmd)->text, out);
}

/* An option the command does not take is an error, not silently ignored. */
static int takes(const struct cli *c, int ch, const char *name)
{
	if (strchr(help_for(c->cmd)->takes, ch))
		return 0;
	fprintf(stderr, "ward %s: --%s does not apply here\n", c->cmd, name);
	usage(stderr, c->cmd);
	return -1;
}

static int parse(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"for", required_argument, NULL, 'f'},
		{"category", required_argument, NULL, 'C'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	int ch, idx = -1;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", opts, &idx)) != -1) {
		if (ch != 'h' && ch != '?' && takes(c, ch, idx >= 0 ? opts[idx].name : "config"))
			return -1;
		idx = -1;
		switch (ch) {
		case 'c': c->conf_path = optarg; break;
		case 'f': c->duration = optarg; break;
		case 'C': c->category = optarg; break;
		case 'j': c->json = true; break;
		case 'h': usage(stdout, c->cmd); return 1;
		default: usage(stderr, c->cmd); return -1;
		}
	}
	return 0;
}

/* Config, the database as its owner, and the admin context. */
static int open_all(struct cli *c)
{
	if (ward_tool_load_conf(c->conf_path, &c->conf) < 0)
		return -1;
	if (ward_tool_become_db_owner(c->conf, c->cmd, true) < 0)
		return -1;
	int rc = ward_catdb_open(c->conf->database, WARD_CATDB_WRITE, &c->db);
	if (rc < 0) {
		fprintf(stderr, "ward %s: cannot open the database in %s: %s\n", c->cmd,
			c->conf->database, ward_strerror(rc));
		return -1;
	}
	c->admin = (struct ward_admin){.db = c->db, .conf = c->conf, .source = "cli",
				       .now = ward_clock_now()};
	return 0;
}

static void close_all(struct cli *c)
{
	if (c->db)
		ward_catdb_close(c->db);
	ward_conf_free(c->conf);
}

static int failed(struct cli *c, int rc)
{
	fprintf(stderr, "ward %s: %s\n", c->cmd,
		c->admin.error[0] ? c->admin.error : ward_strerror(rc));
	return WARD_EXIT_FAIL;
}

/* "until 2026-11-29 19:30:00 (in 1h 0m)" or "until removed". */
static void until_text(const struct ward_override *o, int64_t now, char *buf, size_t cap)
{
	char when[32], rel[48];
	if (!o->expires) {
		snprintf(buf, cap, "until removed");
		return;
	}
	snprintf(buf, cap, "until %s (%s)", ward_tool_time(o->expires, when, sizeof(when)),
		 ward_tool_age(o->expires, now, rel, sizeof(rel)));
}

static void print_override(const struct ward_override *o, int64_t now)
{
	char name[WARD_NAME_TEXT_MAX], until[96];
	until_text(o, now, until, sizeof(until));
	ward_name_to_text(o->name, name, sizeof(name));
	const char *who = o->profile[0] ? o->profile : WARD_ADMIN_EVERYONE;
	if (o->kind == WARD_OVERRIDE_PAUSE)
		printf("%-5llu pause  %-12s %-32s %s\n", (unsigned long long)o->id, who, "-", until);
	else
		printf("%-5llu %-6s %-12s %-32s %s%s%s\n", (unsigned long long)o->id,
		       o->kind == WARD_OVERRIDE_ALLOW ? "allow" : "deny", who, name, until,
		       o->category[0] ? ", as " : "", o->category);
	if (o->source[0])
		printf("      from %s\n", o->source);
}

static int duration(struct cli *c, bool required, uint64_t *seconds)
{
	*seconds = 0;
	if (!c->duration && !required)
		return 0;
	if (!c->duration || ward_admin_parse_duration(c->duration, seconds) < 0) {
		fprintf(stderr, "ward %s: --for: a duration such as 30m, 1h, 1h30m or 2d (at most "
			"366d)%s\n", c->cmd, c->duration ? "" : " is needed");
		return -1;
	}
	return 0;
}

/* allow, deny, pause, resume: the action on the parsed arguments. */
static int act(struct cli *c, char **args, int nargs)
{
	struct ward_override o;
	uint64_t seconds;
	int rc;
	bool pause = strcmp(c->cmd, "pause") == 0, resume = strcmp(c->cmd, "resume") == 0;
	if (nargs != (pause || resume ? 1 : 2)) {
		usage(stderr, c->cmd);
		return WARD_EXIT_FAIL;
	}
	if (duration(c, pause, &seconds) < 0 || open_all(c) < 0)
		return WARD_EXIT_FAIL;
	if (resume)
		rc = ward_admin_resume(&c->admin, args[0]);
	else if (pause)
		rc = ward_admin_pause(&c->admin, args[0], seconds, &o);
	else if (strcmp(c->cmd, "allow") == 0)
		rc = ward_admin_allow(&c->admin, args[0], args[1], seconds, &o);
	else
		rc = ward_admin_deny(&c->admin, args[0], args[1], c->category, seconds, &o);
	if (rc)
		return failed(c, rc);
	if (resume)
		printf("resumed %s\n", args[0]);
	else
		print_override(&o, c->admin.now);
	return WARD_EXIT_OK;
}

static int list(struct cli *c)
{
	struct ward_override *items;
	size_t n;
	if (open_all(c) < 0)
		return WARD_EXIT_FAIL;
	int rc = ward_overrides_list(c->db, c->admin.now, &items, &n);
	if (rc)
		return failed(c, rc);
	if (c->json) {
		cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "overrides");
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, ward_admin_override_json(&items[i], c->admin.now));
		ward_tool_print_json(o);
	} else if (n == 0) {
		printf("no overrides in force\n");
	}
	for (size_t i = 0; !c->json && i < n; i++)
		print_override(&items[i], c->admin.now);
	free(items);
	return WARD_EXIT_OK;
}

static int remove_one(struct cli *c, const char *id_text)
{
	uint64_t id;
	struct ward_override o;
	if (ward_tool_parse_u64(id_text, 1, UINT64_MAX, &id) < 0) {
		fprintf(stderr, "ward overrides remove: '%s' is not an override id\n", id_text);
		return WARD_EXIT_FAIL;
	}
	if (open_all(c) < 0)
		return WARD_EXIT_FAIL;
	int rc = ward_admin_remove(&c->admin, id, &o);
	if (rc)
		return failed(c, rc);
	printf("removed override %llu\n", (unsigned long long)id);
	return WARD_EXIT_OK;
}

int ward_cmd_overrides(int argc, char **argv)
{
	struct cli c = {.cmd = argv[0], .conf_path = WARD_CONF_DEFAULT_PATH};
	int rc = parse(argc, argv, &c);
	if (rc)
		return rc > 0 ? WARD_EXIT_OK : WARD_EXIT_FAIL;
	char **args = argv + optind;
	int nargs = argc - optind;
	if (strcmp(c.cmd, "overrides") != 0)
		rc = act(&c, args, nargs);
	else if (nargs == 0)
		rc = list(&c);
	else if (nargs == 2 && strcmp(args[0], "remove") == 0)
		rc = remove_one(&c, args[1]);
	else
		rc = (usage(stderr, c.cmd), WARD_EXIT_FAIL);
	close_all(&c);
	return rc;
}
