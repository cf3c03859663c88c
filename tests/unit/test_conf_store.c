/*
 * Writing the config file (conf_store.h): If-Match against the file as it is, backups
 * rotated (path.1 the newest), the mode kept, no temp file left, and a writer killed at
 * any step leaves path whole: the old text or the new one, never a mix or nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "blocklists/conf_store.h"
#include "blocklists/error.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ward-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/ward.json", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void put_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static char *get_file(const char *path)
{
	char *text = NULL;
	size_t len;
	int rc = ward_conf_store_read(path, 1 << 20, &text, &len, NULL);
	return rc == 0 ? text : NULL;
}

static void assert_file(const char *path, const char *expected)
{
	char *text = get_file(path);
	if (!text || strcmp(text, expected) != 0)
		fail_msg("%s: %s, expected %s", path, text ? text : "(missing)", expected);
	free(text);
}

static void backup_path(const struct fixture *f, unsigned n, char *out, size_t cap)
{
	snprintf(out, cap, "%s.%u", f->path, n);
}

static void test_read_and_etag(void **state)
{
	struct fixture *f = *state;
	char etag[WARD_CONF_ETAG_SIZE], etag2[WARD_CONF_ETAG_SIZE], *text = NULL;
	size_t len;
	assert_int_equal(ward_conf_store_read(f->path, 100, &text, &len, etag), WARD_ENOTFOUND);
	put_file(f->path, "{\"upstreams\": [\"9.9.9.9\"]}\n");
	assert_int_equal(ward_conf_store_read(f->path, 100, &text, &len, etag), 0);
	assert_int_equal(len, 27);
	assert_string_equal(text, "{\"upstreams\": [\"9.9.9.9\"]}\n");
	free(text);
	/* A quoted 32-digit hex string, the same for the same bytes, another for others. */
	assert_int_equal(strlen(etag), 34);
	assert_true(etag[0] == '"' && etag[33] == '"');
	ward_conf_store_etag("{\"upstreams\": [\"9.9.9.9\"]}\n", 27, etag2);
	assert_string_equal(etag, etag2);
	ward_conf_store_etag("{\"upstreams\": [\"9.9.9.8\"]}\n", 27, etag2);
	assert_string_not_equal(etag, etag2);
	assert_int_equal(ward_conf_store_read(f->path, 26, &text, &len, etag), WARD_ETOOBIG);
	assert_null(text);
}

static void test_write_if_match(void **state)
{
	struct fixture *f = *state;
	char etag[WARD_CONF_ETAG_SIZE], fresh[WARD_CONF_ETAG_SIZE], err[256], bak[160];
	put_file(f->path, "one\n");
	ward_conf_store_etag("one\n", 4, etag);
	assert_int_equal(ward_conf_store_write(f->path, "two\n", 4, etag, fresh, err,
					       sizeof(err)), 0);
	assert_file(f->path, "two\n");
	backup_path(f, 1, bak, sizeof(bak));
	assert_file(bak, "one\n");
	char expected[WARD_CONF_ETAG_SIZE];
	ward_conf_store_etag("two\n", 4, expected);
	assert_string_equal(fresh, expected);
	/* The ETag seen before is stale now: nothing is written, nothing rotated. */
	assert_int_equal(ward_conf_store_write(f->path, "three\n", 6, etag, NULL, err,
					       sizeof(err)), WARD_ESTALE);
	assert_non_null(strstr(err, "changed since it was read"));
	assert_file(f->path, "two\n");
	assert_file(bak, "one\n");
	backup_path(f, 2, bak, sizeof(bak));
	assert_int_equal(access(bak, F_OK), -1);
	/* A hand edit changes the ETag the same way. */
	put_file(f->path, "by hand\n");
	assert_int_equal(ward_conf_store_write(f->path, "x\n", 2, fresh, NULL, err, sizeof(err)),
			 WARD_ESTALE);
	assert_int_equal(ward_conf_store_write(f->path, "x\n", 2, "*", NULL, err, sizeof(err)), 0);
	assert_file(f->path, "x\n");
	backup_path(f, 1, bak, sizeof(bak));
	assert_file(bak, "by hand\n");
}

