/*
 * The files the updater keeps beside the database: raw copies, the run lock and the
 * build signature. Every file that replaces another is written under a temporary name,
 * fsync()ed, rename()d over the old one and the directory fsync()ed, so a crash at any
 * moment leaves either the old file or the new one, complete.
 */
#include <dirent.h>
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
		return ward_errno(errno);
	int rc = fsync(fd) == 0 ? 0 : ward_errno(errno);
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
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return ward_errno(errno);
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
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return ward_errno(errno);
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
		return ward_errno(errno); /* EWOULDBLOCK: WARD_EBUSY */
	}
}

int ward_update_install(const char *tmp, const char *final, const char *dir)
{
	if (rename(tmp, final) != 0)
		return ward_errno(errno);
	return ward_update_fsync_dir(dir);
}

/* Takes away from an existing file (or directory) every permission outside keep. */
static void tighten(const char *path, mode_t keep)
{
	struct stat st;
	if (lstat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
	    (st.st_mode & 07777 & ~keep))
		chmod(path, st.st_mode & keep);
}

void ward_update_tighten_modes(const char *database, const char *feeds_dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "build.lock" };
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (snprintf(path, sizeof(path), "%s/%s", database, files[i]) < (int)sizeof(path))
			tighten(path, 0640);
	tighten(feeds_dir, 0750);
	DIR *dir = opendir(feeds_dir);
	if (!dir)
		return;
	for (struct dirent *e; (e = readdir(dir)) != NULL;)
		if (e->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", feeds_dir, e->d_name) < (int)sizeof(path))
			tighten(path, 0640);
	closedir(dir);
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
		return ward_errno(errno);
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
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return ward_errno(errno);
	bool ok = write(fd, line, (size_t)len) == len && fsync(fd) == 0;
	int err = ok ? 0 : ward_errno(errno ? errno : EIO);
	close(fd);
	if (!ok) {
		unlink(tmp);
		return err;
	}
	return ward_update_install(tmp, path, feeds_dir);
}
