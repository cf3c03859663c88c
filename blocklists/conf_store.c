/*
 * Reading and writing the config file as text (conf_store.h): temp file, fsync, rename,
 * rotated backups, and an ETag that is a hash of the bytes.
 */
#include "blocklists/conf_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/error.h"
#include "blocklists/update.h"

#define STORE_READ_MAX (16u << 20) /* the config parser's own limit */
#define NEW_FILE_MODE 0640

#ifdef WARD_TEST_HOOKS
static unsigned test_delay_ms;
static bool test_delay_read;

void ward_conf_store_test_set_delay(unsigned ms)
{
	test_delay_ms = ms;
	test_delay_read = true;
}

/* Between the steps of a write, so a test can kill the writer in each of them. */
static void step(void)
{
	if (!test_delay_read) {
		const char *env = getenv("WARD_TEST_CONF_WRITE_MS");
		test_delay_ms = env ? (unsigned)strtoul(env, NULL, 10) : 0;
		test_delay_read = true;
	}
	if (test_delay_ms) {
		struct timespec ts = { test_delay_ms / 1000, (long)(test_delay_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
}
#else
static void step(void)
{
}
#endif

int ward_conf_store_etag(const char *text, size_t len, char etag[WARD_CONF_ETAG_SIZE])
{
	struct ward_sha256 h = {0};
	uint8_t digest[32];
	char hex[65];
	int rc = ward_sha256_init(&h);
	ward_sha256_update(&h, text, len);
	if (rc == 0)
		rc = ward_sha256_final(&h, digest);
	ward_sha256_free(&h);
	/* Never the all-zero digest of a failed hash: that ETag would match any text. */
	if (rc != 0) {
		snprintf(etag, WARD_CONF_ETAG_SIZE, "\"\"");
		return rc;
	}
	ward_sha256_hex(digest, hex);
	snprintf(etag, WARD_CONF_ETAG_SIZE, "\"%.32s\"", hex);
	return 0;
}

static int read_fd(int fd, size_t max, char **text, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		if (n == cap) {
			if (cap > max)
				break;
			char *bigger = realloc(buf, 2 * cap + 1);
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int rc = r < 0 ? ward_errno(errno) : n > max ? WARD_ETOOBIG : 0;
			if (rc) {
				free(buf);
				return rc;
			}
			buf[n] = '\0';
			*text = buf;
			*len = n;
			return 0;
		}
		n += (size_t)r;
	}
	int rc = buf ? WARD_ETOOBIG : WARD_ENOMEM;
	free(buf);
	return rc;
}

int ward_conf_store_read(const char *path, size_t max, char **text, size_t *len,
			 char etag[WARD_CONF_ETAG_SIZE])
{
	*text = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? WARD_ENOTFOUND : ward_errno(errno);
	struct stat st;
	int rc = fstat(fd, &st) != 0 ? ward_errno(errno) : S_ISREG(st.st_mode) ? 0 : WARD_EIO;
	if (rc == 0)
		rc = read_fd(fd, max, text, len);
	close(fd);
	if (rc == 0 && etag && (rc = ward_conf_store_etag(*text, *len, etag)) != 0) {
		free(*text);
		*text = NULL;
		*len = 0;
	}
	return rc;
}

/* ---- writing ---------------------------------------------------------------------------- */

struct store {
	char dir[PATH_MAX];
	char base[NAME_MAX + 1];
	const char *path;
	int dirfd;
	mode_t mode;
	char *err;
	size_t errlen;
};

static int failed(struct store *s, int e, const char *what, const char *file)
{
	int rc = ward_errno(e);
	snprintf(s->err, s->errlen, "cannot %s %s: %s", what, file, strerror(e));
	return rc ? rc : WARD_EIO;
}

static int split_path(struct store *s, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	if (!*base || strlen(base) > NAME_MAX || dlen >= sizeof(s->dir) - 2) {
		snprintf(s->err, s->errlen, "%s: not a file name", path);
		return WARD_EINVAL;
	}
	if (slash)
		snprintf(s->dir, sizeof(s->dir), "%.*s", (int)(dlen ? dlen : 1), path);
	else
		snprintf(s->dir, sizeof(s->dir), ".");
	snprintf(s->base, sizeof(s->base), "%s", base);
	s->path = path;
	return 0;
}

/* dir + "/" + fmt(base, n); split_path keeps both short enough for PATH_MAX + 32. */
static void sibling(const struct store *s, const char *fmt, unsigned n, char *out, size_t cap)
{
	char name[NAME_MAX + 32];
	if (snprintf(name, sizeof(name), fmt, s->base, n) >= (int)sizeof(name) ||
	    snprintf(out, cap, "%s/%s", s->dir, name) >= (int)cap)
		out[0] = '\0'; /* unreachable; an empty path fails the open or rename */
}

/* The whole text into a new file `tmp` with the mode of the config, on disk. */
static int write_temp(struct store *s, const char *tmp, const char *text, size_t len)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, s->mode);
	if (fd < 0)
		return failed(s, errno, "write", tmp);
	size_t off = 0;
	int e = fchmod(fd, s->mode) == 0 ? 0 : errno;
	while (!e && off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			e = w < 0 ? errno : EIO;
		else
			off += (size_t)w;
	}
	step();
	if (!e && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && !e)
		e = errno;
	if (e) {
		unlink(tmp);
		return failed(s, e, "write", tmp);
	}
	return 0;
}