static void test_backups_rotate(void **state)
{
	struct fixture *f = *state;
	char text[32], bak[160], err[256];
	put_file(f->path, "v0\n");
	for (int i = 1; i <= 8; i++) {
		snprintf(text, sizeof(text), "v%d\n", i);
		assert_int_equal(ward_conf_store_write(f->path, text, strlen(text), NULL, NULL, err,
						       sizeof(err)), 0);
	}
	assert_file(f->path, "v8\n");
	for (unsigned n = 1; n <= WARD_CONF_BACKUPS; n++) {
		backup_path(f, n, bak, sizeof(bak));
		snprintf(text, sizeof(text), "v%u\n", 8 - n);
		assert_file(bak, text);
	}
	backup_path(f, WARD_CONF_BACKUPS + 1, bak, sizeof(bak));
	assert_int_equal(access(bak, F_OK), -1);
	/* Nothing else was left in the directory: no temporary files. */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq %d", f->dir,
		 1 + WARD_CONF_BACKUPS);
	assert_int_equal(system(cmd), 0);
}

static void test_mode_kept(void **state)
{
	struct fixture *f = *state;
	char err[256];
	struct stat st;
	put_file(f->path, "a\n");
	assert_int_equal(chmod(f->path, 0604), 0);
	assert_int_equal(ward_conf_store_write(f->path, "b\n", 2, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0604);
	/* A first write (no file yet) makes it 0640. */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(ward_conf_store_write(f->path, "c\n", 2, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* If-Match on a file that is gone: stale. */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(ward_conf_store_write(f->path, "d\n", 2, "\"0\"", NULL, err, sizeof(err)),
			 WARD_ESTALE);
}

static void test_write_errors(void **state)
{
	struct fixture *f = *state;
	char err[256], path[192];
	snprintf(path, sizeof(path), "%s/missing-dir/ward.json", f->dir);
	assert_int_equal(ward_conf_store_write(path, "a\n", 2, NULL, NULL, err, sizeof(err)),
			 WARD_ENOTFOUND);
	assert_non_null(strstr(err, "missing-dir"));
	assert_int_equal(ward_conf_store_write(f->dir, "a\n", 2, NULL, NULL, err, sizeof(err)),
			 WARD_EIO);
}

/*
 * A writer killed at every step: the child writes with a pause between steps; the parent
 * kills it after a growing delay. Whatever the moment, path holds the old text or the new
 * one, and every backup that exists is a whole version.
 */
static void test_killed_writer(void **state)
{
	struct fixture *f = *state;
	static const char *old = "{\"version\": \"old\", \"pad\": \"........................\"}\n";
	static const char *new = "{\"version\": \"new\", \"pad\": \"------------------------\"}\n";
	char bak[160];
	unsigned saw_old = 0, saw_new = 0;
	for (unsigned delay_ms = 0; delay_ms < 120; delay_ms += 3) {
		put_file(f->path, old);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char err[256];
			ward_conf_store_test_set_delay(5);
			_exit(ward_conf_store_write(f->path, new, strlen(new), NULL, NULL, err,
						    sizeof(err)) == 0 ? 0 : 1);
		}
		struct timespec ts = { 0, (long)delay_ms * 1000000 };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		char *text = get_file(f->path);
		assert_non_null(text);
		bool is_old = strcmp(text, old) == 0, is_new = strcmp(text, new) == 0;
		if (!is_old && !is_new)
			fail_msg("killed after %u ms: %s", delay_ms, text);
		saw_old += is_old;
		saw_new += is_new;
		free(text);
		for (unsigned n = 1; n <= WARD_CONF_BACKUPS; n++) {
			backup_path(f, n, bak, sizeof(bak));
			char *b = get_file(bak);
			if (b && strcmp(b, old) != 0 && strcmp(b, new) != 0)
				fail_msg("killed after %u ms: %s holds %s", delay_ms, bak, b);
			free(b);
		}
	}
	/* The delays spanned the whole write: both outcomes were seen. */
	assert_true(saw_old > 0 && saw_new > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_and_etag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_if_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backups_rotate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_writer, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
