/*
 * Small pieces of the web listener (web_internal.h): the bounded output buffer, HTML
 * escaping, device keys, form decoding and the per-client token buckets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/web_internal.h"

/* ---- output buffer ------------------------------------------------------------------------ */

void web_buf_init(struct web_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void web_buf_free(struct web_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static bool reserve(struct web_buf *b, size_t n)
{
	if (b->failed)
		return false;
	if (b->cap - b->len > n)
		return true;
	if (b->max - b->len <= n) {
		b->failed = true;
		return false;
	}
	size_t cap = b->cap ? b->cap : b->max < 4096 ? b->max : 4096;
	while (cap - b->len <= n)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	char *data = realloc(b->data, cap);
	if (!data) {
		b->failed = true;
		return false;
	}
	b->data = data;
	b->cap = cap;
	return true;
}

void web_buf_put(struct web_buf *b, const void *data, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void web_buf_puts(struct web_buf *b, const char *s)
{
	web_buf_put(b, s, strlen(s));
}

void web_buf_printf(struct web_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		web_buf_put(b, small, (size_t)n);
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void web_buf_html(struct web_buf *b, const char *text)
{
	const char *run = text;
	for (const char *p = text;; p++) {
		const char *rep = NULL;
		switch (*p) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\0': break;
		default: continue;
		}
		web_buf_put(b, run, (size_t)(p - run));
		if (!rep)
			return;
		web_buf_puts(b, rep);
		run = p + 1;
	}
}

/* ---- device keys --------------------------------------------------------------------------- */

void web_addr_key(const struct ward_addr *a, uint8_t key[16])
{
	if (a->sa.sa_family == AF_INET6) {
		memcpy(key, &a->v6.sin6_addr, 16);
		return;
	}
	memset(key, 0, 10);
	key[10] = key[11] = 0xFF;
	memcpy(key + 12, &a->v4.sin_addr, 4);
}

/* ff00::/16 is multicast: no client address looks like this. */
void web_mac_key(const uint8_t mac[6], uint8_t key[16])
{
	memset(key, 0, 16);
	key[0] = 0xFF;
	key[2] = 'm';
	memcpy(key + 10, mac, 6);
}

/* ---- forms ---------------------------------------------------------------------------------- */

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode one %-encoded value of n bytes into out (cap >= 1); '+' is a space. */
static void form_decode(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		char c = in[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
			c = (char)(hex(in[i + 1]) << 4 | hex(in[i + 2]));
			i += 2;
		}
		/* A NUL would cut the value short where the rest of ward reads it. */
		out[o++] = c ? c : '?';
	}
	out[o] = '\0';
}

bool web_form_value(const char *body, size_t len, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (size_t pos = 0; pos < len;) {
		const char *amp = memchr(body + pos, '&', len - pos);
		size_t end = amp ? (size_t)(amp - body) : len;
		const char *eq = memchr(body + pos, '=', end - pos);
		if (eq && (size_t)(eq - body) - pos == klen && memcmp(body + pos, key, klen) == 0) {
			size_t v = (size_t)(eq - body) + 1;
			form_decode(body + v, end - v, out, cap);
			return true;
		}
		pos = end + 1;
	}
	return false;
}

/* ---- token buckets ----------------------------------------------------------------------------- */

#define LIMIT_SLOTS 4096
#define LIMIT_PROBE 8

struct bucket {
	uint8_t key[16];
	bool used;
	double tokens;
	int64_t last;
};

struct web_limiter {
	struct bucket *slots;
	double capacity, per_second;
};

struct web_limiter *web_limiter_new(double capacity, double per_hour)
{
	struct web_limiter *l = calloc(1, sizeof(*l));
	if (l)
		l->slots = calloc(LIMIT_SLOTS, sizeof(*l->slots));
	if (!l || !l->slots) {
		free(l);
		return NULL;
	}
	l->capacity = capacity;
	l->per_second = per_hour / 3600.0;
	return l;
}

void web_limiter_free(struct web_limiter *l)
{
	if (l)
		free(l->slots);
	free(l);
}

static size_t key_hash(const uint8_t key[16])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

/* The key's bucket, or the least recently used slot of its probe run (reset). */
static struct bucket *bucket_for(struct web_limiter *l, const uint8_t key[16], int64_t now)
{
	size_t h = key_hash(key);
	struct bucket *oldest = NULL;
	for (size_t i = 0; i < LIMIT_PROBE; i++) {
		struct bucket *b = &l->slots[(h + i) % LIMIT_SLOTS];
		if (b->used && memcmp(b->key, key, 16) == 0)
			return b;
		if (!oldest || !b->used || (oldest->used && b->last < oldest->last))
			oldest = b;
	}
	memcpy(oldest->key, key, 16);
	oldest->used = true;
	oldest->tokens = l->capacity;
	oldest->last = now;
	return oldest;
}

static struct bucket *refilled(struct web_limiter *l, const uint8_t key[16], int64_t now)
{
	struct bucket *b = bucket_for(l, key, now);
	if (now > b->last) {
		b->tokens += (double)(now - b->last) * l->per_second;
		if (b->tokens > l->capacity)
			b->tokens = l->capacity;
	}
	b->last = now;
	return b;
}

bool web_limiter_take(struct web_limiter *l, const uint8_t key[16], int64_t now)
{
	struct bucket *b = refilled(l, key, now);
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

bool web_limiter_has(struct web_limiter *l, const uint8_t key[16], int64_t now)
{
	return refilled(l, key, now)->tokens >= 1.0;
}
