/*
 * mapstore.c - the mapping store: the chat -> source table every process
 * shares, its version and its change log, kept in four tables of the
 * `[mapping] store` source (docs/operations.md lists their columns):
 *
 *   dbroute_meta     (k, v): ('version', n) and ('schema', 1)
 *   dbroute_mapping  one row per mapped chat, with the version that set it
 *   dbroute_changes  one row per change, versions 1, 2, 3 ... without gaps:
 *                    the durable audit of routing changes
 *   dbroute_clients  the processes that record themselves (heartbeats)
 *
 * A change is one transaction on the store. Its first statement bumps the
 * version row, which serialises every writer (a row lock on PostgreSQL;
 * on SQLite the write lock BEGIN IMMEDIATE already holds), so each change
 * takes the next version and commits it with its change-log row or not at
 * all. Statements are plain SQL every SQL driver runs (no upsert, no
 * dialect), through the public calls, as an application would.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "handle.h"
#include "mapstore.h"
#include "query.h"
#include "refresh.h"

/* The schema of the store's tables this library writes. */
#define SCHEMA 1

/* Attempts of a change whose chat moved under it, and of init. */
#define ATTEMPTS 5

static const char *const create_sql[] = {
	"CREATE TABLE IF NOT EXISTS dbroute_meta (k VARCHAR(64) PRIMARY KEY, "
	"v BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS dbroute_mapping (chat_id BIGINT PRIMARY "
	"KEY, source VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, "
	"move_id BIGINT, fence_until_ms BIGINT, version BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS dbroute_changes (version BIGINT PRIMARY "
	"KEY, chat_id BIGINT NOT NULL, source VARCHAR(64), state VARCHAR(16) "
	"NOT NULL, move_id BIGINT, at_ms BIGINT NOT NULL, actor VARCHAR(512) "
	"NOT NULL, reason TEXT NOT NULL)",
	"CREATE INDEX IF NOT EXISTS dbroute_changes_chat ON dbroute_changes "
	"(chat_id, version)",
	"CREATE TABLE IF NOT EXISTS dbroute_clients (client_id VARCHAR(255) "
	"PRIMARY KEY, host VARCHAR(255) NOT NULL, pid BIGINT NOT NULL, "
	"version_seen BIGINT NOT NULL, seen_ms BIGINT NOT NULL)",
	/* Chat moves (core/move_record.c): one row per move. */
	"CREATE TABLE IF NOT EXISTS dbroute_moves (move_id BIGINT PRIMARY "
	"KEY, chat_id BIGINT NOT NULL, src VARCHAR(64) NOT NULL, dst "
	"VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, token BIGINT NOT "
	"NULL, owner VARCHAR(512) NOT NULL, lease_until_ms BIGINT NOT NULL, "
	"cursor TEXT NOT NULL, rows_copied BIGINT NOT NULL, pause_ms BIGINT "
	"NOT NULL, attempts BIGINT NOT NULL, started_ms BIGINT NOT NULL, "
	"updated_ms BIGINT NOT NULL, error TEXT NOT NULL)",
	"CREATE UNIQUE INDEX IF NOT EXISTS dbroute_moves_live ON "
	"dbroute_moves (chat_id) WHERE state NOT IN ('switched', 'aborted')",
};

static const char meta_sql[] = "SELECT v FROM dbroute_meta WHERE k = ?";
static const char meta_add_sql[] =
	"INSERT INTO dbroute_meta (k, v) VALUES (?, ?)";
static const char bump_sql[] =
	"UPDATE dbroute_meta SET v = v + ? WHERE k = 'version'";
static const char row_sql[] =
	"SELECT source FROM dbroute_mapping WHERE chat_id = ?";
static const char del_sql[] = "DELETE FROM dbroute_mapping WHERE chat_id = ?";
static const char add_sql[] =
	"INSERT INTO dbroute_mapping (chat_id, source, state, version) "
	"VALUES (?, ?, 'active', ?)";
static const char log_sql[] =
	"INSERT INTO dbroute_changes (version, chat_id, source, state, at_ms, "
	"actor, reason, move_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

/* The store's source name, or DBR_E_CONFIG without [mapping]. */
static int store_of(struct dbr *db, const char *fn, const char **name,
		    struct dbr_error *err)
{
	const struct dbr__config *cfg;

	*name = NULL;
	if (!db)
		return dbr__error_set(err, DBR_E_MISUSE, NULL, "%s: db is NULL",
				      fn);
	cfg = db->cfg; /* one load: a reload may replace it */
	if (!cfg->has_store)
		return dbr__error_set(err, DBR_E_CONFIG, NULL,
				      "%s: the configuration has no [mapping] "
				      "store",
				      fn);
	*name = cfg->sources[cfg->store].name;
	return DBR_OK;
}

/* Run sql in tx, or on the store outside any transaction. */
static int run(struct dbr *db, const char *store, struct dbr_tx *tx,
	       const char *sql, const struct dbr_value *p, size_t n,
	       struct dbr_result **res, struct dbr_error *err)
{
	if (tx)
		return dbr_tx_query(tx, sql, p, n, res, err);
	return dbr_query_source(db, store, sql, p, n, res, err);
}

/* The first column of the first row as an integer; *found says if any. */
static int run_int(struct dbr *db, const char *store, struct dbr_tx *tx,
		   const char *sql, const struct dbr_value *p, size_t n,
		   int64_t *out, bool *found, struct dbr_error *err)
{
	struct dbr_result *res = NULL;
	int rc = run(db, store, tx, sql, p, n, &res, err);

	*found = false;
	if (rc)
		return rc;
	rc = dbr__result_first(res, found, err);
	if (!rc && *found)
		*out = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return rc;
}

/* A chat's source in the store ("" when it has no row) into name. */
static int run_source(struct dbr *db, const char *store, struct dbr_tx *tx,
		      int64_t chat, char *name, struct dbr_error *err)
{
	struct dbr_value p = dbr_int64(chat);
	struct dbr_result *res = NULL;
	size_t len;
	const char *s;
	bool row;
	int rc = run(db, store, tx, row_sql, &p, 1, &res, err);

	name[0] = '\0';
	if (rc)
		return rc;
	rc = dbr__result_first(res, &row, err);
	if (!rc && row) {
		s = dbr_result_text(res, 0, &len);
		snprintf(name, DBR_NAME_SIZE, "%.*s", (int)len, s ? s : "");
	}
	dbr_result_free(res);
	return rc;
}

static int meta_get(struct dbr *db, const char *store, struct dbr_tx *tx,
		    const char *key, int64_t *v, bool *found,
		    struct dbr_error *err)
{
	struct dbr_value p = dbr_text(key, strlen(key));

