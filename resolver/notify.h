/*
 * Telling the service manager how wardd is doing (sd_notify(3)): READY once every socket
 * is bound and the workers run (systemd's Type=notify, so units ordered after wardd and
 * nss-lookup.target start only when DNS answers), RELOADING/READY around a SIGHUP,
 * STOPPING on SIGTERM, and a STATUS line that `systemctl status wardd` shows:
 *
 *   Status: "serving, 1,071,181 names, generation 42"
 *
 * Built without libsystemd (OpenWrt, WARD_SYSTEMD=OFF), or started by anything but
 * systemd ($NOTIFY_SOCKET unset), every call does nothing and costs one branch.
 */
#ifndef WARD_NOTIFY_H
#define WARD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether this build can notify at all (compiled with libsystemd). */
bool ward_notify_supported(void);
/* Whether a service manager listens (supported and $NOTIFY_SOCKET set). */
bool ward_notify_enabled(void);

void ward_notify_ready(const char *status);
void ward_notify_reloading(void);
void ward_notify_stopping(void);
void ward_notify_status(const char *status);

/* The STATUS text: "serving, 1,071,181 names, generation 42", or "serving, no category
 * database yet" when have_db is false. Always NUL-terminated; @return buf. */
char *ward_notify_status_text(char *buf, size_t cap, bool have_db, uint64_t names,
			      uint64_t generation);

#endif
