/*
 * named.c - `:name` placeholders translated to `?` and their values laid
 * out in placeholder order (named.h).
 *
 * The shared lexer reads the statement in the dialect of the source that
 * runs it (sqlscan.h, DBR_SQLSCAN_NAMED), so a `:name` inside a string, a
 * quoted identifier, a comment or a dollar quote, a PostgreSQL `::` cast
 * or an array slice is never a parameter. Each thread keeps the last
 * NAMED_CACHE translations, by text and dialect, and buffers that only
 * grow: a repeated statement is neither lexed nor allocated again. The
 * cache outlives handles, so its memory is the C library's, as the
 * lexer's buffers are, never dbr_set_allocator()'s (which may change
 * between two handles).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "driver.h"
#include "named.h"
#include "sqlscan.h"

#define NAMED_CACHE 16

/* One statement translated: its placeholders' names point into sql. */
struct entry {
	char *sql; /* as given (owned); NULL: a free slot */
	uint32_t flags;
	char *text;		   /* with `?` placeholders (owned) */
	struct dbr_sqlnames names; /* each `:name`, in order (owned) */
	uint64_t used;		   /* the clock at its last use */
};

/* A thread's cache and buffers. */
struct named_tls {
	struct entry e[NAMED_CACHE];
	uint64_t clock;
	struct dbr_value *v; /* the values in placeholder order */
	bool *seen;	     /* per parameter: a placeholder uses it */
	size_t vcap, scap;
};

_Thread_local uint64_t dbr__named_misses;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static bool tls_ok;

/* The lexer's buffers (text, names) are its own, from realloc. */
static void entry_clear(struct entry *e)
{
	free(e->sql);
	free(e->text);
	free(e->names.v);
	memset(e, 0, sizeof(*e));
}

static void tls_free(void *p)
{
	struct named_tls *t = p;
	size_t i;

	for (i = 0; i < NAMED_CACHE; i++)
		entry_clear(&t->e[i]);
	free(t->v);
	free(t->seen);
	free(t);
}

static void tls_init(void)
{
	tls_ok = pthread_key_create(&tls_key, tls_free) == 0;
}

static struct named_tls *tls_get(void)
{
	struct named_tls *t;

	if (pthread_once(&tls_once, tls_init) || !tls_ok)
		return NULL;
	t = pthread_getspecific(tls_key);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (pthread_setspecific(tls_key, t)) {
		free(t);
		return NULL;
	}
	return t;
}

/* The cached translation of sql in dialect flags, made on a miss. */
static int translate(struct named_tls *t, const char *sql, uint32_t flags,
		     struct entry **out, struct dbr_error *err)
{
	struct entry *e, *lru = &t->e[0];
	struct dbr_sqlbuf buf = { NULL, 0 };
	struct dbr_sqlscan info;
	size_t i;

	t->clock++;
	for (i = 0; i < NAMED_CACHE; i++) {
		e = &t->e[i];
		if (e->sql && e->flags == flags && !strcmp(e->sql, sql)) {
			e->used = t->clock;
			*out = e;
			return DBR_OK;
		}
		if (e->used < lru->used)
			lru = e;
	}
	e = lru;
	entry_clear(e);
	dbr__named_misses++;
	if (dbr_sqlscan_named(sql, flags | DBR_SQLSCAN_QMARK, &buf, &info,
			      &e->names))
		goto nomem;
	if (info.mixed) {
		dbr_sqlbuf_free(&buf);
		free(e->names.v);
		memset(&e->names, 0, sizeof(e->names));
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "statement mixes '?' and ':name' "
				      "placeholders: '?' at offset %zu (a "
				      "literal '?' is written '?\?')",
				      (size_t)(info.mixed - sql));
	}
	e->sql = strdup(sql);
	if (!e->sql)
		goto nomem;
	e->text = buf.buf;
	e->flags = flags;
	e->used = t->clock;
	*out = e;
	return DBR_OK;
nomem:
	dbr_sqlbuf_free(&buf);
	entry_clear(e);
	return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
}

/* Grow *p (of *cap elements of size) to hold n, by doubling. */
static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap : 8;
	void *q;

	if (n <= *cap)
		return 0;
	while (c < n) {
		if (c > SIZE_MAX / 2 / size)
			return -1;
		c *= 2;
	}
	q = realloc(*p, c * size);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

/* The names are usable: none NULL, none twice. */
static int check_list(const struct dbr__named *nm, struct dbr_error *err)
{
	size_t i, j;

	/* As many as any SQL backend binds; the check below is quadratic. */
	if (nm->n > 65535)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "%zu named parameters: at most 65535",
				      nm->n);
	for (i = 0; i < nm->n; i++) {
		if (!nm->params[i].name)
			return dbr__error_set(err, DBR_E_MISUSE, NULL,
					      "named parameter %zu has no "
					      "name",
					      i + 1);
		for (j = 0; j < i; j++)
			if (!strcmp(nm->params[i].name, nm->params[j].name))
				return dbr__error_set(
					err, DBR_E_MISUSE, NULL,
					"named parameter '%s' is given twice",
					nm->params[i].name);
	}
	return DBR_OK;
}

/* Each placeholder's value from the list; every entry used. */
static int lay_out(struct named_tls *t, const struct entry *e,
		   const struct dbr__named *nm, struct dbr_error *err)
{
	size_t k, j;

	if (grow((void **)&t->v, &t->vcap, e->names.n + 1, sizeof(*t->v)) ||
	    grow((void **)&t->seen, &t->scap, nm->n + 1, sizeof(*t->seen)))
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	memset(t->seen, 0, nm->n * sizeof(*t->seen));
	for (k = 0; k < e->names.n; k++) {
		const char *name = e->sql + e->names.v[k].at;
		size_t len = e->names.v[k].len;

		for (j = 0; j < nm->n; j++)
			if (!strncmp(nm->params[j].name, name, len) &&
			    !nm->params[j].name[len])
				break;
		if (j == nm->n)
			return dbr__error_set(err, DBR_E_MISUSE, NULL,
					      "placeholder ':%.*s' has no "
					      "named parameter",
					      (int)(len > 64 ? 64 : len), name);
		t->v[k] = nm->params[j].value;
		t->seen[j] = true;
	}
	for (j = 0; j < nm->n; j++)
		if (!t->seen[j])
			return dbr__error_set(err, DBR_E_MISUSE, NULL,
					      "named parameter '%s' is used "
					      "by no placeholder",
					      nm->params[j].name);
	return DBR_OK;
}

int dbr__named_bind(const struct dbr_source_config *s, const char *sql,
		    const struct dbr__named *nm, const char **out_sql,
		    const struct dbr_value **out_params, size_t *out_n,
		    struct dbr_error *err)
{
	struct named_tls *t;
	struct entry *e = NULL;
	int rc;

	if (!(s->drv->vt.caps & DBR_CAP_SQL))
		return dbr__error_set(err, DBR_E_UNSUPPORTED, s->name,
				      "source '%s': named parameters need a "
				      "SQL source (driver '%s')",
				      s->name, s->drv->type);
	rc = check_list(nm, err);
	if (rc)
		return rc;
	t = tls_get();
	if (!t)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	rc = translate(t, sql, s->drv->vt.lex_flags, &e, err);
	if (!rc)
		rc = lay_out(t, e, nm, err);
	if (rc)
		return rc;
	*out_sql = e->text;
	*out_params = t->v;
	*out_n = e->names.n;
	return DBR_OK;
}
