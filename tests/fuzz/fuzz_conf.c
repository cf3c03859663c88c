/*
 * Config parser fuzz target: any bytes in, a config or an error out, never a crash, leak
 * or a message without a terminating NUL. The seed corpus is tests/data/conf/{good,bad}.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ward_conf *conf = NULL;
	char err[WARD_CONF_ERR_MAX];
	memset(err, 'x', sizeof(err));
	int rc = ward_conf_parse("fuzz.json", (const char *)data, size, &conf, err, sizeof(err));
	if (rc == 0) {
		if (!conf || conf->n_upstreams == 0 || conf->workers == 0 ||
		    (conf->n_profiles && conf->default_profile >= conf->n_profiles))
			abort();
		for (size_t i = 0; i < conf->n_clients; i++)
			if (conf->clients[i].profile >= conf->n_profiles)
				abort();
		ward_conf_free(conf);
	} else if (conf || !memchr(err, '\0', sizeof(err)) || err[0] == '\0') {
		abort();
	}
	return 0;
}
