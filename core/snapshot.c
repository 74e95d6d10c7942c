/*
 * snapshot.c - building, publishing and reclaiming snapshots (snapshot.h).
 */
#include <string.h>

#include "snapshot.h"

static struct dbr__snap *snap_new(const struct dbr__snap *from)
{
	struct dbr__snap *sn = dbr__calloc(1, sizeof(*sn));

	if (sn && from) {
		sn->cfg = from->cfg;
		sn->store_expected = from->store_expected;
		sn->version = from->version;
	}
	return sn;
}

static void base_put(struct dbr__snap_base *b)
{
	if (b && !--b->refs) {
		dbr__chat_table_release(&b->table);
		dbr__free(b);
	}
}

static void snap_free(struct dbr__snap *sn)
{
	size_t i;

	if (!sn)
		return;
	dbr__chat_table_release(&sn->overlay);
	for (i = 0; i < sn->nnames; i++)
		dbr__free(sn->names[i]);
	dbr__free(sn->names);
	dbr__free(sn->name_src);
	base_put(sn->base);
	dbr__free(sn);
}

/* The index of a source name in sn->names, or DBR__CHAT_MISS. */
static uint32_t name_index(const struct dbr__snap *sn, const char *name)
{
	size_t i;

	for (i = 0; i < sn->nnames; i++)
		if (!strcmp(sn->names[i], name))
			return (uint32_t)i;
	return DBR__CHAT_MISS;
}

/*
 * sn's names: those of `from` (NULL: none), in the same order, then each
 * new one the rows give. Indices of `from` stay valid in sn.
 */
static int names_with(struct dbr__snap *sn, const struct dbr__snap *from,
		      const struct dbr__store_row *rows, size_t n)
{
	size_t i, cap = 0, have = from ? from->nnames : 0;

	/* Sized by the names, not the rows: a million rows name a few. */
	if (dbr__grow(&sn->names, &cap, have + 1, sizeof(*sn->names)))
		return DBR_E_NOMEM;
	for (i = 0; i < have; i++) {
		sn->names[i] = dbr__strdup(from->names[i]);
		if (!sn->names[i])
			return DBR_E_NOMEM;
		sn->nnames++;
	}
	for (i = 0; i < n; i++) {
		if (!rows[i].source ||
		    name_index(sn, rows[i].source) != DBR__CHAT_MISS)
			continue;
		if (dbr__grow(&sn->names, &cap, sn->nnames + 1,
			      sizeof(*sn->names)))
			return DBR_E_NOMEM;
		sn->names[sn->nnames] = dbr__strdup(rows[i].source);
		if (!sn->names[sn->nnames])
			return DBR_E_NOMEM;
		sn->nnames++;
	}
	return DBR_OK;
}

/* Each name's source index in sn's configuration. */
static int resolve_names(struct dbr__snap *sn)
{
	size_t i;

	sn->name_src = dbr__calloc(sn->nnames + 1, sizeof(*sn->name_src));
	if (!sn->name_src)
		return DBR_E_NOMEM;
	for (i = 0; i < sn->nnames; i++) {
		const struct dbr_source_config *s =
			dbr__config_source(sn->cfg, sn->names[i]);

		sn->name_src[i] = s ? s->index : DBR__SNAP_LACKING;
	}
	return DBR_OK;
}

/* Each occupied slot of t, through fn. */
#define EACH_SLOT(t, i)                                                        \
	for ((i) = 0; (i) < (t)->cap; (i)++)                                   \
		if ((t)->tags[i])

void dbr__snap_reclaim(struct dbr__snaps *ss)
{
	struct dbr__snap **p = &ss->retired, *sn;

	while ((sn = *p)) {
		if (!sn->holds && dbr__ebr_is_safe(sn->stamp)) {
			*p = sn->next;
			snap_free(sn);
		} else {
			p = &sn->next;
		}
	}
}

/* Publish sn in place of the current snapshot, which is retired. Under
 * the mutex. */
static void publish(struct dbr__snaps *ss, struct dbr__snap *sn)
{
	struct dbr__snap *old;

	sn->holds = 1;
	old = atomic_exchange(&ss->cur, sn);
	old->holds--;
	old->stamp = dbr__ebr_advance();
	old->next = ss->retired;
	ss->retired = old;
	dbr__snap_reclaim(ss);
}

int dbr__snaps_init(struct dbr__snaps *ss, const struct dbr__config *cfg,
		    bool store_expected)
{
	struct dbr__snap *sn;

	memset(ss, 0, sizeof(*ss));
	sn = snap_new(NULL);
	if (!sn)
		return DBR_E_NOMEM;
	if (pthread_mutex_init(&ss->mu, NULL)) {
		dbr__free(sn);
		return DBR_E_RESOURCE;
	}
	sn->cfg = cfg;
	sn->store_expected = store_expected;
	sn->holds = 1;
	atomic_init(&ss->cur, sn);
	return DBR_OK;
}

