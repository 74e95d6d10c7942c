/*
 * move.c - dbroute move-chat: the move of a chat (dbr_move_start() and
 * dbr_move_run()), the moves recorded (--status, dbr_move_list()), a
 * move's plan (--dry-run, dbr_move_plan()) and a source's chat, keyless
 * and global tables (--discover, dbr_move_discover()).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

void move_usage(FILE *f)
{
	fputs("usage: dbroute move-chat -c FILE --chat ID --to SOURCE "
	      "[--dry-run]\n"
	      "       dbroute move-chat -c FILE --status [ID]\n"
	      "       dbroute move-chat -c FILE --abort ID\n"
	      "       dbroute move-chat -c FILE --discover "
	      "[--source S | --chat ID]\n"
	      "\n"
	      "Moving a chat's rows to another SQL source while the "
	      "application runs\n"
	      "(docs/moving-chats.md). Needs a [mapping] store.\n"
	      "\n"
	      "  (no flag)               move the chat: copy, catch up, "
	      "fence, verify,\n"
	      "                          switch; prints the move id and "
	      "how long the\n"
	      "                          chat's writes were held (progress "
	      "on a\n"
	      "                          terminal's stderr)\n"
	      "  --dry-run               print the plan: the chat's tables, "
	      "its rows\n"
	      "                          in each, the mode a move would "
	      "take, and\n"
	      "                          whether the destination passed the "
	      "checks\n"
	      "                          (tables, columns, primary keys, "
	      "portable\n"
	      "                          types) or why it is refused\n"
	      "  --status [ID]           print the moves recorded (or move "
	      "ID): ID,\n"
	      "                          CHAT, FROM, TO, STATE, ROWS, "
	      "PAUSE_MS,\n"
	      "                          ATTEMPTS, STARTED_MS, UPDATED_MS, "
	      "ERROR\n"
	      "  --abort ID              undo move ID, which has not "
	      "switched: its\n"
	      "                          capture removed from the source, "
	      "the chat's\n"
	      "                          rows deleted on the destination\n"
	      "  --discover              print TABLE, KIND (chat, no_pk, "
	      "global),\n"
	      "                          CHAT_COLUMN and PRIMARY_KEY per "
	      "table of\n"
	      "                          --source S, else the --chat's "
	      "source, else\n"
	      "                          the default source\n"
	      "\n"
	      "  -c, --config FILE       the INI configuration\n"
	      "  --format text|csv|json  how the output is printed "
	      "(default text)\n"
	      "\n"
	      "Exit: 0 ok (switched; a plan whose checks passed), 1 "
	      "runtime error (a\n"
	      "refused plan or move, a source unreachable; a move is "
	      "undone first),\n"
	      "2 usage or configuration error (no [mapping] store, a side "
	      "that is not\n"
	      "an SQL source, an unknown source), 3 aborted safely: the "
	      "chat was too\n"
	      "busy for the fence (retry later).\n",
	      f);
}

/* The exit code of a library failure, said on stderr. */
static int failed(int rc, const struct dbr_error *err)
{
	out_error("dbroute: ", err->message);
	if (err->hint && *err->hint)
		out_error("dbroute: hint: ", err->hint);
	return rc == DBR_E_CONFIG || rc == DBR_E_NOTFOUND ||
			       rc == DBR_E_MISUSE || rc == DBR_E_UNSUPPORTED
		       ? EXIT_USAGE
		       : EXIT_RUNTIME;
}

static const char *const kind_names[] = { "?", "chat", "no_pk", "global" };

