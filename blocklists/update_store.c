/*
 * The files the updater keeps beside the database: raw copies, the run lock and the
 * build signature. Every file that replaces another is written under a temporary name,
 * fsync()ed, rename()d over the old one and the directory fsync()ed, so a crash at any
 * moment leaves either the old file or the new one, complete.
 */
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
#include "blocklists/update_internal.h"

int ward_update_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return WARD_EIO;
	int rc = fsync(fd) == 0 ? 0 : WARD_EIO;
	close(fd);
	return rc;
}

int ward_update_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(buf))
		return WARD_EINVAL;
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return WARD_EIO;
		buf[i] = saved;
	}
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return WARD_EIO;
	return 0;
}

int ward_update_lock_open(const char *feeds_dir, int *fd_out)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/update.lock", feeds_dir) >= (int)sizeof(path))
		return WARD_ETOOBIG;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return WARD_EIO;
	*fd_out = fd;
	return 0;
}

int ward_update_lock_take(int fd, bool wait)
{
	for (;;) {
		if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? WARD_EBUSY : WARD_EIO;
	}
}

int ward_update_install(const char *tmp, const char *final, const char *dir)
{
	if (rename(tmp, final) != 0)
		return WARD_EIO;
	return ward_update_fsync_dir(dir);
}

bool ward_update_file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int sig_path(const char *feeds_dir, const char *suffix, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/build.sig%s", feeds_dir, suffix);
	return n < 0 || (size_t)n >= cap ? WARD_ETOOBIG : 0;
}

int ward_update_sig_read(const char *feeds_dir, uint64_t *generation, char hex[65])
{
	char path[PATH_MAX], line[128];
	int rc = sig_path(feeds_dir, "", path, sizeof(path));
	if (rc < 0)
		return rc;
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? WARD_ENOTFOUND : WARD_EIO;
	rc = WARD_EFORMAT;
	if (fgets(line, sizeof(line), f) &&
	    sscanf(line, "%" SCNu64 " %64[0-9a-f]", generation, hex) == 2 && strlen(hex) == 64)
		rc = 0;
	fclose(f);
	return rc;
}

int ward_update_sig_write(const char *feeds_dir, uint64_t generation, const char hex[65])
{
	char path[PATH_MAX], tmp[PATH_MAX], line[128];
	if (sig_path(feeds_dir, "", path, sizeof(path)) < 0 ||
	    sig_path(feeds_dir, ".tmp", tmp, sizeof(tmp)) < 0)
		return WARD_ETOOBIG;
	int len = snprintf(line, sizeof(line), "%" PRIu64 " %s\n", generation, hex);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return WARD_EIO;
	bool ok = write(fd, line, (size_t)len) == len && fsync(fd) == 0;
	close(fd);
	if (!ok) {
		unlink(tmp);
		return WARD_EIO;
	}
	return ward_update_install(tmp, path, feeds_dir);
}
