/*
 * mapping.c - dbroute mapping: the mapping store's tables, its rows, its
 * change log and its clients (dbr_mapping_*()). Rows go to stdout in the
 * --format chosen, without a header line in text; messages to stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "output.h"

void mapping_usage(FILE *f)
{
	fputs("usage: dbroute mapping SUBCOMMAND -c FILE [options]\n"
	      "\n"
	      "The mapping store ([mapping] store = SOURCE): the chat -> "
	      "source\n"
	      "table every process shares, and its change log "
	      "(docs/operations.md).\n"
	      "\n"
	      "subcommands:\n"
	      "  init                    create the store's tables "
	      "(idempotent)\n"
	      "  import [--replace] --reason TEXT\n"
	      "                          copy [chat_mapping] into the store; "
	      "chats\n"
	      "                          the store maps elsewhere are refused\n"
	      "                          (listed) unless --replace\n"
	      "  list [--chat ID | --source S]\n"
	      "                          print CHAT, SOURCE and VERSION per "
	      "row\n"
	      "  set CHAT SOURCE --reason TEXT\n"
	      "                          map CHAT to SOURCE; refused while "
	      "the\n"
	      "                          chat has rows on its current source\n"
	      "  unset CHAT --reason TEXT\n"
	      "                          remove CHAT's row: it is routed by\n"
	      "                          [chat_mapping] or the default again\n"
	      "  history [--chat ID]     print VERSION, TIME, CHAT, SOURCE, "
	      "ACTOR\n"
	      "                          and REASON per change\n"
	      "  clients                 print CLIENT, HOST, PID, VERSION, "
	      "SEEN\n"
	      "                          and AGE_S of the processes that "
	      "record\n"
	      "                          themselves in the store\n"
	      "\n"
	      "  -c, --config FILE       the INI configuration\n"
	      "  --format text|csv|json  how rows are printed (default text)\n"
	      "\n"
	      "Negative chat ids need no '--'. Exit: 0 ok (a set to the "
	      "chat's\n"
	      "current source too), 1 runtime error (a refused set or "
	      "import),\n"
	      "2 usage or configuration error.\n",
	      f);
}

/* The exit code of a library failure, said on stderr. */
static int failed(int rc, const struct dbr_error *err)
{
	out_error("dbroute: ", err->message);
	if (err->hint && *err->hint)
		out_error("dbroute: hint: ", err->hint);
	return rc == DBR_E_CONFIG || rc == DBR_E_NOTFOUND || rc == DBR_E_MISUSE
		       ? EXIT_USAGE
		       : EXIT_RUNTIME;
}

static int print_cells(const struct args *a, const char *const *cols,
		       size_t ncols, const struct dbr_value *cells, size_t n)
{
	out_table(stdout, a->format, a->format != OUT_TEXT, cols, ncols, cells,
		  n);
	if (fflush(stdout)) {
		perror("dbroute: stdout");
		return EXIT_RUNTIME;
	}
	return 0;
}

static struct dbr_value text_value(const char *s)
{
	return dbr_text(s, strlen(s));
}

static int do_list(const struct args *a, struct dbr *db)
{
	static const char *const cols[] = { "chat", "source", "version" };
	struct dbr_mapping_entry *rows = NULL;
	struct dbr_value *cells;
	struct dbr_error err;
	int64_t chat = 0;
	size_t n = 0, i;
	int rc;

	if (a->chat_text)
		parse_int64(a->chat_text, &chat);
	rc = dbr_mapping_read(db, a->chat_text ? &chat : NULL,
			      a->nsources ? a->sources[0] : NULL, &rows, &n,
			      NULL, &err);
	if (rc)
		return failed(rc, &err);
	cells = calloc(3 * n + 1, sizeof(*cells));
	if (!cells) {
		dbr_free(rows);
		fputs("dbroute: out of memory\n", stderr);
		return EXIT_RUNTIME;
	}
	for (i = 0; i < n; i++) {
		cells[3 * i] = dbr_int64(rows[i].chat);
		cells[3 * i + 1] = text_value(rows[i].source);
		cells[3 * i + 2] = dbr_int64(rows[i].version);
	}
	rc = print_cells(a, cols, 3, cells, n);
	free(cells);
	dbr_free(rows);
	return rc;
}

/* Unix milliseconds as UTC ISO 8601: 2026-01-02T03:04:05.678Z. */
static void time_text(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	/* strftime says 0 where the date does not fit in buf. */
	if (ms < 0 || !gmtime_r(&t, &tm) ||
	    !(n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm))) {
		snprintf(buf, size, "%" PRId64, ms);
		return;
	}
	snprintf(buf + n, size - n, ".%03dZ", (int)(ms % 1000));
}

