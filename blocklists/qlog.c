/*
 * The query log's store (qlog.h): record layout, the LMDB environment, batched appends
 * with retention and the size bound, and filtered reads.
 */
#include "blocklists/qlog.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blocklists/catdb_internal.h"
#include "blocklists/error.h"
#include "blocklists/policy.h"

#define VERSION 1
#define FIXED_LEN 35             /* version .. client, before the MAC and the strings */
#define SEQ_BITS 24
#define PRUNE_PER_BATCH 50000    /* expired records deleted per batch at most */
#define FULL_PERCENT 75          /* records and the next batch stay within this of the map */
#define EVICT_PERCENT 10         /* deleted per step to get there: a tenth of the records */
#define RETRY_PERCENT 40         /* a batch that hit a full map: the records go down to this */
#define CHUNK_PERCENT 12         /* one transaction's records take at most this of the map */
#define MAX_READERS 126

static const char *const verdict_names[WARD_VERDICT_COUNT] = {
	[WARD_VERDICT_FORWARDED] = "forwarded", [WARD_VERDICT_CACHED] = "cached",
	[WARD_VERDICT_BLOCKED] = "blocked",     [WARD_VERDICT_REWRITTEN] = "rewritten",
	[WARD_VERDICT_REFUSED] = "refused",     [WARD_VERDICT_SERVFAIL] = "servfail",
	[WARD_VERDICT_INVALID] = "invalid",     [WARD_VERDICT_LOCAL] = "local",
	[WARD_VERDICT_DROPPED] = "dropped",
};

const char *ward_verdict_name(unsigned verdict)
{
	return verdict < WARD_VERDICT_COUNT ? verdict_names[verdict] : NULL;
}

int ward_verdict_parse(const char *name)
{
	for (unsigned i = 0; name && i < WARD_VERDICT_COUNT; i++)
		if (strcmp(name, verdict_names[i]) == 0)
			return (int)i;
	return -1;
}

