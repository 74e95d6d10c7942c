/*
 * reload.c - dbr_reload(): a new configuration file in force without a
 * restart (docs/operations.md, "Reloading the configuration").
 *
 * All or nothing: the file is read and validated as dbr_open() reads it,
 * then checked against the configuration in force (refusals below); only
 * then are the new sources' runtimes made, the configuration and a
 * snapshot published, and the runtimes of removed or changed sources
 * retired. A source whose name, driver and every option (core and
 * driver) are the same keeps its runtime: pool, connections, health and
 * counters.
 *
 * What is replaced is not freed at once: operations that read the old
 * configuration before the swap (a fan-out's part list, a per-source
 * call) may still hold pointers into it, and nothing counts them. So the
 * replaced configurations and the retired runtimes are kept until
 * dbr_close(), a few hundred bytes a source; the retired pools' slots
 * are freed there too, but every connection they held is closed as soon
 * as it is idle (at once, or when given back). A reload of the same
 * bytes (a signal without an edit) replaces nothing and keeps nothing.
 */
#include <string.h>

#include "handle.h"

/* Chats listed in a refusal, at most. */
#define LIST_CHATS 10

static bool optval_same(const struct dbr__optval *a,
			const struct dbr__optval *b)
{
	if (a->decl != b->decl || a->isset != b->isset)
		return false;
	if (!a->isset)
		return true;
	if (!a->text != !b->text || (a->text && strcmp(a->text, b->text)))
		return false;
	switch (a->decl ? a->decl->kind : 0) {
	case DBR_OPT_INT: return a->v.i == b->v.i;
	case DBR_OPT_SECONDS: return a->v.d == b->v.d;
	case DBR_OPT_BOOL: return a->v.b == b->v.b;
	default: return true;
	}
}

/* Whether a reload may keep a's runtime for b: same driver, options. */
static bool source_same(const struct dbr_source_config *a,
			const struct dbr_source_config *b)
{
	size_t i;

	if (a->drv != b->drv || a->nopts != b->nopts)
		return false;
	for (i = 0; i < DBR__KEY_COUNT; i++)
		if (!optval_same(&a->core[i], &b->core[i]))
			return false;
	for (i = 0; i < a->nopts; i++)
		if (!optval_same(&a->opts[i], &b->opts[i]))
			return false;
	return true;
}

/* The INI chats of cfg mapped to source index idx: counted, listed. */
static size_t ini_chats(const struct dbr__config *cfg, uint32_t idx,
			int64_t *out, size_t cap)
{
	const struct dbr__chat_table *t = &cfg->chats;
	size_t i, n = 0;

	for (i = 0; i < t->cap; i++) {
		if (!t->tags[i] || t->slots[i].value != idx)
			continue;
		if (n < cap)
			out[n] = t->slots[i].chat;
		n++;
	}
	return n;
}

/* Append " CHAT, CHAT ..." to a refusal. */
static void list_chats(char *buf, size_t size, const int64_t *chats, size_t n)
{
	size_t i, len;

	for (i = 0; i < n && i < LIST_CHATS; i++) {
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s%lld", i ? ", " : "",
			 (long long)chats[i]);
	}
	len = strlen(buf);
	if (n > LIST_CHATS)
		snprintf(buf + len, size - len, " and %zu more",
			 n - LIST_CHATS);
}

/*
 * Whether old's source s may go (removed, or retyped: the new entry ns,
 * or NULL): not while a mapping still names it. ns's INI chats (the new
 * file's) and the store's rows of the published snapshot are checked.
 */
static int check_gone(const struct dbr_source_config *s,
		      const struct dbr__config *new,
		      const struct dbr_source_config *ns,
		      const struct dbr__snap *sn, struct dbr_error *err)
{
	int64_t chats[LIST_CHATS];
	char list[512] = "";
	size_t n;
	const char *what = ns ? "retype" : "remove";
	const char *whose;

	n = ns ? ini_chats(new, ns->index, chats, LIST_CHATS) : 0;
	whose = "[chat_mapping]";
	if (!n) {
		n = dbr__snap_store_chats(sn, s->name, chats, LIST_CHATS);
		whose = "the mapping store";
	}
	if (!n)
		return DBR_OK;
	list_chats(list, sizeof(list), chats, n);
	return dbr__error_set(err, DBR_E_CONFIG, s->name,
			      "reload refused: cannot %s source '%s' while "
			      "%s maps %zu chat%s to it: %s",
			      what, s->name, whose, n, n == 1 ? "" : "s", list);
}

