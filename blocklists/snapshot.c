/*
 * Snapshot keys, manifests and export (snapshot.h). Ed25519 through OpenSSL's EVP
 * interface; libcrypto's error queue is read (and cleared) in exactly one place,
 * ssl_fail(), the conversion of its failures into WARD_E* codes with a message.
 */
#include "blocklists/snapshot.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "blocklists/subscribers.h"
#include "blocklists/update.h"

#define SIG_LEN 64

static int ssl_fail(int code, const char *what, char *err, size_t cap)
{
	unsigned long e = ERR_get_error();
	char text[160] = "";
	if (e)
		ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	snprintf(err, cap, "%s%s%s", what, text[0] ? ": " : "", text);
	return code;
}

/* ---- keys ------------------------------------------------------------------------------ */

static FILE *create_file(const char *path, mode_t mode, char *err, size_t cap)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return NULL;
	}
	FILE *f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

static int write_pem(EVP_PKEY *key, const char *path, bool priv, char *err, size_t cap)
{
	FILE *f = create_file(path, priv ? 0600 : 0644, err, cap);
	if (!f)
		return WARD_EIO;
	int ok = priv ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		      : PEM_write_PUBKEY(f, key);
	if (fclose(f) != 0 || ok != 1) {
		unlink(path);
		return ssl_fail(WARD_EIO, path, err, cap);
	}
	return 0;
}

int ward_snapshot_keygen(const char *private_path, const char *public_path, char *err,
			 size_t cap)
{
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &key) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return ssl_fail(WARD_ENOMEM, "Ed25519 key generation failed", err, cap);
	}
	EVP_PKEY_CTX_free(ctx);
	int rc = write_pem(key, private_path, true, err, cap);
	if (rc == 0 && (rc = write_pem(key, public_path, false, err, cap)) != 0)
		unlink(private_path);
	EVP_PKEY_free(key);
	return rc;
}

static EVP_PKEY *read_key(const char *path, bool priv, char *err, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return NULL;
	}
	EVP_PKEY *k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
			   : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (k && EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		snprintf(err, cap, "%s: not an Ed25519 key", path);
		return NULL;
	}
	if (!k)
		ssl_fail(WARD_EFORMAT, path, err, cap);
	return k;
}

/* ---- signatures ------------------------------------------------------------------------ */

static int sign(const char *key_path, const char *msg, size_t len, uint8_t sig[SIG_LEN],
		char *err, size_t cap)
{
	EVP_PKEY *key = read_key(key_path, true, err, cap);
	if (!key)
		return WARD_EIO;
	size_t n = SIG_LEN;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
		 EVP_DigestSign(ctx, sig, &n, (const uint8_t *)msg, len) == 1 && n == SIG_LEN;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok ? 0 : ssl_fail(WARD_EIO, "signing failed", err, cap);
}