void ward_qlog_anonymize(uint8_t client[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
	if (memcmp(client, mapped, 12) == 0)
		client[15] = 0;
	else
		memset(client + 6, 0, 10); /* keep the first 48 bits */
}

/* ---- layout ------------------------------------------------------------------------------- */

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static size_t put_text(uint8_t *p, const char *s)
{
	size_t n = strnlen(s, WARD_QLOG_TEXT_MAX - 1);
	p[0] = (uint8_t)n;
	memcpy(p + 1, s, n);
	return n + 1;
}

size_t ward_qlog_encode(const struct ward_qlog_entry *e, uint8_t *buf, size_t cap)
{
	size_t name_len = ward_name_wire_len(e->name);
	if (!name_len || cap < WARD_QLOG_VALUE_MAX)
		return 0;
	buf[0] = VERSION;
	buf[1] = e->verdict;
	buf[2] = e->rcode;
	buf[3] = e->reason;
	buf[4] = e->flags & (WARD_QLOG_HAS_MAC | WARD_QLOG_ANONYMIZED);
	put_be(buf + 5, e->qtype, 2);
	put_be(buf + 7, e->latency_ms, 4);
	put_be(buf + 11, e->categories, 8);
	memcpy(buf + 19, e->client, 16);
	size_t o = FIXED_LEN;
	if (buf[4] & WARD_QLOG_HAS_MAC) {
		memcpy(buf + o, e->mac, 6);
		o += 6;
	}
	o += put_text(buf + o, e->profile);
	o += put_text(buf + o, e->feed);
	buf[o++] = (uint8_t)name_len;
	memcpy(buf + o, e->name, name_len);
	return o + name_len;
}

/* A length-prefixed text: printable ASCII or UTF-8 bytes, no control characters. */
static bool get_text(const uint8_t *val, size_t len, size_t *o, char *out)
{
	if (*o >= len)
		return false;
	size_t n = val[(*o)++];
	if (n >= WARD_QLOG_TEXT_MAX || n > len - *o)
		return false;
	for (size_t i = 0; i < n; i++)
		if (val[*o + i] < 0x20 || val[*o + i] == 0x7F)
			return false;
	memcpy(out, val + *o, n);
	out[n] = '\0';
	*o += n;
	return true;
}

int ward_qlog_decode(const uint8_t *val, size_t len, struct ward_qlog_entry *e)
{
	if (len < FIXED_LEN || val[0] != VERSION || val[1] >= WARD_VERDICT_COUNT ||
	    (val[4] & ~(WARD_QLOG_HAS_MAC | WARD_QLOG_ANONYMIZED)))
		return WARD_EFORMAT;
	e->verdict = val[1];
	e->rcode = val[2];
	e->reason = val[3];
	e->flags = val[4];
	e->qtype = (uint16_t)get_be(val + 5, 2);
	e->latency_ms = (uint32_t)get_be(val + 7, 4);
	e->categories = get_be(val + 11, 8);
	memcpy(e->client, val + 19, 16);
	size_t o = FIXED_LEN;
	memset(e->mac, 0, 6);
	if (e->flags & WARD_QLOG_HAS_MAC) {
		if (len - o < 6)
			return WARD_EFORMAT;
		memcpy(e->mac, val + o, 6);
		o += 6;
	}
	if (!get_text(val, len, &o, e->profile) || !get_text(val, len, &o, e->feed) || o >= len)
		return WARD_EFORMAT;
	size_t n = val[o++];
	if (n == 0 || n != len - o)
		return WARD_EFORMAT;
	memset(e->name, 0, sizeof(e->name));
	memcpy(e->name, val + o, n);
	return ward_name_wire_len(e->name) == n ? 0 : WARD_EFORMAT;
}

/* ---- the environment ----------------------------------------------------------------------- */

struct ward_qlog {
	MDB_env *env;
	MDB_dbi dbi;
	bool write;
	uint64_t last_key;
	size_t map_bytes;
};

static int open_env(struct ward_qlog *log, const char *dir, size_t max_bytes)
{
	int rc = mdb_env_create(&log->env);
	if (rc)
		return ward_catdb_mdb_err(rc);
	rc = mdb_env_set_maxreaders(log->env, MAX_READERS);
	if (!rc && log->write)
		rc = mdb_env_set_mapsize(log->env, max_bytes);
	/* A crash loses at most the last batch (no meta sync), never the file's integrity. */
	unsigned flags = MDB_NOTLS | (log->write ? MDB_NOMETASYNC : MDB_RDONLY);
	if (!rc)
		rc = mdb_env_open(log->env, dir, flags, 0640);
	if (rc)
		return ward_catdb_mdb_err(rc);
	if (log->write) {
		int dead;
		mdb_reader_check(log->env, &dead);
	}
	MDB_envinfo info;
	mdb_env_info(log->env, &info);
	log->map_bytes = info.me_mapsize;
	return 0;
}

static int open_dbi(struct ward_qlog *log)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_txn_begin(log->env, NULL, log->write ? 0 : MDB_RDONLY, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, NULL, 0, &log->dbi);
	if (!rc && (rc = mdb_cursor_open(txn, log->dbi, &cur)) == 0) {
		if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
			log->last_key = get_be(k.mv_data, 8);
		mdb_cursor_close(cur);
	}
	if (rc) {
		mdb_txn_abort(txn);
		return ward_catdb_mdb_err(rc);
	}
	return ward_catdb_mdb_err(log->write ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), 0));
}

