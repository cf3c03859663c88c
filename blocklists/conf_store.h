/*
 * Reading and writing the config file as text: what the config API (GET/PUT
 * /api/v1/config) and the device assignments do instead of an editor. The file stays the
 * only configuration; this module only replaces it, safely.
 *
 * A write never leaves a moment without a complete config at `path`: the new text goes
 * to a temporary file in the same directory, is fsync'ed, and is renamed over the old one
 * (atomic on POSIX file systems); the directory is fsync'ed so that the rename survives a
 * power cut. The version it replaces is kept as path.1, path.1 becomes path.2 and so on
 * (WARD_CONF_BACKUPS generations), each again by rename, so a process killed at any point
 * leaves every one of these files whole (at worst one generation twice).
 *
 * Writers in different processes are serialized with flock() on the directory (a lock
 * file in it would itself be replaced by the rename). Hand edits take no lock: If-Match
 * compares the file as it is when the write starts, so an edit saved before is never
 * overwritten unseen; an editor that saves within the same millisecond as an API write
 * may lose (its version is then the one in path.1 or gone, as with two editors).
 *
 * The ETag is a hash of the file's bytes: any change, by hand or by the API, gives a new
 * one, and an unchanged file keeps its ETag across restarts.
 */
#ifndef WARD_CONF_STORE_H
#define WARD_CONF_STORE_H

#include <stddef.h>

#define WARD_CONF_BACKUPS 5
#define WARD_CONF_ETAG_SIZE 40 /* "\"" + 32 hex digits + "\"" + NUL, with room */

/* The ETag of a config text: a quoted hex string (128 bits of its SHA-256).
 * @return 0, or WARD_ENOMEM (libcrypto could not hash: etag is "\"\"", which no If-Match
 * of a real ETag equals). */
int ward_conf_store_etag(const char *text, size_t len, char etag[WARD_CONF_ETAG_SIZE]);

/*
 * Read the file as it is now.
 * @param max   the largest text accepted
 * @param text  receives a NUL-terminated copy (free it)
 * @param etag  receives its ETag (may be NULL)
 * @return 0, WARD_ENOTFOUND (no such file), WARD_ETOOBIG (larger than max),
 *         WARD_EACCES, WARD_EIO, WARD_ENOMEM
 */
int ward_conf_store_read(const char *path, size_t max, char **text, size_t *len,
			 char etag[WARD_CONF_ETAG_SIZE]);

/*
 * Replace the file with `text` (already validated by the caller: this module does not
 * parse it), keeping the old version as path.1 (older ones shifted up to
 * path.WARD_CONF_BACKUPS). The new file keeps the old one's permission bits (0640 when
 * there was none); its owner is whoever writes it (wardd: its user).
 * @param if_match  the ETag the caller saw: the write happens only if the file still has
 *                  it. NULL or "*": whatever is there.
 * @param etag      receives the new ETag (may be NULL)
 * @param err       receives a sentence on failure ("cannot write /etc/ward/.ward.json.tmp:
 *                  Permission denied")
 * @return 0, WARD_ESTALE (the file changed since if_match: nothing written),
 *         WARD_ENOTFOUND (no such directory), WARD_EACCES, WARD_EROFS, WARD_ENOSPC,
 *         WARD_EIO, WARD_ENOMEM
 */
int ward_conf_store_write(const char *path, const char *text, size_t len, const char *if_match,
			  char etag[WARD_CONF_ETAG_SIZE], char *err, size_t errlen);

#ifdef WARD_TEST_HOOKS
/* Tests only: sleep this many milliseconds between the steps of a write, so that a test
 * can kill the writer in the middle (also from the environment: WARD_TEST_CONF_WRITE_MS). */
void ward_conf_store_test_set_delay(unsigned ms);
#endif

#endif