/* The refusals: checked against what is in force, nothing changed. */
static int check(const struct dbr__config *old, const struct dbr__config *new,
		 const struct dbr__snap *sn, struct dbr_error *err)
{
	const char *od = old->sources[old->default_source].name;
	const char *nd = new->sources[new->default_source].name;
	const struct dbr_source_config *s, *ns;
	size_t i;
	int rc;

	if (strcmp(od, nd))
		return dbr__error_set(err, DBR_E_CONFIG, NULL,
				      "reload refused: default_source changes "
				      "from '%s' to '%s' (every unmapped chat "
				      "would move); restart instead",
				      od, nd);
	if (old->has_store != new->has_store ||
	    (old->has_store && strcmp(old->sources[old->store].name,
				      new->sources[new->store].name)))
		return dbr__error_set(
			err, DBR_E_CONFIG, NULL,
			"reload refused: [mapping] store "
			"changes (from %s to %s); restart "
			"instead",
			old->has_store ? old->sources[old->store].name : "none",
			new->has_store ? new->sources[new->store].name
				       : "none");
	/* The refresher's listening connection belongs to the store's
	 * driver. */
	if (old->has_store && strcmp(old->sources[old->store].drv->type,
				     new->sources[new->store].drv->type))
		return dbr__error_set(err, DBR_E_CONFIG, NULL,
				      "reload refused: the mapping store's "
				      "source '%s' changes type; restart "
				      "instead",
				      old->sources[old->store].name);
	/* Same names, other options (a path, a conninfo): as much a move of
	 * every unmapped chat, or a read of another store. */
	if (!source_same(&old->sources[old->default_source],
			 &new->sources[new->default_source]))
		return dbr__error_set(err, DBR_E_CONFIG, NULL,
				      "reload refused: default_source '%s' "
				      "changes its options (every unmapped "
				      "chat would move); restart instead",
				      od);
	if (old->has_store &&
	    !source_same(&old->sources[old->store], &new->sources[new->store]))
		return dbr__error_set(err, DBR_E_CONFIG, NULL,
				      "reload refused: the mapping store's "
				      "source '%s' changes its options; "
				      "restart instead",
				      old->sources[old->store].name);
	for (i = 0; i < old->nsources; i++) {
		s = &old->sources[i];
		ns = dbr__config_source(new, s->name);
		if (ns && !strcmp(ns->drv->type, s->drv->type))
			continue;
		rc = check_gone(s, new, ns, sn, err);
		if (rc)
			return rc;
	}
	return DBR_OK;
}

/* Free the runtimes made for new's first n sources (not those it
 * shares with old). */
static void drop_new(struct dbr__config *new, const struct dbr__config *old,
		     size_t n)
{
	const struct dbr_source_config *os;
	struct dbr_source_config *s;
	size_t i;

	for (i = 0; i < n; i++) {
		s = &new->sources[i];
		os = dbr__config_source(old, s->name);
		if (!os || os->rt != s->rt)
			dbr__source_rt_free(s->rt);
		s->rt = NULL;
	}
}

/* Each source of new: the old runtime when it is the same, else one. */
static int runtimes(struct dbr__config *new, const struct dbr__config *old,
		    struct dbr_error *err)
{
	struct dbr_source_config *s, *os;
	bool pool_only = false;
	size_t i;
	int rc;

	for (i = 0; i < new->nsources; i++) {
		s = &new->sources[i];
		os = dbr__config_source(old, s->name);
		if (os && source_same(os, s)) {
			s->rt = os->rt;
			continue;
		}
		rc = dbr__source_rt_new(s, new, &pool_only, err);
		if (rc) {
			if (s->rt && pool_only)
				dbr__pool_release(&s->rt->pool);
			dbr__free(s->rt);
			s->rt = NULL;
			drop_new(new, old, i);
			return rc;
		}
	}
	return DBR_OK;
}

/* What a reload changed: source names, each list ended by NULL. */
struct diff {
	const char **kept, **changed, **added, **removed;
	size_t nkept, nchanged, nadded, nremoved;
};

static void diff_free(struct diff *d)
{
	dbr__free(d->kept);
	dbr__free(d->changed);
	dbr__free(d->added);
	dbr__free(d->removed);
}

