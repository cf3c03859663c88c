#include "resolver/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef WARD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

bool ward_notify_supported(void)
{
#ifdef WARD_HAVE_SYSTEMD
	return true;
#else
	return false;
#endif
}

bool ward_notify_enabled(void)
{
	const char *socket = getenv("NOTIFY_SOCKET");
	return ward_notify_supported() && socket && *socket;
}

static void notify(const char *state)
{
#ifdef WARD_HAVE_SYSTEMD
	/* Errors are not ours to handle: without a listener there is nobody to tell. */
	(void)sd_notify(0, state);
#else
	(void)state;
#endif
}

static void notify_with_status(const char *head, const char *status)
{
	char msg[256];
	if (status)
		snprintf(msg, sizeof(msg), "%s\nSTATUS=%s", head, status);
	else
		snprintf(msg, sizeof(msg), "%s", head);
	notify(msg);
}

void ward_notify_ready(const char *status)
{
	notify_with_status("READY=1", status);
}

void ward_notify_reloading(void)
{
	notify("RELOADING=1");
}

void ward_notify_stopping(void)
{
	notify_with_status("STOPPING=1", "stopping: finishing in-flight queries");
}

void ward_notify_status(const char *status)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	notify(msg);
}

/* 1071181 -> "1,071,181": a status line is read by people. */
static void group_thousands(uint64_t v, char *out, size_t cap)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	size_t o = 0;
	for (int i = 0; i < n && o + 2 < cap; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

char *ward_notify_status_text(char *buf, size_t cap, bool have_db, uint64_t names,
			      uint64_t generation)
{
	char grouped[40];
	if (!have_db) {
		snprintf(buf, cap, "serving, no category database yet");
		return buf;
	}
	group_thousands(names, grouped, sizeof(grouped));
	snprintf(buf, cap, "serving, %s names, generation %llu", grouped,
		 (unsigned long long)generation);
	return buf;
}
