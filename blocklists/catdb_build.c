/*
 * Rebuilding the domains table (key spaces: see catdb.c), in time and memory linear in
 * the number of names, with memory bounded by constants rather than by the names:
 *
 *   collect  ward_catdb_build_add() appends the reversed key to an arena and a 24-byte
 *            record (8 key bytes cached for the sort, categories, kind, feed) to an array.
 *            When records + arena reach RUN_BYTES (48 MB), they go to a thread that sorts
 *            them and appends them as a sorted run to an unlinked file in the database
 *            directory, while the next run is collected into the buffers of the one
 *            before: two runs in memory at most.
 *   sort     each run: an in-place MSD radix sort on the cached key bytes, reloading the
 *            next 8 bytes from the arena only for records still tied.
 *   merge    the runs k-way (a heap on their current keys; RUN_READ_BUF each), duplicates
 *            merged, into the encoded (key, value) stream in a second unlinked file. A
 *            build that fits one run skips the run file and merges from memory.
 *   compare  a read transaction walks the table readers use alongside the stream until
 *            the first difference; a thread meanwhile builds the Bloom filter of the keys
 *            (catdb_value.h) from its own reader of the stream.
 *   fill     unless equal: the inactive domains table (`domains` or `domains_b`, the one
 *            meta domains_table does not name) is emptied and the stream put into it in
 *            order with MDB_APPEND (pages fill completely, no B-tree searches), committing
 *            every FILL_CHUNK (32 MB) of stream. Without MDB_WRITEMAP, LMDB keeps every
 *            dirty page in malloc'ed memory until the commit (it spills only past 512 MB
 *            of them), so one transaction for the whole table held the table in memory;
 *            a commit frees them for the next chunk to reuse.
 *   switch   the last chunk's transaction also drops the old table, stores the filter,
 *            meta and domains_table naming the new table: readers switch from the whole
 *            old table to the whole new one between two snapshots, and never read the
 *            inactive table (a lookup whose table is not open fails closed, catdb.c).
 *            An unchanged table writes only the filter (if it changed) and meta.
 *
 * Peak memory at 10M names: about 100 MB (two runs, the filter, one chunk's dirty pages);
 * the run and stream files (about 300 MB each at 10M) live in the page cache and on disk
 * until the build ends. The threads (run sort, filter) use a second core when there is
 * one; the result does not depend on them.
 * If the map is full, the fill's transaction is aborted, the map doubled and the fill
 * started over (the first transaction empties the inactive table again).
 *
 * Crashes: until the switch commits, readers use the old table. A fill killed after some
 * of its commits leaves a partial inactive table that no reader looks at; the next build
 * (mark_build_start) or snapshot install empties it before filling it.
 *
 * The file: the old table's pages are freed by the switch and stay in use until no reader
 * holds a snapshot from before it, so a rewrite needs room for a second copy; after the
 * first rebuild the file holds two copies (the one readers see and the room for the next)
 * and stays at that size. A rebuild that changes nothing writes no page of the table.
 */
#include "blocklists/catdb.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/catdb_internal.h"
#include "blocklists/catdb_value.h"
#include "blocklists/error.h"
#include "blocklists/feed.h"

#define BUILD_MAX_ENTRIES ((size_t)1 << 31)
#define BUILD_MAX_ARENA ((size_t)UINT32_MAX)
#define BUILD_SMALL_SORT 24
#define SPILL_BUF_SIZE ((size_t)1 << 20)
#define SPILL_REC_MAX (1 + WARD_NAME_MAX + 1 + WARD_CATDB_VALUE_MAX)
#define MAP_GROW_TRIES 8
/* Records + arena of one sorted run (below that, a build never touches the run file). */
#define RUN_BYTES ((size_t)48 << 20)
#define RUN_REC_MAX (1 + WARD_NAME_MAX + 1 + 2 + 8)
#define RUN_READ_BUF ((size_t)256 << 10)
/* Table bytes compared between two unmappings (mapped_read). */
#define COMPARE_UNMAP_BYTES ((size_t)32 << 20)
/* Stream bytes put per commit of a fill: about 1.3 times as many bytes of dirty pages. */
#define FILL_CHUNK ((size_t)32 << 20)
/* How long a commit waits for readers to leave snapshots older than the last commit:
 * wardd's busy workers renew theirs every 100 ms, idle ones let go after 500 ms. */
#define READER_WAIT_MS 2000
#define READER_POLL_MS 10
#define NEW_TABLE_GRACE_MS 1500 /* wardd's housekeeping opens new tables every 500 ms */

struct build_rec {
	uint64_t pfx;      /* sort scratch: 8 key bytes from the sort's depth, big-endian,
	                      zero-padded (key bytes are never 0, so shorter sorts first) */
	ward_catset cats;
	uint32_t key_off;  /* into the arena */
	uint16_t feed;
	uint8_t key_len;
	uint8_t kind;      /* enum ward_catdb_mask */
};

struct run {
	off_t start, end; /* in the run file */
};

/* A run being sorted and written by a thread of its own while the next one is collected:
 * its buffers are the collector's spares once it is joined. */
struct run_job {
	struct build_rec *recs;
	char *arena;
	size_t n, recs_cap, arena_cap;
	int fd;
	off_t start, end;
	int rc;
	bool running;
	pthread_t tid;
};

struct ward_catdb_build {
	struct ward_catdb *db;
	int lock_fd;
	char *arena;
	size_t arena_len, arena_cap;
	struct build_rec *recs;
	size_t n, cap;
	uint64_t added;    /* entries added, all runs */
	int run_fd;        /* -1 until the first run is spilled */
	struct run *runs;
	size_t n_runs, runs_cap;
	struct run_job job;
};

static size_t run_bytes(void)
{
#ifdef WARD_TEST_HOOKS
	if (ward_catdb_test_run_bytes)
		return ward_catdb_test_run_bytes;
#endif
	return RUN_BYTES;
}

static size_t fill_chunk(void)
{
#ifdef WARD_TEST_HOOKS
	if (ward_catdb_test_fill_chunk)
		return ward_catdb_test_fill_chunk;
#endif
	return FILL_CHUNK;
}

/* ---- begin / add / abort ---------------------------------------------------------- */

