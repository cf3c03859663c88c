/*
 * Warnings about valid configs: things the schema accepts on purpose but that an operator
 * most likely did not mean. `ward check`, `wardd --check` and wardd's start all print them.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "blocklists/conf.h"

/* Address space that is not reachable from the internet: clients there cannot be
 * strangers using wardd to reflect traffic. */
static const struct {
	int family;
	const char *addr;
	uint8_t prefix;
} private_ranges[] = {
	{ AF_INET, "10.0.0.0", 8 },     { AF_INET, "100.64.0.0", 10 }, /* RFC 6598 CGNAT */
	{ AF_INET, "127.0.0.0", 8 },    { AF_INET, "169.254.0.0", 16 },
	{ AF_INET, "172.16.0.0", 12 },  { AF_INET, "192.168.0.0", 16 },
	{ AF_INET6, "::1", 128 },       { AF_INET6, "fc00::", 7 },
	{ AF_INET6, "fe80::", 10 },
};

/* Do the first `bits` bits of a and b agree? */
static bool same_bits(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	return rest == 0 || ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* An IPv6 prefix inside ::ffff:0:0/96 is IPv4 space: judge it as IPv4. */
static struct ward_cidr unmapped(const struct ward_cidr *c)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct ward_cidr out = *c;
	if (c->family == AF_INET6 && c->prefix >= 96 && memcmp(c->addr, mapped, 12) == 0) {
		out.family = AF_INET;
		memset(out.addr, 0, sizeof(out.addr));
		memcpy(out.addr, c->addr + 12, 4);
		out.prefix = (uint8_t)(c->prefix - 96);
	}
	return out;
}

static bool is_private(const struct ward_cidr *given)
{
	struct ward_cidr c = unmapped(given);
	for (size_t i = 0; i < sizeof(private_ranges) / sizeof(private_ranges[0]); i++) {
		uint8_t net[16] = { 0 };
		if (private_ranges[i].family != c.family || c.prefix < private_ranges[i].prefix)
			continue;
		inet_pton(c.family, private_ranges[i].addr, net);
		if (same_bits(c.addr, net, private_ranges[i].prefix))
			return true;
	}
	return false;
}

static const char *cidr_text(const struct ward_cidr *c, char *buf, size_t cap)
{
	char addr[INET6_ADDRSTRLEN];
	inet_ntop(c->family, c->addr, addr, sizeof(addr));
	snprintf(buf, cap, "%s/%u", addr, (unsigned)c->prefix);
	return buf;
}

static size_t warn_open_resolver(const struct ward_conf *conf,
				 void (*emit)(void *arg, const char *text), void *arg)
{
	if (conf->rate_limit.responses_per_second)
		return 0;
	for (size_t i = 0; i < conf->n_allow_clients; i++) {
		if (is_private(&conf->allow_clients[i]))
			continue;
		char text[WARD_CONF_ERR_MAX], cidr[64];
		snprintf(text, sizeof(text),
			 "%s: allow_clients[%zu]: %s includes public addresses and rate_limit is "
			 "off: anyone there can use wardd to amplify traffic about 30 times (an "
			 "open resolver); set rate_limit.responses_per_second or narrow "
			 "allow_clients",
			 conf->path ? conf->path : "built-in config", i,
			 cidr_text(&conf->allow_clients[i], cidr, sizeof(cidr)));
		emit(arg, text);
		return 1;
	}
	return 0;
}

size_t ward_conf_warnings(const struct ward_conf *conf,
			  void (*emit)(void *arg, const char *text), void *arg)
{
	return warn_open_resolver(conf, emit, arg);
}

/* ---- what a reload cannot change ------------------------------------------------------------ */

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_addrs(const struct ward_addr *a, size_t na, const struct ward_addr *b,
		       size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].len != b[i].len || memcmp(&a[i].ss, &b[i].ss, a[i].len) != 0)
			return false;
	return true;
}

static bool same_web(const struct ward_conf_web *a, const struct ward_conf_web *b)
{
	return a->enabled == b->enabled && a->max_connections == b->max_connections &&
	       a->request_timeout_s == b->request_timeout_s &&
	       a->reports_per_hour == b->reports_per_hour &&
	       same_text(a->hostname, b->hostname) &&
	       same_text(a->admin_token_file, b->admin_token_file) &&
	       same_text(a->hotline_url, b->hotline_url) &&
	       same_addrs(a->listen, a->n_listen, b->listen, b->n_listen);
}

size_t ward_conf_restart_needed(const struct ward_conf *running, const struct ward_conf *fresh,
				const char **keys, size_t cap)
{
	const struct ward_conf *a = running, *b = fresh;
	const struct {
		const char *key;
		bool same;
	} parts[] = {
		{ "listen", same_addrs(a->listen, a->n_listen, b->listen, b->n_listen) },
		{ "workers", a->workers == b->workers },
		{ "upstreams", same_addrs(a->upstreams, a->n_upstreams, b->upstreams,
					  b->n_upstreams) },
		{ "upstream_timeout_ms", a->upstream_timeout_ms == b->upstream_timeout_ms },
		{ "cache", memcmp(&a->cache, &b->cache, sizeof(a->cache)) == 0 },
		{ "database", same_text(a->database, b->database) },
		{ "user", same_text(a->user, b->user) },
		{ "web", same_web(&a->web, &b->web) },
		{ "query_log.path", same_text(a->query_log.path, b->query_log.path) },
		{ "query_log.max_mb", a->query_log.max_mb == b->query_log.max_mb },
		{ "metrics_listen", same_addrs(a->metrics_listen, a->n_metrics_listen,
					       b->metrics_listen, b->n_metrics_listen) },
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (!parts[i].same && n < cap)
			keys[n++] = parts[i].key;
	return n;
}

/* ---- the file itself ------------------------------------------------------------------------ */

size_t ward_conf_file_warnings(const char *path, void (*emit)(void *arg, const char *text),
			       void *arg)
{
	char dir[4096], text[2 * 4096 + 512];
	struct stat st;
	size_t n = 0;
	if (!path)
		return 0;
	if (stat(path, &st) == 0 && (st.st_mode & S_IWOTH)) {
		snprintf(text, sizeof(text), "%s: the file is world-writable: anyone on this "
			 "machine can change what is filtered (chmod o-w %s)", path, path);
		emit(arg, text);
		n++;
	}
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path + (slash == path)) : 1,
		 slash ? path : ".");
	/* A world-writable directory (without the sticky bit) lets anyone replace the file. */
	if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		snprintf(text, sizeof(text), "%s: its directory %s is world-writable: anyone on "
			 "this machine can replace the file (chmod o-w %s)", path, dir, dir);
		emit(arg, text);
		n++;
	}
	return n;
}
