/*
 * dbroute.c - the command-line tool: check a configuration, show where
 * chats are routed, run one statement on a routed source.
 *
 * Exit codes: 0 success; 1 a runtime error (a source unreachable, a
 * statement failed); 2 a usage or configuration error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "output.h"

/* The largest script query -f reads. */
#define MAX_STATEMENT (16u * 1024 * 1024)

static const char usage[] =
	"usage: dbroute COMMAND -c FILE [options] [args]\n"
	"\n"
	"commands:\n"
	"  check -c FILE           validate FILE, load its drivers, open and\n"
	"                          ping every source\n"
	"  route -c FILE CHAT_ID...\n"
	"                          print CHAT_ID, source and reason per chat\n"
	"  query -c FILE (--chat ID | --scope NAME | --source NAME)\n"
	"        [--param VALUE]... 'STATEMENT'\n"
	"                          run one statement on the routed source\n"
	"  query -c FILE (--chat ID | --scope NAME | --source NAME)\n"
	"        [--single-transaction] -f FILE\n"
	"                          run every statement of a script (FILE,\n"
	"                          or '-' for standard input) in order,\n"
	"                          stopping at the first error (FILE:LINE)\n"
	"  query -c FILE (--all | --source NAME --source NAME...)\n"
	"        [--order COL[:desc]]... [--limit N] [--distinct]\n"
	"        [--allow-partial] [--sequential] 'STATEMENT'\n"
	"                          run it on several sources, rows merged\n"
	"  migrate -c FILE --dir DIR [--source NAME]... [--to N]\n"
	"        [--dry-run] [--allow-changed] [--force-version N]\n"
	"                          apply the migration files of DIR to every\n"
	"                          writable SQL source (or those named), then\n"
	"                          print each source's status\n"
	"  migrate status -c FILE --dir DIR [--source NAME]... [--to N]\n"
	"                          print SOURCE, VERSION, STATE, PENDING and\n"
	"                          CHANGED per source; writes nothing\n"
	"                          (docs/migrations.md)\n"
	"  mapping SUBCOMMAND -c FILE ...\n"
	"                          the mapping store: init, import, list,\n"
	"                          set, unset, history, clients (dbroute\n"
	"                          mapping --help)\n"
	"  move-chat -c FILE --chat ID --to SOURCE [--dry-run]\n"
	"  move-chat -c FILE --status [ID] | --abort ID\n"
	"  move-chat -c FILE --discover [--source S | --chat ID]\n"
	"                          move a chat to another source (or plan\n"
	"                          it), print the moves, or list a source's\n"
	"                          chat and global tables\n"
	"                          (dbroute move-chat --help)\n"
	"\n"
	"query options:\n"
	"  --param VALUE           bind VALUE as text to the next '?'\n"
	"  --param-int N           bind a 64-bit integer\n"
	"  --param-double X        bind a double\n"
	"  --param-null            bind NULL\n"
	"  --format text|csv|json  output format (default text):\n"
	"                          text: PostgreSQL COPY text, \\N for NULL,\n"
	"                            control characters escaped (\\n, \\t,\n"
	"                            \\xHH ...), a blob as \\\\x and hex;\n"
	"                          csv: RFC 4180 quoting, NULL empty and\n"
	"                            unquoted (a one-column NULL row is a\n"
	"                            blank line), a blob as \\x and hex;\n"
	"                          json: an array of objects, a blob as\n"
	"                            {\"$base64\": \"...\"}, NaN and infinities\n"
	"                            as strings, bad UTF-8 as U+FFFD; a\n"
	"                            repeated column name (or source beside\n"
	"                            --with-source) is keyed NAME_2, NAME_3...,\n"
	"                            skipping names a column has; [] for a\n"
	"                            statement without columns\n"
	"                          (-f: one array per statement, one per line)\n"
	"  --with-source           a first column naming each row's source\n"
	"  -f, --file FILE         run the script FILE ('-': standard input)\n"
	"                          instead of one statement\n"
	"  --single-transaction    -f: the whole script in one transaction\n"
	"\n"
	"  -c, --config FILE       the INI configuration\n"
	"  -h, --help              show this help\n"
	"  --version               show the version\n"
	"\n"
	"Negative chat ids need no '--': dbroute route -c f.ini -100123\n"
	"Exit: 0 ok, 1 runtime error, 2 usage or configuration error.\n";