static bool verify(EVP_PKEY *key, const char *msg, size_t len, const uint8_t sig[SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
		  EVP_DigestVerify(ctx, sig, SIG_LEN, (const uint8_t *)msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Exactly 2n lower-case hex digits. */
static int unhex(const char *hex, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* ---- manifests ---------------------------------------------------------------------------- */

static size_t manifest_body(const struct ward_snapshot_manifest *m, char *buf, size_t cap)
{
	int n = snprintf(buf, cap,
			 "{\"format\":\"" WARD_SNAPSHOT_FORMAT "\",\"file\":\"%s\","
			 "\"bytes\":%" PRIu64 ",\"sha256\":\"%s\",\"generation\":%" PRIu64 ","
			 "\"exported_at\":%" PRIu64 ",\"built_at\":%" PRId64 ","
			 "\"domains\":%" PRIu64 ",\"subscribers\":%" PRIu64 ",\"schema\":1}",
			 m->file, m->bytes, m->sha256, m->generation, m->exported_at,
			 m->built_at, m->domains, m->subscribers);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* A non-negative integer below 2^53 (exact in a double). */
static bool get_u64(const cJSON *o, const char *name, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740991.0 ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return false;
	*out = (uint64_t)v->valuedouble;
	return true;
}

static bool get_str(const cJSON *o, const char *name, char *out, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
		return false;
	strcpy(out, v->valuestring);
	return true;
}

/* A plain file name: the copy sits beside the manifest, nowhere else. */
static bool plain_name(const char *s)
{
	if (!s[0] || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	return true;
}

static int parse_body(const char *body, size_t len, struct ward_snapshot_manifest *m,
		      char *err, size_t cap)
{
	cJSON *o = cJSON_ParseWithLength(body, len);
	char format[32];
	uint64_t built_at = 0, schema = 0;
	uint8_t digest[32];
	bool ok = o && get_str(o, "format", format, sizeof(format)) &&
		  strcmp(format, WARD_SNAPSHOT_FORMAT) == 0 &&
		  get_str(o, "file", m->file, sizeof(m->file)) && plain_name(m->file) &&
		  get_u64(o, "bytes", &m->bytes) && get_str(o, "sha256", m->sha256, 65) &&
		  unhex(m->sha256, strlen(m->sha256), digest, 32) == 0 &&
		  get_u64(o, "generation", &m->generation) &&
		  get_u64(o, "exported_at", &m->exported_at) &&
		  get_u64(o, "built_at", &built_at) && get_u64(o, "domains", &m->domains) &&
		  get_u64(o, "subscribers", &m->subscribers) && get_u64(o, "schema", &schema) &&
		  schema == 1;
	cJSON_Delete(o);
	m->built_at = (int64_t)built_at;
	if (!ok)
		snprintf(err, cap, "the manifest is not a " WARD_SNAPSHOT_FORMAT " manifest");
	return ok ? 0 : WARD_EFORMAT;
}

int ward_snapshot_manifest_split(const char *text, size_t len, size_t *body_len,
				 uint8_t sig[SIG_LEN], char *err, size_t cap)
{
	const char *nl = memchr(text, '\n', len);
	static const char tag[] = "ed25519 ";
	if (!nl || (size_t)(text + len - nl) < sizeof(tag) ||
	    memcmp(nl + 1, tag, sizeof(tag) - 1) != 0) {
		snprintf(err, cap, "the manifest has no signature line");
		return WARD_EFORMAT;
	}
	const char *hex = nl + sizeof(tag);
	size_t hexlen = (size_t)(text + len - hex);
	while (hexlen && (hex[hexlen - 1] == '\n' || hex[hexlen - 1] == '\r'))
		hexlen--;
	if (unhex(hex, hexlen, sig, SIG_LEN) != 0) {
		snprintf(err, cap, "the manifest's signature is not 64 bytes of hex");
		return WARD_EFORMAT;
	}
	*body_len = (size_t)(nl - text);
	return 0;
}

int ward_snapshot_manifest_parse(const char *body, size_t len,
				 struct ward_snapshot_manifest *m, char *err, size_t cap)
{
	return parse_body(body, len, m, err, cap);
}

int ward_snapshot_verify(const char *text, size_t len, const char *pub_path,
			 struct ward_snapshot_manifest *m, char *err, size_t cap)
{
	uint8_t sig[SIG_LEN];
	size_t body_len;
	int rc = ward_snapshot_manifest_split(text, len, &body_len, sig, err, cap);
	if (rc)
		return rc;
	EVP_PKEY *key = read_key(pub_path, false, err, cap);
	if (!key)
		return WARD_EIO;
	bool good = verify(key, text, body_len, sig);
	EVP_PKEY_free(key);
	if (!good) {
		snprintf(err, cap, "bad signature: the manifest was not signed by the key in %s",
			 pub_path);
		return WARD_EREFUSED;
	}
	return parse_body(text, body_len, m, err, cap);
}

/* ---- export ------------------------------------------------------------------------------- */

static int file_sha256(const char *path, char hex[65], uint64_t *bytes)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return WARD_EIO;
	struct ward_sha256 s = { 0 };
	int rc = ward_sha256_init(&s);
	static uint8_t buf[1 << 16];
	size_t n;
	*bytes = 0;
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		ward_sha256_update(&s, buf, n);
		*bytes += n;
	}
	uint8_t d[32];
	if (rc == 0 && (ferror(f) || (rc = ward_sha256_final(&s, d)) != 0))
		rc = rc ? rc : WARD_EIO;
	fclose(f);
	ward_sha256_free(&s);
	if (rc == 0)
		ward_sha256_hex(d, hex);
	return rc;
}

static int copy_to(struct ward_catdb *db, const char *tmp, char *err, size_t cap)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, cap, "%s: %s", tmp, strerror(errno));
		return WARD_EIO;
	}
	int rc = ward_catdb_copy_compact(db, fd);
	if (rc == 0 && fsync(fd) != 0)
		rc = WARD_EIO;
	if (close(fd) != 0 && rc == 0)
		rc = WARD_EIO;
	if (rc)
		snprintf(err, cap, "compacting copy to %s: %s", tmp, ward_strerror(rc));
	return rc;
}

static int write_manifest(const char *path, const char *body, size_t len,
			  const uint8_t sig[SIG_LEN], char *err, size_t cap)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return WARD_EIO;
	}
	fwrite(body, 1, len, f);
	fputs("\ned25519 ", f);
	for (int i = 0; i < SIG_LEN; i++)
		fprintf(f, "%02x", sig[i]);
	fputc('\n', f);
	bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0 || !ok) {
		snprintf(err, cap, "%s: write failed", path);
		return WARD_EIO;
	}
	return 0;
}

