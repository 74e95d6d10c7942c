/*
 * move_plan.c - a chat move's plan: which tables hold the chat's rows on
 * its source (found as `dbroute mapping set` finds them: mapstore.h),
 * whether the destination holds each with the same columns, primary key
 * and types (exact PostgreSQL -> PostgreSQL, portable classes across
 * engines), how many rows the chat has in each, and the mode a move would
 * take. Also the discovery of a source's chat, keyless and global tables.
 * Reads catalogs and counts rows; writes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "config.h"
#include "handle.h"
#include "mapstore.h"
#include "move_plan.h"
#include "query.h"

/*
 * Mode choice: blocking when the whole copy is estimated to fit in half
 * the fence budget ([move] fence_timeout, 2 s by default) at the copy's
 * target rate, 10,000 rows/s (issue 14), until the copy measures its own.
 */
#define FENCE_TIMEOUT_S 2.0
#define COPY_ROWS_PER_S 10000.0

/* The catalog's callback: copy one table (not dbroute's own). */
static void copy_table(void *ud, const struct dbr_table_info *ti)
{
	struct dbr__catalog_copy *c = ud;
	struct dbr__cat_table *t;
	size_t i;

	if (c->nomem || dbr__catalog_is_own(ti->name))
		return;
	if (dbr__grow(&c->v, &c->cap, c->n + 1, sizeof(*c->v))) {
		c->nomem = true;
		return;
	}
	t = &c->v[c->n++];
	memset(t, 0, sizeof(*t));
	t->schema = dbr__strdup(ti->schema);
	t->name = dbr__strdup(ti->name);
	t->quoted = dbr__mapping_quoted(ti->schema, ti->name);
	t->cols = dbr__calloc(ti->ncolumns + 1, sizeof(*t->cols));
	if (!t->schema || !t->name || !t->quoted || !t->cols) {
		c->nomem = true;
		return;
	}
	for (i = 0; i < ti->ncolumns; i++) {
		const struct dbr_column_info *in = &ti->columns[i];
		struct dbr__cat_column *col = &t->cols[t->ncols];

		col->name = dbr__strdup(in->name ? in->name : "");
		col->decl = dbr__strdup(in->decl_type ? in->decl_type : "");
		col->cls = in->cls;
		col->pk = in->pk;
		t->ncols++;
		if (!col->name || !col->decl) {
			c->nomem = true;
			return;
		}
	}
}

int dbr__catalog_copy(struct dbr *db, const char *name,
		      struct dbr__catalog_copy *c, struct dbr_error *err)
{
	struct dbr_source_config *s = dbr__config_source(db->cfg, name);
	int rc;

	memset(c, 0, sizeof(*c));
	if (!s)
		return dbr__error_set(err, DBR_E_NOTFOUND, NULL,
				      "no source named '%s'", name);
	rc = dbr__catalog_tables(s, copy_table, c, err);
	if (!rc && c->nomem)
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	return rc;
}

void dbr__catalog_copy_release(struct dbr__catalog_copy *c)
{
	size_t i, j;

	for (i = 0; i < c->n; i++) {
		struct dbr__cat_table *t = &c->v[i];

		for (j = 0; j < t->ncols; j++) {
			dbr__free(t->cols[j].name);
			dbr__free(t->cols[j].decl);
		}
		dbr__free(t->cols);
		dbr__free(t->schema);
		dbr__free(t->name);
		dbr__free(t->quoted);
	}
	dbr__free(c->v);
	memset(c, 0, sizeof(*c));
}

const struct dbr__cat_table *
dbr__catalog_copy_find(const struct dbr__catalog_copy *c, const char *quoted)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].quoted, quoted))
			return &c->v[i];
	return NULL;
}

/* The destination's table named as t is: the same name as written (the
 * same schema first, else the first on the search path), else the only
 * one ignoring case. */
