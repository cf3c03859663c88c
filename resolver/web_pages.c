/*
 * The child's side of the web listener (no token): the block page, the device's page at
 * http://ward.home.arpa/ (recent blocks with the same explanations, its requests and
 * their status, the "report a site" form), the forms' confirmations, and the same data
 * as JSON (GET /api/v1/why, POST /api/v1/reports).
 *
 * Plain words, no JavaScript, one small page with its style inline (the block page is
 * served under the blocked site's own name, so it cannot load anything from ward's).
 * Every text that came from outside (a Host header, a name, a message, a feed name) goes
 * through web_buf_html().
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blocklists/admin.h"
#include "blocklists/error.h"
#include "blocklists/lookup.h"
#include "resolver/web_assets.h"
#include "resolver/web_internal.h"

#define RECENT_SHOWN WARD_WEB_RECENT_PER_CLIENT
#define REQUESTS_SHOWN 20

/* ---- static files and the page frame ------------------------------------------------------ */

bool web_static(const char *path, struct ward_web_response *resp)
{
	for (unsigned i = 0; i < ward_web_n_assets; i++) {
		const struct ward_web_asset *a = &ward_web_assets[i];
		if (strcmp(a->path, path) != 0)
			continue;
		resp->status = 200;
		resp->content_type = a->content_type;
		resp->cache = "max-age=300";
		web_buf_put(&resp->body, a->data, a->len);
		return true;
	}
	return false;
}

static const char *style(void)
{
	for (unsigned i = 0; i < ward_web_n_assets; i++)
		if (strcmp(ward_web_assets[i].path, "/static/style.css") == 0)
			return (const char *)ward_web_assets[i].data;
	return "";
}

static void page_begin(struct web_buf *b, const char *title)
{
	web_buf_puts(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
			"<meta name=\"robots\" content=\"noindex\"><title>");
	web_buf_html(b, title);
	web_buf_puts(b, "</title><style>");
	web_buf_puts(b, style());
	web_buf_puts(b, "</style></head><body><main>\n");
}

static void page_end(struct web_buf *b)
{
	web_buf_puts(b, "<footer>ward, the family filter on this network</footer>"
			"</main></body></html>\n");
}

static void html_response(struct ward_web_response *resp, unsigned status)
{
	resp->status = status;
	resp->content_type = "text/html; charset=utf-8";
	resp->cache = "no-store";
}

/* ---- words ------------------------------------------------------------------------------------ */

const char *web_category_words(const struct ward_conf *conf, unsigned bit, char *buf,
			       size_t cap)
{
	static const char *const words[WARD_CAT_BUILTIN_COUNT] = {
		"malware (software that attacks devices)", "phishing (fake sites that steal "
		"passwords)", "scams and fraud", "child sexual abuse material",
		"adult content (pornography)", "gambling (betting and casinos)", "violence",
		"drugs", "weapons", "hate", "dating", "social networks", "games",
		"video streaming", "chat", "proxies and VPNs (ways around the filter)",
		"piracy", "advertising", "tracking", "cryptocurrency", "fake news",
		"link shorteners", "dynamic DNS", "search without safe search", "hacking",
	};
	const char *name = conf ? ward_cat_name(conf->categories, bit) : NULL;
	snprintf(buf, cap, "%s", bit < WARD_CAT_BUILTIN_COUNT ? words[bit] : name ? name : "?");
	return buf;
}

/* "gambling (betting and casinos) and adult content (pornography)" */
static void categories_words(const struct ward_conf *conf, ward_catset set, char *buf,
			     size_t cap)
{
	char one[96];
	size_t o = 0;
	buf[0] = '\0';
	for (unsigned bit = 0; bit < WARD_CAT_MAX && o < cap; bit++) {
		if (!(set & WARD_CAT(bit)))
			continue;
		set &= ~WARD_CAT(bit);
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? (set ? ", " : " and ") : "",
				      web_category_words(conf, bit, one, sizeof(one)));
	}
}

