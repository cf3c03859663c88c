#include "blocklists/policy.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/dns_codes.h"
#include "blocklists/error.h"
#include "blocklists/nameset.h"

/* A lookup that failed, or a CNAME chain that could not be checked, is answered SERVFAIL
 * with EDE 0 (Other Error) and a text that says so. 15-17 (Blocked, Censored, Filtered)
 * would claim a verdict that was never reached, 18 (Prohibited) is about the client
 * (our REFUSED for allow_clients), 14 (Not Ready) about a server that is not up yet;
 * RFC 8914 4.1 asks for 0 with EXTRA-TEXT when no code describes the error. The codes
 * are in blocklists/dns_codes.h. */

/* ---- safe search (facts from shared/data/feeds/safesearch.md) ----------------------------- */

enum safe_kind { SAFE_ENGINE, SAFE_YOUTUBE, SAFE_CANARY };

struct safe_rule {
	enum safe_kind kind;
	unsigned engine;          /* enum ward_safe_engine bit */
	const char *target;       /* CNAME target, or NULL for an address rewrite */
	uint8_t ipv4[4];
};

static const struct safe_rule rule_google = {SAFE_ENGINE, WARD_SAFE_GOOGLE,
					     "forcesafesearch.google.com", {0}};
static const struct safe_rule rule_bing = {SAFE_ENGINE, WARD_SAFE_BING, "strict.bing.com", {0}};
static const struct safe_rule rule_ddg = {SAFE_ENGINE, WARD_SAFE_DUCKDUCKGO,
					  "safe.duckduckgo.com", {0}};
static const struct safe_rule rule_ecosia = {SAFE_ENGINE, WARD_SAFE_ECOSIA,
					     "strict-safe-search.ecosia.org", {0}};
static const struct safe_rule rule_pixabay = {SAFE_ENGINE, WARD_SAFE_PIXABAY,
					      "safesearch.pixabay.com", {0}};
/* Yandex's family search is an address, not a name (AdGuard Home does the same). */
static const struct safe_rule rule_yandex = {SAFE_ENGINE, WARD_SAFE_YANDEX, NULL,
					     {213, 180, 193, 56}};
static const struct safe_rule rule_youtube = {SAFE_YOUTUBE, 0, NULL, {0}};
static const struct safe_rule rule_canary = {SAFE_CANARY, 0, NULL, {0}};

static const char *const google_suffixes[] = {
	"ad", "ae", "al", "am", "as", "at", "az", "ba", "be", "bf", "bg", "bi", "bj", "bs", "bt",
	"by", "ca", "cat", "cd", "cf", "cg", "ch", "ci", "cl", "cm", "cn", "co", "co.ao", "co.bw",
	"co.ck", "co.cr", "co.id", "co.il", "co.in", "co.jp", "co.ke", "co.kr", "co.ls", "co.ma",
	"co.mz", "co.nz", "co.th", "co.tz", "co.ug", "co.uk", "co.uz", "co.ve", "co.vi", "co.za",
	"co.zm", "co.zw", "com", "com.af", "com.ag", "com.ai", "com.ar", "com.au", "com.bd",
	"com.bh", "com.bn", "com.bo", "com.br", "com.bz", "com.co", "com.cu", "com.cy", "com.do",
	"com.ec", "com.eg", "com.et", "com.fj", "com.gh", "com.gi", "com.gt", "com.hk", "com.jm",
	"com.kh", "com.kw", "com.lb", "com.ly", "com.mm", "com.mt", "com.mx", "com.my", "com.na",
	"com.nf", "com.ng", "com.ni", "com.np", "com.om", "com.pa", "com.pe", "com.pg", "com.ph",
	"com.pk", "com.pr", "com.py", "com.qa", "com.sa", "com.sb", "com.sg", "com.sl", "com.sv",
	"com.tj", "com.tr", "com.tw", "com.ua", "com.uy", "com.vc", "com.vn", "cv", "cz", "de",
	"dj", "dk", "dm", "dz", "ee", "es", "fi", "fm", "fr", "ga", "ge", "gg", "gl", "gm", "gp",
	"gr", "gy", "hn", "hr", "ht", "hu", "ie", "im", "iq", "is", "it", "je", "jo", "kg", "ki",
	"kz", "la", "li", "lk", "lt", "lu", "lv", "md", "me", "mg", "mk", "ml", "mn", "ms", "mu",
	"mv", "mw", "ne", "nl", "no", "nr", "nu", "pl", "pn", "ps", "pt", "ro", "rs", "ru", "rw",
	"sc", "se", "sh", "si", "sk", "sm", "sn", "so", "sr", "st", "td", "tg", "tk", "tl", "tm",
	"tn", "to", "tt", "vg", "vu", "ws",
};

