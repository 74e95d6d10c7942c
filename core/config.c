/*
 * config.c - reading the INI file into a validated snapshot.
 *
 * The file is read once (ini_reader.c gives every section and key with its
 * line); keys are collected per section, then checked once everything is
 * known: a source's keys against the core's declarations and its driver's,
 * names against the sources defined anywhere in the file. Every problem is
 * recorded with its line, and any problem refuses the whole file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"
#include "diag.h"
#include "hash.h"
#include "ini_reader.h"
#include "metrics.h"

/* The keys of [database]. */
enum {
	DB_DEFAULT_SOURCE,
	DB_PLUGIN_DIR,
	DB_FALLBACK,
	DB_RETRY,
	DB_LOG_LEVEL,
	DB_METRICS,
	DB_TIMING_SAMPLE,
	DB_COUNT
};

static const struct dbr_option_decl database_keys[] = {
	{ "default_source", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL,
	  "the source of unmapped chats" },
	{ "plugin_dir", DBR_OPT_PATH, 0, 0, 0, NULL, NULL,
	  "the folder of driver plugins" },
	{ "fallback", DBR_OPT_ENUM, 0, 0, 0, "default", "default|none",
	  "what happens when a source is unavailable" },
	{ "retry_interval", DBR_OPT_SECONDS, 0, 0, 86400, "5", NULL,
	  "seconds an unavailable source is skipped" },
	{ "log_level", DBR_OPT_ENUM, 0, 0, 0, "warn", "error|warn|info|debug",
	  "the least severe level logged" },
	{ "metrics", DBR_OPT_ENUM, 0, 0, 0, "timing", "off|counters|timing",
	  "what is measured: nothing, counts, or counts and time" },
	{ "timing_sample", DBR_OPT_INT, 0, 1, DBR__SAMPLE_MAX, "64", NULL,
	  "one statement in this many (on average) is timed and weighed in "
	  "the chat sketches" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

/* The keys of [audit]. */
enum { AUDIT_FILE, AUDIT_COUNT };

static const struct dbr_option_decl audit_keys[] = {
	{ "file", DBR_OPT_PATH, 0, 0, 0, NULL, NULL,
	  "the JSON-lines audit file (relative: to this file's folder)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct dbr_option_decl source_keys[] = {
	{ "type", DBR_OPT_TEXT, DBR_OPT_REQUIRED, 0, 0, NULL, NULL,
	  "the driver: sqlite, or a plugin's name" },
	{ "max_connections", DBR_OPT_INT, 0, 1, 10000, "5", NULL,
	  "the pool's size" },
	{ "timeout", DBR_OPT_SECONDS, 0, 0.001, 86400, "30", NULL,
	  "the longest any one wait may take" },
	{ "readonly", DBR_OPT_BOOL, 0, 0, 0, "false", NULL, "refuse writes" },
	{ "fallback", DBR_OPT_ENUM, 0, 0, 0, NULL, "default|none",
	  "overrides [database] fallback" },
	{ "idle_timeout", DBR_OPT_SECONDS, 0, 0, 86400, "300", NULL,
	  "close connections idle this long (0: never)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct dbr_option_decl mapping_keys[] = {
	{ "store", DBR_OPT_TEXT, DBR_OPT_REQUIRED, 0, 0, NULL, NULL,
	  "the SQL source that holds the mapping store" },
	{ "poll_interval", DBR_OPT_SECONDS, 0, 0.01, 3600, "1", NULL,
	  "seconds between two reads of the store's change log" },
	{ "max_age", DBR_OPT_SECONDS, 0, 0, 604800, "0", NULL,
	  "fail mapped chats' writes on an older snapshot (0: off)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct dbr_option_decl move_keys[] = {
	{ "chat_column", DBR_OPT_TEXT, 0, 0, 0, "chat_id", NULL,
	  "the chat column of every table, without [table.NAME]" },
	{ "batch_rows", DBR_OPT_INT, 0, 1, 100000, "1000", NULL,
	  "rows a move copies per batch" },
	{ "fence_timeout", DBR_OPT_SECONDS, 0, 0.05, 60, "2", NULL,
	  "the longest one attempt of a move holds the chat's writes" },
	{ "max_attempts", DBR_OPT_INT, 0, 1, 100, "5", NULL,
	  "fence attempts before a move fails as too busy" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct dbr_option_decl table_keys[] = {
	{ "chat_column", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL,
	  "the table's chat column (default: [move] chat_column)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

/* A key as read, before its section can be checked. */
struct rawkv {
	char *key;
	char *value;
	int line;
};

struct rawsec {
	struct rawkv *kv;
	size_t n, cap;
};

struct mapping {
	int64_t chat;
	int line;
	uint32_t name; /* index into parse.names */
};

enum section {
	SEC_NONE,
	SEC_DATABASE,
	SEC_SOURCE,
	SEC_SCOPES,
	SEC_MAPPING,
	SEC_STORE, /* [mapping] */
	SEC_MOVE,
	SEC_TABLE,
	SEC_AUDIT,
	SEC_UNKNOWN
};

struct parse {
	struct dbr__config *cfg;
	struct dbr__diags diags;
	enum section sec;
	size_t cur;		/* current source */
	bool any_source_header; /* even a refused one */
	int seen[SEC_UNKNOWN];	/* header line of each single section */
	struct rawsec database;
	struct rawsec scopes;
	struct rawsec store, move;
	struct rawsec *tabraw; /* one per [table.NAME] */
	size_t tabcap, tabrawcap;
	struct rawsec audit;
	struct rawsec *srcraw; /* one per source */
	size_t srccap, rawcap;
	struct mapping *maps;
	size_t nmaps, mapcap;
	char **names; /* distinct source names in mappings */
	size_t nnames, namecap;
	uint32_t *nameidx; /* hash of names: index or UINT32_MAX */
	size_t nameslots;  /* a power of two, at least 2 * nnames */
};

static bool name_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return n >= 1 && n <= max;
}

bool dbr__config_type_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			return false;
	return n >= 1 && n <= 32;
}

static int raw_add(struct parse *p, struct rawsec *sec, const char *key,
		   const char *value, int line)
{
	struct rawkv *kv;

	if (dbr__grow(&sec->kv, &sec->cap, sec->n + 1, sizeof(*sec->kv)))
		return DBR_E_NOMEM;
	kv = &sec->kv[sec->n];
	kv->key = dbr__strdup(key);
	kv->value = value ? dbr__strdup(value) : NULL;
	kv->line = line;
	if (!kv->key || (value && !kv->value)) {
		dbr__free(kv->key);
		dbr__free(kv->value);
		p->diags.nomem = true;
		return DBR_E_NOMEM;
	}
	sec->n++;
	return DBR_OK;
}

static void raw_release(struct rawsec *sec)
{
	size_t i;

	for (i = 0; i < sec->n; i++) {
		dbr__free(sec->kv[i].key);
		dbr__free(sec->kv[i].value);
	}
	dbr__free(sec->kv);
	memset(sec, 0, sizeof(*sec));
}

/* The earlier key of the same name in sec, for duplicate reports. */
static const struct rawkv *raw_find(const struct rawsec *sec, const char *key,
				    size_t before)
{
	size_t i;

	for (i = 0; i < before; i++)
		if (!strcmp(sec->kv[i].key, key))
			return &sec->kv[i];
	return NULL;
}

struct keyref {
	const char *key;
	size_t i;
};

static int by_key_index(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return (x->i > y->i) - (x->i < y->i);
}

/*
 * For each key of sec, the index of the first key of the same name (its
 * own index if it is the first), in O(n log n); NULL (and nomem noted)
 * if out of memory. The caller frees it.
 */
static size_t *raw_firsts(struct parse *p, const struct rawsec *sec)
{
	size_t n = sec->n ? sec->n : 1, i, first = 0;
	size_t *firsts = dbr__malloc(n * sizeof(*firsts));
	struct keyref *v = dbr__malloc(n * sizeof(*v));

	if (!firsts || !v) {
		dbr__free(firsts);
		dbr__free(v);
		p->diags.nomem = true;
		return NULL;
	}
	for (i = 0; i < sec->n; i++)
		v[i] = (struct keyref){ sec->kv[i].key, i };
	qsort(v, sec->n, sizeof(*v), by_key_index);
	for (i = 0; i < sec->n; i++) {
		if (!i || strcmp(v[i].key, v[i - 1].key))
			first = v[i].i;
		firsts[v[i].i] = first;
	}
	dbr__free(v);
	return firsts;
}

static const char *const section_names[] = { "database",     "scopes",
					     "chat_mapping", "source.NAME",
					     "mapping",	     "move",
					     "table.NAME",   "audit" };

/* Whether s is an SQL identifier that needs no quoting: a letter or '_',
 * then letters, digits or '_', at most 63 in all. */
static bool ident_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_' || (n && c >= '0' && c <= '9')))
			return false;
	}
	return n >= 1 && n <= 63;
}

/* Whether s names a table: TABLE or SCHEMA.TABLE, each an identifier. */
static bool table_name_ok(const char *s)
{
	const char *dot = strchr(s, '.');
	char schema[64];

	if (!dot)
		return ident_ok(s);
	if ((size_t)(dot - s) >= sizeof(schema))
		return false;
	memcpy(schema, s, (size_t)(dot - s));
	schema[dot - s] = '\0';
	return ident_ok(schema) && ident_ok(dot + 1);
}

static void table_section(struct parse *p, const char *name, int line)
{
	struct dbr__config *cfg = p->cfg;
	size_t i;

	p->sec = SEC_UNKNOWN;
	if (!table_name_ok(name)) {
		dbr__diag_add(&p->diags, line,
			      "bad table name '%s': expected TABLE or "
			      "SCHEMA.TABLE, each a letter or '_' then "
			      "letters, digits or '_' (at most 63)",
			      name);
		return;
	}
	for (i = 0; i < cfg->ntables; i++) {
		if (!strcmp(cfg->tables[i].name, name)) {
			dbr__diag_add(&p->diags, line,
				      "duplicate section [table.%s] (first on "
				      "line %d)",
				      name, cfg->tables[i].line);
			return;
		}
	}
	if (dbr__grow(&cfg->tables, &p->tabcap, cfg->ntables + 1,
		      sizeof(*cfg->tables)) ||
	    dbr__grow(&p->tabraw, &p->tabrawcap, cfg->ntables + 1,
		      sizeof(*p->tabraw)) ||
	    !(cfg->tables[cfg->ntables].name = dbr__strdup(name))) {
		p->diags.nomem = true;
		return;
	}
	cfg->tables[cfg->ntables].chat_column = NULL;
	cfg->tables[cfg->ntables].line = line;
	memset(&p->tabraw[cfg->ntables], 0, sizeof(*p->tabraw));
	cfg->ntables++;
	p->sec = SEC_TABLE;
}

static void source_section(struct parse *p, const char *name, int line)
{
	struct dbr__config *cfg = p->cfg;
	struct dbr_source_config *s;
	size_t i;

	if (!name_ok(name, 63)) {
		dbr__diag_add(&p->diags, line,
			      "bad source name '%s': expected 1 to 63 letters, "
			      "digits, '_' or '-'",
			      name);
		p->sec = SEC_UNKNOWN;
		return;
	}
	for (i = 0; i < cfg->nsources; i++) {
		if (!strcmp(cfg->sources[i].name, name)) {
			dbr__diag_add(&p->diags, line,
				      "duplicate section [source.%s] (first "
				      "on line %d)",
				      name, cfg->sources[i].line);
			p->sec = SEC_UNKNOWN;
			return;
		}
	}
	if (cfg->nsources >= UINT32_MAX - 1 ||
	    dbr__grow(&cfg->sources, &p->srccap, cfg->nsources + 1,
		      sizeof(*cfg->sources)) ||
	    dbr__grow(&p->srcraw, &p->rawcap, cfg->nsources + 1,
		      sizeof(*p->srcraw)))
		goto nomem;
	s = &cfg->sources[cfg->nsources];
	memset(s, 0, sizeof(*s));
	memset(&p->srcraw[cfg->nsources], 0, sizeof(*p->srcraw));
	s->name = dbr__strdup(name);
	if (!s->name)
		goto nomem;
	s->index = (uint32_t)cfg->nsources;
	s->line = line;
	p->cur = cfg->nsources++;
	p->sec = SEC_SOURCE;
	return;
nomem:
	p->diags.nomem = true;
	p->sec = SEC_UNKNOWN;
}

static void on_section(void *ud, const char *name, int line)
{
	struct parse *p = ud;
	enum section sec = SEC_UNKNOWN;
	const char *hint;

	if (!strncmp(name, "source.", 7)) {
		p->any_source_header = true;
		source_section(p, name + 7, line);
		return;
	}
	if (!strncmp(name, "table.", 6)) {
		table_section(p, name + 6, line);
		return;
	}
	if (!strcmp(name, "database"))
		sec = SEC_DATABASE;
	else if (!strcmp(name, "scopes"))
		sec = SEC_SCOPES;
	else if (!strcmp(name, "chat_mapping"))
		sec = SEC_MAPPING;
	else if (!strcmp(name, "mapping"))
		sec = SEC_STORE;
	else if (!strcmp(name, "move"))
		sec = SEC_MOVE;
	else if (!strcmp(name, "audit"))
		sec = SEC_AUDIT;
	p->sec = sec;
	if (sec == SEC_UNKNOWN) {
		hint = dbr__suggest(name, section_names, 8);
		if (hint)
			dbr__diag_add(
				&p->diags, line,
				"unknown section [%s]; did you mean [%s]?",
				name, hint);
		else
			dbr__diag_add(&p->diags, line,
				      "unknown section [%s]; expected "
				      "[database], [source.NAME], [scopes], "
				      "[chat_mapping], [mapping], [move], "
				      "[table.NAME] or [audit]",
				      name);
		return;
	}
	if (p->seen[sec]) {
		dbr__diag_add(&p->diags, line,
			      "duplicate section [%s] (first on line %d)", name,
			      p->seen[sec]);
		p->sec = SEC_UNKNOWN;
		return;
	}
	p->seen[sec] = line;
}

/* The slot of name in p->nameidx: where it is, or where it would go. */
static size_t name_slot(const struct parse *p, const char *name)
{
	size_t i =
		(size_t)dbr_hash_bytes(name, strlen(name)) & (p->nameslots - 1);

	while (p->nameidx[i] != UINT32_MAX &&
	       strcmp(p->names[p->nameidx[i]], name))
		i = (i + 1) & (p->nameslots - 1);
	return i;
}

/* Make room in p->nameidx for one more name. */
static int grow_nameidx(struct parse *p)
{
	size_t slots = p->nameslots ? 2 * p->nameslots : 64, i;
	uint32_t *old = p->nameidx;

	if (2 * (p->nnames + 1) <= p->nameslots)
		return DBR_OK;
	if (slots > SIZE_MAX / sizeof(*old) ||
	    !(p->nameidx = dbr__malloc(slots * sizeof(*old)))) {
		p->nameidx = old;
		return DBR_E_NOMEM;
	}
	memset(p->nameidx, 0xff, slots * sizeof(*old));
	p->nameslots = slots;
	for (i = 0; i < p->nnames; i++)
		p->nameidx[name_slot(p, p->names[i])] = (uint32_t)i;
	dbr__free(old);
	return DBR_OK;
}

static uint32_t intern_name(struct parse *p, const char *name)
{
	size_t slot;

	if (grow_nameidx(p))
		goto nomem;
	slot = name_slot(p, name);
	if (p->nameidx[slot] != UINT32_MAX)
		return p->nameidx[slot];
	if (dbr__grow(&p->names, &p->namecap, p->nnames + 1,
		      sizeof(*p->names)) ||
	    !(p->names[p->nnames] = dbr__strdup(name)))
		goto nomem;
	p->nameidx[slot] = (uint32_t)p->nnames;
	return (uint32_t)p->nnames++;
nomem:
	p->diags.nomem = true;
	return UINT32_MAX;
}

static void mapping_key(struct parse *p, const char *key, const char *value,
			int line)
{
	struct mapping *m;
	int64_t chat;
	uint32_t name;

	if (!value)
		return; /* the line was refused and reported */
	if (dbr__parse_int64(key, &chat)) {
		dbr__diag_add(&p->diags, line,
			      "bad chat id '%s': expected a signed 64-bit "
			      "integer",
			      key);
		return;
	}
	if (!*value) {
		dbr__diag_add(&p->diags, line, "chat %s: empty source name",
			      key);
		return;
	}
	name = intern_name(p, value);
	if (name == UINT32_MAX ||
	    dbr__grow(&p->maps, &p->mapcap, p->nmaps + 1, sizeof(*p->maps))) {
		p->diags.nomem = true;
		return;
	}
	m = &p->maps[p->nmaps++];
	m->chat = chat;
	m->line = line;
	m->name = name;
}

static void on_key(void *ud, const char *key, const char *value, int line)
{
	struct parse *p = ud;

	switch (p->sec) {
	case SEC_NONE:
		dbr__diag_add(&p->diags, line, "key '%s' outside any section",
			      key);
		break;
	case SEC_DATABASE: raw_add(p, &p->database, key, value, line); break;
	case SEC_SOURCE:
		raw_add(p, &p->srcraw[p->cur], key, value, line);
		break;
	case SEC_SCOPES: raw_add(p, &p->scopes, key, value, line); break;
	case SEC_MAPPING: mapping_key(p, key, value, line); break;
	case SEC_STORE: raw_add(p, &p->store, key, value, line); break;
	case SEC_MOVE: raw_add(p, &p->move, key, value, line); break;
	case SEC_TABLE:
		raw_add(p, &p->tabraw[p->cfg->ntables - 1], key, value, line);
		break;
	case SEC_AUDIT: raw_add(p, &p->audit, key, value, line); break;
	case SEC_UNKNOWN: break; /* the section itself was reported */
	}
}

#define BOM "\xef\xbb\xbf"

/*
 * Whether key is a core key of decls in the wrong case or behind a
 * byte-order mark: a mistake even when the driver, and so the full list of
 * keys, is unknown.
 */
static bool near_core_key(const char *key, const struct dbr_option_decl *d)
{
	if (!strncmp(key, BOM, 3))
		return true;
	for (; d && d->name; d++)
		if (!strcasecmp(key, d->name))
			return true;
	return false;
}

/* Report key `kv` as unknown among decls (and extra, if given). */
static void unknown_key(struct parse *p, const struct rawkv *kv,
			const char *where, const struct dbr_option_decl *a,
			const struct dbr_option_decl *b)
{
	const char *names[128];
	size_t n = 0;
	const char *hint;

	for (; a && a->name && n < 128; a++)
		names[n++] = a->name;
	for (; b && b->name && n < 128; b++)
		names[n++] = b->name;
	if (!strncmp(kv->key, BOM, 3)) {
		dbr__diag_add(&p->diags, kv->line,
			      "unknown key in %s: a byte-order mark (U+FEFF) "
			      "before '%s'; did you mean '%s'?",
			      where, kv->key + 3, kv->key + 3);
		return;
	}
	hint = dbr__suggest(kv->key, names, n);
	if (hint)
		dbr__diag_add(&p->diags, kv->line,
			      "unknown key '%s' in %s; did you mean '%s'?",
			      kv->key, where, hint);
	else
		dbr__diag_add(&p->diags, kv->line, "unknown key '%s' in %s",
			      kv->key, where);
}

/*
 * Parse the keys of one section into va (one value per declaration of a)
 * and vb (one per declaration of b, which may be NULL). Keys of neither
 * array are reported as unknown, unless `lenient` (when b could not be
 * known because the driver failed to load).
 */
static void parse_keys(struct parse *p, const struct rawsec *sec,
		       const char *where, const struct dbr_option_decl *a,
		       struct dbr__optval *va, const struct dbr_option_decl *b,
		       struct dbr__optval *vb, bool lenient)
{
	const char *dir = p->cfg->dir;
	size_t *firsts = raw_firsts(p, sec);
	char msg[160];
	size_t i;

	for (i = 0; firsts && i < sec->n; i++) {
		const struct rawkv *kv = &sec->kv[i];
		const struct rawkv *dup =
			firsts[i] < i ? &sec->kv[firsts[i]] : NULL;
		const struct dbr_option_decl *d = dbr__opt_find(a, kv->key);
		struct dbr__optval *v;

		if (dup) {
			dbr__diag_add(&p->diags, kv->line,
				      "duplicate key '%s' in %s (first on "
				      "line %d)",
				      kv->key, where, dup->line);
			continue;
		}
		if (d) {
			v = &va[d - a];
		} else if ((d = dbr__opt_find(b, kv->key))) {
			v = &vb[d - b];
		} else {
			if (!lenient || near_core_key(kv->key, a))
				unknown_key(p, kv, where, a, b);
			continue;
		}
		/* A key whose line was refused is present, not missing. */
		if (kv->value &&
		    dbr__opt_parse(d, kv->value, dir, v, msg, sizeof(msg)))
			dbr__diag_add(&p->diags, kv->line,
				      "bad value '%s' for '%s' in %s: %s",
				      kv->value, kv->key, where, msg);
		v->line = kv->line;
	}
	dbr__free(firsts);
}

/* Fill defaults of unset keys; report required ones that are missing. */
static void finish_keys(struct parse *p, const struct dbr_option_decl *d,
			struct dbr__optval *v, const char *where, int line)
{
	for (; d->name; d++, v++) {
		if (v->isset || v->line)
			continue;
		v->decl = d;
		if (d->flags & DBR_OPT_REQUIRED)
			dbr__diag_add(&p->diags, line,
				      "missing required key '%s' in %s",
				      d->name, where);
		else if (dbr__opt_default(d, p->cfg->dir, v))
			p->diags.nomem = true;
	}
}

/* Load the driver named by a source's `type` key. */
static void source_driver(struct parse *p, struct dbr_source_config *s,
			  const struct rawsec *raw)
{
	const struct rawkv *type = raw_find(raw, "type", raw->n);
	char msg[768];
	int rc;

	if (!type || !type->value)
		return; /* reported by finish_keys() or the reader */
	s->type_line = type->line;
	if (!dbr__config_type_ok(type->value)) {
		dbr__diag_add(&p->diags, type->line,
			      "bad value '%s' for 'type' in [source.%s]: "
			      "expected 1 to 32 of a-z, 0-9 and '_'",
			      type->value, s->name);
		return;
	}
	rc = dbr__driver_get(type->value, p->cfg->plugin_dir, &s->drv, msg,
			     sizeof(msg));
	if (rc == DBR_E_NOMEM)
		p->diags.nomem = true;
	else if (rc)
		dbr__diag_add(&p->diags, type->line, "source '%s': %s", s->name,
			      msg);
}

static void check_source(struct parse *p, struct dbr_source_config *s,
			 const struct rawsec *raw)
{
	const struct dbr_option_decl *decls = NULL;
	char where[80];

	snprintf(where, sizeof(where), "[source.%s]", s->name);
	source_driver(p, s, raw);
	if (s->drv) {
		size_t n = dbr__opt_count(s->drv->vt.options);

		s->opts = dbr__calloc(n ? n : 1, sizeof(*s->opts));
		if (!s->opts) {
			p->diags.nomem = true;
			return;
		}
		s->nopts = n;
		decls = s->drv->vt.options;
	}
	parse_keys(p, raw, where, source_keys, s->core, decls, s->opts,
		   !s->drv);
	/* The type was checked by source_driver(); keep it as text. */
	finish_keys(p, source_keys, s->core, where, s->line);
	if (decls)
		finish_keys(p, decls, s->opts, where, s->line);
	s->max_connections = (int)s->core[DBR__KEY_MAX_CONNECTIONS].v.i;
	s->timeout = s->core[DBR__KEY_TIMEOUT].v.d;
	s->readonly = s->core[DBR__KEY_READONLY].v.b;
	s->idle_timeout = s->core[DBR__KEY_IDLE_TIMEOUT].v.d;
	if (s->readonly && s->drv && !(s->drv->vt.caps & DBR_CAP_READONLY))
		dbr__diag_add(&p->diags, s->core[DBR__KEY_READONLY].line,
			      "source '%s': readonly = true, but driver '%s' "
			      "does not enforce read-only",
			      s->name, s->drv->vt.name);
	s->fallback = p->cfg->fallback;
	if (s->core[DBR__KEY_FALLBACK].text)
		s->fallback = strcmp(s->core[DBR__KEY_FALLBACK].text, "none")
				      ? DBR__FALLBACK_DEFAULT
				      : DBR__FALLBACK_NONE;
}

static int level_of(const char *name)
{
	int l;

	for (l = DBR_LOG_ERROR; l <= DBR_LOG_DEBUG; l++)
		if (!strcmp(dbr_log_level_name(l), name))
			return l;
	return DBR_LOG_WARN;
}

/* [database] metrics: timing unless it says less. */
static int metrics_of(const char *name)
{
	if (name && !strcmp(name, "off"))
		return DBR__METRICS_OFF;
	if (name && !strcmp(name, "counters"))
		return DBR__METRICS_COUNTERS;
	return DBR__METRICS_TIMING;
}

/* Suggest the nearest defined source for an undefined name. */
static void undefined_source(struct parse *p, int line, const char *what,
			     const char *name)
{
	const struct dbr__config *cfg = p->cfg;
	const char *names[256];
	size_t i, n = 0;
	const char *hint;

	for (i = 0; i < cfg->nsources && n < 256; i++)
		names[n++] = cfg->sources[i].name;
	hint = dbr__suggest(name, names, n);
	if (hint)
		dbr__diag_add(&p->diags, line,
			      "%s: undefined source '%s'; did you mean '%s'?",
			      what, name, hint);
	else
		dbr__diag_add(&p->diags, line, "%s: undefined source '%s'",
			      what, name);
}

static void check_database(struct parse *p, struct dbr__optval *v)
{
	struct dbr__config *cfg = p->cfg;
	const struct dbr_source_config *def;

	parse_keys(p, &p->database, "[database]", database_keys, v, NULL, NULL,
		   false);
	finish_keys(p, database_keys, v, "[database]", p->seen[SEC_DATABASE]);
	cfg->fallback =
		v[DB_FALLBACK].text && !strcmp(v[DB_FALLBACK].text, "none")
			? DBR__FALLBACK_NONE
			: DBR__FALLBACK_DEFAULT;
	cfg->retry_interval = v[DB_RETRY].v.d;
	cfg->log_level =
		level_of(v[DB_LOG_LEVEL].text ? v[DB_LOG_LEVEL].text : "warn");
	cfg->metrics = metrics_of(v[DB_METRICS].text);
	cfg->timing_sample = (uint32_t)v[DB_TIMING_SAMPLE].v.i;
	cfg->plugin_dir = v[DB_PLUGIN_DIR].text;
	v[DB_PLUGIN_DIR].text = NULL;
	if (v[DB_DEFAULT_SOURCE].isset) {
		def = dbr__config_source(cfg, v[DB_DEFAULT_SOURCE].text);
		if (def)
			cfg->default_source = def->index;
		else
			undefined_source(p, v[DB_DEFAULT_SOURCE].line,
					 "default_source",
					 v[DB_DEFAULT_SOURCE].text);
	} else if (cfg->nsources > 1) {
		dbr__diag_add(&p->diags,
			      p->seen[SEC_DATABASE] ? p->seen[SEC_DATABASE]
						    : cfg->sources[1].line,
			      "%zu sources are defined but [database] names "
			      "no default_source",
			      cfg->nsources);
	}
}

/* [audit]: the file's path, resolved against the INI's folder. */
static void check_audit(struct parse *p)
{
	struct dbr__optval v[AUDIT_COUNT];
	size_t i;

	memset(v, 0, sizeof(v));
	parse_keys(p, &p->audit, "[audit]", audit_keys, v, NULL, NULL, false);
	p->cfg->audit_file = v[AUDIT_FILE].text;
	v[AUDIT_FILE].text = NULL;
	for (i = 0; i < AUDIT_COUNT; i++)
		dbr__optval_release(&v[i]);
}

static void check_scopes(struct parse *p)
{
	struct dbr__config *cfg = p->cfg;
	const struct dbr_source_config *s;
	char what[96];
	size_t i, *firsts;

	cfg->scopes = dbr__calloc(p->scopes.n ? p->scopes.n : 1,
				  sizeof(*cfg->scopes));
	if (!cfg->scopes) {
		p->diags.nomem = true;
		return;
	}
	firsts = raw_firsts(p, &p->scopes);
	for (i = 0; firsts && i < p->scopes.n; i++) {
		struct rawkv *kv = &p->scopes.kv[i];
		const struct rawkv *dup =
			firsts[i] < i ? &p->scopes.kv[firsts[i]] : NULL;

		snprintf(what, sizeof(what), "scope '%s'", kv->key);
		if (!kv->value) {
			continue; /* its line was refused and reported */
		} else if (!name_ok(kv->key, 63)) {
			dbr__diag_add(&p->diags, kv->line,
				      "bad scope name '%s': expected 1 to 63 "
				      "letters, digits, '_' or '-'",
				      kv->key);
		} else if (dup) {
			dbr__diag_add(&p->diags, kv->line,
				      "duplicate scope '%s' (first on line %d)",
				      kv->key, dup->line);
		} else if (!(s = dbr__config_source(cfg, kv->value))) {
			undefined_source(p, kv->line, what, kv->value);
		} else {
			cfg->scopes[cfg->nscopes].name = dbr__strdup(kv->key);
			if (!cfg->scopes[cfg->nscopes].name) {
				p->diags.nomem = true;
				break;
			}
			cfg->scopes[cfg->nscopes++].source = s->index;
		}
	}
	dbr__free(firsts);
}

/* Mappings sorted by chat, then line: the first line of a chat in O(log n). */
struct first_lines {
	struct mapping *v;
	size_t n;
};

static int by_chat_line(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;

	if (x->chat != y->chat)
		return x->chat < y->chat ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * The line where chat first appears (0 if it does not), built on the first
 * call: only a file with a duplicate pays for the sort.
 */
static int first_line_of(struct parse *p, struct first_lines *fl, int64_t chat)
{
	size_t lo = 0, hi;

	if (!fl->v) {
		fl->v = dbr__malloc(p->nmaps * sizeof(*fl->v));
		if (!fl->v) {
			p->diags.nomem = true;
			return 0;
		}
		memcpy(fl->v, p->maps, p->nmaps * sizeof(*fl->v));
		fl->n = p->nmaps;
		qsort(fl->v, fl->n, sizeof(*fl->v), by_chat_line);
	}
	hi = fl->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fl->v[mid].chat < chat)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < fl->n && fl->v[lo].chat == chat ? fl->v[lo].line : 0;
}

static void check_mappings(struct parse *p)
{
	struct dbr__config *cfg = p->cfg;
	struct first_lines fl = { NULL, 0 };
	uint32_t *idx, existing;
	char what[64];
	size_t i;

	idx = dbr__malloc((p->nnames ? p->nnames : 1) * sizeof(*idx));
	if (!idx || dbr__chat_table_init(&cfg->chats, p->nmaps)) {
		dbr__free(idx);
		p->diags.nomem = true;
		return;
	}
	for (i = 0; i < p->nnames; i++) {
		const struct dbr_source_config *s =
			dbr__config_source(cfg, p->names[i]);
		idx[i] = s ? s->index : UINT32_MAX;
	}
	for (i = 0; i < p->nmaps; i++) {
		const struct mapping *m = &p->maps[i];

		if (idx[m->name] == UINT32_MAX) {
			snprintf(what, sizeof(what), "chat %lld",
				 (long long)m->chat);
			undefined_source(p, m->line, what, p->names[m->name]);
		} else if (dbr__chat_table_insert(&cfg->chats, m->chat,
						  idx[m->name], &existing)) {
			dbr__diag_add(&p->diags, m->line,
				      "duplicate chat id %lld (first on line "
				      "%d)",
				      (long long)m->chat,
				      first_line_of(p, &fl, m->chat));
		}
	}
	dbr__free(fl.v);
	dbr__free(idx);
}

/* A chat_column value: an identifier, else reported. */
static bool column_ok(struct parse *p, const struct dbr__optval *v,
		      const char *where)
{
	if (!v->text || ident_ok(v->text))
		return true;
	dbr__diag_add(&p->diags, v->line,
		      "bad value '%s' for 'chat_column' in %s: expected a "
		      "letter or '_' then letters, digits or '_' (at most 63)",
		      v->text, where);
	return false;
}

/* [mapping]: the store must be a defined SQL source. */
static void check_store(struct parse *p)
{
	struct dbr__config *cfg = p->cfg;
	struct dbr__optval v[3];
	const struct dbr_source_config *s;
	size_t i;

	if (!p->seen[SEC_STORE])
		return;
	memset(v, 0, sizeof(v));
	parse_keys(p, &p->store, "[mapping]", mapping_keys, v, NULL, NULL,
		   false);
	finish_keys(p, mapping_keys, v, "[mapping]", p->seen[SEC_STORE]);
	cfg->poll_interval = v[1].v.d;
	cfg->max_age = v[2].v.d;
	s = v[0].text ? dbr__config_source(cfg, v[0].text) : NULL;
	if (v[0].text && !s) {
		undefined_source(p, v[0].line, "[mapping] store", v[0].text);
	} else if (s && s->drv && !(s->drv->vt.caps & DBR_CAP_SQL)) {
		dbr__diag_add(&p->diags, v[0].line,
			      "[mapping] store: source '%s' is not an SQL "
			      "source (type %s): the store needs SQL",
			      s->name, s->drv->vt.name);
	} else if (s) {
		cfg->has_store = true;
		cfg->store = s->index;
	}
	for (i = 0; i < 3; i++)
		dbr__optval_release(&v[i]);
}

/* [move] chat_column, then each [table.NAME]'s own. */
static void check_tables(struct parse *p)
{
	struct dbr__config *cfg = p->cfg;
	struct dbr__optval v, mv[4];
	char where[96];
	size_t i;

	memset(mv, 0, sizeof(mv));
	parse_keys(p, &p->move, "[move]", move_keys, mv, NULL, NULL, false);
	finish_keys(p, move_keys, mv, "[move]", p->seen[SEC_MOVE]);
	if (column_ok(p, &mv[0], "[move]")) {
		cfg->chat_column = mv[0].text;
		mv[0].text = NULL;
	}
	cfg->move_batch_rows = (size_t)mv[1].v.i;
	cfg->move_fence_timeout = mv[2].v.d;
	cfg->move_max_attempts = (int)mv[3].v.i;
	for (i = 0; i < 4; i++)
		dbr__optval_release(&mv[i]);
	for (i = 0; i < cfg->ntables; i++) {
		struct dbr__table_section *t = &cfg->tables[i];

		snprintf(where, sizeof(where), "[table.%s]", t->name);
		memset(&v, 0, sizeof(v));
		parse_keys(p, &p->tabraw[i], where, table_keys, &v, NULL, NULL,
			   false);
		if (column_ok(p, &v, where) && v.text) {
			t->chat_column = v.text;
			v.text = NULL;
		} else if (cfg->chat_column &&
			   !(t->chat_column = dbr__strdup(cfg->chat_column))) {
			p->diags.nomem = true;
		}
		dbr__optval_release(&v);
	}
}

static void parse_release(struct parse *p)
{
	size_t i;

	raw_release(&p->database);
	raw_release(&p->scopes);
	raw_release(&p->store);
	raw_release(&p->move);
	for (i = 0; p->tabraw && i < p->cfg->ntables; i++)
		raw_release(&p->tabraw[i]);
	dbr__free(p->tabraw);
	raw_release(&p->audit);
	for (i = 0; p->srcraw && i < p->cfg->nsources; i++)
		raw_release(&p->srcraw[i]);
	dbr__free(p->srcraw);
	dbr__free(p->maps);
	for (i = 0; i < p->nnames; i++)
		dbr__free(p->names[i]);
	dbr__free(p->names);
	dbr__free(p->nameidx);
	dbr__diag_release(&p->diags);
}

int dbr__config_open(const char *path, FILE **out, struct dbr_error *err)
{
	struct stat st;
	char ebuf[128];
	FILE *f = fopen(path, "r");

	if (!f)
		return dbr__error_set(
			err, DBR_E_CONFIG, NULL, "%s: cannot open: %s", path,
			dbr__errno_text(errno, ebuf, sizeof(ebuf)));
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return dbr__error_set(err, DBR_E_CONFIG, NULL,
				      "%s: is a directory, not a file", path);
	}
	*out = f;
	return DBR_OK;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return dbr__strdup(".");
	if (slash == path)
		return dbr__strdup("/");
	return dbr__strndup(path, (size_t)(slash - path));
}

/* Everything after reading: check each part against the others. */
static void check_all(struct parse *p, int nlines)
{
	struct dbr__optval dbv[DB_COUNT];
	size_t i;

	memset(dbv, 0, sizeof(dbv));
	if (!p->any_source_header)
		dbr__diag_add(&p->diags, nlines ? nlines : 1,
			      "no [source.NAME] section: at least one source "
			      "is needed");
	/* [database] first: sources need its fallback and plugin_dir. */
	check_database(p, dbv);
	for (i = 0; i < p->cfg->nsources; i++)
		check_source(p, &p->cfg->sources[i], &p->srcraw[i]);
	check_scopes(p);
	check_mappings(p);
	check_store(p);
	check_tables(p);
	check_audit(p);
	for (i = 0; i < DB_COUNT; i++)
		dbr__optval_release(&dbv[i]);
}

int dbr__config_read(FILE *f, const char *path, const struct dbr__logger *log,
		     struct dbr__config **out, struct dbr_error *err)
{
	static const struct dbr__ini_events events = { on_section, on_key };
	struct parse p;
	struct dbr__config *cfg;
	int rc, nlines;
	size_t i;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	cfg = p.cfg = dbr__calloc(1, sizeof(*cfg));
	if (!cfg || !(cfg->path = dbr__strdup(path)) ||
	    !(cfg->dir = dir_of(path))) {
		dbr__config_free(cfg);
		return dbr__error_set(err, DBR_E_NOMEM, NULL,
				      "%s: out of memory", path);
	}
	nlines = dbr__ini_read(f, &events, &p, &p.diags);
	/* A file refused as not text: more checks would only add noise. */
	if (nlines >= 0)
		check_all(&p, nlines);
	for (i = 0; i < cfg->nsources; i++)
		cfg->sources[i].log = log;
	rc = dbr__diag_report(&p.diags, path, err);
	parse_release(&p);
	if (rc) {
		dbr__config_free(cfg);
		return rc;
	}
	*out = cfg;
	return DBR_OK;
}

bool dbr__config_capture(FILE *f, char **text, size_t *len)
{
	struct stat st;
	size_t n;
	char *buf;

	*text = NULL;
	*len = 0;
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > DBR__CONFIG_CAPTURE)
		return false;
	buf = dbr__malloc((size_t)st.st_size + 1);
	if (!buf)
		return false;
	/* One byte more than the size: a file that grew is not captured. */
	n = fread(buf, 1, (size_t)st.st_size + 1, f);
	if (n != (size_t)st.st_size || ferror(f)) {
		dbr__free(buf);
		return false;
	}
	*text = buf;
	*len = n;
	return true;
}

int dbr__config_load(const char *path, const struct dbr__logger *log,
		     struct dbr__config **out, struct dbr_error *err)
{
	FILE *f = NULL, *mem = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = dbr__config_open(path, &f, err);
	if (rc)
		return rc;
	/* A small regular file is parsed from the bytes kept: what a reload
	 * compares is exactly what was parsed. Any other is streamed. */
	if (dbr__config_capture(f, &text, &len) &&
	    !(mem = fmemopen(text, len, "r"))) {
		dbr__free(text);
		text = NULL;
	}
	if (!mem)
		rewind(f);
	rc = dbr__config_read(mem ? mem : f, path, log, out, err);
	if (mem)
		fclose(mem);
	fclose(f);
	if (!rc) {
		(*out)->text = text;
		(*out)->text_len = len;
	} else {
		dbr__free(text);
	}
	return rc;
}

static void source_release(struct dbr_source_config *s)
{
	size_t i;

	for (i = 0; i < DBR__KEY_COUNT; i++)
		dbr__optval_release(&s->core[i]);
	for (i = 0; i < s->nopts; i++)
		dbr__optval_release(&s->opts[i]);
	dbr__free(s->opts);
	dbr__driver_put(s->drv);
	dbr__free(s->name);
}

void dbr__config_free(struct dbr__config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->nsources; i++)
		source_release(&cfg->sources[i]);
	dbr__free(cfg->sources);
	for (i = 0; i < cfg->nscopes; i++)
		dbr__free(cfg->scopes[i].name);
	dbr__free(cfg->scopes);
	dbr__chat_table_release(&cfg->chats);
	for (i = 0; i < cfg->ntables; i++) {
		dbr__free(cfg->tables[i].name);
		dbr__free(cfg->tables[i].chat_column);
	}
	dbr__free(cfg->tables);
	dbr__free(cfg->chat_column);
	dbr__free(cfg->plugin_dir);
	dbr__free(cfg->audit_file);
	dbr__free(cfg->path);
	dbr__free(cfg->dir);
	dbr__free(cfg->text);
	dbr__free(cfg);
}

struct dbr_source_config *dbr__config_source(const struct dbr__config *cfg,
					     const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nsources; i++)
		if (!strcmp(cfg->sources[i].name, name))
			return &cfg->sources[i];
	return NULL;
}

const struct dbr__optval *dbr__source_opt(const struct dbr_source_config *s,
					  const char *name)
{
	const struct dbr_option_decl *d = dbr__opt_find(source_keys, name);

	if (d)
		return &s->core[d - source_keys];
	if (s->drv && (d = dbr__opt_find(s->drv->vt.options, name)))
		return &s->opts[d - s->drv->vt.options];
	return NULL;
}
