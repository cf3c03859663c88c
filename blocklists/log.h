/*
 * Logging: one line per event. Thread-safe (one write per line: stdio locks the stream,
 * syslog(3) is MT-safe). Nothing on the per-query path logs at info.
 *
 * Where lines go (ward_log_open):
 *   stderr    "2026-01-01T12:00:00.000Z wardd[42] warn: message" (a terminal, a file)
 *   journal   "<4>message": stderr is systemd's journal stream (JOURNAL_STREAM names
 *             stderr's device and inode), which adds its own time, name and PID and reads
 *             the <N> prefix as the priority, so `journalctl -p err -u wardd` works
 *   syslog    syslog(3), facility daemon (OpenWrt's logd, BSD-style systems)
 */
#ifndef WARD_LOG_H
#define WARD_LOG_H

#include <stdbool.h>


enum ward_log_level { WARD_LOG_ERROR, WARD_LOG_WARN, WARD_LOG_INFO, WARD_LOG_DEBUG };

enum ward_log_target { WARD_LOG_TO_STDERR, WARD_LOG_TO_JOURNAL, WARD_LOG_TO_SYSLOG };

void ward_log_set_level(enum ward_log_level level);
enum ward_log_level ward_log_get_level(void);
void ward_log_set_ident(const char *ident);

/* Choose the target: syslog when asked for, else the journal when stderr is the journal
 * stream, else stderr. `ident` must outlive the process's logging (a string literal). */
void ward_log_open(const char *ident, bool use_syslog);
enum ward_log_target ward_log_target(void);

/* True when the JOURNAL_STREAM value ("DEV:INODE") names the open file `fd`. */
bool ward_log_is_journal_stream(const char *journal_stream, int fd);

/* "<N>" for lines a command prints itself on stderr (e.g. ward update's feed failures)
 * when stderr is the journal stream, "" otherwise. */
const char *ward_log_prefix(enum ward_log_level level);

void ward_log(enum ward_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define ward_log_error(...) ward_log(WARD_LOG_ERROR, __VA_ARGS__)
#define ward_log_warn(...) ward_log(WARD_LOG_WARN, __VA_ARGS__)
#define ward_log_info(...) ward_log(WARD_LOG_INFO, __VA_ARGS__)
/* Checked before formatting so debug logging costs one branch when off. */
#define ward_log_debug(...)                                      \
	do {                                                     \
		if (ward_log_get_level() >= WARD_LOG_DEBUG)      \
			ward_log(WARD_LOG_DEBUG, __VA_ARGS__);   \
	} while (0)

#endif