static int do_discover(const struct args *a, struct dbr *db)
{
	static const char *const cols[] = { "table", "kind", "chat_column",
					    "primary_key" };
	char source[DBR_NAME_SIZE];
	struct dbr_move_found *f = NULL;
	struct dbr_value *cells;
	struct dbr_error err;
	const char *name = a->nsources ? a->sources[0] : NULL;
	int64_t chat;
	size_t n = 0, i;
	int rc;

	if (!name && a->chat_text) {
		parse_int64(a->chat_text, &chat);
		rc = dbr_route_chat(db, chat, source, sizeof(source), NULL);
		if (rc) {
			fprintf(stderr,
				"dbroute: chat %" PRId64 ": cannot route it: "
				"%s\n",
				chat, dbr_strerror(rc));
			return EXIT_RUNTIME;
		}
		name = source;
	}
	rc = dbr_move_discover(db, name, &f, &n, &err);
	if (rc)
		return failed(rc, &err);
	cells = calloc(4 * n + 1, sizeof(*cells));
	if (!cells) {
		dbr_free(f);
		fputs("dbroute: out of memory\n", stderr);
		return EXIT_RUNTIME;
	}
	for (i = 0; i < n; i++) {
		struct dbr_value *row = &cells[4 * i];
		int k = f[i].kind > 0 && f[i].kind < 4 ? f[i].kind : 0;

		row[0] = dbr_text(f[i].table, strlen(f[i].table));
		row[1] = dbr_text(kind_names[k], strlen(kind_names[k]));
		row[2] = f[i].chat_column ? dbr_text(f[i].chat_column,
						     strlen(f[i].chat_column))
					  : dbr_null();
		row[3] = *f[i].primary_key ? dbr_text(f[i].primary_key,
						      strlen(f[i].primary_key))
					   : dbr_null();
	}
	out_table(stdout, a->format, a->format != OUT_TEXT, cols, 4, cells, n);
	free(cells);
	dbr_free(f);
	return 0;
}

/* The plan as one JSON object. */
static json_t *plan_json(const struct dbr_move_plan *p)
{
	json_t *o = json_object(), *tables = json_array();
	size_t i, j;

	json_object_set_new(o, "chat", json_integer(p->chat));
	json_object_set_new(o, "from", json_string(p->from));
	json_object_set_new(o, "to", json_string(p->to));
	json_object_set_new(o, "mode", json_string(p->mode));
	json_object_set_new(o, "mode_reason", json_string(p->mode_reason));
	json_object_set_new(o, "rows", json_integer(p->rows));
	json_object_set_new(o, "checks",
			    json_string(p->status ? "refused" : "passed"));
	json_object_set_new(o, "message",
			    p->status ? json_string(p->message) : json_null());
	for (i = 0; i < p->ntables; i++) {
		const struct dbr_move_table *t = &p->tables[i];
		json_t *jt = json_object(), *cols = json_array();

		json_object_set_new(jt, "table", json_string(t->name));
		json_object_set_new(jt, "destination",
				    json_string(t->dst_name));
		json_object_set_new(jt, "chat_column",
				    json_string(t->chat_column));
		json_object_set_new(jt, "rows", json_integer(t->rows));
		json_object_set_new(jt, "primary_key", json_boolean(t->has_pk));
		json_object_set_new(jt, "problem",
				    t->problem ? json_string(t->problem)
					       : json_null());
		for (j = 0; j < t->ncolumns; j++) {
			const struct dbr_move_column *c = &t->columns[j];

			json_array_append_new(
				cols,
				json_pack("{s:s, s:s, s:s, s:s, s:i}", "name",
					  c->name, "type", c->type,
					  "destination_type", c->dst_type,
					  "class", c->cls, "pk", (int)c->pk));
		}
		json_object_set_new(jt, "columns", cols);
		json_array_append_new(tables, jt);
	}
	json_object_set_new(o, "tables", tables);
	return o;
}

/* The plan's tables as rows, in text (no header) or csv. */
static void plan_rows(const struct args *a, const struct dbr_move_plan *p)
{
	static const char *const cols[] = { "table",	   "destination",
					    "chat_column", "rows",
					    "primary_key", "check" };
	struct dbr_value *cells = calloc(6 * p->ntables + 1, sizeof(*cells));
	size_t i;

	if (!cells) {
		fputs("dbroute: out of memory\n", stderr);
		return;
	}
	for (i = 0; i < p->ntables; i++) {
		const struct dbr_move_table *t = &p->tables[i];
		struct dbr_value *row = &cells[6 * i];
		const char *check = t->problem ? t->problem : "ok";

		row[0] = dbr_text(t->name, strlen(t->name));
		row[1] = *t->dst_name
				 ? dbr_text(t->dst_name, strlen(t->dst_name))
				 : dbr_null();
		row[2] = dbr_text(t->chat_column, strlen(t->chat_column));
		row[3] = t->rows < 0 ? dbr_null() : dbr_int64(t->rows);
		row[4] = dbr_text(t->has_pk ? "yes" : "no", t->has_pk ? 3 : 2);
		row[5] = dbr_text(check, strlen(check));
	}
	out_table(stdout, a->format, a->format != OUT_TEXT, cols, 6, cells,
		  p->ntables);
	free(cells);
}

