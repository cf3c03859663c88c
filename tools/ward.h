/*
 * The `ward` command line: one file per command, sharing the helpers below.
 *
 * Exit codes, the same for every command:
 *   0  success
 *   1  usage or config error, or the command failed as a whole
 *   2  partial failure: some work failed but nothing was lost (`ward update`: some feeds
 *      failed and kept their last good copy; `ward check`: the config is invalid)
 */
#ifndef WARD_TOOLS_WARD_H
#define WARD_TOOLS_WARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "blocklists/category.h"
#include "blocklists/conf.h"

struct ward_catdb;

enum ward_exit { WARD_EXIT_OK = 0, WARD_EXIT_FAIL = 1, WARD_EXIT_PARTIAL = 2 };

/* Each command gets argv with argv[0] = the command's name. @return an exit code. */
int ward_cmd_update(int argc, char **argv);
int ward_cmd_lookup(int argc, char **argv);
int ward_cmd_stats(int argc, char **argv);
int ward_cmd_check(int argc, char **argv);
/* allow, deny, pause, resume, overrides: one function, argv[0] says which. */
int ward_cmd_overrides(int argc, char **argv);
int ward_cmd_reports(int argc, char **argv);

/* Load the config or print why not (to stderr). @return 0 or the ward_conf_load error. */
int ward_tool_load_conf(const char *path, struct ward_conf **out);

/*
 * Started as root on a database directory that belongs to another user (the packaged
 * `ward`): switch to that user for the rest of the command, so that every file it
 * creates there (lock.mdb, data.mdb, raw copies, locks) stays that user's and wardd and
 * the update timer can still use them. Nothing happens when not root, or when the
 * directory is root's or does not exist yet.
 * @param cmd    the command's name, for messages
 * @param quiet  do not say which user it switched to
 * @return 0, or -1 after printing why the switch failed
 */
int ward_tool_become_db_owner(const struct ward_conf *conf, const char *cmd, bool quiet);

/* Print each gap ward_coverage_check() finds to stderr as "ward CMD: warning: ...".
 * @param db  NULL when there is no database. @return the number of warnings. */
int ward_tool_warn_coverage(const struct ward_conf *conf, struct ward_catdb *db,
			    const char *cmd);

/* "1.2 MiB" into buf. */
const char *ward_tool_size(uint64_t bytes, char *buf, size_t cap);

/* "2024-05-01 12:00:03" (local time) or "never" for 0. */
const char *ward_tool_time(int64_t t, char *buf, size_t cap);

/* "3h 12m ago", "in 5m" relative to now. */
const char *ward_tool_age(int64_t t, int64_t now, char *buf, size_t cap);

/* The names of a category set, comma-separated, or "-" when empty. */
const char *ward_tool_cats(const struct ward_cat_registry *reg, ward_catset set, char *buf,
			   size_t cap);

/* Print the JSON text of a cJSON item (a `struct cJSON *`) and a newline to stdout, and
 * free it. @return 0 or -1 when it could not be rendered. */
int ward_tool_print_json(void *cjson);

/* Parse an unsigned decimal option value within [min, max]. @return 0 or -1. */
int ward_tool_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

#endif
