/*
 * The committed expectation table must be what the independent reference produces
 * today: runs `/usr/bin/python3 tests/feeds/reference_count.py --check`, which
 * regenerates tests/data/feeds/expected_counts.tsv in memory from the real feed files
 * and diffs it against the committed copy. (test_feed_files.c compares the C parsers
 * with that table.) After a deliberate rule change: edit both implementations, then
 * run the script with --write and commit the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static void test_expected_counts_are_current(void **state)
{
	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	const char *data = getenv("WARD_TEST_DATA");
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/../feeds/reference_count.py' --check",
		 data ? data : "tests/data");
	int status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expected_counts_are_current),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