int open_db(const struct args *a, struct dbr **db)
{
	/* A run reads the mapping store's snapshot once and starts no
	 * refresher thread. */
	struct dbr_open_options opts = { .size = sizeof(opts),
					 .log_fn = out_log,
					 .flags = DBR_HANDLE_NO_REFRESH };
	struct dbr_error err;
	int rc = dbr_open(db, a->config, &opts, &err);

	if (rc) {
		out_error("", err.message);
		return rc == DBR_E_CONFIG || rc == DBR_E_ABI ? EXIT_USAGE
							     : EXIT_RUNTIME;
	}
	return 0;
}

/* The configured sources' names (dbr_free() them), or NULL, said. */
static char **source_names(struct dbr *db, size_t *n)
{
	struct dbr_error err;
	char **names;

	if (dbr_source_names(db, &names, n, &err)) {
		out_error("dbroute: ", err.message);
		return NULL;
	}
	return names;
}

/*
 * A source's pool and health as the check left them (a running
 * application's own figures come from its metrics endpoint).
 */
static void check_figures(struct dbr *db, const char *name, char *buf,
			  size_t cap)
{
	struct dbr_source_stats st = { .size = sizeof(st) };
	int64_t now = (int64_t)time(NULL);

	if (dbr_source_stats(db, name, &st, NULL)) {
		snprintf(buf, cap, "-");
		return;
	}
	snprintf(buf, cap,
		 "pool %u/%u open (%u idle, %u in use, %u waiting); "
		 "connects %llu, failed %llu, discarded %llu; %s for %lld s",
		 st.pool_open, st.pool_max, st.pool_idle, st.pool_in_use,
		 st.pool_waiters, (unsigned long long)st.connects,
		 (unsigned long long)st.connect_failures,
		 (unsigned long long)st.discarded,
		 st.state == DBR_SOURCE_AVAILABLE ? "available" : "unavailable",
		 (long long)(now > st.state_since ? now - st.state_since : 0));
}

/* One source's line of `check`. */
static int check_source(struct dbr *db, const char *name)
{
	struct dbr_source_info info = { .size = sizeof(info) };
	struct dbr_error err;
	char figures[256];
	int rc;

	rc = dbr_source_info(db, name, &info, &err);
	if (!rc)
		rc = dbr_source_ping(db, name, &err);
	check_figures(db, name, figures, sizeof(figures));
	/*
	 * The ping's connection stays idle in the pool: close it, so that
	 * checking many sources holds one source's files and sockets at a
	 * time.
	 */
	dbr_source_close_idle(db, name, NULL);
	printf("%s\t%s\t", name, info.type);
	if (rc) {
		fputs("unavailable: ", stdout);
		out_field(stdout, err.message);
	} else {
		fputs("ok", stdout);
	}
	putchar('\t');
	out_field(stdout, info.driver_origin);
	putchar(' ');
	out_field(stdout, info.driver_version);
	putchar('\t');
	fputs(figures, stdout);
	putchar('\n');
	return rc;
}

/*
 * With a mapping store: warn (stderr, exit code unchanged) where
 * [chat_mapping] and the store map a chat apart, when the store
 * cannot be read, or when a source lacks a [table.NAME] table.
 */
static void check_mapping(struct dbr *db, char **names, size_t nnames)
{
	struct dbr_mapping_conflict *c = NULL;
	struct dbr_mapping_status st;
	struct dbr_error err;
	size_t i, n = 0;
	int rc = dbr_mapping_compare(db, &c, &n, &err);

	if (rc == DBR_E_CONFIG)
		return; /* no [mapping] store */
	/* What routing holds: the version read at open and its age. */
	if (!dbr_mapping_status(db, &st, &err) && st.loaded)
		printf("mapping\tstore\tversion %" PRId64 ", age %" PRId64
		       " ms\n",
		       st.version, st.age_ms);
	else
		printf("mapping\tstore\tnot loaded\n");
	if (rc)
		out_error("dbroute: warn: mapping store: ", err.message);
	for (i = 0; names && i < nnames; i++)
		if (dbr_mapping_check_tables(db, names[i], &err) &&
		    err.code != DBR_E_UNSUPPORTED)
			out_error("dbroute: warn: ", err.message);
	for (i = 0; i < n; i++)
		fprintf(stderr,
			"dbroute: warn: chat %" PRId64 ": [chat_mapping] says "
			"'%s', the mapping store says '%s' (the store wins)\n",
			c[i].chat, c[i].ini, c[i].store);
	dbr_free(c);
}

