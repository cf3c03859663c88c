/*
 * The config file: cJSON in, struct ward_conf out, through one schema table.
 *
 * Every key the file may contain is one row of `schema[]`: its path, JSON type, range,
 * default and the function that stores it. The walker below is generic: for an object at
 * schema path P it refuses keys that have no row "P.key", then visits the rows that are
 * children of P *in table order*, taking the value from the file or, when absent, parsing
 * the row's default text through the very same code. Table order is therefore also the
 * dependency order: "categories" before the feeds and profiles that name them, "profiles"
 * before the clients that point at them, a profile's "preset" before the "block" and
 * "unblock" that edit it.
 *
 * Paths: "a.b" is key b of object a, "a[]" every element of array a, "a.*" every value of
 * the map a (profiles, keyed by name).
 *
 * Errors stop at the first one and read "FILE: FIELD: REASON", the field written the way a
 * person would point at it: profiles.kids.schedules[0].from.
 */
#include "blocklists/conf.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocklists/conf_internal.h"
#include "blocklists/error.h"

#define CONF_FILE_MAX (16u << 20)
/* cJSON spends about 80 bytes per value: this keeps a parse under ~160 MiB, where 16 MiB of
 * "0,0,0,..." would otherwise take 700 MiB before the schema could refuse it. */
#define CONF_VALUES_MAX 2000000
#define PATH_TEXT_MAX 256
#define VALUE_TEXT_MAX 160
#define SCHEMA_PATH_MAX 64
#define WORKERS_MAX 64
#define REFRESH_MIN 60
#define REFRESH_MAX (30 * 86400)
#define DEFAULT_NAME "built-in default"

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "workers is stored as a uint32_t");
_Static_assert(sizeof(enum ward_log_level) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum ward_feed_format) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum ward_youtube_level) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum ward_block_mode) == sizeof(int), "enums are stored as int");

enum ftype { F_BOOL, F_INT, F_STR, F_ARRAY, F_OBJECT, F_MAP, F_ANY };

static const char *const type_names[] = {
	[F_BOOL] = "boolean", [F_INT] = "integer", [F_STR] = "string", [F_ARRAY] = "array",
	[F_OBJECT] = "object",	[F_MAP] = "object",   [F_ANY] = "any",
};

/* The rows directly inside one object row; computed once per load, not once per object,
 * so a 65536-entry client list does not rescan the schema 65536 times. */
#define CHILDREN_MAX 32
#define OBJECT_KINDS_MAX 16
struct children {
	const char *schema_path; /* identity: the row's path pointer ("" for the top) */
	size_t n;
	uint8_t rows[CHILDREN_MAX];
	const char *keys[CHILDREN_MAX];
};

struct walk {
	const char *name; /* the file, as messages call it */
	struct ward_conf *conf;
	char *err;
	size_t errlen;
	char path[PATH_TEXT_MAX];
	size_t plen;
	bool default_profile_set;
	struct children kinds[OBJECT_KINDS_MAX];
	size_t n_kinds;
};

struct field;
/* Store value v, already type-checked against f, at dst (= record + f->off). */
typedef int (*parse_fn)(struct walk *w, const struct field *f, const cJSON *v, void *dst);
/* Cross-checks once a value is stored; rec is the record f->off is relative to. */
typedef int (*check_fn)(struct walk *w, const struct field *f, void *rec);

struct field {
	const char *path;
	enum ftype type;
	bool required;
	int64_t min, max;            /* F_INT and durations: value; F_ARRAY, F_MAP: entries */
	uint32_t minlen, maxlen;     /* F_STR: length in bytes */
	const char *def;             /* JSON text used when the key is absent */
	parse_fn parse;              /* leaves; for F_MAP it stores the key */
	size_t off;                  /* where the value goes in the enclosing record */
	size_t n_off, size;          /* F_ARRAY, F_MAP: count's offset, element size;
					size 0: elements all parse into record + off */
	check_fn check;
	const char *const *names;    /* enumerations, index = stored value */
};

/* ---- messages ---------------------------------------------------------------------- */