int ward_qlog_open(const char *dir, bool write, size_t max_bytes, struct ward_qlog **out)
{
	struct stat st;
	*out = NULL;
	if (!dir || !*dir)
		return WARD_EINVAL;
	if (write && mkdir(dir, 0750) != 0 && errno != EEXIST)
		return ward_errno(errno);
	if (!write && stat(dir, &st) != 0)
		return errno == ENOENT ? WARD_ENOTFOUND : ward_errno(errno);
	struct ward_qlog *log = calloc(1, sizeof(*log));
	if (!log)
		return WARD_ENOMEM;
	log->write = write;
	int rc = open_env(log, dir, max_bytes);
	if (!rc)
		rc = open_dbi(log);
	if (rc) {
		ward_qlog_close(log);
		return rc;
	}
	*out = log;
	return 0;
}

void ward_qlog_close(struct ward_qlog *log)
{
	if (!log)
		return;
	if (log->env)
		mdb_env_close(log->env);
	free(log);
}

/* ---- writing -------------------------------------------------------------------------------- */

static uint64_t pages_in_use(MDB_txn *txn, MDB_dbi dbi, unsigned *psize)
{
	MDB_stat st;
	if (mdb_stat(txn, dbi, &st) != 0)
		return 0;
	*psize = st.ms_psize;
	return st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
}

/* Delete from the front: at most `max` records, and only those with keys below `below`
 * (UINT64_MAX: any). @return how many went, or a negative WARD_E* code. */
static int64_t delete_oldest(MDB_txn *txn, MDB_dbi dbi, uint64_t max, uint64_t below)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int64_t n = 0;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return ward_catdb_mdb_err(rc);
	while ((uint64_t)n < max && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
		if (k.mv_size != 8 || get_be(k.mv_data, 8) >= below)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		n++;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? n : ward_catdb_mdb_err(rc);
}

/* Delete the oldest records until what is in use plus `incoming` bytes fits in `target`
 * bytes, a tenth of the records at a time. @return how many went, or a WARD_E* code. */
static int64_t shrink_to(struct ward_qlog *log, MDB_txn *txn, uint64_t target,
			 uint64_t incoming)
{
	int64_t gone = 0;
	for (int round = 0; round < 10; round++) {
		unsigned psize = 4096;
		uint64_t used = pages_in_use(txn, log->dbi, &psize) * psize;
		MDB_stat ms;
		if (used + incoming <= target)
			break;
		if (mdb_stat(txn, log->dbi, &ms) != 0)
			return WARD_EDB;
		if (ms.ms_entries == 0)
			break;
		int64_t n = delete_oldest(txn, log->dbi, ms.ms_entries * EVICT_PERCENT / 100 + 1,
					  UINT64_MAX);
		if (n < 0)
			return n;
		gone += n;
	}
	return gone;
}

/*
 * Retention, then the size bound, in a transaction of their own: pages freed here can
 * hold the batch only once this is committed (LMDB reuses no page freed in the same
 * transaction). The batch is counted in at twice its bytes (pages are not full).
 */
static int make_room(struct ward_qlog *log, uint64_t incoming, unsigned percent,
		     struct ward_qlog_write *st)
{
	MDB_txn *txn;
	int64_t cutoff = st->now - (int64_t)st->retention_days * 86400;
	int rc = ward_catdb_mdb_err(mdb_txn_begin(log->env, NULL, 0, &txn));
	if (rc)
		return rc;
	int64_t expired = delete_oldest(txn, log->dbi, PRUNE_PER_BATCH,
					cutoff > 0 ? (uint64_t)cutoff << SEQ_BITS : 0);
	int64_t evicted = expired < 0 ? 0 : shrink_to(log, txn, (uint64_t)log->map_bytes *
							   percent / 100, 2 * incoming);
	if (expired < 0 || evicted < 0) {
		mdb_txn_abort(txn);
		return expired < 0 ? (int)expired : (int)evicted;
	}
	if (expired == 0 && evicted == 0) {
		mdb_txn_abort(txn);
		return 0;
	}
	rc = ward_catdb_mdb_err(mdb_txn_commit(txn));
	if (rc == 0) {
		st->expired += (uint64_t)expired;
		st->evicted += (uint64_t)evicted;
	}
	return rc;
}

