#include "blocklists/category.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blocklists/error.h"

#define WARD_CAT_NAME_MAX 32

struct ward_cat_registry {
	char names[WARD_CAT_MAX][WARD_CAT_NAME_MAX];
};

/* Order is the bit number: these are on disk and must never be renumbered. */
static const char *const builtin_names[WARD_CAT_BUILTIN_COUNT] = {
	"malware", "phishing", "scam",     "csam",   "adult",     "gambling",  "violence",
	"drugs",   "weapons",  "hate",     "dating", "social",    "games",     "video",
	"chat",    "proxy",    "piracy",   "ads",    "tracking",  "crypto",    "fakenews",
	"shortener", "dyndns", "nosafesearch", "hacking",
};

struct ward_cat_registry *ward_cat_registry_new(void)
{
	struct ward_cat_registry *reg = calloc(1, sizeof(*reg));
	if (!reg)
		return NULL;
	for (unsigned i = 0; i < WARD_CAT_BUILTIN_COUNT; i++)
		snprintf(reg->names[i], WARD_CAT_NAME_MAX, "%s", builtin_names[i]);
	return reg;
}

void ward_cat_registry_free(struct ward_cat_registry *reg)
{
	free(reg);
}

static bool valid_cat_name(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len >= WARD_CAT_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int ward_cat_bit(const struct ward_cat_registry *reg, const char *name)
{
	for (unsigned i = 0; i < WARD_CAT_MAX; i++)
		if (reg->names[i][0] && strcasecmp(reg->names[i], name) == 0)
			return (int)i;
	return WARD_ENOTFOUND;
}

int ward_cat_registry_add(struct ward_cat_registry *reg, const char *name)
{
	if (!valid_cat_name(name))
		return WARD_EINVAL;
	int bit = ward_cat_bit(reg, name);
	if (bit >= 0)
		return bit;
	for (unsigned i = WARD_CAT_CUSTOM_FIRST; i < WARD_CAT_MAX; i++) {
		if (!reg->names[i][0]) {
			snprintf(reg->names[i], WARD_CAT_NAME_MAX, "%s", name);
			return (int)i;
		}
	}
	return WARD_ENOMEM;
}

const char *ward_cat_name(const struct ward_cat_registry *reg, unsigned bit)
{
	if (bit >= WARD_CAT_MAX || !reg->names[bit][0])
		return NULL;
	return reg->names[bit];
}

size_t ward_cat_format(const struct ward_cat_registry *reg, ward_catset set, char *buf,
		       size_t cap)
{
	size_t len = 0;
	if (cap == 0)
		return 0;
	buf[0] = '\0';
	for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++) {
		if (!(set & WARD_CAT(bit)))
			continue;
		const char *name = ward_cat_name(reg, bit);
		char unnamed[16];
		if (!name) {
			snprintf(unnamed, sizeof(unnamed), "bit%u", bit);
			name = unnamed;
		}
		int n = snprintf(buf + len, cap - len, "%s%s", len ? "," : "", name);
		if (n < 0 || (size_t)n >= cap - len) {
			len = strlen(buf);
			break;
		}
		len += (size_t)n;
	}
	return len;
}
