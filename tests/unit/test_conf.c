/*
 * Config: every file in tests/data/conf/good loads, every file in tests/data/conf/bad fails
 * with exactly the message in its .err sidecar, and the values that come out are the ones
 * docs/config.md promises. Expected values here are written out by hand, never computed by
 * the code under test.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "blocklists/conf.h"
#include "blocklists/conf_internal.h"
#include "blocklists/error.h"

#define MAX_FILE (1 << 20)

static const char *data_dir(void)
{
	const char *d = getenv("WARD_TEST_DATA");
	return d ? d : "tests/data";
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(MAX_FILE + 1);
	assert_non_null(buf);
	*len = fread(buf, 1, MAX_FILE, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static struct ward_conf *load_good(const char *name)
{
	char path[4096], err[WARD_CONF_ERR_MAX];
	struct ward_conf *conf = NULL;
	snprintf(path, sizeof(path), "%s/conf/good/%s", data_dir(), name);
	int rc = ward_conf_load(path, &conf, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s: %s", path, err);
	assert_non_null(conf);
	return conf;
}

/* A set from space-separated category names, through the registry. */
static ward_catset set_of(const struct ward_cat_registry *reg, const char *names)
{
	char buf[1024];
	ward_catset set = 0;
	snprintf(buf, sizeof(buf), "%s", names);
	for (char *save, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		int bit = ward_cat_bit(reg, t);
		if (bit < 0)
			fail_msg("test names an unknown category %s", t);
		set |= WARD_CAT(bit);
	}
	return set;
}

static const struct ward_conf_profile *profile(const struct ward_conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->n_profiles; i++)
		if (strcmp(conf->profiles[i].name, name) == 0)
			return &conf->profiles[i];
	fail_msg("no profile %s", name);
	return NULL;
}

static void assert_addr(const struct ward_addr *a, const char *expected)
{
	char buf[64];
	assert_string_equal(ward_addr_format(a, buf, sizeof(buf)), expected);
}

static void assert_cidr(const struct ward_cidr *c, int family, const char *addr,
			unsigned prefix)
{
	uint8_t bytes[16] = { 0 };
	assert_int_equal(c->family, family);
	assert_int_equal(inet_pton(family, addr, bytes), 1);
	assert_memory_equal(c->addr, bytes, family == AF_INET ? 4 : 16);
	assert_int_equal(c->prefix, prefix);
}

static unsigned expected_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/* ---- the data-driven tables -------------------------------------------------------- */

static void test_good_files_load(void **state)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/conf/good", data_dir());
	DIR *d = opendir(dir);
	assert_non_null(d);
	unsigned n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (!ends_with(e->d_name, ".json"))
			continue;
		ward_conf_free(load_good(e->d_name));
		n++;
	}
	closedir(d);
	assert_true(n >= 7);
}

static void check_bad_file(const char *dir, const char *name)
{
	char path[4096], errpath[4096], err[WARD_CONF_ERR_MAX];
	size_t len, elen;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(errpath, sizeof(errpath), "%s/%.*s.err", dir, (int)(strlen(name) - 5),
		     name) >= (int)sizeof(errpath))
		fail_msg("path too long: %s", name);
	char *json = read_all(path, &len);
	char *expected = read_all(errpath, &elen);
	if (!json || !expected)
		fail_msg("%s: missing the file or its .err sidecar", path);
	if (elen && expected[elen - 1] == '\n')
		expected[--elen] = '\0';

	struct ward_conf *conf = NULL;
	int rc = ward_conf_parse("ward.json", json, len, &conf, err, sizeof(err));
	if (rc != WARD_ECONF || strcmp(err, expected) != 0)
		fail_msg("%s\n  rc %d\n  got      %s\n  expected %s", name, rc, err, expected);
	assert_null(conf);
	free(json);
	free(expected);
}

static void test_bad_files_fail_exactly(void **state)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/conf/bad", data_dir());
	DIR *d = opendir(dir);
	assert_non_null(d);
	unsigned n_json = 0, n_err = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (ends_with(e->d_name, ".err"))
			n_err++;
		if (!ends_with(e->d_name, ".json"))
			continue;
		check_bad_file(dir, e->d_name);
		n_json++;
	}
	closedir(d);
	/* Every message has its file: a stray .err would be a test that never runs. */
	assert_int_equal(n_json, n_err);
	assert_true(n_json >= 100);
}