	*v = 0;
	return run_int(db, store, tx, meta_sql, &p, 1, v, found, err);
}

/* A meta row, added when missing (another process may add it first). */
static int meta_ensure(struct dbr *db, const char *store, const char *key,
		       int64_t value, int64_t *v, struct dbr_error *err)
{
	struct dbr_value p[2] = { dbr_text(key, strlen(key)),
				  dbr_int64(value) };
	struct dbr_error e;
	bool found;
	int rc = meta_get(db, store, NULL, key, v, &found, err);

	if (rc || found)
		return rc;
	rc = dbr_query_source(db, store, meta_add_sql, p, 2, NULL, &e);
	if (rc && rc != DBR_E_CONSTRAINT) {
		*err = e;
		return rc;
	}
	return meta_get(db, store, NULL, key, v, &found, err);
}

/* A store written by a newer dbroute is left alone. */
static int check_schema(const char *store, int64_t schema,
			struct dbr_error *err)
{
	if (schema <= SCHEMA)
		return DBR_OK;
	return dbr__error_set(err, DBR_E_CONFIG, store,
			      "source '%s': the mapping store's schema is "
			      "%lld, newer than this dbroute knows (%d): "
			      "upgrade dbroute",
			      store, (long long)schema, SCHEMA);
}

static int init_once(struct dbr *db, const char *store, struct dbr_error *err)
{
	int64_t v = 0;
	size_t i;
	int rc = DBR_OK;

	for (i = 0; !rc && i < sizeof(create_sql) / sizeof(*create_sql); i++)
		rc = dbr_query_source(db, store, create_sql[i], NULL, 0, NULL,
				      err);
	if (!rc)
		rc = meta_ensure(db, store, "version", 0, &v, err);
	if (!rc)
		rc = meta_ensure(db, store, "schema", SCHEMA, &v, err);
	return rc ? rc : check_schema(store, v, err);
}

int dbr_mapping_init(struct dbr *db, struct dbr_error *err_)
{
	struct dbr_error local = { 0 }, *err = err_ ? err_ : &local;
	struct timespec pause = { 0, 20000000L }; /* 20 ms */
	const char *store;
	int attempt, rc = store_of(db, "dbr_mapping_init", &store, err);

	/*
	 * Two processes creating the tables at once: PostgreSQL may refuse
	 * the second CREATE ... IF NOT EXISTS (a duplicate in its catalog)
	 * until the first commits; the next attempt finds the table.
	 */
	for (attempt = 0; !rc && attempt < ATTEMPTS; attempt++) {
		rc = init_once(db, store, err);
		if (rc != DBR_E_STMT && rc != DBR_E_CONSTRAINT)
			break;
		if (attempt + 1 < ATTEMPTS) {
			rc = DBR_OK;
			nanosleep(&pause, NULL);
		}
	}
	return rc;
}

/* The tables, created when the store has none yet. */
static int ensure(struct dbr *db, const char *store, struct dbr_error *err)
{
	struct dbr_error e;
	int64_t schema;
	bool found;

	if (!meta_get(db, store, NULL, "schema", &schema, &found, &e) && found)
		return check_schema(store, schema, err);
	return dbr_mapping_init(db, err);
}

/*
 * Pack n structs of `size` bytes, whose `const char *` fields at offsets
 * off[0 .. noff) are owned strings, into one block with the strings after
 * the structs (one dbr_free() frees all). The strings are freed; *out is
 * NULL when n is 0.
 */
static int pack(void *v, size_t n, size_t size, const size_t *off, size_t noff,
		void **out)
{
	size_t i, j, bytes = n * size;
	char *block, *p;

	*out = NULL;
	for (i = 0; i < n; i++)
		for (j = 0; j < noff; j++)
			bytes += strlen(*(char **)((char *)v + i * size +
						   off[j])) +
				 1;
	block = n ? dbr__malloc(bytes) : NULL;
	if (n && block) {
		memcpy(block, v, n * size);
		p = block + n * size;
		for (i = 0; i < n; i++) {
			for (j = 0; j < noff; j++) {
				char **f = (char **)(block + i * size + off[j]);
				size_t len = strlen(*f) + 1;

				memcpy(p, *f, len);
				*f = p;
				p += len;
			}
		}
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < noff; j++)
			dbr__free(*(char **)((char *)v + i * size + off[j]));
	if (n && !block)
		return DBR_E_NOMEM;
	*out = block;
	return DBR_OK;
}

/* Text column col of the current row, copied (NULL reads as ""). */
static char *text_copy(struct dbr_result *res, size_t col)
{
	size_t len = 0;
	const char *s = dbr_result_text(res, col, &len);

	return dbr__strndup(s ? s : "", s ? len : 0);
}

/* Read every row of res with fn into a growing array *v of `size`. */
typedef int (*row_fn)(struct dbr_result *res, void *elem);

static int read_rows(struct dbr_result *res, row_fn fn, void **v, size_t *n,
		     size_t size, struct dbr_error *err)
{
	size_t cap = 0;
	int rc;

	*v = NULL;
	*n = 0;
	while ((rc = dbr_result_next(res)) == DBR_ROW) {
		if (dbr__grow(v, &cap, *n + 1, size))
			return dbr__error_set(err, DBR_E_NOMEM, NULL,
					      "out of memory");
		memset((char *)*v + *n * size, 0, size);
		if (fn(res, (char *)*v + *n * size))
			return dbr__error_set(err, DBR_E_NOMEM, NULL,
					      "out of memory");
		++*n;
	}
	if (rc != DBR_DONE) {
		*err = *dbr_result_error(res);
		return rc;
	}
	return DBR_OK;
}

/* A list a public call returns: its query, row reader and packed strings. */
struct list_query {
	const char *fn;	  /* the public function, for messages */
	const char *what; /* its output parameter, for messages */
	const char *sql;
	const struct dbr_value *p;
	size_t np;
	row_fn row;
	size_t size;	   /* one element's bytes */
	const size_t *off; /* its owned string fields, packed */
	size_t noff;
};

/*
 * Run q on the mapping store and return its rows as one block in *out (one
 * dbr_free() frees all) and their count in *n; both are cleared first and
 * both are required.
 */
static int query_list(struct dbr *db, const struct list_query *q, void **out,
		      size_t *n, struct dbr_error *err)
{
	struct dbr_result *res = NULL;
	const char *store;
	size_t got = 0;
	void *v = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	rc = store_of(db, q->fn, &store, err);
	if (!rc && (!out || !n))
		rc = dbr__error_set(err, DBR_E_MISUSE, NULL,
				    "%s: %s and n are required", q->fn,
				    q->what);
	if (rc)
		return rc;
	rc = dbr_query_source(db, store, q->sql, q->p, q->np, &res, err);
	if (!rc)
		rc = read_rows(res, q->row, &v, &got, q->size, err);
	dbr_result_free(res);
	if (pack(v, got, q->size, q->off, q->noff, out) && !rc)
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	dbr__free(v);
	if (rc) {
		dbr__free(*out);
		*out = NULL;
		return rc;
	}
	*n = got;
	return DBR_OK;
}