static int cmd_check(const struct args *a)
{
	struct dbr *db;
	char **names;
	int rc, status = 0;
	size_t i, n;

	if (a->npos || a->nparams || a->chat_text || a->scope || a->nsources)
		return fail_usage("check takes only %s", "-c FILE");
	rc = open_db(a, &db);
	if (rc)
		return rc;
	names = source_names(db, &n);
	if (!names)
		status = EXIT_RUNTIME;
	for (i = 0; i < n; i++)
		if (check_source(db, names[i]))
			status = EXIT_RUNTIME;
	check_mapping(db, names, n);
	dbr_free(names);
	dbr_close(db);
	return status;
}

static int cmd_route(const struct args *a)
{
	struct dbr *db;
	char source[DBR_NAME_SIZE];
	struct dbr_mapping_status ms;
	int64_t chat;
	size_t i;
	int reason, rc, status;

	if (a->nparams || a->scope || a->nsources)
		return fail_usage("route takes only %s",
				  "-c FILE [--chat] CHAT_ID...");
	if (!a->npos)
		return fail_usage("route needs at least one %s", "CHAT_ID");
	for (i = 0; i < a->npos; i++)
		if (!parse_int64(a->pos[i], &chat))
			return fail_usage("bad chat id '%s': expected a signed "
					  "64-bit integer",
					  a->pos[i]);
	rc = open_db(a, &db);
	if (rc)
		return rc;
	for (i = 0, status = 0; i < a->npos; i++) {
		parse_int64(a->pos[i], &chat);
		rc = dbr_route_chat(db, chat, source, sizeof(source), &reason);
		if (rc == DBR_E_NOTFOUND && reason == DBR_ROUTE_STORE) {
			fprintf(stderr,
				"dbroute: chat %" PRId64 ": the mapping store "
				"names source '%s', which %s does not define\n",
				chat, source, a->config);
			status = 1;
			continue;
		}
		if (rc) {
			fprintf(stderr, "dbroute: chat %" PRId64 ": %s\n", chat,
				dbr_strerror(rc));
			status = 1;
			continue;
		}
		printf("%" PRId64 "\t%s\t%s", chat, source,
		       dbr_route_reason_name(reason));
		/* The store's version routing holds: the one this answer came
		 * from, unless a change arrived in between. */
		if (reason == DBR_ROUTE_STORE &&
		    dbr_mapping_status(db, &ms, NULL) == DBR_OK)
			printf(" v%" PRId64, ms.version);
		putchar('\n');
	}
	dbr_close(db);
	return status;
}

static int run_query(const struct args *a, struct dbr *db, int64_t chat)
{
	struct dbr_result *res = NULL;
	struct dbr_error err;
	const char *sql = a->pos[0];
	int rc;

	if (a->nsources)
		rc = dbr_query_source(db, a->sources[0], sql, a->params,
				      a->nparams, &res, &err);
	else if (a->scope)
		rc = dbr_query_scope(db, a->scope, sql, a->params, a->nparams,
				     &res, &err);
	else
		rc = dbr_query(db, chat, sql, a->params, a->nparams, &res,
			       &err);
	if (rc) {
		out_error("dbroute: ", err.message);
		return rc == DBR_E_NOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
	}
	rc = out_print(stdout, a->format, a->with_source ? OUT_WITH_SOURCE : 0,
		       res);
	dbr_result_free(res);
	return rc;
}