static int fail(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct walk *w, const char *fmt, ...)
{
	char reason[WARD_CONF_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (w->plen)
		snprintf(w->err, w->errlen, "%s: %s: %s", w->name, w->path, reason);
	else
		snprintf(w->err, w->errlen, "%s: %s", w->name, reason);
	return WARD_ECONF;
}

static int oom(struct walk *w)
{
	snprintf(w->err, w->errlen, "%s: out of memory", w->name);
	return WARD_ENOMEM;
}

/* A string the way JSON writes it, shortened: messages must stay one readable line. */
static const char *quote(const char *s, char *buf, size_t cap)
{
	static const size_t shown = 48;
	size_t o = 0, i = 0;
	buf[o++] = '"';
	for (; s[i] && i < shown && o + 12 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, cap - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", c);
		else
			buf[o++] = (char)c;
	}
	if (s[i])
		o += (size_t)snprintf(buf + o, cap - o, "...");
	snprintf(buf + o, cap - o, "\"");
	return buf;
}

static const char *show(const cJSON *v, char *buf, size_t cap)
{
	if (cJSON_IsString(v)) {
		quote(v->valuestring, buf, cap);
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
			snprintf(buf, cap, "%.0f", d);
		else
			snprintf(buf, cap, "%.15g", d);
	} else if (cJSON_IsBool(v)) {
		snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsArray(v)) {
		snprintf(buf, cap, "%s", v->child ? "[...]" : "[]");
	} else if (cJSON_IsObject(v)) {
		snprintf(buf, cap, "%s", v->child ? "{...}" : "{}");
	} else {
		snprintf(buf, cap, "null");
	}
	return buf;
}

static int plain_key(const char *key)
{
	if (!*key)
		return 0;
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

static size_t append(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t append(struct walk *w, const char *fmt, ...)
{
	size_t saved = w->plen;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->path + w->plen, sizeof(w->path) - w->plen, fmt, ap);
	va_end(ap);
	w->plen += strlen(w->path + w->plen);
	return saved;
}

/* Keys that are not plain identifiers are shown quoted, so the path stays unambiguous. */
static size_t push_key(struct walk *w, const char *key)
{
	const char *dot = w->plen ? "." : "";
	if (plain_key(key))
		return append(w, "%s%s", dot, key);
	char q[VALUE_TEXT_MAX];
	return append(w, "%s%s", dot, quote(key, q, sizeof(q)));
}

static size_t push_index(struct walk *w, size_t i)
{
	return append(w, "[%zu]", i);
}

static void pop(struct walk *w, size_t saved)
{
	w->plen = saved;
	w->path[saved] = '\0';
}

/* "did you mean": the closest candidate, if it is close enough to be a likely typo. */
struct suggest {
	const char *word;
	const char *best;
	size_t dist;
};

static void suggest_add(struct suggest *s, const char *candidate)
{
	size_t d = ward_conf__distance(s->word, candidate);
	size_t longer = strlen(s->word) > strlen(candidate) ? strlen(s->word) : strlen(candidate);
	if (d <= 2 && d * 3 <= longer && d < s->dist) {
		s->best = candidate;
		s->dist = d;
	}
}

static const char *suggest_text(const struct suggest *s, char *buf, size_t cap)
{
	char q[VALUE_TEXT_MAX];
	if (!s->best)
		return "";
	snprintf(buf, cap, " (did you mean %s?)", quote(s->best, q, sizeof(q)));
	return buf;
}

/* ---- the schema (rows further down) ------------------------------------------------ */

static const struct field schema[];
static const size_t schema_len;

static const struct field *find_field(const char *path)
{
	for (size_t i = 0; i < schema_len; i++)
		if (strcmp(schema[i].path, path) == 0)
			return &schema[i];
	return NULL;
}

/* If row `path` is a key directly inside the object at schema path `parent`, its key. */
static const char *child_key(const char *parent, const char *path)
{
	size_t pl = strlen(parent);
	if (strncmp(path, parent, pl) != 0)
		return NULL;
	const char *rest = path + pl;
	if (pl) {
		if (*rest != '.')
			return NULL;
		rest++;
	}
	if (!*rest || strpbrk(rest, ".[*"))
		return NULL;
	return rest;
}

static const struct field *element_field(const struct field *f, const char *suffix)
{
	char path[SCHEMA_PATH_MAX];
	snprintf(path, sizeof(path), "%s%s", f->path, suffix);
	return find_field(path);
}

/* ---- the walker -------------------------------------------------------------------- */

static int walk_value(struct walk *w, const struct field *f, const cJSON *v, void *rec);

static int check_count(struct walk *w, const struct field *f, const cJSON *v, size_t n)
{
	char vb[VALUE_TEXT_MAX];
	if (n == 0 && f->min > 0)
		return fail(w, "%s is empty (at least %lld %s required)", show(v, vb, sizeof(vb)),
			    (long long)f->min, f->min == 1 ? "entry is" : "entries are");
	if ((int64_t)n < f->min)
		return fail(w, "has %zu entries, fewer than the minimum %lld", n,
			    (long long)f->min);
	if ((int64_t)n > f->max)
		return fail(w, "has %zu entries, more than the maximum %lld", n,
			    (long long)f->max);
	return 0;
}

static int check_int(struct walk *w, const struct field *f, const cJSON *v)
{
	char vb[VALUE_TEXT_MAX];
	double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
	if (!isfinite(d) || d != floor(d))
		return fail(w, "%s is not an integer", show(v, vb, sizeof(vb)));
	if (d < (double)f->min)
		return fail(w, "%s is below the minimum %lld", show(v, vb, sizeof(vb)),
			    (long long)f->min);
	if (d > (double)f->max)
		return fail(w, "%s is above the maximum %lld", show(v, vb, sizeof(vb)),
			    (long long)f->max);
	return 0;
}

static int check_string(struct walk *w, const struct field *f, const cJSON *v)
{
	char vb[VALUE_TEXT_MAX];
	if (!cJSON_IsString(v) || !v->valuestring)
		return fail(w, "%s is not a string", show(v, vb, sizeof(vb)));
	size_t len = strlen(v->valuestring);
	if (len < f->minlen)
		return fail(w, "%s is empty", show(v, vb, sizeof(vb)));
	if (len > f->maxlen)
		return fail(w, "%s is longer than %u characters", show(v, vb, sizeof(vb)),
			    (unsigned)f->maxlen);
	for (const char *p = v->valuestring; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(w, "%s contains a control character",
				    show(v, vb, sizeof(vb)));
	return 0;
}

static int check_type(struct walk *w, const struct field *f, const cJSON *v)
{
	char vb[VALUE_TEXT_MAX];
	switch (f->type) {
	case F_BOOL:
		if (!cJSON_IsBool(v))
			return fail(w, "%s is not true or false", show(v, vb, sizeof(vb)));
		return 0;
	case F_INT:
		return check_int(w, f, v);
	case F_STR:
		return check_string(w, f, v);
	case F_ARRAY:
		if (!cJSON_IsArray(v))
			return fail(w, "%s is not an array", show(v, vb, sizeof(vb)));
		return check_count(w, f, v, (size_t)cJSON_GetArraySize(v));
	case F_MAP:
		if (!cJSON_IsObject(v))
			return fail(w, "%s is not an object", show(v, vb, sizeof(vb)));
		return check_count(w, f, v, (size_t)cJSON_GetArraySize(v));
	case F_OBJECT:
		if (!cJSON_IsObject(v))
			return fail(w, "%s is not an object", show(v, vb, sizeof(vb)));
		return 0;
	case F_ANY:
		return 0;
	}
	return 0;
}

/* Allocate the element array of an F_ARRAY or F_MAP row and record its count. */
static int alloc_elements(struct walk *w, const struct field *f, void *rec, size_t n,
			  char **base)
{
	*base = NULL;
	if (n && !(*base = calloc(n, f->size)))
		return oom(w);
	*(void **)((char *)rec + f->off) = *base;
	*(size_t *)((char *)rec + f->n_off) = n;
	return 0;
}

static int walk_array(struct walk *w, const struct field *f, const cJSON *v, void *rec)
{
	const struct field *ef = element_field(f, "[]");
	char *base = NULL;
	if (f->size) {
		int rc = alloc_elements(w, f, rec, (size_t)cJSON_GetArraySize(v), &base);
		if (rc)
			return rc;
	}
	size_t i = 0;
	for (const cJSON *item = v->child; item; item = item->next, i++) {
		void *erec = f->size ? base + i * f->size : (char *)rec + f->off;
		size_t saved = push_index(w, i);
		int rc = walk_value(w, ef, item, erec);
		pop(w, saved);
		if (rc)
			return rc;
	}
	return 0;
}

static const cJSON *earlier_duplicate(const cJSON *obj, const cJSON *item)
{
	for (const cJSON *p = obj->child; p != item; p = p->next)
		if (strcmp(p->string, item->string) == 0)
			return p;
	return NULL;
}

static int walk_map(struct walk *w, const struct field *f, const cJSON *v, void *rec)
{
	const struct field *ef = element_field(f, ".*");
	char *base;
	int rc = alloc_elements(w, f, rec, (size_t)cJSON_GetArraySize(v), &base);
	size_t i = 0;
	for (const cJSON *item = v->child; item && rc == 0; item = item->next, i++) {
		size_t saved = push_key(w, item->string);
		if (earlier_duplicate(v, item))
			rc = fail(w, "duplicate key");
		if (rc == 0)
			rc = f->parse(w, f, item, base + i * f->size);
		if (rc == 0)
			rc = walk_value(w, ef, item, base + i * f->size);
		pop(w, saved);
	}
	return rc;
}

static const struct children *children_of(struct walk *w, const char *schema_path)
{
	for (size_t i = 0; i < w->n_kinds; i++)
		if (w->kinds[i].schema_path == schema_path)
			return &w->kinds[i];
	/* The table is ours: running out of room here is a bug, caught by any unit test. */
	if (w->n_kinds == OBJECT_KINDS_MAX)
		abort();
	struct children *c = &w->kinds[w->n_kinds++];
	c->schema_path = schema_path;
	c->n = 0;
	for (size_t i = 0; i < schema_len; i++) {
		const char *key = child_key(schema_path, schema[i].path);
		if (!key)
			continue;
		if (c->n == CHILDREN_MAX)
			abort();
		c->rows[c->n] = (uint8_t)i;
		c->keys[c->n++] = key;
	}
	return c;
}

static int unknown_key(struct walk *w, const struct children *c, const char *key)
{
	struct suggest s = { key, NULL, (size_t)-1 };
	char sb[VALUE_TEXT_MAX];
	for (size_t i = 0; i < c->n; i++)
		suggest_add(&s, c->keys[i]);
	return fail(w, "unknown key%s", suggest_text(&s, sb, sizeof(sb)));
}

static int known_key(const struct children *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->keys[i], key) == 0)
			return 1;
	return 0;
}

/* Every key of obj must be a row under the object's schema path, and appear once. */
static int check_keys(struct walk *w, const struct children *c, const cJSON *obj)
{
	for (const cJSON *item = obj->child; item; item = item->next) {
		int rc = 0;
		size_t saved = push_key(w, item->string);
		if (!known_key(c, item->string))
			rc = unknown_key(w, c, item->string);
		else if (earlier_duplicate(obj, item))
			rc = fail(w, "duplicate key");
		pop(w, saved);
		if (rc)
			return rc;
	}
	return 0;
}

static const cJSON *get_exact(const cJSON *obj, const char *key)
{
	for (const cJSON *item = obj->child; item; item = item->next)
		if (strcmp(item->string, key) == 0)
			return item;
	return NULL;
}

static int walk_default(struct walk *w, const struct field *f, void *rec)
{
	cJSON *def = cJSON_Parse(f->def);
	if (!def)
		return oom(w);
	int rc = walk_value(w, f, def, rec);
	cJSON_Delete(def);
	return rc;
}

static int walk_object(struct walk *w, const char *schema_path, const cJSON *obj, void *rec)
{
	const struct children *c = children_of(w, schema_path);
	int rc = check_keys(w, c, obj);
	for (size_t i = 0; i < c->n && rc == 0; i++) {
		const struct field *f = &schema[c->rows[i]];
		const char *key = c->keys[i];
		const cJSON *v = get_exact(obj, key);
		size_t saved = push_key(w, key);
		if (v)
			rc = walk_value(w, f, v, rec);
		else if (f->def)
			rc = walk_default(w, f, rec);
		else if (f->required)
			rc = fail(w, "missing (required)");
		pop(w, saved);
	}
	return rc;
}

static int walk_value(struct walk *w, const struct field *f, const cJSON *v, void *rec)
{
	void *dst = (char *)rec + f->off;
	int rc = check_type(w, f, v);
	if (rc)
		return rc;
	switch (f->type) {
	case F_OBJECT:
		rc = walk_object(w, f->path, v, dst);
		break;
	case F_ARRAY:
		rc = walk_array(w, f, v, rec);
		break;
	case F_MAP:
		rc = walk_map(w, f, v, rec);
		break;
	default:
		rc = f->parse(w, f, v, dst);
		break;
	}
	if (rc == 0 && f->check)
		rc = f->check(w, f, rec);
	return rc;
}

/* ---- leaf parsers ------------------------------------------------------------------ */

static int p_bool(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	*(bool *)dst = cJSON_IsTrue(v);
	return 0;
}

static int p_u32(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	*(uint32_t *)dst = (uint32_t)v->valuedouble;
	return 0;
}

static int store_string(struct walk *w, const char *s, char **dst)
{
	if (!(*dst = strdup(s)))
		return oom(w);
	return 0;
}

static int p_string(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	return store_string(w, v->valuestring, dst);
}

static const char *enum_list(const char *const *names, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; names[i] && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", names[i]);
	return buf;
}

/* @return the index of v among f->names, or a failure. */
static int match_enum(struct walk *w, const struct field *f, const cJSON *v)
{
	for (int i = 0; f->names[i]; i++)
		if (strcmp(f->names[i], v->valuestring) == 0)
			return i;
	char vb[VALUE_TEXT_MAX], lb[VALUE_TEXT_MAX];
	return fail(w, "%s is not one of %s", show(v, vb, sizeof(vb)),
		    enum_list(f->names, lb, sizeof(lb)));
}

static int p_enum(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	int i = match_enum(w, f, v);
	if (i < 0)
		return i;
	memcpy(dst, &i, sizeof(i));
	return 0;
}

static int p_addr(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	char vb[VALUE_TEXT_MAX];
	switch (ward_addr_parse_why(v->valuestring, 53, dst)) {
	case WARD_ADDR_OK:
		return 0;
	case WARD_ADDR_BAD_PORT:
		return fail(w, "%s has an invalid port (1-65535)", show(v, vb, sizeof(vb)));
	default:
		return fail(w, "%s is not an IP address", show(v, vb, sizeof(vb)));
	}
}

static int cidr_failure(struct walk *w, const cJSON *v, enum ward_addr_why why,
			const struct ward_cidr *masked, const char *what)
{
	char vb[VALUE_TEXT_MAX], nb[VALUE_TEXT_MAX];
	switch (why) {
	case WARD_ADDR_HOST_BITS:
		return fail(w, "%s has host bits set (did you mean \"%s\"?)",
			    show(v, vb, sizeof(vb)), ward_cidr_format(masked, nb, sizeof(nb)));
	case WARD_ADDR_BAD_PREFIX:
		return fail(w, "%s has an invalid prefix length (0-32 for IPv4, 0-128 for IPv6)",
			    show(v, vb, sizeof(vb)));
	default:
		return fail(w, "%s is not %s", show(v, vb, sizeof(vb)), what);
	}
}

static int p_cidr(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	struct ward_cidr c;
	enum ward_addr_why why = ward_cidr_parse_why(v->valuestring, &c);
	if (why != WARD_ADDR_OK)
		return cidr_failure(w, v, why, &c, "an IP address or prefix (CIDR)");
	*(struct ward_cidr *)dst = c;
	return 0;
}

static int p_ipv4(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	char vb[VALUE_TEXT_MAX];
	if (inet_pton(AF_INET, v->valuestring, dst) != 1)
		return fail(w, "%s is not an IPv4 address", show(v, vb, sizeof(vb)));
	return 0;
}

static int p_ipv6(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	char vb[VALUE_TEXT_MAX];
	if (inet_pton(AF_INET6, v->valuestring, dst) != 1)
		return fail(w, "%s is not an IPv6 address", show(v, vb, sizeof(vb)));
	return 0;
}

/* Debian's own rule for user names, minus the "bad names" it also tolerates. */
static int p_user(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	const char *s = v->valuestring;
	for (const char *p = s; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || *p == '_' ||
			  (p > s && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '.'));
		if (!ok) {
			char vb[VALUE_TEXT_MAX];
			return fail(w, "%s is not a valid user name", show(v, vb, sizeof(vb)));
		}
	}
	return store_string(w, s, dst);
}