static int entry_row(struct dbr_result *res, void *elem)
{
	struct dbr_mapping_entry *e = elem;
	size_t len = 0;
	const char *s;

	e->chat = dbr_result_int64(res, 0);
	s = dbr_result_text(res, 1, &len);
	snprintf(e->source, sizeof(e->source), "%.*s", (int)len, s ? s : "");
	e->version = dbr_result_int64(res, 2);
	return 0;
}

/* The mapping's rows (filtered) between two reads of one version. */
/* A store whose tables exist without dbroute_meta's version row: being
 * initialised by another process, or damaged. */
static int no_version_row(const char *store, struct dbr_error *err)
{
	return dbr__error_set(err, DBR_E_STMT, store,
			      "source '%s': the mapping store has no version "
			      "row (dbroute mapping init has not finished)",
			      store);
}

static int read_mapping(struct dbr *db, const char *store, const int64_t *chat,
			const char *source, struct dbr_mapping_entry **rows,
			size_t *n, int64_t *version, struct dbr_error *err)
{
	struct dbr_value p = chat     ? dbr_int64(*chat)
			     : source ? dbr_text(source, strlen(source))
				      : dbr_null();
	const char *sql =
		chat ? "SELECT chat_id, source, version FROM dbroute_mapping "
		       "WHERE chat_id = ?"
		: source ? "SELECT chat_id, source, version FROM "
			   "dbroute_mapping WHERE source = ? ORDER BY chat_id"
			 : "SELECT chat_id, source, version FROM "
			   "dbroute_mapping ORDER BY chat_id";
	struct dbr_result *res = NULL;
	int64_t after;
	bool found;
	void *v = NULL;
	int attempt, rc = DBR_OK;

	/*
	 * Each statement may see a later commit than the one before it (no
	 * transaction: a reader never takes the writers' lock). The same
	 * version before and after the rows proves no change lies between.
	 */
	for (attempt = 0; attempt < 100; attempt++) {
		rc = meta_get(db, store, NULL, "version", version, &found, err);
		/* Tables without the version row: a `mapping init` that has
		 * created them and not yet added it. Not a version 0. */
		if (!rc && !found)
			rc = no_version_row(store, err);
		if (!rc)
			rc = run(db, store, NULL, sql, &p, chat || source, &res,
				 err);
		if (!rc)
			rc = read_rows(res, entry_row, &v, n, sizeof(**rows),
				       err);
		dbr_result_free(res);
		res = NULL;
		if (!rc)
			rc = meta_get(db, store, NULL, "version", &after,
				      &found, err);
		if (rc || after == *version)
			break;
		dbr__free(v);
		v = NULL;
	}
	if (!rc && after != *version)
		rc = dbr__error_set(err, DBR_E_TIMEOUT, store,
				    "source '%s': the mapping changed under "
				    "every one of 100 reads",
				    store);
	if (rc) {
		dbr__free(v);
		v = NULL;
		*n = 0;
	}
	*rows = v;
	return rc;
}

int dbr_mapping_read(struct dbr *db, const int64_t *chat, const char *source,
		     struct dbr_mapping_entry **rows, size_t *n,
		     int64_t *version, struct dbr_error *err_)
{
	struct dbr_error local = { 0 }, *err = err_ ? err_ : &local;
	const char *store;
	int64_t v = 0;
	int rc;

	if (rows)
		*rows = NULL;
	if (n)
		*n = 0;
	if (version)
		*version = 0;
	rc = store_of(db, "dbr_mapping_read", &store, err);
	if (!rc && (!rows || !n))
		rc = dbr__error_set(err, DBR_E_MISUSE, NULL,
				    "dbr_mapping_read: rows and n are "
				    "required");
	if (rc)
		return rc;
	rc = read_mapping(db, store, chat, source, rows, n, &v, err);
	if (version)
		*version = v;
	return rc;
}

static int change_row(struct dbr_result *res, void *elem)
{
	struct dbr_mapping_change *c = elem;
	size_t len = 0;
	const char *s;

	c->version = dbr_result_int64(res, 0);
	c->at_ms = dbr_result_int64(res, 1);
	c->chat = dbr_result_int64(res, 2);
	s = dbr_result_text(res, 3, &len);
	snprintf(c->source, sizeof(c->source), "%.*s", (int)len, s ? s : "");
	c->actor = text_copy(res, 4);
	c->reason = text_copy(res, 5);
	if (c->actor && c->reason)
		return 0;
	dbr__free((char *)c->actor);
	dbr__free((char *)c->reason);
	return -1;
}

int dbr_mapping_changes(struct dbr *db, int64_t since, const int64_t *chat,
			struct dbr_mapping_change **changes, size_t *n,
			struct dbr_error *err_)
{
	struct dbr_error local = { 0 }, *err = err_ ? err_ : &local;
	static const size_t off[] = {
		offsetof(struct dbr_mapping_change, actor),
		offsetof(struct dbr_mapping_change, reason)
	};
	struct dbr_value p[2] = { dbr_int64(since),
				  dbr_int64(chat ? *chat : 0) };
	struct list_query q = {
		.fn = "dbr_mapping_changes",
		.what = "changes",
		.sql = chat ? "SELECT version, at_ms, chat_id, source, actor, "
			      "reason FROM dbroute_changes WHERE version > ? "
			      "AND chat_id = ? ORDER BY version"
			    : "SELECT version, at_ms, chat_id, source, actor, "
			      "reason FROM dbroute_changes WHERE version > ? "
			      "ORDER BY version",
		.p = p,
		.np = chat ? 2 : 1,
		.row = change_row,
		.size = sizeof(**changes),
		.off = off,
		.noff = 2,
	};

	return query_list(db, &q, (void **)changes, n, err);
}

/* Who changes the store: "user@host:pid". */
static void actor_text(char *buf, size_t size)
{
	char host[256] = "", pwbuf[1024], uid[32];
	struct passwd pw, *found = NULL;
	const char *user = uid;

	if (gethostname(host, sizeof(host)) || !host[0])
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	snprintf(uid, sizeof(uid), "%lu", (unsigned long)geteuid());
	if (!getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &found) &&
	    found && found->pw_name)
		user = found->pw_name;
	snprintf(buf, size, "%.64s@%.255s:%ld", user, host, (long)getpid());
}