static uint64_t next_key(struct ward_qlog *log, int64_t t)
{
	uint64_t k = t > 0 ? (uint64_t)t << SEQ_BITS : 0;
	log->last_key = k > log->last_key ? k : log->last_key + 1;
	return log->last_key;
}

/* Encode the batch into one buffer (NULL entries did not encode). @return its bytes. */
static uint8_t *encode_all(const struct ward_qlog_entry *e, size_t n, uint32_t *lens,
			   uint64_t *bytes)
{
	uint8_t *buf = n ? malloc(n * WARD_QLOG_VALUE_MAX) : NULL;
	*bytes = 0;
	for (size_t i = 0; buf && i < n; i++) {
		lens[i] = (uint32_t)ward_qlog_encode(&e[i], buf + i * WARD_QLOG_VALUE_MAX,
						     WARD_QLOG_VALUE_MAX);
		*bytes += lens[i] + 16; /* key and node header */
	}
	return buf;
}

/* One transaction with every record. On failure nothing of it happened. */
static int put_all(struct ward_qlog *log, const struct ward_qlog_entry *e, size_t n,
		   const uint8_t *vals, const uint32_t *lens, struct ward_qlog_write *st)
{
	MDB_txn *txn;
	uint8_t kb[8];
	uint64_t key_before = log->last_key, written = 0, bad = 0;
	int rc = ward_catdb_mdb_err(mdb_txn_begin(log->env, NULL, 0, &txn));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!lens[i]) {
			bad++;
			continue;
		}
		put_be(kb, next_key(log, e[i].time), 8);
		MDB_val k = {8, kb}, v = {lens[i], (void *)(vals + i * WARD_QLOG_VALUE_MAX)};
		rc = ward_catdb_mdb_err(mdb_put(txn, log->dbi, &k, &v, MDB_APPEND));
		written++;
	}
	if (rc == 0)
		rc = ward_catdb_mdb_err(mdb_txn_commit(txn));
	else
		mdb_txn_abort(txn);
	if (rc) {
		log->last_key = key_before;
		return rc;
	}
	st->written += written;
	st->dropped += bad;
	return 0;
}

/* One chunk: room, then the records, in transactions of their own. */
static int append_chunk(struct ward_qlog *log, const struct ward_qlog_entry *e, size_t n,
			const uint8_t *vals, const uint32_t *lens, uint64_t bytes,
			struct ward_qlog_write *st)
{
	int rc = make_room(log, bytes, FULL_PERCENT, st);
	if (rc == 0 && n)
		rc = put_all(log, e, n, vals, lens, st);
	/* Still too full (freed pages a reader still holds): make real room, try once more;
	 * then the chunk is lost, and counted. */
	if (rc == WARD_ETOOBIG && (rc = make_room(log, bytes, RETRY_PERCENT, st)) == 0)
		rc = put_all(log, e, n, vals, lens, st);
	if (rc)
		st->dropped += n;
	return rc;
}

/* A small map (max_mb) takes a big batch in chunks, so that one chunk never needs more
 * than a slice of the map next to the records already there. */
int ward_qlog_append(struct ward_qlog *log, const struct ward_qlog_entry *e, size_t n,
		     struct ward_qlog_write *st)
{
	uint64_t bytes, limit = (uint64_t)log->map_bytes * CHUNK_PERCENT / 100 / 2;
	if (!log->write)
		return WARD_EINVAL;
	uint32_t *lens = n ? calloc(n, sizeof(*lens)) : NULL;
	uint8_t *vals = encode_all(e, n, lens, &bytes);
	int rc = n && (!lens || !vals) ? WARD_ENOMEM : 0;
	if (rc || n == 0)
		rc = rc ? rc : append_chunk(log, e, 0, NULL, NULL, 0, st);
	for (size_t i = 0, j; rc == 0 && i < n; i = j) {
		uint64_t chunk = 0;
		for (j = i; j < n && (j == i || chunk + lens[j] + 16 <= limit); j++)
			chunk += lens[j] + 16;
		rc = append_chunk(log, e + i, j - i, vals + i * WARD_QLOG_VALUE_MAX, lens + i,
				  chunk, st);
		if (rc)
			st->dropped += n - j; /* the chunks after a failure are not tried */
	}
	if (rc && n && (!lens || !vals))
		st->dropped += n;
	free(lens);
	free(vals);
	return rc;
}

