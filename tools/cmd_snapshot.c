/*
 * One database, many nodes (blocklists/snapshot.h):
 *
 *   ward snapshot keygen PRIVATE PUBLIC    a new Ed25519 key pair (PEM files)
 *   ward snapshot export FILE [--key K]    compacted copy FILE + signed FILE.manifest
 *   ward sync [URL]                        fetch, verify and install the newest snapshot
 *
 * export runs on the central builder after `ward update`; any web server serves FILE and
 * FILE.manifest; sync runs on every node from a timer (ward-sync.timer).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "blocklists/snapshot.h"
#include "tools/ward.h"

#define SYNC_MAX_BYTES ((uint64_t)64 << 30)
#define SYNC_TIMEOUT_MS (30u * 60 * 1000)

struct snap_cli {
	const char *conf_path;
	const char *key;
	const char *public_key;
	struct ward_conf *conf;
	struct ward_catdb *db;
};

static void usage(FILE *out, bool sync)
{
	if (sync) {
		fprintf(out, "usage: ward sync [URL] [--public-key FILE] [-c FILE]\n"
			     "  URL                the manifest (default: snapshot_url)\n"
			     "      --public-key FILE  the builder's public key (default: "
			     "snapshot_public_key)\n"
			     "  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n");
		return;
	}
	fprintf(out, "usage: ward snapshot keygen PRIVATE PUBLIC\n"
		     "       ward snapshot export FILE [--key FILE] [-c FILE]\n"
		     "      --key FILE     the private key (default: snapshot_signing_key)\n"
		     "  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n");
}

static int parse(struct snap_cli *c, int argc, char **argv, bool sync)
{
	static const struct option snap_opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option sync_opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "public-key", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", sync ? sync_opts : snap_opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->conf_path = optarg; break;
		case 'k': c->key = optarg; break;
		case 'p': c->public_key = optarg; break;
		case 'h': usage(stdout, sync); return 1;
		default: usage(stderr, sync); return -1;
		}
	}
	return 0;
}

static int open_db(struct snap_cli *c, const char *cmd, enum ward_catdb_mode mode)
{
	if (ward_tool_load_conf(c->conf_path, &c->conf) < 0)
		return -1;
	if (ward_tool_become_db_owner(c->conf, cmd, true) < 0)
		return -1;
	int rc = ward_catdb_open(c->conf->database, mode, &c->db);
	if (rc < 0) {
		fprintf(stderr, "ward %s: cannot open the database in %s: %s\n", cmd,
			c->conf->database, ward_strerror(rc));
		return -1;
	}
	return 0;
}

static void close_db(struct snap_cli *c)
{
	if (c->db)
		ward_catdb_close(c->db);
	ward_conf_free(c->conf);
}

static int do_export(struct snap_cli *c, const char *file)
{
	if (open_db(c, "snapshot", WARD_CATDB_READ) < 0)
		return WARD_EXIT_FAIL;
	const char *key = c->key ? c->key : c->conf->snapshot_signing_key;
	if (!key) {
		fprintf(stderr, "ward snapshot: no key: give --key or set snapshot_signing_key\n");
		return WARD_EXIT_FAIL;
	}
	struct ward_snapshot_manifest m;
	char err[256];
	if (ward_snapshot_export(c->db, file, key, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "ward snapshot: %s\n", err);
		return WARD_EXIT_FAIL;
	}
	printf("exported generation %llu: %s (%llu bytes, %llu names, %llu subscribers, "
	       "sha256 %s) and %s.manifest\n", (unsigned long long)m.generation, file,
	       (unsigned long long)m.bytes, (unsigned long long)m.domains,
	       (unsigned long long)m.subscribers, m.sha256, file);
	return WARD_EXIT_OK;
}

int ward_cmd_snapshot(int argc, char **argv)
{
	struct snap_cli c = { 0 };
	int rc = parse(&c, argc, argv, false);
	if (rc)
		return rc > 0 ? WARD_EXIT_OK : WARD_EXIT_FAIL;
	int n = argc - optind;
	char **a = argv + optind;
	char err[256];
	if (n == 3 && strcmp(a[0], "keygen") == 0) {
		if (ward_snapshot_keygen(a[1], a[2], err, sizeof(err)) != 0) {
			fprintf(stderr, "ward snapshot: %s\n", err);
			return WARD_EXIT_FAIL;
		}
		printf("private key %s, public key %s\n", a[1], a[2]);
		return WARD_EXIT_OK;
	}
	if (n == 2 && strcmp(a[0], "export") == 0) {
		rc = do_export(&c, a[1]);
		close_db(&c);
		return rc;
	}
	usage(stderr, false);
	return WARD_EXIT_FAIL;
}

static int report_sync(const struct ward_sync_result *r)
{
	const struct ward_snapshot_manifest *m = &r->manifest;
	switch (r->outcome) {
	case WARD_SYNC_INSTALLED:
		printf("installed generation %llu (%llu names, %llu subscribers, %llu bytes) in "
		       "%.2f s\n", (unsigned long long)m->generation, (unsigned long long)m->domains,
		       (unsigned long long)m->subscribers, (unsigned long long)m->bytes, r->seconds);
		return WARD_EXIT_OK;
	case WARD_SYNC_UNCHANGED:
		printf("up to date: %s\n", r->why);
		return WARD_EXIT_OK;
	default:
		fprintf(stderr, "ward sync: %s; the database is unchanged\n", r->why);
		return WARD_EXIT_FAIL;
	}
}

int ward_cmd_sync(int argc, char **argv)
{
	struct snap_cli c = { 0 };
	int rc = parse(&c, argc, argv, true);
	if (rc)
		return rc > 0 ? WARD_EXIT_OK : WARD_EXIT_FAIL;
	if (argc - optind > 1 || open_db(&c, "sync", WARD_CATDB_WRITE) < 0) {
		if (argc - optind > 1)
			usage(stderr, true);
		close_db(&c);
		return WARD_EXIT_FAIL;
	}
	struct ward_sync_opts o = {
		.url = argc - optind == 1 ? argv[optind] : c.conf->snapshot_url,
		.public_key = c.public_key ? c.public_key : c.conf->snapshot_public_key,
		.state_dir = c.conf->database, .max_bytes = SYNC_MAX_BYTES,
		.timeout_ms = SYNC_TIMEOUT_MS,
	};
	struct ward_sync_result res;
	if (!o.url || !o.public_key) {
		fprintf(stderr, "ward sync: %s\n", !o.url ? "no URL: give one or set snapshot_url"
			: "no public key: give --public-key or set snapshot_public_key");
		close_db(&c);
		return WARD_EXIT_FAIL;
	}
	ward_snapshot_sync(c.db, &o, &res);
	close_db(&c);
	return report_sync(&res);
}