/* The wall clock in Unix milliseconds. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A chat's source in [chat_mapping], or NULL. */
static const struct dbr_source_config *ini_mapped(const struct dbr__config *cfg,
						  int64_t chat)
{
	uint32_t hit = dbr__chat_table_lookup(&cfg->chats, chat);

	return hit == DBR__CHAT_MISS ? NULL : &cfg->sources[hit];
}

/* Where a chat goes without a store row: [chat_mapping], else default. */
static const char *ini_route(const struct dbr__config *cfg, int64_t chat)
{
	const struct dbr_source_config *s = ini_mapped(cfg, chat);

	return (s ? s : &cfg->sources[cfg->default_source])->name;
}

/* A table that may hold chats' rows, as SQL names it. */
struct chat_table {
	char *from;   /* the table, quoted (schema-qualified when listed) */
	char *column; /* its chat column, quoted */
	bool text;    /* the column is text: the chat is compared as text */
	size_t conf;  /* its [table.NAME] section, or SIZE_MAX */
};

struct tables {
	struct dbr *db;
	const char *source;
	struct chat_table *v;
	size_t n, cap;
	int *hit; /* per [table.NAME]: 2 listed as written, 1 ignoring case
		     (once), -1 ignoring case more than once, 0 not listed */
	struct chat_table *listed; /* per [table.NAME]: the listed table */
	bool nomem;
};

/* s in double quotes, inner quotes doubled, into an owned string. */
static char *quoted(const char *schema, const char *name)
{
	size_t n = 3 * (strlen(schema) + strlen(name)) + 8, i = 0;
	char *q = dbr__malloc(n);
	const char *parts[2] = { schema, name };
	int k;

	if (!q)
		return NULL;
	for (k = *schema ? 0 : 1; k < 2; k++) {
		const char *p = parts[k];

		if (i)
			q[i++] = '.';
		q[i++] = '"';
		for (; *p; p++) {
			if (*p == '"')
				q[i++] = '"';
			q[i++] = *p;
		}
		q[i++] = '"';
	}
	q[i] = '\0';
	return q;
}

/* A configured TABLE or SCHEMA.TABLE, quoted as written. */
static char *quoted_conf(const char *conf)
{
	const char *dot = strchr(conf, '.');
	char *schema, *q;

	if (!dot)
		return quoted("", conf);
	schema = dbr__strndup(conf, (size_t)(dot - conf));
	q = schema ? quoted(schema, dot + 1) : NULL;
	dbr__free(schema);
	return q;
}

static void tables_add(struct tables *t, char *from, char *column, bool text,
		       size_t conf)
{
	if (!from || !column ||
	    dbr__grow(&t->v, &t->cap, t->n + 1, sizeof(*t->v))) {
		dbr__free(from);
		dbr__free(column);
		t->nomem = true;
		return;
	}
	t->v[t->n].from = from;
	t->v[t->n].column = column;
	t->v[t->n].text = text;
	t->v[t->n++].conf = conf;
}

static void tables_release(struct tables *t)
{
	size_t i;

	while (t->n--) {
		dbr__free(t->v[t->n].from);
		dbr__free(t->v[t->n].column);
	}
	dbr__free(t->v);
	for (i = 0; t->listed && i < t->db->cfg->ntables; i++) {
		dbr__free(t->listed[i].from);
		dbr__free(t->listed[i].column);
	}
	dbr__free(t->listed);
	dbr__free(t->hit);
}

/* Whether a and b (b of length n, or NUL-terminated when n is SIZE_MAX)
 * are the same name: 2 as written, 1 ignoring ASCII case, else 0. */
static int same_name(const char *a, const char *b, size_t n)
{
	size_t len = n == SIZE_MAX ? strlen(b) : n;

	if (strlen(a) != len)
		return 0;
	if (!strncmp(a, b, len))
		return 2;
	return strncasecmp(a, b, len) ? 0 : 1;
}

/* How configured name (TABLE or SCHEMA.TABLE) matches a listed table:
 * 2 as written, 1 ignoring case, 0 not at all. */
static int same_table(const char *conf, const struct dbr_table_info *ti)
{
	const char *dot = strchr(conf, '.');
	int s = 2, n;

	if (dot)
		s = same_name(ti->schema, conf, (size_t)(dot - conf));
	n = same_name(ti->name, dot ? dot + 1 : conf, SIZE_MAX);
	return s < n ? s : n;
}

/* A listed table's column named `name`: as written, else the only one
 * ignoring case; NULL when none (or several) match. */
static const struct dbr_column_info *
find_column(const struct dbr_table_info *ti, const char *name)
{
	const struct dbr_column_info *caseless = NULL;
	size_t i, nc = 0;

	for (i = 0; i < ti->ncolumns; i++) {
		const char *col = ti->columns[i].name;
		int m = col ? same_name(col, name, SIZE_MAX) : 0;

		if (m == 2)
			return &ti->columns[i];
		if (m == 1 && !nc++)
			caseless = &ti->columns[i];
	}
	return nc == 1 ? caseless : NULL;
}

/* Record listed table ti as [table.NAME] number i's. */
static void conf_listed(struct tables *t, size_t i,
			const struct dbr_table_info *ti, int m)
{
	const struct dbr__table_section *sec = &t->db->cfg->tables[i];
	const struct dbr_column_info *col = find_column(ti, sec->chat_column);
	struct chat_table *l = &t->listed[i];

	if (m == 1 && t->hit[i]) {
		if (t->hit[i] == 1)
			t->hit[i] = -1; /* ambiguous: queried as written */
		return;
	}
	if (m == 2 && t->hit[i] == 2)
		return; /* the first on the search path */
	dbr__free(l->from);
	dbr__free(l->column);
	l->from = quoted(ti->schema, ti->name);
	l->column = quoted("", col ? col->name : sec->chat_column);
	l->text = col && col->cls == DBR_CLASS_TEXT;
	if (!l->from || !l->column)
		t->nomem = true;
	t->hit[i] = m;
}

/* The catalog's callback: chat tables by [table.NAME] or by convention. */
static void on_table(void *ud, const struct dbr_table_info *ti)
{
	struct tables *t = ud;
	const struct dbr__config *cfg = t->db->cfg;
	const struct dbr_column_info *col;
	size_t i;
	int m;

	if (dbr__catalog_is_own(ti->name))
		return;
	if (cfg->ntables) {
		for (i = 0; i < cfg->ntables; i++)
			if ((m = same_table(cfg->tables[i].name, ti)))
				conf_listed(t, i, ti, m);
		return;
	}
	col = find_column(ti, cfg->chat_column);
	if (!col)
		return;
	if (col->cls && col->cls != DBR_CLASS_INTEGER &&
	    col->cls != DBR_CLASS_REAL) {
		dbr__log(&t->db->log, DBR_LOG_WARN, t->source,
			 "table %s%s%s: column %s is not a number (%s): "
			 "not a chat table; name it in a [table.NAME] "
			 "section if it is one",
			 ti->schema, *ti->schema ? "." : "", ti->name,
			 col->name,
			 col->decl_type && *col->decl_type ? col->decl_type
							   : "text");
		return;
	}
	tables_add(t, quoted(ti->schema, ti->name), quoted("", col->name),
		   false, SIZE_MAX);
}