static int print_plan(const struct args *a, const struct dbr_move_plan *p)
{
	if (a->format == OUT_JSON) {
		json_t *o = plan_json(p);

		if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) ||
		    fputc('\n', stdout) == EOF) {
			json_decref(o);
			fputs("dbroute: cannot print the plan\n", stderr);
			return EXIT_RUNTIME;
		}
		json_decref(o);
		return 0;
	}
	plan_rows(a, p);
	fprintf(stderr,
		"dbroute: chat %" PRId64 ": from '%s' to '%s', %zu tables, "
		"%" PRId64 " rows; mode %s (%s); checks %s\n",
		p->chat, p->from, p->to, p->ntables, p->rows, p->mode,
		p->mode_reason, p->status ? "refused" : "passed");
	return 0;
}

static int do_plan(const struct args *a, struct dbr *db)
{
	struct dbr_move_plan *p = NULL;
	struct dbr_error err;
	int64_t chat;
	int rc;

	parse_int64(a->chat_text, &chat);
	rc = dbr_move_plan(db, chat, a->to_text, &p, &err);
	if (p && print_plan(a, p))
		rc = rc ? rc : DBR_E_NOMEM;
	dbr_move_plan_free(p);
	if (rc)
		return failed(rc, &err);
	return fflush(stdout) ? EXIT_RUNTIME : 0;
}

/* Progress on a terminal: one line rewritten. */
static void on_progress(void *ud, const struct dbr_move_status *st)
{
	(void)ud;
	fprintf(stderr,
		"\rdbroute: move %" PRId64 ": %-11s %" PRId64
		" rows copied, backlog %" PRId64 "   ",
		st->move_id, st->state, st->rows_copied, st->backlog);
}

static int do_move(const struct args *a, struct dbr *db)
{
	struct dbr_move_options o = { .size = sizeof(o) };
	struct dbr_move_status st = { .size = sizeof(st) };
	struct dbr_error err;
	int64_t chat, id = 0;
	int rc;

	if (isatty(STDERR_FILENO))
		o.progress = on_progress;
	parse_int64(a->chat_text, &chat);
	rc = dbr_move_start(db, chat, a->to_text, &o, &id, &err);
	if (!rc)
		rc = dbr_move_run(db, id, &o, &err);
	if (o.progress)
		fputc('\n', stderr);
	if (rc && !id)
		return failed(rc, &err);
	if (rc) {
		fprintf(stderr, "dbroute: move %" PRId64 " aborted: ", id);
		out_error("", err.message);
		if (err.hint && *err.hint)
			out_error("dbroute: hint: ", err.hint);
		return rc == DBR_E_MOVING ? EXIT_ABORTED : EXIT_RUNTIME;
	}
	if (dbr_move_status(db, id, &st, &err))
		return failed(DBR_E_STMT, &err);
	printf("move %" PRId64 ": chat %" PRId64 " switched from '%s' to "
	       "'%s', %" PRId64 " rows copied; writes held %" PRId64
	       " ms (%d attempt%s)\n",
	       id, chat, st.from, st.to, st.rows_copied, st.pause_ms,
	       (int)st.attempts, st.attempts == 1 ? "" : "s");
	return fflush(stdout) ? EXIT_RUNTIME : 0;
}

static int do_status(const struct args *a, struct dbr *db)
{
	static const char *const cols[] = {
		"id",	      "chat",	    "from",	"to",
		"state",      "rows",	    "pause_ms", "attempts",
		"started_ms", "updated_ms", "error"
	};
	struct dbr_move_status *v = NULL;
	struct dbr_value *cells;
	struct dbr_error err;
	int64_t id = 0;
	size_t n = 0, i;
	int rc;

	if (a->npos) {
		parse_int64(a->pos[0], &id);
		v = calloc(1, sizeof(*v));
		if (!v) {
			fputs("dbroute: out of memory\n", stderr);
			return EXIT_RUNTIME;
		}
		v->size = sizeof(*v);
		rc = dbr_move_status(db, id, v, &err);
		n = 1;
	} else {
		rc = dbr_move_list(db, &v, &n, &err);
	}
	if (rc) {
		if (a->npos)
			free(v);
		else
			dbr_free(v);
		return rc == DBR_E_NOTFOUND
			       ? (out_error("dbroute: ", err.message),
				  EXIT_RUNTIME)
			       : failed(rc, &err);
	}
	cells = calloc(11 * n + 1, sizeof(*cells));
	for (i = 0; cells && i < n; i++) {
		struct dbr_value *row = &cells[11 * i];

		row[0] = dbr_int64(v[i].move_id);
		row[1] = dbr_int64(v[i].chat);
		row[2] = dbr_text(v[i].from, strlen(v[i].from));
		row[3] = dbr_text(v[i].to, strlen(v[i].to));
		row[4] = dbr_text(v[i].state, strlen(v[i].state));
		row[5] = dbr_int64(v[i].rows_copied);
		row[6] = v[i].pause_ms < 0 ? dbr_null()
					   : dbr_int64(v[i].pause_ms);
		row[7] = dbr_int64(v[i].attempts);
		row[8] = dbr_int64(v[i].started_ms);
		row[9] = dbr_int64(v[i].updated_ms);
		row[10] = dbr_text(v[i].error, strlen(v[i].error));
	}
	if (cells)
		out_table(stdout, a->format, a->format != OUT_TEXT, cols, 11,
			  cells, n);
	else
		fputs("dbroute: out of memory\n", stderr);
	free(cells);
	if (a->npos)
		free(v);
	else
		dbr_free(v);
	return !cells || fflush(stdout) ? EXIT_RUNTIME : 0;
}

