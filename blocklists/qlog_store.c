/*
 * The query log's segment files (qlog.h, "the store").
 *
 * Why files and not an LMDB environment: the log must cost a query at most a few percent
 * of its instructions (issue 10, `make bench` section qlog), and a B-tree insert per record
 * (mdb_put, page splits, the commit) costs more than answering a blocked query does. An
 * append-only file costs one write() per batch, which the kernel does; retention and the
 * size bound delete whole files, oldest first; a crash can only tear the last frame, which
 * the next open cuts off. Reads (the API, `ward log`) scan the newest files first.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocklists/error.h"
#include "blocklists/qlog.h"

#define MAGIC "WARDQLG1"
#define MAGIC_LEN 8
#define NAME_LEN 31                     /* 16 + 1 + 8 + ".qlog" + NUL */
#define SPAN_MIN_S 300                  /* a segment covers 5 min .. 6 h of records */
#define SPAN_MAX_S 21600
#define READ_MAX (256u << 20)           /* a segment larger than this is not read */

struct segment {
	char name[NAME_LEN];
	int64_t first;                      /* unix seconds of its first record */
	uint64_t bytes;
};

struct ward_qlog {
	char *dir;
	bool write;
	int lock_fd;
	uint64_t max_bytes, seg_cap;
	struct segment *segs;               /* oldest first; the last is being written */
	size_t n, cap;
	uint64_t total;                     /* bytes of all segments */
	int fd;                             /* the last segment, open for appending, or -1 */
	int64_t last_time;                  /* of the last record appended */
	uint32_t seq;
};

/* ---- the directory ------------------------------------------------------------------------ */

static bool segment_name(const char *name, int64_t *first)
{
	char hex[17];
	unsigned seq;
	if (strlen(name) != NAME_LEN - 1 || strcmp(name + 25, ".qlog") != 0 || name[16] != '-' ||
	    sscanf(name + 17, "%8x", &seq) != 1)
		return false;
	memcpy(hex, name, 16);
	hex[16] = '\0';
	char *end;
	unsigned long long v = strtoull(hex, &end, 16);
	*first = (int64_t)v;
	return *end == '\0' && v <= INT64_MAX;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct segment *)a)->name, ((const struct segment *)b)->name);
}

