/*
 * The devices on the network, for the admin pages (docs/api.md):
 *
 *   GET    /api/v1/devices      every device ward knows of, newest first: the ones the
 *                               workers have seen (resolver/stats.h: address, MAC from a
 *                               trusted forwarder, first and last seen, queries today),
 *                               the ones with a DHCP lease (`dhcp_leases`) that have not
 *                               asked yet, and the ones a `clients` entry names; each with
 *                               its name (web_device_name, as in /api/v1/stats) and
 *                               the profile it gets now
 *   PUT    /api/v1/devices/ID   {"profile": "kids", "name": "tablet"}: adds or changes
 *                               the device's `clients` entry
 *   DELETE /api/v1/devices/ID   removes it (the device gets default_profile again)
 *
 * ID is the device's MAC ("aa:bb:cc:dd:ee:ff") when it is known to be matched by MAC (a
 * trusted forwarder sends it, or its entry matches by MAC), else its address: the list
 * gives every device the ID under which an entry for it takes effect. A change goes
 * through the config API (web_config_replace): the same validation, write and reload.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blocklists/error.h"
#include "blocklists/leases.h"
#include "blocklists/lookup.h"
#include "resolver/stats.h"
#include "resolver/web_internal.h"

#define DEVICES_MAX 1000    /* listed at most (newest first) */
#define CLIENTS_SCANNED 4096 /* single-device entries looked at */

struct dev {
	const struct ward_device *seen;
	const struct ward_lease *lease;
	const struct ward_conf_client *client;
	bool has_addr, has_mac, lease_mac; /* has_mac: matched by MAC (router or entry) */
	uint8_t addr[16];
	uint8_t mac[6];
};

struct devlist {
	struct dev *v;
	size_t n;
	bool truncated;
	struct ward_device *seen;  /* owned */
	struct ward_lease *leases; /* owned */
	size_t n_leases;
	const struct ward_conf *conf;
};

static struct dev *add(struct devlist *l)
{
	if (l->n == DEVICES_MAX) {
		l->truncated = true;
		return NULL;
	}
	struct dev *d = &l->v[l->n++];
	memset(d, 0, sizeof(*d));
	return d;
}

static struct dev *find_mac(struct devlist *l, const uint8_t mac[6], bool lease_too)
{
	for (size_t i = 0; i < l->n; i++)
		if ((l->v[i].has_mac || (lease_too && l->v[i].lease_mac)) &&
		    memcmp(l->v[i].mac, mac, 6) == 0)
			return &l->v[i];
	return NULL;
}

static struct dev *find_addr(struct devlist *l, const uint8_t addr[16])
{
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].has_mac && l->v[i].has_addr && memcmp(l->v[i].addr, addr, 16) == 0)
			return &l->v[i];
	return NULL;
}

static void collect_seen(struct ward_web_app *app, struct devlist *l)
{
	struct ward_stats *per_worker[64];
	struct ward_policy_time now;
	unsigned n = app->n_workers < 64 ? app->n_workers : 64;
	for (unsigned i = 0; i < n; i++)
		per_worker[i] = app->workers[i].qstats;
	web_now(app, &now);
	int count = ward_stats_devices(per_worker, n, ward_stats_local_day(now.unix_s, now.minute),
				       &l->seen);
	for (int i = 0; i < count; i++) {
		struct dev *d = add(l);
		if (!d)
			break;
		d->seen = &l->seen[i];
		d->has_addr = true;
		memcpy(d->addr, l->seen[i].addr, 16);
		d->has_mac = l->seen[i].has_mac;
		memcpy(d->mac, l->seen[i].mac, 6);
	}
}