static void test_packaging_example_loads(void **state)
{
	char path[4096], err[WARD_CONF_ERR_MAX];
	struct ward_conf *conf = NULL;
	snprintf(path, sizeof(path), "%s/../../packaging/ward.json", data_dir());
	int rc = ward_conf_load(path, &conf, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s", err);
	assert_int_equal(conf->n_profiles, 3);
	assert_int_equal(conf->n_custom_categories, 1);
	assert_int_equal(conf->n_trusted_forwarders, 1);
	assert_cidr(&conf->trusted_forwarders[0], AF_INET, "192.168.1.1", 32);
	assert_string_equal(conf->profiles[conf->default_profile].name, "adults");
	assert_true(conf->web.enabled);
	assert_int_equal(conf->web.n_listen, 2);
	assert_addr(&conf->web.listen[1], "[::1]:80");
	ward_conf_free(conf);
}

/* ---- values ------------------------------------------------------------------------ */

static void assert_documented_defaults(const struct ward_conf *c)
{
	assert_int_equal(c->n_listen, 2);
	assert_addr(&c->listen[0], "127.0.0.1:53");
	assert_addr(&c->listen[1], "[::1]:53");
	assert_int_equal(c->workers, expected_workers());
	assert_int_equal(c->n_upstreams, 1);
	assert_addr(&c->upstreams[0], "127.0.0.1:5335");
	assert_int_equal(c->upstream_timeout_ms, 1500);
	assert_int_equal(c->n_allow_clients, 6);
	assert_cidr(&c->allow_clients[0], AF_INET, "127.0.0.0", 8);
	assert_cidr(&c->allow_clients[1], AF_INET6, "::1", 128);
	assert_cidr(&c->allow_clients[2], AF_INET, "10.0.0.0", 8);
	assert_cidr(&c->allow_clients[3], AF_INET, "172.16.0.0", 12);
	assert_cidr(&c->allow_clients[4], AF_INET, "192.168.0.0", 16);
	assert_cidr(&c->allow_clients[5], AF_INET6, "fc00::", 7);
	assert_int_equal(c->n_trusted_forwarders, 0);
	assert_int_equal(c->cache.max_entries, 200000);
	assert_int_equal(c->cache.min_ttl, 0);
	assert_int_equal(c->cache.max_ttl, 86400);
	assert_true(c->cache.serve_stale);
	assert_string_equal(c->database, "/var/lib/ward");
	assert_string_equal(c->user, "ward");
	assert_int_equal(c->log_level, WARD_LOG_INFO);
	assert_int_equal(c->n_feeds, 0);
	assert_int_equal(c->n_custom_categories, 0);
	assert_int_equal(c->n_profiles, 0);
	assert_int_equal(c->n_clients, 0);
	assert_null(c->timezone);
	assert_int_equal(c->block.mode, WARD_BLOCK_SINKHOLE);
	static const uint8_t zero[16];
	assert_memory_equal(c->block.ipv4, zero, 4);
	assert_memory_equal(c->block.ipv6, zero, 16);
	assert_int_equal(c->block.ttl, 60);
	assert_true(c->enforced == WARD_CAT(WARD_CAT_CSAM));
	assert_non_null(c->categories);
	assert_int_equal(c->rate_limit.responses_per_second, 0);
	assert_int_equal(c->rate_limit.slip, 2);
	assert_int_equal(c->rate_limit.ipv4_prefix, 24);
	assert_int_equal(c->rate_limit.ipv6_prefix, 56);
	assert_int_equal(c->limits.tcp_connections_per_client, 64);
	assert_int_equal(c->limits.upstream_queries_per_client, 256);
}

/* The defaults in docs/config.md, written out in a file, must equal the built-in ones. */
static void test_defaults(void **state)
{
	struct ward_conf *minimal = load_good("minimal.json");
	struct ward_conf *explicit = load_good("defaults_explicit.json");
	assert_documented_defaults(minimal);
	assert_documented_defaults(explicit);
	ward_conf_free(minimal);
	ward_conf_free(explicit);
}

static void test_home(void **state)
{
	struct ward_conf *c = load_good("home.json");
	const struct ward_cat_registry *reg = c->categories;
	assert_int_equal(c->workers, 3);
	assert_int_equal(c->n_upstreams, 4);
	assert_addr(&c->upstreams[0], "127.0.0.1:5335");
	assert_addr(&c->upstreams[1], "[::1]:53");
	assert_addr(&c->upstreams[2], "[2001:db8::53]:5300");
	assert_addr(&c->upstreams[3], "192.0.2.53:53");
	assert_string_equal(c->timezone, "Europe/Amsterdam");
	assert_int_equal(c->log_level, WARD_LOG_DEBUG);
	assert_string_equal(c->user, "");
	assert_string_equal(c->database, "/tmp/ward-test-db");

	assert_int_equal(c->n_feeds, 2);
	const struct ward_conf_feed *f = &c->feeds[0];
	assert_string_equal(f->name, "blp-drugs");
	assert_int_equal(f->format, WARD_FEED_HOSTS);
	assert_false(f->subdomains); /* hosts files list exact names */
	assert_true(f->categories == set_of(reg, "drugs"));
	assert_int_equal(f->min_entries, 1);
	assert_int_equal(f->refresh_s, 12 * 3600);
	assert_true(f->enabled);
	f = &c->feeds[1];
	assert_string_equal(f->url, "file:///srv/lists/nsfw.txt");
	assert_int_equal(f->format, WARD_FEED_DOMAINS);
	assert_false(f->subdomains); /* explicit beats the format's default */
	assert_true(f->categories == set_of(reg, "adult dating"));
	assert_int_equal(f->min_entries, 100);
	assert_int_equal(f->refresh_s, 5400);
	assert_false(f->enabled);

	assert_int_equal(c->n_profiles, 2);
	const struct ward_conf_profile *kids = profile(c, "kids");
	assert_string_equal(kids->preset, "child");
	assert_true(kids->blocked & set_of(reg, "social adult"));
	assert_int_equal(kids->n_deny, 2);
	assert_string_equal(kids->deny[0], "example-game.com");
	assert_string_equal(kids->deny[1], "ads.example.net");
	assert_int_equal(kids->n_allow, 1);
	assert_string_equal(kids->allow[0], "wikipedia.org");
	assert_int_equal(kids->safe_search, WARD_SAFE_ALL);
	assert_int_equal(kids->youtube, WARD_YOUTUBE_STRICT);
	assert_int_equal(kids->n_schedules, 1);
	const struct ward_conf_schedule *s = &kids->schedules[0];
	assert_string_equal(s->name, "bedtime");
	assert_int_equal(s->days, 0x1f); /* sun..thu */
	assert_int_equal(s->from_min, 21 * 60);
	assert_int_equal(s->to_min, 7 * 60);
	assert_true(s->block_all);
	assert_true(s->block == 0);

	assert_int_equal(c->n_clients, 3);
	assert_int_equal(c->clients[0].kind, WARD_CLIENT_CIDR);
	assert_cidr(&c->clients[0].cidr, AF_INET, "192.168.1.20", 32);
	assert_cidr(&c->clients[1].cidr, AF_INET, "192.168.1.64", 26);
	assert_int_equal(c->clients[2].kind, WARD_CLIENT_MAC);
	static const uint8_t mac[6] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	assert_memory_equal(c->clients[2].mac, mac, 6);
	assert_string_equal(c->profiles[c->clients[0].profile].name, "kids");
	assert_string_equal(c->profiles[c->clients[2].profile].name, "adults");
	assert_string_equal(c->profiles[c->default_profile].name, "adults");

	assert_int_equal(c->block.mode, WARD_BLOCK_NXDOMAIN);
	static const uint8_t v4[4] = { 192, 0, 2, 1 };
	assert_memory_equal(c->block.ipv4, v4, 4);
	uint8_t v6[16];
	inet_pton(AF_INET6, "2001:db8::1", v6);
	assert_memory_equal(c->block.ipv6, v6, 16);
	assert_int_equal(c->block.ttl, 300);
	ward_conf_free(c);
}

/* The age table of docs/config.md, written out independently of conf.c. */
static const struct {
	const char *preset;
	const char *blocked;
	unsigned safe_search;
	enum ward_youtube_level youtube;
	bool anti_circumvention;
} preset_table[] = {
	{ "young", "malware phishing scam csam adult gambling violence drugs weapons hate "
		   "dating social chat proxy piracy crypto fakenews hacking nosafesearch",
	  WARD_SAFE_ALL, WARD_YOUTUBE_STRICT, true },
	{ "child", "malware phishing scam csam adult gambling violence drugs weapons hate "
		   "dating chat proxy piracy hacking nosafesearch",
	  WARD_SAFE_ALL, WARD_YOUTUBE_STRICT, true },
	{ "teen", "malware phishing scam csam adult gambling drugs weapons hate dating proxy "
		  "nosafesearch",
	  WARD_SAFE_ALL, WARD_YOUTUBE_MODERATE, true },
	{ "adult", "malware phishing scam csam", 0, WARD_YOUTUBE_OFF, false },
};

static void test_presets(void **state)
{
	struct ward_conf *c = load_good("presets.json");
	const struct ward_cat_registry *reg = c->categories;
	for (size_t i = 0; i < sizeof(preset_table) / sizeof(preset_table[0]); i++) {
		const struct ward_conf_profile *p = profile(c, preset_table[i].preset);
		char got[512], want[512];
		ward_cat_format(reg, p->blocked, got, sizeof(got));
		ward_cat_format(reg, set_of(reg, preset_table[i].blocked), want, sizeof(want));
		assert_string_equal(got, want);
		assert_int_equal(p->safe_search, preset_table[i].safe_search);
		assert_int_equal(p->youtube, preset_table[i].youtube);
		assert_int_equal(p->anti_circumvention, preset_table[i].anti_circumvention);
	}
	/* No preset: nothing blocked, nothing forced, anti-circumvention on. */
	for (const char *name = "none"; name; name = strcmp(name, "none") ? NULL : "default") {
		const struct ward_conf_profile *p = profile(c, name);
		assert_null(p->preset);
		assert_true(p->blocked == 0);
		assert_int_equal(p->safe_search, 0);
		assert_int_equal(p->youtube, WARD_YOUTUBE_OFF);
		assert_true(p->anti_circumvention);
	}
	/* block adds, unblock removes (csam too: enforcement lives in conf->enforced). */
	const struct ward_conf_profile *e = profile(c, "edited");
	assert_true(e->blocked == set_of(reg, "malware phishing scam adult gambling drugs "
					      "weapons hate proxy nosafesearch games video"));
	assert_int_equal(e->safe_search, 0);
	assert_int_equal(e->youtube, WARD_YOUTUBE_OFF);
	assert_false(e->anti_circumvention);
	assert_true(c->enforced == set_of(reg, "csam"));
	/* No default_profile key: the profile named "default" is the default. */
	assert_string_equal(c->profiles[c->default_profile].name, "default");
	ward_conf_free(c);
}

static void test_forms(void **state)
{
	struct ward_conf *c = load_good("forms.json");
	const struct ward_cat_registry *reg = c->categories;
	assert_addr(&c->upstreams[0], "[::1]:53");
	assert_addr(&c->upstreams[1], "10.0.0.1:5353");
	assert_true(c->enforced == 0);

	const struct ward_conf_profile *a = profile(c, "a");
	assert_int_equal(a->safe_search, WARD_SAFE_GOOGLE | WARD_SAFE_YANDEX);
	assert_int_equal(a->n_schedules, 3);
	assert_int_equal(a->schedules[0].days, 0x3e);
	assert_int_equal(a->schedules[0].from_min, 0);
	assert_int_equal(a->schedules[0].to_min, 1440);
	assert_false(a->schedules[0].block_all);
	assert_true(a->schedules[0].block == set_of(reg, "games"));
	assert_string_equal(a->schedules[0].name, "00:00-24:00");
	assert_int_equal(a->schedules[1].days, 0x41 | 0x08);
	assert_int_equal(a->schedules[1].from_min, 23 * 60 + 59);
	assert_int_equal(a->schedules[1].to_min, 1);
	assert_true(a->schedules[1].block_all); /* the default block list is ["all"] */
	assert_string_equal(a->schedules[1].name, "23:59-00:01");
	assert_int_equal(a->schedules[2].days, 0x40);
	assert_true(a->schedules[2].block_all);
	assert_true(a->schedules[2].block == set_of(reg, "video"));

	assert_int_equal(profile(c, "b")->safe_search,
			 WARD_SAFE_ALL & ~(WARD_SAFE_BING | WARD_SAFE_ECOSIA));
	assert_int_equal(profile(c, "c")->safe_search, WARD_SAFE_PIXABAY);
	assert_int_equal(profile(c, "c")->youtube, WARD_YOUTUBE_MODERATE);

	static const uint8_t mac[6] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f };
	assert_int_equal(c->clients[0].kind, WARD_CLIENT_MAC);
	assert_memory_equal(c->clients[0].mac, mac, 6);
	assert_cidr(&c->clients[1].cidr, AF_INET6, "2001:db8::", 32);
	assert_cidr(&c->clients[2].cidr, AF_INET6, "2001:db8::1", 128);
	assert_cidr(&c->clients[3].cidr, AF_INET, "0.0.0.0", 0);
	assert_string_equal(c->profiles[c->clients[2].profile].name, "a");
	ward_conf_free(c);
}

