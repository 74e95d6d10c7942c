/*
 * catalog.c - a source's tables through its driver's list_tables call,
 * normalised to this core's struct sizes.
 */
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "handle.h"

/* What the driver's callback forwards to the caller's. */
struct relay {
	dbr_table_fn fn;
	void *ud;
	struct dbr_column_info *cols; /* this core's copies */
	size_t cap;
	bool nomem;
};

/* Copy min(have, want) bytes of src into a zeroed dst of want bytes. */
static void copy_sized(void *dst, size_t want, const void *src, size_t have)
{
	memset(dst, 0, want);
	memcpy(dst, src, have < want ? have : want);
}

static void relay_table(void *ud, const struct dbr_table_info *in)
{
	struct relay *r = ud;
	struct dbr_table_info t;
	const char *col;
	size_t i;

	if (r->nomem || !in || in->struct_size < sizeof(uint32_t) * 2)
		return;
	copy_sized(&t, sizeof(t), in, in->struct_size);
	if (t.ncolumns > r->cap) {
		if (dbr__grow(&r->cols, &r->cap, t.ncolumns,
			      sizeof(*r->cols))) {
			r->nomem = true;
			return;
		}
	}
	col = (const char *)t.columns;
	for (i = 0; i < t.ncolumns; i++)
		copy_sized(&r->cols[i], sizeof(r->cols[i]),
			   col + i * t.column_size, t.column_size);
	t.struct_size = sizeof(t);
	t.column_size = sizeof(struct dbr_column_info);
	t.columns = r->cols;
	if (!t.schema)
		t.schema = "";
	if (t.name)
		r->fn(r->ud, &t);
}

int dbr__catalog_tables(struct dbr_source_config *s, dbr_table_fn fn, void *ud,
			struct dbr_error *err)
{
	struct relay r = { fn, ud, NULL, 0, false };
	struct dbr__pconn *c;
	int rc;

	if (!s->drv->vt.list_tables)
		return dbr__error_set(err, DBR_E_UNSUPPORTED, s->name,
				      "source '%s': driver '%s' cannot list "
				      "its tables",
				      s->name, s->drv->vt.name);
	rc = dbr__pool_acquire(&s->rt->pool, &c, err);
	if (rc)
		return rc;
	rc = s->drv->vt.list_tables(c->dc, relay_table, &r, err);
	if (rc) {
		c->errors++;
		dbr__error_source(err, s->name);
	} else if (r.nomem) {
		rc = dbr__error_set(err, DBR_E_NOMEM, s->name,
				    "source '%s': out of memory", s->name);
	}
	dbr__pool_put(c);
	dbr__free(r.cols);
	return rc;
}

bool dbr__catalog_is_own(const char *table)
{
	return !strncasecmp(table, "dbroute_", 8) ||
	       !strncasecmp(table, "_dbroute_", 9);
}