static void collect_leases(struct devlist *l, int64_t now)
{
	if (!l->conf->dhcp_leases ||
	    ward_leases_load(l->conf->dhcp_leases, &l->leases, &l->n_leases) != 0)
		return;
	bool by_mac = l->conf->n_trusted_forwarders > 0;
	for (size_t i = 0; i < l->n_leases; i++) {
		const struct ward_lease *ls = &l->leases[i];
		if (ls->expires && ls->expires < now)
			continue;
		struct dev *d = ls->has_mac ? find_mac(l, ls->mac, false) : NULL;
		if (!d)
			d = find_addr(l, ls->addr);
		if (!d && (d = add(l)) != NULL) {
			d->has_addr = true;
			memcpy(d->addr, ls->addr, 16);
			/* Behind a router that sends MACs, a new device is matched by MAC. */
			d->has_mac = ls->has_mac && by_mac;
			memcpy(d->mac, ls->mac, 6);
		}
		if (d && !d->lease) {
			d->lease = ls;
			d->lease_mac = ls->has_mac;
			if (ls->has_mac && !d->has_mac)
				memcpy(d->mac, ls->mac, 6);
		}
	}
}

/* An entry for exactly one device: a MAC, or an address with its full prefix. */
static bool single(const struct ward_conf_client *c, uint8_t addr[16])
{
	if (c->kind == WARD_CLIENT_MAC)
		return true;
	memset(addr, 0, 16);
	if (c->cidr.family == AF_INET && c->cidr.prefix == 32) {
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, c->cidr.addr, 4);
		return true;
	}
	memcpy(addr, c->cidr.addr, 16);
	return c->cidr.family == AF_INET6 && c->cidr.prefix == 128;
}

static void collect_clients(struct devlist *l)
{
	uint8_t addr[16];
	for (size_t i = 0; i < l->conf->n_clients && i < CLIENTS_SCANNED; i++) {
		const struct ward_conf_client *c = &l->conf->clients[i];
		if (!single(c, addr))
			continue;
		bool mac = c->kind == WARD_CLIENT_MAC;
		struct dev *d = mac ? find_mac(l, c->mac, true) : find_addr(l, addr);
		if (!d && (d = add(l)) != NULL) {
			d->has_addr = !mac;
			memcpy(d->addr, addr, 16);
		}
		if (d && !d->client) {
			d->client = c;
			if (mac) {
				d->has_mac = true;
				memcpy(d->mac, c->mac, 6);
			}
		}
	}
}

/* ---- a device's name ------------------------------------------------------------------------ */

const char *web_device_name(const struct ward_conf *conf, const struct ward_device *d,
			    const struct ward_lease *lease)
{
	const struct ward_conf_client *c = ward_stats_device_client(conf, d);
	const char *host = lease && lease->name[0] ? lease->name : NULL;
	uint8_t addr[16];
	if (c && c->name && (!host || single(c, addr)))
		return c->name;
	return host;
}

const struct ward_lease *web_device_lease(const struct ward_lease *leases, size_t n,
					  int64_t now, const struct ward_device *d)
{
	for (size_t i = 0; i < n; i++) {
		const struct ward_lease *ls = &leases[i];
		if (ls->expires && ls->expires < now)
			continue;
		if (d->has_mac ? ls->has_mac && memcmp(ls->mac, d->mac, 6) == 0
			       : memcmp(ls->addr, d->addr, 16) == 0)
			return ls;
	}
	return NULL;
}

/* The name of a listed device: the same as for its row in /api/v1/stats. */
static const char *dev_name(const struct ward_conf *conf, const struct dev *d)
{
	struct ward_device key = {.has_mac = d->has_mac};
	memcpy(key.addr, d->addr, 16);
	memcpy(key.mac, d->mac, 6);
	return web_device_name(conf, &key, d->lease);
}

/* ---- the list as JSON ----------------------------------------------------------------------- */

static const char *addr_text(const uint8_t addr[16], char *buf, size_t cap)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(addr, mapped, 12) == 0)
		return inet_ntop(AF_INET, addr + 12, buf, (socklen_t)cap);
	return inet_ntop(AF_INET6, addr, buf, (socklen_t)cap);
}

