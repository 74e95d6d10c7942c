/*
 * promtext.c - dbr_metrics_write(): every source's dbr_source_stats() in
 * the Prometheus text exposition format (version 0.0.4).
 *
 * Numbers are written from integers only (seconds as nanoseconds with a
 * decimal point put in by hand), never through printf's %g: the format
 * wants a '.', whatever the application's LC_NUMERIC says. Lines are
 * gathered in a buffer and handed to the caller's callback a buffer at a
 * time, each piece a whole number of lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handle.h"
#include "metrics.h"

/* The longest line written: a name, labels of at most two escaped names
 * (DBR_NAME_SIZE each, doubled at worst) and a number. */
#define LINE_MAX_BYTES 512

struct out {
	int (*write)(void *ud, const char *text, size_t len);
	void *ud;
	int failed; /* the callback asked to stop */
	size_t n;
	char buf[8192];
};

static void flush(struct out *o)
{
	if (o->n && !o->failed && o->write(o->ud, o->buf, o->n))
		o->failed = 1;
	o->n = 0;
}

static void DBR_PRINTF(2, 3) line(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (sizeof(o->buf) - o->n < LINE_MAX_BYTES)
		flush(o);
	va_start(ap, fmt);
	len = vsnprintf(o->buf + o->n, sizeof(o->buf) - o->n, fmt, ap);
	va_end(ap);
	if (len > 0)
		o->n += (size_t)len < sizeof(o->buf) - o->n
				? (size_t)len
				: sizeof(o->buf) - o->n - 1;
}

