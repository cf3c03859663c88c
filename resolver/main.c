/*
 * wardd: the ward DNS daemon.
 *
 *   wardd [-c FILE]          run in the foreground (default FILE /etc/ward/ward.json); log
 *                            to stderr, the journal when stderr is one, or syslog (--syslog)
 *   wardd -c FILE --check    validate the config and exit (0 ok, 2 invalid)
 *   wardd --default          run on the built-in default config (make run)
 *   wardd --version
 *
 * Start-up order matters: the config is validated completely before any socket is bound,
 * every socket is bound before privileges are dropped, the database is opened as the
 * user wardd runs as (so that lock.mdb is that user's and a permission problem shows now,
 * not at the first build), and workers start only after that. Any failure on the way
 * closes what was opened and exits 1 with the reason.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "blocklists/conf.h"
#include "blocklists/coverage.h"
#include "blocklists/error.h"
#include "blocklists/log.h"
#include "blocklists/policy.h"
#include "resolver/live.h"
#include "resolver/notify.h"
#include "resolver/obs.h"
#include "resolver/stats.h"
#include "resolver/uv_error.h"
#include "resolver/web.h"
#include "resolver/worker.h"

#define EXIT_CONFIG 2

struct wardd_options {
	const char *config_path;
	const char *database;
	bool check_only;
	bool use_default;
	bool use_syslog;
};

#define HOUSEKEEPING_MS 500 /* also the resolution of schedule boundaries */

struct wardd {
	struct ward_conf *conf;            /* the boot config: sockets, upstreams, cache */
	const char *config_file;           /* NULL: the built-in config (--default) */
	struct ward_shared shared;
	struct ward_policy_state *retired; /* replaced by SIGHUP, freed once no worker uses them */
	uint64_t generation;
	int db_error;                      /* last failure to open the database, logged once */
	uint64_t db_generation;            /* the build whose coverage was last reported */
	struct ward_worker *workers;
	unsigned n_workers;                /* initialized: sockets bound */
	unsigned n_running;                /* of those, started */
	bool loop_ready;
	uv_loop_t loop;
	uv_signal_t sigterm, sigint, sighup;
	uv_async_t reload;                 /* the config API's SIGHUP (web thread -> here) */
	uv_timer_t housekeeping;
	struct ward_live live;             /* the clock and the overrides, for the workers */
	struct ward_web *web;              /* NULL without a "web" section */
	struct ward_obs *obs;              /* the observer and the query log's writer */
	struct ward_stats_slots slots;     /* profile names -> statistics slots, for good */
	uint64_t status_key;               /* database generation + 1 last told, 0: none */
	bool status_sent;
};

static void request_reload(void *ctx);

static void usage(FILE *out)
{
	fprintf(out, "usage: wardd [-c FILE] [--check] [--syslog]\n"
		     "       wardd --default [--database DIR]\n"
		     "  -c, --config FILE   configuration file (JSON, default "
		     WARD_CONF_DEFAULT_PATH ")\n"
		     "      --check         validate the configuration and exit (0 ok, 2 invalid)\n"
		     "      --default       use the built-in config: 127.0.0.1/::1 port 5353,\n"
		     "                      upstreams from /etc/resolv.conf\n"
		     "      --database DIR  database directory for --default\n"
		     "      --syslog        log to syslog (facility daemon) instead of stderr\n"
		     "  -V, --version       print the version and exit\n"
		     "  -h, --help          this text\n");
}

static void version(void)
{
	printf("wardd %s\n%s\n", WARD_VERSION,
	       ward_notify_supported() ? "built with libsystemd: sd_notify (Type=notify)"
				       : "built without libsystemd: no sd_notify");
}