static const char *mac_text(const uint8_t mac[6], char *buf, size_t cap)
{
	snprintf(buf, cap, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}

/* The profile the device gets now: its MAC entry, else by the address it asks from. */
static const char *profile_of(const struct ward_web_app *app, const struct dev *d)
{
	const struct ward_conf *conf = app->ps->conf;
	size_t p = (size_t)-1;
	for (size_t i = 0; d->has_mac && i < conf->n_clients && p == (size_t)-1; i++)
		if (conf->clients[i].kind == WARD_CLIENT_MAC &&
		    memcmp(conf->clients[i].mac, d->mac, 6) == 0)
			p = conf->clients[i].profile;
	if (p == (size_t)-1 && d->has_addr) {
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
		memcpy(&sa.sin6_addr, d->addr, 16);
		p = ward_policy_profile_for(app->ps->policy, (struct sockaddr *)&sa, NULL, NULL);
	} else if (p == (size_t)-1 && conf->n_profiles) {
		p = conf->default_profile;
	}
	return p < conf->n_profiles ? conf->profiles[p].name : NULL;
}

static void add_str(cJSON *o, const char *key, const char *value)
{
	if (value && *value)
		cJSON_AddStringToObject(o, key, value);
	else
		cJSON_AddNullToObject(o, key);
}

static void add_seen(cJSON *o, const struct ward_device *s)
{
	char addr[INET6_ADDRSTRLEN];
	cJSON_AddBoolToObject(o, "seen", s != NULL);
	if (!s)
		return;
	/* Where its queries come from: its own address, or the router's for a device known
	 * by the MAC the router adds (what ward lookup --client / the test endpoint take). */
	cJSON_AddStringToObject(o, "asks_from", addr_text(s->addr, addr, sizeof(addr)));
	cJSON_AddNumberToObject(o, "first_seen", (double)s->first_seen);
	cJSON_AddNumberToObject(o, "last_seen", (double)s->last_seen);
	cJSON_AddNumberToObject(o, "queries_today", (double)s->queries_today);
	cJSON_AddNumberToObject(o, "blocked_today", (double)s->blocked_today);
	cJSON_AddNumberToObject(o, "queries", (double)s->queries);
	cJSON_AddNumberToObject(o, "blocked", (double)s->blocked);
}

static cJSON *device_json(const struct ward_web_app *app, const struct dev *d)
{
	char mac[24], addr[INET6_ADDRSTRLEN];
	const uint8_t *shown = d->seen && d->has_mac && d->lease ? d->lease->addr : d->addr;
	bool any_mac = d->has_mac || d->lease_mac;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", d->has_mac ? mac_text(d->mac, mac, sizeof(mac))
						    : addr_text(d->addr, addr, sizeof(addr)));
	add_str(o, "name", dev_name(app->ps->conf, d));
	add_str(o, "hostname", d->lease ? d->lease->name : NULL);
	add_str(o, "address", d->has_addr || d->lease ? addr_text(shown, addr, sizeof(addr))
						      : NULL);
	add_str(o, "mac", any_mac ? mac_text(d->mac, mac, sizeof(mac)) : NULL);
	add_str(o, "matched_by", d->has_mac ? "mac" : "address");
	add_str(o, "profile", profile_of(app, d));
	cJSON_AddBoolToObject(o, "assigned", d->client != NULL);
	add_seen(o, d->seen);
	if (d->lease)
		cJSON_AddNumberToObject(o, "lease_expires", (double)d->lease->expires);
	return o;
}

static void devices_get(struct ward_web_app *app, struct ward_web_response *resp)
{
	struct devlist l = {.conf = app->ps->conf};
	l.v = calloc(DEVICES_MAX, sizeof(*l.v));
	if (!l.v) {
		web_json_error(resp, 500, "out of memory");
		return;
	}
	collect_seen(app, &l);
	collect_leases(&l, atomic_load(&app->shared->unix_now));
	collect_clients(&l);
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(o, "devices");
	for (size_t i = 0; i < l.n; i++)
		cJSON_AddItemToArray(arr, device_json(app, &l.v[i]));
	cJSON_AddBoolToObject(o, "truncated", l.truncated);
	add_str(o, "default_profile", l.conf->n_profiles
				      ? l.conf->profiles[l.conf->default_profile].name : NULL);
	cJSON_AddBoolToObject(o, "dhcp_leases", l.conf->dhcp_leases != NULL);
	free(l.v);
	free(l.seen);
	free(l.leases);
	web_json(resp, 200, o);
}