/*
 * The tables of source s that may hold chats' rows: every [table.NAME]
 * section (the table the catalog lists under that name, as written or,
 * when only one matches, ignoring case; else the name as written), else
 * every table with a numeric column named [move] chat_column.
 */
static int chat_tables(struct dbr *db, struct dbr_source_config *s,
		       int64_t chat, struct tables *t, struct dbr_error *err)
{
	const struct dbr__config *cfg = db->cfg;
	size_t i;
	int rc;

	t->db = db;
	t->source = s->name;
	if (!(s->drv->vt.caps & DBR_CAP_SQL))
		return dbr__error_set(err, DBR_E_UNSUPPORTED, s->name,
				      "source '%s' is not SQL: cannot tell "
				      "whether chat %lld has rows there",
				      s->name, (long long)chat);
	if (!cfg->ntables && !s->drv->vt.list_tables)
		return dbr__error_set(err, DBR_E_UNSUPPORTED, s->name,
				      "source '%s': driver '%s' cannot list "
				      "its tables, so which hold chat %lld's "
				      "rows is unknown: name them in "
				      "[table.NAME] sections",
				      s->name, s->drv->vt.name,
				      (long long)chat);
	t->hit = dbr__calloc(cfg->ntables + 1, sizeof(*t->hit));
	t->listed = dbr__calloc(cfg->ntables + 1, sizeof(*t->listed));
	if (!t->hit || !t->listed)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	if (s->drv->vt.list_tables) {
		rc = dbr__catalog_tables(s, on_table, t, err);
		if (rc)
			return rc;
	}
	for (i = 0; i < cfg->ntables; i++) {
		struct chat_table *l = &t->listed[i];

		if (t->hit[i] > 0) {
			tables_add(t, l->from, l->column, l->text, i);
			l->from = l->column = NULL;
		} else {
			tables_add(t, quoted_conf(cfg->tables[i].name),
				   quoted("", cfg->tables[i].chat_column),
				   false, i);
		}
	}
	if (t->nomem)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	return DBR_OK;
}

/* Refuse a change of a chat that has rows on source `name`; with probe,
 * only read each table (no row can match). */
static int read_tables(struct dbr *db, const char *name, int64_t chat,
		       bool probe, struct dbr_error *err)
{
	struct dbr_source_config *s = dbr__config_source(db->cfg, name);
	struct tables t = { 0 };
	char sql[1536], text[24], why[300];
	struct dbr_value p;
	int64_t one;
	bool found = false;
	size_t i;
	int rc;

	if (!s)
		return dbr__error_set(err, DBR_E_NOTFOUND, NULL,
				      "chat %lld is mapped to source '%s', "
				      "which this configuration lacks",
				      (long long)chat, name);
	snprintf(text, sizeof(text), "%lld", (long long)chat);
	rc = chat_tables(db, s, chat, &t, err);
	for (i = 0; !rc && !found && i < t.n; i++) {
		p = t.v[i].text ? dbr_text(text, strlen(text))
				: dbr_int64(chat);
		snprintf(sql, sizeof(sql),
			 "SELECT 1 FROM %s WHERE %s = ?%s LIMIT 1", t.v[i].from,
			 t.v[i].column, probe ? " AND 1 = 0" : "");
		rc = run_int(db, name, NULL, sql, &p, 1, &one, &found, err);
		if (rc && err && t.v[i].conf != SIZE_MAX) {
			snprintf(why, sizeof(why), "%s",
				 dbr__error_bare(err, name));
			rc = dbr__error_set(
				err, rc, name,
				"source '%s': cannot read [table.%s] (%s): "
				"%s",
				name, db->cfg->tables[t.v[i].conf].name,
				t.v[i].from, why);
		}
	}
	if (!rc && found) {
		rc = dbr__error_set(err, DBR_E_CONSTRAINT, name,
				    "chat %lld has rows on source '%s' "
				    "(table %s): its mapping cannot change "
				    "until they are moved",
				    (long long)chat, name, t.v[i - 1].from);
		dbr__error_hint(err, "move the chat with the chat-move "
				     "command (dbroute move-chat), or delete "
				     "its rows first");
	}
	tables_release(&t);
	return rc;
}

static int check_empty(struct dbr *db, const char *name, int64_t chat,
		       struct dbr_error *err)
{
	return read_tables(db, name, chat, false, err);
}

int dbr__mapping_chat_tables(struct dbr *db, const char *source, int64_t chat,
			     dbr__chat_table_fn fn, void *ud,
			     struct dbr_error *err)
{
	struct dbr_source_config *s = dbr__config_source(db->cfg, source);
	struct tables t = { 0 };
	size_t i;
	int rc;

	if (!s)
		return dbr__error_set(err, DBR_E_NOTFOUND, NULL,
				      "no source named '%s'", source);
	rc = chat_tables(db, s, chat, &t, err);
	for (i = 0; !rc && i < t.n; i++)
		fn(ud, t.v[i].from, t.v[i].column, t.v[i].text, t.v[i].conf);
	tables_release(&t);
	return rc;
}

char *dbr__mapping_quoted(const char *schema, const char *name)
{
	return quoted(schema, name);
}

int dbr__mapping_route(struct dbr *db, int64_t chat, char *name,
		       struct dbr_error *err)
{
	const char *store;
	int rc = store_of(db, "dbroute move-chat", &store, err);

	if (!rc)
		rc = run_source(db, store, NULL, chat, name, err);
	if (!rc && !name[0])
		snprintf(name, DBR_NAME_SIZE, "%s", ini_route(db->cfg, chat));
	return rc;
}

int dbr_mapping_check_tables(struct dbr *db, const char *source,
			     struct dbr_error *err)
{
	if (!db || !source)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_mapping_check_tables: db and "
				      "source are required");
	if (!dbr__config_source(db->cfg, source))
		return dbr__error_set(err, DBR_E_NOTFOUND, NULL,
				      "no source named '%s'", source);
	if (!db->cfg->ntables)
		return DBR_OK;
	return read_tables(db, source, 0, true, err);
}