static const struct dbr__cat_table *
dst_table(const struct dbr__catalog_copy *dst, const struct dbr__cat_table *t)
{
	const struct dbr__cat_table *exact = NULL, *caseless = NULL;
	size_t i, ncaseless = 0;

	for (i = 0; i < dst->n; i++) {
		const struct dbr__cat_table *d = &dst->v[i];

		if (!strcmp(d->name, t->name)) {
			if (!strcmp(d->schema, t->schema))
				return d;
			if (!exact)
				exact = d;
		} else if (!strcasecmp(d->name, t->name) && !ncaseless++) {
			caseless = d;
		}
	}
	if (exact)
		return exact;
	return ncaseless == 1 ? caseless : NULL;
}

/* t's column `name`: as written, else the only one ignoring case. */
static const struct dbr__cat_column *column_of(const struct dbr__cat_table *t,
					       const char *name)
{
	const struct dbr__cat_column *caseless = NULL;
	size_t i, n = 0;

	for (i = 0; i < t->ncols; i++) {
		if (!strcmp(t->cols[i].name, name))
			return &t->cols[i];
		if (!strcasecmp(t->cols[i].name, name) && !n++)
			caseless = &t->cols[i];
	}
	return n == 1 ? caseless : NULL;
}

static const char *class_name(uint32_t cls)
{
	static const char *const names[] = { "unknown", "integer", "real",
					     "text",	"blob",	   "other" };

	return cls < sizeof(names) / sizeof(*names) ? names[cls] : "unknown";
}

/* Whether s contains word w, ignoring ASCII case. */
static bool has_word(const char *s, const char *w)
{
	size_t n = strlen(w);

	for (; *s; s++)
		if (!strncasecmp(s, w, n))
			return true;
	return false;
}

/*
 * Why a column of this class and declared type cannot carry its values
 * exactly to another engine, or NULL when it can: the integer family,
 * double precision, text and blobs only (docs/moving-chats.md).
 */
static const char *not_portable(const struct dbr__cat_column *c)
{
	if (c->cls == DBR_CLASS_OTHER || !c->cls)
		return "its type is not portable between engines";
	if (!*c->decl)
		return "it has no declared type (SQLite keeps any value "
		       "there)";
	if (c->cls == DBR_CLASS_REAL &&
	    (has_word(c->decl, "numeric") || has_word(c->decl, "decimal")))
		return "exact decimals are not portable between engines";
	if (c->cls == DBR_CLASS_REAL &&
	    (!strcasecmp(c->decl, "real") || has_word(c->decl, "float4") ||
	     !strncasecmp(c->decl, "float", 5)))
		return "single precision does not hold the other engine's "
		       "doubles";
	return NULL;
}

/* How two sources' column types are compared. */
enum type_rule {
	EXACT,	 /* the same declared type (PostgreSQL, MySQL) */
	CLASS,	 /* the same class (SQLite: values keep their own types) */
	PORTABLE /* across engines: the same portable class */
};

/* Compare column c of table t with the destination's; problem into buf
 * (empty when none). */
static void compare_column(const struct dbr__cat_column *c,
			   const struct dbr__cat_column *d, enum type_rule rule,
			   char *buf, size_t size)
{
	const char *why;

	buf[0] = '\0';
	if (!d) {
		snprintf(buf, size, "column %s is missing on the destination",
			 c->name);
	} else if (c->pk != d->pk) {
		snprintf(buf, size,
			 "column %s: the primary key differs (position %u "
			 "on the source, %u on the destination; 0: not in "
			 "the key)",
			 c->name, c->pk, d->pk);
	} else if (rule == EXACT && strcmp(c->decl, d->decl)) {
		snprintf(buf, size,
			 "column %s: type %s on the source, %s on the "
			 "destination",
			 c->name, c->decl, d->decl);
	} else if (rule != EXACT && c->cls != d->cls) {
		snprintf(buf, size,
			 "column %s: %s (%s) on the source, %s (%s) on the "
			 "destination",
			 c->name, class_name(c->cls), c->decl,
			 class_name(d->cls), d->decl);
	} else if (rule == PORTABLE &&
		   ((why = not_portable(c)) || (why = not_portable(d)))) {
		snprintf(buf, size,
			 "column %s (%s on the source, %s on the "
			 "destination): %s",
			 c->name, c->decl, d->decl, why);
	}
}

