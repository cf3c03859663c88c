/* The admin token file (token.h), shared by wardd's web listener and `ward admin-token`. */
#include "blocklists/token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocklists/error.h"

#define TOKEN_BYTES 32

static int read_token(int fd, const char *path, struct ward_token *t, char *err,
		      size_t errlen)
{
	struct stat st;
	char buf[WARD_TOKEN_MAX + 2];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return ward_errno(e);
	}
	t->exposed = fstat(fd, &st) == 0 && (st.st_mode & 077);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	bool ok = n >= WARD_TOKEN_MIN && n <= WARD_TOKEN_MAX;
	for (ssize_t i = 0; ok && i < n; i++)
		ok = buf[i] > ' ' && buf[i] < 0x7f;
	if (!ok) {
		snprintf(err, errlen, "%s: not an admin token (%d-%d printable characters); remove "
			 "it and a new one is made", path, WARD_TOKEN_MIN, WARD_TOKEN_MAX);
		return WARD_EFORMAT;
	}
	memcpy(t->text, buf, (size_t)n);
	t->text[n] = '\0';
	t->len = (size_t)n;
	return 0;
}

/* @return 0, 1 when the file appeared meanwhile, or a failure. */
static int create_token(const char *path, struct ward_token *t, char *err, size_t errlen)
{
	uint8_t raw[TOKEN_BYTES];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		snprintf(err, errlen, "no random bytes for the admin token: %s", strerror(errno));
		return WARD_EIO;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(t->text + 2 * i, 3, "%02x", raw[i]);
	t->len = 2 * sizeof(raw);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return 1; /* another creator was first */
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return ward_errno(e);
	}
	char line[2 * TOKEN_BYTES + 2];
	int len = snprintf(line, sizeof(line), "%s\n", t->text);
	int e = write(fd, line, (size_t)len) == len && fsync(fd) == 0 ? 0 : errno ? errno : EIO;
	close(fd);
	if (e) {
		unlink(path);
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return ward_errno(e);
	}
	t->created = true;
	return 0;
}

int ward_token_get(const char *path, bool create, struct ward_token *out, char *err,
		   size_t errlen)
{
	char scratch[256];
	if (!err || !errlen) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	for (int tries = 0; tries < 2; tries++) {
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			int rc = read_token(fd, path, out, err, errlen);
			close(fd);
			return rc;
		}
		if (errno != ENOENT || !create) {
			int e = errno;
			snprintf(err, errlen, "%s: %s", path, strerror(e));
			return ward_errno(e);
		}
		int rc = create_token(path, out, err, errlen);
		if (rc != 1)
			return rc;
		/* Another creator got there first (O_EXCL): read the token it wrote. */
		memset(out, 0, sizeof(*out));
	}
	return WARD_EIO;
}