static int parse_options(int argc, char **argv, struct wardd_options *opt)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'k'},
		{"default", no_argument, NULL, 'd'},      {"database", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
		{"syslog", no_argument, NULL, 's'},       {NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': opt->config_path = optarg; break;
		case 'k': opt->check_only = true; break;
		case 'd': opt->use_default = true; break;
		case 'D': opt->database = optarg; break;
		case 's': opt->use_syslog = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': version(); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	if (!opt->use_default && !opt->config_path)
		opt->config_path = WARD_CONF_DEFAULT_PATH;
	return 0;
}

static void print_warning(void *arg, const char *text)
{
	fprintf(stderr, "wardd: warning: %s\n", text);
}

static void log_warning(void *arg, const char *text)
{
	ward_log_warn("%s", text);
}

/* Every error of the file, one line each (the texts `ward check` and the config API
 * give). */
static int load_file(const char *path, struct ward_conf **conf)
{
	char text[WARD_CONF_FIELD_MAX + 2 * WARD_CONF_ERR_MAX];
	struct ward_conf_errors *errs = calloc(1, sizeof(*errs));
	if (!errs) {
		fprintf(stderr, "wardd: out of memory\n");
		return WARD_ENOMEM;
	}
	int rc = ward_conf_load_all(path, conf, errs);
	for (size_t i = 0; rc != 0 && i < errs->n; i++)
		fprintf(stderr, "wardd: %s\n", ward_conf_error_text(path, &errs->list[i], text,
								     sizeof(text)));
	if (rc != 0 && errs->truncated)
		fprintf(stderr, "wardd: %s: (stopped after %d errors)\n", path,
			WARD_CONF_ERRORS_MAX);
	free(errs);
	return rc;
}

static int load_config(const struct wardd_options *opt, struct ward_conf **conf)
{
	char err[WARD_CONF_ERR_MAX];
	if (opt->config_path)
		return load_file(opt->config_path, conf);
	int rc = ward_conf_default("/etc/resolv.conf",
				   opt->database ? opt->database : "/var/lib/ward", conf, err,
				   sizeof(err));
	if (rc != 0)
		fprintf(stderr, "wardd: %s\n", err);
	return rc;
}

/* Only when started as root: the sockets are bound, so nothing else needs root. */
static int drop_privileges(const struct ward_conf *conf)
{
	if (geteuid() != 0 || !conf->user || !conf->user[0])
		return 0;
	struct passwd *pw = getpwnam(conf->user);
	if (!pw) {
		ward_log_error("%s: user: no such user \"%s\"", conf->path ? conf->path : "config",
			       conf->user);
		return WARD_ECONF;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		int err = ward_errno(errno);
		ward_log_error("cannot drop privileges to %s: %s", conf->user, ward_strerror(err));
		return err;
	}
	ward_log_info("running as user %s", conf->user);
	return 0;
}

/*
 * Workers bind with SO_REUSEPORT, which shares an address with any other socket of the
 * same user that set it too: a second wardd started by mistake would quietly take a
 * share of the queries. A probe bind without SO_REUSEPORT fails while anything listens
 * on the address (TCP: wardd always listens on TCP too; SO_REUSEADDR only lets the probe
 * pass connections of an earlier run in TIME_WAIT). Two wardds started within the same
 * instant could both pass; the probe is for the mistake, not the race.
 */
static int probe_address(const struct ward_addr *addr)
{
	char text[64];
	int one = 1, rc = 0;
	int fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ward_errno(errno);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (addr->sa.sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, &addr->sa, addr->len) != 0)
		rc = ward_errno(errno);
	close(fd);
	if (rc == WARD_EADDRINUSE)
		ward_log_error("cannot bind TCP %s: address already in use: another process "
			       "(another wardd?) serves it; stop it first",
			       ward_addr_format(addr, text, sizeof(text)));
	else if (rc != 0)
		ward_log_error("cannot bind TCP %s: %s",
			       ward_addr_format(addr, text, sizeof(text)), ward_strerror(rc));
	return rc;
}

