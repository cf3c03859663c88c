/*
 * ward update [-c FILE] [--force] [--feed NAME] [--offline] [--json | --quiet] ...
 *
 * Exit 0 when every due feed updated (or was unchanged), 2 when some feeds failed but
 * kept their last good copy, 1 on usage/config errors or when nothing usable came out.
 * Run as root on a database directory owned by another user (the packaged `ward`), it
 * runs as that user, so that the files stay usable by wardd and the update timer.
 * Timing knobs come from the environment so that tests and slow links can change them
 * without new options: WARD_UPDATE_TRIES, WARD_UPDATE_BACKOFF_MS,
 * WARD_UPDATE_CONNECT_TIMEOUT_MS, WARD_UPDATE_TIMEOUT_MS, WARD_UPDATE_MAX_BYTES,
 * WARD_UPDATE_PARALLEL.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/error.h"
#include "blocklists/update.h"
#include "tools/ward.h"

enum out_mode { OUT_HUMAN, OUT_JSON, OUT_QUIET };

struct ui {
	enum out_mode mode;
	bool tty;            /* stderr is a terminal: draw a live progress line */
	bool progress_shown;
	size_t done, total;  /* feeds with a final status / all feeds */
	const struct ward_conf *conf;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ward update [-c FILE] [--force] [--feed NAME] [--offline]\n"
		"                   [--json | --quiet] [--no-wait] [--allow-shrink]\n"
		"  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n"
		"  -f, --force        download every feed now, unconditionally; always rebuild\n"
		"      --feed NAME    download only this feed (the rebuild still uses all)\n"
		"      --offline      no network: rebuild from the stored copies\n"
		"      --json         machine-readable result on stdout\n"
		"  -q, --quiet        print only failures (for timers)\n"
		"      --no-wait      fail instead of waiting when another update runs\n"
		"      --allow-shrink accept lists that shrank by more than half\n"
		"environment (defaults; a feed's max_bytes and timeout in the config win):\n"
		"  WARD_UPDATE_TRIES, WARD_UPDATE_BACKOFF_MS,\n"
		"  WARD_UPDATE_CONNECT_TIMEOUT_MS, WARD_UPDATE_TIMEOUT_MS, WARD_UPDATE_MAX_BYTES,\n"
		"  WARD_UPDATE_PARALLEL\n"
		"exit: 0 ok, 2 some feeds failed (their last good copy is kept), 1 error\n");
}

static int env_u64(const char *name, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return 0;
	if (ward_tool_parse_u64(v, min, max, out) == 0)
		return 0;
	fprintf(stderr, "ward update: %s=%s: expected a number in %llu..%llu\n", name, v,
		(unsigned long long)min, (unsigned long long)max);
	return -1;
}

static int opts_from_env(struct ward_update_opts *o)
{
	uint64_t tries = o->tries, backoff = o->backoff_ms, connect = o->connect_timeout_ms;
	uint64_t timeout = o->timeout_ms, parallel = o->parallel;
	if (env_u64("WARD_UPDATE_TRIES", 1, 20, &tries) < 0 ||
	    env_u64("WARD_UPDATE_BACKOFF_MS", 0, 600000, &backoff) < 0 ||
	    env_u64("WARD_UPDATE_CONNECT_TIMEOUT_MS", 1, 600000, &connect) < 0 ||
	    env_u64("WARD_UPDATE_TIMEOUT_MS", 1, 86400000, &timeout) < 0 ||
	    env_u64("WARD_UPDATE_MAX_BYTES", 1, UINT64_MAX / 2, &o->max_bytes) < 0 ||
	    env_u64("WARD_UPDATE_PARALLEL", 1, 256, &parallel) < 0)
		return -1;
#ifdef WARD_TEST_HOOKS
	/* Tests move the clock forward to make fresh feeds due without --force. */
	uint64_t now = 0;
	if (env_u64("WARD_TEST_UNIX_TIME", 1, INT64_MAX, &now) < 0)
		return -1;
	o->now = (int64_t)now;
#endif
	o->tries = (unsigned)tries;
	o->backoff_ms = (unsigned)backoff;
	o->connect_timeout_ms = (unsigned)connect;
	o->timeout_ms = (unsigned)timeout;
	o->parallel = (unsigned)parallel;
	return 0;
}