/* A label value escaped as the format says: \\, \" and \n. */
static const char *escaped(const char *s, char *buf, size_t cap)
{
	size_t n = 0;

	for (; *s && n + 3 < cap; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			buf[n++] = '\\';
			buf[n++] = *s == '\n' ? 'n' : *s;
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = '\0';
	return buf;
}

/* Nanoseconds as seconds, "1.5", "0.000001", "12": no trailing zeros. */
static const char *seconds(uint64_t ns, char *buf, size_t cap)
{
	size_t n;

	n = (size_t)snprintf(buf, cap, "%llu.%09llu",
			     (unsigned long long)(ns / 1000000000u),
			     (unsigned long long)(ns % 1000000000u));
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

static void family(struct out *o, const char *name, const char *type,
		   const char *help)
{
	line(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One source's numbers, as read once for every family. */
struct src {
	char label[2 * DBR_NAME_SIZE];
	struct dbr_source_stats st;
};

/* Error codes by label; codes without a name are counted as "other". */
static const char *const categories[16] = {
	[DBR_E_CONN] = "conn",
	[DBR_E_STMT] = "stmt",
	[DBR_E_CONSTRAINT] = "constraint",
	[DBR_E_TIMEOUT] = "timeout",
	[DBR_E_CONFIG] = "config",
	[DBR_E_NOMEM] = "nomem",
	[DBR_E_MISUSE] = "misuse",
	[DBR_E_UNSUPPORTED] = "unsupported",
	[DBR_E_ABI] = "abi",
	[DBR_E_READONLY] = "readonly",
	[DBR_E_NOTFOUND] = "notfound",
	[DBR_E_UNAVAILABLE] = "unavailable",
	[DBR_E_RESOURCE] = "resource",
	[15] = "other",
};

static const char *const kinds[DBR_OP_KINDS] = { "read", "write", "transaction",
						 "fanout" };

static void counters(struct out *o, const struct src *s, size_t n)
{
	size_t i, k;

	family(o, "dbroute_operations_total", "counter",
	       "Operations run on a source, by kind.");
	for (i = 0; i < n; i++)
		for (k = 0; k < DBR_OP_KINDS; k++)
			line(o,
			     "dbroute_operations_total{source=\"%s\","
			     "kind=\"%s\"} %llu\n",
			     s[i].label, kinds[k],
			     (unsigned long long)s[i].st.ops_by_kind[k]);
	family(o, "dbroute_errors_total", "counter",
	       "Failed operations of a source, by error category.");
	for (i = 0; i < n; i++)
		for (k = 0; k < 16; k++)
			if (categories[k])
				line(o,
				     "dbroute_errors_total{source=\"%s\","
				     "category=\"%s\"} %llu\n",
				     s[i].label, categories[k],
				     (unsigned long long)s[i]
					     .st.errors_by_code[k]);
}

/* A family with one number per source: a field at offset `off`. */
static void per_source(struct out *o, const struct src *s, size_t n,
		       const char *name, const char *type, const char *help,
		       size_t off, size_t size)
{
	uint64_t v;
	uint32_t v32;
	size_t i;

	family(o, name, type, help);
	for (i = 0; i < n; i++) {
		const char *f = (const char *)&s[i].st + off;

		if (size == sizeof(v32)) {
			memcpy(&v32, f, sizeof(v32));
			v = v32;
		} else {
			memcpy(&v, f, sizeof(v));
		}
		line(o, "%s{source=\"%s\"} %llu\n", name, s[i].label,
		     (unsigned long long)v);
	}
}

#define FIELD(f)                                                               \
	offsetof(struct dbr_source_stats, f),                                  \
		sizeof(((struct dbr_source_stats *)0)->f)

static void pool_and_state(struct out *o, const struct src *s, size_t n)
{
	int64_t now = (int64_t)time(NULL);
	size_t i;

	per_source(o, s, n, "dbroute_diverted_total", "counter",
		   "Operations routed to a source that ran on the default "
		   "source while it was unavailable.",
		   FIELD(diverted));
	per_source(o, s, n, "dbroute_probes_total", "counter",
		   "Operations that probed an unavailable source.",
		   FIELD(probes));
	family(o, "dbroute_source_up", "gauge",
	       "1 while a source is available, 0 while it is not.");
	for (i = 0; i < n; i++)
		line(o, "dbroute_source_up{source=\"%s\"} %d\n", s[i].label,
		     s[i].st.state == DBR_SOURCE_AVAILABLE);
	family(o, "dbroute_source_state_seconds", "gauge",
	       "Seconds since a source's availability last changed.");
	for (i = 0; i < n; i++)
		line(o, "dbroute_source_state_seconds{source=\"%s\"} %lld\n",
		     s[i].label,
		     (long long)(now > s[i].st.state_since
					 ? now - s[i].st.state_since
					 : 0));
	family(o, "dbroute_pool_connections", "gauge",
	       "Connections of a source's pool, by state.");
	for (i = 0; i < n; i++) {
		line(o,
		     "dbroute_pool_connections{source=\"%s\",state=\"idle\"} "
		     "%u\n",
		     s[i].label, (unsigned)s[i].st.pool_idle);
		line(o,
		     "dbroute_pool_connections{source=\"%s\","
		     "state=\"in_use\"} %u\n",
		     s[i].label,
		     (unsigned)(s[i].st.pool_in_use - s[i].st.pool_opening));
		line(o,
		     "dbroute_pool_connections{source=\"%s\","
		     "state=\"opening\"} %u\n",
		     s[i].label, (unsigned)s[i].st.pool_opening);
	}
	per_source(o, s, n, "dbroute_pool_max_connections", "gauge",
		   "A source's max_connections.", FIELD(pool_max));
	per_source(o, s, n, "dbroute_pool_waiters", "gauge",
		   "Callers waiting for a free connection of a source.",
		   FIELD(pool_waiters));
	per_source(o, s, n, "dbroute_pool_connects_total", "counter",
		   "Connections a source's pool opened.", FIELD(connects));
	per_source(o, s, n, "dbroute_pool_connect_failures_total", "counter",
		   "Connections a source's pool failed to open.",
		   FIELD(connect_failures));
	per_source(o, s, n, "dbroute_pool_discarded_total", "counter",
		   "Connections closed as unusable (lost, unclean, failed a "
		   "check).",
		   FIELD(discarded));
}

static void histogram(struct out *o, const struct src *s, size_t n,
		      const char *name, const char *help, bool stmt)
{
	char le[32], sum[32];
	uint64_t cum;
	size_t i, b;

	family(o, name, "histogram", help);
	for (i = 0; i < n; i++) {
		const struct dbr_histogram *h =
			stmt ? &s[i].st.statement_time : &s[i].st.acquire_wait;

		cum = 0;
		for (b = 0; b < DBR_HISTOGRAM_BUCKETS; b++) {
			cum += h->bucket[b];
			line(o, "%s_bucket{source=\"%s\",le=\"%s\"} %llu\n",
			     name, s[i].label,
			     b + 1 < DBR_HISTOGRAM_BUCKETS
				     ? seconds(dbr_histogram_bound(b), le,
					       sizeof(le))
				     : "+Inf",
			     (unsigned long long)cum);
		}
		line(o, "%s_sum{source=\"%s\"} %s\n", name, s[i].label,
		     seconds(h->sum_ns, sum, sizeof(sum)));
		line(o, "%s_count{source=\"%s\"} %llu\n", name, s[i].label,
		     (unsigned long long)cum);
	}
}

static void routing(struct out *o, const struct src *s, size_t n)
{
	uint64_t total;
	size_t i;
	int r;

	family(o, "dbroute_route_decisions_total", "counter",
	       "Routing decisions, by the reason a source was chosen.");
	for (r = 1; r < 8; r++) {
		const char *name = dbr_route_reason_name(r);

		if (!strcmp(name, "?"))
			continue;
		for (total = 0, i = 0; i < n; i++)
			total += s[i].st.routed[r];
		line(o, "dbroute_route_decisions_total{reason=\"%s\"} %llu\n",
		     name, (unsigned long long)total);
	}
}

/* The heaviest chats over every source (each source's list merged; past
 * 8 sources' worth of distinct chats, the rest are left out). */
static void chats(struct out *o, const struct src *s, size_t n, bool ops)
{
	struct dbr_chat_load all[DBR_TOP_CHATS * 8];
	char v[32];
	size_t i, j, k, used = 0;

	for (i = 0; i < n; i++) {
		const struct dbr_chat_load *l =
			ops ? s[i].st.top_ops : s[i].st.top_time;
		size_t nl = ops ? s[i].st.ntop_ops : s[i].st.ntop_time;

		for (j = 0; j < nl; j++) {
			for (k = 0; k < used && all[k].chat != l[j].chat; k++)
				;
			if (k == used) {
				if (used == sizeof(all) / sizeof(all[0]))
					continue;
				memset(&all[used++], 0, sizeof(all[0]));
				all[k].chat = l[j].chat;
			}
			all[k].ops += l[j].ops;
			all[k].time_ns += l[j].time_ns;
		}
	}
	dbr__topn_sort(all, &used, DBR_TOP_CHATS, ops);
	if (ops)
		family(o, "dbroute_chat_operations", "gauge",
		       "The heaviest chats' operations over every source "
		       "(an estimate from a sampled sketch).");
	else
		family(o, "dbroute_chat_statement_seconds", "gauge",
		       "The heaviest chats' statement time over every source "
		       "(an estimate from a sampled sketch).");
	for (i = 0; i < used; i++) {
		if (ops)
			line(o, "dbroute_chat_operations{chat=\"%lld\"} %llu\n",
			     (long long)all[i].chat,
			     (unsigned long long)all[i].ops);
		else
			line(o,
			     "dbroute_chat_statement_seconds{chat=\"%lld\"} "
			     "%s\n",
			     (long long)all[i].chat,
			     seconds(all[i].time_ns, v, sizeof(v)));
	}
}

/*
 * With a mapping store: the version this handle's routing holds (0: not
 * loaded yet), from the published snapshot; false without a store.
 */
static bool held_version(struct dbr *db, uint64_t *version)
{
	struct dbr__ebr_rec *rec = dbr__ebr_enter();
	const struct dbr__snap *sn;
	bool expected;

	if (!rec)
		return false;
	sn = dbr__snap_current(&db->snaps);
	expected = sn->store_expected;
	*version = sn->base ? sn->version : 0;
	dbr__ebr_exit(rec);
	return expected;
}

/*
 * With a mapping store: its version and the age of its latest change,
 * read from the store now (two statements on the store's source, counted
 * there as any operation). Nothing without a store, or when it cannot be
 * read (its source's errors say why).
 */
static void mapping(struct out *o, struct dbr *db)
{
	struct dbr_mapping_entry *rows = NULL;
	struct dbr_mapping_change *ch = NULL;
	int64_t version = 0, chat = 0, age_ms = 0;
	uint64_t held;
	char v[32];
	size_t n = 0;

	if (held_version(db, &held)) {
		family(o, "dbroute_mapping_version_held", "gauge",
		       "The mapping store's version this process routes by "
		       "(0: not loaded yet).");
		line(o, "dbroute_mapping_version_held %llu\n",
		     (unsigned long long)held);
	}
	if (dbr_mapping_read(db, &chat, NULL, &rows, &n, &version, NULL))
		return;
	dbr_free(rows);
	if (version > 0 &&
	    !dbr_mapping_changes(db, version - 1, NULL, &ch, &n, NULL) && n)
		age_ms = (int64_t)time(NULL) * 1000 - ch[n - 1].at_ms;
	dbr_free(ch);
	family(o, "dbroute_mapping_version", "gauge",
	       "The mapping store's version: its latest change (0: none).");
	line(o, "dbroute_mapping_version %lld\n", (long long)version);
	family(o, "dbroute_mapping_age_seconds", "gauge",
	       "Seconds since the mapping store's latest change (0: none).");
	line(o, "dbroute_mapping_age_seconds %s\n",
	     seconds(age_ms > 0 ? (uint64_t)age_ms * 1000000u : 0, v,
		     sizeof(v)));
}

/* The handle's configuration reloads (dbr_reload()), by outcome. */
static void reloads(struct out *o, struct dbr *db)
{
	family(o, "dbroute_reloads_total", "counter",
	       "Configuration reloads, by result (failed: the file or a "
	       "refusal; the configuration in force stayed).");
	line(o, "dbroute_reloads_total{result=\"ok\"} %llu\n",
	     (unsigned long long)atomic_load(&db->reloads));
	line(o, "dbroute_reloads_total{result=\"failed\"} %llu\n",
	     (unsigned long long)atomic_load(&db->reloads_failed));
}

int dbr_metrics_write(struct dbr *db,
		      int (*write)(void *ud, const char *text, size_t len),
		      void *ud, struct dbr_error *err)
{
	struct out *o = NULL;
	struct src *s = NULL;
	char **names = NULL;
	size_t n = 0, i, kept = 0;
	int rc;

	if (!db || !write)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_metrics_write: db and write are "
				      "required");
	rc = dbr_source_names(db, &names, &n, err);
	if (rc)
		return rc;
	o = dbr__calloc(1, sizeof(*o));
	s = dbr__calloc(n ? n : 1, sizeof(*s));
	if (!o || !s) {
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
		goto out;
	}
	o->write = write;
	o->ud = ud;
	for (i = 0; i < n; i++) {
		escaped(names[i], s[kept].label, sizeof(s[kept].label));
		s[kept].st.size = sizeof(s[kept].st);
		rc = dbr_source_stats(db, names[i], &s[kept].st, err);
		/* Removed by a reload since the names were read: left out. */
		if (rc == DBR_E_NOTFOUND)
			continue;
		if (rc)
			goto out;
		kept++;
	}
	rc = DBR_OK;
	n = kept;
	counters(o, s, n);
	pool_and_state(o, s, n);
	histogram(o, s, n, "dbroute_statement_duration_seconds",
		  "From a statement's sending to its result's end; sampled: "
		  "one statement in [database] timing_sample is timed and "
		  "counts for the statements since the previous sample.",
		  true);
	histogram(o, s, n, "dbroute_acquire_wait_seconds",
		  "From routing an operation to holding a connection; "
		  "sampled as the statement's duration.",
		  false);
	routing(o, s, n);
	mapping(o, db);
	chats(o, s, n, true);
	chats(o, s, n, false);
	reloads(o, db);
	flush(o);
	if (o->failed)
		rc = dbr__error_set(err, DBR_E_RESOURCE, NULL,
				    "dbr_metrics_write: the write callback "
				    "stopped the output");
out:
	dbr__free(o);
	dbr__free(s);
	dbr_free(names);
	return rc;
}
