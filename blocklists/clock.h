/*
 * The wall clock of overrides and reports (their creation and expiry times).
 *
 * Test builds (WARD_TEST_HOOKS) honour WARD_TEST_CLOCK_FILE: a file holding a signed
 * number of seconds that is added to the real clock, read on every call. A test moves
 * time forward for wardd and `ward` alike by rewriting the file, so an hour's allow can
 * be seen to end without waiting an hour. wardd reads the clock on its main thread only
 * (every housekeeping tick) and hands it to the workers.
 */
#ifndef WARD_CLOCK_H
#define WARD_CLOCK_H

#include <stdint.h>

/* Unix seconds now. */
int64_t ward_clock_now(void);

#endif
