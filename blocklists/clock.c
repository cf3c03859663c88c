/* The wall clock (clock.h). */
#include "blocklists/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef WARD_TEST_HOOKS
/* The offset in WARD_TEST_CLOCK_FILE, or 0 (no file, unreadable, not a number). */
static int64_t test_offset(void)
{
	const char *path = getenv("WARD_TEST_CLOCK_FILE");
	long long offset = 0;
	if (!path || !*path)
		return 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lld", &offset) != 1)
		offset = 0;
	fclose(f);
	return (int64_t)offset;
}
#endif

int64_t ward_clock_now(void)
{
	int64_t now = (int64_t)time(NULL);
#ifdef WARD_TEST_HOOKS
	now += test_offset();
#endif
	return now;
}