static void test_custom_categories(void **state)
{
	struct ward_conf *c = load_good("custom_categories.json");
	assert_int_equal(c->n_custom_categories, 32);
	for (unsigned i = 0; i < 32; i++) {
		char name[8];
		snprintf(name, sizeof(name), "c%02u", i);
		assert_string_equal(c->custom_categories[i], name);
		/* Registered in file order from the first custom bit. */
		assert_int_equal(ward_cat_bit(c->categories, name), WARD_CAT_CUSTOM_FIRST + i);
		ward_catset want = WARD_CAT(WARD_CAT_CUSTOM_FIRST + i);
		if (i % 2)
			want |= WARD_CAT(WARD_CAT_ADULT);
		assert_true(c->feeds[i].categories == want);
	}
	assert_true(c->enforced == (WARD_CAT(WARD_CAT_CSAM) | WARD_CAT(63)));
	assert_true(c->profiles[0].blocked == (WARD_CAT(32) | WARD_CAT(37)));
	ward_conf_free(c);
}

/* ---- reading files ----------------------------------------------------------------- */

static void write_file(const char *path, const char *head, size_t pad)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(head, f);
	for (size_t i = 0; i < pad; i++)
		fputc(' ', f);
	fclose(f);
}

static void test_load_errors(void **state)
{
	char err[WARD_CONF_ERR_MAX], path[64];
	struct ward_conf *c = (struct ward_conf *)1;
	assert_int_equal(ward_conf_load("/nonexistent/ward.json", &c, err, sizeof(err)), WARD_EIO);
	assert_null(c);
	assert_string_equal(err, "/nonexistent/ward.json: cannot read: No such file or directory");
	assert_int_equal(ward_conf_load("/", &c, err, sizeof(err)), WARD_EIO);
	assert_string_equal(err, "/: cannot read: Is a directory");

	/* 16 MiB exactly is accepted, one byte more is not. */
	static const char head[] = "{\"upstreams\": [\"127.0.0.1\"]}";
	snprintf(path, sizeof(path), "/tmp/ward-test-conf-%d.json", (int)getpid());
	write_file(path, head, (16u << 20) - (sizeof(head) - 1));
	assert_int_equal(ward_conf_load(path, &c, err, sizeof(err)), 0);
	ward_conf_free(c);
	write_file(path, head, (16u << 20) - (sizeof(head) - 1) + 1);
	assert_int_equal(ward_conf_load(path, &c, err, sizeof(err)), WARD_ECONF);
	char want[128];
	snprintf(want, sizeof(want), "%s: larger than the limit of 16 MiB", path);
	assert_string_equal(err, want);
	unlink(path);
}

