/*
 * What the setup wizard and the profile editor need beyond the config itself (docs/api.md):
 *
 *   GET /api/v1/setup   the age presets with what each blocks, every category with a
 *                       sentence a parent understands, the search engines, the upstreams
 *                       this machine uses now (the router's, by default the wizard's
 *                       choice), whether the config file can be written, and whether this
 *                       is a first run (no profiles yet)
 *   GET /api/v1/test?client=IP[&mac=MAC][&name=N]   a listed name the device's profile
 *                       blocks and the verdict wardd gives that device for it now (a MAC
 *                       counts when IP is a trusted forwarder, as in a query)
 *
 * The feed catalog (blocklists/catalog.json, with licences) is served as
 * /static/catalog.json, built into the binary like the pages.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "blocklists/lookup.h"
#include "blocklists/name.h"
#include "resolver/web_internal.h"

#define SAMPLE_SCAN 500000

/* In the order of the built-in bits (category.h). */
static const char *const descriptions[WARD_CAT_BUILTIN_COUNT] = {
	"Sites that spread viruses and other harmful software.",
	"Fake sites that imitate banks, shops or games to steal passwords.",
	"Fraud: fake shops, fake prizes, get-rich-quick schemes.",
	"Material that shows the sexual abuse of children.",
	"Pornography and other sexual content.",
	"Betting, casinos, lotteries and poker.",
	"Gore, violent and shocking content.",
	"Buying, selling or glorifying drugs.",
	"Selling weapons and ammunition.",
	"Racism, extremism and hate speech.",
	"Dating and hook-up sites (18+).",
	"Social networks such as TikTok, Instagram, Snapchat and Facebook.",
	"Online games and game shops.",
	"Video streaming such as YouTube, Twitch and Netflix.",
	"Anonymous chat with strangers.",
	"VPNs, proxies and private DNS services that get around the filter.",
	"Illegal downloads and streams (they often carry malware too).",
	"Advertising networks.",
	"Trackers that follow people from site to site.",
	"Cryptocurrency trading and mining.",
	"Sites known for false news and conspiracy content.",
	"Link shorteners that hide where a link leads.",
	"Dynamic DNS services, often used by malware.",
	"Search engines and image sites that cannot be switched to safe search.",
	"Hacking tools and tutorials.",
};

static const char *const preset_ages[] = {"under 9", "9-12", "13-17", "18+"};
static const char *const youtube_names[] = {"off", "moderate", "strict"};
static const char *const engine_names[] = {"google", "bing", "duckduckgo", "ecosia",
					   "pixabay", "yandex"};

static cJSON *category_names(const struct ward_conf *conf, ward_catset set)
{
	cJSON *arr = cJSON_CreateArray();
	for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++) {
		const char *name = ward_cat_name(conf->categories, bit);
		if ((set & WARD_CAT(bit)) && name)
			cJSON_AddItemToArray(arr, cJSON_CreateString(name));
	}
	return arr;
}

static cJSON *engines_json(unsigned bits)
{
	cJSON *arr = cJSON_CreateArray();
	for (unsigned i = 0; i < sizeof(engine_names) / sizeof(engine_names[0]); i++)
		if (bits & (1u << i))
			cJSON_AddItemToArray(arr, cJSON_CreateString(engine_names[i]));
	return arr;
}

static void add_presets(cJSON *o, const struct ward_conf *conf)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "presets");
	struct ward_conf_preset p;
	for (size_t i = 0; ward_conf_preset(i, &p) == 0; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", p.name);
		cJSON_AddStringToObject(x, "ages", i < 4 ? preset_ages[i] : "");
		cJSON_AddItemToObject(x, "blocks", category_names(conf, p.blocked));
		cJSON_AddItemToObject(x, "safe_search", engines_json(p.safe_search));
		cJSON_AddStringToObject(x, "youtube", youtube_names[p.youtube]);
		cJSON_AddBoolToObject(x, "anti_circumvention", p.anti_circumvention);
		cJSON_AddItemToArray(arr, x);
	}
	cJSON *eng = cJSON_AddArrayToObject(o, "engines");
	for (unsigned i = 0; i < sizeof(engine_names) / sizeof(engine_names[0]); i++)
		cJSON_AddItemToArray(eng, cJSON_CreateString(engine_names[i]));
}