/* DNS goes on without the web listener (port 80 taken by a web server, say). */
static void new_web(struct wardd *d)
{
	int rc = ward_web_new(d->conf, d->config_file, &d->shared, &d->web);
	if (rc == 0)
		ward_web_set_reloader(d->web, request_reload, &d->reload);
	else
		ward_log_error("the web listener is off (block page, admin pages, metrics) until "
			       "wardd restarts: %s", ward_strerror(rc));
}

static int bind_workers(struct wardd *d)
{
	const struct ward_conf *conf = d->conf;
	for (size_t i = 0; i < conf->n_listen; i++) {
		int rc = probe_address(&conf->listen[i]);
		if (rc != 0)
			return rc;
	}
	unsigned n = conf->workers ? conf->workers : 1;
	d->workers = calloc(n, sizeof(*d->workers));
	if (!d->workers)
		return WARD_ENOMEM;
	for (; d->n_workers < n; d->n_workers++) {
		int rc = ward_worker_init(&d->workers[d->n_workers], d->n_workers, conf, &d->shared);
		if (rc != 0)
			return rc;
	}
	if (conf->web.enabled || conf->n_metrics_listen)
		new_web(d);
	int rc = ward_obs_new(conf, &d->shared, &d->obs);
	if (rc == 0 && d->web)
		ward_obs_set_sink(d->obs, ward_web_note_block, d->web);
	return rc;
}

static int start_workers(struct wardd *d)
{
	for (; d->n_running < d->n_workers; d->n_running++) {
		int rc = ward_worker_start(&d->workers[d->n_running]);
		if (rc != 0) {
			ward_log_error("cannot start worker %u: %s", d->n_running, ward_strerror(rc));
			return rc;
		}
	}
	return 0;
}

/* Stops the running workers and frees every initialized one, started or not. The web
 * listener reads the observer and the workers' statistics, the observer the workers'
 * rings and hands blocks to the web listener: so the web thread stops first, then the
 * observer (which writes what it queued), then the rest goes. */
static void stop_workers(struct wardd *d)
{
	ward_web_stop(d->web);
	ward_obs_free(d->obs);
	d->obs = NULL;
	ward_web_free(d->web);
	d->web = NULL;
	for (unsigned i = 0; i < d->n_running; i++)
		ward_worker_request_stop(&d->workers[i]);
	for (unsigned i = 0; i < d->n_running; i++)
		ward_worker_join(&d->workers[i]);
	if (d->n_running)
		ward_worker_log_udp_totals(d->workers, d->n_running);
	for (unsigned i = 0; i < d->n_workers; i++)
		ward_worker_destroy(&d->workers[i]);
	free(d->workers);
	d->workers = NULL;
	d->n_workers = d->n_running = 0;
}