static int do_abort(const struct args *a, struct dbr *db)
{
	struct dbr_error err;
	int64_t id = 0;
	int rc;

	parse_int64(a->pos[0], &id);
	rc = dbr_move_abort(db, id, &err);
	if (rc == DBR_E_NOTFOUND) {
		out_error("dbroute: ", err.message);
		return EXIT_RUNTIME;
	}
	if (rc)
		return failed(rc, &err);
	printf("move %" PRId64 " aborted\n", id);
	return fflush(stdout) ? EXIT_RUNTIME : 0;
}

/* Which options go with which form. */
static int check_move_args(const struct args *a)
{
	int64_t chat;

	if (a->nparams || a->scope || a->all || a->norder || a->limit_text ||
	    a->distinct || a->partial || a->sequential || a->with_source ||
	    a->file || a->single_tx || a->dir || a->force_text ||
	    a->allow_changed || a->reason || a->replace || a->nsources > 1)
		return fail_usage("%s", "move-chat takes -c FILE, --chat ID, "
					"--to SOURCE, --dry-run, --status, "
					"--abort, --discover, --source S and "
					"--format");
	if (a->status || a->abort_move) {
		if (a->chat_text || a->to_text || a->dry_run || a->discover ||
		    a->nsources || a->npos > 1 || (a->status && a->abort_move))
			return fail_usage("%s",
					  "move-chat --status takes at "
					  "most one move id, --abort one");
		if (a->abort_move && !a->npos)
			return fail_usage("%s",
					  "move-chat --abort needs a move "
					  "id");
		if (a->npos && (!parse_int64(a->pos[0], &chat) || chat <= 0))
			return fail_usage("bad move id '%s'", a->pos[0]);
		return 0;
	}
	if (a->npos)
		return fail_usage("move-chat: unexpected argument '%s'",
				  a->pos[0]);
	if (a->chat_text && !parse_int64(a->chat_text, &chat))
		return fail_usage("bad chat id '%s': expected a signed 64-bit "
				  "integer",
				  a->chat_text);
	if (a->discover) {
		if (a->dry_run || a->to_text)
			return fail_usage("%s", "move-chat --discover takes no "
						"--dry-run or --to");
		if (a->nsources && a->chat_text)
			return fail_usage("move-chat --discover takes %s, not "
					  "both",
					  "--source or --chat");
		return 0;
	}
	if (a->nsources)
		return fail_usage("%s", "--source is an option of move-chat "
					"--discover");
	if (!a->chat_text || !a->to_text)
		return fail_usage("%s", "move-chat needs --chat ID and --to "
					"SOURCE");
	return 0;
}

int cmd_move(const struct args *a)
{
	struct dbr_mapping_status st;
	struct dbr_error err;
	struct dbr *db;
	int rc;

	usage_help = "dbroute move-chat --help";
	rc = check_move_args(a);
	if (rc || (rc = open_db(a, &db)))
		return rc;
	rc = dbr_mapping_status(db, &st, &err);
	if (rc == DBR_E_CONFIG) {
		out_error("dbroute: ", "move-chat needs a [mapping] store "
				       "(docs/operations.md)");
		rc = EXIT_USAGE;
	} else if (a->discover) {
		rc = do_discover(a, db);
	} else if (a->status) {
		rc = do_status(a, db);
	} else if (a->abort_move) {
		rc = do_abort(a, db);
	} else {
		rc = a->dry_run ? do_plan(a, db) : do_move(a, db);
	}
	dbr_close(db);
	return rc;
}
