#include "blocklists/policy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"

#define EDE_NONE (-1)
#define EDE_BLOCKED 15
#define EDE_CENSORED 16
#define EDE_FILTERED 17

/* ---- a small string set: exact lookups of lower-case names ------------------------------ */

struct name_set {
	const char **slots; /* NULL = empty; strings owned elsewhere (the config or static) */
	const void **values;
	size_t mask;
	size_t count;       /* an empty set answers without hashing */
};

static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static int set_init(struct name_set *set, size_t expected)
{
	size_t cap = 8;
	while (cap < expected * 2 + 1)
		cap <<= 1;
	set->slots = calloc(cap, sizeof(*set->slots));
	set->values = calloc(cap, sizeof(*set->values));
	set->mask = cap - 1;
	return set->slots && set->values ? 0 : WARD_ENOMEM;
}

static void set_free(struct name_set *set)
{
	free(set->slots);
	free(set->values);
}

static void set_add(struct name_set *set, const char *name, const void *value)
{
	size_t len = strlen(name);
	for (size_t i = name_hash(name, len) & set->mask;; i = (i + 1) & set->mask) {
		if (!set->slots[i] || strcmp(set->slots[i], name) == 0) {
			set->count += !set->slots[i];
			set->slots[i] = name;
			set->values[i] = value;
			return;
		}
	}
}

static size_t set_find(const struct name_set *set, const char *name, size_t len)
{
	if (!set->count)
		return SIZE_MAX;
	for (size_t i = name_hash(name, len) & set->mask; set->slots[i]; i = (i + 1) & set->mask)
		if (strncmp(set->slots[i], name, len) == 0 && set->slots[i][len] == '\0')
			return i;
	return SIZE_MAX;
}

/* The name itself, then each parent: "a.b.c", "b.c", "c". @return the entry or NULL. */
static const char *set_match_suffix(const struct name_set *set, const char *name, size_t len)
{
	size_t off = 0;
	if (!set->count)
		return NULL;
	for (;;) {
		size_t i = set_find(set, name + off, len - off);
		if (i != SIZE_MAX)
			return set->slots[i];
		const char *dot = memchr(name + off, '.', len - off);
		if (!dot)
			return NULL;
		off = (size_t)(dot - name) + 1;
	}
}

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
	struct name_set deny, allow;
};

struct ward_policy {
	const struct ward_conf *conf;
	struct profile_sets *profiles;
	struct name_set safe;          /* exact host -> struct safe_rule */
	char *safe_names;              /* storage for generated google/yandex names */
	size_t *clients_by_prefix;     /* CIDR client indexes, longest prefix first */
	size_t n_cidr_clients;
	bool fixed_time;
	struct ward_policy_time fixed;
};

static int build_safe_table(struct ward_policy *p)
{
	const size_t slot = 40;
	size_t n_generated = N_GOOGLE + 2 * N_YANDEX;
	p->safe_names = calloc(n_generated, slot);
	if (!p->safe_names || set_init(&p->safe, n_generated + N_PLAIN) != 0)
		return WARD_ENOMEM;
	char *next = p->safe_names;
	for (size_t i = 0; i < N_GOOGLE; i++, next += slot) {
		snprintf(next, slot, "www.google.%s", google_suffixes[i]);
		set_add(&p->safe, next, &rule_google);
	}
	for (size_t i = 0; i < N_YANDEX; i++) {
		snprintf(next, slot, "yandex.%s", yandex_suffixes[i]);
		set_add(&p->safe, next, &rule_yandex);
		next += slot;
		snprintf(next, slot, "www.yandex.%s", yandex_suffixes[i]);
		set_add(&p->safe, next, &rule_yandex);
		next += slot;
	}
	for (size_t i = 0; i < N_PLAIN; i++)
		set_add(&p->safe, plain_rules_names[i], plain_rules[i]);
	return 0;
}

static int build_profile_sets(struct ward_policy *p)
{
	const struct ward_conf *conf = p->conf;
	p->profiles = calloc(conf->n_profiles ? conf->n_profiles : 1, sizeof(*p->profiles));
	if (!p->profiles)
		return WARD_ENOMEM;
	for (size_t i = 0; i < conf->n_profiles; i++) {
		const struct ward_conf_profile *prof = &conf->profiles[i];
		struct profile_sets *sets = &p->profiles[i];
		if (set_init(&sets->deny, prof->n_deny) != 0 ||
		    set_init(&sets->allow, prof->n_allow) != 0)
			return WARD_ENOMEM;
		for (size_t j = 0; j < prof->n_deny; j++)
			set_add(&sets->deny, prof->deny[j], prof->deny[j]);
		for (size_t j = 0; j < prof->n_allow; j++)
			set_add(&sets->allow, prof->allow[j], prof->allow[j]);
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
			set_free(&p->profiles[i].deny);
			set_free(&p->profiles[i].allow);
		}
	}
	free(p->profiles);
	set_free(&p->safe);
	free(p->safe_names);
	free(p->clients_by_prefix);
	free(p);
}

/* ---- who is asking ---------------------------------------------------------------------------- */