/* ---- changing a device's entry ----------------------------------------------------------------- */

struct dev_id {
	bool mac;
	uint8_t bytes[16]; /* MAC, or the address as a full-length prefix */
	struct ward_cidr host;
	char text[INET6_ADDRSTRLEN];
};

static bool parse_dev_id(const char *text, struct dev_id *id)
{
	memset(id, 0, sizeof(*id));
	if (ward_lookup_parse_mac(text, id->bytes) == 0) {
		id->mac = true;
		mac_text(id->bytes, id->text, sizeof(id->text));
		return true;
	}
	if (strchr(text, '/') || ward_cidr_parse(text, &id->host) != 0)
		return false;
	inet_ntop(id->host.family, id->host.addr, id->text, sizeof(id->text));
	return true;
}

static bool entry_is(const cJSON *entry, const struct dev_id *id)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(entry, "match");
	uint8_t mac[6];
	struct ward_cidr c;
	if (!cJSON_IsString(m))
		return false;
	if (id->mac)
		return ward_lookup_parse_mac(m->valuestring, mac) == 0 &&
		       memcmp(mac, id->bytes, 6) == 0;
	return ward_cidr_parse(m->valuestring, &c) == 0 && c.family == id->host.family &&
	       c.prefix == id->host.prefix && memcmp(c.addr, id->host.addr, 16) == 0;
}

/* key: value in obj, in place when there (the entry keeps its order), else added. */
static bool set_string(cJSON *obj, const char *key, const char *value)
{
	cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (cJSON_IsString(item))
		return cJSON_SetValuestring(item, value) != NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	return cJSON_AddStringToObject(obj, key, value) != NULL;
}

/* The body's "profile" and "name" into the device's entry (created when missing).
 * @return the entry, or NULL with resp written. */
static cJSON *edit_entry(cJSON *clients, const struct dev_id *id, const cJSON *body,
			 struct ward_web_response *resp)
{
	const cJSON *profile = cJSON_GetObjectItemCaseSensitive(body, "profile");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "name");
	cJSON *entry = NULL;
	for (cJSON *e = clients->child; e && !entry; e = e->next)
		if (entry_is(e, id))
			entry = e;
	if ((profile && !cJSON_IsString(profile)) ||
	    (name && !cJSON_IsString(name) && !cJSON_IsNull(name))) {
		web_json_error(resp, 400, "\"profile\" must be a string, \"name\" a string or null");
		return NULL;
	}
	if (!entry && !profile) {
		web_json_error(resp, 400, "\"profile\" is needed: %s has no entry yet", id->text);
		return NULL;
	}
	if (!entry) {
		entry = cJSON_CreateObject();
		cJSON_AddStringToObject(entry, "match", id->text);
		cJSON_AddItemToArray(clients, entry);
	}
	bool ok = !profile || set_string(entry, "profile", profile->valuestring);
	if (name && cJSON_IsString(name) && *name->valuestring)
		ok = ok && set_string(entry, "name", name->valuestring);
	else if (name)
		cJSON_DeleteItemFromObjectCaseSensitive(entry, "name");
	if (!ok)
		web_json_error(resp, 500, "out of memory");
	return ok ? entry : NULL;
}

static bool drop_entry(cJSON *clients, const struct dev_id *id, struct ward_web_response *resp)
{
	int i = 0;
	for (cJSON *e = clients->child; e; e = e->next, i++) {
		if (entry_is(e, id)) {
			cJSON_DeleteItemFromArray(clients, i);
			return true;
		}
	}
	web_json_error(resp, 404, "%s has no entry in \"clients\"", id->text);
	return false;
}

