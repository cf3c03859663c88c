/*
 * ward top [-c FILE] [--profile P] [--limit N] [--json] [--url URL]: the most blocked
 * names of the last 24 hours, per profile, with today's queries and blocks.
 *
 * The figures live in the running wardd (its counters and the top-names sketch, see
 * resolver/topnames.h), so this asks its JSON API, GET /api/v1/stats, on the first
 * web.listen address (a wildcard one: loopback) with the token from
 * web.admin_token_file: the same figures the admin page shows.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/update.h"
#include "tools/ward.h"

#define LIMIT_DEFAULT 10
#define BODY_MAX (8u << 20)
#define TIMEOUT_MS 10000

struct cli {
	const char *conf_path, *profile, *url;
	uint64_t limit;
	bool json;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: ward top [--profile P] [--limit N] [--json] [--url URL] [-c FILE]\n"
		     "      --profile P    only this profile\n"
		     "      --limit N      names per profile (default %d, at most 100)\n"
		     "      --json         machine-readable output\n"
		     "      --url URL      wardd's web listener (default: from web.listen)\n"
		     "  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n",
		LIMIT_DEFAULT);
}

static int parse(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"profile", required_argument, NULL, 'p'},
		{"limit", required_argument, NULL, 'l'},  {"json", no_argument, NULL, 'j'},
		{"url", required_argument, NULL, 'u'},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->conf_path = optarg; break;
		case 'p': c->profile = optarg; break;
		case 'u': c->url = optarg; break;
		case 'j': c->json = true; break;
		case 'l':
			if (ward_tool_parse_u64(optarg, 1, 100, &c->limit) == 0)
				break;
			fprintf(stderr, "ward top: --limit: a number from 1 to 100\n");
			return -1;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* http://ADDR:PORT of the first web listener; a wildcard address becomes loopback. */
static void base_url(const struct ward_addr *a, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	bool v6 = a->sa.sa_family == AF_INET6;
	uint16_t port = ntohs(v6 ? a->v6.sin6_port : a->v4.sin_port);
	if (v6 && IN6_IS_ADDR_UNSPECIFIED(&a->v6.sin6_addr))
		snprintf(ip, sizeof(ip), "::1");
	else if (!v6 && a->v4.sin_addr.s_addr == htonl(INADDR_ANY))
		snprintf(ip, sizeof(ip), "127.0.0.1");
	else
		inet_ntop(a->sa.sa_family, v6 ? (const void *)&a->v6.sin6_addr
					       : (const void *)&a->v4.sin_addr, ip, sizeof(ip));
	snprintf(buf, cap, v6 ? "http://[%s]:%u" : "http://%s:%u", ip, port);
}

static int read_token(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f || !fgets(buf, (int)cap, f)) {
		fprintf(stderr, "ward top: cannot read the admin token %s (run as root or the "
			"ward user)\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n ")] = '\0';
	return 0;
}

/* GET /api/v1/stats?top=N. @return the parsed body (delete it), or NULL after saying why. */
static cJSON *fetch_stats(const struct cli *c, const struct ward_conf *conf)
{
	char base[128], url[1200], token[300], *body = NULL;
	long status;
	if (!c->url && !conf->web.enabled) {
		fprintf(stderr, "ward top: asks wardd's web listener, and the config has no "
			"\"web\" section (the query log has the blocks: ward log --verdict blocked)\n");
		return NULL;
	}
	if (read_token(conf->web.admin_token_file, token, sizeof(token)) < 0)
		return NULL;
	if (!c->url)
		base_url(&conf->web.listen[0], base, sizeof(base));
	snprintf(url, sizeof(url), "%s/api/v1/stats?top=%llu", c->url ? c->url : base,
		 (unsigned long long)(c->limit ? c->limit : LIMIT_DEFAULT));
	int rc = ward_http_get(url, token, BODY_MAX, TIMEOUT_MS, &body, &status);
	if (rc) {
		fprintf(stderr, "ward top: %s: %s (is wardd running?)\n", url, ward_strerror(rc));
		return NULL;
	}
	cJSON *o = cJSON_Parse(body);
	if (status != 200 || !cJSON_IsObject(o)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
		fprintf(stderr, "ward top: %s: HTTP %ld%s%s\n", url, status, cJSON_IsString(e)
			? ": " : "", cJSON_IsString(e) ? e->valuestring : "");
		cJSON_Delete(o);
		o = NULL;
	}
	free(body);
	return o;
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_profile(const cJSON *p)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
	const cJSON *today = cJSON_GetObjectItemCaseSensitive(p, "today");
	const cJSON *top = cJSON_GetObjectItemCaseSensitive(p, "top_blocked");
	const char *n = cJSON_IsString(name) && name->valuestring[0] ? name->valuestring
								   : "(no profile)";
	printf("%s: %.0f queries today, %.0f blocked\n", n, num(today, "queries"),
	       num(today, "blocked"));
	const cJSON *it;
	cJSON_ArrayForEach(it, top) {
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
		printf("  %8.0f  %s\n", num(it, "count"), cJSON_IsString(nm) ? nm->valuestring : "?");
	}
	if (cJSON_GetArraySize(top) == 0)
		printf("  (nothing blocked in the last 24 hours)\n");
}

/* Keep only the profile asked for. @return false when there is none of that name. */
static bool select_profile(cJSON *profiles, const char *want)
{
	bool found = false;
	for (cJSON *p = profiles ? profiles->child : NULL, *next; p; p = next) {
		next = p->next;
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
		if (cJSON_IsString(name) && strcmp(name->valuestring, want) == 0)
			found = true;
		else
			cJSON_Delete(cJSON_DetachItemViaPointer(profiles, p));
	}
	return found;
}

int ward_cmd_top(int argc, char **argv)
{
	struct cli c = {.conf_path = WARD_CONF_DEFAULT_PATH};
	struct ward_conf *conf = NULL;
	int rc = parse(argc, argv, &c);
	if (rc)
		return rc > 0 ? WARD_EXIT_OK : WARD_EXIT_FAIL;
	if (ward_tool_load_conf(c.conf_path, &conf) < 0)
		return WARD_EXIT_FAIL;
	cJSON *stats = fetch_stats(&c, conf);
	ward_conf_free(conf);
	if (!stats)
		return WARD_EXIT_FAIL;
	cJSON *profiles = cJSON_GetObjectItemCaseSensitive(stats, "profiles");
	if (c.profile && !select_profile(profiles, c.profile)) {
		fprintf(stderr, "ward top: no profile \"%s\" in wardd's figures\n", c.profile);
		cJSON_Delete(stats);
		return WARD_EXIT_FAIL;
	}
	if (c.json) {
		cJSON *out = cJSON_CreateObject();
		cJSON_AddItemToObject(out, "profiles", cJSON_DetachItemViaPointer(stats, profiles));
		if (!c.profile)
			cJSON_AddItemToObject(out, "top_blocked", cJSON_DetachItemFromObject(
							  stats, "top_blocked"));
		rc = ward_tool_print_json(out) == 0 ? WARD_EXIT_OK : WARD_EXIT_FAIL;
	} else {
		const cJSON *p;
		cJSON_ArrayForEach(p, profiles)
			print_profile(p);
		rc = WARD_EXIT_OK;
	}
	cJSON_Delete(stats);
	return rc;
}