/* "at 07:00", "tomorrow at 07:00", "on Monday at 07:00" for local time `at`. */
static void when_text(const struct ward_policy_time *now, const struct ward_policy_time *at,
		      char *buf, size_t cap)
{
	static const char *const days[] = {"Sunday", "Monday", "Tuesday", "Wednesday",
					   "Thursday", "Friday", "Saturday"};
	int64_t ahead = at->unix_s - now->unix_s;
	unsigned h = at->minute / 60u, m = at->minute % 60u;
	if (at->wday == now->wday && ahead < 86400)
		snprintf(buf, cap, "at %02u:%02u", h, m);
	else if (at->wday == (now->wday + 1) % 7 && ahead < 2 * 86400)
		snprintf(buf, cap, "tomorrow at %02u:%02u", h, m);
	else
		snprintf(buf, cap, "on %s at %02u:%02u", days[at->wday % 7], h, m);
}

/* Local time `seconds` from now (rounded up to the minute). */
static void local_after(const struct ward_policy_time *now, int64_t seconds,
			struct ward_policy_time *at)
{
	int64_t minutes = seconds > 0 ? (seconds + 59) / 60 : 0;
	int64_t total = now->minute + minutes;
	*at = *now;
	at->wday = (uint8_t)((now->wday + total / 1440) % 7);
	at->minute = (uint16_t)(total % 1440);
	at->unix_s = now->unix_s + minutes * 60;
}

static void ago_text(int64_t seconds, char *buf, size_t cap)
{
	if (seconds < 60)
		snprintf(buf, cap, "just now");
	else if (seconds < 3600)
		snprintf(buf, cap, "%lld min ago", (long long)(seconds / 60));
	else if (seconds < 86400)
		snprintf(buf, cap, "%lld h ago", (long long)(seconds / 3600));
	else
		snprintf(buf, cap, "%lld days ago", (long long)(seconds / 86400));
}

/* ---- explaining a verdict in plain words ------------------------------------------------------ */

struct explain {
	char kind[256];          /* what kind of site, in words */
	char why[256];           /* one sentence */
	const char *profile;     /* NULL: none */
	char list[64];           /* the feed that lists it, or "" */
	const char *schedule;    /* NULL: none */
	char reopen[64];         /* "at 07:00", or "" */
	bool enforced;           /* nobody can allow it */
	bool can_ask;            /* an "ask to allow" makes sense */
};

static void explain_list(struct ward_web_app *app, const struct ward_policy_verdict *v,
			 struct explain *e)
{
	char feeds[WARD_CATDB_MATCH_FEEDS][64];
	const struct ward_conf *conf = app->ps->conf;
	ward_lookup_feed_names(web_reader(app), &v->match, feeds);
	for (unsigned i = 0; i < v->match.n_feeds && i < WARD_CATDB_MATCH_FEEDS; i++) {
		bool lists = false;
		for (size_t f = 0; f < conf->n_feeds; f++)
			if (strcmp(conf->feeds[f].name, feeds[i]) == 0)
				lists = conf->feeds[f].categories & v->categories;
		if (lists || !e->list[0])
			snprintf(e->list, sizeof(e->list), "%.63s", feeds[i]);
		if (lists)
			break;
	}
}

static void explain_reopen(struct ward_web_app *app, const struct ward_policy_verdict *v,
			   const struct ward_policy_time *now, struct explain *e)
{
	struct ward_policy_time at;
	if (v->until > now->unix_s) {
		local_after(now, v->until - now->unix_s, &at);
		when_text(now, &at, e->reopen, sizeof(e->reopen));
	} else if (ward_policy_schedule_end(app->ps->policy, v, now, &at)) {
		when_text(now, &at, e->reopen, sizeof(e->reopen));
	}
}

static void explain_why(const struct ward_policy_verdict *v, struct explain *e)
{
	const char *p = v->profile_name ? v->profile_name : "this device";
	switch (v->reason) {
	case WARD_REASON_ENFORCED:
		snprintf(e->why, sizeof(e->why), "It is blocked for everyone on this network.");
		break;
	case WARD_REASON_OVERRIDE_DENY:
		snprintf(e->why, sizeof(e->why), "A parent blocked it%s.",
			 v->override_everyone ? " for everyone" : "");
		break;
	case WARD_REASON_PAUSED:
		snprintf(e->why, sizeof(e->why), "The internet is paused for %s.", p);
		break;
	case WARD_REASON_DENY:
		snprintf(e->why, sizeof(e->why), "It is on the block list of %s.", p);
		break;
	case WARD_REASON_SCHEDULE_ALL:
		snprintf(e->why, sizeof(e->why), "The internet is off for %s at this time.", p);
		break;
	case WARD_REASON_CANARY:
		snprintf(e->why, sizeof(e->why), "Devices use this name to get around the filter.");
		break;
	case WARD_REASON_LOOKUP_FAILED:
		snprintf(e->why, sizeof(e->why), "ward could not check it just now.");
		break;
	default:
		snprintf(e->why, sizeof(e->why), "%s%s blocks sites of this kind%s.",
			 v->profile_name ? "The profile " : "", p,
			 v->schedule_name ? " at this time" : "");
	}
}