int ward_catdb_build_lock(const char *dir, bool nowait, int *fd_out)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/build.lock", dir) >= sizeof(path))
		return WARD_EINVAL;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return ward_errno(errno);
	int rc;
	do
		rc = flock(fd, LOCK_EX | (nowait ? LOCK_NB : 0));
	while (rc != 0 && errno == EINTR);
	if (rc != 0) {
		int err = ward_errno(errno); /* EWOULDBLOCK: WARD_EBUSY */
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

/*
 * LMDB reuses a page freed by transaction T only in transactions that start when no
 * reader holds a snapshot older than T + 1, and never before T + 2. If builds followed
 * each other directly (`ward update --offline`, or every feed fresh), the table the last
 * build freed would be reusable only by the build after this one, and the file would
 * settle at three copies of the table. A small transaction when the build begins moves
 * the snapshot on: wardd's busy readers renew onto it while the entries are collected
 * and its idle readers let go of theirs, so the commit can reuse the last table's pages
 * and the file holds two copies.
 */
static int mark_build_start(struct ward_catdb *db)
{
	MDB_txn *txn;
	int rc = ward_catdb_txn_begin(db, false, &txn);
	if (rc)
		return rc;
	MDB_dbi active;
	unsigned which;
	rc = ward_catdb_domains_table(db, txn, &active, &which);
	if (!rc) /* a fill that died before its switch left a partial table: free it now */
		rc = ward_catdb_mdb_err(mdb_drop(txn, ward_catdb_domains_dbi(db, !which), 0));
	if (!rc)
		rc = ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_BUILD_STARTED,
					     (uint64_t)time(NULL));
	if (rc) {
		ward_catdb_txn_abort(db, txn);
		return rc;
	}
	return ward_catdb_txn_commit(db, txn);
}

int ward_catdb_build_begin(struct ward_catdb *db, bool nowait, struct ward_catdb_build **out)
{
	*out = NULL;
	if (db->mode != WARD_CATDB_WRITE)
		return WARD_EINVAL;
	struct ward_catdb_build *b = calloc(1, sizeof(*b));
	if (!b)
		return WARD_ENOMEM;
	b->db = db;
	b->run_fd = -1;
	int rc = ward_catdb_build_lock(db->dir, nowait, &b->lock_fd);
	if (rc) {
		free(b);
		return rc;
	}
	mark_build_start(db); /* best effort: only the file's size depends on it */
	*out = b;
	return 0;
}

static int run_join(struct ward_catdb_build *b);

static void build_free_entries(struct ward_catdb_build *b)
{
	run_join(b);
	free(b->recs);
	free(b->arena);
	free(b->job.recs);
	free(b->job.arena);
	b->recs = b->job.recs = NULL;
	b->arena = b->job.arena = NULL;
	b->n = b->cap = b->arena_len = b->arena_cap = 0;
	b->job.recs_cap = b->job.arena_cap = 0;
}

void ward_catdb_build_abort(struct ward_catdb_build *b)
{
	if (!b)
		return;
	build_free_entries(b);
	if (b->run_fd >= 0)
		close(b->run_fd);
	free(b->runs);
	close(b->lock_fd); /* releases the flock */
	free(b);
}

static int flush_run(struct ward_catdb_build *b);