/* Append one change: the chat's new row (or none) and its log row. */
static int write_change(struct dbr_tx *tx, int64_t version, int64_t chat,
			const char *source, const char *actor,
			const char *reason, int64_t at, int64_t move,
			struct dbr_error *err)
{
	struct dbr_value id = dbr_int64(chat);
	struct dbr_value add[3] = { id, dbr_null(), dbr_int64(version) };
	struct dbr_value log[8] = {
		dbr_int64(version),
		id,
		dbr_null(),
		source ? dbr_text("active", 6) : dbr_text("unset", 5),
		dbr_int64(at),
		dbr_text(actor, strlen(actor)),
		dbr_text(reason, strlen(reason)),
		move ? dbr_int64(move) : dbr_null_of(DBR_TYPE_INT64)
	};
	int rc = dbr_tx_query(tx, del_sql, &id, 1, NULL, err);

	if (source) {
		add[1] = dbr_text(source, strlen(source));
		log[2] = add[1];
	}
	if (!rc && source)
		rc = dbr_tx_query(tx, add_sql, add, 3, NULL, err);
	if (!rc)
		rc = dbr_tx_query(tx, log_sql, log, 8, NULL, err);
	/* Wakes every refresher listening, at commit (PostgreSQL NOTIFY;
	 * SQLite's listeners see the commit itself). */
	if (!rc)
		rc = dbr__tx_notify(tx, DBR__MAPPING_CHANNEL, err);
	return rc;
}

/* Take `count` versions: the first of them in *first (the row lock on
 * dbroute_meta's version is held until the transaction ends). */
static int take_versions(struct dbr_tx *tx, int64_t count, int64_t *first,
			 struct dbr_error *err)
{
	struct dbr_value p = dbr_int64(count);
	struct dbr_value k = dbr_text("version", 7);
	bool found;
	int rc = dbr_tx_query(tx, bump_sql, &p, 1, NULL, err);

	if (!rc)
		rc = run_int(NULL, NULL, tx, meta_sql, &k, 1, first, &found,
			     err);
	if (!rc && !found)
		rc = dbr__error_set(err, DBR_E_STMT, NULL,
				    "dbroute_meta has no version row: run "
				    "dbroute mapping init");
	*first -= count - 1;
	return rc;
}

/*
 * One attempt of a set: *again when the chat's row changed between the
 * check and the transaction (another process set it).
 */
static int set_once(struct dbr *db, const char *store, int64_t chat,
		    const char *source, const char *reason, int64_t *version,
		    bool *again, struct dbr_error *err)
{
	char cur[DBR_NAME_SIZE], now[DBR_NAME_SIZE], actor[400];
	const char *from, *to;
	struct dbr_tx *tx = NULL;
	int rc = run_source(db, store, NULL, chat, cur, err);

	*again = false;
	*version = 0;
	if (rc)
		return rc;
	from = cur[0] ? cur : ini_route(db->cfg, chat);
	to = source ? source : ini_route(db->cfg, chat);
	if ((source && !strcmp(from, source)) || (!source && !cur[0]))
		return DBR_OK; /* routed there already, or no row to remove */
	if (strcmp(from, to) && (rc = check_empty(db, from, chat, err)))
		return rc;
	actor_text(actor, sizeof(actor));
	rc = dbr_tx_begin_source(db, store, &tx, err);
	if (!rc)
		rc = take_versions(tx, 1, version, err);
	if (!rc)
		rc = run_source(db, store, tx, chat, now, err);
	if (!rc && strcmp(now, cur)) {
		*again = true;
		dbr_tx_rollback(tx, NULL);
		*version = 0;
		return DBR_OK;
	}
	if (!rc)
		rc = write_change(tx, *version, chat, source, actor, reason,
				  now_ms(), 0, err);
	if (!rc)
		rc = dbr_tx_commit(tx, err);
	else if (tx)
		dbr_tx_rollback(tx, NULL);
	if (rc)
		*version = 0;
	return rc;
}

void dbr__mapping_actor(char *buf, size_t size)
{
	actor_text(buf, size);
}

int dbr__mapping_switch(struct dbr *db, int64_t chat, int64_t move,
			int64_t token, const char *to, int64_t pause_ms,
			struct dbr_error *err)
{
	struct dbr_value p[4] = { dbr_int64(pause_ms), dbr_int64(now_ms()),
				  dbr_int64(move), dbr_int64(token) };
	char actor[400], reason[64];
	struct dbr_tx *tx = NULL;
	struct dbr_result *res = NULL;
	const char *store;
	int64_t version = 0;
	int rc = store_of(db, "dbr_move_run", &store, err);

	actor_text(actor, sizeof(actor));
	snprintf(reason, sizeof(reason), "move %lld", (long long)move);
	if (!rc)
		rc = dbr_tx_begin_source(db, store, &tx, err);
	if (!rc)
		rc = take_versions(tx, 1, &version, err);
	if (!rc)
		rc = write_change(tx, version, chat, to, actor, reason,
				  now_ms(), move, err);
	/* The move's row says switched in the same transaction. */
	if (!rc)
		rc = dbr_tx_query(tx,
				  "UPDATE dbroute_moves SET state = "
				  "'switched', pause_ms = ?, updated_ms = ?, "
				  "error = '' WHERE move_id = ? AND token = ?",
				  p, 4, &res, err);
	if (!rc && dbr_result_changes(res) != 1)
		rc = dbr__error_set(err, DBR_E_STMT, store,
				    "move %lld: its row in dbroute_moves is "
				    "gone or has another token",
				    (long long)move);
	dbr_result_free(res);
	if (!rc)
		rc = dbr_tx_commit(tx, err);
	else if (tx)
		dbr_tx_rollback(tx, NULL);
	return rc;
}

/* A reason is required: the change log is the audit. */
static int check_reason(const char *fn, const char *reason,
			struct dbr_error *err)
{
	if (reason && *reason)
		return DBR_OK;
	return dbr__error_set(err, DBR_E_MISUSE, NULL,
			      "%s: a reason is required (it is recorded in "
			      "the change log)",
			      fn);
}

int dbr_mapping_set(struct dbr *db, int64_t chat, const char *source,
		    const char *reason, int64_t *version,
		    struct dbr_error *err_)
{
	struct dbr_error local = { 0 }, *err = err_ ? err_ : &local;
	const char *store;
	int64_t v = 0;
	bool again = true;
	int attempt, rc = store_of(db, "dbr_mapping_set", &store, err);