static void explain(struct ward_web_app *app, const struct ward_policy_verdict *v,
		    const struct ward_policy_time *now, struct explain *e)
{
	const struct ward_conf *conf = app->ps->conf;
	memset(e, 0, sizeof(*e));
	categories_words(conf, v->categories, e->kind, sizeof(e->kind));
	explain_why(v, e);
	e->profile = v->profile_name;
	e->schedule = v->schedule_name;
	e->enforced = v->reason == WARD_REASON_ENFORCED || (v->categories & conf->enforced);
	e->can_ask = !e->enforced && v->reason != WARD_REASON_CANARY;
	explain_list(app, v, e);
	explain_reopen(app, v, now, e);
}

static void fact(struct web_buf *b, const char *label, const char *value)
{
	if (!value || !*value)
		return;
	web_buf_printf(b, "<dt>%s</dt><dd>", label);
	web_buf_html(b, value);
	web_buf_puts(b, "</dd>");
}

static void explain_html(struct web_buf *b, const struct explain *e)
{
	if (e->kind[0]) {
		web_buf_puts(b, "<p class=\"kind\">It is listed as <strong>");
		web_buf_html(b, e->kind);
		web_buf_puts(b, "</strong>.</p>");
	}
	web_buf_puts(b, "<p>");
	web_buf_html(b, e->why);
	web_buf_puts(b, "</p><dl class=\"facts\">");
	fact(b, "Profile", e->profile);
	fact(b, "List", e->list);
	fact(b, "Schedule", e->schedule);
	web_buf_puts(b, "</dl>");
	if (e->reopen[0]) {
		web_buf_puts(b, "<p class=\"reopen\">Allowed again ");
		web_buf_html(b, e->reopen);
		web_buf_puts(b, ".</p>");
	}
}

static void hotline_html(struct ward_web_app *app, struct web_buf *b)
{
	web_buf_puts(b, "<div class=\"hotline\">If you came across pictures or videos of a child "
			"being abused, tell a grown-up you trust and report it to your national "
			"hotline: <a href=\"");
	web_buf_html(b, app->boot->web.hotline_url);
	web_buf_puts(b, "\" rel=\"noreferrer\">find your country's hotline (INHOPE)</a>. Do not "
			"share the link or the pictures with anyone else.</div>");
}

/* The "ask to allow" form, posting to ward's own page (absolute: the block page lives
 * under the blocked name). */
static void ask_form(struct web_buf *b, const char *base, const char *name, bool full)
{
	web_buf_printf(b, "<form method=\"post\" action=\"%s/ask\">", base);
	web_buf_puts(b, "<input type=\"hidden\" name=\"name\" value=\"");
	web_buf_html(b, name);
	web_buf_puts(b, "\">");
	if (full)
		web_buf_puts(b, "<label for=\"message\">Why do you need it? (optional)</label>"
				"<textarea id=\"message\" name=\"message\" maxlength=\"500\"></textarea>");
	web_buf_printf(b, "<button type=\"submit\"%s>Ask to allow this site</button></form>",
		       full ? "" : " class=\"quiet small\"");
}

/* ---- the block page ------------------------------------------------------------------------------ */

/* The Host header as a wire name: "casino.example:80" -> casino.example.
 * @return false when it is no host name. */
static bool host_wire(const char *host, uint8_t *wire, char *text, size_t cap)
{
	struct ward_admin a = {0};
	size_t n = strcspn(host, ":");
	if (host[0] == '[' || n >= cap)
		return false;
	memcpy(text, host, n);
	text[n] = '\0';
	if (!ward_admin_name(&a, text, wire))
		return false;
	ward_name_to_text(wire, text, cap);
	return true;
}