size_t ward_policy_profile_for(const struct ward_policy *p, const struct sockaddr *addr,
			       const uint8_t *mac)
{
	const struct ward_conf *conf = p->conf;
	if (conf->n_profiles == 0)
		return (size_t)-1;
	if (mac) {
		for (size_t i = 0; i < conf->n_clients; i++)
			if (conf->clients[i].kind == WARD_CLIENT_MAC &&
			    memcmp(conf->clients[i].mac, mac, 6) == 0)
				return conf->clients[i].profile;
	}
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
	set_block(v, WARD_REASON_ENFORCED, EDE_CENSORED);
	return true;
}

static bool step_deny(const struct profile_sets *sets, const char *name, size_t len,
		      struct ward_policy_verdict *v)
{
	v->rule = set_match_suffix(&sets->deny, name, len);
	if (!v->rule)
		return false;
	set_block(v, WARD_REASON_DENY, EDE_FILTERED);
	return true;
}

static bool step_allow(const struct profile_sets *sets, const char *name, size_t len,
		       struct ward_policy_verdict *v)
{
	const char *rule = set_match_suffix(&sets->allow, name, len);
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
			set_block(v, WARD_REASON_SCHEDULE_ALL, EDE_FILTERED);
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
	set_block(v, WARD_REASON_CATEGORY, hit & WARD_CAT_SECURITY_SET ? EDE_BLOCKED : EDE_FILTERED);
	if (!(hit & prof->blocked) && scheduled_by)
		v->schedule_name = scheduled_by;
	return true;
}

static void step_rewrite(const struct ward_policy *p, const struct ward_conf_profile *prof,
			 const char *name, size_t len, struct ward_policy_verdict *v)
{
	size_t i = set_find(&p->safe, name, len);
	if (i == SIZE_MAX)
		return;
	const struct safe_rule *rule = p->safe.values[i];
	switch (rule->kind) {
	case SAFE_CANARY:
		if (!prof->anti_circumvention)
			return;
		v->action = WARD_POLICY_NXDOMAIN;
		v->reason = WARD_REASON_CANARY;
		v->ede_code = EDE_FILTERED;
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

static int begin_verdict(const struct ward_policy *p, struct ward_catdb_reader *reader,
			 size_t profile, const char *name, size_t len,
			 struct ward_policy_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->action = WARD_POLICY_FORWARD;
	v->ede_code = EDE_NONE;
	v->profile = profile;
	if (profile < p->conf->n_profiles)
		v->profile_name = p->conf->profiles[profile].name;
	if (!reader)
		return 0;
	return ward_cat_lookup(reader, name, len, &v->match);
}

int ward_policy_decide(const struct ward_policy *p, struct ward_catdb_reader *reader,
		       size_t profile, const char *name, size_t len,
		       const struct ward_policy_time *now, struct ward_policy_verdict *v)
{
	int rc = begin_verdict(p, reader, profile, name, len, v);
	if (step_enforced(p, reader, v))
		return rc;
	if (profile >= p->conf->n_profiles)
		return rc;
	const struct ward_conf_profile *prof = &p->conf->profiles[profile];
	const struct profile_sets *sets = &p->profiles[profile];
	if (step_deny(sets, name, len, v))
		return rc;
	if (step_allow(sets, name, len, v))
		return rc;
	if (step_schedules_and_categories(p, reader, prof, now, true, v))
		return rc;
	step_rewrite(p, prof, name, len, v);
	return rc;
}

bool ward_policy_blocks_target(const struct ward_policy *p, struct ward_catdb_reader *reader,
			       size_t profile, const char *name, size_t len,
			       const struct ward_policy_time *now, struct ward_policy_verdict *v)
{
	begin_verdict(p, reader, profile, name, len, v);
	if (step_enforced(p, reader, v))
		return true;
	if (profile >= p->conf->n_profiles)
		return false;
	const struct ward_conf_profile *prof = &p->conf->profiles[profile];
	const struct profile_sets *sets = &p->profiles[profile];
	if (step_deny(sets, name, len, v))
		return true;
	if (step_allow(sets, name, len, v))
		return false;
	/* The asked name was already let through, so a bedtime "all" does not apply again to
	 * where it points; categories do, or a CNAME would launder a blocked name. */
	return step_schedules_and_categories(p, reader, prof, now, false, v);
}

const char *ward_policy_reason_name(enum ward_policy_reason reason)
{
	static const char *const names[] = {
		[WARD_REASON_NONE] = "none",         [WARD_REASON_ENFORCED] = "enforced",
		[WARD_REASON_DENY] = "deny",         [WARD_REASON_ALLOW] = "allow",
		[WARD_REASON_SCHEDULE_ALL] = "schedule", [WARD_REASON_CATEGORY] = "category",
		[WARD_REASON_CANARY] = "canary",     [WARD_REASON_SAFE_SEARCH] = "safe-search",
	};
	return reason <= WARD_REASON_SAFE_SEARCH ? names[reason] : "unknown";
}

const char *ward_policy_action_name(enum ward_policy_action action)
{
	static const char *const names[] = {
		[WARD_POLICY_FORWARD] = "forward",   [WARD_POLICY_BLOCK] = "block",
		[WARD_POLICY_NXDOMAIN] = "nxdomain", [WARD_POLICY_CNAME] = "cname",
		[WARD_POLICY_ADDRESS] = "address",
	};
	return action <= WARD_POLICY_ADDRESS ? names[action] : "unknown";
}