static void test_parse_edges(void **state)
{
	struct ward_conf *c;
	char err[24];
	/* No room for the message: still NUL-terminated, still an error. */
	assert_int_equal(ward_conf_parse("ward.json", "{}", 2, &c, err, sizeof(err)), WARD_ECONF);
	assert_string_equal(err, "ward.json: upstreams: m");
	assert_int_equal(ward_conf_parse("ward.json", "{}", 2, &c, NULL, 0), WARD_ECONF);
	char big[WARD_CONF_ERR_MAX];
	assert_int_equal(ward_conf_parse("x.json", NULL, 0, &c, big, sizeof(big)), WARD_ECONF);
	assert_string_equal(big, "x.json: empty file (expected a JSON object)");
	/* Only the given length is read: the rest of the buffer is not JSON. */
	static const char text[] = "{\"upstreams\": [\"::1\"]}garbage";
	assert_int_equal(ward_conf_parse("x.json", text, 22, &c, big, sizeof(big)), 0);
	ward_conf_free(c);
	ward_conf_free(NULL);
}

/* Too many values is refused before cJSON spends memory on them; commas inside strings do
 * not count. */
static void test_value_cap(void **state)
{
	size_t zeros = 2000000, len = 2 * zeros + 1;
	char *text = malloc(len + 1), err[WARD_CONF_ERR_MAX];
	struct ward_conf *c;
	assert_non_null(text);
	text[0] = '[';
	for (size_t i = 0; i < zeros; i++)
		memcpy(text + 1 + 2 * i, "0,", 2);
	text[len - 1] = ']';
	text[len] = '\0';
	assert_int_equal(ward_conf_parse("w.json", text, len, &c, err, sizeof(err)), WARD_ECONF);
	assert_string_equal(err, "w.json: more than 2000000 JSON values (keep large lists in the "
				 "database)");
	/* Two values fewer fit (the outer bracket counts): the schema then refuses it. */
	text[len - 5] = ']';
	assert_int_equal(ward_conf_parse("w.json", text, len - 4, &c, err, sizeof(err)),
			 WARD_ECONF);
	assert_string_equal(err, "w.json: [...] is not an object");
	/* The same commas inside one string are a single value. */
	text[0] = '"';
	text[len - 5] = '"';
	assert_int_equal(ward_conf_parse("w.json", text, len - 4, &c, err, sizeof(err)),
			 WARD_ECONF);
	assert_string_equal(err, "w.json: \"0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,...\" "
				 "is not an object");
	free(text);
}

