/*
 * template.c - a minimal driver to copy when writing a new one.
 *
 * `type = template` serves an "echo" source: every statement returns one
 * row whose first column is the source's `label` option and whose other
 * columns are the statement's parameters, in order. It shows each part of
 * the contract in docs/writing-a-driver.md and nothing more: declared
 * options, a connection embedding struct dbr_driver_conn, the cursor calls,
 * errors through the host table, the one exported entry symbol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbroute_driver.h"

#define TMPL_MAX_PARAMS 16

struct tmpl_conn {
	struct dbr_driver_conn base; /* first, as the ABI requires */
	const char *label;	     /* borrowed from the source's options */
	struct dbr_value row[TMPL_MAX_PARAMS + 1];
	char names[TMPL_MAX_PARAMS + 1][8];
	size_t ncols;
	int state; /* 0: no cursor, 1: row ready, 2: row read, 3: done */
};

static const struct dbr_host *tmpl_host;
static const struct dbr_driver tmpl_driver;

static const struct dbr_option_decl tmpl_options[] = {
	{ "label", DBR_OPT_TEXT, 0, 0, 0, "template", NULL,
	  "the text of every row's first column" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static struct tmpl_conn *tmpl_conn(struct dbr_driver_conn *c)
{
	if (!c || c->driver != &tmpl_driver)
		abort(); /* the core only hands us our own connections */
	return (struct tmpl_conn *)c;
}

static int tmpl_open(const struct dbr_source_config *src,
		     struct dbr_driver_conn **out, struct dbr_error *err)
{
	struct tmpl_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		tmpl_host->set_error(err, DBR_E_NOMEM, 0, NULL,
				     "out of memory");
		return DBR_E_NOMEM;
	}
	c->base.struct_size = sizeof(c->base);
	c->base.driver = &tmpl_driver;
	c->base.src = src;
	c->label = tmpl_host->opt_text(src, "label");
	*out = &c->base;
	return DBR_OK;
}

static void tmpl_close(struct dbr_driver_conn *conn)
{
	free(tmpl_conn(conn));
}

static int tmpl_query(struct dbr_driver_conn *conn, const char *sql,
		      const struct dbr_value *params, size_t nparams,
		      struct dbr_error *err)
{
	struct tmpl_conn *c = tmpl_conn(conn);
	size_t i;

	(void)sql;
	if (nparams > TMPL_MAX_PARAMS) {
		tmpl_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				     "at most %d parameters", TMPL_MAX_PARAMS);
		return DBR_E_MISUSE;
	}
	c->row[0].type = DBR_TYPE_TEXT;
	c->row[0].u.s = c->label;
	c->row[0].len = strlen(c->label);
	snprintf(c->names[0], sizeof(c->names[0]), "label");
	for (i = 0; i < nparams; i++) {
		/* Parameters are valid during this call only; a real driver
		 * copies what its later calls need. This one returns them
		 * only as numbers, bools, timestamps and NULLs, which are
		 * copied whole. */
		c->row[i + 1] = params[i];
		if (params[i].type == DBR_TYPE_TEXT ||
		    params[i].type == DBR_TYPE_BLOB)
			c->row[i + 1].type = DBR_TYPE_NULL;
		snprintf(c->names[i + 1], sizeof(c->names[0]), "p%zu", i + 1);
	}
	c->ncols = nparams + 1;
	c->state = 1;
	return DBR_OK;
}

static int tmpl_next(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct tmpl_conn *c = tmpl_conn(conn);

	(void)err;
	if (c->state == 1) {
		c->state = 2;
		return DBR_ROW;
	}
	c->state = 3;
	return DBR_DONE;
}

static size_t tmpl_column_count(struct dbr_driver_conn *conn)
{
	return tmpl_conn(conn)->ncols;
}

static const char *tmpl_column_name(struct dbr_driver_conn *conn, size_t col)
{
	struct tmpl_conn *c = tmpl_conn(conn);

	return col < c->ncols ? c->names[col] : NULL;
}

static void tmpl_column(struct dbr_driver_conn *conn, size_t col,
			struct dbr_value *out)
{
	struct tmpl_conn *c = tmpl_conn(conn);

	*out = col < c->ncols && c->state == 2 ? c->row[col] : dbr_null();
}

static void tmpl_finish(struct dbr_driver_conn *conn)
{
	tmpl_conn(conn)->state = 0;
}

static const struct dbr_driver tmpl_driver = {
	.abi_version = DBR_ABI_VERSION,
	.struct_size = sizeof(struct dbr_driver),
	.option_size = sizeof(struct dbr_option_decl),
	.name = "template",
	.version = "0.1.0",
	.caps = DBR_CAP_KV,
	.options = tmpl_options,
	.open = tmpl_open,
	.close = tmpl_close,
	.query = tmpl_query,
	.next = tmpl_next,
	.column_count = tmpl_column_count,
	.column_name = tmpl_column_name,
	.column = tmpl_column,
	.finish = tmpl_finish,
};

DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host);

DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host)
{
	tmpl_host = host;
	return &tmpl_driver;
}
