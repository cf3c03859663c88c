/*
 * ward configuration: one JSON file, read by wardd and by the ward tool.
 *
 * Parsing goes cJSON -> a schema table {key, type, min, max, default} -> struct ward_conf.
 * Unknown keys are errors. Every error message names the file, the field path and the
 * reason, e.g. `ward.json: upstreams[1]: "10.0.0.300" is not an IP address`.
 * `wardd --check` and `ward check` run exactly this code.
 */
#ifndef WARD_CONF_H
#define WARD_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "blocklists/addr.h"
#include "blocklists/category.h"
#include "blocklists/log.h"
#include "blocklists/dns_codes.h"

#define WARD_CONF_DEFAULT_PATH "/etc/ward/ward.json"
#define WARD_CONF_ERR_MAX 512

struct ward_conf_cache {
	uint32_t max_entries; /* default 200000, 0 disables the cache */
	uint32_t min_ttl;     /* default 0 */
	uint32_t max_ttl;     /* default 86400 */
	bool serve_stale;     /* default true */
};

enum ward_feed_format {
	WARD_FEED_HOSTS,
	WARD_FEED_DOMAINS,
	WARD_FEED_ADBLOCK,
	WARD_FEED_DNSMASQ,
	WARD_FEED_RPZ,
};

struct ward_conf_feed {
	char *name;              /* unique, [a-z0-9_.-]{1,63} */
	char *url;               /* http://, https:// or file:// */
	enum ward_feed_format format;
	ward_catset categories;  /* at least one */
	bool subdomains;         /* entries also cover their subdomains; default: by format */
	uint32_t min_entries;    /* default 1 */
	uint32_t refresh_s;      /* "12h", "30m", "1d", "45s"; default 12h */
	bool enabled;            /* default true */
};

enum ward_youtube_level { WARD_YOUTUBE_OFF, WARD_YOUTUBE_MODERATE, WARD_YOUTUBE_STRICT };

/* Bits of ward_conf_profile.safe_search: one per engine. */
enum ward_safe_engine {
	WARD_SAFE_GOOGLE = 1 << 0,
	WARD_SAFE_BING = 1 << 1,
	WARD_SAFE_DUCKDUCKGO = 1 << 2,
	WARD_SAFE_ECOSIA = 1 << 3,
	WARD_SAFE_PIXABAY = 1 << 4,
	WARD_SAFE_YANDEX = 1 << 5,
	WARD_SAFE_ALL = (1 << 6) - 1,
};

struct ward_conf_schedule {
	char *name;
	uint8_t days;          /* bit 0 = sunday .. bit 6 = saturday: the days a window starts */
	uint16_t from_min;     /* minutes after local midnight */
	uint16_t to_min;       /* may be < from_min: the window crosses midnight */
	ward_catset block;     /* categories blocked during the window */
	bool block_all;        /* "all": everything except the profile's allow list */
};

struct ward_conf_profile {
	char *name;
	char *preset;               /* "young-child", "child", "teen", "adult" or NULL */
	ward_catset blocked;        /* preset's set, plus "block", minus "unblock" */
	char **deny;                /* lower-case names without trailing dot */
	size_t n_deny;
	char **allow;
	size_t n_allow;
	unsigned safe_search;       /* enum ward_safe_engine bits; "safe_search": true = all */
	enum ward_youtube_level youtube;
	bool anti_circumvention;    /* canary/iCloud relay names; every preset but adult, and
				       profiles without a preset, unless the file says otherwise */
	struct ward_conf_schedule *schedules;
	size_t n_schedules;
};

enum ward_client_match { WARD_CLIENT_CIDR, WARD_CLIENT_MAC };

struct ward_conf_client {
	enum ward_client_match kind;
	struct ward_cidr cidr;      /* a plain IP is a /32 or /128 */
	uint8_t mac[6];
	size_t profile;             /* index into ward_conf.profiles */
};

struct ward_conf_block {
	enum ward_block_mode mode; /* default sinkhole */
	uint8_t ipv4[4];           /* default 0.0.0.0 */
	uint8_t ipv6[16];          /* default :: */
	uint32_t ttl;              /* default 60 */
};

/* The web listener (block page, the child's pages, the admin UI and JSON API). */
#define WARD_CONF_WEB_HOST_WIRE_MAX 255
struct ward_conf_web {
	bool enabled;                    /* a "web" object is in the file */
	struct ward_addr *listen;        /* 1-16; the port defaults to 80 */
	size_t n_listen;
	char *hostname;                  /* lower-case, no trailing dot; default ward.home.arpa */
	uint8_t hostname_wire[WARD_CONF_WEB_HOST_WIRE_MAX]; /* the same, lower-case wire form */
	uint16_t hostname_wire_len;      /* its length, the root label included */
	char *admin_token_file;          /* default: <database>/admin.token */
	uint32_t max_connections;        /* default 64 */
	uint32_t request_timeout_s;      /* default 10: a request's whole life, headers included */
	uint32_t reports_per_hour;       /* per client address; default 10 */
	char *hotline_url;               /* where to report child sexual abuse material */
};

