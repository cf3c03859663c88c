/* Helpers shared by the ward subcommands: config loading and human-readable figures. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/coverage.h"
#include "blocklists/error.h"
#include "tools/ward.h"

/* Every error, one line each, with the texts the config API answers with. */
int ward_tool_load_conf(const char *path, struct ward_conf **out)
{
	char text[WARD_CONF_FIELD_MAX + 2 * WARD_CONF_ERR_MAX];
	struct ward_conf_errors *errs = calloc(1, sizeof(*errs));
	if (!errs) {
		fprintf(stderr, "ward: %s\n", ward_strerror(WARD_ENOMEM));
		return WARD_ENOMEM;
	}
	int rc = ward_conf_load_all(path, out, errs);
	for (size_t i = 0; rc < 0 && i < errs->n; i++)
		fprintf(stderr, "ward: %s\n", ward_conf_error_text(path, &errs->list[i], text,
								    sizeof(text)));
	if (rc < 0 && errs->n == 0)
		fprintf(stderr, "ward: %s: %s\n", path, ward_strerror(rc));
	if (rc < 0 && errs->truncated)
		fprintf(stderr, "ward: %s: (stopped after %d errors)\n", path, WARD_CONF_ERRORS_MAX);
	free(errs);
	return rc;
}

int ward_tool_become_db_owner(const struct ward_conf *conf, const char *cmd, bool quiet)
{
	struct stat st;
	if (geteuid() != 0 || stat(conf->database, &st) != 0 || st.st_uid == 0)
		return 0;
	struct passwd *pw = getpwuid(st.st_uid);
	gid_t gid = pw ? pw->pw_gid : st.st_gid;
	char who[64];
	if (pw)
		snprintf(who, sizeof(who), "%s", pw->pw_name);
	else
		snprintf(who, sizeof(who), "uid %u", (unsigned)st.st_uid);
	if ((pw ? initgroups(pw->pw_name, gid) : setgroups(0, NULL)) != 0 || setgid(gid) != 0 ||
	    setuid(st.st_uid) != 0) {
		fprintf(stderr, "ward %s: cannot switch to %s, the owner of %s (files created as "
			"root would lock wardd out): %s\n", cmd, who, conf->database,
			ward_strerror(ward_errno(errno)));
		return -1;
	}
	if (!quiet)
		fprintf(stderr, "ward %s: running as %s, the owner of %s\n", cmd, who,
			conf->database);
	return 0;
}

struct warn_ctx {
	const char *cmd;
	int n;
};

static void print_gap(void *ctx, const char *warning)
{
	struct warn_ctx *w = ctx;
	fprintf(stderr, "ward %s: warning: %s\n", w->cmd, warning);
	w->n++;
}

int ward_tool_warn_coverage(const struct ward_conf *conf, struct ward_catdb *db,
			    const char *cmd)
{
	struct warn_ctx w = { cmd, 0 };
	int rc = ward_coverage_check(conf, db, print_gap, &w);
	if (rc < 0)
		fprintf(stderr, "ward %s: warning: cannot check what the database covers: %s\n",
			cmd, ward_strerror(rc));
	return w.n;
}

const char *ward_tool_size(uint64_t bytes, char *buf, size_t cap)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	if (bytes < 1024) {
		snprintf(buf, cap, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	double v = (double)bytes / 1024;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, "%.1f %s", v, units[u]);
	return buf;
}

const char *ward_tool_time(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (t <= 0 || !localtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, cap, "never");
	return buf;
}

const char *ward_tool_age(int64_t t, int64_t now, char *buf, size_t cap)
{
	int64_t d = now - t;
	bool future = d < 0;
	if (future)
		d = -d;
	char span[48];
	if (d < 60)
		snprintf(span, sizeof(span), "%llds", (long long)d);
	else if (d < 3600)
		snprintf(span, sizeof(span), "%lldm", (long long)(d / 60));
	else if (d < 86400)
		snprintf(span, sizeof(span), "%lldh %lldm", (long long)(d / 3600),
			 (long long)(d % 3600 / 60));
	else
		snprintf(span, sizeof(span), "%lldd %lldh", (long long)(d / 86400),
			 (long long)(d % 86400 / 3600));
	snprintf(buf, cap, future ? "in %s" : "%s ago", span);
	return buf;
}

const char *ward_tool_cats(const struct ward_cat_registry *reg, ward_catset set, char *buf,
			   size_t cap)
{
	if (!set || !reg)
		snprintf(buf, cap, "-");
	else
		ward_cat_format(reg, set, buf, cap);
	return buf;
}

int ward_tool_print_json(void *cjson)
{
	char *text = cJSON_Print(cjson);
	cJSON_Delete(cjson);
	if (!text)
		return -1;
	puts(text);
	free(text);
	return 0;
}

int ward_tool_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	if (!text || *text < '0' || *text > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