/* The chat tables of the source, as mapstore.c finds them. */
struct chat_tables {
	struct ct {
		char *from, *column;
		bool text;
	} * v;
	size_t n, cap;
	bool nomem;
};

static void on_chat_table(void *ud, const char *from, const char *column,
			  bool text, size_t conf)
{
	struct chat_tables *t = ud;

	(void)conf;
	if (t->nomem || dbr__grow(&t->v, &t->cap, t->n + 1, sizeof(*t->v))) {
		t->nomem = true;
		return;
	}
	t->v[t->n].from = dbr__strdup(from);
	t->v[t->n].column = dbr__strdup(column);
	t->v[t->n].text = text;
	if (!t->v[t->n].from || !t->v[t->n].column) {
		dbr__free(t->v[t->n].from);
		dbr__free(t->v[t->n].column);
		t->nomem = true;
		return;
	}
	t->n++;
}

static void chat_tables_release(struct chat_tables *t)
{
	while (t->n--) {
		dbr__free(t->v[t->n].from);
		dbr__free(t->v[t->n].column);
	}
	dbr__free(t->v);
	memset(t, 0, sizeof(*t));
}

static int chat_tables_of(struct dbr *db, const char *source, int64_t chat,
			  struct chat_tables *t, struct dbr_error *err)
{
	int rc = dbr__mapping_chat_tables(db, source, chat, on_chat_table, t,
					  err);

	if (!rc && t->nomem)
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	return rc;
}

/* A source that chat moves can use: known, SQL, with a catalog. */
static int move_source(const struct dbr__config *cfg, const char *name,
		       const char *role, struct dbr_source_config **out,
		       struct dbr_error *err)
{
	struct dbr_source_config *s = dbr__config_source(cfg, name);

	*out = s;
	if (!s)
		return dbr__error_set(err, DBR_E_NOTFOUND, NULL,
				      "%s source '%s' is not in this "
				      "configuration",
				      role, name);
	if (!(s->drv->vt.caps & DBR_CAP_SQL))
		return dbr__error_set(err, DBR_E_UNSUPPORTED, name,
				      "%s source '%s' is not an SQL source: "
				      "chats move between SQL sources only",
				      role, name);
	if (strcmp(s->drv->vt.name, "sqlite") &&
	    strcmp(s->drv->vt.name, "postgres"))
		return dbr__error_set(err, DBR_E_UNSUPPORTED, name,
				      "%s source '%s': chats move between "
				      "SQLite and PostgreSQL sources only, "
				      "not driver '%s' (its SQL quotes "
				      "names otherwise)",
				      role, name, s->drv->vt.name);
	if (!s->drv->vt.list_tables)
		return dbr__error_set(err, DBR_E_UNSUPPORTED, name,
				      "%s source '%s': driver '%s' cannot "
				      "list its tables, so their schemas "
				      "cannot be compared",
				      role, name, s->drv->vt.name);
	return DBR_OK;
}

static enum type_rule rule_of(const struct dbr_source_config *a,
			      const struct dbr_source_config *b)
{
	if (strcmp(a->drv->vt.name, b->drv->vt.name))
		return PORTABLE;
	return strcmp(a->drv->vt.name, "sqlite") ? EXACT : CLASS;
}

/* Count chat's rows in one table of the source into *n. */
static int count_rows(struct dbr *db, const char *source, const struct ct *t,
		      int64_t chat, int64_t *n, struct dbr_error *err)
{
	char sql[1200], text[24];
	struct dbr_result *res = NULL;
	struct dbr_value p;
	bool row = false;
	int rc;

	snprintf(text, sizeof(text), "%lld", (long long)chat);
	p = t->text ? dbr_text(text, strlen(text)) : dbr_int64(chat);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE %s = ?",
		 t->from, t->column);
	rc = dbr_query_source(db, source, sql, &p, 1, &res, err);
	if (!rc)
		rc = dbr__result_first(res, &row, err);
	*n = row ? dbr_result_int64(res, 0) : 0;
	dbr_result_free(res);
	return rc;
}

