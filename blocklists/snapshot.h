/*
 * One database, many nodes: the central builder runs `ward update` and then `ward snapshot
 * export`, which writes a compacted copy of the category database and a signed manifest;
 * any web server serves the two files; each node runs `ward sync URL` on a timer, which
 * fetches the manifest (conditionally), checks its Ed25519 signature against the
 * configured public key, fetches the copy, checks its size and SHA-256, and installs it in
 * one write transaction (catdb.h: ward_catdb_install_snapshot), so wardd switches to it
 * live. Anything wrong keeps the current database and says why.
 *
 * The manifest is text: its first line is a JSON object (the bytes signed), its second
 * "ed25519 " + the signature in hex:
 *   {"format":"ward-snapshot/1","file":"ward.mdb","bytes":N,"sha256":"...",
 *    "generation":G,"exported_at":MS,"built_at":S,"domains":D,"subscribers":U,"schema":1}
 *   ed25519 9f86d0...
 * `generation` is the database's build count; `exported_at` (unix milliseconds) orders two
 * snapshots of the same build (e.g. after a subscriber import).
 */
#ifndef WARD_SNAPSHOT_H
#define WARD_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ward_catdb;

#define WARD_SNAPSHOT_MANIFEST_MAX 4096
#define WARD_SNAPSHOT_FORMAT "ward-snapshot/1"

struct ward_snapshot_manifest {
	char file[128];           /* the copy's file name, beside the manifest */
	uint64_t bytes;
	char sha256[65];
	uint64_t generation;
	uint64_t exported_at;     /* unix milliseconds */
	int64_t built_at;
	uint64_t domains;
	uint64_t subscribers;
};

/* A new Ed25519 key pair: the private key (PEM, PKCS#8, mode 0600) and the public key
 * (PEM, SubjectPublicKeyInfo). Neither file may exist yet.
 * @return 0 or a WARD_E* code, with the reason in err. */
int ward_snapshot_keygen(const char *private_path, const char *public_path, char *err,
			 size_t cap);

/*
 * Export db to `path` (the copy) and `path`.manifest, signed with the private key at
 * key_path. Both are written beside their final names and renamed into place, the copy
 * first. @return 0 or a WARD_E* code, with the reason in err; *m describes the export.
 */
int ward_snapshot_export(struct ward_catdb *db, const char *path, const char *key_path,
			 struct ward_snapshot_manifest *m, char *err, size_t cap);

/*
 * Check a manifest's signature with the public key at pub_path and parse it.
 * @return 0; WARD_EREFUSED (bad signature); WARD_EFORMAT (not a manifest, or a field is
 *         missing or invalid); WARD_EIO (the key cannot be read). err says which.
 */
int ward_snapshot_verify(const char *text, size_t len, const char *pub_path,
			 struct ward_snapshot_manifest *m, char *err, size_t cap);

/* Split a manifest into its signed body and signature, and parse the body (what
 * ward_snapshot_verify does around the signature check). @return 0 or WARD_EFORMAT. */
int ward_snapshot_manifest_split(const char *text, size_t len, size_t *body_len,
				 uint8_t sig[64], char *err, size_t cap);
int ward_snapshot_manifest_parse(const char *body, size_t len,
				 struct ward_snapshot_manifest *m, char *err, size_t cap);

/* What `ward sync` did. */
enum ward_sync_outcome {
	WARD_SYNC_INSTALLED,      /* a newer snapshot is in force */
	WARD_SYNC_UNCHANGED,      /* the manifest was not modified (304), or is the one in force */
	WARD_SYNC_FAILED,         /* nothing changed; why says why */
};

struct ward_sync_result {
	enum ward_sync_outcome outcome;
	struct ward_snapshot_manifest manifest;
	double seconds;           /* download and install */
	char why[256];
};

struct ward_sync_opts {
	const char *url;          /* the manifest's URL */
	const char *public_key;   /* PEM file */
	const char *state_dir;    /* where the download and the ETag are kept (database dir) */
	uint64_t max_bytes;       /* the largest copy accepted */
	uint32_t timeout_ms;      /* per request */
};

/* Fetch, verify and install (see the top of this file). @return 0 (res says what
 * happened) or a WARD_E* code with res->why set (res->outcome WARD_SYNC_FAILED). */
int ward_snapshot_sync(struct ward_catdb *db, const struct ward_sync_opts *o,
		       struct ward_sync_result *res);

#endif