static int rename_step(struct store *s, const char *from, const char *to, bool may_be_missing)
{
	step();
	if (rename(from, to) == 0 || (may_be_missing && errno == ENOENT))
		return 0;
	return failed(s, errno, "rename to", to);
}

/* path.N-1 -> path.N ... path.1 -> path.2, then the old text becomes path.1. */
static int keep_old(struct store *s, const char *old, size_t old_len)
{
	char from[PATH_MAX + 32], to[PATH_MAX + 32], tmp[PATH_MAX + 32];
	for (unsigned i = WARD_CONF_BACKUPS - 1; i >= 1; i--) {
		sibling(s, "%s.%u", i, from, sizeof(from));
		sibling(s, "%s.%u", i + 1, to, sizeof(to));
		int rc = rename_step(s, from, to, true);
		if (rc)
			return rc;
	}
	sibling(s, ".%s.%u.tmp", 1, tmp, sizeof(tmp));
	sibling(s, "%s.%u", 1, to, sizeof(to));
	int rc = write_temp(s, tmp, old, old_len);
	return rc ? rc : rename_step(s, tmp, to, false);
}

static int lock_dir(struct store *s)
{
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		return failed(s, errno, "open the directory", s->dir);
	while (flock(s->dirfd, LOCK_EX) != 0) {
		if (errno != EINTR)
			return failed(s, errno, "lock the directory", s->dir);
	}
	return 0;
}

/* The file as it is now: its text for path.1, and whether it is the one the caller saw. */
static int check_current(struct store *s, const char *if_match, char **old, size_t *old_len)
{
	char etag[WARD_CONF_ETAG_SIZE];
	struct stat st;
	int rc = ward_conf_store_read(s->path, STORE_READ_MAX, old, old_len, etag);
	if (rc && rc != WARD_ENOTFOUND) {
		snprintf(s->err, s->errlen, "cannot read %s: %s", s->path, ward_strerror(rc));
		return rc;
	}
	if (if_match && strcmp(if_match, "*") != 0 && (!*old || strcmp(etag, if_match) != 0)) {
		snprintf(s->err, s->errlen, "%s changed since it was read (its ETag is now %s): "
			 "read it again and redo the change", s->path, *old ? etag : "none");
		return WARD_ESTALE;
	}
	s->mode = *old && stat(s->path, &st) == 0 ? st.st_mode & 07777 : NEW_FILE_MODE;
	return 0;
}

int ward_conf_store_write(const char *path, const char *text, size_t len, const char *if_match,
			  char etag[WARD_CONF_ETAG_SIZE], char *err, size_t errlen)
{
	char scratch[256], tmp[PATH_MAX + 32];
	struct store s = { .dirfd = -1, .err = err && errlen ? err : scratch,
			   .errlen = err && errlen ? errlen : sizeof(scratch) };
	char *old = NULL;
	size_t old_len = 0;
	s.err[0] = '\0';
	int rc = split_path(&s, path);
	if (rc == 0)
		rc = lock_dir(&s);
	if (rc == 0)
		rc = check_current(&s, if_match, &old, &old_len);
	sibling(&s, ".%s.tmp", 0, tmp, sizeof(tmp));
	/* The new text is on disk before anything is moved: a full disk changes nothing. */
	if (rc == 0)
		rc = write_temp(&s, tmp, text, len);
	if (rc == 0 && old && (rc = keep_old(&s, old, old_len)) != 0)
		unlink(tmp);
	if (rc == 0)
		rc = rename_step(&s, tmp, path, false);
	if (rc == 0 && fsync(s.dirfd) != 0)
		rc = failed(&s, errno, "sync the directory", s.dir);
	if (rc == 0 && etag)
		ward_conf_store_etag(text, len, etag); /* failed: "" matches nothing, a reread */
	if (s.dirfd >= 0)
		close(s.dirfd); /* and with it the lock */
	free(old);
	return rc;
}