/* Grow to hold `need` more; doubling keeps realloc (mremap for big blocks) rare. */
static int grow(void **p, size_t *cap, size_t used, size_t need, size_t elem, size_t max)
{
	if (*cap - used >= need)
		return 0;
	if (max - used < need)
		return WARD_ETOOBIG;
	size_t ncap = *cap ? *cap : 4096;
	while (ncap - used < need)
		ncap = ncap > max / 2 ? max : ncap * 2;
	if (ncap > SIZE_MAX / elem)
		return WARD_ENOMEM;
	void *np = realloc(*p, ncap * elem);
	if (!np)
		return WARD_ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

static uint64_t load_pfx(const char *key, size_t len, size_t depth)
{
	uint64_t x = 0;
	for (size_t i = 0; i < 8; i++)
		x = (x << 8) | (depth + i < len ? (uint8_t)key[depth + i] : 0);
	return x;
}

/* Names in the table hold only printable bytes: a feed's names are normalized. */
static bool key_printable(const struct ward_catdb_key *k)
{
	for (size_t i = 0; i < k->len; i++) {
		unsigned char c = (unsigned char)k->buf[i];
		if (c <= ' ' || c == 0x7f)
			return false;
	}
	return true;
}

int ward_catdb_build_add(struct ward_catdb_build *b, const char *name, size_t len,
			 ward_catset categories, uint16_t feed_id, unsigned flags)
{
	if (!categories || (flags & ~(unsigned)(WARD_ENTRY_SUBDOMAINS | WARD_ENTRY_ALLOW)))
		return WARD_EINVAL;
	struct ward_catdb_key k;
	if (ward_catdb_key_from_name(name, len, &k) || !key_printable(&k))
		return WARD_EINVAL;
	if ((b->n + 1) * sizeof(*b->recs) + b->arena_len + k.len > run_bytes()) {
		int err = flush_run(b); /* bounded memory: sort what we have, spill it */
		if (err)
			return err;
	}
	int rc = grow((void **)&b->recs, &b->cap, b->n, 1, sizeof(*b->recs), BUILD_MAX_ENTRIES);
	if (!rc)
		rc = grow((void **)&b->arena, &b->arena_cap, b->arena_len, k.len, 1,
			  BUILD_MAX_ARENA);
	if (rc)
		return rc;
	memcpy(b->arena + b->arena_len, k.buf, k.len);
	unsigned kind = (flags & WARD_ENTRY_ALLOW) ? WARD_CATDB_ALLOW_SUB : WARD_CATDB_BLOCK_SUB;
	if (!(flags & WARD_ENTRY_SUBDOMAINS))
		kind++; /* the _EXACT mask follows its _SUB mask */
	b->recs[b->n++] = (struct build_rec){
		.pfx = load_pfx(k.buf, k.len, 0),
		.cats = categories,
		.key_off = (uint32_t)b->arena_len,
		.feed = feed_id,
		.key_len = k.len,
		.kind = (uint8_t)kind,
	};
	b->arena_len += k.len;
	b->added++;
	return 0;
}

/* ---- sort ------------------------------------------------------------------------- */

/* Records that share their first `depth` key bytes: compare the cached 8, then the rest. */
static int rec_cmp(const struct build_rec *x, const struct build_rec *y, const char *arena,
		   size_t depth)
{
	if (x->pfx != y->pfx)
		return x->pfx < y->pfx ? -1 : 1;
	size_t from = depth + 8;
	size_t lx = x->key_len > from ? x->key_len - from : 0;
	size_t ly = y->key_len > from ? y->key_len - from : 0;
	int c = memcmp(arena + x->key_off + from, arena + y->key_off + from, lx < ly ? lx : ly);
	if (c)
		return c;
	return (lx > ly) - (lx < ly);
}

static void insertion_sort(struct build_rec *a, size_t n, const char *arena, size_t depth)
{
	for (size_t i = 1; i < n; i++) {
		struct build_rec t = a[i];
		size_t j = i;
		while (j > 0 && rec_cmp(&a[j - 1], &t, arena, depth) > 0) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = t;
	}
}

static unsigned pfx_byte(const struct build_rec *r, unsigned j)
{
	return (unsigned)(r->pfx >> (56 - 8 * j)) & 0xff;
}

/* Every record's cached bytes are used up: cache the next 8, or stop if all keys ended
 * (then they are all equal). @return whether sorting goes on. */
static bool advance_depth(struct build_rec *a, size_t n, const char *arena, size_t *depth)
{
	size_t next = *depth + 8;
	bool longer = false;
	for (size_t i = 0; i < n && !longer; i++)
		longer = a[i].key_len > next;
	if (!longer)
		return false;
	for (size_t i = 0; i < n; i++)
		a[i].pfx = load_pfx(arena + a[i].key_off, a[i].key_len, next);
	*depth = next;
	return true;
}

/* American flag sort: permute a[] in place into its 256 buckets of byte j. */
static void permute_buckets(struct build_rec *a, const uint32_t count[256], unsigned j,
			    uint32_t next[256])
{
	uint32_t end[256];
	uint32_t sum = 0;
	for (unsigned c = 0; c < 256; c++) {
		next[c] = sum;
		sum += count[c];
		end[c] = sum;
	}
	for (unsigned c = 0; c < 256; c++) {
		while (next[c] < end[c]) {
			struct build_rec r = a[next[c]];
			unsigned rb = pfx_byte(&r, j);
			while (rb != c) {
				struct build_rec t = a[next[rb]];
				a[next[rb]++] = r;
				r = t;
				rb = pfx_byte(&r, j);
			}
			a[next[c]++] = r;
		}
	}
}

/*
 * MSD radix sort on byte j of the cached 8 bytes at `depth`; all of a[] share the key
 * bytes before depth + j. Bucket 0 holds keys that ended: they are equal, done.
 * Recursion is at most one level per key byte (253), each frame 2 KiB.
 */
static void sort_recs(struct build_rec *a, size_t n, const char *arena, size_t depth,
		      unsigned j)
{
	for (;;) {
		if (n < BUILD_SMALL_SORT) {
			insertion_sort(a, n, arena, depth);
			return;
		}
		if (j == 8) {
			if (!advance_depth(a, n, arena, &depth))
				return;
			j = 0;
		}
		uint32_t count[256] = { 0 };
		for (size_t i = 0; i < n; i++)
			count[pfx_byte(&a[i], j)]++;
		if (count[pfx_byte(&a[0], j)] == n) { /* one bucket: nothing to move */
			if (pfx_byte(&a[0], j) == 0)
				return;
			j++;
			continue;
		}
		uint32_t next[256];
		permute_buckets(a, count, j, next);
		for (unsigned c = 1; c < 256; c++)
			if (count[c] > 1)
				sort_recs(a + next[c] - count[c], count[c], arena, depth, j + 1);
		return;
	}
}

/* ---- merge + spill ---------------------------------------------------------------- */

/* The entries of one name merged: masks OR'ed, block and allow feed ids kept apart. */
struct merge {
	struct ward_catdb_value v;
	uint16_t ids[2][WARD_CATDB_VALUE_FEEDS]; /* [0] block feeds, [1] allow feeds; sorted */
	uint8_t n_ids[2];
};

static void merge_add(struct merge *g, const struct build_rec *r)
{
	g->v.mask[r->kind] |= r->cats;
	unsigned side = r->kind >= WARD_CATDB_ALLOW_SUB;
	uint16_t *ids = g->ids[side];
	unsigned n = g->n_ids[side], pos = 0;
	while (pos < n && ids[pos] < r->feed)
		pos++;
	if (pos < n && ids[pos] == r->feed)
		return;
	if (n == WARD_CATDB_VALUE_FEEDS) {
		g->v.truncated = true;
		return;
	}
	memmove(ids + pos + 1, ids + pos, (n - pos) * sizeof(*ids));
	ids[pos] = r->feed;
	g->n_ids[side]++;
}

static unsigned min_u(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

/* Exact bits already covered by the subdomain mask add nothing; feed ids share one list
 * where each kind keeps at least half, so an allow stays explainable next to many blocks. */
static void merge_finish(struct merge *g)
{
	struct ward_catdb_value *v = &g->v;
	v->mask[WARD_CATDB_BLOCK_EXACT] &= ~v->mask[WARD_CATDB_BLOCK_SUB];
	v->mask[WARD_CATDB_ALLOW_EXACT] &= ~v->mask[WARD_CATDB_ALLOW_SUB];
	const unsigned half = WARD_CATDB_VALUE_FEEDS / 2;
	unsigned nb = min_u(g->n_ids[0], half), na = min_u(g->n_ids[1], half);
	unsigned room = WARD_CATDB_VALUE_FEEDS - nb - na;
	unsigned more_b = min_u(g->n_ids[0] - nb, room);
	nb += more_b;
	na += min_u(g->n_ids[1] - na, room - more_b);
	if (nb < g->n_ids[0] || na < g->n_ids[1])
		v->truncated = true;
	memcpy(v->feeds, g->ids[0], nb * sizeof(uint16_t));
	memcpy(v->feeds + nb, g->ids[1], na * sizeof(uint16_t));
	v->n_block_feeds = (uint8_t)nb;
	v->n_feeds = (uint8_t)(nb + na);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return WARD_EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* A file for the sorted stream that vanishes with the process, whatever kills it. */
static int spill_open(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/build.XXXXXX", dir) >= sizeof(path))
		return -1;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* Append one merged name to buf (flushing it to fd when full). */
static int spill_put(int fd, uint8_t *buf, size_t *used, const char *key, uint8_t klen,
		     const struct ward_catdb_value *v)
{
	if (SPILL_BUF_SIZE - *used < SPILL_REC_MAX) {
		int rc = write_all(fd, buf, *used);
		if (rc)
			return rc;
		*used = 0;
	}
	uint8_t *p = buf + *used;
	p[0] = klen;
	memcpy(p + 1, key, klen);
	int vlen = ward_catdb_value_encode(v, p + 2 + klen, WARD_CATDB_VALUE_MAX);
	if (vlen < 0)
		return vlen;
	p[1 + klen] = (uint8_t)vlen;
	*used += 2 + klen + (size_t)vlen;
	return 0;
}

/* Merge the sorted records into the stream; @return 0, the number of names and how
 * many of them cover subdomains. */
static int spill_sorted(const struct ward_catdb_build *b, int fd, uint64_t *domains,
			uint64_t *sub_domains)
{
	uint8_t *buf = malloc(SPILL_BUF_SIZE);
	if (!buf)
		return WARD_ENOMEM;
	size_t used = 0;
	int rc = 0;
	*domains = *sub_domains = 0;
	for (size_t i = 0; i < b->n && !rc;) {
		const struct build_rec *r = &b->recs[i];
		const char *key = b->arena + r->key_off;
		struct merge g;
		memset(&g, 0, sizeof(g));
		size_t j = i;
		do {
			merge_add(&g, &b->recs[j]);
			j++;
			if (j + 16 < b->n) /* the arena is read in random order */
				__builtin_prefetch(b->arena + b->recs[j + 16].key_off);
		} while (j < b->n && b->recs[j].key_len == r->key_len &&
			 memcmp(b->arena + b->recs[j].key_off, key, r->key_len) == 0);
		merge_finish(&g);
		rc = spill_put(fd, buf, &used, key, r->key_len, &g.v);
		(*domains)++;
		if (g.v.mask[WARD_CATDB_BLOCK_SUB] || g.v.mask[WARD_CATDB_ALLOW_SUB])
			(*sub_domains)++;
		i = j;
	}
	if (!rc)
		rc = write_all(fd, buf, used);
	free(buf);
	return rc;
}

/* ---- sorted runs ----------------------------------------------------------------- */

/* A run record: key length, key, kind, feed id, categories (native byte order: the run
 * file lives and dies with this process). */
static size_t run_rec_put(uint8_t *p, const struct build_rec *r, const char *arena)
{
	p[0] = r->key_len;
	memcpy(p + 1, arena + r->key_off, r->key_len);
	size_t o = 1 + (size_t)r->key_len;
	p[o] = r->kind;
	memcpy(p + o + 1, &r->feed, 2);
	memcpy(p + o + 3, &r->cats, 8);
	return o + 11;
}

/* Sort a run and append it to the run file (in the job's thread). */
static int run_write(struct run_job *j)
{
	uint8_t *buf = malloc(SPILL_BUF_SIZE);
	if (!buf)
		return WARD_ENOMEM;
	if (j->n)
		sort_recs(j->recs, j->n, j->arena, 0, 0);
	j->start = lseek(j->fd, 0, SEEK_END);
	int rc = j->start < 0 ? WARD_EIO : 0;
	size_t used = 0;
	off_t len = 0;
	for (size_t i = 0; i < j->n && !rc; i++) {
		if (SPILL_BUF_SIZE - used < RUN_REC_MAX) {
			rc = write_all(j->fd, buf, used);
			len += (off_t)used;
			used = 0;
		}
		used += run_rec_put(buf + used, &j->recs[i], j->arena);
	}
	if (!rc)
		rc = write_all(j->fd, buf, used);
	j->end = j->start + len + (off_t)used;
	free(buf);
	return rc;
}

static void *run_thread(void *arg)
{
	struct run_job *j = arg;
	j->rc = run_write(j);
	return NULL;
}

/* Wait for the run in flight (if any) and add it to the list. */
static int run_join(struct ward_catdb_build *b)
{
	struct run_job *j = &b->job;
	if (!j->running)
		return 0;
	pthread_join(j->tid, NULL);
	j->running = false;
	if (j->rc)
		return j->rc;
	b->runs[b->n_runs++] = (struct run){ j->start, j->end };
	return 0;
}

static void swap_buffers(struct ward_catdb_build *b)
{
	struct run_job *j = &b->job;
	struct build_rec *recs = j->recs;
	char *arena = j->arena;
	size_t recs_cap = j->recs_cap, arena_cap = j->arena_cap;
	*j = (struct run_job){ .recs = b->recs, .arena = b->arena, .n = b->n,
			       .recs_cap = b->cap, .arena_cap = b->arena_cap, .fd = b->run_fd };
	b->recs = recs;
	b->arena = arena;
	b->cap = recs_cap;
	b->arena_cap = arena_cap;
	b->n = b->arena_len = 0;
}

/* Hand the records collected so far to a thread that sorts them and appends them to the
 * run file, and go on collecting into the buffers of the run before (two runs in memory
 * at most). */
static int flush_run(struct ward_catdb_build *b)
{
	int rc = run_join(b);
	if (!rc && b->run_fd < 0 && (b->run_fd = spill_open(b->db->dir)) < 0)
		rc = WARD_EIO;
	if (!rc)
		rc = grow((void **)&b->runs, &b->runs_cap, b->n_runs, 1, sizeof(*b->runs),
			  SIZE_MAX / sizeof(*b->runs));
	if (rc)
		return rc;
	swap_buffers(b);
	if (pthread_create(&b->job.tid, NULL, run_thread, &b->job) == 0) {
		b->job.running = true;
		return 0;
	}
	rc = run_write(&b->job); /* no thread: in this one */
	if (!rc)
		b->runs[b->n_runs++] = (struct run){ b->job.start, b->job.end };
	return rc;
}

struct run_reader {
	int fd;
	off_t pos, end;
	uint8_t *buf;
	size_t len, at;
	/* the current record */
	uint64_t pfx;         /* its first 8 key bytes, as build_rec.pfx at depth 0 */
	const uint8_t *key;
	struct build_rec rec; /* kind, feed, cats, key_len */
};

/* @return 1 and the next record in r->key / r->rec, 0 at the run's end, or WARD_EIO. */
static int run_next(struct run_reader *r)
{
	if (r->len - r->at < RUN_REC_MAX && r->pos < r->end) {
		memmove(r->buf, r->buf + r->at, r->len - r->at);
		r->len -= r->at;
		r->at = 0;
		size_t want = RUN_READ_BUF - r->len;
		if ((off_t)want > r->end - r->pos)
			want = (size_t)(r->end - r->pos);
		ssize_t got;
		do
			got = pread(r->fd, r->buf + r->len, want, r->pos);
		while (got < 0 && errno == EINTR);
		if (got <= 0)
			return WARD_EIO;
		r->len += (size_t)got;
		r->pos += got;
	}
	if (r->at == r->len)
		return 0;
	const uint8_t *p = r->buf + r->at;
	size_t klen = p[0];
	if (r->len - r->at < klen + 12)
		return WARD_EIO;
	r->key = p + 1;
	r->pfx = load_pfx((const char *)r->key, klen, 0);
	r->rec.key_len = (uint8_t)klen;
	r->rec.kind = p[1 + klen];
	memcpy(&r->rec.feed, p + 2 + klen, 2);
	memcpy(&r->rec.cats, p + 4 + klen, 8);
	r->at += klen + 12;
	return r->rec.kind < WARD_CATDB_MASKS ? 1 : WARD_EIO;
}

static int key_cmp(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	int c = memcmp(a, b, la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

static bool run_less(const struct run_reader *x, const struct run_reader *y)
{
	if (x->pfx != y->pfx)
		return x->pfx < y->pfx;
	return key_cmp(x->key, x->rec.key_len, y->key, y->rec.key_len) < 0;
}

/* A min-heap of the runs by their current key. */
static void heap_down(struct run_reader **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && run_less(h[l], h[m]))
			m = l;
		if (l + 1 < n && run_less(h[l + 1], h[m]))
			m = l + 1;
		if (m == i)
			return;
		struct run_reader *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Take the smallest record off the heap into g (advancing its run). @return 0 or
 * WARD_EIO; *n shrinks when a run ends. */
static int heap_pop_into(struct run_reader **h, size_t *n, struct merge *g)
{
	merge_add(g, &h[0]->rec);
	int rc = run_next(h[0]);
	if (rc < 0)
		return rc;
	if (rc == 0)
		h[0] = h[--*n];
	heap_down(h, *n, 0);
	return 0;
}

static int merge_heap(struct run_reader **h, size_t n, int fd, uint64_t *domains,
		      uint64_t *sub_domains)
{
	uint8_t *buf = malloc(SPILL_BUF_SIZE);
	if (!buf)
		return WARD_ENOMEM;
	size_t used = 0;
	int rc = 0;
	for (size_t i = n; i-- > 0;)
		heap_down(h, n, i);
	while (n > 0 && !rc) {
		char key[256];
		uint8_t klen = h[0]->rec.key_len;
		memcpy(key, h[0]->key, klen);
		struct merge g;
		memset(&g, 0, sizeof(g));
		do
			rc = heap_pop_into(h, &n, &g);
		while (!rc && n > 0 && key_cmp(h[0]->key, h[0]->rec.key_len, (uint8_t *)key,
					       klen) == 0);
		merge_finish(&g);
		if (!rc)
			rc = spill_put(fd, buf, &used, key, klen, &g.v);
		(*domains)++;
		if (g.v.mask[WARD_CATDB_BLOCK_SUB] || g.v.mask[WARD_CATDB_ALLOW_SUB])
			(*sub_domains)++;
	}
	if (!rc)
		rc = write_all(fd, buf, used);
	free(buf);
	return rc;
}

/* Merge the sorted runs k-way into the stream (duplicates across runs merged as within
 * one). Memory: RUN_READ_BUF per run. */
static int merge_runs(struct ward_catdb_build *b, int fd, uint64_t *domains,
		      uint64_t *sub_domains)
{
	size_t k = b->n_runs;
	struct run_reader *rd = calloc(k, sizeof(*rd));
	struct run_reader **h = calloc(k, sizeof(*h));
	int rc = rd && h ? 0 : WARD_ENOMEM;
	size_t n = 0;
	*domains = *sub_domains = 0;
	for (size_t i = 0; i < k && !rc; i++) {
		rd[i] = (struct run_reader){ .fd = b->run_fd, .pos = b->runs[i].start,
					     .end = b->runs[i].end, .buf = malloc(RUN_READ_BUF) };
		rc = rd[i].buf ? run_next(&rd[i]) : WARD_ENOMEM;
		if (rc == 1)
			h[n++] = &rd[i];
		rc = rc < 0 ? rc : 0;
	}
	if (!rc)
		rc = merge_heap(h, n, fd, domains, sub_domains);
	for (size_t i = 0; rd && i < k; i++)
		free(rd[i].buf);
	free(rd);
	free(h);
	return rc;
}

/* ---- write ------------------------------------------------------------------------ */

struct spill_reader {
	int fd;
	off_t off;       /* the next byte to read (pread: readers of one file share no offset) */
	uint8_t *buf;
	size_t len, pos;
	bool eof;
};

static int spill_fill(struct spill_reader *s)
{
	memmove(s->buf, s->buf + s->pos, s->len - s->pos);
	s->len -= s->pos;
	s->pos = 0;
	while (!s->eof && s->len < SPILL_BUF_SIZE) {
		ssize_t r = pread(s->fd, s->buf + s->len, SPILL_BUF_SIZE - s->len, s->off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return WARD_EIO;
		if (r == 0)
			s->eof = true;
		s->len += (size_t)r;
		s->off += r;
	}
	return 0;
}

/* @return 1 and the next (key, value), 0 at the end, or WARD_EIO (short stream). */
static int spill_next(struct spill_reader *s, MDB_val *key, MDB_val *val)
{
	if (s->len - s->pos < SPILL_REC_MAX && !s->eof) {
		int rc = spill_fill(s);
		if (rc)
			return rc;
	}
	size_t avail = s->len - s->pos;
	if (avail == 0)
		return 0;
	const uint8_t *p = s->buf + s->pos;
	size_t klen = p[0];
	if (avail < 2 + klen || avail < 2 + klen + p[1 + klen])
		return WARD_EIO;
	size_t vlen = p[1 + klen];
	*key = (MDB_val){ klen, (void *)(p + 1) };
	*val = (MDB_val){ vlen, (void *)(p + 2 + klen) };
	s->pos += 2 + klen + vlen;
	return 1;
}

static void test_put_hook(size_t puts)
{
#ifdef WARD_TEST_HOOKS
	if (ward_catdb_test_put_hook && puts == ward_catdb_test_put_after)
		ward_catdb_test_put_hook(ward_catdb_test_put_ctx);
#else
	(void)puts;
#endif
}

/* Filter inserts are random writes into a buffer larger than the caches: hashes wait
 * in a small ring while their blocks are prefetched. */
#define BLOOM_RING 16

struct bloom_writer {
	uint8_t *buf;
	struct ward_catdb_bloom view;
	uint64_t ring[BLOOM_RING]; /* hashes pushed but not yet added */
	size_t pushed;
};

static void bloom_push(struct bloom_writer *w, uint64_t hash)
{
	__builtin_prefetch(ward_catdb_bloom_block(&w->view, hash), 1);
	size_t slot = w->pushed % BLOOM_RING;
	if (w->pushed >= BLOOM_RING) /* the oldest, prefetched BLOOM_RING pushes ago */
		ward_catdb_bloom_add(w->buf, w->ring[slot]);
	w->ring[slot] = hash;
	w->pushed++;
}

static void bloom_flush(struct bloom_writer *w)
{
	size_t pending = w->pushed < BLOOM_RING ? w->pushed : BLOOM_RING;
	for (size_t i = 0; i < pending; i++)
		ward_catdb_bloom_add(w->buf, w->ring[i]);
	w->pushed = 0;
}

static void bloom_push_entry(struct bloom_writer *bw, const MDB_val *key, const MDB_val *val)
{
	bloom_push(bw, ward_catdb_hash(key->mv_data, key->mv_size, false));
	if (ward_catdb_value_covers_subdomains(val->mv_data, val->mv_size))
		bloom_push(bw, ward_catdb_hash(key->mv_data, key->mv_size, true));
}

static bool val_eq(const MDB_val *a, const MDB_val *b)
{
	return a->mv_size == b->mv_size && memcmp(a->mv_data, b->mv_data, a->mv_size) == 0;
}

/* Store the filter unless the stored one is byte for byte the same (an unchanged table):
 * a rewrite would need a second copy of it in the file, like the table's. */
static int put_bloom(struct ward_catdb *db, MDB_txn *txn, uint8_t *bloom, size_t size)
{
	MDB_val k = { strlen(WARD_CATDB_META_BLOOM), WARD_CATDB_META_BLOOM };
	MDB_val v = { size, bloom }, old;
	int rc = mdb_get(txn, db->meta, &k, &old);
	if (rc == MDB_SUCCESS && val_eq(&old, &v))
		return 0;
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
		return ward_catdb_mdb_err(rc);
	return ward_catdb_mdb_err(mdb_put(txn, db->meta, &k, &v, 0));
}

static int put_meta(struct ward_catdb *db, MDB_txn *txn, uint64_t domains, uint64_t entries)
{
	uint64_t gen = 0;
	int rc = ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_GENERATION, &gen);
	if (rc && rc != WARD_ENOTFOUND)
		return rc;
	rc = ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_GENERATION, gen + 1);
	if (!rc)
		rc = ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_BUILT_AT,
					     (uint64_t)time(NULL));
	if (!rc)
		rc = ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_DOMAINS, domains);
	if (!rc)
		rc = ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_ENTRIES, entries);
	return rc;
}

/* mdb_reader_list() callback: the oldest snapshot held by another process, from lines
 * "pid thread txnid" (a released reader shows "-" and the header no number). */
static int oldest_reader_line(const char *msg, void *ctx)
{
	uint64_t *oldest = ctx;
	unsigned long long txnid;
	int pid;
	size_t tid;
	if (sscanf(msg, "%d %zx %llu", &pid, &tid, &txnid) == 3 && pid != (int)getpid() &&
	    txnid < *oldest)
		*oldest = txnid;
	return 0;
}

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((int64_t)now.tv_sec - t0->tv_sec) * 1000 +
	       ((int64_t)now.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * LMDB reuses the pages a commit freed only once no reader holds that commit's snapshot
 * or an older one. wardd's workers sit on the newest snapshot, which right after a build
 * is the build's own commit: a build that follows within a moment (feeds fetched quickly,
 * mark_build_start's commit not yet picked up) would find the last table's pages still
 * held, and add a third copy to the file. So wait, briefly and bounded, until the
 * readers of other processes have moved on to the newest commit (or let go). This
 * process's own readers are left out: a thread that builds while it holds a reader (the
 * unit tests' pinned reader) would wait on itself; `ward update` holds none here.
 * A reader that does not move (a stuck process) only costs the file a copy, as before.
 */
static void wait_for_readers(struct ward_catdb *db)
{
	MDB_envinfo info;
	int dead;
	(void)mdb_reader_check(db->env, &dead); /* slots of processes that died */
	if (mdb_env_info(db->env, &info) != 0)
		return;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint64_t oldest = UINT64_MAX;
		if (mdb_reader_list(db->env, oldest_reader_line, &oldest) < 0 ||
		    oldest >= (uint64_t)info.me_last_txnid || ms_since(&t0) >= READER_WAIT_MS)
			return;
		struct timespec pause = { 0, READER_POLL_MS * 1000000L };
		nanosleep(&pause, NULL);
	}
}

static int spill_rewind(struct spill_reader *s)
{
	s->off = 0;
	s->len = s->pos = 0;
	s->eof = false;
	return 0;
}

/* ---- fill the inactive table, switch ---------------------------------------------- */

static int fill_commit_reopen(struct ward_catdb *db, MDB_txn **txn, MDB_cursor **cur,
			      MDB_dbi dbi)
{
	mdb_cursor_close(*cur);
	*cur = NULL;
	int rc = ward_catdb_txn_commit(db, *txn);
	*txn = NULL;
	if (!rc)
		rc = ward_catdb_txn_begin(db, false, txn);
	if (!rc)
		rc = ward_catdb_mdb_err(mdb_cursor_open(*txn, dbi, cur));
	return rc;
}

/* Put the whole source into `dbi` (emptied first) in key order, committing every
 * fill_chunk() bytes; leaves *txn open after the last put. */
static int fill_table(struct ward_catdb *db, const struct ward_catdb_fill_src *src,
		      MDB_txn **txn, MDB_dbi dbi)
{
	MDB_cursor *cur = NULL;
	int rc = ward_catdb_mdb_err(mdb_drop(*txn, dbi, 0));
	if (!rc)
		rc = ward_catdb_mdb_err(mdb_cursor_open(*txn, dbi, &cur));
	size_t puts = 0, bytes = 0, chunk = fill_chunk();
	MDB_val key, val;
	while (!rc && (rc = src->next(src->ctx, &key, &val)) == 1) {
		if (bytes >= chunk) {
			bytes = 0;
			if ((rc = fill_commit_reopen(db, txn, &cur, dbi)))
				break;
		}
		test_put_hook(puts);
		rc = ward_catdb_mdb_err(mdb_cursor_put(cur, &key, &val, MDB_APPEND));
		puts++;
		bytes += key.mv_size + val.mv_size + 8;
	}
	if (cur)
		mdb_cursor_close(cur);
	return rc;
}

/* The switching commit's contents: the old table freed (readers of older snapshots keep
 * its pages until they move on), the new one named active. */
static int switch_table(struct ward_catdb *db, MDB_txn *txn, unsigned from,
			const struct ward_catdb_fill_src *src)
{
	MDB_dbi dbi;
	unsigned which;
	int rc = ward_catdb_domains_table(db, txn, &dbi, &which);
	if (!rc && which != from)
		rc = WARD_EBUSY; /* cannot happen under the build lock */
	if (!rc)
		rc = ward_catdb_mdb_err(mdb_drop(txn, dbi, 0));
	if (!rc)
		rc = ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_DOMAINS_TABLE, !from);
	if (!rc)
		rc = ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_SCHEMA,
					     WARD_CATDB_SCHEMA_VERSION);
	if (!rc && src->finish)
		rc = src->finish(txn, src->ctx);
	return rc;
}