	if (version)
		*version = 0;
	if (!rc)
		rc = check_reason("dbr_mapping_set", reason, err);
	if (!rc && source && !dbr__config_source(db->cfg, source))
		rc = dbr__error_set(err, DBR_E_NOTFOUND, NULL,
				    "no source named '%s'", source);
	if (!rc)
		rc = ensure(db, store, err);
	for (attempt = 0; !rc && again && attempt < ATTEMPTS; attempt++)
		rc = set_once(db, store, chat, source, reason, &v, &again, err);
	if (!rc && again)
		rc = dbr__error_set(err, DBR_E_TIMEOUT, store,
				    "chat %lld: its mapping changed under "
				    "each of %d attempts",
				    (long long)chat, ATTEMPTS);
	if (!rc && version)
		*version = v;
	return rc;
}

static int by_chat(const void *a, const void *b)
{
	const struct dbr_mapping_conflict *x = a, *y = b;

	return (x->chat > y->chat) - (x->chat < y->chat);
}

/* The store's row of chat among rows sorted by chat, or NULL. */
static const struct dbr_mapping_entry *
find_entry(const struct dbr_mapping_entry *rows, size_t n, int64_t chat)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rows[mid].chat < chat)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && rows[lo].chat == chat ? &rows[lo] : NULL;
}

/* The INI mapping against the store's rows: conflicts, and what to add. */
struct diff {
	struct dbr_mapping_conflict *conflicts, *adds; /* adds: store "" */
	size_t nconflicts, nadds, ccap, acap;
};

static int diff_ini(const struct dbr__config *cfg,
		    const struct dbr_mapping_entry *rows, size_t n,
		    struct diff *d)
{
	const struct dbr__chat_table *r = &cfg->chats;
	size_t i;

	memset(d, 0, sizeof(*d));
	for (i = 0; r->count && i < r->cap; i++) {
		const struct dbr_mapping_entry *e;
		struct dbr_mapping_conflict c = { 0 };
		struct dbr_mapping_conflict **v;
		size_t *cnt, *cap;

		if (!r->tags[i])
			continue;
		c.chat = r->slots[i].chat;
		snprintf(c.ini, sizeof(c.ini), "%s",
			 cfg->sources[r->slots[i].value].name);
		e = find_entry(rows, n, c.chat);
		if (e && !strcmp(e->source, c.ini))
			continue;
		if (e)
			snprintf(c.store, sizeof(c.store), "%s", e->source);
		v = e ? &d->conflicts : &d->adds;
		cnt = e ? &d->nconflicts : &d->nadds;
		cap = e ? &d->ccap : &d->acap;
		if (dbr__grow(v, cap, *cnt + 1, sizeof(c)))
			return DBR_E_NOMEM;
		(*v)[(*cnt)++] = c;
	}
	if (d->nconflicts)
		qsort(d->conflicts, d->nconflicts, sizeof(*d->conflicts),
		      by_chat);
	if (d->nadds)
		qsort(d->adds, d->nadds, sizeof(*d->adds), by_chat);
	return DBR_OK;
}

static void diff_release(struct diff *d)
{
	dbr__free(d->conflicts);
	dbr__free(d->adds);
}

int dbr_mapping_compare(struct dbr *db, struct dbr_mapping_conflict **conflicts,
			size_t *n, struct dbr_error *err_)
{
	struct dbr_error local = { 0 }, *err = err_ ? err_ : &local;
	struct dbr_mapping_entry *rows = NULL;
	struct diff d = { 0 };
	const char *store;
	size_t nrows = 0;
	int64_t v;
	int rc;

	if (conflicts)
		*conflicts = NULL;
	if (n)
		*n = 0;
	rc = store_of(db, "dbr_mapping_compare", &store, err);
	if (!rc && (!conflicts || !n))
		rc = dbr__error_set(err, DBR_E_MISUSE, NULL,
				    "dbr_mapping_compare: conflicts and n are "
				    "required");
	if (!rc)
		rc = read_mapping(db, store, NULL, NULL, &rows, &nrows, &v,
				  err);
	if (!rc && diff_ini(db->cfg, rows, nrows, &d))
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	dbr__free(rows);
	if (!rc) {
		*conflicts = d.conflicts;
		*n = d.nconflicts;
		d.conflicts = NULL;
	}
	diff_release(&d);
	return rc;
}

/* Write the import's chats (adds, then replaced conflicts) in one
 * transaction; *again when the store changed since it was read. */
static int import_write(struct dbr *db, const char *store, const struct diff *d,
			bool replace, int64_t seen, const char *reason,
			bool *again, struct dbr_error *err)
{
	size_t i, total = d->nadds + (replace ? d->nconflicts : 0);
	struct dbr_tx *tx = NULL;
	char actor[400];
	int64_t first = 0, at = now_ms();
	int rc;

	*again = false;
	if (!total)
		return DBR_OK;
	actor_text(actor, sizeof(actor));
	rc = dbr_tx_begin_source(db, store, &tx, err);
	if (!rc)
		rc = take_versions(tx, (int64_t)total, &first, err);
	if (!rc && first - 1 != seen) {
		*again = true;
		dbr_tx_rollback(tx, NULL);
		return DBR_OK;
	}
	for (i = 0; !rc && i < total; i++) {
		const struct dbr_mapping_conflict *c =
			i < d->nadds ? &d->adds[i]
				     : &d->conflicts[i - d->nadds];

		rc = write_change(tx, first + (int64_t)i, c->chat, c->ini,
				  actor, reason, at, 0, err);
	}
	if (!rc)
		rc = dbr_tx_commit(tx, err);
	else if (tx)
		dbr_tx_rollback(tx, NULL);
	return rc;
}

/* The conflicts refused, listed in the message (the first 10). */
static int refuse_conflicts(const struct diff *d, struct dbr_error *err)
{
	char list[600] = "";
	size_t i, used = 0;

	for (i = 0; i < d->nconflicts && i < 10 && used < sizeof(list); i++)
		used += (size_t)snprintf(
			list + used, sizeof(list) - used,
			"%s%lld ('%s' in the INI, '%s' in the "
			"store)",
			i ? ", " : "", (long long)d->conflicts[i].chat,
			d->conflicts[i].ini, d->conflicts[i].store);
	dbr__error_set(
		err, DBR_E_CONSTRAINT, NULL,
		"%zu chats of [chat_mapping] are mapped elsewhere in the "
		"store: %s%s",
		d->nconflicts, list, d->nconflicts > 10 ? ", ..." : "");
	dbr__error_hint(err, "import with --replace (DBR_MAPPING_REPLACE) to "
			     "overwrite the store's rows, or change them with "
			     "dbroute mapping set");
	return DBR_E_CONSTRAINT;
}