/* The profile the device's DNS query got for this name, when its block was seen (a MAC
 * from the router may have picked another profile than the address does). */
static size_t device_profile(struct ward_web_app *app, const struct ward_web_request *req,
			     const uint8_t *wire)
{
	struct ward_record recs[RECENT_SHOWN];
	uint8_t keys[2][16];
	size_t nk = web_device_keys(&req->client, keys);
	for (size_t k = 0; k < nk; k++) {
		size_t n = web_recent_get(app->recent, keys[k], recs, RECENT_SHOWN);
		for (size_t i = 0; i < n; i++)
			if (ward_name_wire_len(recs[i].name) == ward_name_wire_len(wire) &&
			    memcmp(recs[i].name, wire, ward_name_wire_len(wire)) == 0 &&
			    recs[i].policy_generation == app->ps->generation &&
			    recs[i].profile < app->ps->conf->n_profiles)
				return recs[i].profile;
	}
	return web_client_profile(app, &req->client);
}

static void block_page_allowed(struct ward_web_app *app, struct web_buf *b, const char *name)
{
	page_begin(b, "Not blocked");
	web_buf_puts(b, "<div class=\"card\"><span class=\"badge ok\">Not blocked</span>"
			"<p class=\"name\">");
	web_buf_html(b, name);
	web_buf_printf(b, "</p><p>ward does not block this site for this device now. Your "
			  "device may remember the old answer for up to %u seconds: try again in "
			  "a minute.</p></div>", app->ps->conf->block.ttl);
	page_end(b);
}

void web_page_block(struct ward_web_app *app, const struct ward_web_request *req,
		    struct ward_web_response *resp)
{
	uint8_t wire[WARD_WIRE_NAME_MAX];
	char name[WARD_NAME_TEXT_MAX], base[300];
	struct ward_policy_verdict v;
	struct ward_policy_time now;
	struct explain e;
	struct web_buf *b = &resp->body;
	html_response(resp, 400);
	if (!app->ps || !host_wire(req->host, wire, name, sizeof(name))) {
		page_begin(b, "Bad request");
		web_buf_puts(b, "<div class=\"card\"><p>This is not a site name.</p></div>");
		page_end(b);
		return;
	}
	web_decide(app, wire, device_profile(app, req, wire), &v);
	if (v.action != WARD_POLICY_BLOCK && v.action != WARD_POLICY_NXDOMAIN) {
		html_response(resp, 200);
		block_page_allowed(app, b, name);
		return;
	}
	html_response(resp, 403);
	web_now(app, &now);
	explain(app, &v, &now, &e);
	web_base_url(app, req->port, base, sizeof(base));
	page_begin(b, "Blocked");
	web_buf_printf(b, "<div class=\"card stop\"><span class=\"badge\">Blocked%s</span>"
			  "<h1 class=\"name\">", e.enforced ? " for everyone" : "");
	web_buf_html(b, name);
	web_buf_puts(b, "</h1>");
	explain_html(b, &e);
	if (e.can_ask)
		ask_form(b, base, name, true);
	if (v.categories & WARD_CAT(WARD_CAT_CSAM))
		hotline_html(app, b);
	web_buf_printf(b, "</div><p><a href=\"%s/\">What else was blocked on this device</a></p>",
		       base);
	page_end(b);
}

/* ---- a device's recent blocks ----------------------------------------------------------------- */

/* One recent block as a verdict at the time it happened, with today's database entry. */
static void record_verdict(struct ward_web_app *app, const struct ward_record *r,
			   struct ward_policy_verdict *v, struct ward_policy_verdict *now_v)
{
	const struct ward_conf *conf = app->ps->conf;
	size_t profile = r->profile < conf->n_profiles ? r->profile : (size_t)-1;
	web_decide(app, r->name, profile, now_v);
	memset(v, 0, sizeof(*v));
	v->action = (enum ward_policy_action)r->action;
	v->reason = (enum ward_policy_reason)r->reason;
	v->categories = r->categories;
	v->profile = profile;
	v->profile_name = now_v->profile_name;
	v->override_id = r->override_id;
	v->until = r->until;
	v->match = now_v->match;
	if (profile != (size_t)-1 && r->schedule < conf->profiles[profile].n_schedules)
		v->schedule_name = conf->profiles[profile].schedules[r->schedule].name;
}