static int fill_switch_once(struct ward_catdb *db, const struct ward_catdb_fill_src *src)
{
	int rc = src->rewind(src->ctx);
	MDB_txn *txn = NULL;
	if (!rc)
		rc = ward_catdb_txn_begin(db, false, &txn);
	MDB_dbi dbi;
	unsigned from = 0;
	if (!rc)
		rc = ward_catdb_domains_table(db, txn, &dbi, &from);
	if (!rc)
		rc = fill_table(db, src, &txn, ward_catdb_domains_dbi(db, !from));
	if (!rc)
		rc = switch_table(db, txn, from, src);
	if (rc) {
		if (txn)
			ward_catdb_txn_abort(db, txn);
		return rc;
	}
	return ward_catdb_txn_commit(db, txn);
}

/*
 * The first switch to a `domains_b` this process just added to an older database waits
 * until NEW_TABLE_GRACE_MS after that: a wardd that opened the database before has no
 * handle for the table yet and fails closed while the switch is newer than its
 * housekeeping (every 500 ms opens tables that appeared). Only the first build after an
 * upgrade waits; a new database has both tables before any reader opens it.
 */
static void wait_for_new_table(struct ward_catdb *db)
{
	const struct timespec *t0 = &db->domains_b_created;
	if (t0->tv_sec == 0 && t0->tv_nsec == 0)
		return;
	int64_t left = NEW_TABLE_GRACE_MS - ms_since(t0);
	if (left > 0)
		nanosleep(&(struct timespec){ left / 1000, left % 1000 * 1000000 }, NULL);
	db->domains_b_created = (struct timespec){ 0, 0 };
}