static int add_segment(struct ward_qlog *log, const char *name, int64_t first, uint64_t bytes)
{
	if (log->n == log->cap) {
		size_t cap = log->cap ? 2 * log->cap : 64;
		struct segment *more = realloc(log->segs, cap * sizeof(*more));
		if (!more)
			return WARD_ENOMEM;
		log->segs = more;
		log->cap = cap;
	}
	struct segment *s = &log->segs[log->n++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->first = first;
	s->bytes = bytes;
	log->total += bytes;
	return 0;
}

/* Every segment file, oldest first. */
static int list_segments(struct ward_qlog *log)
{
	char path[4200];
	struct stat st;
	int64_t first;
	DIR *d = opendir(log->dir);
	if (!d)
		return errno == ENOENT ? WARD_ENOTFOUND : ward_errno(errno);
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		if (!segment_name(e->d_name, &first))
			continue;
		snprintf(path, sizeof(path), "%s/%s", log->dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			rc = add_segment(log, e->d_name, first, (uint64_t)st.st_size);
	}
	closedir(d);
	if (log->n)
		qsort(log->segs, log->n, sizeof(*log->segs), by_name);
	return rc;
}

/* A whole file (at most READ_MAX bytes). @return a malloc'ed buffer, or NULL. */
static uint8_t *read_segment(const struct ward_qlog *log, const char *name, size_t *len)
{
	char path[4200];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", log->dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL; /* deleted meanwhile: nothing to read */
	uint8_t *buf = NULL;
	size_t got = 0;
	if (fstat(fd, &st) == 0 && st.st_size <= READ_MAX && (buf = malloc((size_t)st.st_size + 1))) {
		ssize_t n;
		while (got < (size_t)st.st_size &&
		       (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
			got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

static size_t count_frames(const uint8_t *buf, size_t len)
{
	size_t n = 0, o = MAGIC_LEN;
	while (len >= o + 2 && (size_t)(buf[o] << 8 | buf[o + 1]) + 2 <= len - o) {
		o += (size_t)(buf[o] << 8 | buf[o + 1]) + 2;
		n++;
	}
	return n;
}

/* Delete the oldest segment. @return the records it held. */
static uint64_t delete_oldest(struct ward_qlog *log)
{
	char path[4200];
	size_t len = 0;
	struct segment *s = &log->segs[0];
	uint8_t *buf = read_segment(log, s->name, &len);
	uint64_t records = buf && len >= MAGIC_LEN ? count_frames(buf, len) : 0;
	free(buf);
	if (log->n == 1 && log->fd >= 0) {
		close(log->fd);
		log->fd = -1;
	}
	snprintf(path, sizeof(path), "%s/%s", log->dir, s->name);
	unlink(path);
	log->total -= s->bytes;
	memmove(s, s + 1, (log->n - 1) * sizeof(*s));
	log->n--;
	return records;
}

/* ---- opening ------------------------------------------------------------------------------- */

/* One writer per directory, also across processes (a second wardd on the same path). */
static int take_lock(struct ward_qlog *log)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/lock", log->dir);
	log->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (log->lock_fd < 0)
		return ward_errno(errno);
	if (flock(log->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return errno == EWOULDBLOCK ? WARD_EBUSY : ward_errno(errno);
	return 0;
}

static void note_time(void *ctx, const struct ward_qlog_entry *e)
{
	int64_t *last = ctx;
	if (e->time > *last)
		*last = e->time;
}

/* Cut a torn last frame (a crash in a write) off the newest segment, and open it for
 * appending. */
static int repair_and_open_last(struct ward_qlog *log)
{
	char path[4200];
	size_t len = 0;
	if (log->n == 0)
		return 0;
	struct segment *s = &log->segs[log->n - 1];
	uint8_t *buf = read_segment(log, s->name, &len);
	if (!buf)
		return WARD_EIO;
	bool ours = len >= MAGIC_LEN && memcmp(buf, MAGIC, MAGIC_LEN) == 0;
	size_t good = ours ? MAGIC_LEN + ward_qlog_parse(buf + MAGIC_LEN, len - MAGIC_LEN,
							note_time, &log->last_time) : 0;
	free(buf);
	snprintf(path, sizeof(path), "%s/%s", log->dir, s->name);
	if (!ours)
		return 0; /* not appended to; the next append starts a new segment */
	if (good < s->bytes && truncate(path, (off_t)good) != 0)
		return ward_errno(errno);
	log->total -= s->bytes - good;
	s->bytes = good;
	log->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	return log->fd < 0 ? ward_errno(errno) : 0;
}

int ward_qlog_open(const char *dir, bool write, uint64_t max_bytes, struct ward_qlog **out)
{
	*out = NULL;
	if (!dir || !*dir)
		return WARD_EINVAL;
	if (write && mkdir(dir, 0750) != 0 && errno != EEXIST)
		return ward_errno(errno);
	struct ward_qlog *log = calloc(1, sizeof(*log));
	if (!log || !(log->dir = strdup(dir))) {
		free(log);
		return WARD_ENOMEM;
	}
	log->write = write;
	log->fd = log->lock_fd = -1;
	log->max_bytes = max_bytes;
	log->seg_cap = max_bytes / WARD_QLOG_SEGMENTS;
	if (log->seg_cap < WARD_QLOG_SEGMENT_MIN)
		log->seg_cap = WARD_QLOG_SEGMENT_MIN;
	int rc = write ? take_lock(log) : 0;
	if (rc == 0)
		rc = list_segments(log);
	if (rc == 0 && write)
		rc = repair_and_open_last(log);
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
	if (log->fd >= 0)
		close(log->fd);
	if (log->lock_fd >= 0)
		close(log->lock_fd);
	free(log->segs);
	free(log->dir);
	free(log);
}

int ward_qlog_usage(struct ward_qlog *log, uint64_t *bytes, uint64_t *segments)
{
	*bytes = log->total;
	*segments = log->n;
	return 0;
}

/* ---- appending -------------------------------------------------------------------------------- */

/* The oldest segments go while everything in them is older than the cutoff: a segment's
 * records are no newer than the next segment's first, nor than its own first plus the
 * span (it was rotated then), and the last one's no newer than the last append. Readers
 * filter by the cutoff themselves, so what a segment holds past it is never shown. */
static void expire(struct ward_qlog *log, int64_t span, struct ward_qlog_write *st)
{
	int64_t cutoff = st->now - (int64_t)st->retention_days * 86400;
	while (log->n) {
		const struct segment *s = &log->segs[0];
		int64_t newest = log->n > 1 ? log->segs[1].first : log->last_time;
		if (log->n > 1 && s->first + span < newest)
			newest = s->first + span;
		if (newest >= cutoff || (log->n == 1 && log->last_time == 0))
			return;
		st->expired += delete_oldest(log);
	}
}

static int new_segment(struct ward_qlog *log, int64_t first)
{
	char name[NAME_LEN], path[4200];
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
	snprintf(name, sizeof(name), "%016" PRIx64 "-%08x.qlog", (uint64_t)(first > 0 ? first : 0),
		 log->seq++);
	snprintf(path, sizeof(path), "%s/%s", log->dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return ward_errno(errno);
	if (write(fd, MAGIC, MAGIC_LEN) != MAGIC_LEN || add_segment(log, name, first, MAGIC_LEN)) {
		close(fd);
		unlink(path);
		return WARD_EIO;
	}
	log->fd = fd;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ward_errno(w < 0 ? errno : EIO);
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Frames from the start of p that fit in `room` bytes (at least one), their count, and
 * the time of the last of them. @return their bytes; 0 when p does not start with a
 * whole frame. */
static int64_t frame_time(const uint8_t *p)
{
	uint64_t be;
	memcpy(&be, p + 2, 8);
	return (int64_t)be64toh(be);
}

static size_t fitting(const uint8_t *p, size_t len, uint64_t room, size_t *frames,
		      int64_t *last)
{
	size_t o = 0, prev = 0;
	*frames = 0;
	while (len - o >= 10) {
		size_t f = (size_t)(p[o] << 8 | p[o + 1]) + 2;
		if (f < 10 || f > len - o || (o && o + f > room))
			break;
		prev = o;
		o += f;
		(*frames)++;
	}
	if (o)
		*last = frame_time(p + prev);
	return o;
}

/* A new segment when there is none open, the last one is full or spans long enough. Its
 * name never sorts before the last one's, even when the clock stepped back. */
static int rotate_if_due(struct ward_qlog *log, const uint8_t *next, int64_t span)
{
	int64_t t = frame_time(next);
	size_t first_frame = (size_t)(next[0] << 8 | next[1]) + 2;
	const struct segment *last = log->n ? &log->segs[log->n - 1] : NULL;
	if (log->fd >= 0 && last && last->bytes + first_frame <= log->seg_cap &&
	    t - last->first <= span)
		return 0;
	return new_segment(log, last && last->first > t ? last->first : t);
}

int ward_qlog_append(struct ward_qlog *log, const uint8_t *frames, size_t len,
		     struct ward_qlog_write *st)
{
	int64_t span = (int64_t)st->retention_days * 86400 / 64;
	span = span < SPAN_MIN_S ? SPAN_MIN_S : span > SPAN_MAX_S ? SPAN_MAX_S : span;
	if (!log->write)
		return WARD_EINVAL;
	expire(log, span, st);
	for (size_t o = 0, n; o < len;) {
		int64_t last_time = 0;
		if (len - o < 10)
			return WARD_EINVAL;
		int rc = rotate_if_due(log, frames + o, span);
		if (rc)
			return rc;
		struct segment *cur = &log->segs[log->n - 1];
		size_t chunk = fitting(frames + o, len - o, log->seg_cap - cur->bytes, &n, &last_time);
		if (!chunk)
			return WARD_EINVAL; /* not whole frames */
		while (log->n > 1 && log->total + chunk > log->max_bytes)
			st->evicted += delete_oldest(log);
		cur = &log->segs[log->n - 1];
		if ((rc = write_all(log->fd, frames + o, chunk)) != 0)
			return rc;
		cur->bytes += chunk;
		log->total += chunk;
		if (last_time > log->last_time)
			log->last_time = last_time;
		st->written += n;
		o += chunk;
	}
	return 0;
}

/* ---- reading ------------------------------------------------------------------------------------ */

/* The newest `limit` matches of one segment, kept in a circle while it is read forward. */
struct collect {
	const struct ward_qlog_filter *f;
	struct ward_qlog_entry *ring;
	size_t limit, seen, matched;
};

static bool matches(const struct ward_qlog_filter *f, const struct ward_qlog_entry *e)
{
	return (!f->since || e->time >= f->since) && (!f->until || e->time < f->until) &&
	       (!f->has_client || memcmp(f->client, e->client, 16) == 0) &&
	       (f->verdict < 0 || f->verdict == e->verdict) &&
	       (!f->profile || strcmp(f->profile, e->profile) == 0);
}

static void collect_one(void *ctx, const struct ward_qlog_entry *e)
{
	struct collect *c = ctx;
	c->seen++;
	if (matches(c->f, e))
		c->ring[c->matched++ % c->limit] = *e;
}

/* Add one segment's matches, newest first, to r. @return false once r is full. */
static bool read_one(const struct ward_qlog *log, const struct segment *s, struct collect *c,
		     struct ward_qlog_result *r, size_t limit, uint64_t *scanned)
{
	size_t len = 0;
	uint8_t *buf = read_segment(log, s->name, &len);
	c->seen = c->matched = 0;
	c->limit = limit - r->n + 1; /* one more than room: a match beyond says "truncated" */
	if (buf && len >= MAGIC_LEN && memcmp(buf, MAGIC, MAGIC_LEN) == 0)
		ward_qlog_parse(buf + MAGIC_LEN, len - MAGIC_LEN, collect_one, c);
	free(buf);
	*scanned += c->seen;
	size_t keep = c->matched < c->limit ? c->matched : c->limit;
	for (size_t i = 0; i < keep; i++) {
		if (r->n == limit) {
			r->truncated = true;
			return false;
		}
		r->entries[r->n++] = c->ring[(c->matched - 1 - i) % c->limit];
	}
	return r->n < limit;
}

int ward_qlog_query(struct ward_qlog *log, const struct ward_qlog_filter *f,
		    struct ward_qlog_result *r)
{
	struct ward_qlog snap = {.dir = log->dir};
	uint64_t scanned = 0;
	memset(r, 0, sizeof(*r));
	size_t limit = f->limit && f->limit < WARD_QLOG_RESULTS_MAX ? f->limit
								   : WARD_QLOG_RESULTS_MAX;
	struct collect c = {.f = f, .ring = calloc(limit + 1, sizeof(*c.ring))};
	r->entries = calloc(limit + 1, sizeof(*r->entries));
	int rc = c.ring && r->entries ? list_segments(&snap) : WARD_ENOMEM;
	/* Newest first; a segment whose successor starts before `since` holds nothing newer. */
	for (size_t i = snap.n; rc == 0 && i-- > 0;) {
		if (f->until && snap.segs[i].first >= f->until)
			continue;
		if (!read_one(&snap, &snap.segs[i], &c, r, limit, &scanned))
			break;
		if ((f->since && snap.segs[i].first < f->since) || scanned > WARD_QLOG_SCAN_MAX) {
			r->truncated |= scanned > WARD_QLOG_SCAN_MAX && i > 0;
			break;
		}
	}
	r->bytes = snap.total;
	free(snap.segs);
	free(c.ring);
	if (rc == WARD_ENOTFOUND)
		rc = 0; /* no log yet: nothing in it */
	if (rc) {
		free(r->entries);
		memset(r, 0, sizeof(*r));
	}
	return rc;
}