void dbr_move_plan_free(struct dbr_move_plan *plan)
{
	size_t i, j;

	if (!plan)
		return;
	for (i = 0; i < plan->ntables; i++) {
		struct dbr_move_table *t =
			(struct dbr_move_table *)&plan->tables[i];

		for (j = 0; j < t->ncolumns; j++) {
			dbr__free((char *)t->columns[j].name);
			dbr__free((char *)t->columns[j].type);
			dbr__free((char *)t->columns[j].dst_type);
		}
		dbr__free((void *)t->columns);
		dbr__free((char *)t->name);
		dbr__free((char *)t->dst_name);
		dbr__free((char *)t->chat_column);
		dbr__free((char *)t->problem);
	}
	dbr__free((void *)plan->tables);
	dbr__free(plan);
}

/* Fill one plan table from the source's table st (NULL: not listed) and
 * the destination's dt (NULL: missing). Returns false when out of
 * memory. */
static bool plan_table(struct dbr_move_table *out, const struct ct *ct,
		       const struct dbr__cat_table *st,
		       const struct dbr__cat_table *dt, enum type_rule rule)
{
	struct dbr_move_column *cols;
	char why[700] = "";
	size_t i;

	out->name = dbr__strdup(ct->from);
	out->chat_column = dbr__strdup(ct->column);
	out->dst_name = dbr__strdup(dt ? dt->quoted : "");
	if (!out->name || !out->chat_column || !out->dst_name)
		return false;
	if (!st) {
		snprintf(why, sizeof(why), "no such table on the source");
	} else if (!dt) {
		snprintf(why, sizeof(why), "missing on the destination");
	}
	cols = dbr__calloc(st ? st->ncols + 1 : 1, sizeof(*cols));
	if (!cols)
		return false;
	out->columns = cols;
	for (i = 0; st && i < st->ncols; i++) {
		const struct dbr__cat_column *c = &st->cols[i];
		const struct dbr__cat_column *d =
			dt ? column_of(dt, c->name) : NULL;

		cols[i].name = dbr__strdup(c->name);
		cols[i].type = dbr__strdup(c->decl);
		cols[i].dst_type = dbr__strdup(d ? d->decl : "");
		cols[i].cls = class_name(c->cls);
		cols[i].pk = c->pk;
		out->ncolumns++;
		if (!cols[i].name || !cols[i].type || !cols[i].dst_type)
			return false;
		out->has_pk |= c->pk != 0;
		if (dt && !why[0])
			compare_column(c, d, rule, why, sizeof(why));
	}
	for (i = 0; st && dt && !why[0] && i < dt->ncols; i++)
		if (!column_of(st, dt->cols[i].name))
			snprintf(why, sizeof(why),
				 "column %s is on the destination only",
				 dt->cols[i].name);
	if (why[0] && !(out->problem = dbr__strdup(why)))
		return false;
	return true;
}

/* The mode a move would take, and why. */
static void choose_mode(struct dbr_move_plan *p)
{
	size_t i;

	for (i = 0; i < p->ntables; i++)
		if (!p->tables[i].has_pk) {
			p->mode = "blocking";
			p->mode_reason = "a table without a primary key can "
					 "only move in blocking mode";
			return;
		}
	if ((double)p->rows / COPY_ROWS_PER_S < FENCE_TIMEOUT_S / 2) {
		p->mode = "blocking";
		p->mode_reason = "the estimated copy fits in half the fence "
				 "budget";
	} else {
		p->mode = "online";
		p->mode_reason = "the estimated copy is longer than half the "
				 "fence budget";
	}
}

/* Build p's tables from the source's chat tables and both catalogs. */
static int plan_tables(struct dbr *db, struct dbr_move_plan *p,
		       const struct chat_tables *ct,
		       const struct dbr__catalog_copy *src,
		       const struct dbr__catalog_copy *dst, enum type_rule rule,
		       struct dbr_error *err)
{
	struct dbr_move_table *tables;
	size_t i;
	int rc;