/* ---- the built-in default ---------------------------------------------------------- */

static void resolv_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_default_conf(void **state)
{
	char path[64], err[WARD_CONF_ERR_MAX];
	struct ward_conf *c;
	snprintf(path, sizeof(path), "/tmp/ward-test-resolv-%d.conf", (int)getpid());
	resolv_file(path, "# generated\n"
			  "search example.net\n"
			  "nameserver\n"
			  "nameserver dns.example.net\n"
			  "nameserver fe80::1%eth0\n"
			  "  nameserver\t192.0.2.53   # the router\n"
			  "nameservers 192.0.2.99\n"
			  "nameserver 2001:db8::53;comment\n"
			  "options edns0\n"
			  "nameserver 192.0.2.54\n"
			  "nameserver 192.0.2.55\n");
	assert_int_equal(ward_conf_default(path, "/tmp/ward-db", &c, err, sizeof(err)), 0);
	assert_int_equal(c->n_listen, 2);
	assert_addr(&c->listen[0], "127.0.0.1:5353");
	assert_addr(&c->listen[1], "[::1]:5353");
	assert_int_equal(c->n_upstreams, 3);
	assert_addr(&c->upstreams[0], "192.0.2.53:53");
	assert_addr(&c->upstreams[1], "[2001:db8::53]:53");
	assert_addr(&c->upstreams[2], "192.0.2.54:53");
	assert_string_equal(c->user, "");
	assert_string_equal(c->database, "/tmp/ward-db");
	assert_int_equal(c->workers, expected_workers());
	assert_int_equal(c->n_profiles, 0);
	assert_true(c->enforced == WARD_CAT(WARD_CAT_CSAM));
	assert_int_equal(c->upstream_timeout_ms, 1500);
	ward_conf_free(c);

	/* Nothing usable, or no file at all: 127.0.0.1:53. */
	resolv_file(path, "nameserver fe80::1%eth0\nnameserver localhost\n");
	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(ward_conf_default(path, NULL, &c, err, sizeof(err)), 0);
		assert_int_equal(c->n_upstreams, 1);
		assert_addr(&c->upstreams[0], "127.0.0.1:53");
		assert_string_equal(c->database, "/var/lib/ward");
		ward_conf_free(c);
		unlink(path);
	}
	assert_int_equal(ward_conf_default(NULL, "", &c, err, sizeof(err)), WARD_ECONF);
	assert_string_equal(err, "built-in default: database: \"\" is empty");
}

/* ---- addresses --------------------------------------------------------------------- */