/* ---- reading ---------------------------------------------------------------------------------- */

static bool matches(const struct ward_qlog_filter *f, const struct ward_qlog_entry *e)
{
	return (!f->has_client || memcmp(f->client, e->client, 16) == 0) &&
	       (f->verdict < 0 || f->verdict == e->verdict) &&
	       (!f->profile || strcmp(f->profile, e->profile) == 0);
}

static int collect(struct ward_qlog *log, MDB_txn *txn, const struct ward_qlog_filter *f,
		   struct ward_qlog_result *r, size_t limit)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t kb[8];
	uint64_t scanned = 0, since = f->since > 0 ? (uint64_t)f->since << SEQ_BITS : 0;
	int rc = mdb_cursor_open(txn, log->dbi, &cur);
	if (rc)
		return ward_catdb_mdb_err(rc);
	MDB_cursor_op op = MDB_LAST;
	if (f->until > 0) { /* the first key at or past `until`, then step back */
		put_be(kb, (uint64_t)f->until << SEQ_BITS, 8);
		k = (MDB_val){8, kb};
		op = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) == 0 ? MDB_PREV : MDB_LAST;
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_PREV;
		uint64_t key = k.mv_size == 8 ? get_be(k.mv_data, 8) : 0;
		if (key < since)
			break;
		if (++scanned > WARD_QLOG_SCAN_MAX) {
			r->truncated = true;
			break;
		}
		struct ward_qlog_entry *e = &r->entries[r->n];
		if (ward_qlog_decode(v.mv_data, v.mv_size, e) != 0 || !matches(f, e))
			continue; /* damaged records are skipped, never trusted */
		if (r->n == limit) { /* the scratch slot past the limit matched */
			r->truncated = true;
			break;
		}
		e->id = key;
		e->time = (int64_t)(key >> SEQ_BITS);
		r->n++;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : ward_catdb_mdb_err(rc);
}

int ward_qlog_query(struct ward_qlog *log, const struct ward_qlog_filter *f,
		    struct ward_qlog_result *r)
{
	MDB_txn *txn;
	memset(r, 0, sizeof(*r));
	size_t limit = f->limit && f->limit < WARD_QLOG_RESULTS_MAX ? f->limit
								   : WARD_QLOG_RESULTS_MAX;
	/* One more slot than the limit: the entry decoded past it is scratch. */
	r->entries = calloc(limit + 1, sizeof(*r->entries));
	if (!r->entries)
		return WARD_ENOMEM;
	int rc = ward_catdb_mdb_err(mdb_txn_begin(log->env, NULL, MDB_RDONLY, &txn));
	if (!rc) {
		rc = collect(log, txn, f, r, limit);
		MDB_stat ms;
		unsigned psize = 4096;
		if (mdb_stat(txn, log->dbi, &ms) == 0)
			r->total = ms.ms_entries;
		r->bytes = pages_in_use(txn, log->dbi, &psize) * psize;
		r->max_bytes = log->map_bytes;
		mdb_txn_abort(txn);
	}
	if (rc) {
		free(r->entries);
		memset(r, 0, sizeof(*r));
	}
	return rc;
}

