/*
 * migrate.c - dbroute migrate: apply a folder of migration files to the
 * sources (dbr_migrate()) and print each source's status, or only print
 * it (migrate status). Progress and warnings go to stderr, the status
 * table to stdout; status prints no progress.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

#define NCOLS 5

/* The status table, filled by the callback. */
struct status {
	struct dbr_value *cells; /* NCOLS per source */
	char **names;		 /* the sources' names, owned */
	size_t n, cap;
	size_t unread; /* sources whose version could not be read */
	bool nomem;
	bool status; /* migrate status: no progress lines */
};

static void add_row(struct status *st, const struct dbr_migrate_event *ev)
{
	struct dbr_value *row;
	char *name;

	if (st->n == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 16;
		struct dbr_value *c =
			realloc(st->cells, cap * NCOLS * sizeof(*c));
		char **nm;

		if (c)
			st->cells = c;
		nm = c ? realloc(st->names, cap * sizeof(*nm)) : NULL;
		if (!nm) {
			st->nomem = true;
			return;
		}
		st->names = nm;
		st->cap = cap;
	}
	name = strdup(ev->source);
	if (!name) {
		st->nomem = true;
		return;
	}
	st->names[st->n] = name;
	row = &st->cells[st->n++ * NCOLS];
	row[0] = dbr_text(name, strlen(name));
	row[1] = ev->version < 0 ? dbr_text("-", 1) : dbr_int64(ev->version);
	row[2] = dbr_text(dbr_migrate_state_name(ev->state),
			  strlen(dbr_migrate_state_name(ev->state)));
	row[3] = dbr_int64((int64_t)ev->pending);
	row[4] = dbr_int64((int64_t)ev->changed);
}

static void on_event(void *ud, const struct dbr_migrate_event *ev)
{
	struct status *st = ud;
	char prefix[160], msg[512];
	const char *what = NULL;

	snprintf(prefix, sizeof(prefix),
		 "dbroute: source '%s': ", ev->source ? ev->source : "");
	switch (ev->kind) {
	case DBR_MIGRATE_STRAY:
		snprintf(msg, sizeof(msg), "ignoring '%s': %s", ev->file,
			 ev->reason);
		out_error("dbroute: warn: ", msg);
		break;
	case DBR_MIGRATE_LATE:
		snprintf(msg, sizeof(msg), "source '%s': late file '%s': %s",
			 ev->source, ev->file, ev->reason);
		out_error("dbroute: warn: ", msg);
		break;
	case DBR_MIGRATE_APPLIED: what = "applied"; break;
	/* status prints only its table: --dry-run lists the files. */
	case DBR_MIGRATE_WOULD_APPLY:
		what = st->status ? NULL : "would apply";
		break;
	case DBR_MIGRATE_NO_VARIANT: what = "no file of its type for"; break;
	case DBR_MIGRATE_CHANGED: what = "changed since applied:"; break;
	case DBR_MIGRATE_SOURCE:
		if (ev->error)
			out_error("dbroute: ", ev->error->message);
		else if (ev->reason && ev->state != DBR_MIGRATE_SKIPPED)
			out_error(prefix, ev->reason);
		if (ev->state == DBR_MIGRATE_ERROR)
			st->unread++;
		add_row(st, ev);
		break;
	default: break;
	}
	if (what) {
		snprintf(msg, sizeof(msg), "%s %s", what, ev->file);
		out_error(prefix, msg);
	}
}

/* Which options go with migrate and migrate status. */
static int check_migrate_args(const struct args *a, bool status)
{
	int64_t v;

	if (a->nparams || a->chat_text || a->scope || a->all || a->norder ||
	    a->limit_text || a->distinct || a->partial || a->sequential ||
	    a->with_source || a->file || a->single_tx || a->discover)
		return fail_usage("%s", "migrate takes -c FILE, --dir DIR, "
					"--source NAME, --to N, --dry-run, "
					"--allow-changed, --force-version N "
					"and --format");
	if (a->npos > (size_t)status)
		return fail_usage("migrate: unexpected argument '%s'",
				  a->pos[status]);
	if (!a->dir)
		return fail_usage("%s", "migrate needs --dir DIR");
	if (status && (a->dry_run || a->allow_changed || a->force_text))
		return fail_usage("%s", "migrate status takes no --dry-run, "
					"--allow-changed or --force-version");
	if (a->to_text && (!parse_int64(a->to_text, &v) || v < 1))
		return fail_usage("bad --to '%s': expected a version >= 1",
				  a->to_text);
	if (a->force_text && (!parse_int64(a->force_text, &v) || v < 0))
		return fail_usage("bad --force-version '%s': expected a "
				  "version >= 0",
				  a->force_text);
	if (a->force_text && (!a->nsources || a->dry_run || a->to_text))
		return fail_usage("%s", "--force-version needs --source NAME "
					"and takes no --dry-run or --to");
	return 0;
}

/* The options of dbr_migrate() from the arguments. */
static void migrate_options(const struct args *a, bool status,
			    const char **names, struct dbr_migrate_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	if (a->nsources) {
		memcpy(names, a->sources, a->nsources * sizeof(*names));
		names[a->nsources] = NULL;
		o->sources = names;
	}
	if (a->to_text)
		parse_int64(a->to_text, &o->to);
	if (a->force_text) {
		parse_int64(a->force_text, &o->force_version);
		o->flags |= DBR_MIGRATE_FORCE_VERSION;
	}
	if (status || a->dry_run)
		o->flags |= DBR_MIGRATE_DRY_RUN;
	if (a->allow_changed)
		o->flags |= DBR_MIGRATE_ALLOW_CHANGED;
}

int cmd_migrate(const struct args *a)
{
	static const char *const cols[NCOLS] = { "source", "version", "state",
						 "pending", "changed" };
	bool status = a->npos && !strcmp(a->pos[0], "status");
	struct dbr_migrate_options o;
	struct status st = { 0 };
	struct dbr_error err;
	const char **names;
	struct dbr *db;
	size_t i;
	int rc = check_migrate_args(a, status);

	if (rc || (rc = open_db(a, &db)))
		return rc;
	rc = check_sources(a, db);
	names = calloc(a->nsources + 1, sizeof(*names));
	if (!rc && !names) {
		fputs("dbroute: out of memory\n", stderr);
		rc = EXIT_RUNTIME;
	}
	if (!rc) {
		st.status = status;
		migrate_options(a, status, names, &o);
		rc = dbr_migrate(db, a->dir, &o, on_event, &st, &err);
		if (rc && !st.n)
			out_error("dbroute: ", err.message);
		/*
		 * Usage is an error before any source ran (no summary row);
		 * a source's failure, whatever its code, is a runtime one.
		 * status reports what migrate would refuse (a dirty or
		 * changed source) and fails only for a source it could not
		 * read.
		 */
		if (!st.n && (rc == DBR_E_CONFIG || rc == DBR_E_NOTFOUND ||
			      rc == DBR_E_MISUSE))
			rc = EXIT_USAGE;
		else if (rc && (!status || st.unread))
			rc = EXIT_RUNTIME;
		else
			rc = 0;
		out_table(stdout, a->format, a->format != OUT_TEXT, cols, NCOLS,
			  st.cells, st.n);
		if (st.nomem || fflush(stdout)) {
			fputs("dbroute: cannot write the status\n", stderr);
			rc = EXIT_RUNTIME;
		}
	}
	for (i = 0; i < st.n; i++)
		free(st.names[i]);
	free(st.names);
	free(st.cells);
	free(names);
	dbr_close(db);
	return rc;
}