int ward_catdb_fill_switch(struct ward_catdb *db, const struct ward_catdb_fill_src *src)
{
	if (!atomic_load(&db->has_domains_b))
		return WARD_EINVAL; /* opened READ on an older database */
	wait_for_new_table(db);
	int rc = fill_switch_once(db, src);
	for (int tries = 1; tries < MAP_GROW_TRIES && rc == WARD_ETOOBIG; tries++) {
		rc = ward_catdb_grow_map(db);
		if (!rc)
			rc = fill_switch_once(db, src);
	}
	return rc;
}

/* ---- the build's write phase ------------------------------------------------------ */

struct build_write {
	struct ward_catdb *db;
	struct spill_reader s;
	uint8_t *bloom;
	size_t bloom_size;
	uint64_t domains, entries;
	/* the filter, built from the stream by a thread of its own during the fill */
	pthread_t bloom_tid;
	bool bloom_running;
	int bloom_rc;
};

/* Thread: every key of the stream (its own reader of the file) into the filter. */
static void *bloom_thread(void *arg)
{
	struct build_write *w = arg;
	struct spill_reader s = { .fd = w->s.fd, .buf = malloc(SPILL_BUF_SIZE) };
	struct bloom_writer bw = { .buf = w->bloom };
	int rc = s.buf ? 0 : WARD_ENOMEM;
	if (!rc && ward_catdb_bloom_open(w->bloom, w->bloom_size, &bw.view))
		rc = WARD_EINVAL;
	MDB_val key, val;
	if (!rc)
		while ((rc = spill_next(&s, &key, &val)) == 1)
			bloom_push_entry(&bw, &key, &val);
	bloom_flush(&bw);
	free(s.buf);
	w->bloom_rc = rc;
	return NULL;
}