	tables = dbr__calloc(ct->n + 1, sizeof(*tables));
	if (!tables)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	p->tables = tables;
	for (i = 0; i < ct->n; i++) {
		const struct dbr__cat_table *st =
			dbr__catalog_copy_find(src, ct->v[i].from);
		const struct dbr__cat_table *dt =
			st ? dst_table(dst, st) : NULL;

		p->ntables++;
		if (!plan_table(&tables[i], &ct->v[i], st, dt, rule))
			return dbr__error_set(err, DBR_E_NOMEM, NULL,
					      "out of memory");
		tables[i].rows = -1;
		if (st && (rc = count_rows(db, p->from, &ct->v[i], p->chat,
					   &tables[i].rows, err)))
			return rc;
		if (tables[i].rows > 0)
			p->rows += tables[i].rows;
		if (tables[i].problem && p->status == DBR_OK) {
			p->status = DBR_E_CONSTRAINT;
			snprintf(p->message, sizeof(p->message),
				 "chat %lld cannot move from '%s' to '%s': "
				 "table %s: %s",
				 (long long)p->chat, p->from, p->to,
				 tables[i].name, tables[i].problem);
		}
	}
	choose_mode(p);
	if (!p->status)
		return DBR_OK;
	dbr__error_set(err, p->status, p->to, "%s", p->message);
	dbr__error_hint(err, "create the chat's tables on the destination "
			     "as they are on the source (the same columns, "
			     "primary keys and portable types): see "
			     "docs/moving-chats.md");
	return p->status;
}

/* Check the arguments and the two sources; fill p's names. */
static int plan_sources(struct dbr *db, int64_t chat, const char *to,
			struct dbr_move_plan *p, enum type_rule *rule,
			struct dbr_error *err)
{
	const struct dbr__config *cfg = db->cfg;
	struct dbr_source_config *s, *d;
	int rc;

	if (!cfg->has_store)
		return dbr__error_set(err, DBR_E_CONFIG, NULL,
				      "moving a chat needs a [mapping] store "
				      "(docs/operations.md)");
	p->chat = chat;
	snprintf(p->to, sizeof(p->to), "%s", to);
	if ((rc = move_source(cfg, to, "destination", &d, err)))
		return rc;
	if ((rc = dbr__mapping_route(db, chat, p->from, err)))
		return rc;
	if ((rc = move_source(cfg, p->from, "the chat's", &s, err)))
		return rc;
	if (!strcmp(p->from, p->to)) {
		dbr__error_set(err, DBR_E_MISUSE, NULL,
			       "chat %lld already lives on source '%s'",
			       (long long)chat, to);
		dbr__error_hint(err, "nothing to move");
		return DBR_E_MISUSE;
	}
	*rule = rule_of(s, d);
	return DBR_OK;
}

int dbr_move_plan(struct dbr *db, int64_t chat, const char *to,
		  struct dbr_move_plan **plan, struct dbr_error *err)
{
	struct dbr__catalog_copy src = { 0 }, dst = { 0 };
	struct chat_tables ct = { 0 };
	struct dbr_move_plan *p;
	enum type_rule rule = PORTABLE;
	int rc;

	if (plan)
		*plan = NULL;
	if (!db || !to || !plan)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_move_plan: db, to and plan are "
				      "required");
	p = dbr__calloc(1, sizeof(*p));
	if (!p)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	rc = plan_sources(db, chat, to, p, &rule, err);
	if (!rc)
		rc = dbr__catalog_copy(db, p->from, &src, err);
	if (!rc)
		rc = dbr__catalog_copy(db, p->to, &dst, err);
	if (!rc)
		rc = chat_tables_of(db, p->from, chat, &ct, err);
	if (!rc)
		rc = plan_tables(db, p, &ct, &src, &dst, rule, err);
	chat_tables_release(&ct);
	dbr__catalog_copy_release(&src);
	dbr__catalog_copy_release(&dst);
	if (rc && (rc != DBR_E_CONSTRAINT || p->status != rc)) {
		dbr_move_plan_free(p);
		return rc;
	}
	*plan = p;
	return rc;
}

/* The primary key's columns of t in key order, comma-separated, into
 * buf. */
