/*
 * ward error codes, shared by every subsystem.
 *
 * Functions return int: 0 on success, a negative WARD_E* code on failure. Foreign
 * libraries' codes (ldns_status, MDB_*, CURLcode, libuv's negative errno) are converted
 * to these in exactly one place each, next to the code that calls the library.
 */
#ifndef WARD_ERROR_H
#define WARD_ERROR_H

enum ward_error {
	WARD_OK = 0,
	WARD_EINVAL = -1,    /* bad argument or bad input (a parser refused it) */
	WARD_ENOMEM = -2,    /* allocation failed or a fixed capacity is full */
	WARD_EIO = -3,       /* read/write/socket failure */
	WARD_EFORMAT = -4,   /* malformed data (wire packet, feed, config) */
	WARD_ENOTFOUND = -5, /* no such key/name/entry */
	WARD_ETOOBIG = -6,   /* a hard size cap was reached */
	WARD_ETIMEDOUT = -7,
	WARD_EDB = -8,       /* LMDB failure not covered by a more specific code */
	WARD_EBUSY = -9,     /* resource held by another process (e.g. the update lock) */
	WARD_ENET = -10,     /* network/transfer failure */
	WARD_ECONF = -11,    /* configuration invalid */
	WARD_EREFUSED = -12, /* refused by policy (feed sanity checks, ACL) */
	WARD_ESTALE = -13,   /* found, but expired */
	WARD_EACCES = -14,   /* permission denied (EACCES, EPERM) */
	WARD_EROFS = -15,    /* read-only file system */
	WARD_EADDRINUSE = -16,    /* another socket holds the address */
	WARD_EADDRNOTAVAIL = -17, /* the address is not on this host */
	WARD_ENOSPC = -18,   /* no space left on the device (or quota) */
};

/* @return a static, human-readable string for a WARD_E* code (never NULL). */
const char *ward_strerror(int err);

/*
 * The one place where errno values become WARD_E* codes (libuv's negative codes are
 * -errno: pass -rc). The causes a user has to act on keep their own code (permission
 * denied, read-only file system, address in use, disk full); the rest fold into
 * WARD_EIO.
 * @param e  an errno value (> 0); 0 gives 0
 */
int ward_errno(int e);

#endif