void dbr__snaps_release(struct dbr__snaps *ss)
{
	struct dbr__snap *sn = atomic_load(&ss->cur), *next;

	if (!sn)
		return;
	snap_free(sn);
	for (sn = ss->retired; sn; sn = next) {
		next = sn->next;
		snap_free(sn);
	}
	pthread_mutex_destroy(&ss->mu);
	memset(ss, 0, sizeof(*ss));
}

/* A base table of the rows, their names indexed in sn. */
static int base_of(struct dbr__snap *sn, const struct dbr__store_row *rows,
		   size_t n, struct dbr_error *err)
{
	size_t i, count = 0;
	uint32_t existing;

	for (i = 0; i < n; i++)
		count += rows[i].source != NULL;
	sn->base = dbr__calloc(1, sizeof(*sn->base));
	if (!sn->base || dbr__chat_table_init(&sn->base->table, count))
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	sn->base->refs = 1;
	for (i = 0; i < n; i++) {
		if (!rows[i].source)
			continue;
		if (dbr__chat_table_insert(&sn->base->table, rows[i].chat,
					   name_index(sn, rows[i].source),
					   &existing))
			return dbr__error_set(err, DBR_E_MISUSE, NULL,
					      "mapping store: chat %lld is "
					      "mapped twice",
					      (long long)rows[i].chat);
	}
	return DBR_OK;
}

int dbr__snap_store_load(struct dbr__snaps *ss, uint64_t version,
			 const struct dbr__store_row *rows, size_t n,
			 struct dbr_error *err)
{
	struct dbr__snap *sn;
	int rc;

	if (!atomic_load(&ss->cur)->store_expected)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "no mapping store is configured");
	/* Built outside the mutex: only the names' sources need the
	 * current configuration. */
	sn = snap_new(NULL);
	if (!sn)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	rc = names_with(sn, NULL, rows, n);
	if (rc)
		dbr__error_set(err, rc, NULL, "out of memory");
	else
		rc = base_of(sn, rows, n, err);
	if (rc) {
		snap_free(sn);
		return rc;
	}
	pthread_mutex_lock(&ss->mu);
	sn->cfg = atomic_load(&ss->cur)->cfg;
	sn->store_expected = true;
	sn->version = version;
	rc = resolve_names(sn);
	if (!rc)
		publish(ss, sn);
	pthread_mutex_unlock(&ss->mu);
	if (rc) {
		snap_free(sn);
		return dbr__error_set(err, rc, NULL, "out of memory");
	}
	return DBR_OK;
}

/*
 * sn's overlay: the rows (a later row for a chat wins), then the entries
 * of `from`'s overlay the rows do not name.
 */
static int overlay_with(struct dbr__snap *sn, const struct dbr__snap *from,
			const struct dbr__store_row *rows, size_t n)
{
	const struct dbr__chat_table *old = &from->overlay;
	uint32_t existing;
	size_t i;

	if (dbr__chat_table_init(&sn->overlay, old->count + n))
		return DBR_E_NOMEM;
	for (i = n; i--;)
		dbr__chat_table_insert(&sn->overlay, rows[i].chat,
				       rows[i].source
					       ? name_index(sn, rows[i].source)
					       : DBR__SNAP_UNSET,
				       &existing);
	EACH_SLOT(old, i)
	dbr__chat_table_insert(&sn->overlay, old->slots[i].chat,
			       old->slots[i].value, &existing);
	return DBR_OK;
}

int dbr__snap_store_apply(struct dbr__snaps *ss, uint64_t version,
			  const struct dbr__store_row *rows, size_t n,
			  struct dbr_error *err)
{
	const struct dbr__snap *cur;
	struct dbr__snap *sn = NULL;
	int rc;

	pthread_mutex_lock(&ss->mu);
	cur = atomic_load(&ss->cur);
	if (!cur->base) {
		rc = dbr__error_set(err, DBR_E_MISUSE, NULL,
				    "mapping store: no table loaded yet");
		goto out;
	}
	if (version <= cur->version) {
		rc = dbr__error_set(err, DBR_E_MISUSE, NULL,
				    "mapping store: version %llu is not "
				    "above the version held, %llu",
				    (unsigned long long)version,
				    (unsigned long long)cur->version);
		goto out;
	}
	rc = DBR_E_NOMEM;
	sn = snap_new(cur);
	if (!sn || names_with(sn, cur, rows, n) || resolve_names(sn) ||
	    overlay_with(sn, cur, rows, n)) {
		dbr__error_set(err, rc, NULL, "out of memory");
		goto out;
	}
	sn->version = version;
	sn->base = cur->base;
	sn->base->refs++;
	publish(ss, sn);
	sn = NULL;
	rc = DBR_OK;
out:
	pthread_mutex_unlock(&ss->mu);
	snap_free(sn);
	return rc;
}

/* A base of sn's base with its overlay applied, sized exactly. */
static struct dbr__snap_base *fold_base(const struct dbr__snap *sn)
{
	const struct dbr__chat_table *b = &sn->base->table, *o = &sn->overlay;
	struct dbr__snap_base *nb;
	size_t i, count = b->count;
	uint32_t existing;