static void add_categories(cJSON *o, const struct ward_conf *conf)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "categories");
	char words[128];
	for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++) {
		const char *name = ward_cat_name(conf->categories, bit);
		if (!name)
			continue;
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", name);
		cJSON_AddStringToObject(x, "words", web_category_words(conf, bit, words,
								       sizeof(words)));
		cJSON_AddStringToObject(x, "description", bit < WARD_CAT_BUILTIN_COUNT
					? descriptions[bit] : "A category of your own.");
		cJSON_AddBoolToObject(x, "enforced", (conf->enforced & WARD_CAT(bit)) != 0);
		cJSON_AddBoolToObject(x, "custom", bit >= WARD_CAT_BUILTIN_COUNT);
		cJSON_AddItemToArray(arr, x);
	}
}

/* A nameserver that is this machine (wardd itself, or a local stub in front of it) is
 * no upstream. */
static bool is_local(const struct ward_conf *conf, const char *text)
{
	struct ward_addr a;
	char buf[64];
	if (ward_addr_parse(text, 53, &a) != 0)
		return true;
	const uint8_t *v6 = a.v6.sin6_addr.s6_addr;
	if ((a.sa.sa_family == AF_INET && (ntohl(a.v4.sin_addr.s_addr) >> 24) == 127) ||
	    (a.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a.v6.sin6_addr)) ||
	    (a.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a.v6.sin6_addr) && v6[12] == 127))
		return true;
	for (size_t i = 0; i < conf->n_listen; i++)
		if (strcmp(ward_addr_format(&conf->listen[i], buf, sizeof(buf)),
			   ward_addr_format(&a, buf + 32, sizeof(buf) - 32)) == 0)
			return true;
	return false;
}

/* The resolvers this machine uses now: OpenWrt keeps the ones its WAN got in
 * resolv.conf.auto (dnsmasq reads them); systemd-resolved lists its upstreams in
 * /run/systemd/resolve/resolv.conf; otherwise /etc/resolv.conf. */
static void add_upstreams(cJSON *o, const struct ward_conf *conf)
{
	static const char *const files[] = {"/tmp/resolv.conf.d/resolv.conf.auto",
					    "/tmp/resolv.conf.auto",
					    "/run/systemd/resolve/resolv.conf", "/etc/resolv.conf"};
	char ns[WARD_CONF_NAMESERVERS_MAX][INET6_ADDRSTRLEN], buf[64];
	cJSON *u = cJSON_AddObjectToObject(o, "upstreams");
	cJSON *sys = cJSON_AddArrayToObject(u, "system");
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]) && !sys->child; f++) {
		size_t n = ward_conf_nameservers(files[f], ns);
		for (size_t i = 0; i < n; i++)
			if (!is_local(conf, ns[i]))
				cJSON_AddItemToArray(sys, cJSON_CreateString(ns[i]));
		if (sys->child)
			cJSON_AddStringToObject(u, "source", files[f]);
	}
	cJSON *cur = cJSON_AddArrayToObject(u, "current");
	for (size_t i = 0; i < conf->n_upstreams; i++)
		cJSON_AddItemToArray(cur, cJSON_CreateString(
			ward_addr_format(&conf->upstreams[i], buf, sizeof(buf))));
}

/* Can wardd replace the file? The rename needs the directory, not the file. */
static bool writable(const char *file)
{
	char dir[4096];
	const char *slash = file ? strrchr(file, '/') : NULL;
	if (!file)
		return false;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - file + (slash == file)) : 1,
		 slash ? file : ".");
	return access(dir, W_OK) == 0;
}

void web_api_setup(struct ward_web_app *app, const struct ward_web_request *req,
		   struct ward_web_response *resp)
{
	if (!app->ps) {
		web_json_error(resp, 503, "no configuration loaded yet");
		return;
	}
	const struct ward_conf *conf = app->ps->conf;
	cJSON *o = cJSON_CreateObject();
	if (app->config_file)
		cJSON_AddStringToObject(o, "config_file", app->config_file);
	else
		cJSON_AddNullToObject(o, "config_file");
	cJSON_AddBoolToObject(o, "writable", writable(app->config_file));
	cJSON_AddBoolToObject(o, "first_run", conf->n_profiles == 0);
	cJSON_AddStringToObject(o, "hostname", app->boot->web.hostname);
	cJSON_AddStringToObject(o, "catalog", "/static/catalog.json");
	add_presets(o, conf);
	add_categories(o, conf);
	add_upstreams(o, conf);
	web_json(resp, 200, o);
}

