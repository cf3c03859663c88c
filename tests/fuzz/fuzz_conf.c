/*
 * Config parser fuzz target: any bytes in, a config or an error out, never a crash, leak
 * or a message without a terminating NUL. The seed corpus is tests/data/conf/{good,bad}.
 * The same bytes also go through ward_conf_parse_all (ward check, the config API), whose
 * keep-going walk must agree: valid exactly when ward_conf_parse says so, and its first
 * error is the one ward_conf_parse stopped at.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/conf.h"
#include "blocklists/error.h"

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
	static struct ward_conf_errors errs;
	char first[2 * WARD_CONF_ERR_MAX];
	int rc_all = ward_conf_parse_all("fuzz.json", (const char *)data, size, NULL, &errs);
	if (rc_all != rc || (rc == 0) != (errs.n == 0) || errs.n > WARD_CONF_ERRORS_MAX)
		abort();
	/* err holds at most sizeof(err) - 1 bytes of the same text. */
	if (rc == WARD_ECONF && strncmp(ward_conf_error_text("fuzz.json", &errs.list[0], first,
							     sizeof(first)), err, sizeof(err) - 1))
		abort();
	return 0;
}
