/*
 * tablelist.c - catalog rows into the tables of list_tables().
 */
#include <stdlib.h>
#include <string.h>

#include "tablelist.h"

void dbr_tablelist_init(struct dbr_tablelist *t, dbr_table_fn fn, void *ud)
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->ud = ud;
}

/* Forget the current table's columns and name. */
static void clear(struct dbr_tablelist *t)
{
	while (t->n) {
		t->n--;
		free((char *)t->cols[t->n].name);
		free((char *)t->cols[t->n].decl_type);
	}
	free(t->schema);
	free(t->name);
	t->schema = t->name = NULL;
}

void dbr_tablelist_end(struct dbr_tablelist *t)
{
	struct dbr_table_info ti;

	if (t->name && t->n) {
		memset(&ti, 0, sizeof(ti));
		ti.struct_size = sizeof(ti);
		ti.column_size = sizeof(struct dbr_column_info);
		ti.schema = t->schema;
		ti.name = t->name;
		ti.columns = t->cols;
		ti.ncolumns = t->n;
		t->fn(t->ud, &ti);
	}
	clear(t);
}

int dbr_tablelist_add(struct dbr_tablelist *t, const char *schema,
		      const char *name, const struct dbr_column_info *col)
{
	struct dbr_column_info *c;

	if (!t->name || strcmp(t->name, name) || strcmp(t->schema, schema)) {
		dbr_tablelist_end(t);
		t->schema = strdup(schema);
		t->name = strdup(name);
		if (!t->schema || !t->name)
			return -1;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		void *v = realloc(t->cols, cap * sizeof(*t->cols));

		if (!v)
			return -1;
		t->cols = v;
		t->cap = cap;
	}
	c = &t->cols[t->n];
	*c = *col;
	c->name = strdup(col->name ? col->name : "");
	c->decl_type = strdup(col->decl_type ? col->decl_type : "");
	if (!c->name || !c->decl_type) {
		free((char *)c->name);
		free((char *)c->decl_type);
		return -1;
	}
	t->n++;
	return 0;
}

void dbr_tablelist_release(struct dbr_tablelist *t)
{
	clear(t);
	free(t->cols);
	t->cols = NULL;
	t->cap = 0;
}