static int bloom_start(struct build_write *w)
{
	ward_catdb_bloom_init(w->bloom, w->bloom_size);
	if (pthread_create(&w->bloom_tid, NULL, bloom_thread, w) == 0) {
		w->bloom_running = true;
		return 0;
	}
	bloom_thread(w); /* no thread: here */
	return w->bloom_rc;
}

static int bloom_join(struct build_write *w)
{
	if (w->bloom_running) {
		pthread_join(w->bloom_tid, NULL);
		w->bloom_running = false;
	}
	return w->bloom_rc;
}

static int bw_next(void *ctx, MDB_val *key, MDB_val *val)
{
	struct build_write *w = ctx;
	return spill_next(&w->s, key, val);
}

static int bw_rewind(void *ctx)
{
	struct build_write *w = ctx;
	return spill_rewind(&w->s);
}

static int bw_finish(MDB_txn *txn, void *ctx)
{
	struct build_write *w = ctx;
	int rc = bloom_join(w);
	if (!rc)
		rc = put_bloom(w->db, txn, w->bloom, w->bloom_size);
	if (!rc)
		rc = put_meta(w->db, txn, w->domains, w->entries);
	return rc;
}

/*
 * Pages of the map that this process has read count in its RSS until it unmaps them,
 * although they are page cache: a comparison of an unchanged table would add the whole
 * table to the build's peak RSS. The map is read-only (no MDB_WRITEMAP) and shared, so
 * dropping this process's view of pages loses nothing; a later read faults them back in
 * from the page cache. The range is that of the records compared since the last call
 * (an appended table's leaves lie in key order); the read transaction keeps the map in
 * place (map_lock).
 */
