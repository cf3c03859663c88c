/*
 * ward admin-token [-c FILE] [--link]: print the admin token the web listener's admin
 * pages ask for (web.admin_token_file), creating it the way wardd does when wardd has
 * not started yet (so the package can print it once at install).
 *
 * Started as root, it runs as the owner of the database directory, like the other
 * commands: a token created here must stay readable for wardd, and for nobody else.
 * Exit 0 with the token on stdout, 1 when the config has no web section or the file
 * cannot be read or created.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/token.h"
#include "tools/ward.h"

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "link", no_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: ward admin-token [-c FILE] [--link]\n"
		     "  -c, --config FILE  config file (default " WARD_CONF_DEFAULT_PATH ")\n"
		     "      --link         print a link that opens the admin page signed in\n"
		     "exit: 0 ok, 1 no web section or no token\n");
}

/* http://ADDR[:PORT]/admin#token=T on the first web.listen address: it works before
 * any device uses ward as its DNS server (web.hostname needs that). The token stays in
 * the fragment, which browsers never send. */
static void print_link(const struct ward_conf *conf, const char *token)
{
	const struct ward_addr *a = &conf->web.listen[0];
	char host[INET6_ADDRSTRLEN + 2], port[8] = "";
	uint16_t p = ntohs(a->sa.sa_family == AF_INET ? a->v4.sin_port : a->v6.sin6_port);
	if (a->sa.sa_family == AF_INET6) {
		host[0] = '[';
		inet_ntop(AF_INET6, &a->v6.sin6_addr, host + 1, sizeof(host) - 2);
		strcat(host, "]");
	} else {
		inet_ntop(AF_INET, &a->v4.sin_addr, host, sizeof(host));
	}
	if (p != 80)
		snprintf(port, sizeof(port), ":%u", (unsigned)p);
	printf("http://%s%s/admin#token=%s\n", host, port, token);
}

static int show_token(const struct ward_conf *conf, const char *path, bool link)
{
	struct ward_token t;
	char err[512];
	if (!conf->web.enabled) {
		fprintf(stderr, "ward admin-token: %s has no \"web\" section: the admin pages are "
			"off (see ward.json(5), \"Web listener\")\n", path);
		return WARD_EXIT_FAIL;
	}
	if (ward_tool_become_db_owner(conf, "admin-token", true) < 0)
		return WARD_EXIT_FAIL;
	int rc = ward_token_get(conf->web.admin_token_file, true, &t, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ward admin-token: %s\n", err);
		return WARD_EXIT_FAIL;
	}
	if (t.created)
		fprintf(stderr, "ward admin-token: created %s (mode 0600)\n",
			conf->web.admin_token_file);
	if (t.exposed)
		fprintf(stderr, "ward admin-token: warning: %s is readable by other users "
			"(chmod 600 it)\n", conf->web.admin_token_file);
	if (link)
		print_link(conf, t.text);
	else
		printf("%s\n", t.text);
	return WARD_EXIT_OK;
}

int ward_cmd_admin_token(int argc, char **argv)
{
	const char *path = WARD_CONF_DEFAULT_PATH;
	struct ward_conf *conf = NULL;
	bool link = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'l': link = true; break;
		case 'h': usage(stdout); return WARD_EXIT_OK;
		default: usage(stderr); return WARD_EXIT_FAIL;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return WARD_EXIT_FAIL;
	}
	if (ward_tool_load_conf(path, &conf) < 0)
		return WARD_EXIT_FAIL;
	int rc = show_token(conf, path, link);
	ward_conf_free(conf);
	return rc;
}