int ward_qlog_usage(struct ward_qlog *log, uint64_t *records, uint64_t *bytes,
		    uint64_t *max_bytes)
{
	MDB_txn *txn;
	MDB_stat ms;
	unsigned psize = 4096;
	int rc = ward_catdb_mdb_err(mdb_txn_begin(log->env, NULL, MDB_RDONLY, &txn));
	if (rc)
		return rc;
	rc = ward_catdb_mdb_err(mdb_stat(txn, log->dbi, &ms));
	*records = rc ? 0 : ms.ms_entries;
	*bytes = pages_in_use(txn, log->dbi, &psize) * psize;
	*max_bytes = log->map_bytes;
	mdb_txn_abort(txn);
	return rc;
}

/* ---- text and JSON ---------------------------------------------------------------------------- */

const char *ward_qlog_client_text(const uint8_t client[16], char *buf, size_t cap)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
	bool v4 = memcmp(client, mapped, 12) == 0;
	if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? client + 12 : client, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
	return buf;
}

int ward_qlog_client_parse(const char *text, uint8_t client[16])
{
	uint8_t v4[4];
	if (text && inet_pton(AF_INET, text, v4) == 1) {
		memset(client, 0, 10);
		client[10] = client[11] = 0xFF;
		memcpy(client + 12, v4, 4);
		return 0;
	}
	return text && inet_pton(AF_INET6, text, client) == 1 ? 0 : WARD_EINVAL;
}

const char *ward_qlog_type_text(uint16_t qtype, char *buf, size_t cap)
{
	static const struct { uint16_t type; const char *name; } types[] = {
		{1, "A"}, {2, "NS"}, {5, "CNAME"}, {6, "SOA"}, {12, "PTR"}, {15, "MX"},
		{16, "TXT"}, {28, "AAAA"}, {33, "SRV"}, {35, "NAPTR"}, {43, "DS"}, {48, "DNSKEY"},
		{64, "SVCB"}, {65, "HTTPS"}, {255, "ANY"},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == qtype) {
			snprintf(buf, cap, "%s", types[i].name);
			return buf;
		}
	snprintf(buf, cap, "TYPE%u", qtype);
	return buf;
}

void *ward_qlog_entry_json(const struct ward_qlog_entry *e, const struct ward_cat_registry *reg)
{
	char text[WARD_NAME_TEXT_MAX], mac[18];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "time", (double)e->time);
	cJSON_AddStringToObject(o, "client", ward_qlog_client_text(e->client, text, sizeof(text)));
	if (e->flags & WARD_QLOG_HAS_MAC) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", e->mac[0], e->mac[1],
			 e->mac[2], e->mac[3], e->mac[4], e->mac[5]);
		cJSON_AddStringToObject(o, "mac", mac);
	}
	cJSON_AddBoolToObject(o, "anonymized", (e->flags & WARD_QLOG_ANONYMIZED) != 0);
	cJSON_AddStringToObject(o, "profile", e->profile);
	ward_name_to_text(e->name, text, sizeof(text));
	cJSON_AddStringToObject(o, "name", text);
	cJSON_AddStringToObject(o, "type", ward_qlog_type_text(e->qtype, text, sizeof(text)));
	cJSON_AddStringToObject(o, "verdict", ward_verdict_name(e->verdict));
	if (e->reason != WARD_REASON_NONE)
		cJSON_AddStringToObject(o, "reason", ward_policy_reason_name(e->reason));
	cJSON *cats = cJSON_AddArrayToObject(o, "categories");
	for (ward_catset c = e->categories; c; c &= c - 1) {
		const char *name = reg ? ward_cat_name(reg, (unsigned)__builtin_ctzll(c)) : NULL;
		cJSON_AddItemToArray(cats, cJSON_CreateString(name ? name : "?"));
	}
	cJSON_AddStringToObject(o, "feed", e->feed);
	cJSON_AddNumberToObject(o, "rcode", e->rcode);
	cJSON_AddNumberToObject(o, "latency_ms", e->latency_ms);
	return o;
}