static const char *const yandex_suffixes[] = {
	"az", "by", "co.il", "com", "com.am", "com.ge", "com.ru", "com.tr", "de", "ee", "eu", "fi",
	"fr", "kz", "lt", "lv", "md", "net", "org", "pl", "ru", "tj", "tm", "uz",
};

static const char *const plain_rules_names[] = {
	"www.bing.com", "edgeservices.bing.com", "bing.com",
	"duckduckgo.com", "start.duckduckgo.com", "www.duckduckgo.com",
	"www.ecosia.org", "pixabay.com",
	"ya.ru", "www.ya.ru", "xn--d1acpjx3f.xn--p1ai", "www.xn--d1acpjx3f.xn--p1ai",
	"www.youtube.com", "m.youtube.com", "youtubei.googleapis.com", "youtube.googleapis.com",
	"www.youtube-nocookie.com",
	/* Firefox turns DoH off when this is NXDOMAIN; iCloud Private Relay likewise. */
	"use-application-dns.net", "mask.icloud.com", "mask-h2.icloud.com",
};
static const struct safe_rule *const plain_rules[] = {
	&rule_bing, &rule_bing, &rule_bing,
	&rule_ddg, &rule_ddg, &rule_ddg,
	&rule_ecosia, &rule_pixabay,
	&rule_yandex, &rule_yandex, &rule_yandex, &rule_yandex,
	&rule_youtube, &rule_youtube, &rule_youtube, &rule_youtube, &rule_youtube,
	&rule_canary, &rule_canary, &rule_canary,
};

#define N_GOOGLE (sizeof(google_suffixes) / sizeof(google_suffixes[0]))
#define N_YANDEX (sizeof(yandex_suffixes) / sizeof(yandex_suffixes[0]))
#define N_PLAIN (sizeof(plain_rules_names) / sizeof(plain_rules_names[0]))

/* ---- the policy ------------------------------------------------------------------------------ */

struct profile_sets {
	struct ward_nameset deny, allow;
};

struct ward_policy {
	const struct ward_conf *conf;
	struct profile_sets *profiles;
	struct ward_nameset safe;          /* exact host -> struct safe_rule */
	size_t *clients_by_prefix;     /* CIDR client indexes, longest prefix first */
	size_t n_cidr_clients;
	bool fixed_time;
	struct ward_policy_time fixed;
};

static int build_safe_table(struct ward_policy *p)
{
	const size_t slot = 40;
	size_t n_generated = N_GOOGLE + 2 * N_YANDEX, text_bytes = n_generated * slot;
	for (size_t i = 0; i < N_PLAIN; i++)
		text_bytes += strlen(plain_rules_names[i]);
	char *names = calloc(n_generated, slot);
	int rc = names ? ward_nameset_init(&p->safe, n_generated + N_PLAIN, text_bytes) : WARD_ENOMEM;
	char *next = names;
	for (size_t i = 0; rc == 0 && i < N_GOOGLE; i++, next += slot) {
		snprintf(next, slot, "www.google.%s", google_suffixes[i]);
		rc = ward_nameset_add(&p->safe, next, &rule_google);
	}
	for (size_t i = 0; rc == 0 && i < N_YANDEX; i++, next += 2 * slot) {
		snprintf(next, slot, "yandex.%s", yandex_suffixes[i]);
		snprintf(next + slot, slot, "www.yandex.%s", yandex_suffixes[i]);
		rc = ward_nameset_add(&p->safe, next, &rule_yandex);
		if (rc == 0)
			rc = ward_nameset_add(&p->safe, next + slot, &rule_yandex);
	}
	for (size_t i = 0; rc == 0 && i < N_PLAIN; i++)
		rc = ward_nameset_add(&p->safe, plain_rules_names[i], plain_rules[i]);
	free(names); /* the set keeps wire forms of its own */
	return rc;
}

static size_t text_bytes(char *const *names, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += strlen(names[i]);
	return total;
}