/* ---- human output --------------------------------------------------------------- */

static void clear_progress(struct ui *ui)
{
	if (ui->progress_shown) {
		fputs("\r\033[K", stderr);
		ui->progress_shown = false;
	}
}

static void append(char *buf, size_t cap, const char *fmt, const char *a, const char *b)
{
	size_t len = strlen(buf);
	if (len < cap)
		snprintf(buf + len, cap - len, fmt, a, b);
}

static void rejects_text(const struct ward_feed_stats *st, char *buf, size_t cap)
{
	bool first = true;
	for (int r = 0; r < WARD_REJECT_COUNT; r++) {
		char num[32];
		if (!st->rejected[r])
			continue;
		snprintf(num, sizeof(num), "%llu", (unsigned long long)st->rejected[r]);
		append(buf, cap, first ? "; rejected: %s %s" : ", %s %s",
		       ward_feed_reject_name((enum ward_feed_reject)r), num);
		first = false;
	}
}

static void feed_line(const struct ward_update_feed_result *fr, char *buf, size_t cap)
{
	char size[32], when[32], num[32];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)fr->entries);
	buf[0] = '\0';
	switch (fr->status) {
	case WARD_UPDATE_UPDATED:
		append(buf, cap, "%s, %s entries", ward_tool_size(fr->bytes, size, sizeof(size)),
		       num);
		break;
	case WARD_UPDATE_UNCHANGED:
	case WARD_UPDATE_SKIPPED:
	case WARD_UPDATE_OFFLINE:
		append(buf, cap, "%s, %s entries", fr->reason, num);
		break;
	case WARD_UPDATE_DISABLED:
		append(buf, cap, "%s%s", fr->reason, "");
		break;
	case WARD_UPDATE_FAILED:
		append(buf, cap, "%s%s", fr->reason, "");
		if (fr->has_copy)
			append(buf, cap, "; kept the last good copy (%s entries, %s)", num,
			       ward_tool_time(fr->last_good, when, sizeof(when)));
		else
			append(buf, cap, "; %s%s", "no good copy yet", "");
		break;
	}
	if (fr->parsed)
		rejects_text(&fr->parse, buf + strlen(buf), cap - strlen(buf));
	if (fr->attempts > 1) {
		snprintf(num, sizeof(num), "%u", fr->attempts);
		append(buf, cap, " (%s attempts)%s", num, "");
	}
}

static void on_event(void *ctx, enum ward_update_event ev, const struct ward_update_result *res,
		     size_t index)
{
	struct ui *ui = ctx;
	char line[1024], size[32];
	if (ev == WARD_UPDATE_EV_FEED_DONE)
		ui->done++;
	if (ui->mode == OUT_JSON)
		return;
	switch (ev) {
	case WARD_UPDATE_EV_LOCK_WAIT:
		fprintf(stderr, "ward update: another update is running; waiting for it\n");
		break;
	case WARD_UPDATE_EV_PROGRESS:
		if (ui->mode == OUT_HUMAN && ui->tty) {
			fprintf(stderr, "\r\033[K  downloading: %zu/%zu feeds done, %s", ui->done,
				ui->total, ward_tool_size(res->bytes_total, size, sizeof(size)));
			ui->progress_shown = true;
		}
		break;
	case WARD_UPDATE_EV_FEED_DONE: {
		const struct ward_update_feed_result *fr = &res->feeds[index];
		bool failed = fr->status == WARD_UPDATE_FAILED;
		if (ui->mode == OUT_QUIET && !failed)
			break;
		feed_line(fr, line, sizeof(line));
		clear_progress(ui);
		fprintf(ui->mode == OUT_QUIET ? stderr : stdout, "  %-28s %-9s %s\n", fr->name,
			failed ? "FAILED" : ward_update_status_name(fr->status), line);
		fflush(stdout);
		break;
	}
	case WARD_UPDATE_EV_BUILD_START:
		if (ui->mode == OUT_HUMAN) {
			clear_progress(ui);
			fprintf(stderr, "ward update: building the database...\n");
		}
		break;
	case WARD_UPDATE_EV_BUILD_DONE:
		break;
	}
}