/* The source a query goes to, its name copied; 0 or an exit code. */
static int script_source(const struct args *a, struct dbr *db, int64_t chat,
			 char *name)
{
	struct dbr_source_info info = { .size = sizeof(info) };
	struct dbr_error err;
	int rc = 0;

	if (a->nsources)
		snprintf(name, DBR_NAME_SIZE, "%s", a->sources[0]);
	else if (a->scope)
		dbr_route_scope(db, a->scope, name, DBR_NAME_SIZE, NULL);
	else
		dbr_route_chat(db, chat, name, DBR_NAME_SIZE, NULL);
	rc = dbr_source_info(db, name, &info, &err);
	if (rc) {
		out_error("dbroute: ", err.message);
		return EXIT_RUNTIME;
	}
	if (info.flags & DBR_SOURCE_KV)
		return fail_usage("-f runs SQL scripts: source '%s' takes "
				  "key-value commands",
				  name);
	return 0;
}

/* An error of the script at a line: "dbroute: SCRIPT:LINE: message". */
static void script_error(const struct args *a, unsigned line, const char *msg)
{
	char where[600];

	snprintf(where, sizeof(where),
		 "dbroute: %s:%u: ", strcmp(a->file, "-") ? a->file : "<stdin>",
		 line);
	out_error(where, msg);
}

/*
 * A script that cannot be split: its message reads "line N: why"
 * (dbr_script_split), printed as SCRIPT:N: source 'NAME': why.
 */
static void split_error(const struct args *a, const struct dbr_error *err)
{
	char msg[DBR_ERROR_MESSAGE_SIZE + DBR_NAME_SIZE + 16];
	unsigned line = 0;
	int used = 0;

	if (err->code != DBR_E_STMT ||
	    sscanf(err->message, "line %u: %n", &line, &used) != 1 || !used) {
		out_error("dbroute: ", err->message);
		return;
	}
	snprintf(msg, sizeof(msg), "source '%s': %s", err->source,
		 err->message + used);
	script_error(a, line, msg);
}

/* One statement of a script, in tx when not NULL; 0 or an exit code. */
static int script_statement(const struct args *a, struct dbr *db, int64_t chat,
			    struct dbr_tx *tx, const char *sql, unsigned line)
{
	struct dbr_result *res = NULL;
	struct dbr_error err;
	int rc;

	if (tx)
		rc = dbr_tx_query(tx, sql, NULL, 0, &res, &err);
	else if (a->nsources)
		rc = dbr_query_source(db, a->sources[0], sql, NULL, 0, &res,
				      &err);
	else if (a->scope)
		rc = dbr_query_scope(db, a->scope, sql, NULL, 0, &res, &err);
	else
		rc = dbr_query(db, chat, sql, NULL, 0, &res, &err);
	if (rc) {
		script_error(a, line, err.message);
		return EXIT_RUNTIME;
	}
	rc = out_print(stdout, a->format, OUT_ONE_LINE, res);
	dbr_result_free(res);
	return rc;
}

/* Begin the script's transaction on the routed source. */
static int script_begin(const struct args *a, struct dbr *db, int64_t chat,
			const char *name, struct dbr_tx **tx)
{
	struct dbr_error err;
	int rc = a->chat_text ? dbr_tx_begin(db, chat, tx, &err)
			      : dbr_tx_begin_source(db, name, tx, &err);

	if (rc)
		out_error("dbroute: ", err.message);
	return rc ? EXIT_RUNTIME : 0;
}

/* query -f: every statement of the script in order, the first error
 * ends it (and rolls back --single-transaction). */
static int run_script(const struct args *a, struct dbr *db, int64_t chat)
{
	struct dbr_script_stmt *st = NULL;
	struct dbr_tx *tx = NULL;
	struct dbr_error err;
	char name[DBR_NAME_SIZE], *sql;
	size_t i, n = 0;
	int rc = script_source(a, db, chat, name);

	if (!rc &&
	    dbr_script_split(db, name, a->sql, a->sql_len, &st, &n, &err)) {
		split_error(a, &err);
		rc = EXIT_RUNTIME;
	}
	if (!rc && a->single_tx)
		rc = script_begin(a, db, chat, name, &tx);
	for (i = 0; !rc && i < n; i++) {
		sql = strndup(a->sql + st[i].start, st[i].end - st[i].start);
		if (!sql) {
			fputs("dbroute: out of memory\n", stderr);
			rc = EXIT_RUNTIME;
			break;
		}
		rc = script_statement(a, db, chat, tx, sql, st[i].line);
		free(sql);
	}
	if (tx && rc)
		dbr_tx_rollback(tx, NULL);
	else if (tx && dbr_tx_commit(tx, &err)) {
		out_error("dbroute: ", err.message);
		rc = EXIT_RUNTIME;
	}
	dbr_free(st);
	return rc;
}