static void test_addr_parse(void **state)
{
	static const struct {
		const char *text;
		const char *formatted; /* NULL: refused */
	} cases[] = {
		{ "1.2.3.4", "1.2.3.4:53" },
		{ "1.2.3.4:5353", "1.2.3.4:5353" },
		{ "255.255.255.255:65535", "255.255.255.255:65535" },
		{ "::1", "[::1]:53" },
		{ "[::1]", "[::1]:53" },
		{ "[::1]:5353", "[::1]:5353" },
		{ "2001:DB8::1", "[2001:db8::1]:53" },
		{ "::ffff:1.2.3.4", "[::ffff:1.2.3.4]:53" },
		{ "[::ffff:1.2.3.4]:1", "[::ffff:1.2.3.4]:1" },
		{ "1.2.3.4:0", NULL },
		{ "1.2.3.4:65536", NULL },
		{ "1.2.3.4:", NULL },
		{ "1.2.3.4:+53", NULL },
		{ "1.2.3.4:053", "1.2.3.4:53" },
		{ "1.2.3.4:000053", NULL },
		{ "1.2.3", NULL },
		{ "01.2.3.4", NULL },
		{ "1.2.3.256", NULL },
		{ "0x7f.0.0.1", NULL },
		{ "localhost", NULL },
		{ "", NULL },
		{ "::1:53:", NULL },
		{ "[::1]53", NULL },
		{ "[::1", NULL },
		{ "[1.2.3.4]:53", NULL },
		{ "fe80::1%eth0", NULL },
		{ " 1.2.3.4", NULL },
		{ "1.2.3.4 ", NULL },
		{ "1111111111111111111111111111111111111111111111111111111111111111111", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ward_addr a;
		int rc = ward_addr_parse(cases[i].text, 53, &a);
		if (!cases[i].formatted) {
			if (rc != WARD_EINVAL)
				fail_msg("accepted \"%s\"", cases[i].text);
			continue;
		}
		if (rc != 0)
			fail_msg("refused \"%s\"", cases[i].text);
		assert_addr(&a, cases[i].formatted);
		assert_int_equal(a.len, a.sa.sa_family == AF_INET ? sizeof(struct sockaddr_in)
								  : sizeof(struct sockaddr_in6));
	}
	char small[6];
	struct ward_addr a;
	assert_int_equal(ward_addr_parse("10.0.0.1:53", 1, &a), 0);
	assert_string_equal(ward_addr_format(&a, small, sizeof(small)), "10.0.");
}

static void test_cidr_parse(void **state)
{
	static const struct {
		const char *text;
		int family; /* 0: refused */
		const char *addr;
		unsigned prefix;
	} cases[] = {
		{ "10.0.0.0/8", AF_INET, "10.0.0.0", 8 },
		{ "0.0.0.0/0", AF_INET, "0.0.0.0", 0 },
		{ "192.168.1.20", AF_INET, "192.168.1.20", 32 },
		{ "192.168.1.64/26", AF_INET, "192.168.1.64", 26 },
		{ "::1/128", AF_INET6, "::1", 128 },
		{ "::/0", AF_INET6, "::", 0 },
		{ "fc00::/7", AF_INET6, "fc00::", 7 },
		{ "2001:db8::", AF_INET6, "2001:db8::", 128 },
		{ "192.168.1.1/24", 0, NULL, 0 },
		{ "fd00::1/8", 0, NULL, 0 },
		{ "10.0.0.0/33", 0, NULL, 0 },
		{ "::/129", 0, NULL, 0 },
		{ "10.0.0.0/", 0, NULL, 0 },
		{ "10.0.0.0/08", 0, NULL, 0 },
		{ "10.0.0.0/-8", 0, NULL, 0 },
		{ "10.0.0.0/8/8", 0, NULL, 0 },
		{ "10/8", 0, NULL, 0 },
		{ "[::1]/128", 0, NULL, 0 },
		{ "", 0, NULL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ward_cidr c;
		int rc = ward_cidr_parse(cases[i].text, &c);
		if (!cases[i].family) {
			if (rc != WARD_EINVAL)
				fail_msg("accepted \"%s\"", cases[i].text);
			continue;
		}
		if (rc != 0)
			fail_msg("refused \"%s\"", cases[i].text);
		assert_cidr(&c, cases[i].family, cases[i].addr, cases[i].prefix);
	}
}

static void sockaddr_of(const char *text, bool mapped, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		if (!mapped) {
			s4->sin_family = AF_INET;
			return;
		}
		char m[64];
		snprintf(m, sizeof(m), "::ffff:%s", text);
		text = m;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, m, &s6->sin6_addr), 1);
		return;
	}
	s6->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
}