static bool blocking(const struct ward_policy_verdict *v)
{
	return v->action == WARD_POLICY_BLOCK || v->action == WARD_POLICY_NXDOMAIN;
}

/* The device's recent blocks, merged over its keys (address and MAC), newest first. */
static size_t device_blocks(struct ward_web_app *app, const struct ward_addr *client,
			    struct ward_record *out, size_t cap)
{
	uint8_t keys[2][16];
	size_t nk = web_device_keys(client, keys), n = 0;
	for (size_t k = 0; k < nk && n < cap; k++)
		n += web_recent_get(app->recent, keys[k], out + n, cap - n);
	for (size_t i = 1; i < n; i++) /* insertion sort, newest first: n is small */
		for (size_t j = i; j > 0 && out[j].unix_s > out[j - 1].unix_s; j--) {
			struct ward_record t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static void recent_item_html(struct ward_web_app *app, struct web_buf *b,
			     const struct ward_record *r, const char *base,
			     const struct ward_policy_time *now)
{
	struct ward_policy_verdict v, now_v;
	struct explain e;
	char name[WARD_NAME_TEXT_MAX], ago[32];
	record_verdict(app, r, &v, &now_v);
	explain(app, blocking(&now_v) ? &now_v : &v, now, &e);
	ward_name_to_text(r->name, name, sizeof(name));
	ago_text(now->unix_s - r->unix_s, ago, sizeof(ago));
	web_buf_puts(b, "<li><div class=\"name\">");
	web_buf_html(b, name);
	web_buf_printf(b, "</div><span class=\"badge%s\">%s</span> <span class=\"muted\">%s"
			  "</span>", blocking(&now_v) ? "" : " ok",
		       blocking(&now_v) ? "Blocked" : "Allowed now", ago);
	explain_html(b, &e);
	if (blocking(&now_v) && e.can_ask)
		ask_form(b, base, name, false);
	web_buf_puts(b, "</li>");
}

static const char *status_words(const struct ward_report *r)
{
	switch (r->status) {
	case WARD_REPORT_ACCEPTED:
		return r->kind == WARD_REPORT_WRONGLY_BLOCKED ? "allowed by a parent"
							      : "blocked by a parent";
	case WARD_REPORT_REJECTED:
		return r->kind == WARD_REPORT_WRONGLY_BLOCKED ? "not allowed" : "left as it is";
	default:
		return "waiting for a parent";
	}
}

static void requests_html(struct ward_web_app *app, struct web_buf *b,
			  const struct ward_addr *client)
{
	struct ward_admin a;
	struct ward_web_request req = {.client = *client};
	struct ward_report *list = NULL;
	size_t n = 0;
	char text[64], name[WARD_NAME_TEXT_MAX];
	web_client_text(client, text, sizeof(text));
	if (!web_admin_init(app, &req, &a) || ward_reports_list(a.db, text, &list, &n) != 0 || !n) {
		free(list);
		return;
	}
	web_buf_puts(b, "<h2 id=\"requests\">Your requests</h2><div class=\"card\"><ul class=\"plain\">");
	for (size_t i = 0; i < n && i < REQUESTS_SHOWN; i++) {
		const char *cls = list[i].status == WARD_REPORT_PENDING ? " wait"
				  : list[i].status == WARD_REPORT_ACCEPTED ? " ok" : "";
		ward_name_to_text(list[i].name, name, sizeof(name));
		web_buf_puts(b, "<li><strong>");
		web_buf_html(b, name);
		web_buf_printf(b, "</strong> <span class=\"muted\">%s</span><br><span class=\"badge%s\">"
				  "%s</span></li>",
			       list[i].kind == WARD_REPORT_WRONGLY_BLOCKED ? "asked to allow"
									   : "reported",
			       cls, status_words(&list[i]));
	}
	web_buf_puts(b, "</ul></div>");
	free(list);
}

static void report_form_html(struct ward_web_app *app, struct web_buf *b)
{
	char words[96];
	const struct ward_conf *conf = app->ps->conf;
	web_buf_puts(b, "<h2>Report a site that should be blocked</h2><div class=\"card\">"
			"<form method=\"post\" action=\"/report\"><label for=\"rname\">Site</label>"
			"<input type=\"text\" id=\"rname\" name=\"name\" placeholder=\"example.com\" "
			"autocapitalize=\"off\" required><label for=\"rcat\">What is on it?</label>"
			"<select id=\"rcat\" name=\"category\">");
	for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++) {
		const char *n = ward_cat_name(conf->categories, bit);
		if (!n || bit == WARD_CAT_ADS || bit == WARD_CAT_TRACKING ||
		    bit == WARD_CAT_NOSAFESEARCH || bit == WARD_CAT_DYNDNS)
			continue;
		web_buf_puts(b, "<option value=\"");
		web_buf_html(b, n);
		web_buf_printf(b, "\"%s>", bit == WARD_CAT_ADULT ? " selected" : "");
		web_buf_html(b, web_category_words(conf, bit, words, sizeof(words)));
		web_buf_puts(b, "</option>");
	}
	web_buf_puts(b, "</select><label for=\"rmsg\">Anything else? (optional)</label>"
			"<textarea id=\"rmsg\" name=\"message\" maxlength=\"500\"></textarea>"
			"<button type=\"submit\">Report this site</button></form>");
	hotline_html(app, b);
	web_buf_puts(b, "</div>");
}

void web_page_home(struct ward_web_app *app, const struct ward_web_request *req,
		   struct ward_web_response *resp)
{
	struct ward_record recs[2 * RECENT_SHOWN];
	struct ward_policy_time now;
	char base[300], client[64];
	struct web_buf *b = &resp->body;
	html_response(resp, 200);
	page_begin(b, "ward: blocked on this device");
	if (!app->ps) {
		web_buf_puts(b, "<p>ward is starting.</p>");
		page_end(b);
		return;
	}
	web_now(app, &now);
	web_base_url(app, req->port, base, sizeof(base));
	web_client_text(&req->client, client, sizeof(client));
	size_t profile = web_client_profile(app, &req->client);
	web_buf_puts(b, "<h1>Blocked on this device</h1><p class=\"muted\">This device: ");
	web_buf_html(b, client);
	if (profile < app->ps->conf->n_profiles) {
		web_buf_puts(b, ", profile ");
		web_buf_html(b, app->ps->conf->profiles[profile].name);
	}
	web_buf_puts(b, "</p><div class=\"card\">");
	size_t n = device_blocks(app, &req->client, recs, 2 * RECENT_SHOWN);
	if (n == 0)
		web_buf_puts(b, "<p>Nothing was blocked on this device lately.</p>");
	web_buf_puts(b, "<ul class=\"plain\">");
	for (size_t i = 0; i < n && i < RECENT_SHOWN; i++)
		recent_item_html(app, b, &recs[i], base, &now);
	web_buf_puts(b, "</ul></div>");
	requests_html(app, b, &req->client);
	report_form_html(app, b);
	page_end(b);
}

/* ---- reports from a child ------------------------------------------------------------------------ */

/* What blocks `wire` for the client now, as a category name ("" when nothing does). */
static void blocking_category(struct ward_web_app *app, const uint8_t *wire, size_t profile,
			      char *out, size_t cap)
{
	struct ward_policy_verdict v;
	out[0] = '\0';
	if (!web_decide(app, wire, profile, &v) || !blocking(&v))
		return;
	for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++) {
		const char *n = ward_cat_name(app->ps->conf->categories, bit);
		if ((v.categories & WARD_CAT(bit)) && n) {
			snprintf(out, cap, "%s", n);
			return;
		}
	}
}