static void print_summary(const struct ward_update_result *res)
{
	printf("ward update: %zu updated, %zu unchanged, %zu failed, %zu skipped", res->n_updated,
	       res->n_unchanged, res->n_failed, res->n_skipped);
	if (res->n_offline)
		printf(", %zu from stored copies", res->n_offline);
	if (res->n_disabled)
		printf(", %zu disabled", res->n_disabled);
	if (res->built)
		printf("; built generation %llu: %llu domains in %.1f s\n",
		       (unsigned long long)res->generation, (unsigned long long)res->domains,
		       res->build_s);
	else
		printf("; database unchanged (generation %llu, %llu domains)\n",
		       (unsigned long long)res->generation, (unsigned long long)res->domains);
}

/* ---- JSON output ---------------------------------------------------------------- */

static cJSON *feed_json(const struct ward_update_feed_result *fr)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", fr->name);
	cJSON_AddStringToObject(o, "status", ward_update_status_name(fr->status));
	cJSON_AddStringToObject(o, "reason", fr->reason);
	if (fr->err)
		cJSON_AddStringToObject(o, "error", ward_strerror(fr->err));
	cJSON_AddNumberToObject(o, "http_status", (double)fr->http_code);
	cJSON_AddNumberToObject(o, "attempts", fr->attempts);
	cJSON_AddNumberToObject(o, "bytes", (double)fr->bytes);
	cJSON_AddNumberToObject(o, "entries", (double)fr->entries);
	cJSON_AddNumberToObject(o, "previous_entries", (double)fr->prev_entries);
	cJSON_AddBoolToObject(o, "has_copy", fr->has_copy);
	cJSON_AddNumberToObject(o, "last_good", (double)fr->last_good);
	if (fr->parsed) {
		cJSON *rej = cJSON_AddObjectToObject(o, "rejected");
		for (int r = 0; r < WARD_REJECT_COUNT; r++)
			if (fr->parse.rejected[r])
				cJSON_AddNumberToObject(rej,
							ward_feed_reject_name((enum ward_feed_reject)r),
							(double)fr->parse.rejected[r]);
		cJSON_AddNumberToObject(o, "lines", (double)fr->parse.lines);
		cJSON_AddNumberToObject(o, "allows", (double)fr->parse.allows);
	}
	return o;
}

static void print_json(const struct ward_update_result *res, int rc, int exit_code)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "exit", exit_code);
	if (rc < 0)
		cJSON_AddStringToObject(o, "error", res->error[0] ? res->error : ward_strerror(rc));
	cJSON_AddBoolToObject(o, "built", res->built);
	cJSON_AddNumberToObject(o, "generation", (double)res->generation);
	cJSON_AddNumberToObject(o, "domains", (double)res->domains);
	cJSON_AddNumberToObject(o, "download_seconds", res->download_s);
	cJSON_AddNumberToObject(o, "build_seconds", res->build_s);
	cJSON *sum = cJSON_AddObjectToObject(o, "summary");
	cJSON_AddNumberToObject(sum, "updated", (double)res->n_updated);
	cJSON_AddNumberToObject(sum, "unchanged", (double)res->n_unchanged);
	cJSON_AddNumberToObject(sum, "failed", (double)res->n_failed);
	cJSON_AddNumberToObject(sum, "skipped", (double)res->n_skipped);
	cJSON_AddNumberToObject(sum, "disabled", (double)res->n_disabled);
	cJSON_AddNumberToObject(sum, "offline", (double)res->n_offline);
	cJSON *feeds = cJSON_AddArrayToObject(o, "feeds");
	for (size_t i = 0; i < res->n_feeds; i++)
		cJSON_AddItemToArray(feeds, feed_json(&res->feeds[i]));
	if (ward_tool_print_json(o) < 0)
		fprintf(stderr, "ward update: cannot render JSON\n");
}