static int diff_of(struct diff *d, const struct dbr__config *old,
		   const struct dbr__config *new)
{
	const struct dbr_source_config *s, *os;
	size_t i, n = old->nsources + new->nsources + 1;

	memset(d, 0, sizeof(*d));
	d->kept = dbr__calloc(n, sizeof(char *));
	d->changed = dbr__calloc(n, sizeof(char *));
	d->added = dbr__calloc(n, sizeof(char *));
	d->removed = dbr__calloc(n, sizeof(char *));
	if (!d->kept || !d->changed || !d->added || !d->removed) {
		diff_free(d);
		return DBR_E_NOMEM;
	}
	for (i = 0; i < new->nsources; i++) {
		s = &new->sources[i];
		os = dbr__config_source(old, s->name);
		if (!os)
			d->added[d->nadded++] = s->name;
		else if (os->rt == s->rt)
			d->kept[d->nkept++] = s->name;
		else
			d->changed[d->nchanged++] = s->name;
	}
	for (i = 0; i < old->nsources; i++)
		if (!dbr__config_source(new, old->sources[i].name))
			d->removed[d->nremoved++] = old->sources[i].name;
	return DBR_OK;
}

/* "a, b, c" into buf, or "none". */
static const char *joined(char *buf, size_t size, const char **names)
{
	size_t len;

	*buf = '\0';
	for (; *names; names++) {
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
			 *names);
	}
	return *buf ? buf : "none";
}

/* Log what changed, at info level, and raise the audit event. */
static void report(struct dbr *db, const struct dbr__config *old,
		   const struct dbr__config *new)
{
	char kept[256], changed[256], added[256], removed[256];
	struct dbr_audit_event ev = { .kind = DBR_AUDIT_RELOAD };
	struct diff d;

	if (diff_of(&d, old, new)) {
		dbr__log(&db->log, DBR_LOG_WARN, NULL,
			 "reloaded %s (out of memory for the list of changes)",
			 new->path);
		return;
	}
	dbr__log(&db->log, DBR_LOG_INFO, NULL,
		 "reloaded %s: sources kept: %s; changed (draining): %s; "
		 "added: %s; removed (draining): %s; chat mappings %zu "
		 "(were %zu); log level %s, fallback %s, retry_interval %gs",
		 new->path, joined(kept, sizeof(kept), d.kept),
		 joined(changed, sizeof(changed), d.changed),
		 joined(added, sizeof(added), d.added),
		 joined(removed, sizeof(removed), d.removed), new->chats.count,
		 old->chats.count, dbr_log_level_name(new->log_level),
		 new->fallback == DBR__FALLBACK_NONE ? "none" : "default",
		 new->retry_interval);
	if (dbr__audit_on(&db->audit)) {
		ev.path = new->path;
		ev.status = DBR_OK;
		ev.added = d.nadded ? d.added : NULL;
		ev.removed = d.nremoved ? d.removed : NULL;
		ev.changed = d.nchanged ? d.changed : NULL;
		dbr__audit_emit(&db->audit, &ev);
	}
	diff_free(&d);
}

/* The audit event of a reload that changed nothing: its status and why. */
static void report_failed(struct dbr *db, const char *path, int rc,
			  const struct dbr_error *err)
{
	struct dbr_audit_event ev = { .kind = DBR_AUDIT_RELOAD };
	const struct dbr__config *cfg = db->cfg;

	if (!dbr__audit_on(&db->audit))
		return;
	ev.path = path ? path : cfg->path;
	ev.status = rc;
	ev.message = err->message;
	dbr__audit_emit(&db->audit, &ev);
}

/* Keep what the swap replaced until dbr_close(); retire old's pools that
 * new does not share. Under reload_mu. */
static void keep_retired(struct dbr *db, struct dbr__config *old,
			 const struct dbr__config *new,
			 struct dbr__retired **spare)
{
	const char *def = new->sources[new->default_source].name;
	struct dbr__retired *r;
	struct dbr_source_config *s, *ns;
	uint64_t diverted;
	size_t i;

	for (i = 0; i < old->nsources; i++) {
		s = &old->sources[i];
		ns = dbr__config_source(new, s->name);
		if (ns && ns->rt == s->rt)
			continue;
		dbr__pool_retire(&s->rt->pool);
		/* Its diverted operations not yet reported: as at close. */
		diverted = dbr__health_divert_flush(&s->rt->health);
		if (diverted && dbr__audit_on(&db->audit))
			dbr__audit_diverted(&db->audit, s->name, def, diverted);
		r = *spare;
		*spare = r->next;
		r->cfg = NULL;
		r->rt = s->rt;
		r->next = db->retired;
		db->retired = r;
	}
	r = *spare;
	*spare = r->next;
	r->cfg = old;
	r->rt = NULL;
	r->next = db->retired;
	db->retired = r;
}