	EACH_SLOT(o, i)
	{
		bool in_base = dbr__chat_table_lookup(b, o->slots[i].chat) !=
			       DBR__CHAT_MISS;

		count += (o->slots[i].value != DBR__SNAP_UNSET) - in_base;
	}
	nb = dbr__calloc(1, sizeof(*nb));
	if (!nb || dbr__chat_table_init(&nb->table, count)) {
		dbr__free(nb);
		return NULL;
	}
	nb->refs = 1;
	EACH_SLOT(o, i)
	if (o->slots[i].value != DBR__SNAP_UNSET)
		dbr__chat_table_insert(&nb->table, o->slots[i].chat,
				       o->slots[i].value, &existing);
	EACH_SLOT(b, i)
	if (dbr__chat_table_lookup(o, b->slots[i].chat) == DBR__CHAT_MISS)
		dbr__chat_table_insert(&nb->table, b->slots[i].chat,
				       b->slots[i].value, &existing);
	return nb;
}

/*
 * The overlay of cur's changes that `folded` (an older snapshot on the
 * same base, whose overlay went into the new base) does not hold. Names
 * are only appended while the base stays, so their indices agree.
 */
static int residual(struct dbr__snap *sn, const struct dbr__snap *cur,
		    const struct dbr__snap *folded)
{
	const struct dbr__chat_table *o = &cur->overlay;
	size_t i, count = 0;
	uint32_t existing;

	EACH_SLOT(o, i)
	count += dbr__chat_table_lookup(&folded->overlay, o->slots[i].chat) !=
		 o->slots[i].value;
	if (dbr__chat_table_init(&sn->overlay, count))
		return DBR_E_NOMEM;
	EACH_SLOT(o, i)
	if (dbr__chat_table_lookup(&folded->overlay, o->slots[i].chat) !=
	    o->slots[i].value)
		dbr__chat_table_insert(&sn->overlay, o->slots[i].chat,
				       o->slots[i].value, &existing);
	return DBR_OK;
}

int dbr__snap_fold(struct dbr__snaps *ss, bool force, bool *folded)
{
	struct dbr__snap *from, *sn = NULL;
	const struct dbr__snap *cur;
	struct dbr__snap_base *nb;
	int rc = DBR_OK;

	*folded = false;
	pthread_mutex_lock(&ss->mu);
	from = atomic_load(&ss->cur);
	if (!from->base || !from->overlay.count ||
	    (!force && from->overlay.count < DBR__SNAP_FOLD_AT)) {
		pthread_mutex_unlock(&ss->mu);
		return DBR_OK;
	}
	from->holds++; /* not freed while the base is built from it */
	pthread_mutex_unlock(&ss->mu);
	nb = fold_base(from);
	pthread_mutex_lock(&ss->mu);
	cur = atomic_load(&ss->cur);
	if (!nb) {
		rc = DBR_E_NOMEM;
	} else if (cur->base == from->base) {
		/* Else a load replaced the table meanwhile: nothing to do. */
		sn = snap_new(cur);
		if (!sn || names_with(sn, cur, NULL, 0) || resolve_names(sn) ||
		    residual(sn, cur, from)) {
			rc = DBR_E_NOMEM;
		} else {
			sn->base = nb;
			nb = NULL;
			publish(ss, sn);
			sn = NULL;
			*folded = true;
		}
	}
	from->holds--;
	dbr__snap_reclaim(ss);
	pthread_mutex_unlock(&ss->mu);
	snap_free(sn);
	base_put(nb);
	return rc;
}

int dbr__snap_reconfigure_locked(struct dbr__snaps *ss,
				 const struct dbr__config *cfg)
{
	const struct dbr__snap *cur = atomic_load(&ss->cur);
	struct dbr__snap *sn = snap_new(cur);

	if (!sn)
		return DBR_E_NOMEM;
	sn->cfg = cfg;
	if (names_with(sn, cur, NULL, 0) || resolve_names(sn) ||
	    overlay_with(sn, cur, NULL, 0)) {
		snap_free(sn);
		return DBR_E_NOMEM;
	}
	sn->base = cur->base;
	if (sn->base)
		sn->base->refs++;
	publish(ss, sn);
	return DBR_OK;
}

/* Count (and list up to cap) a chat whose store value k names source. */
static void chat_if(const struct dbr__snap *sn, uint32_t k, const char *source,
		    int64_t chat, int64_t *out, size_t cap, size_t *n)
{
	if (k >= sn->nnames || strcmp(sn->names[k], source))
		return;
	if (*n < cap)
		out[*n] = chat;
	++*n;
}

size_t dbr__snap_store_chats(const struct dbr__snap *sn, const char *source,
			     int64_t *out, size_t cap)
{
	const struct dbr__chat_table *o = &sn->overlay, *b;
	size_t i, n = 0;

	if (!sn->base)
		return 0;
	b = &sn->base->table;
	EACH_SLOT(o, i)
	chat_if(sn, o->slots[i].value, source, o->slots[i].chat, out, cap, &n);
	EACH_SLOT(b, i)
	if (dbr__chat_table_lookup(o, b->slots[i].chat) == DBR__CHAT_MISS)
		chat_if(sn, b->slots[i].value, source, b->slots[i].chat, out,
			cap, &n);
	return n;
}