struct mapped_range {
	uintptr_t lo, hi;
	size_t bytes;
};

static void mapped_read(struct mapped_range *m, const MDB_val *key, const MDB_val *val)
{
	uintptr_t p = (uintptr_t)key->mv_data;
	m->lo = m->lo && m->lo < p ? m->lo : p;
	m->hi = m->hi > p ? m->hi : p;
	m->bytes += key->mv_size + val->mv_size;
	if (m->bytes < COMPARE_UNMAP_BYTES)
		return;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = m->lo & ~(page - 1);
	(void)madvise((void *)lo, m->hi - lo + 1, MADV_DONTNEED);
	*m = (struct mapped_range){ 0 };
}

/*
 * Whether the table readers use holds exactly the stream's (key, value) pairs (*same),
 * read until the first difference. A rebuild from unchanged entries (ward update
 * --force, a feed republished with only a new header) then writes no page of the table:
 * rewriting it would need a second copy of it in the file, because readers may use the
 * old pages until the switch. A table LMDB cannot read to the end counts as different.
 */
static int compare_stream(struct build_write *w, MDB_txn *txn, bool *same)
{
	MDB_dbi dbi;
	unsigned which;
	MDB_cursor *cur = NULL;
	int rc = ward_catdb_domains_table(w->db, txn, &dbi, &which);
	if (!rc)
		rc = ward_catdb_mdb_err(mdb_cursor_open(txn, dbi, &cur));
	if (rc)
		return rc;
	MDB_val key, val, tkey, tval;
	int trc = mdb_cursor_get(cur, &tkey, &tval, MDB_FIRST);
	bool eq = true;
	struct mapped_range mapped = { 0 };
	while (eq && (rc = spill_next(&w->s, &key, &val)) == 1) {
		eq = trc == MDB_SUCCESS && val_eq(&key, &tkey) && val_eq(&val, &tval);
		if (trc == MDB_SUCCESS)
			mapped_read(&mapped, &tkey, &tval);
		trc = mdb_cursor_get(cur, &tkey, &tval, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	*same = rc == 0 && eq && trc == MDB_NOTFOUND;
	return rc < 0 ? rc : 0;
}

/* The comparison, in a read transaction. */
static int scan(struct build_write *w, bool *same)
{
	MDB_txn *txn;
	int rc = spill_rewind(&w->s);
	if (!rc)
		rc = ward_catdb_txn_begin(w->db, true, &txn);
	if (rc)
		return rc;
	rc = compare_stream(w, txn, same);
	ward_catdb_txn_abort(w->db, txn);
	return rc;
}

static int write_table(struct ward_catdb *db, int fd, uint64_t domains,
		       uint64_t sub_domains, uint64_t entries)
{
	struct build_write w = { .db = db, .s = { .fd = fd, .buf = malloc(SPILL_BUF_SIZE) },
				 .domains = domains, .entries = entries };
	w.bloom_size = ward_catdb_bloom_size(domains + sub_domains);
	w.bloom = malloc(w.bloom_size);
	bool same = false;
	int rc = w.s.buf && w.bloom ? bloom_start(&w) : WARD_ENOMEM;
	if (!rc)
		rc = scan(&w, &same);
	if (!rc) {
		wait_for_readers(db);
		struct ward_catdb_fill_src src = { bw_next, bw_rewind, bw_finish, &w };
		rc = same ? ward_catdb_write(db, bw_finish, &w) : ward_catdb_fill_switch(db, &src);
	}
	bloom_join(&w);
	free(w.bloom);
	free(w.s.buf);
	return rc;
}

/* The merged stream of all entries into an unlinked file: straight from memory when
 * everything fit one run, else merged from the sorted runs. */
static int build_stream(struct ward_catdb_build *b, int fd, uint64_t *domains,
			uint64_t *sub_domains)
{
	if (b->n_runs == 0 && !b->job.running) {
		if (b->n)
			sort_recs(b->recs, b->n, b->arena, 0, 0);
		return spill_sorted(b, fd, domains, sub_domains);
	}
	int rc = b->n ? flush_run(b) : 0;
	int jrc = run_join(b);
	rc = rc ? rc : jrc;
	build_free_entries(b);
	if (!rc)
		rc = merge_runs(b, fd, domains, sub_domains);
	close(b->run_fd); /* the runs' disk space goes with it */
	b->run_fd = -1;
	return rc;
}

int ward_catdb_build_commit(struct ward_catdb_build *b)
{
	int rc = 0;
	int fd = spill_open(b->db->dir);
	if (fd < 0)
		rc = WARD_EIO;
	uint64_t domains = 0, sub_domains = 0, entries = b->added;
	if (!rc)
		rc = build_stream(b, fd, &domains, &sub_domains);
	build_free_entries(b);
	if (!rc)
		rc = write_table(b->db, fd, domains, sub_domains, entries);
	if (fd >= 0)
		close(fd);
	ward_catdb_build_abort(b);
	return rc;
}
