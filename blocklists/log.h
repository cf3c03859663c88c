/*
 * Logging to stderr: one line per event, "LEVEL component: message". Thread-safe (one
 * fprintf per line; stdio locks the stream). Nothing on the per-query path logs at info.
 */
#ifndef WARD_LOG_H
#define WARD_LOG_H

#include "blocklists/conf.h"

void ward_log_set_level(enum ward_log_level level);
enum ward_log_level ward_log_get_level(void);
void ward_log_set_ident(const char *ident);

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