/* The records keep_retired() needs, made before anything changes: one
 * per old source and one for the configuration. */
static struct dbr__retired *records(size_t n)
{
	struct dbr__retired *list = NULL, *r;
	size_t i;

	for (i = 0; i <= n; i++) {
		r = dbr__calloc(1, sizeof(*r));
		if (!r) {
			while ((r = list)) {
				list = r->next;
				dbr__free(r);
			}
			return NULL;
		}
		r->next = list;
		list = r;
	}
	return list;
}

/* Put new in force (the snapshot is published, the mutex held). */
static void swap(struct dbr *db, struct dbr__config *old,
		 struct dbr__config *new, struct dbr__retired **spare)
{
	/* Per-source calls and the fallback read db->cfg: from now on, the
	 * new configuration, as the snapshot just published. */
	db->cfg = new;
	pthread_mutex_unlock(&db->snaps.mu);
	if (!db->log_fixed)
		atomic_store(&db->log.level, new->log_level);
	keep_retired(db, old, new, spare);
	/* The same path is opened again: a renamed file is rotated so. */
	if (dbr__audit_file(&db->audit, new->audit_file))
		dbr__log(&db->log, DBR_LOG_WARN, NULL,
			 "reload: out of memory: the audit file is unchanged");
	report(db, old, new);
}

/*
 * Whether the file to load holds the bytes in force (a SIGHUP without an
 * edit): then nothing is parsed, swapped or kept. A file that cannot be
 * read is left to the load, which says why.
 */
static bool unchanged(struct dbr *db, const char *path)
{
	const struct dbr__config *old = db->cfg;
	struct dbr_error e;
	FILE *f = NULL;
	size_t len;
	char *text;
	bool same;

	if (!old->text || (path && strcmp(path, old->path)) ||
	    dbr__config_open(old->path, &f, &e))
		return false;
	same = dbr__config_capture(f, &text, &len) && len == old->text_len &&
	       !memcmp(text, old->text, len);
	fclose(f);
	dbr__free(text);
	if (same) {
		struct dbr_audit_event ev = { .kind = DBR_AUDIT_RELOAD };

		dbr__log(&db->log, DBR_LOG_INFO, NULL, "reloaded %s: unchanged",
			 old->path);
		if (dbr__audit_on(&db->audit)) {
			ev.path = old->path;
			ev.status = DBR_OK;
			dbr__audit_emit(&db->audit, &ev);
		}
	}
	return same;
}

static int reload_locked(struct dbr *db, const char *path,
			 struct dbr_error *err)
{
	struct dbr__config *old = db->cfg, *new = NULL;
	struct dbr__retired *spare, *r;
	int rc;

	if (unchanged(db, path))
		return DBR_OK;
	rc = dbr__config_load(path ? path : old->path, &db->log, &new, err);
	if (rc)
		return rc;
	spare = records(old->nsources);
	if (!spare) {
		dbr__config_free(new);
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	}
	/* The snapshot's mutex from the check to the publication: a store
	 * change cannot map a chat to a source between the two. */
	pthread_mutex_lock(&db->snaps.mu);
	rc = check(old, new, dbr__snap_current(&db->snaps), err);
	if (!rc)
		rc = runtimes(new, old, err);
	if (!rc) {
		rc = dbr__snap_reconfigure_locked(&db->snaps, new);
		if (rc) {
			drop_new(new, old, new->nsources);
			dbr__error_set(err, rc, NULL, "out of memory");
		}
	}
	if (rc)
		pthread_mutex_unlock(&db->snaps.mu);
	else
		swap(db, old, new, &spare);
	while ((r = spare)) {
		spare = r->next;
		dbr__free(r);
	}
	if (rc)
		dbr__config_free(new);
	return rc;
}

int dbr_reload(struct dbr *db, const char *config_path, struct dbr_error *err)
{
	struct dbr_error local;
	int rc;

	if (!err)
		err = &local; /* the reason is logged */
	if (!db)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_reload: db is NULL");
	pthread_mutex_lock(&db->reload_mu);
	rc = reload_locked(db, config_path, err);
	pthread_mutex_unlock(&db->reload_mu);
	atomic_fetch_add(rc ? &db->reloads_failed : &db->reloads, 1);
	if (rc) {
		dbr__log(&db->log, DBR_LOG_WARN, NULL,
			 "reload failed, the configuration in force is "
			 "unchanged: %s",
			 err->message);
		report_failed(db, config_path, rc, err);
	}
	return rc;
}