/* Which options go with which kind of query. */
static int check_query_args(const struct args *a, int64_t *chat)
{
	int targets = (a->chat_text != NULL) + (a->scope != NULL) +
		      (a->nsources > 0 || a->all);

	if (targets != 1 || (a->all && a->nsources))
		return fail_usage("query needs exactly one of %s",
				  "--chat ID, --scope NAME, --source NAME "
				  "(repeatable), --all");
	if (!is_fanout(a) && (a->norder || a->limit_text || a->distinct ||
			      a->partial || a->sequential))
		return fail_usage("%s", "--order, --limit, --distinct, "
					"--allow-partial and --sequential need "
					"--all or several --source");
	if (a->chat_text && !parse_int64(a->chat_text, chat))
		return fail_usage("bad chat id '%s': expected a signed 64-bit "
				  "integer",
				  a->chat_text);
	if (a->dir || a->to_text || a->force_text || a->dry_run ||
	    a->allow_changed || a->discover)
		return fail_usage("%s", "--dir, --to, --force-version, "
					"--dry-run, --allow-changed and "
					"--discover are options of migrate "
					"and move-chat");
	if (a->file && a->npos)
		return fail_usage("query takes %s, not both",
				  "'STATEMENT' or -f FILE");
	if (a->file && (a->nparams || is_fanout(a)))
		return fail_usage("%s", "-f runs a script on one source: not "
					"with --param, --all or several "
					"--source");
	if (a->single_tx && !a->file)
		return fail_usage("%s", "--single-transaction needs -f FILE");
	if (!a->file && a->npos != 1)
		return fail_usage("query needs exactly one %s",
				  "'STATEMENT' argument or -f FILE");
	if (!a->file && !strcmp(a->pos[0], "-"))
		return fail_usage("'%s' is not a statement: use -f - to read "
				  "it from standard input",
				  "-");
	return 0;
}

/* Read the script of query -f into a->sql; returns 0 or an exit code. */
static int read_script(struct args *a)
{
	bool in = !strcmp(a->file, "-");
	FILE *f = in ? stdin : fopen(a->file, "rb");
	size_t n = 0, size = 4096, got;
	char *buf = NULL, *grown;
	int rc = 0;

	if (!f) {
		char msg[600];

		snprintf(msg, sizeof(msg), "-f '%s': cannot open: %s", a->file,
			 strerror(errno));
		out_error("dbroute: ", msg);
		return EXIT_USAGE;
	}
	do {
		if (n + 1 >= size) {
			char more;

			/* Full at the limit: one byte more is too much. */
			if (size > MAX_STATEMENT) {
				if (fread(&more, 1, 1, f) == 0)
					break;
				rc = fail_usage("-f '%s': larger than 16 MiB",
						a->file);
				break;
			}
			size = size * 2 > MAX_STATEMENT ? MAX_STATEMENT + 1
							: size * 2;
		}
		grown = realloc(buf, size);
		if (!grown) {
			fputs("dbroute: out of memory\n", stderr);
			rc = EXIT_RUNTIME;
			break;
		}
		buf = grown;
		got = fread(buf + n, 1, size - n - 1, f);
		n += got;
	} while (got);
	if (!rc && ferror(f))
		rc = fail_usage("-f '%s': cannot read", a->file);
	if (!rc && memchr(buf, '\0', n))
		rc = fail_usage("-f '%s': a NUL byte: not a text file",
				a->file);
	if (!in)
		fclose(f);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	a->sql = buf;
	a->sql_len = n;
	return 0;
}