static int describe(struct ward_catdb *db, const char *path, struct ward_snapshot_manifest *m)
{
	struct ward_catdb_meta meta;
	int rc = ward_catdb_meta_get(db, &meta);
	if (rc == 0)
		rc = ward_sub_count(db, &m->subscribers);
	const char *base = strrchr(path, '/');
	snprintf(m->file, sizeof(m->file), "%s", base ? base + 1 : path);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	m->exported_at = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	m->generation = meta.generation;
	m->built_at = meta.built_at;
	m->domains = meta.domains;
	return rc;
}

int ward_snapshot_export(struct ward_catdb *db, const char *path, const char *key_path,
			 struct ward_snapshot_manifest *m, char *err, size_t cap)
{
	char tmp[4200], mtmp[4200], mpath[4200], body[1024];
	uint8_t sig[SIG_LEN];
	memset(m, 0, sizeof(*m));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(mpath, sizeof(mpath), "%s.manifest", path);
	snprintf(mtmp, sizeof(mtmp), "%s.manifest.tmp", path);
	const char *base = strrchr(path, '/');
	if (!plain_name(base ? base + 1 : path)) {
		snprintf(err, cap, "%s: the file name may hold only letters, digits, '.-_'", path);
		return WARD_EINVAL;
	}
	int rc = describe(db, path, m);
	if (rc == 0)
		rc = copy_to(db, tmp, err, cap);
	if (rc == 0 && (rc = file_sha256(tmp, m->sha256, &m->bytes)) != 0)
		snprintf(err, cap, "%s: cannot read it back", tmp);
	size_t len = rc ? 0 : manifest_body(m, body, sizeof(body));
	if (rc == 0 && (rc = sign(key_path, body, len, sig, err, cap)) == 0)
		rc = write_manifest(mtmp, body, len, sig, err, cap);
	if (rc == 0 && (rename(tmp, path) != 0 || rename(mtmp, mpath) != 0)) {
		snprintf(err, cap, "rename into %s: %s", path, strerror(errno));
		rc = WARD_EIO;
	}
	if (rc) {
		unlink(tmp);
		unlink(mtmp);
	}
	return rc;
}