/* The config as JSON, with its "clients" array (added when missing). */
static cJSON *config_clients(struct ward_web_app *app, char etag[WARD_WEB_ETAG_SIZE],
			     cJSON **clients, struct ward_web_response *resp)
{
	char *text;
	size_t len;
	if (!web_config_read(app, &text, &len, etag, resp))
		return NULL;
	cJSON *cfg = cJSON_ParseWithLength(text, len);
	free(text);
	*clients = cJSON_GetObjectItemCaseSensitive(cfg, "clients");
	if (cJSON_IsObject(cfg) && !*clients)
		*clients = cJSON_AddArrayToObject(cfg, "clients");
	if (!cJSON_IsObject(cfg) || !cJSON_IsArray(*clients)) {
		web_json_error(resp, 409, "%s is not a JSON object with a \"clients\" array "
			       "(edited by hand?): fix it first", app->config_file);
		cJSON_Delete(cfg);
		return NULL;
	}
	return cfg;
}

/* The config with the change, as the text to write (a newline at its end). */
static char *config_text(cJSON *cfg, size_t *len)
{
	char *text = cJSON_Print(cfg);
	size_t n = text ? strlen(text) : 0;
	char *out = text ? realloc(text, n + 2) : NULL;
	if (!out) {
		free(text);
		return NULL;
	}
	memcpy(out + n, "\n", 2);
	*len = n + 1;
	return out;
}

/* body NULL: remove the device's entry; else change or add it. */
static void change(struct ward_web_app *app, const struct dev_id *id, const cJSON *body,
		   struct ward_web_response *resp)
{
	char etag[WARD_WEB_ETAG_SIZE];
	cJSON *clients, *entry = NULL;
	size_t len;
	cJSON *cfg = config_clients(app, etag, &clients, resp);
	if (!cfg)
		return;
	bool ok = body ? (entry = edit_entry(clients, id, body, resp)) != NULL
		       : drop_entry(clients, id, resp);
	char *text = ok ? config_text(cfg, &len) : NULL;
	if (ok && !text)
		web_json_error(resp, 500, "out of memory");
	if (text) {
		cJSON *answer = cJSON_CreateObject();
		cJSON_AddStringToObject(answer, "id", id->text);
		if (entry)
			cJSON_AddItemToObject(answer, "entry", cJSON_Duplicate(entry, 1));
		else
			cJSON_AddNullToObject(answer, "entry");
		web_config_replace(app, text, len, etag, answer, resp);
	}
	free(text);
	cJSON_Delete(cfg);
}

static cJSON *device_body(const struct ward_web_request *req, struct ward_web_response *resp)
{
	const char *ct = req->content_type;
	if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
		web_json_error(resp, 400, "the body must be JSON (Content-Type: application/json)");
		return NULL;
	}
	cJSON *o = cJSON_ParseWithLength(req->body ? req->body : "", req->body_len);
	for (cJSON *item = cJSON_IsObject(o) ? o->child : NULL; item; item = item->next) {
		if (strcmp(item->string, "profile") != 0 && strcmp(item->string, "name") != 0) {
			web_json_error(resp, 400, "unknown field \"%.40s\"", item->string);
			cJSON_Delete(o);
			return NULL;
		}
	}
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		web_json_error(resp, 400, "the body is not a JSON object");
		return NULL;
	}
	return o;
}

void web_api_devices(struct ward_web_app *app, const struct ward_web_request *req,
		     const char *id_text, struct ward_web_response *resp)
{
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	struct dev_id id;
	if (!app->ps) {
		web_json_error(resp, 503, "no configuration loaded yet");
	} else if (!id_text) {
		if (get)
			devices_get(app, resp);
		else
			resp->allow = "GET", web_json_error(resp, 405, "method not allowed");
	} else if (!parse_dev_id(id_text, &id)) {
		web_json_error(resp, 404, "no such device: an ID is a MAC or an IP address");
	} else if (strcmp(req->method, "DELETE") == 0) {
		change(app, &id, NULL, resp);
	} else if (strcmp(req->method, "PUT") == 0) {
		cJSON *body = device_body(req, resp);
		if (body)
			change(app, &id, body, resp);
		cJSON_Delete(body);
	} else {
		resp->allow = "PUT, DELETE";
		web_json_error(resp, 405, "method not allowed");
	}
}