static int valid_name(const char *s, const char *extra)
{
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr(extra, *p)))
			return 0;
	return 1;
}

static int p_custom_category(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	char vb[VALUE_TEXT_MAX];
	struct ward_cat_registry *reg = w->conf->categories;
	if (ward_cat_bit(reg, v->valuestring) >= 0)
		return fail(w, "%s is already a category", show(v, vb, sizeof(vb)));
	int bit = ward_cat_registry_add(reg, v->valuestring);
	if (bit == WARD_EINVAL)
		return fail(w, "%s is not a valid category name ([a-z0-9_-], at most 31 "
			    "characters)", show(v, vb, sizeof(vb)));
	if (bit < 0)
		return fail(w, "%s: no category bits left", show(v, vb, sizeof(vb)));
	return store_string(w, v->valuestring, dst);
}

static int category_bit(struct walk *w, const cJSON *v)
{
	const struct ward_cat_registry *reg = w->conf->categories;
	int bit = ward_cat_bit(reg, v->valuestring);
	if (bit >= 0)
		return bit;
	char vb[VALUE_TEXT_MAX], sb[VALUE_TEXT_MAX];
	if (strcmp(v->valuestring, "all") == 0)
		return fail(w, "\"all\" is only allowed in a schedule's block list");
	struct suggest s = { v->valuestring, NULL, (size_t)-1 };
	for (unsigned b = 0; b < WARD_CAT_MAX; b++)
		if (ward_cat_name(reg, b))
			suggest_add(&s, ward_cat_name(reg, b));
	return fail(w, "%s is not a category%s", show(v, vb, sizeof(vb)),
		    suggest_text(&s, sb, sizeof(sb)));
}

static int p_category_add(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	int bit = category_bit(w, v);
	if (bit < 0)
		return bit;
	*(ward_catset *)dst |= WARD_CAT(bit);
	return 0;
}

static int p_category_del(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	int bit = category_bit(w, v);
	if (bit < 0)
		return bit;
	*(ward_catset *)dst &= ~WARD_CAT(bit);
	return 0;
}