static void test_cidr_contains(void **state)
{
	static const struct {
		const char *cidr;
		const char *addr;
		bool inside;
	} cases[] = {
		{ "10.0.0.0/8", "10.255.1.2", true },
		{ "10.0.0.0/8", "11.0.0.0", false },
		{ "10.0.0.0/8", "9.255.255.255", false },
		{ "192.168.1.64/26", "192.168.1.64", true },
		{ "192.168.1.64/26", "192.168.1.127", true },
		{ "192.168.1.64/26", "192.168.1.128", false },
		{ "192.168.1.64/26", "192.168.1.63", false },
		{ "172.16.0.0/12", "172.31.255.255", true },
		{ "172.16.0.0/12", "172.32.0.0", false },
		{ "192.168.1.20", "192.168.1.20", true },
		{ "192.168.1.20", "192.168.1.21", false },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "0.0.0.0/0", "2001:db8::1", false },
		{ "::1/128", "::1", true },
		{ "::1/128", "::2", false },
		{ "::1/128", "127.0.0.1", false },
		{ "fc00::/7", "fd12:3456::1", true },
		{ "fc00::/7", "fe00::1", false },
		{ "2001:db8::/33", "2001:db8:7fff::1", true },
		{ "2001:db8::/33", "2001:db8:8000::1", false },
		{ "::/0", "2001:db8::1", true },
		{ "::/0", "10.0.0.1", true },  /* ::ffff:0:0/96 is inside ::/0 */
		{ "::ffff:0:0/96", "10.0.0.1", true },
		{ "::ffff:10.0.0.0/104", "10.9.9.9", true },
		{ "::ffff:10.0.0.0/104", "11.0.0.0", false },
		{ "10.0.0.0/8", "::ffff:10.1.1.1", true }, /* written as v6, still v4 */
		{ "10.0.0.0/8", "::10.1.1.1", false },     /* v4-compatible is not v4-mapped */
		{ "10.0.0.0/8", "64:ff9b::10.1.1.1", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ward_cidr c;
		assert_int_equal(ward_cidr_parse(cases[i].cidr, &c), 0);
		for (int mapped = 0; mapped < 2; mapped++) {
			struct sockaddr_storage ss;
			sockaddr_of(cases[i].addr, mapped, &ss);
			bool got = ward_cidr_contains(&c, (struct sockaddr *)&ss);
			if (got != cases[i].inside)
				fail_msg("%s in %s%s: got %d", cases[i].addr, cases[i].cidr,
					 mapped ? " (v4-mapped)" : "", got);
		}
	}
	struct ward_cidr c;
	struct sockaddr_storage ss = { .ss_family = AF_UNIX };
	assert_int_equal(ward_cidr_parse("0.0.0.0/0", &c), 0);
	assert_false(ward_cidr_contains(&c, (struct sockaddr *)&ss));
	assert_false(ward_cidr_contains(NULL, (struct sockaddr *)&ss));
}

/* ---- small text formats ------------------------------------------------------------ */

static void test_value_formats(void **state)
{
	static const struct {
		const char *text;
		int ok;
		uint64_t seconds;
	} durations[] = {
		{ "45s", 1, 45 }, { "30m", 1, 1800 }, { "12h", 1, 43200 }, { "1d", 1, 86400 },
		{ "1h30m", 1, 5400 }, { "1d12h", 1, 129600 }, { "0s", 1, 0 },
		{ "30m1h", 0, 0 }, { "1h1h", 0, 0 }, { "12", 0, 0 }, { "h", 0, 0 }, { "", 0, 0 },
		{ "1.5h", 0, 0 }, { "-1h", 0, 0 }, { "1H", 0, 0 }, { "1234567890s", 0, 0 },
		{ "1w", 0, 0 }, { "12h ", 0, 0 },
	};
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		uint64_t s = 7;
		int rc = ward_conf__duration(durations[i].text, UINT64_MAX, &s);
		if ((rc == 0) != durations[i].ok || (rc == 0 && s != durations[i].seconds))
			fail_msg("duration \"%s\": rc %d, %llu", durations[i].text, rc,
				 (unsigned long long)s);
	}
	static const struct {
		const char *text;
		int allow_24;
		int minutes; /* -1: refused */
	} times[] = {
		{ "00:00", 0, 0 }, { "7:05", 0, 425 }, { "23:59", 0, 1439 }, { "24:00", 1, 1440 },
		{ "24:00", 0, -1 }, { "24:01", 1, -1 }, { "25:00", 1, -1 }, { "12:60", 0, -1 },
		{ "12:5", 0, -1 }, { "123:00", 0, -1 }, { ":30", 0, -1 }, { "12:30:00", 0, -1 },
		{ "12h30", 0, -1 }, { "", 0, -1 },
	};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		uint16_t m = 0;
		int rc = ward_conf__time(times[i].text, times[i].allow_24, &m);
		if ((rc == 0) != (times[i].minutes >= 0) || (rc == 0 && m != times[i].minutes))
			fail_msg("time \"%s\": rc %d, %u", times[i].text, rc, m);
	}
	static const struct {
		const char *text;
		const char *normalized; /* NULL: refused */
	} names[] = {
		{ "Example.COM.", "example.com" }, { "a", "a" }, { "_dmarc.x-y.org", "_dmarc.x-y.org" },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example" }, { "actor", "actor" },
		{ ".", NULL }, { "", NULL }, { "a..b", NULL }, { ".a", NULL }, { "a.b..", NULL },
		{ "1.2.3.4", NULL }, { "::1", NULL }, { "*.a.com", NULL }, { "a b.com", NULL },
		{ "a/b.com", NULL }, { "b\xc3\xbc" "cher.de", "xn--bcher-kva.de" },
		{ "bu\xcc\x88" "cher.de", "xn--bcher-kva.de" }, { "a\xee\x80\x80.de", NULL },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char out[256];
		enum ward_conf__name_why why = ward_conf__domain(names[i].text, out, sizeof(out));
		if ((why == WARD_CONF__NAME_OK) != (names[i].normalized != NULL))
			fail_msg("name \"%s\": %d", names[i].text, why);
		if (names[i].normalized)
			assert_string_equal(out, names[i].normalized);
	}
	assert_int_equal(ward_conf__distance("lisen", "listen"), 1);
	assert_int_equal(ward_conf__distance("", "abc"), 3);
	assert_int_equal(ward_conf__distance("kitten", "sitting"), 3);
}