/* One attempt of an import; *again when the store changed under it. */
static int import_once(struct dbr *db, const char *store, unsigned flags,
		       const char *reason, struct diff *d, size_t *imported,
		       bool *again, struct dbr_error *err)
{
	struct dbr_mapping_entry *rows = NULL;
	bool replace = flags & DBR_MAPPING_REPLACE;
	size_t nrows = 0, i;
	int64_t seen = 0;
	int rc = read_mapping(db, store, NULL, NULL, &rows, &nrows, &seen, err);

	*again = false;
	if (!rc && diff_ini(db->cfg, rows, nrows, d))
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	dbr__free(rows);
	if (!rc && d->nconflicts && !replace)
		rc = refuse_conflicts(d, err);
	for (i = 0; !rc && replace && i < d->nconflicts; i++)
		if (strcmp(d->conflicts[i].store, d->conflicts[i].ini))
			rc = check_empty(db, d->conflicts[i].store,
					 d->conflicts[i].chat, err);
	if (!rc)
		rc = import_write(db, store, d, replace, seen, reason, again,
				  err);
	if (!rc && !*again)
		*imported = d->nadds + (replace ? d->nconflicts : 0);
	return rc;
}

int dbr_mapping_import(struct dbr *db, unsigned flags, const char *reason,
		       size_t *imported,
		       struct dbr_mapping_conflict **conflicts,
		       size_t *nconflicts, struct dbr_error *err_)
{
	struct dbr_error local = { 0 }, *err = err_ ? err_ : &local;
	struct diff d = { 0 };
	const char *store;
	size_t done = 0;
	bool again = true;
	int attempt, rc = store_of(db, "dbr_mapping_import", &store, err);

	if (imported)
		*imported = 0;
	if (conflicts)
		*conflicts = NULL;
	if (nconflicts)
		*nconflicts = 0;
	if (!rc)
		rc = check_reason("dbr_mapping_import", reason, err);
	if (!rc)
		rc = ensure(db, store, err);
	for (attempt = 0; !rc && again && attempt < ATTEMPTS; attempt++) {
		diff_release(&d);
		rc = import_once(db, store, flags, reason, &d, &done, &again,
				 err);
	}
	if (!rc && again)
		rc = dbr__error_set(err, DBR_E_TIMEOUT, store,
				    "the mapping store changed under each of "
				    "%d attempts to import",
				    ATTEMPTS);
	if (imported)
		*imported = done;
	if (conflicts && d.nconflicts) {
		*conflicts = d.conflicts;
		d.conflicts = NULL;
	}
	if (nconflicts)
		*nconflicts = d.nconflicts;
	diff_release(&d);
	return rc;
}

static int client_row(struct dbr_result *res, void *elem)
{
	struct dbr_mapping_client *c = elem;

	c->client_id = text_copy(res, 0);
	c->host = text_copy(res, 1);
	c->pid = dbr_result_int64(res, 2);
	c->version_seen = dbr_result_int64(res, 3);
	c->seen_ms = dbr_result_int64(res, 4);
	if (c->client_id && c->host)
		return 0;
	dbr__free((char *)c->client_id);
	dbr__free((char *)c->host);
	return -1;
}

int dbr_mapping_clients(struct dbr *db, struct dbr_mapping_client **clients,
			size_t *n, struct dbr_error *err_)
{
	struct dbr_error local = { 0 }, *err = err_ ? err_ : &local;
	static const size_t off[] = {
		offsetof(struct dbr_mapping_client, client_id),
		offsetof(struct dbr_mapping_client, host)
	};
	struct list_query q = {
		.fn = "dbr_mapping_clients",
		.what = "clients",
		.sql = "SELECT client_id, host, pid, version_seen, seen_ms "
		       "FROM dbroute_clients ORDER BY client_id",
		.row = client_row,
		.size = sizeof(**clients),
		.off = off,
		.noff = 2,
	};

	return query_list(db, &q, (void **)clients, n, err);
}

/*
 * The rows of processes that died without closing, silent for
 * DBR__CLIENT_GONE_MS: removed by the live ones' heartbeats, in a
 * statement of its own (a failure, even a deadlock between two of them,
 * costs nothing: the next heartbeat tries again). A live process whose
 * clock lags so much has its row back at its next heartbeat.
 */
static void prune_clients(struct dbr *db, const char *store)
{
	struct dbr_value before = dbr_int64(now_ms() - DBR__CLIENT_GONE_MS);
	struct dbr_error e;

	(void)dbr_query_source(db, store,
			       "DELETE FROM dbroute_clients WHERE seen_ms < ?",
			       &before, 1, NULL, &e);
}

/*
 * A handle's heartbeat (refresh.c): its row in dbroute_clients replaced in
 * one transaction, so that no reader sees it missing.
 */
int dbr__mapping_beat(struct dbr *db, const char *client_id, int64_t version,
		      struct dbr_error *err)
{
	char host[256];
	struct dbr_value id = dbr_text(client_id, strlen(client_id));
	struct dbr_value add[5] = { id, dbr_null(), dbr_int64(getpid()),
				    dbr_int64(version), dbr_int64(now_ms()) };
	const char *store;
	struct dbr_tx *tx = NULL;
	int rc = store_of(db, "heartbeat", &store, err);

	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	add[1] = dbr_text(host, strlen(host));
	if (!rc)
		rc = dbr_tx_begin_source(db, store, &tx, err);
	if (!rc)
		rc = dbr_tx_query(tx,
				  "DELETE FROM dbroute_clients WHERE "
				  "client_id = ?",
				  &id, 1, NULL, err);
	if (!rc)
		rc = dbr_tx_query(tx,
				  "INSERT INTO dbroute_clients (client_id, "
				  "host, pid, version_seen, seen_ms) VALUES "
				  "(?, ?, ?, ?, ?)",
				  add, 5, NULL, err);
	if (!rc && !(rc = dbr_tx_commit(tx, err)))
		prune_clients(db, store);
	else if (tx)
		dbr_tx_rollback(tx, NULL);
	return rc;
}

/* A closing handle's row removed. */
int dbr__mapping_leave(struct dbr *db, const char *client_id,
		       struct dbr_error *err)
{
	struct dbr_value id = dbr_text(client_id, strlen(client_id));
	struct dbr_result *res = NULL;
	const char *store;
	int rc = store_of(db, "heartbeat", &store, err);

	if (!rc)
		rc = run(db, store, NULL,
			 "DELETE FROM dbroute_clients WHERE client_id = ?", &id,
			 1, &res, err);
	dbr_result_free(res);
	return rc;
}

int dbr__mapping_version(struct dbr *db, int64_t *version,
			 struct dbr_error *err)
{
	const char *store;
	bool found = false;
	int rc = store_of(db, "dbr__mapping_version", &store, err);

	if (!rc)
		rc = meta_get(db, store, NULL, "version", version, &found, err);
	if (!rc && !found)
		rc = no_version_row(store, err);
	return rc;
}