/* UDP response rate limiting (see docs/config.md, "Limits"). */
struct ward_conf_rate_limit {
	uint32_t responses_per_second; /* per client prefix; 0 (the default) = off */
	uint32_t slip;                 /* every slip-th limited answer goes out as TC=1; 0 never */
	uint32_t ipv4_prefix;          /* default 24 */
	uint32_t ipv6_prefix;          /* default 56 */
};

/* Per-client caps, per worker: what one client address (IPv6: one /64) may hold. */
struct ward_conf_limits {
	uint32_t tcp_connections_per_client; /* default 64 */
	uint32_t upstream_queries_per_client; /* queries waiting on upstreams; default 256 */
};

struct ward_conf {
	char *path;                      /* the file it came from, for messages */

	struct ward_addr *listen;        /* default 127.0.0.1:53 and [::1]:53 */
	size_t n_listen;
	unsigned workers;                /* 0 in the file = one per CPU, resolved at load */
	struct ward_addr *upstreams;     /* at least one; port defaults to 53 */
	size_t n_upstreams;
	uint32_t upstream_timeout_ms;    /* default 1500, 50..30000 */
	struct ward_cidr *allow_clients; /* default: loopback and the private ranges */
	size_t n_allow_clients;
	struct ward_cidr *trusted_forwarders; /* whose EDNS MAC option (65001) is believed;
						 default none */
	size_t n_trusted_forwarders;
	struct ward_conf_cache cache;
	char *database;                  /* default /var/lib/ward */
	char *user;                      /* default "ward"; "" = never drop privileges */
	enum ward_log_level log_level;   /* default info */

	struct ward_conf_feed *feeds;
	size_t n_feeds;
	char **custom_categories;        /* "categories": operator's own names */
	size_t n_custom_categories;
	struct ward_cat_registry *categories; /* built-ins plus custom_categories */

	struct ward_conf_profile *profiles;   /* may be empty: then nothing is filtered */
	size_t n_profiles;
	struct ward_conf_client *clients;
	size_t n_clients;
	size_t default_profile;          /* index into profiles; valid when n_profiles > 0 */
	char *timezone;                  /* default NULL = the system's local time */
	struct ward_conf_block block;
	ward_catset enforced;            /* default csam */
	struct ward_conf_web web;        /* web.enabled false: no web listener */

	struct ward_conf_rate_limit rate_limit;
	struct ward_conf_limits limits;
};

/*
 * Parse and validate a config file.
 * @param path  file to read (at most 16 MiB)
 * @param out   receives a new config on success; free with ward_conf_free()
 * @param err   receives "FILE: FIELD: REASON" on failure (always NUL-terminated); a JSON
 *              syntax error reads "FILE: line L, column C: invalid JSON"
 * @return 0, WARD_EIO (cannot read: "FILE: cannot read: <strerror>"), WARD_ECONF (invalid),
 *         WARD_ENOMEM
 */
int ward_conf_load(const char *path, struct ward_conf **out, char *err, size_t errlen);

/* As ward_conf_load, from memory; `name` stands for the file in messages. */
int ward_conf_parse(const char *name, const char *json, size_t len, struct ward_conf **out,
		    char *err, size_t errlen);

/*
 * The built-in default config used by `wardd --default` / `make run`: listens on
 * 127.0.0.1:5353 and [::1]:5353, forwards to the nameservers in resolv_conf (fallback
 * 127.0.0.1:53 when none is usable), database `database`, no privilege drop.
 */
int ward_conf_default(const char *resolv_conf, const char *database, struct ward_conf **out,
		      char *err, size_t errlen);

void ward_conf_free(struct ward_conf *conf);

/*
 * Warnings about a valid config that is probably not what the operator wants (today: an
 * open resolver, i.e. allow_clients includes public address space while rate_limit is
 * off). emit is called once per warning with a one-line text "FILE: FIELD: REASON".
 * @return the number of warnings.
 */
size_t ward_conf_warnings(const struct ward_conf *conf,
			  void (*emit)(void *arg, const char *text), void *arg);

/* One key of the config schema, for `ward check --keys` and the documentation test. */
struct ward_conf_key {
	const char *path;   /* "cache.max_ttl", "feeds[]" (each element), "profiles.*.preset" */
	const char *type;   /* "boolean", "integer", "string", "array", "object", "any" */
	const char *def;    /* the default as JSON text; NULL: required, derived or unset */
	bool required;
	long long min, max; /* integers and durations: the value; arrays and maps: entries */
	unsigned maxlen;    /* strings: the longest accepted, in bytes */
};

/* @return 0 and fills *out while i is below the number of keys, then WARD_ENOTFOUND.
 * The strings are static. */
int ward_conf_key_info(size_t i, struct ward_conf_key *out);

#endif