/* A deny or allow list; each entry's value is its config text, for explanations. */
static int build_list(struct ward_nameset *set, char *const *names, size_t n)
{
	int rc = ward_nameset_init(set, n, text_bytes(names, n));
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = ward_nameset_add(set, names[i], names[i]);
	return rc;
}

static int build_profile_sets(struct ward_policy *p)
{
	const struct ward_conf *conf = p->conf;
	p->profiles = calloc(conf->n_profiles ? conf->n_profiles : 1, sizeof(*p->profiles));
	if (!p->profiles)
		return WARD_ENOMEM;
	for (size_t i = 0; i < conf->n_profiles; i++) {
		const struct ward_conf_profile *prof = &conf->profiles[i];
		int rc = build_list(&p->profiles[i].deny, prof->deny, prof->n_deny);
		if (rc == 0)
			rc = build_list(&p->profiles[i].allow, prof->allow, prof->n_allow);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int by_prefix_desc(const void *a, const void *b, void *arg)
{
	const struct ward_conf *conf = arg;
	const struct ward_conf_client *ca = &conf->clients[*(const size_t *)a];
	const struct ward_conf_client *cb = &conf->clients[*(const size_t *)b];
	return (int)cb->cidr.prefix - (int)ca->cidr.prefix;
}

static int build_client_index(struct ward_policy *p)
{
	const struct ward_conf *conf = p->conf;
	p->clients_by_prefix = calloc(conf->n_clients ? conf->n_clients : 1, sizeof(size_t));
	if (!p->clients_by_prefix)
		return WARD_ENOMEM;
	for (size_t i = 0; i < conf->n_clients; i++)
		if (conf->clients[i].kind == WARD_CLIENT_CIDR)
			p->clients_by_prefix[p->n_cidr_clients++] = i;
	qsort_r(p->clients_by_prefix, p->n_cidr_clients, sizeof(size_t), by_prefix_desc,
		(void *)conf);
	return 0;
}

/* Test builds only: WARD_TEST_NOW="sun 21:30" pins the schedules' clock. */
static void read_test_clock(struct ward_policy *p)
{
#ifdef WARD_TEST_HOOKS
	static const char days[7][4] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	const char *env = getenv("WARD_TEST_NOW");
	char day[4];
	unsigned hh, mm;
	if (!env || sscanf(env, "%3s %u:%u", day, &hh, &mm) != 3 || hh > 23 || mm > 59)
		return;
	for (uint8_t d = 0; d < 7; d++) {
		if (strcmp(day, days[d]) == 0) {
			p->fixed_time = true;
			p->fixed.wday = d;
			p->fixed.minute = (uint16_t)(hh * 60 + mm);
		}
	}
#else
	(void)p;
#endif
}

int ward_policy_new(const struct ward_conf *conf, struct ward_policy **out)
{
	struct ward_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return WARD_ENOMEM;
	p->conf = conf;
	int rc = build_safe_table(p);
	if (rc == 0)
		rc = build_profile_sets(p);
	if (rc == 0)
		rc = build_client_index(p);
	if (rc != 0) {
		ward_policy_free(p);
		return rc;
	}
	if (conf->timezone && (!getenv("TZ") || strcmp(getenv("TZ"), conf->timezone) != 0)) {
		setenv("TZ", conf->timezone, 1);
		tzset();
	}
	read_test_clock(p);
	*out = p;
	return 0;
}

void ward_policy_free(struct ward_policy *p)
{
	if (!p)
		return;
	if (p->profiles) {
		for (size_t i = 0; i < p->conf->n_profiles; i++) {
			ward_nameset_free(&p->profiles[i].deny);
			ward_nameset_free(&p->profiles[i].allow);
		}
	}
	free(p->profiles);
	ward_nameset_free(&p->safe);
	free(p->clients_by_prefix);
	free(p);
}

/* ---- who is asking ---------------------------------------------------------------------------- */

static bool in_prefixes(const struct ward_cidr *list, size_t n, const struct sockaddr *addr)
{
	for (size_t i = 0; i < n; i++)
		if (ward_cidr_contains(&list[i], addr))
			return true;
	return false;
}

bool ward_policy_admit(const struct ward_policy *p, const struct sockaddr *addr,
		       struct ward_policy_verdict *v)
{
	const struct ward_conf *conf = p->conf;
	if (in_prefixes(conf->allow_clients, conf->n_allow_clients, addr))
		return true;
	memset(v, 0, sizeof(*v));
	v->action = WARD_POLICY_REFUSED;
	v->reason = WARD_REASON_ACL;
	v->ede_code = WARD_EDE_PROHIBITED;
	v->profile = (size_t)-1;
	return false;
}

static bool mac_matches(const struct ward_conf *conf, const uint8_t *mac, size_t *profile)
{
	for (size_t i = 0; i < conf->n_clients; i++) {
		if (conf->clients[i].kind == WARD_CLIENT_MAC &&
		    memcmp(conf->clients[i].mac, mac, 6) == 0) {
			*profile = conf->clients[i].profile;
			return true;
		}
	}
	return false;
}

size_t ward_policy_profile_for(const struct ward_policy *p, const struct sockaddr *addr,
			       const uint8_t *mac, bool *mac_ignored)
{
	const struct ward_conf *conf = p->conf;
	size_t profile;
	if (mac_ignored)
		*mac_ignored = false;
	if (conf->n_profiles == 0)
		return (size_t)-1;
	/* Only the router can vouch for a MAC: from anyone else the option is a claim the
	 * client made about itself, and would let a child's device pick the parent's
	 * profile. */
	if (mac && !in_prefixes(conf->trusted_forwarders, conf->n_trusted_forwarders, addr)) {
		if (mac_ignored)
			*mac_ignored = true;
		mac = NULL;
	}
	if (mac && mac_matches(conf, mac, &profile))
		return profile;
	for (size_t i = 0; i < p->n_cidr_clients; i++) {
		const struct ward_conf_client *c = &conf->clients[p->clients_by_prefix[i]];
		if (ward_cidr_contains(&c->cidr, addr))
			return c->profile;
	}
	return conf->default_profile;
}

void ward_policy_local_time(const struct ward_policy *p, time_t now, struct ward_policy_time *t)
{
	if (p->fixed_time) {
		*t = p->fixed;
		return;
	}
	struct tm tm;
	localtime_r(&now, &tm);
	t->wday = (uint8_t)tm.tm_wday;
	t->minute = (uint16_t)(tm.tm_hour * 60 + tm.tm_min);
}

/* A window that crosses midnight belongs to the day it starts on: "sun 21:00-07:00" covers
 * sunday night and monday morning. from == to means the whole day. */
static bool schedule_active(const struct ward_conf_schedule *s, const struct ward_policy_time *t)
{
	uint8_t today = (uint8_t)(1u << t->wday);
	uint8_t yesterday = (uint8_t)(1u << ((t->wday + 6) % 7));
	if (s->from_min == s->to_min)
		return s->days & today;
	if (s->from_min < s->to_min)
		return (s->days & today) && t->minute >= s->from_min && t->minute < s->to_min;
	return ((s->days & today) && t->minute >= s->from_min) ||
	       ((s->days & yesterday) && t->minute < s->to_min);
}

/* Minutes from t until the window s, active at t, ends. */
static unsigned window_left(const struct ward_conf_schedule *s, const struct ward_policy_time *t)
{
	if (s->from_min == s->to_min)
		return 1440u - t->minute; /* the whole day: until midnight */
	if (t->minute < s->to_min)
		return (unsigned)(s->to_min - t->minute);
	return 1440u - t->minute + s->to_min; /* crosses midnight */
}

static void advance(struct ward_policy_time *t, unsigned minutes)
{
	unsigned m = t->minute + minutes;
	t->wday = (uint8_t)((t->wday + m / 1440u) % 7u);
	t->minute = (uint16_t)(m % 1440u);
	t->unix_s += (int64_t)minutes * 60;
}

/* Does s, active at t, block the way verdict v was blocked? */
static bool blocks_alike(const struct ward_conf_schedule *s, const struct ward_policy_verdict *v)
{
	return v->reason == WARD_REASON_SCHEDULE_ALL ? s->block_all
						     : (s->block & v->categories) != 0;
}

bool ward_policy_schedule_end(const struct ward_policy *p, const struct ward_policy_verdict *v,
			      const struct ward_policy_time *now, struct ward_policy_time *end)
{
	if (!v->schedule_name || v->profile >= p->conf->n_profiles ||
	    (v->reason != WARD_REASON_SCHEDULE_ALL && v->reason != WARD_REASON_CATEGORY))
		return false;
	const struct ward_conf_profile *prof = &p->conf->profiles[v->profile];
	*end = *now;
	unsigned total = 0;
	bool moved = true;
	while (moved && total < 7u * 1440u) {
		moved = false;
		for (size_t i = 0; i < prof->n_schedules; i++) {
			const struct ward_conf_schedule *s = &prof->schedules[i];
			if (!blocks_alike(s, v) || !schedule_active(s, end))
				continue;
			unsigned left = window_left(s, end);
			advance(end, left);
			total += left;
			moved = true;
		}
	}
	return total > 0;
}

/* ---- explaining a block ------------------------------------------------------------------------- */

/* Does the config say feed `name` lists any of `hit`? */
static bool feed_lists(const struct ward_conf *conf, const char *name, ward_catset hit)
{
	for (size_t i = 0; i < conf->n_feeds; i++)
		if (strcmp(conf->feeds[i].name, name) == 0)
			return conf->feeds[i].categories & hit;
	return false;
}

/* The feed to name: one that lists the entry for a category behind this block. A name
 * listed by a gambling feed and a malware feed is blocked for adults as malware, and the
 * text must not blame the gambling feed. Without that knowledge (a config without feeds),
 * the first feed that listed the entry. */
static void pick_feed(const struct ward_policy *p, struct ward_catdb_reader *reader,
		      const struct ward_policy_verdict *v, char *feed, size_t cap)
{
	char name[64];
	feed[0] = '\0';
	for (unsigned i = 0; reader && i < v->match.n_feeds && i < WARD_CATDB_MATCH_FEEDS; i++) {
		if (ward_catdb_feed_name(reader, v->match.feeds[i], name, sizeof(name)) != 0)
			continue;
		bool lists = feed_lists(p->conf, name, v->categories);
		if (lists || !feed[0])
			snprintf(feed, cap, "%s", name);
		if (lists)
			return;
	}
}

static void explain_categories(const struct ward_policy *p, struct ward_catdb_reader *reader,
			       struct ward_policy_verdict *v, const char *extra)
{
	char cats[96], feed[64];
	ward_cat_format(p->conf->categories, v->categories, cats, sizeof(cats));
	pick_feed(p, reader, v, feed, sizeof(feed));
	if (v->profile_name)
		snprintf(v->text, sizeof(v->text), "ward: %s (%s%s%s%sprofile %s)", cats,
			 feed[0] ? "feed " : "", feed, feed[0] ? ", " : "", extra,
			 v->profile_name);
	else
		snprintf(v->text, sizeof(v->text), "ward: %s (%s%s%senforced)", cats,
			 feed[0] ? "feed " : "", feed, feed[0] ? ", " : "");
}

/* "ward: gambling (override 12, profile kids)", or "..., everyone)". */
static void explain_override_deny(const struct ward_policy *p, struct ward_policy_verdict *v)
{
	char cats[96] = "denied", who[80] = "everyone";
	if (v->categories)
		ward_cat_format(p->conf->categories, v->categories, cats, sizeof(cats));
	if (v->profile_name && !v->override_everyone)
		snprintf(who, sizeof(who), "profile %s", v->profile_name);
	snprintf(v->text, sizeof(v->text), "ward: %s (override %llu, %s)", cats,
		 (unsigned long long)v->override_id, who);
}

void ward_policy_explain(const struct ward_policy *p, struct ward_catdb_reader *reader,
			 struct ward_policy_verdict *v)
{
	char extra[48] = "";
	switch (v->reason) {
	case WARD_REASON_ENFORCED:
		explain_categories(p, reader, v, "enforced, ");
		break;
	case WARD_REASON_CATEGORY:
		if (v->schedule_name)
			snprintf(extra, sizeof(extra), "schedule %s, ", v->schedule_name);
		explain_categories(p, reader, v, extra);
		break;
	case WARD_REASON_DENY:
		snprintf(v->text, sizeof(v->text), "ward: denied by profile %s (rule %s)",
			 v->profile_name, v->rule);
		break;
	case WARD_REASON_SCHEDULE_ALL:
		snprintf(v->text, sizeof(v->text), "ward: schedule %s (profile %s)",
			 v->schedule_name, v->profile_name);
		break;
	case WARD_REASON_CANARY:
		snprintf(v->text, sizeof(v->text), "ward: resolver bypass disabled (profile %s)",
			 v->profile_name);
		break;
	case WARD_REASON_LOOKUP_FAILED:
		snprintf(v->text, sizeof(v->text), "ward: policy check failed (%s)",
			 ward_strerror(v->error));
		break;
	case WARD_REASON_OVERRIDE_DENY:
		explain_override_deny(p, v);
		break;
	case WARD_REASON_PAUSED:
		snprintf(v->text, sizeof(v->text), "ward: profile %s paused (override %llu)",
			 v->profile_name, (unsigned long long)v->override_id);
		break;
	default:
		v->text[0] = '\0';
		break;
	}
}

static void set_block(struct ward_policy_verdict *v, enum ward_policy_reason reason, int ede)
{
	v->action = WARD_POLICY_BLOCK;
	v->reason = reason;
	v->ede_code = ede;
}

/* ---- the decision ---------------------------------------------------------------------------- */

static bool step_enforced(const struct ward_policy *p, struct ward_catdb_reader *reader,
			  struct ward_policy_verdict *v)
{
	ward_catset hit = v->match.categories & p->conf->enforced;
	if (!hit)
		return false;
	v->categories = hit;
	set_block(v, WARD_REASON_ENFORCED, WARD_EDE_CENSORED);
	return true;
}

static int block_ede(const struct ward_policy *p, ward_catset cats)
{
	if (cats & p->conf->enforced)
		return WARD_EDE_CENSORED;
	return cats & WARD_CAT_SECURITY_SET ? WARD_EDE_BLOCKED : WARD_EDE_FILTERED;
}

static void take_override(struct ward_policy_verdict *v, const struct ward_override_hit *h)
{
	v->override_id = h->id;
	v->override_everyone = h->everyone;
	v->until = h->expires;
	v->rule = h->name;
}

/* Step 2: a parent's deny, for the profile or everyone. */
static bool step_override_deny(const struct ward_policy *p, const struct ward_override_table *ov,
			       const uint8_t *name, size_t len, const struct ward_policy_time *now,
			       struct ward_policy_verdict *v)
{
	struct ward_override_hit h;
	if (!ward_override_table_match(ov, p->conf, v->profile, WARD_OVERRIDE_DENY, name, len,
				       now->unix_s, &h))
		return false;
	take_override(v, &h);
	v->categories = h.categories;
	set_block(v, WARD_REASON_OVERRIDE_DENY, block_ede(p, h.categories));
	return true;
}

/* Step 3: a paused profile gets nothing but its own allow list. */
static bool step_paused(const struct ward_policy *p, const struct ward_override_table *ov,
			const struct profile_sets *sets, const uint8_t *name, size_t len,
			const struct ward_policy_time *now, struct ward_policy_verdict *v)
{
	struct ward_override_hit h;
	if (!ward_override_table_paused(ov, p->conf, v->profile, now->unix_s, &h) ||
	    ward_nameset_match_suffix(&sets->allow, name, len))
		return false;
	v->override_id = h.id;
	v->until = h.expires;
	set_block(v, WARD_REASON_PAUSED, WARD_EDE_FILTERED);
	return true;
}

/* Step 4: a parent's allow lifts the config's deny list, schedules and categories. */
static bool step_override_allow(const struct ward_policy *p,
				const struct ward_override_table *ov, const uint8_t *name,
				size_t len, const struct ward_policy_time *now,
				struct ward_policy_verdict *v)
{
	struct ward_override_hit h;
	if (!ward_override_table_match(ov, p->conf, v->profile, WARD_OVERRIDE_ALLOW, name, len,
				       now->unix_s, &h))
		return false;
	take_override(v, &h);
	v->reason = WARD_REASON_OVERRIDE_ALLOW;
	return true;
}

static bool step_deny(const struct profile_sets *sets, const uint8_t *name, size_t len,
		      struct ward_policy_verdict *v)
{
	v->rule = ward_nameset_match_suffix(&sets->deny, name, len);
	if (!v->rule)
		return false;
	set_block(v, WARD_REASON_DENY, WARD_EDE_FILTERED);
	return true;
}

static bool step_allow(const struct profile_sets *sets, const uint8_t *name, size_t len,
		       struct ward_policy_verdict *v)
{
	const char *rule = ward_nameset_match_suffix(&sets->allow, name, len);
	if (!rule)
		return false;
	v->rule = rule;
	v->reason = WARD_REASON_ALLOW;
	return true;
}

/* Steps 4 and 5 together: which schedules are on, and whether any blocks everything. */
static bool step_schedules_and_categories(const struct ward_policy *p,
					  struct ward_catdb_reader *reader,
					  const struct ward_conf_profile *prof,
					  const struct ward_policy_time *now, bool honour_all,
					  struct ward_policy_verdict *v)
{
	ward_catset scheduled = 0;
	const char *scheduled_by = NULL;
	for (size_t i = 0; i < prof->n_schedules; i++) {
		const struct ward_conf_schedule *s = &prof->schedules[i];
		if (!schedule_active(s, now))
			continue;
		if (s->block_all && honour_all) {
			v->schedule_name = s->name;
			set_block(v, WARD_REASON_SCHEDULE_ALL, WARD_EDE_FILTERED);
			return true;
		}
		if (v->match.categories & s->block & ~prof->blocked && !scheduled_by)
			scheduled_by = s->name;
		scheduled |= s->block;
	}
	ward_catset hit = v->match.categories & (prof->blocked | scheduled);
	if (!hit)
		return false;
	v->categories = hit;
	set_block(v, WARD_REASON_CATEGORY, hit & WARD_CAT_SECURITY_SET ? WARD_EDE_BLOCKED : WARD_EDE_FILTERED);
	if (!(hit & prof->blocked) && scheduled_by)
		v->schedule_name = scheduled_by;
	return true;
}

static void step_rewrite(const struct ward_policy *p, const struct ward_conf_profile *prof,
			 const uint8_t *name, size_t len, struct ward_policy_verdict *v)
{
	size_t i = ward_nameset_find(&p->safe, name, len);
	if (i == SIZE_MAX)
		return;
	const struct safe_rule *rule = p->safe.values[i];
	switch (rule->kind) {
	case SAFE_CANARY:
		if (!prof->anti_circumvention)
			return;
		v->action = WARD_POLICY_NXDOMAIN;
		v->reason = WARD_REASON_CANARY;
		v->ede_code = WARD_EDE_FILTERED;
		return;
	case SAFE_YOUTUBE:
		if (prof->youtube == WARD_YOUTUBE_OFF)
			return;
		v->rewrite_target = prof->youtube == WARD_YOUTUBE_STRICT
					    ? "restrict.youtube.com"
					    : "restrictmoderate.youtube.com";
		break;
	case SAFE_ENGINE:
		if (!(prof->safe_search & rule->engine))
			return;
		v->rewrite_target = rule->target;
		memcpy(v->rewrite_ipv4, rule->ipv4, 4);
		break;
	}
	v->action = v->rewrite_target ? WARD_POLICY_CNAME : WARD_POLICY_ADDRESS;
	v->reason = WARD_REASON_SAFE_SEARCH;
}

/* Step 0: fail closed. Nothing about the name is known, not even whether an enforced
 * category lists it, so no allow entry can vouch for it either. */
static int fail_closed(struct ward_policy_verdict *v, int rc)
{
	v->action = WARD_POLICY_SERVFAIL;
	v->reason = WARD_REASON_LOOKUP_FAILED;
	v->ede_code = WARD_EDE_OTHER;
	v->error = rc;
	return rc;
}

/* @param len  receives the wire length of name
 * @return 0, or the failed lookup's code (v then says SERVFAIL) */
static int begin_verdict(const struct ward_policy *p, struct ward_catdb_reader *reader,
			 size_t profile, const uint8_t *name, size_t *len,
			 struct ward_policy_verdict *v)
{
	/* Not the whole verdict: most of its ~700 bytes are the explanation's buffers (match
	 * and text, kept last in the struct), which the lookup and ward_policy_explain()
	 * fill from their first byte. */
	memset(v, 0, offsetof(struct ward_policy_verdict, match));
	v->action = WARD_POLICY_FORWARD;
	v->ede_code = WARD_EDE_NONE;
	v->profile = profile;
	if (profile < p->conf->n_profiles)
		v->profile_name = p->conf->profiles[profile].name;
	v->text[0] = '\0';
	ward_cat_match_clear(&v->match);
	*len = ward_name_wire_len(name);
	if (!*len)
		return fail_closed(v, WARD_EINVAL);
	int rc = reader ? ward_cat_lookup_wire_len(reader, name, *len, &v->match) : 0;
	return rc < 0 ? fail_closed(v, rc) : 0;
}

/* Steps 5-8 for a name no override decided. @return true when blocked (v says why). */
static bool steps_config(const struct ward_policy *p, struct ward_catdb_reader *reader,
			 size_t profile, const uint8_t *name, size_t len,
			 const struct ward_policy_time *now, bool honour_all,
			 struct ward_policy_verdict *v)
{
	const struct ward_conf_profile *prof = &p->conf->profiles[profile];
	const struct profile_sets *sets = &p->profiles[profile];
	if (step_deny(sets, name, len, v))
		return true;
	if (step_allow(sets, name, len, v))
		return false;
	return step_schedules_and_categories(p, reader, prof, now, honour_all, v);
}

int ward_policy_decide(const struct ward_policy *p, struct ward_catdb_reader *reader,
		       const struct ward_override_table *ov, size_t profile, const uint8_t *name,
		       const struct ward_policy_time *now, struct ward_policy_verdict *v)
{
	size_t len;
	int rc = begin_verdict(p, reader, profile, name, &len, v);
	if (rc < 0 || step_enforced(p, reader, v) || step_override_deny(p, ov, name, len, now, v))
		return rc;
	if (profile >= p->conf->n_profiles)
		return 0;
	const struct ward_conf_profile *prof = &p->conf->profiles[profile];
	if (step_paused(p, ov, &p->profiles[profile], name, len, now, v))
		return 0;
	/* An allow (override or list) lifts blocks only: the rewrites of step 9 are the
	 * profile's settings, not blocks, and only the profile's own settings turn them off. */
	if (!step_override_allow(p, ov, name, len, now, v) &&
	    steps_config(p, reader, profile, name, len, now, true, v))
		return 0;
	step_rewrite(p, prof, name, len, v);
	return 0;
}

int ward_policy_blocks_target(const struct ward_policy *p, struct ward_catdb_reader *reader,
			      const struct ward_override_table *ov, size_t profile,
			      const uint8_t *name, const struct ward_policy_time *now,
			      struct ward_policy_verdict *v)
{
	size_t len;
	int rc = begin_verdict(p, reader, profile, name, &len, v);
	if (rc < 0)
		return rc;
	if (step_enforced(p, reader, v) || step_override_deny(p, ov, name, len, now, v))
		return 1;
	if (profile >= p->conf->n_profiles || step_override_allow(p, ov, name, len, now, v))
		return 0;
	/* The asked name was already let through, so a pause or a bedtime "all" does not
	 * apply again to where it points; categories do, or a CNAME would launder a blocked
	 * name. */
	return steps_config(p, reader, profile, name, len, now, false, v);
}

const char *ward_policy_reason_name(enum ward_policy_reason reason)
{
	static const char *const names[] = {
		[WARD_REASON_NONE] = "none",         [WARD_REASON_ENFORCED] = "enforced",
		[WARD_REASON_DENY] = "deny",         [WARD_REASON_ALLOW] = "allow",
		[WARD_REASON_SCHEDULE_ALL] = "schedule", [WARD_REASON_CATEGORY] = "category",
		[WARD_REASON_CANARY] = "canary",     [WARD_REASON_SAFE_SEARCH] = "safe-search",
		[WARD_REASON_LOOKUP_FAILED] = "lookup-failed", [WARD_REASON_ACL] = "allow_clients",
		[WARD_REASON_OVERRIDE_DENY] = "override-deny", [WARD_REASON_PAUSED] = "paused",
		[WARD_REASON_OVERRIDE_ALLOW] = "override-allow",
	};
	return reason <= WARD_REASON_OVERRIDE_ALLOW ? names[reason] : "unknown";
}

const char *ward_policy_action_name(enum ward_policy_action action)
{
	static const char *const names[] = {
		[WARD_POLICY_FORWARD] = "forward",   [WARD_POLICY_BLOCK] = "block",
		[WARD_POLICY_NXDOMAIN] = "nxdomain", [WARD_POLICY_CNAME] = "cname",
		[WARD_POLICY_ADDRESS] = "address",   [WARD_POLICY_SERVFAIL] = "servfail",
		[WARD_POLICY_REFUSED] = "refused",
	};
	return action <= WARD_POLICY_REFUSED ? names[action] : "unknown";
}
