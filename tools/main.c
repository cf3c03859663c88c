/*
 * `ward`: the administration command line for the category database and its feeds.
 * Each subcommand lives in its own cmd_<name>.c and parses its own options.
 */
#include <stdio.h>
#include <string.h>

#include "blocklists/log.h"
#include "tools/ward.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "update", ward_cmd_update, "download due feeds and rebuild the category database" },
	{ "lookup", ward_cmd_lookup, "show whether names are listed, in which categories, why" },
	{ "stats", ward_cmd_stats, "entries per category and per feed, last update of each feed" },
	{ "check", ward_cmd_check, "validate a config file" },
	{ "allow", ward_cmd_overrides, "allow a name for a profile or everyone, for a while" },
	{ "deny", ward_cmd_overrides, "deny a name for a profile or everyone, as a category" },
	{ "pause", ward_cmd_overrides, "pause a profile: everything blocked but its allow list" },
	{ "resume", ward_cmd_overrides, "end a profile's pause" },
	{ "overrides", ward_cmd_overrides, "list the overrides in force, or remove one" },
	{ "reports", ward_cmd_reports, "the review queue: list, accept or reject reports" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: ward [--version] COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun `ward COMMAND --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
	ward_log_open("ward", false);
	if (argc < 2) {
		usage(stderr);
		return WARD_EXIT_FAIL;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return WARD_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("ward %s\n", WARD_VERSION);
		return WARD_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ward: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return WARD_EXIT_FAIL;
}
