/*
 * The one place where libuv's error codes become WARD_E* codes, as catdb_internal.h's
 * ward_catdb_mdb_err() does for LMDB and update_fetch.c for libcurl.
 */
#ifndef WARD_UV_ERROR_H
#define WARD_UV_ERROR_H

/*
 * libuv returns 0, or -errno on Unix, or one of its own codes (UV_EOF, UV_EAI_*, ...).
 * @return 0 for 0; the matching WARD_E* code (ward_errno) for an errno value; WARD_EIO for
 *         libuv's own codes, WARD_ENOMEM for UV_ENOMEM.
 */
int ward_uv_err(int rc);

#endif
