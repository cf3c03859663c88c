/*
 * The sanity checks a download must pass before it may replace a feed's last good copy.
 * Each one stands for a way real feeds have broken: a captive portal or a CDN error page
 * served with status 200, a mirror that truncated its file, a list whose generator failed
 * half-way and published a stub.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "blocklists/error.h"
#include "blocklists/update.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

bool ward_update_sniff_html(const char *head, size_t len, bool *decided)
{
	static const char *const marks[] = { "<!doctype html", "<html" };
	size_t i = 0;
	if (len >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && is_space(head[i]))
		i++;
	*decided = false;
	if (i == len)
		return false;
	for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
		size_t mlen = strlen(marks[m]);
		size_t have = len - i < mlen ? len - i : mlen;
		if (strncasecmp(head + i, marks[m], have) != 0)
			continue;
		if (have < mlen)
			return false; /* a prefix of a mark: wait for more bytes */
		*decided = true;
		return true;
	}
	*decided = true;
	return false;
}

bool ward_update_content_type_html(const char *value)
{
	while (*value == ' ' || *value == '\t')
		value++;
	if (strncasecmp(value, "text/html", 9) != 0)
		return false;
	char c = value[9];
	return c == '\0' || c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int ward_update_check_counts(uint64_t entries, uint32_t min_entries, uint64_t prev_entries,
			     bool allow_shrink, char *buf, size_t cap)
{
	if (entries == 0 && min_entries > 0) {
		snprintf(buf, cap, "no entries");
		return WARD_EREFUSED;
	}
	if (entries < min_entries) {
		snprintf(buf, cap, "%llu entries, fewer than min_entries %u",
			 (unsigned long long)entries, min_entries);
		return WARD_EREFUSED;
	}
	/* "Shrank by more than half": the new list keeps less than 50% of the old one. */
	if (!allow_shrink && prev_entries > 0 && entries * 2 < prev_entries) {
		snprintf(buf, cap, "shrank from %llu to %llu entries (more than half)",
			 (unsigned long long)prev_entries, (unsigned long long)entries);
		return WARD_EREFUSED;
	}
	return 0;
}

/* A timer that runs exactly every `refresh` (ward-update.timer: every 5 minutes) must
 * find the feed due each time, although two runs' clocks are read at slightly different
 * points of a second: a tenth of the interval, at most 30 s, of slack. */
#define DUE_SLACK_MAX_S 30

bool ward_update_is_due(int64_t last_good, uint32_t refresh_s, int64_t now)
{
	if (last_good <= 0)
		return true;
	int64_t slack = refresh_s / 10 < DUE_SLACK_MAX_S ? refresh_s / 10 : DUE_SLACK_MAX_S;
	return last_good + (int64_t)refresh_s - slack <= now;
}

static bool safe_file_name(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > 63 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

int ward_update_raw_path(const char *database, const char *name, char *buf, size_t cap)
{
	if (!database || !*database || !name || !safe_file_name(name))
		return WARD_EINVAL;
	int n = snprintf(buf, cap, "%s/feeds/%s.raw", database, name);
	if (n < 0 || (size_t)n >= cap)
		return WARD_ETOOBIG;
	return 0;
}