static void on_stop_signal(uv_signal_t *sig, int signum)
{
	struct wardd *d = sig->data;
	ward_log_info("signal %d: finishing in-flight queries and exiting", signum);
	ward_notify_stopping();
	ward_web_set_reloader(d->web, NULL, NULL); /* before the handle it wakes is closed */
	uv_close((uv_handle_t *)&d->reload, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	uv_close((uv_handle_t *)&d->housekeeping, NULL);
}

static struct ward_policy_state *policy_state_new(struct wardd *d, struct ward_conf *conf)
{
	struct ward_policy_state *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	if (ward_policy_new(conf, &ps->policy) != 0) {
		free(ps);
		return NULL;
	}
	ps->stat_slots = ward_stats_slots_map(&d->slots, conf);
	if (conf->n_profiles && !ps->stat_slots) {
		ward_policy_free(ps->policy);
		free(ps);
		return NULL;
	}
	ps->conf = conf;
	ps->generation = ++d->generation;
	return ps;
}

static void policy_state_free(struct wardd *d, struct ward_policy_state *ps)
{
	ward_policy_free(ps->policy);
	free(ps->stat_slots);
	if (ps->conf != d->conf)
		ward_conf_free(ps->conf);
	free(ps);
}

/* Sockets, upstreams, the cache, the database and the web listener are built from the
 * boot config: a change to them waits for a restart. */
static void warn_restart_needed(const struct ward_conf *old, const struct ward_conf *fresh,
				const char *why)
{
	const char *keys[16];
	char list[256];
	size_t n = ward_conf_restart_needed(old, fresh, keys, 16), o = 0;
	list[0] = '\0';
	for (size_t i = 0; i < n && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", keys[i]);
	if (n)
		ward_log_warn("%s: changes to %s take effect at the next restart", why, list);
}

static void publish_local_time(struct wardd *d)
{
	struct ward_policy_state *ps = atomic_load(&d->shared.policy);
	struct ward_policy_time t;
	ward_policy_local_time(ps->policy, time(NULL), &t);
	atomic_store(&d->shared.local_time, (uint32_t)t.wday << 16 | t.minute);
}

static void log_gap(void *ctx, const char *warning)
{
	ward_log_warn("%s", warning);
}

/* Say what the running config leaves unfiltered with the database as it is now. */
static void report_coverage(struct wardd *d, const struct ward_conf *conf)
{
	int rc = ward_coverage_check(conf, atomic_load(&d->shared.db), log_gap, NULL);
	if (rc < 0)
		ward_log_warn("cannot check what the category database covers: %s",
			      ward_strerror(rc));
}

/* The overrides and the clock for override expiry; retired tables freed once unused. */
static void refresh_live(struct wardd *d, bool force)
{
	uint64_t oldest = ward_web_seen_overrides(d->web);
	ward_live_tick(&d->live, &d->shared, atomic_load(&d->shared.policy)->conf,
		       atomic_load(&d->shared.db), force);
	for (unsigned i = 0; i < d->n_running; i++) {
		uint64_t seen = atomic_load(&d->workers[i].seen_overrides);
		if (seen < oldest)
			oldest = seen;
	}
	ward_live_retire(&d->live, oldest);
}

/* Filtering (profiles, clients, block mode, allow_clients) changes live; a broken file
 * changes nothing. @return 0 or why the running configuration was kept. */
static int reload_config(struct wardd *d, const char *why)
{
	char err[WARD_CONF_ERR_MAX];
	struct ward_conf *fresh = NULL;
	int rc = ward_conf_load(d->config_file, &fresh, err, sizeof(err));
	if (rc != 0) {
		ward_log_error("%s: keeping the running configuration: %s", why, err);
		return rc;
	}
	struct ward_policy_state *ps = policy_state_new(d, fresh);
	if (!ps) {
		ward_log_error("%s: out of memory building the new policy; keeping the old one",
			       why);
		ward_conf_free(fresh);
		return WARD_ENOMEM;
	}
	warn_restart_needed(d->conf, fresh, why);
	ward_log_set_level(fresh->log_level);
	ward_conf_warnings(fresh, log_warning, NULL);
	struct ward_policy_state *old = atomic_exchange(&d->shared.policy, ps);
	old->retired_next = d->retired;
	d->retired = old;
	publish_local_time(d);
	refresh_live(d, true); /* the overrides' profile indexes follow the new config */
	ward_obs_configure(d->obs, &fresh->query_log);
	ward_log_info("%s: %s reloaded (%zu profiles, %zu clients)", why, d->config_file,
		      fresh->n_profiles, fresh->n_clients);
	report_coverage(d, fresh);
	return 0;
}

/* SIGHUP, and the config API's request for the same (the web listener waits for the
 * reload that read the file after its write: ward_web_reload_begin/end). */
static void reload(struct wardd *d, const char *why)
{
	if (!d->config_file) {
		ward_log_error("%s: the built-in config has no file to re-read", why);
		return;
	}
	ward_notify_reloading();
	uint64_t n = ward_web_reload_begin(d->web);
	int rc = reload_config(d, why);
	ward_web_reload_end(d->web, n, rc);
	ward_notify_ready(NULL);
}

static void on_hup(uv_signal_t *sig, int signum)
{
	reload(sig->data, "SIGHUP");
}

static void on_reload_request(uv_async_t *async)
{
	reload(async->data, "config API");
}

/* Called on the web thread: it only wakes the main loop. */
static void request_reload(void *ctx)
{
	uv_async_send(ctx);
}

/* The service manager's status line follows the database: told at start and whenever
 * `ward update` commits a new generation (checked with the housekeeping timer). */
static void report_status(struct wardd *d)
{
	if (!ward_notify_enabled())
		return;
	struct ward_catdb *db = atomic_load(&d->shared.db);
	struct ward_catdb_meta meta = {0};
	if (db && ward_catdb_meta_get(db, &meta) != 0)
		return;
	/* With a web listener wardd creates the database itself (for reports and
	 * overrides): until `ward update` built it (generation 0), it has no categories. */
	bool built = db && meta.generation > 0;
	uint64_t key = built ? meta.generation + 1 : 0;
	if (d->status_sent && key == d->status_key)
		return;
	char text[128];
	ward_notify_status(ward_notify_status_text(text, sizeof(text), built, meta.domains,
						   meta.generation));
	d->status_key = key;
	d->status_sent = true;
}

/* Each new build is checked again: a feed may have come, failed or gone. */
static void watch_generation(struct wardd *d)
{
	struct ward_catdb_meta meta;
	struct ward_catdb *db = atomic_load(&d->shared.db);
	if (!db || ward_catdb_meta_get(db, &meta) != 0 || meta.generation == d->db_generation)
		return;
	d->db_generation = meta.generation;
	ward_log_info("category database generation %llu: %llu names",
		      (unsigned long long)meta.generation, (unsigned long long)meta.domains);
	report_coverage(d, atomic_load(&d->shared.policy)->conf);
}

/* The failures an operator has to fix, with what to fix. */
static void log_db_error(const char *dir, int rc)
{
	if (rc == WARD_EROFS)
		ward_log_error("category database %s: cannot use LMDB's lock file %s/lock.mdb: "
			       "read-only file system. Refusing to read without it (`ward update` "
			       "could overwrite pages wardd is still reading): the directory must "
			       "be writable for wardd (systemd: StateDirectory= or ReadWritePaths=)",
			       dir, dir);
	else if (rc == WARD_EACCES)
		ward_log_error("category database %s: permission denied: wardd (uid %u) must be "
			       "able to read %s/data.mdb and write %s/lock.mdb", dir,
			       (unsigned)geteuid(), dir, dir);
	else
		ward_log_error("cannot open the category database in %s: %s", dir,
			       ward_strerror(rc));
}

/* @return 0 or the failure; each distinct failure is logged once, not every retry. */
static int open_database(struct wardd *d)
{
	struct ward_catdb *db;
	/* The web listener writes reports and overrides (on its own thread only). */
	int rc = ward_catdb_open(d->conf->database,
				 d->conf->web.enabled ? WARD_CATDB_WRITE : WARD_CATDB_READ, &db);
	if (rc == 0) {
		atomic_store(&d->shared.db, db);
		d->db_error = 0;
		ward_log_info("category database %s opened", d->conf->database);
		d->db_generation = UINT64_MAX;
		watch_generation(d);
		return 0;
	}
	if (rc != d->db_error && rc == WARD_ENOTFOUND)
		report_coverage(d, atomic_load(&d->shared.policy)->conf);
	else if (rc != d->db_error)
		log_db_error(d->conf->database, rc);
	d->db_error = rc;
	return rc;
}

/* A retired policy can go once every worker has moved past its generation. */
static void free_retired_policies(struct wardd *d)
{
	uint64_t oldest_seen = UINT64_MAX;
	for (unsigned i = 0; i < d->n_running; i++) {
		uint64_t seen = atomic_load(&d->workers[i].seen_generation);
		if (seen < oldest_seen)
			oldest_seen = seen;
	}
	uint64_t web_seen = ward_web_seen_generation(d->web);
	if (web_seen < oldest_seen)
		oldest_seen = web_seen;
	struct ward_policy_state **link = &d->retired;
	while (*link) {
		struct ward_policy_state *ps = *link;
		if (ps->generation < oldest_seen) {
			*link = ps->retired_next;
			ward_log_debug("freed the retired policy of generation %llu",
				       (unsigned long long)ps->generation);
			policy_state_free(d, ps);
		} else {
			link = &ps->retired_next;
		}
	}
}

static void on_housekeeping(uv_timer_t *t)
{
	struct wardd *d = t->data;
	publish_local_time(d);
	struct ward_catdb *db = atomic_load(&d->shared.db);
	if (db) {
		watch_generation(d);
		/* A database an older ward wrote has no subscriber table until a `ward
		 * subscribers` command creates it; the workers use it from their next refresh. */
		ward_catdb_open_subs(db);
		/* Likewise the second domains table (catdb.c): until it is open here, a build
		 * that switched to it makes lookups fail closed. */
		ward_catdb_open_domains_b(db);
	} else {
		open_database(d);
	}
	refresh_live(d, false);
	free_retired_policies(d);
	report_status(d);
}

/* @return 0 or the first libuv error (converted): a wardd that could not watch for
 * SIGTERM could not drain on stop, so it does not start. */
static int watch_signals(struct wardd *d)
{
	int rc;
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	d->reload.data = d->housekeeping.data = d;
	if ((rc = uv_signal_init(&d->loop, &d->sigterm)) != 0 ||
	    (rc = uv_signal_init(&d->loop, &d->sigint)) != 0 ||
	    (rc = uv_signal_init(&d->loop, &d->sighup)) != 0 ||
	    (rc = uv_signal_start(&d->sigterm, on_stop_signal, SIGTERM)) != 0 ||
	    (rc = uv_signal_start(&d->sigint, on_stop_signal, SIGINT)) != 0 ||
	    (rc = uv_signal_start(&d->sighup, on_hup, SIGHUP)) != 0 ||
	    (rc = uv_async_init(&d->loop, &d->reload, on_reload_request)) != 0 ||
	    (rc = uv_timer_init(&d->loop, &d->housekeeping)) != 0 ||
	    (rc = uv_timer_start(&d->housekeeping, on_housekeeping, HOUSEKEEPING_MS,
				 HOUSEKEEPING_MS)) != 0)
		return ward_uv_err(rc);
	return 0;
}

static int share_initial_state(struct wardd *d)
{
	ward_stats_slots_init(&d->slots);
	d->shared.slots = &d->slots;
	struct ward_policy_state *ps = policy_state_new(d, d->conf);
	if (!ps)
		return WARD_ENOMEM;
	atomic_store(&d->shared.policy, ps);
	publish_local_time(d);
	return 0;
}

static void release_shared_state(struct wardd *d)
{
	while (d->retired) {
		struct ward_policy_state *ps = d->retired;
		d->retired = ps->retired_next;
		policy_state_free(d, ps);
	}
	struct ward_policy_state *ps = atomic_load(&d->shared.policy);
	if (ps)
		policy_state_free(d, ps);
	struct ward_catdb *db = atomic_load(&d->shared.db);
	if (db)
		ward_catdb_close(db);
}

static void log_start(const struct wardd *d)
{
	char addr[64];
	for (size_t i = 0; i < d->conf->n_listen; i++)
		ward_log_info("listening on %s (UDP, TCP)",
			      ward_addr_format(&d->conf->listen[i], addr, sizeof(addr)));
	for (size_t i = 0; i < d->conf->n_upstreams; i++)
		ward_log_info("upstream %s",
			      ward_addr_format(&d->conf->upstreams[i], addr, sizeof(addr)));
	ward_log_info("%u workers, cache %u entries", d->n_workers, d->conf->cache.max_entries);
	/* Info, not a warning: a home's load fits a small buffer; a busy server's operator
	 * looks here when datagrams are dropped. */
	int rcvbuf = d->n_workers && d->workers[0].n_udp ? ward_udp_rcvbuf(&d->workers[0].udp[0]) : 0;
	if (rcvbuf)
		ward_log_info("UDP receive buffer %d KiB per socket (%d KiB asked%s)", rcvbuf / 1024,
			      WARD_UDP_RCVBUF / 1024,
			      rcvbuf < WARD_UDP_RCVBUF ? "; raise net.core.rmem_max to get it" : "");
}

static void close_handle(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* libuv closes a loop only once every handle on it is closed (and its callback ran). */
static void close_loop(struct wardd *d)
{
	if (!d->loop_ready)
		return;
	uv_walk(&d->loop, close_handle, NULL);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&d->loop) != 0)
		ward_log_error("the main event loop still has open handles");
	d->loop_ready = false;
}

/* Everything up to serving; on failure the caller undoes what was done (shut_down). */
/* DNS goes on without the web listener; the observer stops handing it blocks. */
static void start_web(struct wardd *d)
{
	int rc = ward_web_start(d->web, d->workers, d->n_workers, d->obs);
	if (rc == 0)
		return;
	ward_log_error("the web listener is off (block page, admin pages, metrics) until wardd "
		       "restarts: %s", ward_strerror(rc));
	ward_obs_set_sink(d->obs, NULL, NULL);
	ward_web_free(d->web);
	d->web = NULL;
}

static int start_up(struct wardd *d)
{
	int rc = ward_uv_err(uv_loop_init(&d->loop));
	if (rc != 0)
		return rc;
	d->loop_ready = true;
	/* Signals must be blocked-and-handled before workers exist, or a SIGTERM during
	 * start-up would kill the process without draining. */
	if ((rc = watch_signals(d)) != 0)
		return rc;
	rc = share_initial_state(d);
	if (rc == 0)
		rc = bind_workers(d);
	if (rc == 0)
		rc = drop_privileges(d->conf);
	if (rc == 0) {
		rc = open_database(d);
		if (rc == WARD_ENOTFOUND)
			rc = 0; /* warned; the housekeeping timer opens it once it exists */
	}
	if (rc == 0) {
		refresh_live(d, true);
		rc = start_workers(d);
	}
	if (rc == 0)
		rc = ward_obs_start(d->obs, d->workers, d->n_workers);
	if (rc == 0 && d->web)
		start_web(d);
	return rc;
}

static void shut_down(struct wardd *d)
{
	stop_workers(d);
	ward_live_free(&d->live, &d->shared);
	close_loop(d);
	release_shared_state(d);
	ward_conf_free(d->conf);
}

int main(int argc, char **argv)
{
	struct wardd_options opt = {0};
	struct wardd d = {0};
	ward_log_set_ident("wardd");
	signal(SIGPIPE, SIG_IGN);
	if (parse_options(argc, argv, &opt) != 0)
		return EXIT_CONFIG;
	ward_log_open("wardd", opt.use_syslog);
	if (load_config(&opt, &d.conf) != 0)
		return EXIT_CONFIG;
	d.config_file = opt.config_path;
	if (opt.check_only) {
		ward_conf_warnings(d.conf, print_warning, NULL);
		ward_conf_file_warnings(opt.config_path, print_warning, NULL);
		printf("%s: ok\n", d.conf->path ? d.conf->path : "built-in config");
		ward_conf_free(d.conf);
		return 0;
	}
	ward_log_set_level(d.conf->log_level);
	ward_conf_warnings(d.conf, log_warning, NULL);
	ward_conf_file_warnings(opt.config_path, log_warning, NULL);
	ward_worker_raise_fd_limit(d.conf);
	int rc = start_up(&d);
	if (rc != 0) {
		ward_log_error("start-up failed: %s", ward_strerror(rc));
		shut_down(&d);
		return 1;
	}
	log_start(&d);
	ward_notify_ready(NULL);
	report_status(&d);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	shut_down(&d);
	ward_log_info("stopped");
	return 0;
}
