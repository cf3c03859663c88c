/*
 * An ISP's subscriber table (blocklists/subscribers.h) from the command line:
 *
 *   ward subscribers import FILE                  replace the table (CSV, one transaction)
 *   ward subscribers set PREFIX PROFILE [--allow NAMES] [--deny NAMES]
 *   ward subscribers remove PREFIX
 *   ward subscribers count
 *
 * Each writes the database directly; wardd sees the change within a second.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "blocklists/subscribers.h"
#include "tools/ward.h"

struct sub_cli {
	const char *conf_path;
	const char *allow, *deny;
	struct ward_conf *conf;
	struct ward_catdb *db;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ward subscribers import FILE [-c FILE]\n"
		"       ward subscribers set PREFIX PROFILE [--allow NAMES] [--deny NAMES] [-c FILE]\n"
		"       ward subscribers remove PREFIX [-c FILE]\n"
		"       ward subscribers count [-c FILE]\n"
		"  FILE               CSV lines: prefix,profile[,allow names][,deny names]\n"
		"      --allow NAMES  names (space- or ;-separated) the subscriber may always reach\n"
		"      --deny NAMES   names the subscriber never reaches\n"
		"  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n");
}

static int parse(struct sub_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "allow", required_argument, NULL, 'a' },
		{ "deny", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->conf_path = optarg; break;
		case 'a': c->allow = optarg; break;
		case 'd': c->deny = optarg; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	return 0;
}

static int open_db(struct sub_cli *c)
{
	if (ward_tool_load_conf(c->conf_path, &c->conf) < 0)
		return -1;
	if (ward_tool_become_db_owner(c->conf, "subscribers", true) < 0)
		return -1;
	int rc = ward_catdb_open(c->conf->database, WARD_CATDB_WRITE, &c->db);
	if (rc < 0) {
		fprintf(stderr, "ward subscribers: cannot open the database in %s: %s\n",
			c->conf->database, ward_strerror(rc));
		return -1;
	}
	return 0;
}

static int prefix_arg(const char *text, struct ward_cidr *out)
{
	enum ward_addr_why why = ward_cidr_parse_why(text, out);
	if (why == WARD_ADDR_OK)
		return 0;
	fprintf(stderr, "ward subscribers: %s: %s\n", text,
		why == WARD_ADDR_HOST_BITS ? "the prefix has host bits set"
					   : "not an address or prefix");
	return -1;
}

static int do_import(struct sub_cli *c, const char *path)
{
	struct ward_sub_import_result res;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = ward_sub_import(c->db, path, c->conf, &res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == WARD_EINVAL) {
		fprintf(stderr, "ward subscribers: %s: line %llu: %s; the table is unchanged\n",
			path, (unsigned long long)res.line, res.why);
		return WARD_EXIT_FAIL;
	}
	if (rc) {
		fprintf(stderr, "ward subscribers: %s: %s%s%s; the table is unchanged\n", path,
			ward_strerror(rc), res.why[0] ? ": " : "", res.why);
		return WARD_EXIT_FAIL;
	}
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("imported %llu subscribers in %.2f s\n", (unsigned long long)res.entries, s);
	return WARD_EXIT_OK;
}

static bool known_profile(const struct ward_conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->n_profiles; i++)
		if (strcmp(conf->profiles[i].name, name) == 0)
			return true;
	return false;
}

static int do_set(struct sub_cli *c, const char *prefix, const char *profile)
{
	struct ward_sub_entry e = { .profile = profile, .allow = c->allow, .deny = c->deny };
	if (prefix_arg(prefix, &e.prefix) < 0)
		return WARD_EXIT_FAIL;
	if (!known_profile(c->conf, profile)) {
		fprintf(stderr, "ward subscribers: %s is not a profile of the config\n", profile);
		return WARD_EXIT_FAIL;
	}
	const char *why;
	int rc = ward_sub_set(c->db, &e, &why);
	if (rc) {
		fprintf(stderr, "ward subscribers: %s\n", rc == WARD_EINVAL ? why : ward_strerror(rc));
		return WARD_EXIT_FAIL;
	}
	return WARD_EXIT_OK;
}

static int do_remove(struct sub_cli *c, const char *prefix)
{
	struct ward_cidr p;
	if (prefix_arg(prefix, &p) < 0)
		return WARD_EXIT_FAIL;
	int rc = ward_sub_remove(c->db, &p);
	if (rc == WARD_ENOTFOUND)
		fprintf(stderr, "ward subscribers: %s is not in the table\n", prefix);
	else if (rc)
		fprintf(stderr, "ward subscribers: %s\n", ward_strerror(rc));
	return rc ? WARD_EXIT_FAIL : WARD_EXIT_OK;
}

static int run(struct sub_cli *c, int n, char **args)
{
	uint64_t count;
	if (n == 2 && strcmp(args[0], "import") == 0)
		return do_import(c, args[1]);
	if (n == 3 && strcmp(args[0], "set") == 0)
		return do_set(c, args[1], args[2]);
	if (n == 2 && strcmp(args[0], "remove") == 0)
		return do_remove(c, args[1]);
	if (n == 1 && strcmp(args[0], "count") == 0) {
		int rc = ward_sub_count(c->db, &count);
		if (rc)
			fprintf(stderr, "ward subscribers: %s\n", ward_strerror(rc));
		else
			printf("%llu\n", (unsigned long long)count);
		return rc ? WARD_EXIT_FAIL : WARD_EXIT_OK;
	}
	usage(stderr);
	return WARD_EXIT_FAIL;
}

int ward_cmd_subscribers(int argc, char **argv)
{
	struct sub_cli c = { 0 };
	int rc = parse(&c, argc, argv);
	if (rc)
		return rc > 0 ? WARD_EXIT_OK : WARD_EXIT_FAIL;
	if (optind >= argc) {
		usage(stderr);
		return WARD_EXIT_FAIL;
	}
	if (open_db(&c) < 0) {
		ward_conf_free(c.conf);
		return WARD_EXIT_FAIL;
	}
	rc = run(&c, argc - optind, argv + optind);
	ward_catdb_close(c.db);
	ward_conf_free(c.conf);
	return rc;
}