/* The web section: addresses with port 80 by default, the host name lower-cased (and in
 * wire form for the query path), the token file beside the database unless named. */
static void test_web_section(void **state)
{
	struct ward_conf *c = load_good("web.json");
	static const uint8_t host_wire[] = "\004ward\004home\004arpa";
	assert_true(c->web.enabled);
	assert_int_equal(c->web.n_listen, 2);
	assert_int_equal(ntohs(c->web.listen[0].v4.sin_port), 80);
	assert_int_equal(ntohs(c->web.listen[1].v6.sin6_port), 8080);
	assert_string_equal(c->web.hostname, "ward.home.arpa");
	assert_int_equal(c->web.hostname_wire_len, sizeof(host_wire));
	assert_memory_equal(c->web.hostname_wire, host_wire, sizeof(host_wire));
	assert_string_equal(c->web.admin_token_file, "/var/lib/ward/admin.token");
	assert_int_equal(c->web.max_connections, 128);
	assert_int_equal(c->web.request_timeout_s, 5);
	assert_int_equal(c->web.reports_per_hour, 20);
	ward_conf_free(c);
	c = load_good("minimal.json");
	assert_false(c->web.enabled);
	assert_int_equal(c->web.n_listen, 0);
	ward_conf_free(c);
	char err[WARD_CONF_ERR_MAX];
	const char *json = "{\"upstreams\": [\"192.0.2.1\"], \"database\": \"/srv/w\","
			   " \"web\": {\"listen\": [\"0.0.0.0\"]}}";
	assert_int_equal(0, ward_conf_parse("w.json", json, strlen(json), &c, err, sizeof(err)));
	assert_string_equal(c->web.admin_token_file, "/srv/w/admin.token");
	assert_string_equal(c->web.hostname, "ward.home.arpa");
	assert_int_equal(c->web.max_connections, 64);
	assert_int_equal(c->web.reports_per_hour, 10);
	ward_conf_free(c);
}

/* ---- documentation ----------------------------------------------------------------- */

/* Every key of the schema is documented, as `path` with "*" written as <name>. */
static void test_docs_cover_schema(void **state)
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof(path), "%s/../../docs/config.md", data_dir());
	char *doc = read_all(path, &len);
	assert_non_null(doc);
	struct ward_conf_key k;
	size_t i = 0;
	for (; ward_conf_key_info(i, &k) == 0; i++) {
		if (ends_with(k.path, "[]") || ends_with(k.path, ".*"))
			continue;
		char want[128], *o = want;
		*o++ = '`';
		for (const char *p = k.path; *p; p++)
			o += *p == '*' ? sprintf(o, "<name>") : sprintf(o, "%c", *p);
		sprintf(o, "`");
		if (!strstr(doc, want))
			fail_msg("docs/config.md does not document %s", want);
	}
	assert_true(i > 50);
	assert_int_equal(ward_conf_key_info(i, &k), WARD_ENOTFOUND);
	free(doc);
}

/* The preset table in docs/config.md lists exactly the categories each preset blocks. */
static void test_docs_preset_table(void **state)
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof(path), "%s/../../docs/config.md", data_dir());
	char *doc = read_all(path, &len);
	assert_non_null(doc);
	struct ward_conf *c = load_good("presets.json");
	static const char *const rows[][2] = {
		{ "| `young-child`", "young" }, { "| `child`", "child" },
		{ "| `teen`", "teen" }, { "| `adult`", "adult" },
	};
	const char *table = strstr(doc, "## Age presets");
	assert_non_null(table);
	for (size_t i = 0; i < 4; i++) {
		const char *row = strstr(table, rows[i][0]);
		if (!row)
			fail_msg("no row %s", rows[i][0]);
		/* Third column: | preset | ages | blocked categories | ... */
		const char *col = row;
		for (int bars = 0; bars < 2 && col; bars++)
			col = strchr(col + 1, '|');
		assert_non_null(col);
		const char *end = strchr(col + 1, '|');
		ward_catset listed = 0;
		char word[32];
		size_t w = 0;
		for (const char *p = col + 1; p <= end; p++) {
			bool letter = (*p >= 'a' && *p <= 'z') || *p == '-';
			if (letter && w < sizeof(word) - 1) {
				word[w++] = *p;
				continue;
			}
			word[w] = '\0';
			int bit = w ? ward_cat_bit(c->categories, word) : -1;
			if (bit >= 0)
				listed |= WARD_CAT(bit);
			w = 0;
		}
		if (listed != profile(c, rows[i][1])->blocked)
			fail_msg("docs/config.md row %s differs from the preset", rows[i][0]);
	}
	ward_conf_free(c);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_files_load),
		cmocka_unit_test(test_web_section),
		cmocka_unit_test(test_bad_files_fail_exactly),
		cmocka_unit_test(test_packaging_example_loads),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_home),
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_custom_categories),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_parse_edges),
		cmocka_unit_test(test_value_cap),
		cmocka_unit_test(test_default_conf),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_contains),
		cmocka_unit_test(test_value_formats),
		cmocka_unit_test(test_docs_cover_schema),
		cmocka_unit_test(test_docs_preset_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
