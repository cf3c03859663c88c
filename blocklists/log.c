#include "blocklists/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static enum ward_log_level current_level = WARD_LOG_INFO;
static const char *current_ident = "ward";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void ward_log_set_level(enum ward_log_level level)
{
	current_level = level;
}

enum ward_log_level ward_log_get_level(void)
{
	return current_level;
}

void ward_log_set_ident(const char *ident)
{
	current_ident = ident;
}

void ward_log(enum ward_log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%d] %s: %s\n", stamp, ts.tv_nsec / 1000000, current_ident,
		(int)getpid(), level_names[level], msg);
}