static int do_history(const struct args *a, struct dbr *db)
{
	static const char *const cols[] = { "version", "time",	"chat",
					    "source",  "actor", "reason" };
	struct dbr_mapping_change *ch = NULL;
	struct dbr_value *cells;
	struct dbr_error err;
	char(*times)[40];
	int64_t chat = 0;
	size_t n = 0, i;
	int rc;

	if (a->chat_text)
		parse_int64(a->chat_text, &chat);
	rc = dbr_mapping_changes(db, 0, a->chat_text ? &chat : NULL, &ch, &n,
				 &err);
	if (rc)
		return failed(rc, &err);
	cells = calloc(6 * n + 1, sizeof(*cells));
	times = calloc(n + 1, sizeof(*times));
	if (!cells || !times) {
		free(cells);
		free(times);
		dbr_free(ch);
		fputs("dbroute: out of memory\n", stderr);
		return EXIT_RUNTIME;
	}
	for (i = 0; i < n; i++) {
		struct dbr_value *row = &cells[6 * i];

		time_text(ch[i].at_ms, times[i], sizeof(times[i]));
		row[0] = dbr_int64(ch[i].version);
		row[1] = text_value(times[i]);
		row[2] = dbr_int64(ch[i].chat);
		/* A removed row has no source: NULL (\N in text). */
		row[3] =
			ch[i].source[0] ? text_value(ch[i].source) : dbr_null();
		row[4] = text_value(ch[i].actor);
		row[5] = text_value(ch[i].reason);
	}
	rc = print_cells(a, cols, 6, cells, n);
	free(cells);
	free(times);
	dbr_free(ch);
	return rc;
}

static int do_clients(const struct args *a, struct dbr *db)
{
	static const char *const cols[] = { "client",  "host", "pid",
					    "version", "seen", "age_s" };
	struct dbr_mapping_client *c = NULL;
	struct dbr_value *cells;
	struct dbr_error err;
	char(*times)[40];
	struct timespec now;
	size_t n = 0, i;
	int rc = dbr_mapping_clients(db, &c, &n, &err);

	if (rc)
		return failed(rc, &err);
	clock_gettime(CLOCK_REALTIME, &now);
	cells = calloc(6 * n + 1, sizeof(*cells));
	times = calloc(n + 1, sizeof(*times));
	if (!cells || !times) {
		free(cells);
		free(times);
		dbr_free(c);
		fputs("dbroute: out of memory\n", stderr);
		return EXIT_RUNTIME;
	}
	for (i = 0; i < n; i++) {
		struct dbr_value *row = &cells[6 * i];

		time_text(c[i].seen_ms, times[i], sizeof(times[i]));
		row[0] = text_value(c[i].client_id);
		row[1] = text_value(c[i].host);
		row[2] = dbr_int64(c[i].pid);
		row[3] = dbr_int64(c[i].version_seen);
		row[4] = text_value(times[i]);
		/* Whole seconds since its heartbeat, by this machine's clock. */
		row[5] = dbr_int64(((int64_t)now.tv_sec * 1000 +
				    now.tv_nsec / 1000000 - c[i].seen_ms) /
				   1000);
	}
	rc = print_cells(a, cols, 6, cells, n);
	free(cells);
	free(times);
	dbr_free(c);
	return rc;
}

static int do_set(const struct args *a, struct dbr *db, bool unset)
{
	struct dbr_error err;
	int64_t chat, version = 0;
	int rc;

	parse_int64(a->pos[1], &chat);
	rc = dbr_mapping_set(db, chat, unset ? NULL : a->pos[2], a->reason,
			     &version, &err);
	if (rc)
		return failed(rc, &err);
	if (version)
		fprintf(stderr,
			"dbroute: chat %" PRId64 " %s%s: version %" PRId64 "\n",
			chat, unset ? "unset" : "set to ",
			unset ? "" : a->pos[2], version);
	else
		fprintf(stderr,
			"dbroute: chat %" PRId64 ": nothing to change\n", chat);
	return 0;
}