static void key_text(const struct dbr__cat_table *t, char *buf, size_t size)
{
	size_t i, len = 0;
	uint32_t pos;

	buf[0] = '\0';
	for (pos = 1; t && pos <= t->ncols; pos++)
		for (i = 0; i < t->ncols; i++)
			if (t->cols[i].pk == pos && len < size)
				len += (size_t)snprintf(buf + len, size - len,
							"%s%s", len ? "," : "",
							t->cols[i].name);
}

/* One found table, its strings packed later. */
struct found {
	const char *table, *column;
	char key[512];
	int kind;
};

/* The found tables into one owned block: the array, then its strings. */
static int pack_found(const struct found *f, size_t n,
		      struct dbr_move_found **out, struct dbr_error *err)
{
	size_t bytes = (n + 1) * sizeof(**out), i;
	struct dbr_move_found *v;
	char *p;

	for (i = 0; i < n; i++)
		bytes += strlen(f[i].table) + strlen(f[i].key) + 2 +
			 (f[i].column ? strlen(f[i].column) + 1 : 0);
	v = dbr__calloc(1, bytes);
	if (!v)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	p = (char *)(v + n + 1);
	for (i = 0; i < n; i++) {
		v[i].kind = f[i].kind;
		v[i].table = strcpy(p, f[i].table);
		p += strlen(p) + 1;
		v[i].primary_key = strcpy(p, f[i].key);
		p += strlen(p) + 1;
		if (f[i].column) {
			v[i].chat_column = strcpy(p, f[i].column);
			p += strlen(p) + 1;
		}
	}
	*out = v;
	return DBR_OK;
}

/* Chat tables first (in the order found), then the global ones. */
static int discover(const struct chat_tables *ct,
		    const struct dbr__catalog_copy *cat,
		    struct dbr_move_found **out, size_t *n,
		    struct dbr_error *err)
{
	struct found *f = dbr__calloc(ct->n + cat->n + 1, sizeof(*f));
	size_t i, j, k = 0;
	int rc;

	if (!f)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	for (i = 0; i < ct->n; i++, k++) {
		const struct dbr__cat_table *t =
			dbr__catalog_copy_find(cat, ct->v[i].from);

		f[k].table = ct->v[i].from;
		f[k].column = ct->v[i].column;
		key_text(t, f[k].key, sizeof(f[k].key));
		f[k].kind = f[k].key[0] ? DBR_MOVE_CHAT : DBR_MOVE_NO_PK;
	}
	for (j = 0; j < cat->n; j++) {
		for (i = 0; i < ct->n; i++)
			if (!strcmp(ct->v[i].from, cat->v[j].quoted))
				break;
		if (i < ct->n)
			continue;
		f[k].table = cat->v[j].quoted;
		key_text(&cat->v[j], f[k].key, sizeof(f[k].key));
		f[k++].kind = DBR_MOVE_GLOBAL;
	}
	rc = k ? pack_found(f, k, out, err) : DBR_OK;
	if (!rc)
		*n = k;
	dbr__free(f);
	return rc;
}

int dbr_move_discover(struct dbr *db, const char *source,
		      struct dbr_move_found **found, size_t *n,
		      struct dbr_error *err)
{
	struct dbr__catalog_copy cat = { 0 };
	struct chat_tables ct = { 0 };
	const struct dbr__config *cfg;
	struct dbr_source_config *s;
	int rc;

	if (found)
		*found = NULL;
	if (n)
		*n = 0;
	if (!db || !found || !n)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_move_discover: db, found and n "
				      "are required");
	cfg = db->cfg;
	if (!source)
		source = cfg->sources[cfg->default_source].name;
	rc = move_source(cfg, source, "the", &s, err);
	if (!rc)
		rc = dbr__catalog_copy(db, source, &cat, err);
	if (!rc)
		rc = chat_tables_of(db, source, 0, &ct, err);
	if (!rc)
		rc = discover(&ct, &cat, found, n, err);
	chat_tables_release(&ct);
	dbr__catalog_copy_release(&cat);
	return rc;
}
