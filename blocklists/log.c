#include "blocklists/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum ward_log_level current_level = WARD_LOG_INFO;
static enum ward_log_target current_target = WARD_LOG_TO_STDERR;
static const char *current_ident = "ward";

static const char *const level_names[] = {"error", "warn", "info", "debug"};
/* syslog(3) priorities, which are also the journal's <N> prefixes (sd-daemon(3)). */
static const int level_priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
static const char *const level_prefix[] = {"<3>", "<4>", "<6>", "<7>"};

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

bool ward_log_is_journal_stream(const char *journal_stream, int fd)
{
	uintmax_t dev, ino;
	char end;
	struct stat st;
	/* systemd writes "%u:%lu"; anything else (or a stale value inherited by a process
	 * whose stderr was redirected since) means stderr is not the journal. */
	if (!journal_stream || sscanf(journal_stream, "%ju:%ju%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(fd, &st) != 0)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

void ward_log_open(const char *ident, bool use_syslog)
{
	current_ident = ident;
	if (use_syslog) {
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		current_target = WARD_LOG_TO_SYSLOG;
	} else if (ward_log_is_journal_stream(getenv("JOURNAL_STREAM"), STDERR_FILENO)) {
		current_target = WARD_LOG_TO_JOURNAL;
	} else {
		current_target = WARD_LOG_TO_STDERR;
	}
}

enum ward_log_target ward_log_target(void)
{
	return current_target;
}

const char *ward_log_prefix(enum ward_log_level level)
{
	return current_target == WARD_LOG_TO_JOURNAL ? level_prefix[level] : "";
}

static void log_stderr(enum ward_log_level level, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%d] %s: %s\n", stamp, ts.tv_nsec / 1000000, current_ident,
		(int)getpid(), level_names[level], msg);
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

	switch (current_target) {
	case WARD_LOG_TO_SYSLOG: syslog(level_priority[level], "%s", msg); break;
	case WARD_LOG_TO_JOURNAL: fprintf(stderr, "%s%s\n", level_prefix[level], msg); break;
	default: log_stderr(level, msg); break;
	}
}
