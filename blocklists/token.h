/*
 * The admin token: a random secret in a file of its own (web.admin_token_file), which
 * the web listener's admin pages and API ask for (`Authorization: Bearer TOKEN`).
 * wardd creates it on its first start with a web section; `ward admin-token` prints it
 * (creating it the same way when wardd has not yet). 64 hex digits from getrandom(),
 * written with O_EXCL and mode 0600, fsync'ed: two creators racing end with one token.
 */
#ifndef WARD_TOKEN_H
#define WARD_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define WARD_TOKEN_MAX 256 /* the longest token accepted in the file */
#define WARD_TOKEN_MIN 16

struct ward_token {
	char text[WARD_TOKEN_MAX + 1];
	size_t len;
	bool created;  /* this call wrote the file */
	bool exposed;  /* the file is readable or writable by group or others */
};

/*
 * Read the token from `path`, or create it there when the file does not exist and
 * `create` is set. A file that holds no token (fewer than WARD_TOKEN_MIN or more than
 * WARD_TOKEN_MAX printable characters, surrounding whitespace aside) is refused, never
 * replaced: the operator may have written it on purpose.
 * @param err  a sentence on failure ("/var/lib/ward/admin.token: Permission denied")
 * @return 0, WARD_ENOTFOUND (no file and !create), WARD_EFORMAT (not a token), or the
 *         open/read/write failure (WARD_EACCES, WARD_EIO, ...)
 */
int ward_token_get(const char *path, bool create, struct ward_token *out, char *err,
		   size_t errlen);

#endif