/* The child's report, from a form or the API. @return the HTTP status (201 ok); msg says
 * why not. */
static unsigned child_report(struct ward_web_app *app, const struct ward_web_request *req,
			     const char *name, enum ward_report_kind kind, const char *category,
			     const char *message, struct ward_report *out, bool *merged,
			     char *msg, size_t cap)
{
	struct ward_admin a;
	uint8_t key[16], wire[WARD_WIRE_NAME_MAX];
	char client[64], blocked_as[WARD_OVERRIDE_CATEGORY_MAX];
	if (!web_admin_init(app, req, &a)) {
		snprintf(msg, cap, "ward is starting: try again soon");
		return 503;
	}
	web_addr_key(&req->client, key);
	if (!web_limiter_take(app->report_limit, key, a.now)) {
		snprintf(msg, cap, "You sent a lot of requests in the last hour. "
				   "Please wait a while, or ask a parent directly.");
		return 429;
	}
	size_t profile = web_client_profile(app, &req->client);
	web_client_text(&req->client, client, sizeof(client));
	if (kind == WARD_REPORT_WRONGLY_BLOCKED && ward_admin_name(&a, name, wire)) {
		blocking_category(app, wire, profile, blocked_as, sizeof(blocked_as));
		category = blocked_as;
	}
	int rc = ward_admin_report(&a, client, profile < a.conf->n_profiles
				   ? a.conf->profiles[profile].name : "", name, kind, category,
				   message, out, merged);
	if (rc == 0)
		return 201;
	snprintf(msg, cap, "%s", a.error[0] ? a.error : ward_strerror(rc));
	return rc == WARD_ENOMEM ? 429 : rc == WARD_EINVAL ? 400 : 500;
}