/* ---- the wizard's test -------------------------------------------------------------------------- */

/* A listed name the profile blocks: preferably one a parent can look at without
 * wincing (gambling, then security), never an enforced category (child abuse material). */
static bool sample_name(struct ward_catdb_reader *r, const struct ward_conf *conf,
			size_t profile, char *name, size_t cap)
{
	ward_catset blocked = conf->profiles[profile].blocked & ~conf->enforced;
	const ward_catset tries[] = {
		WARD_CAT(WARD_CAT_GAMBLING),
		WARD_CAT(WARD_CAT_MALWARE) | WARD_CAT(WARD_CAT_PHISHING) | WARD_CAT(WARD_CAT_SCAM),
		blocked,
	};
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		if ((blocked & tries[i]) &&
		    ward_catdb_sample(r, blocked & tries[i], SAMPLE_SCAN, name, cap) == 0)
			return true;
	return false;
}

static bool test_lookup(struct ward_web_app *app, const struct ward_web_request *req,
			struct ward_lookup *L, struct ward_web_response *resp)
{
	const char *client = req->arg ? req->arg(req->arg_ctx, "client") : NULL;
	const char *mac = req->arg ? req->arg(req->arg_ctx, "mac") : NULL;
	if (!app->ps) {
		web_json_error(resp, 503, "no configuration loaded yet");
		return false;
	}
	if (!client || ward_lookup_parse_client(client, &L->client) != 0) {
		web_json_error(resp, 400, "client: an IP address is needed (?client=IP)");
		return false;
	}
	if (mac && ward_lookup_parse_mac(mac, L->mac) != 0) {
		web_json_error(resp, 400, "mac: not a MAC address (aa:bb:cc:dd:ee:ff)");
		return false;
	}
	L->has_mac = mac != NULL;
	L->mac_text = mac;
	L->client_text = client;
	L->conf = app->ps->conf;
	L->policy = app->ps->policy;
	L->ov = app->ov ? app->ov->table : NULL;
	L->reader = web_reader(app);
	web_now(app, &L->now);
	ward_lookup_prepare(L);
	return true;
}

void web_api_test(struct ward_web_app *app, const struct ward_web_request *req,
		  struct ward_web_response *resp)
{
	struct ward_lookup L = {0};
	struct ward_policy_verdict v;
	uint8_t wire[WARD_WIRE_NAME_MAX];
	char name[WARD_NAME_TEXT_MAX];
	const char *given = req->arg ? req->arg(req->arg_ctx, "name") : NULL;
	if (!test_lookup(app, req, &L, resp))
		return;
	if (given) {
		snprintf(name, sizeof(name), "%s", given);
	} else if (L.refused || L.profile >= L.conf->n_profiles || !L.reader ||
		   !sample_name(L.reader, L.conf, L.profile, name, sizeof(name))) {
		web_json_error(resp, 404, "the category database lists no name yet that this "
			       "device's profile blocks: `ward update` fills it (every 5 minutes "
			       "when packaged); try again then");
		return;
	}
	if (ward_name_from_text(name, wire, sizeof(wire)) == 0) {
		web_json_error(resp, 400, "name: not a domain name");
		return;
	}
	ward_name_lower(wire);
	int rc = ward_lookup_verdict(&L, wire, &v);
	cJSON *o = ward_lookup_result_json(&L, name, &v);
	cJSON_AddBoolToObject(o, "sampled", given == NULL);
	cJSON *words = cJSON_AddArrayToObject(o, "block_words");
	char text[128];
	for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++)
		if (v.categories & WARD_CAT(bit))
			cJSON_AddItemToArray(words, cJSON_CreateString(
				web_category_words(L.conf, bit, text, sizeof(text))));
	if (rc < 0)
		cJSON_AddStringToObject(o, "error", ward_strerror(rc));
	web_json(resp, 200, o);
}