static int do_import(const struct args *a, struct dbr *db)
{
	struct dbr_mapping_conflict *c = NULL;
	struct dbr_error err;
	size_t done = 0, n = 0, i;
	int rc = dbr_mapping_import(db, a->replace ? DBR_MAPPING_REPLACE : 0,
				    a->reason, &done, &c, &n, &err);

	if (rc == DBR_E_CONSTRAINT && n && !a->replace) {
		/* Every conflict, one a line, then the message. */
		for (i = 0; i < n; i++)
			fprintf(stderr,
				"dbroute: conflict: chat %" PRId64
				": '%s' in the INI, '%s' in the store\n",
				c[i].chat, c[i].ini, c[i].store);
	}
	dbr_free(c);
	if (rc)
		return failed(rc, &err);
	fprintf(stderr, "dbroute: imported %zu chats\n", done);
	return 0;
}

/* Which options and arguments go with which subcommand. */
static int check_mapping_args(const struct args *a, const char *sub)
{
	size_t want = !strcmp(sub, "set") ? 3 : !strcmp(sub, "unset") ? 2 : 1;
	bool writes = !strcmp(sub, "set") || !strcmp(sub, "unset") ||
		      !strcmp(sub, "import");
	int64_t chat;

	if (a->nparams || a->scope || a->all || a->norder || a->limit_text ||
	    a->distinct || a->partial || a->sequential || a->with_source ||
	    a->file || a->single_tx || a->dir || a->to_text || a->force_text ||
	    a->dry_run || a->allow_changed || a->discover || a->nsources > 1)
		return fail_usage("mapping %s: unexpected option", sub);
	if (a->npos != want)
		return fail_usage(want == 1   ? "mapping %s takes no argument"
				  : want == 2 ? "mapping %s needs CHAT"
					      : "mapping %s needs CHAT SOURCE",
				  sub);
	if (want > 1 && !parse_int64(a->pos[1], &chat))
		return fail_usage("bad chat id '%s': expected a signed 64-bit "
				  "integer",
				  a->pos[1]);
	if (a->chat_text && !parse_int64(a->chat_text, &chat))
		return fail_usage("bad chat id '%s': expected a signed 64-bit "
				  "integer",
				  a->chat_text);
	if (writes && (!a->reason || !*a->reason))
		return fail_usage("mapping %s needs --reason TEXT (recorded in "
				  "the change log)",
				  sub);
	if (!writes && a->reason)
		return fail_usage("mapping %s takes no --reason", sub);
	if (a->replace && strcmp(sub, "import"))
		return fail_usage("--replace is an option of %s",
				  "mapping import");
	if (a->chat_text && strcmp(sub, "list") && strcmp(sub, "history"))
		return fail_usage("--chat is an option of %s",
				  "mapping list and history");
	if (a->nsources && strcmp(sub, "list"))
		return fail_usage("--source is an option of %s",
				  "mapping list");
	if (a->nsources && a->chat_text)
		return fail_usage("mapping list takes %s, not both",
				  "--chat or --source");
	return 0;
}

static const char *const subs[] = { "init",  "import",	"list",	  "set",
				    "unset", "history", "clients" };

int cmd_mapping(const struct args *a)
{
	const char *sub = a->npos ? a->pos[0] : NULL;
	struct dbr_error err;
	struct dbr *db;
	size_t i;
	int rc;

	usage_help = "dbroute mapping --help";
	for (i = 0; sub && i < sizeof(subs) / sizeof(*subs); i++)
		if (!strcmp(sub, subs[i]))
			break;
	if (!sub)
		return fail_usage("mapping needs a subcommand: %s",
				  "init, import, list, set, unset, history or "
				  "clients");
	if (i == sizeof(subs) / sizeof(*subs)) {
		const char *hint = dbr__suggest(sub, subs, i);
		char msg[160];

		snprintf(msg, sizeof(msg),
			 "unknown mapping subcommand '%.64s'%s%s%s", sub,
			 hint ? "; did you mean '" : "", hint ? hint : "",
			 hint ? "'?" : "");
		return fail_usage("%s", msg);
	}
	rc = check_mapping_args(a, sub);
	if (rc || (rc = open_db(a, &db)))
		return rc;
	if (!strcmp(sub, "init")) {
		rc = dbr_mapping_init(db, &err);
		rc = rc ? failed(rc, &err) : 0;
	} else if (!strcmp(sub, "import"))
		rc = do_import(a, db);
	else if (!strcmp(sub, "list"))
		rc = do_list(a, db);
	else if (!strcmp(sub, "set") || !strcmp(sub, "unset"))
		rc = do_set(a, db, !strcmp(sub, "unset"));
	else if (!strcmp(sub, "history"))
		rc = do_history(a, db);
	else
		rc = do_clients(a, db);
	dbr_close(db);
	return rc;
}
