/*
 * helpers.h - what the test programs share: temporary folders, files,
 * direct SQLite access for checking where rows landed.
 */
#ifndef DBR_TEST_HELPERS_H
#define DBR_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dbroute.h"

/* A new empty folder under /tmp; free() it after t_rmtree(). */
char *t_tmpdir(void);

/* Copy the file `from` to `to` (created with the umask's mode). */
void t_copy(const char *from, const char *to);

/* Remove a folder and everything under it. */
void t_rmtree(const char *dir);

/* dir/name, allocated. */
char *t_path(const char *dir, const char *name);

/* Write content to dir/name; returns the path (free() it). */
char *t_write(const char *dir, const char *name, const char *content);

/* A file's whole content, NUL-terminated (free() it), or NULL. */
char *t_read(const char *path);

/* Run one statement with the sqlite3 library directly on a file, and
 * return the first column of its first row as an integer (-1 on error). */
int64_t t_sqlite_int(const char *db, const char *sql);

/*
 * Run `dbroute ARGS` (ARGS as shell words) in dir; *out and *err receive
 * its stdout and stderr (free() them; previous values are freed). Returns
 * the exit status.
 */
int t_run_cli(const char *dir, const char *args, char **out, char **err);

/* t_run_cli() with the command run through `wrapper` (e.g. setpriv). */
int t_run_cli_as(const char *dir, const char *wrapper, const char *args,
		 char **out, char **err);

/*
 * t_run_cli() as a user whom permission bits bind: as root (who ignores
 * them), as nobody through setpriv, running a copy of the CLI, its library
 * and plugins.d in a folder under /tmp that nobody can enter, wherever the
 * build folder sits.
 */
int t_run_cli_unprivileged(const char *dir, const char *args, char **out,
			   char **err);

/* A log hook that counts the drivers' "statement cache miss" lines into
 * t_cache_misses (open the handle at DBR_LOG_DEBUG). */
extern _Atomic int t_cache_misses;
void t_count_cache_misses(void *ud, int level, const char *source,
			  const char *msg);

/*
 * A suite that needs a server started by scripts/test.sh: 0 when the
 * environment variable naming it is set, else (after saying so) the exit
 * code: 77, skipped, or 1 under DBR_TEST_STRICT (as test.sh sets).
 */
int t_need_server(const char *var, const char *what);

/* The same inside one test of a suite that runs without the server too:
 * the test is skipped, or fails under DBR_TEST_STRICT. */
void t_need_server_or_skip(const char *var, const char *what);

/*
 * Create PostgreSQL database `name` afresh on the server scripts/test.sh
 * starts, its conninfo in conninfo; false (nothing done) without it.
 */
bool t_pg_database(const char *name, char *conninfo, size_t size);

/* Open a handle or fail the test, printing the error. */
struct dbr *t_open(const char *config);

/* A handle on a configuration written into a new temp folder: the whole
 * fixture of a suite that needs nothing else. */
struct t_handle {
	char *dir;  /* the temp folder */
	char *path; /* the configuration file in it */
	struct dbr *db;
};

/* Write config as file `name` in a new temp folder and open it. */
struct t_handle *t_handle_open(const char *name, const char *config);

/* Close the handle, remove the folder, free everything; NULL is ignored. */
void t_handle_close(struct t_handle *h);

/* Ping source `name` on a new handle opened on path (and closed again),
 * with *err filled with garbage first: its status, its error in *err. */
int t_ping_at(const char *path, const char *name, struct dbr_error *err);

/* Run sql with no rows wanted on the chat's source, or fail the test. */
void t_exec(struct dbr *db, int64_t chat, const char *sql,
	    const struct dbr_value *params, size_t n);

/*
 * A TCP listener on 127.0.0.1 that accepts every connection and closes it
 * at once, counting them: a server that is "down" in a way a client only
 * learns by connecting, so that a test can count connection attempts.
 */
struct t_listener;

/* Start one (or fail the test); its port is t_listener_port(). */
struct t_listener *t_listener_start(void);

int t_listener_port(const struct t_listener *l);

/* Connections accepted so far. Each is counted before it is closed, so a
 * client that saw its connection closed is already counted. */
int t_listener_accepts(struct t_listener *l);

/* Stop the listener and free it; NULL is ignored. */
void t_listener_stop(struct t_listener *l);

/*
 * Make LC_NUMERIC a locale whose decimal separator is a comma
 * (de_DE.UTF-8; built with localedef under dir when the system has none),
 * as an application may. False when neither works (skip then). Undo with
 * t_c_locale().
 */
bool t_comma_locale(const char *dir);

/* Back to the C locale for LC_NUMERIC (and no LOCPATH). */
void t_c_locale(void);

#endif /* DBR_TEST_HELPERS_H */