static void confirmation_html(struct ward_web_app *app, struct web_buf *b, const char *base,
			      const struct ward_report *r, bool merged)
{
	char name[WARD_NAME_TEXT_MAX];
	ward_name_to_text(r->name, name, sizeof(name));
	bool ask = r->kind == WARD_REPORT_WRONGLY_BLOCKED;
	web_buf_printf(b, "<div class=\"card\"><span class=\"badge wait\">Sent</span><h1>%s</h1>"
			  "<p class=\"name\">", ask ? "Your request was sent" : "Thank you");
	web_buf_html(b, name);
	web_buf_printf(b, "</p><p>%s A parent will look at it.%s</p>",
		       ask ? "You asked to allow this site." : "You reported this site.",
		       merged ? " (You had asked before: your new message was added.)" : "");
	if (!ask && strcmp(r->category, "csam") == 0)
		hotline_html(app, b);
	web_buf_printf(b, "<p>You can see the answer on <a href=\"%s/#requests\">ward's page for "
			  "this device</a>.</p></div>", base);
}

void web_page_ask(struct ward_web_app *app, const struct ward_web_request *req,
		  struct ward_web_response *resp, bool report)
{
	char name[300] = "", category[64] = "", msg[256], base[300];
	char *message = malloc(WARD_WEB_BODY_MAX + 1);
	struct ward_report r;
	bool merged = false;
	unsigned status = 400;
	snprintf(msg, sizeof(msg), "The form was not filled in.");
	const char *ct = req->content_type;
	if (message && ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0 &&
	    web_form_value(req->body, req->body_len, "name", name, sizeof(name))) {
		if (!web_form_value(req->body, req->body_len, "message", message,
				    WARD_WEB_BODY_MAX + 1))
			message[0] = '\0';
		web_form_value(req->body, req->body_len, "category", category, sizeof(category));
		status = child_report(app, req, name, report ? WARD_REPORT_SHOULD_BE_BLOCKED
							    : WARD_REPORT_WRONGLY_BLOCKED,
				      category, message, &r, &merged, msg, sizeof(msg));
	}
	free(message);
	web_base_url(app, req->port, base, sizeof(base));
	html_response(resp, status == 201 ? 200 : status);
	page_begin(&resp->body, status == 201 ? "Sent" : "Not sent");
	if (status == 201) {
		confirmation_html(app, &resp->body, base, &r, merged);
	} else {
		web_buf_puts(&resp->body, "<div class=\"card\"><h1>Not sent</h1><p class=\"error\">");
		web_buf_html(&resp->body, msg);
		web_buf_printf(&resp->body, "</p><p><a href=\"%s/\">Back</a></p></div>", base);
	}
	page_end(&resp->body);
}

/* ---- the same as JSON ---------------------------------------------------------------------------- */

