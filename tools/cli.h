/*
 * cli.h - what the parts of the dbroute command share: its arguments and
 * exit codes.
 */
#ifndef DBR_CLI_H
#define DBR_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "dbroute.h"
#include "suggest.h" /* core/suggest.c, compiled into the CLI too */

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2
#define EXIT_ABORTED 3 /* move-chat: undone, retry later */
#define MAX_PARAMS   1000

struct args {
	const char *cmd;
	const char *config;
	const char *chat_text;
	const char *scope;
	const char **sources; /* --source, repeatable */
	size_t nsources;
	const char **order; /* --order COL[:desc], repeatable */
	size_t norder;
	const char *limit_text;
	const char *file; /* query -f FILE: the script, "-" for stdin */
	char *sql;	  /* the script read from file, owned */
	size_t sql_len;
	const char *dir;	/* migrate --dir DIR */
	const char *to_text;	/* migrate --to N */
	const char *force_text; /* migrate --force-version N */
	const char *reason;	/* mapping set/unset/import --reason TEXT */
	bool all, distinct, partial, sequential, with_source;
	bool single_tx, dry_run, allow_changed, replace;
	bool discover;	 /* move-chat --discover */
	bool status;	 /* move-chat --status */
	bool abort_move; /* move-chat --abort */
	int format;
	const char **pos; /* positional arguments */
	size_t npos;
	struct dbr_value *params;
	size_t nparams;
};

/* The help fail_usage() points to: "dbroute --help" or a command's. */
extern const char *usage_help;

/* Print "dbroute: " fmt (with arg) and a hint; returns EXIT_USAGE. */
int fail_usage(const char *fmt, const char *arg);

/* A signed 64-bit decimal integer, strictly. */
bool parse_int64(const char *s, int64_t *out);

/* Parse argv[2..] into a (allocated by the caller for argc entries). */
int parse_args(struct args *a, int argc, char **argv);

/* Whether the query is a fan-out: --all or more than one --source. */
bool is_fanout(const struct args *a);

/* Run a fan-out query and print its rows; returns the exit code. */
int run_fanout(const struct args *a, struct dbr *db);

/* Open the handle of -c FILE, errors said; returns 0 or the exit code. */
int open_db(const struct args *a, struct dbr **db);

/* Every --source names a source, else a usage error with a suggestion. */
int check_sources(const struct args *a, struct dbr *db);

/* dbroute mapping SUBCOMMAND; returns the exit code. */
int cmd_mapping(const struct args *a);

/* The usage of dbroute mapping, on f. */
void mapping_usage(FILE *f);

/* dbroute move-chat; returns the exit code. */
int cmd_move(const struct args *a);

/* The usage of dbroute move-chat, on f. */
void move_usage(FILE *f);

/* dbroute migrate [status]; returns the exit code. */
int cmd_migrate(const struct args *a);

#endif /* DBR_CLI_H */