int check_sources(const struct args *a, struct dbr *db)
{
	size_t i, j, n;
	char **names = source_names(db, &n);
	const char *hint;
	char msg[256];

	if (!names)
		return EXIT_RUNTIME;
	for (i = 0; i < a->nsources; i++) {
		for (j = 0; j < n && strcmp(names[j], a->sources[i]); j++)
			;
		if (j < n)
			continue;
		hint = dbr__suggest(a->sources[i], (const char *const *)names,
				    n);
		if (hint)
			snprintf(msg, sizeof(msg),
				 "no source named '%.64s'; did you mean "
				 "'%.64s'?",
				 a->sources[i], hint);
		else
			snprintf(msg, sizeof(msg), "no source named '%.64s'",
				 a->sources[i]);
		dbr_free(names);
		return fail_usage("%s", msg);
	}
	dbr_free(names);
	return 0;
}

static int cmd_query(struct args *a)
{
	struct dbr *db;
	int64_t chat = 0;
	int rc;

	rc = check_query_args(a, &chat);
	if (!rc && a->file)
		rc = read_script(a);
	if (!rc)
		rc = open_db(a, &db);
	if (rc)
		return rc;
	rc = check_sources(a, db);
	if (rc) {
		dbr_close(db);
		return rc;
	}
	rc = is_fanout(a) ? run_fanout(a, db)
	     : a->file	  ? run_script(a, db, chat)
			  : run_query(a, db, chat);
	if (fflush(stdout)) {
		perror("dbroute: stdout");
		rc = EXIT_RUNTIME;
	}
	dbr_close(db);
	return rc;
}

static int unknown_command(const char *cmd)
{
	static const char *const cmds[] = { "check",   "route",	  "query",
					    "migrate", "mapping", "move-chat" };
	const char *hint = dbr__suggest(cmd, cmds, 6);
	char msg[160];

	if (!hint)
		return fail_usage("unknown command '%s'", cmd);
	snprintf(msg, sizeof(msg),
		 "unknown command '%.64s'; did you mean '%s'?", cmd, hint);
	return fail_usage("%s", msg);
}

/* Whether -h or --help stands among the arguments (before any "--"). */
static bool wants_help(int argc, char **argv)
{
	int i;

	for (i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct args a;
	int rc;

	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("dbroute %s\n", dbr_version());
		return 0;
	}
	if (!strcmp(argv[1], "mapping") && wants_help(argc, argv)) {
		mapping_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "move-chat") && wants_help(argc, argv)) {
		move_usage(stdout);
		return 0;
	}
	memset(&a, 0, sizeof(a));
	a.cmd = argv[1];
	a.format = OUT_TEXT;
	a.pos = calloc((size_t)argc, sizeof(*a.pos));
	a.sources = calloc((size_t)argc, sizeof(*a.sources));
	a.order = calloc((size_t)argc, sizeof(*a.order));
	a.params = calloc(MAX_PARAMS, sizeof(*a.params));
	if (!a.pos || !a.sources || !a.order || !a.params) {
		fputs("dbroute: out of memory\n", stderr);
		rc = EXIT_RUNTIME;
	} else if (strcmp(a.cmd, "check") && strcmp(a.cmd, "route") &&
		   strcmp(a.cmd, "query") && strcmp(a.cmd, "migrate") &&
		   strcmp(a.cmd, "mapping") && strcmp(a.cmd, "move-chat")) {
		rc = unknown_command(a.cmd);
	} else if (!(rc = parse_args(&a, argc, argv))) {
		rc = !strcmp(a.cmd, "check")	   ? cmd_check(&a)
		     : !strcmp(a.cmd, "route")	   ? cmd_route(&a)
		     : !strcmp(a.cmd, "migrate")   ? cmd_migrate(&a)
		     : !strcmp(a.cmd, "mapping")   ? cmd_mapping(&a)
		     : !strcmp(a.cmd, "move-chat") ? cmd_move(&a)
						   : cmd_query(&a);
	}
	free(a.pos);
	free(a.sources);
	free(a.order);
	free(a.params);
	free(a.sql);
	return rc;
}