void web_api_report(struct ward_web_app *app, const struct ward_web_request *req,
		    struct ward_web_response *resp)
{
	char msg[256];
	struct ward_report r;
	bool merged;
	const char *ct = req->content_type;
	if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
		web_json_error(resp, 400, "the body must be JSON (Content-Type: application/json)");
		return;
	}
	cJSON *body = cJSON_ParseWithLength(req->body ? req->body : "", req->body_len);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "name");
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(body, "kind");
	const cJSON *message = cJSON_GetObjectItemCaseSensitive(body, "message");
	const cJSON *category = cJSON_GetObjectItemCaseSensitive(body, "category");
	if (!cJSON_IsObject(body) || !cJSON_IsString(name) || !cJSON_IsString(kind) ||
	    (message && !cJSON_IsString(message)) || (category && !cJSON_IsString(category)) ||
	    !ward_report_kind_parse(kind->valuestring)) {
		web_json_error(resp, 400, "expected {\"name\": NAME, \"kind\": \"wrongly-blocked\" "
			       "or \"should-be-blocked\", \"message\": TEXT, \"category\": NAME}");
		cJSON_Delete(body);
		return;
	}
	unsigned status = child_report(app, req, name->valuestring,
				       ward_report_kind_parse(kind->valuestring),
				       category ? category->valuestring : NULL,
				       message ? message->valuestring : NULL, &r, &merged, msg,
				       sizeof(msg));
	cJSON_Delete(body);
	if (status != 201) {
		web_json_error(resp, status, "%s", msg);
		return;
	}
	cJSON *o = cJSON_CreateObject(), *j = ward_admin_report_json(&r);
	cJSON_DeleteItemFromObject(j, "client"); /* the child sees no other device's data */
	cJSON_AddBoolToObject(j, "merged", merged);
	cJSON_AddItemToObject(o, "report", j);
	web_json(resp, 201, o);
}

static cJSON *block_json(struct ward_web_app *app, const struct ward_record *r,
			 const struct ward_policy_time *now)
{
	struct ward_policy_verdict v, now_v;
	struct explain e;
	char name[WARD_NAME_TEXT_MAX];
	record_verdict(app, r, &v, &now_v);
	explain(app, blocking(&now_v) ? &now_v : &v, now, &e);
	ward_name_to_text(r->name, name, sizeof(name));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddNumberToObject(o, "time", (double)r->unix_s);
	cJSON_AddStringToObject(o, "reason", ward_policy_reason_name(v.reason));
	cJSON_AddStringToObject(o, "kind", e.kind);
	cJSON_AddStringToObject(o, "why", e.why);
	cJSON_AddStringToObject(o, "profile", e.profile ? e.profile : "");
	cJSON_AddStringToObject(o, "list", e.list);
	cJSON_AddStringToObject(o, "schedule", e.schedule ? e.schedule : "");
	cJSON_AddBoolToObject(o, "blocked_now", blocking(&now_v));
	cJSON_AddStringToObject(o, "allowed_again", e.reopen);
	return o;
}

void web_api_why(struct ward_web_app *app, const struct ward_web_request *req,
		 struct ward_web_response *resp)
{
	struct ward_record recs[2 * RECENT_SHOWN];
	struct ward_policy_time now;
	struct ward_admin a;
	char client[64];
	if (!web_admin(app, req, &a, resp))
		return;
	web_now(app, &now);
	web_client_text(&req->client, client, sizeof(client));
	size_t profile = web_client_profile(app, &req->client);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "client", client);
	if (profile < a.conf->n_profiles)
		cJSON_AddStringToObject(o, "profile", a.conf->profiles[profile].name);
	else
		cJSON_AddNullToObject(o, "profile");
	cJSON *blocks = cJSON_AddArrayToObject(o, "blocks");
	size_t n = device_blocks(app, &req->client, recs, 2 * RECENT_SHOWN);
	for (size_t i = 0; i < n && i < RECENT_SHOWN; i++)
		cJSON_AddItemToArray(blocks, block_json(app, &recs[i], &now));
	cJSON *reqs = cJSON_AddArrayToObject(o, "requests");
	struct ward_report *list = NULL;
	size_t nr = 0;
	if (ward_reports_list(a.db, client, &list, &nr) == 0)
		for (size_t i = 0; i < nr && i < REQUESTS_SHOWN; i++) {
			cJSON *j = ward_admin_report_json(&list[i]);
			cJSON_DeleteItemFromObject(j, "client");
			cJSON_AddItemToArray(reqs, j);
		}
	free(list);
	web_json(resp, 200, o);
}