/* ---- the command ---------------------------------------------------------------- */

static int exit_code(const struct ward_update_result *res, int rc)
{
	if (rc < 0)
		return WARD_EXIT_FAIL;
	if (res->n_failed == 0)
		return WARD_EXIT_OK;
	for (size_t i = 0; i < res->n_feeds; i++)
		if (res->feeds[i].has_copy)
			return WARD_EXIT_PARTIAL;
	return WARD_EXIT_FAIL; /* every feed failed and none has data: a total failure */
}

enum { OPT_FEED = 256, OPT_OFFLINE, OPT_JSON, OPT_NOWAIT, OPT_SHRINK };

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "force", no_argument, NULL, 'f' },
	{ "feed", required_argument, NULL, OPT_FEED },
	{ "offline", no_argument, NULL, OPT_OFFLINE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-wait", no_argument, NULL, OPT_NOWAIT },
	{ "allow-shrink", no_argument, NULL, OPT_SHRINK },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_args(int argc, char **argv, struct ward_update_opts *o, struct ui *ui,
		      const char **conf_path)
{
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:fqh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c': *conf_path = optarg; break;
		case 'f': o->force = true; break;
		case 'q': ui->mode = OUT_QUIET; break;
		case OPT_FEED: o->only_feed = optarg; break;
		case OPT_OFFLINE: o->offline = true; break;
		case OPT_JSON: ui->mode = OUT_JSON; break;
		case OPT_NOWAIT: o->nowait = true; break;
		case OPT_SHRINK: o->allow_shrink = true; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ward update: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->offline && (o->force || o->only_feed)) {
		fprintf(stderr, "ward update: --offline downloads nothing: no --force or --feed\n");
		return -1;
	}
	return 0;
}

int ward_cmd_update(int argc, char **argv)
{
	struct ward_update_opts opts;
	struct ui ui = { .mode = OUT_HUMAN, .tty = isatty(STDERR_FILENO) == 1 };
	const char *conf_path = WARD_CONF_DEFAULT_PATH;
	struct ward_conf *conf = NULL;
	struct ward_update_result res;
	ward_update_opts_init(&opts);
	int prc = parse_args(argc, argv, &opts, &ui, &conf_path);
	if (prc != 0)
		return prc > 0 ? WARD_EXIT_OK : WARD_EXIT_FAIL;
	if (opts_from_env(&opts) < 0 || ward_tool_load_conf(conf_path, &conf) < 0)
		return WARD_EXIT_FAIL;
	if (ward_tool_become_db_owner(conf, "update", ui.mode != OUT_HUMAN) < 0) {
		ward_conf_free(conf);
		return WARD_EXIT_FAIL;
	}
	ui.total = conf->n_feeds;
	ui.conf = conf;
	opts.on_event = on_event;
	opts.event_ctx = &ui;
	int rc = ward_update_run(conf, &opts, &res);
	clear_progress(&ui);
	int code = exit_code(&res, rc);
	if (ui.mode == OUT_JSON)
		print_json(&res, rc, code);
	else if (rc < 0)
		fprintf(stderr, "ward update: %s\n", res.error[0] ? res.error : ward_strerror(rc));
	else if (ui.mode == OUT_HUMAN)
		print_summary(&res);
	else if (code != WARD_EXIT_OK)
		fprintf(stderr, "ward update: %zu of %zu feeds failed; their last good copies "
			"were kept\n", res.n_failed, res.n_feeds);
	ward_update_result_free(&res);
	ward_conf_free(conf);
	return code;
}