static int p_timezone(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_feed_name(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_url(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_feed_format(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_refresh(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_profile_name(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_preset(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_domain(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_safe_search(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_days(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_from(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_to(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_schedule_block(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_match(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_profile_ref(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_default_profile(struct walk *w, const struct field *f, const cJSON *v,
			     void *dst);
static int c_addrs_unique(struct walk *w, const struct field *f, void *rec);
static int c_cache(struct walk *w, const struct field *f, void *rec);
static int c_feeds_unique(struct walk *w, const struct field *f, void *rec);
static int c_schedule(struct walk *w, const struct field *f, void *rec);
static int c_clients_unique(struct walk *w, const struct field *f, void *rec);
static int p_web_addr(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int p_web_hostname(struct walk *w, const struct field *f, const cJSON *v, void *dst);
static int c_web(struct walk *w, const struct field *f, void *rec);

/* ---- the schema -------------------------------------------------------------------- */

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const feed_formats[] = { "hosts", "domains", "adblock", "dnsmasq", "rpz",
					    NULL };
static const char *const youtube_levels[] = { "off", "moderate", "strict", NULL };
static const char *const block_modes[] = { "sinkhole", "nxdomain", "nodata", "refused", NULL };

#define CONF(m) offsetof(struct ward_conf, m)
#define CACHE(m) offsetof(struct ward_conf_cache, m)
#define FEED(m) offsetof(struct ward_conf_feed, m)
#define PROF(m) offsetof(struct ward_conf_profile, m)
#define SCHED(m) offsetof(struct ward_conf_schedule, m)
#define CLIENT(m) offsetof(struct ward_conf_client, m)
#define BLOCK(m) offsetof(struct ward_conf_block, m)
#define WEB(m) offsetof(struct ward_conf_web, m)
#define RATE(m) offsetof(struct ward_conf_rate_limit, m)
#define LIMITS(m) offsetof(struct ward_conf_limits, m)
#define ARRAY_OF(elem, rec, member, count) \
	.type = F_ARRAY, .off = offsetof(rec, member), .n_off = offsetof(rec, count), \
	.size = sizeof(elem)
#define STRING(lo, hi) .type = F_STR, .minlen = lo, .maxlen = hi
#define DOMAIN_TEXT_MAX 254 /* 253 and an optional trailing dot */

static const struct field schema[] = {
	{ "listen", ARRAY_OF(struct ward_addr, struct ward_conf, listen, n_listen),
	  .min = 1, .max = 64, .def = "[\"127.0.0.1:53\", \"[::1]:53\"]",
	  .check = c_addrs_unique },
	{ "listen[]", STRING(1, 64), .parse = p_addr },
	{ "workers", .type = F_INT, .min = 0, .max = WORKERS_MAX, .def = "0", .parse = p_u32,
	  .off = CONF(workers) },
	{ "upstreams", ARRAY_OF(struct ward_addr, struct ward_conf, upstreams, n_upstreams),
	  .min = 1, .max = 64, .required = true, .check = c_addrs_unique },
	{ "upstreams[]", STRING(1, 64), .parse = p_addr },
	{ "upstream_timeout_ms", .type = F_INT, .min = 50, .max = 30000, .def = "1500",
	  .parse = p_u32, .off = CONF(upstream_timeout_ms) },
	{ "allow_clients",
	  ARRAY_OF(struct ward_cidr, struct ward_conf, allow_clients, n_allow_clients),
	  .min = 1, .max = 4096,
	  .def = "[\"127.0.0.0/8\", \"::1/128\", \"10.0.0.0/8\", \"172.16.0.0/12\", "
		 "\"192.168.0.0/16\", \"fc00::/7\"]" },
	{ "allow_clients[]", STRING(1, 64), .parse = p_cidr },
	{ "trusted_forwarders",
	  ARRAY_OF(struct ward_cidr, struct ward_conf, trusted_forwarders, n_trusted_forwarders),
	  .min = 0, .max = 4096, .def = "[]" },
	{ "trusted_forwarders[]", STRING(1, 64), .parse = p_cidr },
	{ "cache", .type = F_OBJECT, .def = "{}", .off = CONF(cache), .check = c_cache },
	{ "cache.max_entries", .type = F_INT, .min = 0, .max = 100000000, .def = "200000",
	  .parse = p_u32, .off = CACHE(max_entries) },
	{ "cache.min_ttl", .type = F_INT, .min = 0, .max = 86400, .def = "0", .parse = p_u32,
	  .off = CACHE(min_ttl) },
	{ "cache.max_ttl", .type = F_INT, .min = 0, .max = 604800, .def = "86400",
	  .parse = p_u32, .off = CACHE(max_ttl) },
	{ "cache.serve_stale", .type = F_BOOL, .def = "true", .parse = p_bool,
	  .off = CACHE(serve_stale) },
	{ "database", STRING(1, 4095), .def = "\"/var/lib/ward\"", .parse = p_string,
	  .off = CONF(database) },
	{ "user", STRING(0, 32), .def = "\"ward\"", .parse = p_user, .off = CONF(user) },
	{ "log_level", STRING(1, 16), .def = "\"info\"", .parse = p_enum,
	  .names = log_levels, .off = CONF(log_level) },
	{ "categories",
	  ARRAY_OF(char *, struct ward_conf, custom_categories, n_custom_categories),
	  .min = 0, .max = WARD_CAT_MAX - WARD_CAT_CUSTOM_FIRST, .def = "[]" },
	{ "categories[]", STRING(1, 64), .parse = p_custom_category },

	{ "feeds", ARRAY_OF(struct ward_conf_feed, struct ward_conf, feeds, n_feeds),
	  .min = 0, .max = 1024, .def = "[]", .check = c_feeds_unique },
	{ "feeds[]", .type = F_OBJECT },
	{ "feeds[].name", STRING(1, 63), .required = true, .parse = p_feed_name,
	  .off = FEED(name) },
	{ "feeds[].url", STRING(1, 2048), .required = true, .parse = p_url, .off = FEED(url) },
	{ "feeds[].format", STRING(1, 16), .required = true, .parse = p_feed_format,
	  .names = feed_formats },
	{ "feeds[].categories", .type = F_ARRAY, .min = 1, .max = WARD_CAT_MAX,
	  .required = true, .off = FEED(categories) },
	{ "feeds[].categories[]", STRING(1, 64), .parse = p_category_add },
	{ "feeds[].subdomains", .type = F_BOOL, .parse = p_bool, .off = FEED(subdomains) },
	{ "feeds[].min_entries", .type = F_INT, .min = 0, .max = 100000000, .def = "1",
	  .parse = p_u32, .off = FEED(min_entries) },
	{ "feeds[].refresh", STRING(1, 32), .min = REFRESH_MIN, .max = REFRESH_MAX,
	  .def = "\"12h\"", .parse = p_refresh, .off = FEED(refresh_s) },
	{ "feeds[].enabled", .type = F_BOOL, .def = "true", .parse = p_bool,
	  .off = FEED(enabled) },

	{ "enforced_categories", .type = F_ARRAY, .min = 0, .max = WARD_CAT_MAX,
	  .def = "[\"csam\"]", .off = CONF(enforced) },
	{ "enforced_categories[]", STRING(1, 64), .parse = p_category_add },

	{ "profiles", .type = F_MAP, .off = CONF(profiles), .n_off = CONF(n_profiles),
	  .size = sizeof(struct ward_conf_profile), .min = 0, .max = 1024, .def = "{}",
	  .parse = p_profile_name },
	{ "profiles.*", .type = F_OBJECT },
	{ "profiles.*.preset", .type = F_ANY, .def = "null", .parse = p_preset },
	{ "profiles.*.block", .type = F_ARRAY, .min = 0, .max = WARD_CAT_MAX,
	  .off = PROF(blocked) },
	{ "profiles.*.block[]", STRING(1, 64), .parse = p_category_add },
	{ "profiles.*.unblock", .type = F_ARRAY, .min = 0, .max = WARD_CAT_MAX,
	  .off = PROF(blocked) },
	{ "profiles.*.unblock[]", STRING(1, 64), .parse = p_category_del },
	{ "profiles.*.deny", ARRAY_OF(char *, struct ward_conf_profile, deny, n_deny),
	  .min = 0, .max = 100000 },
	{ "profiles.*.deny[]", STRING(1, DOMAIN_TEXT_MAX), .parse = p_domain },
	{ "profiles.*.allow", ARRAY_OF(char *, struct ward_conf_profile, allow, n_allow),
	  .min = 0, .max = 100000 },
	{ "profiles.*.allow[]", STRING(1, DOMAIN_TEXT_MAX), .parse = p_domain },
	{ "profiles.*.safe_search", .type = F_ANY, .parse = p_safe_search,
	  .off = PROF(safe_search) },
	{ "profiles.*.youtube", STRING(1, 16), .parse = p_enum, .names = youtube_levels,
	  .off = PROF(youtube) },
	{ "profiles.*.anti_circumvention", .type = F_BOOL, .parse = p_bool,
	  .off = PROF(anti_circumvention) },
	{ "profiles.*.schedules",
	  ARRAY_OF(struct ward_conf_schedule, struct ward_conf_profile, schedules, n_schedules),
	  .min = 0, .max = 64 },
	{ "profiles.*.schedules[]", .type = F_OBJECT, .check = c_schedule },
	{ "profiles.*.schedules[].name", STRING(1, 63), .parse = p_string,
	  .off = SCHED(name) },
	{ "profiles.*.schedules[].days", .type = F_ANY, .def = "\"daily\"", .parse = p_days,
	  .off = SCHED(days) },
	{ "profiles.*.schedules[].from", STRING(1, 8), .required = true, .parse = p_from },
	{ "profiles.*.schedules[].to", STRING(1, 8), .required = true, .parse = p_to },
	{ "profiles.*.schedules[].block", .type = F_ARRAY, .min = 1, .max = WARD_CAT_MAX,
	  .def = "[\"all\"]" },
	{ "profiles.*.schedules[].block[]", STRING(1, 64), .parse = p_schedule_block },

	{ "clients", ARRAY_OF(struct ward_conf_client, struct ward_conf, clients, n_clients),
	  .min = 0, .max = 65536, .def = "[]", .check = c_clients_unique },
	{ "clients[]", .type = F_OBJECT },
	{ "clients[].match", STRING(1, 64), .required = true, .parse = p_match },
	{ "clients[].profile", STRING(1, 63), .required = true, .parse = p_profile_ref,
	  .off = CLIENT(profile) },
	{ "default_profile", STRING(1, 63), .parse = p_default_profile,
	  .off = CONF(default_profile) },
	{ "timezone", STRING(1, 255), .parse = p_timezone, .off = CONF(timezone) },

	{ "block", .type = F_OBJECT, .def = "{}", .off = CONF(block) },
	{ "block.mode", STRING(1, 16), .def = "\"sinkhole\"", .parse = p_enum,
	  .names = block_modes, .off = BLOCK(mode) },
	{ "block.ipv4", STRING(1, 64), .def = "\"0.0.0.0\"", .parse = p_ipv4,
	  .off = BLOCK(ipv4) },
	{ "block.ipv6", STRING(1, 64), .def = "\"::\"", .parse = p_ipv6, .off = BLOCK(ipv6) },
	{ "block.ttl", .type = F_INT, .min = 0, .max = 86400, .def = "60", .parse = p_u32,
	  .off = BLOCK(ttl) },

	/* No default: without a "web" object there is no web listener. After "database",
	 * which the token file's default lives in. */
	{ "web", .type = F_OBJECT, .off = CONF(web), .check = c_web },
	{ "web.listen", ARRAY_OF(struct ward_addr, struct ward_conf_web, listen, n_listen),
	  .min = 1, .max = 16, .required = true, .check = c_addrs_unique },
	{ "web.listen[]", STRING(1, 64), .parse = p_web_addr },
	{ "web.hostname", STRING(1, DOMAIN_TEXT_MAX), .def = "\"ward.home.arpa\"",
	  .parse = p_web_hostname },
	{ "web.admin_token_file", STRING(1, 4095), .parse = p_string,
	  .off = WEB(admin_token_file) },
	{ "web.max_connections", .type = F_INT, .min = 4, .max = 4096, .def = "64",
	  .parse = p_u32, .off = WEB(max_connections) },
	{ "web.request_timeout_s", .type = F_INT, .min = 1, .max = 300, .def = "10",
	  .parse = p_u32, .off = WEB(request_timeout_s) },
	{ "web.reports_per_hour", .type = F_INT, .min = 1, .max = 1000, .def = "10",
	  .parse = p_u32, .off = WEB(reports_per_hour) },
	{ "web.hotline_url", STRING(1, 2048),
	  .def = "\"https://www.inhope.org/EN#hotlineReferral\"", .parse = p_url,
	  .off = WEB(hotline_url) },

	{ "rate_limit", .type = F_OBJECT, .def = "{}", .off = CONF(rate_limit) },
	{ "rate_limit.responses_per_second", .type = F_INT, .min = 0, .max = 1000000,
	  .def = "0", .parse = p_u32, .off = RATE(responses_per_second) },
	{ "rate_limit.slip", .type = F_INT, .min = 0, .max = 10, .def = "2", .parse = p_u32,
	  .off = RATE(slip) },
	{ "rate_limit.ipv4_prefix", .type = F_INT, .min = 0, .max = 32, .def = "24",
	  .parse = p_u32, .off = RATE(ipv4_prefix) },
	{ "rate_limit.ipv6_prefix", .type = F_INT, .min = 0, .max = 128, .def = "56",
	  .parse = p_u32, .off = RATE(ipv6_prefix) },
	{ "limits", .type = F_OBJECT, .def = "{}", .off = CONF(limits) },
	/* The maxima are wardd's per-worker slots: WARD_TCP_MAX_CONNS, WARD_FWD_MAX_WAITERS. */
	{ "limits.tcp_connections_per_client", .type = F_INT, .min = 1, .max = 256,
	  .def = "64", .parse = p_u32, .off = LIMITS(tcp_connections_per_client) },
	{ "limits.upstream_queries_per_client", .type = F_INT, .min = 1, .max = 4096,
	  .def = "256", .parse = p_u32, .off = LIMITS(upstream_queries_per_client) },
};
static const size_t schema_len = sizeof(schema) / sizeof(schema[0]);

int ward_conf_key_info(size_t i, struct ward_conf_key *out)
{
	if (i >= schema_len || !out)
		return WARD_ENOTFOUND;
	const struct field *f = &schema[i];
	out->path = f->path;
	out->type = type_names[f->type];
	out->def = f->def;
	out->required = f->required;
	out->min = f->min;
	out->max = f->max;
	out->maxlen = f->maxlen;
	return 0;
}

/* ---- feeds ------------------------------------------------------------------------- */

static int p_feed_name(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	char vb[VALUE_TEXT_MAX];
	if (!valid_name(v->valuestring, "_.-"))
		return fail(w, "%s is not a valid feed name ([a-z0-9_.-], at most 63 characters)",
			    show(v, vb, sizeof(vb)));
	return store_string(w, v->valuestring, dst);
}

/* Only the schemes `ward update` fetches; anything else would fail hours later. */
static int p_url(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	static const struct {
		const char *scheme;
		bool local;
	} schemes[] = { { "http://", false }, { "https://", false }, { "file://", true } };
	const char *s = v->valuestring;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].scheme);
		if (strncmp(s, schemes[i].scheme, n) != 0)
			continue;
		const char *rest = s + n;
		/* file:// needs an absolute path, http(s):// a host. */
		bool ok = schemes[i].local ? rest[0] == '/' : rest[0] && rest[0] != '/';
		if (ok && !strpbrk(s, " \t"))
			return store_string(w, s, dst);
		break;
	}
	char vb[VALUE_TEXT_MAX];
	return fail(w, "%s is not an http://, https:// or file:/// URL", show(v, vb, sizeof(vb)));
}

/* Hosts files list exact names; the other formats mean a domain and everything below. */
static int p_feed_format(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	struct ward_conf_feed *feed = dst;
	int i = match_enum(w, f, v);
	if (i < 0)
		return i;
	feed->format = (enum ward_feed_format)i;
	feed->subdomains = feed->format != WARD_FEED_HOSTS;
	return 0;
}

static int p_refresh(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	char vb[VALUE_TEXT_MAX], db[32];
	uint64_t s;
	if (ward_conf__duration(v->valuestring, UINT64_MAX, &s) != 0)
		return fail(w, "%s is not a duration (e.g. \"30m\", \"12h\", \"1d\")",
			    show(v, vb, sizeof(vb)));
	if (s < (uint64_t)f->min)
		return fail(w, "%s is below the minimum %s", show(v, vb, sizeof(vb)),
			    ward_conf__duration_format((uint64_t)f->min, db, sizeof(db)));
	if (s > (uint64_t)f->max)
		return fail(w, "%s is above the maximum %s", show(v, vb, sizeof(vb)),
			    ward_conf__duration_format((uint64_t)f->max, db, sizeof(db)));
	*(uint32_t *)dst = (uint32_t)s;
	return 0;
}

static int c_feeds_unique(struct walk *w, const struct field *f, void *rec)
{
	const struct ward_conf *conf = rec;
	for (size_t i = 1; i < conf->n_feeds; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(conf->feeds[i].name, conf->feeds[j].name) != 0)
				continue;
			char q[VALUE_TEXT_MAX];
			push_index(w, i);
			append(w, ".name");
			return fail(w, "%s is already used by feeds[%zu]",
				    quote(conf->feeds[i].name, q, sizeof(q)), j);
		}
	}
	return 0;
}

/* ---- listeners, upstreams, cache --------------------------------------------------- */

static bool same_addr(const struct ward_addr *a, const struct ward_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->v4.sin_port == b->v4.sin_port &&
		       a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
	return a->v6.sin6_port == b->v6.sin6_port &&
	       memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, 16) == 0;
}

static int c_addrs_unique(struct walk *w, const struct field *f, void *rec)
{
	const struct ward_addr *addrs = *(struct ward_addr **)((char *)rec + f->off);
	size_t n = *(size_t *)((char *)rec + f->n_off);
	for (size_t i = 1; i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (!same_addr(&addrs[i], &addrs[j]))
				continue;
			char ab[VALUE_TEXT_MAX];
			push_index(w, i);
			return fail(w, "%s is already listed as %s[%zu]",
				    ward_addr_format(&addrs[i], ab, sizeof(ab)), f->path, j);
		}
	}
	return 0;
}

static int c_cache(struct walk *w, const struct field *f, void *rec)
{
	const struct ward_conf_cache *c = &((struct ward_conf *)rec)->cache;
	if (c->min_ttl <= c->max_ttl)
		return 0;
	append(w, ".min_ttl");
	return fail(w, "%u is above cache.max_ttl %u", (unsigned)c->min_ttl,
		    (unsigned)c->max_ttl);
}

/* ---- the web listener -------------------------------------------------------------- */

static int p_web_addr(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	char vb[VALUE_TEXT_MAX];
	switch (ward_addr_parse_why(v->valuestring, 80, dst)) {
	case WARD_ADDR_OK:
		return 0;
	case WARD_ADDR_BAD_PORT:
		return fail(w, "%s has an invalid port (1-65535)", show(v, vb, sizeof(vb)));
	default:
		return fail(w, "%s is not an IP address", show(v, vb, sizeof(vb)));
	}
}

/* The name wardd answers A/AAAA for itself; kept in wire form too for the query path. */
static int p_web_hostname(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	struct ward_conf_web *web = dst;
	char name[DOMAIN_TEXT_MAX + 1], vb[VALUE_TEXT_MAX];
	if (ward_conf__domain(v->valuestring, name, sizeof(name)) != WARD_CONF__NAME_OK)
		return fail(w, "%s is not a host name", show(v, vb, sizeof(vb)));
	size_t o = 0;
	for (const char *label = name; *label;) {
		size_t n = strcspn(label, ".");
		web->hostname_wire[o++] = (uint8_t)n;
		memcpy(web->hostname_wire + o, label, n);
		o += n;
		label += n + (label[n] == '.');
	}
	web->hostname_wire[o] = 0;
	web->hostname_wire_len = (uint16_t)(o + 1);
	return store_string(w, name, &web->hostname);
}

static int c_web(struct walk *w, const struct field *f, void *rec)
{
	struct ward_conf *conf = rec;
	conf->web.enabled = true;
	if (conf->web.admin_token_file)
		return 0;
	size_t n = strlen(conf->database) + sizeof("/admin.token");
	conf->web.admin_token_file = malloc(n);
	if (!conf->web.admin_token_file)
		return oom(w);
	snprintf(conf->web.admin_token_file, n, "%s/admin.token", conf->database);
	return 0;
}

/* ---- time zone --------------------------------------------------------------------- */

/* A zone name is a relative path of plain components, nothing that could climb out. */
static int zone_name_ok(const char *s)
{
	if (s[0] == '/' || !valid_name(s, "_+-/ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
		return 0;
	for (const char *p = s; *p; p++) {
		bool start = p == s || p[-1] == '/';
		if (start && (*p == '/' || *p == '.'))
			return 0;
	}
	return s[strlen(s) - 1] != '/';
}

/* The file must exist and be a compiled zone (TZif), not e.g. zone.tab or a directory. */
static int zone_file_ok(const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[4096];
	char magic[4];
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	struct stat st;
	bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		  read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
		  memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

static int p_timezone(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	char vb[VALUE_TEXT_MAX];
	/* A zone name (a compiled file) or a POSIX TZ string, as OpenWrt stores it. */
	if ((!zone_name_ok(v->valuestring) || !zone_file_ok(v->valuestring)) &&
	    !ward_conf__posix_tz(v->valuestring))
		return fail(w, "%s is not a time zone (e.g. \"Europe/Amsterdam\", \"UTC\", "
			    "\"CET-1CEST,M3.5.0,M10.5.0/3\")", show(v, vb, sizeof(vb)));
	return store_string(w, v->valuestring, dst);
}

/* ---- profiles ---------------------------------------------------------------------- */

/*
 * Age presets. A parent picks an age; "block"/"unblock" then adjust. The reasoning for each
 * line is in docs/config.md; the unit test checks these sets against that table.
 */
#define C(x) WARD_CAT(WARD_CAT_##x)
#define SECURITY (C(MALWARE) | C(PHISHING) | C(SCAM) | C(CSAM))
#define TEEN_SET \
	(SECURITY | C(ADULT) | C(GAMBLING) | C(DRUGS) | C(WEAPONS) | C(HATE) | C(DATING) | \
	 C(PROXY) | C(NOSAFESEARCH))
#define CHILD_SET (TEEN_SET | C(VIOLENCE) | C(CHAT) | C(PIRACY) | C(HACKING))
#define YOUNG_CHILD_SET (CHILD_SET | C(SOCIAL) | C(CRYPTO) | C(FAKENEWS))

static const struct preset {
	const char *name;
	ward_catset blocked;
	unsigned safe_search;
	enum ward_youtube_level youtube;
	bool anti_circumvention;
} presets[] = {
	{ "young-child", YOUNG_CHILD_SET, WARD_SAFE_ALL, WARD_YOUTUBE_STRICT, true },
	{ "child", CHILD_SET, WARD_SAFE_ALL, WARD_YOUTUBE_STRICT, true },
	{ "teen", TEEN_SET, WARD_SAFE_ALL, WARD_YOUTUBE_MODERATE, true },
	{ "adult", SECURITY, 0, WARD_YOUTUBE_OFF, false },
};

static int p_profile_name(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	struct ward_conf_profile *p = dst;
	char q[VALUE_TEXT_MAX];
	const char *name = v->string;
	if (strlen(name) > 63 || !plain_key(name))
		return fail(w, "%s is not a valid profile name ([A-Za-z0-9_-], at most 63 "
			    "characters)", quote(name, q, sizeof(q)));
	/* Overrides and reports say "everyone" for every profile at once. */
	if (strcmp(name, "everyone") == 0)
		return fail(w, "\"everyone\" is reserved (overrides for all profiles)");
	return store_string(w, name, &p->name);
}

/* No preset (null) starts from nothing blocked but keeps anti-circumvention on: a
 * hand-built profile is still a filtering profile, and filters that a browser's own DoH
 * or a relay can bypass are no filters. "anti_circumvention": false turns it off. */
static int p_preset(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	struct ward_conf_profile *p = dst;
	char vb[VALUE_TEXT_MAX];
	if (cJSON_IsNull(v)) {
		p->anti_circumvention = true;
		return 0;
	}
	for (size_t i = 0; cJSON_IsString(v) && i < sizeof(presets) / sizeof(presets[0]); i++) {
		if (strcmp(presets[i].name, v->valuestring) != 0)
			continue;
		p->blocked = presets[i].blocked;
		p->safe_search = presets[i].safe_search;
		p->youtube = presets[i].youtube;
		p->anti_circumvention = presets[i].anti_circumvention;
		return store_string(w, presets[i].name, &p->preset);
	}
	return fail(w, "%s is not a preset (young-child, child, teen, adult)",
		    show(v, vb, sizeof(vb)));
}

static int p_domain(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	char name[DOMAIN_TEXT_MAX + 1], vb[VALUE_TEXT_MAX];
	const char *why = NULL;
	switch (ward_conf__domain(v->valuestring, name, sizeof(name))) {
	case WARD_CONF__NAME_OK:
		return store_string(w, name, dst);
	case WARD_CONF__NAME_IP:
		why = " (an IP address)";
		break;
	case WARD_CONF__NAME_WILDCARD:
		why = " (write the name without \"*.\")";
		break;
	case WARD_CONF__NAME_IDN:
		why = " (not a valid internationalized name)";
		break;
	case WARD_CONF__NAME_INVALID:
		why = "";
		break;
	}
	return fail(w, "%s is not a domain name%s", show(v, vb, sizeof(vb)), why);
}

static const char *const engines[] = { "google", "bing", "duckduckgo", "ecosia", "pixabay",
				       "yandex", NULL };

static int engine_bit(struct walk *w, const char *name, const cJSON *shown)
{
	for (int i = 0; engines[i]; i++)
		if (strcmp(engines[i], name) == 0)
			return 1 << i;
	char vb[VALUE_TEXT_MAX], lb[VALUE_TEXT_MAX];
	return fail(w, "%s is not a search engine (%s)", show(shown, vb, sizeof(vb)),
		    enum_list(engines, lb, sizeof(lb)));
}

/* {"google": true, "bing": false}: each engine switched on or off from the preset's. */
static int safe_search_object(struct walk *w, const cJSON *v, unsigned *bits)
{
	int rc = 0;
	for (const cJSON *item = v->child; item && rc == 0; item = item->next) {
		size_t saved = push_key(w, item->string);
		char vb[VALUE_TEXT_MAX];
		cJSON key = { .type = cJSON_String, .valuestring = item->string };
		int bit = engine_bit(w, item->string, &key);
		if (bit < 0)
			rc = bit;
		else if (earlier_duplicate(v, item))
			rc = fail(w, "duplicate key");
		else if (!cJSON_IsBool(item))
			rc = fail(w, "%s is not true or false", show(item, vb, sizeof(vb)));
		else if (cJSON_IsTrue(item))
			*bits |= (unsigned)bit;
		else
			*bits &= ~(unsigned)bit;
		pop(w, saved);
	}
	return rc;
}

/* ["google", "bing"]: exactly these engines. */
static int safe_search_array(struct walk *w, const cJSON *v, unsigned *bits)
{
	int rc = 0;
	size_t i = 0;
	*bits = 0;
	if (cJSON_GetArraySize(v) > 64)
		return fail(w, "has more than 64 entries");
	for (const cJSON *item = v->child; item && rc == 0; item = item->next, i++) {
		size_t saved = push_index(w, i);
		char vb[VALUE_TEXT_MAX];
		int bit = cJSON_IsString(item) ? engine_bit(w, item->valuestring, item)
					       : fail(w, "%s is not a search engine name",
						      show(item, vb, sizeof(vb)));
		if (bit < 0)
			rc = bit;
		else
			*bits |= (unsigned)bit;
		pop(w, saved);
	}
	return rc;
}

static int p_safe_search(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	unsigned *bits = dst;
	char vb[VALUE_TEXT_MAX];
	if (cJSON_IsBool(v)) {
		*bits = cJSON_IsTrue(v) ? WARD_SAFE_ALL : 0;
		return 0;
	}
	if (cJSON_IsArray(v))
		return safe_search_array(w, v, bits);
	if (cJSON_IsObject(v))
		return safe_search_object(w, v, bits);
	return fail(w, "%s is not true, false, a list of search engines or an object",
		    show(v, vb, sizeof(vb)));
}

static const struct {
	const char *name;
	uint8_t days;
} day_names[] = {
	{ "sun", 1 << 0 }, { "mon", 1 << 1 }, { "tue", 1 << 2 }, { "wed", 1 << 3 },
	{ "thu", 1 << 4 }, { "fri", 1 << 5 }, { "sat", 1 << 6 },
	{ "sunday", 1 << 0 }, { "monday", 1 << 1 }, { "tuesday", 1 << 2 },
	{ "wednesday", 1 << 3 }, { "thursday", 1 << 4 }, { "friday", 1 << 5 },
	{ "saturday", 1 << 6 },
	{ "daily", 0x7f }, { "weekdays", 0x3e }, { "weekends", 0x41 },
};

static int day_bits(struct walk *w, const cJSON *v, uint8_t *days)
{
	for (size_t i = 0; cJSON_IsString(v) && i < sizeof(day_names) / sizeof(day_names[0]);
	     i++) {
		if (strcmp(day_names[i].name, v->valuestring) == 0) {
			*days |= day_names[i].days;
			return 0;
		}
	}
	char vb[VALUE_TEXT_MAX];
	return fail(w, "%s is not a day (sun, mon, tue, wed, thu, fri, sat, daily, weekdays, "
		    "weekends)", show(v, vb, sizeof(vb)));
}

static int p_days(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	uint8_t *days = dst;
	char vb[VALUE_TEXT_MAX];
	*days = 0;
	if (!cJSON_IsArray(v))
		return day_bits(w, v, days);
	if (!v->child)
		return fail(w, "[] is empty (at least 1 day is required)");
	if (cJSON_GetArraySize(v) > 32)
		return fail(w, "%s has more than 32 entries", show(v, vb, sizeof(vb)));
	size_t i = 0;
	for (const cJSON *item = v->child; item; item = item->next, i++) {
		size_t saved = push_index(w, i);
		int rc = day_bits(w, item, days);
		pop(w, saved);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_time(struct walk *w, const cJSON *v, int allow_24, uint16_t *minutes)
{
	char vb[VALUE_TEXT_MAX];
	if (ward_conf__time(v->valuestring, allow_24, minutes) != 0)
		return fail(w, "%s is not a time (HH:MM)", show(v, vb, sizeof(vb)));
	return 0;
}

static int p_from(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	return parse_time(w, v, 0, &((struct ward_conf_schedule *)dst)->from_min);
}

/* "to" may be 24:00, the end of the day; equal to "from" would be an empty window. */
static int p_to(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	struct ward_conf_schedule *s = dst;
	char vb[VALUE_TEXT_MAX];
	int rc = parse_time(w, v, 1, &s->to_min);
	if (rc == 0 && s->to_min == s->from_min)
		return fail(w, "%s is the same time as \"from\" (an empty window)",
			    show(v, vb, sizeof(vb)));
	return rc;
}

static int p_schedule_block(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	struct ward_conf_schedule *s = dst;
	if (strcmp(v->valuestring, "all") == 0) {
		s->block_all = true;
		return 0;
	}
	return p_category_add(w, f, v, &s->block);
}

/* An unnamed schedule is called by its window, which is what a person would say. */
static int c_schedule(struct walk *w, const struct field *f, void *rec)
{
	struct ward_conf_schedule *s = rec;
	char name[16];
	if (s->name)
		return 0;
	snprintf(name, sizeof(name), "%02u:%02u-%02u:%02u", s->from_min / 60u, s->from_min % 60u,
		 s->to_min / 60u, s->to_min % 60u);
	return store_string(w, name, &s->name);
}

/* ---- clients and profile references ------------------------------------------------ */

static int p_match(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	struct ward_conf_client *c = dst;
	if (ward_mac_parse(v->valuestring, c->mac) == 0) {
		c->kind = WARD_CLIENT_MAC;
		return 0;
	}
	c->kind = WARD_CLIENT_CIDR;
	enum ward_addr_why why = ward_cidr_parse_why(v->valuestring, &c->cidr);
	if (why == WARD_ADDR_OK)
		return 0;
	return cidr_failure(w, v, why, &c->cidr, "an IP address, prefix (CIDR) or MAC address");
}

static int find_profile(struct walk *w, const cJSON *v, size_t *index)
{
	const struct ward_conf *conf = w->conf;
	struct suggest s = { v->valuestring, NULL, (size_t)-1 };
	char vb[VALUE_TEXT_MAX], sb[VALUE_TEXT_MAX];
	for (size_t i = 0; i < conf->n_profiles; i++) {
		if (strcmp(conf->profiles[i].name, v->valuestring) == 0) {
			*index = i;
			return 0;
		}
	}
	for (size_t i = 0; i < conf->n_profiles; i++)
		suggest_add(&s, conf->profiles[i].name);
	if (conf->n_profiles == 0)
		return fail(w, "%s is not a profile (\"profiles\" defines none)",
			    show(v, vb, sizeof(vb)));
	return fail(w, "%s is not a profile%s", show(v, vb, sizeof(vb)),
		    suggest_text(&s, sb, sizeof(sb)));
}

static int p_profile_ref(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	return find_profile(w, v, dst);
}

static int p_default_profile(struct walk *w, const struct field *f, const cJSON *v, void *dst)
{
	w->default_profile_set = true;
	return find_profile(w, v, dst);
}

/* Sort key for duplicate detection: identical keys mean identical matches. */
struct client_key {
	uint8_t bytes[20];
	size_t index;
};

static int client_key_cmp(const void *a, const void *b)
{
	const struct client_key *x = a, *y = b;
	int c = memcmp(x->bytes, y->bytes, sizeof(x->bytes));
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void client_key(const struct ward_conf_client *c, size_t i, struct client_key *k)
{
	memset(k, 0, sizeof(*k));
	k->index = i;
	k->bytes[0] = (uint8_t)c->kind;
	if (c->kind == WARD_CLIENT_MAC) {
		memcpy(k->bytes + 1, c->mac, 6);
	} else {
		k->bytes[1] = (uint8_t)c->cidr.family;
		k->bytes[2] = c->cidr.prefix;
		memcpy(k->bytes + 3, c->cidr.addr, 16);
	}
}

/* Sorted, so that an ISP-sized client list is not quadratic. Reports the first repeat in
 * file order, naming the entry it repeats. */
static int c_clients_unique(struct walk *w, const struct field *f, void *rec)
{
	const struct ward_conf *conf = rec;
	size_t n = conf->n_clients, dup = (size_t)-1, orig = 0;
	if (n < 2)
		return 0;
	struct client_key *keys = calloc(n, sizeof(*keys));
	if (!keys)
		return oom(w);
	for (size_t i = 0; i < n; i++)
		client_key(&conf->clients[i], i, &keys[i]);
	qsort(keys, n, sizeof(*keys), client_key_cmp);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (memcmp(keys[i].bytes, keys[first].bytes, sizeof(keys[i].bytes)) != 0)
			first = i;
		else if (keys[i].index < dup)
			dup = keys[i].index, orig = keys[first].index;
	}
	free(keys);
	if (dup == (size_t)-1)
		return 0;
	push_index(w, dup);
	append(w, ".match");
	return fail(w, "the same match as clients[%zu]", orig);
}

/* ---- whole files ------------------------------------------------------------------- */

/* Without "default_profile" a profile named "default" is the default; with profiles but
 * neither, the operator must say which one unlisted clients get. */
static int finish(struct walk *w)
{
	struct ward_conf *conf = w->conf;
	if (conf->n_profiles > 0 && !w->default_profile_set) {
		size_t i = 0;
		while (i < conf->n_profiles && strcmp(conf->profiles[i].name, "default") != 0)
			i++;
		if (i == conf->n_profiles) {
			append(w, "default_profile");
			return fail(w, "missing (required when no profile is named \"default\")");
		}
		conf->default_profile = i;
	}
	if (conf->workers == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		conf->workers = cpus < 1 ? 1 : cpus > WORKERS_MAX ? WORKERS_MAX : (unsigned)cpus;
	}
	return 0;
}

static int build(const char *name, const cJSON *root, struct ward_conf **out, char *err,
		 size_t errlen)
{
	struct walk w = { .name = name, .err = err, .errlen = errlen };
	struct ward_conf *conf = calloc(1, sizeof(*conf));
	if (!conf)
		return oom(&w);
	w.conf = conf;
	int rc = 0;
	char vb[VALUE_TEXT_MAX];
	if (!(conf->path = strdup(name)) || !(conf->categories = ward_cat_registry_new()))
		rc = oom(&w);
	else if (!cJSON_IsObject(root))
		rc = fail(&w, "%s is not an object", show(root, vb, sizeof(vb)));
	else
		rc = walk_object(&w, "", root, conf);
	if (rc == 0)
		rc = finish(&w);
	if (rc != 0) {
		ward_conf_free(conf);
		return rc;
	}
	*out = conf;
	return 0;
}

static void line_column(const char *text, size_t pos, size_t *line, size_t *col)
{
	*line = 1;
	size_t start = 0;
	for (size_t i = 0; i < pos; i++) {
		if (text[i] == '\n') {
			(*line)++;
			start = i + 1;
		}
	}
	*col = pos - start + 1;
}

static int syntax_error(const char *name, const char *text, size_t pos, const char *what,
			char *err, size_t errlen)
{
	size_t line, col;
	line_column(text, pos, &line, &col);
	snprintf(err, errlen, "%s: line %zu, column %zu: %s", name, line, col, what);
	return WARD_ECONF;
}

/* An upper bound on the number of JSON values: every value after the first in a container
 * follows a comma, and every container opens with a bracket. Strings are skipped. */
static size_t count_values(const char *s, size_t len)
{
	size_t n = 1;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == ',' || c == '[' || c == '{') {
			n++;
		}
	}
	return n;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

int ward_conf_parse(const char *name, const char *json, size_t len, struct ward_conf **out,
		    char *err, size_t errlen)
{
	char scratch[WARD_CONF_ERR_MAX];
	if (!err || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	name = name ? name : "config";
	if (!out || (!json && len))
		return WARD_EINVAL;
	*out = NULL;
	if (len > CONF_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than the limit of 16 MiB", name);
		return WARD_ECONF;
	}
	/* cJSON would cut a string at a NUL; a name could then mean less than it says. */
	const char *nul = len ? memchr(json, '\0', len) : NULL;
	if (nul)
		return syntax_error(name, json, (size_t)(nul - json), "NUL byte in the file",
				    err, errlen);
	if (blank(json, len)) {
		snprintf(err, errlen, "%s: empty file (expected a JSON object)", name);
		return WARD_ECONF;
	}
	if (count_values(json, len) > CONF_VALUES_MAX) {
		snprintf(err, errlen, "%s: more than %u JSON values (keep large lists in the "
			 "database)", name, CONF_VALUES_MAX);
		return WARD_ECONF;
	}
	char *text = malloc(len + 1);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", name);
		return WARD_ENOMEM;
	}
	memcpy(text, json, len);
	text[len] = '\0';
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
	int rc;
	if (!root)
		rc = syntax_error(name, text, end && end >= text ? (size_t)(end - text) : 0,
				  "invalid JSON", err, errlen);
	else
		rc = build(name, root, out, err, errlen);
	cJSON_Delete(root);
	free(text);
	return rc;
}

/* Reads at most CONF_FILE_MAX + 1 bytes: enough for ward_conf_parse to refuse the rest. */
static int read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	struct stat st;
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
		close(fd);
		return e;
	}
	size_t cap = CONF_FILE_MAX + 1, n = 0;
	char *b = malloc(cap);
	if (!b) {
		close(fd);
		return ENOMEM;
	}
	while (n < cap) {
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : 0;
			if (e) {
				free(b);
				close(fd);
				return e;
			}
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
}

int ward_conf_load(const char *path, struct ward_conf **out, char *err, size_t errlen)
{
	char scratch[WARD_CONF_ERR_MAX];
	if (!err || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	if (!path || !out)
		return WARD_EINVAL;
	*out = NULL;
	char *buf = NULL;
	size_t len = 0;
	int e = read_file(path, &buf, &len);
	if (e) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
		return WARD_EIO;
	}
	int rc = ward_conf_parse(path, buf, len, out, err, errlen);
	free(buf);
	return rc;
}

/* The default is a config like any other: built as JSON and put through the schema. */
int ward_conf_default(const char *resolv_conf, const char *database, struct ward_conf **out,
		      char *err, size_t errlen)
{
	char ns[WARD_CONF__MAX_NS][INET6_ADDRSTRLEN];
	char scratch[WARD_CONF_ERR_MAX];
	if (!err || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	if (!out)
		return WARD_EINVAL;
	*out = NULL;
	size_t n = ward_conf__resolv(resolv_conf, ns);
	const char *listen[] = { "127.0.0.1:5353", "[::1]:5353" };
	const char *fallback[] = { "127.0.0.1:53" };
	const char *servers[WARD_CONF__MAX_NS];
	for (size_t i = 0; i < n; i++)
		servers[i] = ns[i];
	cJSON *root = cJSON_CreateObject();
	bool ok = root &&
		  cJSON_AddItemToObject(root, "listen", cJSON_CreateStringArray(listen, 2)) &&
		  cJSON_AddItemToObject(root, "upstreams",
					n ? cJSON_CreateStringArray(servers, (int)n)
					  : cJSON_CreateStringArray(fallback, 1)) &&
		  cJSON_AddStringToObject(root, "user", "") &&
		  (!database || cJSON_AddStringToObject(root, "database", database));
	int rc;
	if (!ok) {
		snprintf(err, errlen, "%s: out of memory", DEFAULT_NAME);
		rc = WARD_ENOMEM;
	} else {
		rc = build(DEFAULT_NAME, root, out, err, errlen);
	}
	cJSON_Delete(root);
	return rc;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void free_profile(struct ward_conf_profile *p)
{
	free(p->name);
	free(p->preset);
	free_strings(p->deny, p->n_deny);
	free_strings(p->allow, p->n_allow);
	for (size_t i = 0; p->schedules && i < p->n_schedules; i++)
		free(p->schedules[i].name);
	free(p->schedules);
}

void ward_conf_free(struct ward_conf *conf)
{
	if (!conf)
		return;
	free(conf->path);
	free(conf->listen);
	free(conf->upstreams);
	free(conf->allow_clients);
	free(conf->trusted_forwarders);
	free(conf->database);
	free(conf->user);
	for (size_t i = 0; conf->feeds && i < conf->n_feeds; i++) {
		free(conf->feeds[i].name);
		free(conf->feeds[i].url);
	}
	free(conf->feeds);
	free_strings(conf->custom_categories, conf->n_custom_categories);
	ward_cat_registry_free(conf->categories);
	for (size_t i = 0; conf->profiles && i < conf->n_profiles; i++)
		free_profile(&conf->profiles[i]);
	free(conf->profiles);
	free(conf->clients);
	free(conf->timezone);
	free(conf->web.listen);
	free(conf->web.hostname);
	free(conf->web.admin_token_file);
	free(conf->web.hotline_url);
	free(conf);
}
