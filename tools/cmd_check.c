/*
 * ward check [-c FILE]: validate a config file with exactly the code wardd uses.
 * Exit 0 when valid, 2 when invalid or unreadable (the message names file, field and
 * reason), 1 on a usage error.
 * A config file anyone may write is warned about (it decides what children see).
 * A valid config can still filter nothing: the gaps it leaves with the database as it
 * is (none yet, empty, a blocked category no feed supplies) are warned about on stderr;
 * they do not change the exit status.
 */
#include <getopt.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "tools/ward.h"

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void print_warning(void *arg, const char *text)
{
	fprintf(stderr, "ward check: warning: %s\n", text);
}

/* The database is optional here: `ward check` may run before the first update or on
 * another machine. */
static void warn_gaps(const struct ward_conf *conf)
{
	struct ward_catdb *db = NULL;
	if (ward_tool_become_db_owner(conf, "check", true) < 0)
		return;
	int rc = ward_catdb_open(conf->database, WARD_CATDB_READ, &db);
	if (rc < 0 && rc != WARD_ENOTFOUND) {
		fprintf(stderr, "ward check: warning: cannot read the category database in %s: "
			"%s\n", conf->database, ward_strerror(rc));
		return;
	}
	ward_tool_warn_coverage(conf, db, "check");
	if (db)
		ward_catdb_close(db);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: ward check [-c FILE]\n"
		     "  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n"
		     "exit: 0 valid, 2 invalid, 1 usage error\n");
}

int ward_cmd_check(int argc, char **argv)
{
	const char *path = WARD_CONF_DEFAULT_PATH;
	struct ward_conf *conf = NULL;
	bool given = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; given = true; break;
		case 'h': usage(stdout); return WARD_EXIT_OK;
		default: usage(stderr); return WARD_EXIT_FAIL;
		}
	}
	if (optind < argc) {
		if (optind + 1 < argc || given) {
			usage(stderr);
			return WARD_EXIT_FAIL;
		}
		path = argv[optind]; /* `ward check FILE` reads naturally too */
	}
	if (ward_tool_load_conf(path, &conf) < 0)
		return WARD_EXIT_PARTIAL;
	ward_conf_warnings(conf, print_warning, NULL);
	ward_conf_file_warnings(path, print_warning, NULL);
	size_t enabled = 0;
	for (size_t i = 0; i < conf->n_feeds; i++)
		enabled += conf->feeds[i].enabled;
	printf("%s: ok (%zu feeds, %zu enabled; %zu profiles; %zu clients)\n", path,
	       conf->n_feeds, enabled, conf->n_profiles, conf->n_clients);
	fflush(stdout);
	warn_gaps(conf);
	ward_conf_free(conf);
	return WARD_EXIT_OK;
}
