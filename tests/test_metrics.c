/*
 * test_metrics.c - the metrics of issue 16: the histogram's buckets, the
 * chat sketch's error bound on a skewed stream, statement kinds, and the
 * counters dbr_source_stats() folds from every pool slot (exact under 8
 * threads), in each `[database] metrics` mode.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "metrics.h"

static const char config[] =
	"[database]\ndefault_source = main\ntiming_sample = 1\n"
	"[source.main]\ntype = sqlite\npath = main.db\nmax_connections = 4\n"
	"[source.side]\ntype = sqlite\npath = side.db\n"
	"[scopes]\nlog = side\n"
	"[chat_mapping]\n7 = side\n";

static struct dbr_source_stats stats_of(struct dbr *db, const char *source)
{
	struct dbr_source_stats st;

	memset(&st, 0xa5, sizeof(st));
	st.size = sizeof(st);
	assert_int_equal(dbr_source_stats(db, source, &st, NULL), DBR_OK);
	return st;
}

static uint64_t sum(const uint64_t *v, size_t n)
{
	uint64_t s = 0;

	while (n--)
		s += v[n];
	return s;
}

/* Each bound belongs to its own bucket; one nanosecond more, the next. */
static void test_metrics__histogram_buckets(void **state)
{
	struct dbr__hist h;
	struct dbr__slot_metrics m;
	struct dbr_source_stats st;
	size_t i;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (i = 0; i + 1 < DBR_HISTOGRAM_BUCKETS; i++) {
		dbr__hist_add(&h, dbr_histogram_bound(i), 1);
		dbr__hist_add(&h, dbr_histogram_bound(i) + 1, 1);
	}
	dbr__hist_add(&h, 0, 1);
	assert_int_equal(dbr_histogram_bound(0), 1000);
	assert_int_equal(dbr_histogram_bound(21), 10000000000u);
	assert_int_equal(dbr_histogram_bound(22), UINT64_MAX);
	assert_int_equal(dbr_histogram_bound(1000), UINT64_MAX);
	assert_int_equal(atomic_load(&h.n[0]), 2); /* 0 and 1 µs */
	for (i = 1; i + 1 < DBR_HISTOGRAM_BUCKETS; i++)
		assert_int_equal(atomic_load(&h.n[i]), 2);
	assert_int_equal(atomic_load(&h.n[DBR_HISTOGRAM_BUCKETS - 1]), 1);
	/* Folded: per bucket, the count and the sum. */
	dbr__metrics_init(&m);
	m.stmt = h;
	memset(&st, 0, sizeof(st));
	dbr__metrics_fold(&m, &st);
	assert_int_equal(st.statement_time.count,
			 2 * (DBR_HISTOGRAM_BUCKETS - 1) + 1);
	assert_int_equal(st.statement_time.bucket[5], 2);
	assert_int_equal(st.statement_time.sum_ns, atomic_load(&h.sum_ns));
	assert_int_equal(st.acquire_wait.count, 0);
}

/*
 * Space-Saving on a known skewed stream: chat c of 1..1000 occurs
 * 20000 / c times (a Zipf law), interleaved. Every estimate is at least
 * the truth and at most the truth plus total / entries; every chat above
 * total / entries is present; the three heaviest come first, in order.
 */
static void test_metrics__sketch_error_bound(void **state)
{
	enum { CHATS = 1000 };
	static uint64_t truth[CHATS + 1];
	struct dbr__topn t;
	struct dbr_chat_load list[DBR__TOPN_ENTRIES];
	uint64_t total = 0, bound, left[CHATS + 1];
	size_t n = 0, i;
	int64_t c;
	bool more = true;

	(void)state;
	memset(&t, 0, sizeof(t));
	for (c = 1; c <= CHATS; c++)
		left[c] = truth[c] = 20000 / (uint64_t)c;
	/* Round robin over the chats still due: heavy chats last longest. */
	while (more) {
		more = false;
		for (c = 1; c <= CHATS; c++) {
			if (!left[c])
				continue;
			left[c]--;
			dbr__topn_add(&t, c, 1);
			total++;
			more = true;
		}
	}
	bound = total / DBR__TOPN_ENTRIES;
	dbr__topn_merge(&t, list, &n, true);
	dbr__topn_sort(list, &n, DBR__TOPN_ENTRIES, true);
	assert_int_equal(n, DBR__TOPN_ENTRIES);
	for (i = 0; i < n; i++) {
		c = list[i].chat;
		assert_true(c >= 1 && c <= CHATS);
		assert_true(list[i].ops >= truth[c]);
		assert_true(list[i].ops <= truth[c] + bound);
	}
	for (c = 1; c <= CHATS; c++) {
		bool found = false;

		if (truth[c] <= bound)
			continue;
		for (i = 0; i < n; i++)
			found |= list[i].chat == c;
		assert_true(found);
	}
	assert_int_equal(list[0].chat, 1);
	assert_int_equal(list[1].chat, 2);
	assert_int_equal(list[2].chat, 3);
	/* Merged twice (two slots with the same sketch): estimates add. */
	dbr__topn_merge(&t, list, &n, true);
	dbr__topn_sort(list, &n, 3, true);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].chat, 1);
	assert_true(list[0].ops >= 2 * truth[1]);
}

static void test_metrics__statement_kinds(void **state)
{
	(void)state;
	assert_int_equal(dbr__metrics_kind("SELECT 1"), DBR_OP_READ);
	assert_int_equal(dbr__metrics_kind(" \n\tselect 1"), DBR_OP_READ);
	assert_int_equal(dbr__metrics_kind("With x AS (SELECT 1) SELECT *"),
			 DBR_OP_READ);
	assert_int_equal(dbr__metrics_kind("values (1)"), DBR_OP_READ);
	assert_int_equal(dbr__metrics_kind("GET k"), DBR_OP_READ);
	assert_int_equal(dbr__metrics_kind("hgetall h"), DBR_OP_READ);
	assert_int_equal(dbr__metrics_kind("SISMEMBER s m"), DBR_OP_READ);
	assert_int_equal(dbr__metrics_kind("INSERT INTO t VALUES (1)"),
			 DBR_OP_WRITE);
	assert_int_equal(dbr__metrics_kind("update t set a = 1"), DBR_OP_WRITE);
	assert_int_equal(dbr__metrics_kind("DELETE FROM t"), DBR_OP_WRITE);
	assert_int_equal(dbr__metrics_kind("CREATE TABLE t (a)"), DBR_OP_WRITE);
	assert_int_equal(dbr__metrics_kind("SET k v"), DBR_OP_WRITE);
	assert_int_equal(dbr__metrics_kind("SELECTED"), DBR_OP_WRITE);
	assert_int_equal(dbr__metrics_kind(""), DBR_OP_WRITE);
}

static int setup(void **state)
{
	*state = t_handle_open("metrics.ini", config);
	return 0;
}

static int teardown(void **state)
{
	t_handle_close(*state);
	return 0;
}

/*
 * Every kind and every routing reason lands where it ran: reads and
 * writes of chats, a transaction's begin and statements, a fan-out's
 * parts, a scope and an explicit source; a failed statement by its code;
 * the heaviest chat first; the histograms count each statement.
 */
static void test_metrics__counts_by_kind_and_reason(void **state)
{
	struct t_handle *h = *state;
	struct dbr_source_stats m, s;
	struct dbr_result *res;
	struct dbr_tx *tx;
	struct dbr_value v = dbr_int64(1);
	int i;

	t_exec(h->db, 1, "CREATE TABLE t (a INTEGER)", NULL, 0);
	for (i = 0; i < 40; i++)
		t_exec(h->db, 1, "INSERT INTO t VALUES (?)", &v, 1);
	for (i = 0; i < 10; i++)
		t_exec(h->db, 2, "SELECT count(*) FROM t", NULL, 0);
	assert_int_equal(
		dbr_query(h->db, 1, "SELECT nope FROM t", NULL, 0, NULL, NULL),
		DBR_E_STMT);
	assert_int_equal(dbr_tx_begin(h->db, 3, &tx, NULL), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO t VALUES (2)", NULL, 0,
				      NULL, NULL),
			 DBR_OK);
	assert_int_equal(dbr_tx_commit(tx, NULL), DBR_OK);
	t_exec(h->db, 7, "CREATE TABLE u (a INTEGER)", NULL, 0);
	assert_int_equal(
		dbr_query_scope(h->db, "log", "SELECT 1", NULL, 0, NULL, NULL),
		DBR_OK);
	assert_int_equal(dbr_query_source(h->db, "side", "SELECT 1", NULL, 0,
					  NULL, NULL),
			 DBR_OK);
	assert_int_equal(
		dbr_query_all(h->db, NULL, "SELECT 1", NULL, 0, &res, NULL),
		DBR_OK);
	while (dbr_result_next(res) == DBR_ROW)
		;
	dbr_result_free(res);

	m = stats_of(h->db, "main");
	s = stats_of(h->db, "side");
	assert_int_equal(m.metrics, 2);
	/* main: 1 create, 40 inserts; 10 counts, 1 failed select; begin
	 * and insert; the fan-out's part. */
	assert_int_equal(m.ops_by_kind[DBR_OP_WRITE], 41);
	assert_int_equal(m.ops_by_kind[DBR_OP_READ], 11);
	assert_int_equal(m.ops_by_kind[DBR_OP_TRANSACTION], 2);
	assert_int_equal(m.ops_by_kind[DBR_OP_FANOUT], 1);
	assert_int_equal(sum(m.ops_by_kind, DBR_OP_KINDS), m.ops);
	assert_int_equal(m.routed[DBR_ROUTE_DEFAULT], 41 + 11 + 1);
	assert_int_equal(m.routed[DBR_ROUTE_MAPPED], 0);
	assert_int_equal(m.errors_by_code[DBR_E_STMT], 1);
	assert_int_equal(sum(m.errors_by_code, 16), m.errors);
	/* Every statement timed (the fan-out's part too), every take but
	 * the fan-out's through routing. */
	assert_int_equal(m.statement_time.count, m.ops);
	assert_int_equal(m.acquire_wait.count, 41 + 11 + 1 + 1);
	assert_int_equal(sum(m.statement_time.bucket, DBR_HISTOGRAM_BUCKETS),
			 m.statement_time.count);
	assert_true(m.statement_time.sum_ns > 0);
	assert_true(m.connects >= 1);
	assert_int_equal(m.connect_failures, 0);
	assert_int_equal(m.state, DBR_SOURCE_AVAILABLE);
	assert_true(m.state_since > 0);
	/* side: the mapped chat's create, the scope, the explicit read,
	 * its fan-out part. */
	assert_int_equal(s.ops_by_kind[DBR_OP_WRITE], 1);
	assert_int_equal(s.ops_by_kind[DBR_OP_READ], 2);
	assert_int_equal(s.ops_by_kind[DBR_OP_FANOUT], 1);
	assert_int_equal(s.routed[DBR_ROUTE_MAPPED], 1);
	assert_int_equal(s.routed[DBR_ROUTE_SCOPE], 1);
	assert_int_equal(s.routed[DBR_ROUTE_EXPLICIT], 1);
	/* Sampled, but 41 of chat 1 against 10 of chat 2 and 2 of chat 3:
	 * chat 1 is the only chat sure to be sampled and comes first. */
	assert_true(m.ntop_ops >= 1 && m.ntop_ops <= DBR_TOP_CHATS);
	assert_int_equal(m.top_ops[0].chat, 1);
	assert_true(m.ntop_time >= 1);
}

/* A caller built against 0.3 gets the 0.3 fields only, nothing after. */
static void test_metrics__old_size_gets_old_fields(void **state)
{
	struct t_handle *h = *state;
	struct dbr_source_stats st;

	t_exec(h->db, 1, "SELECT 1", NULL, 0);
	memset(&st, 0x5a, sizeof(st));
	st.size = DBR__SOURCE_STATS_SIZE_0_3;
	assert_int_equal(dbr_source_stats(h->db, "main", &st, NULL), DBR_OK);
	assert_int_equal(st.ops, 1);
	/* `metrics` fills the 0.3 struct's tail padding; then nothing. */
	assert_int_equal(st.ops_by_kind[0], 0x5a5a5a5a5a5a5a5au);
}

struct worker {
	struct dbr *db;
	int64_t chat;
};

enum { THREADS = 8, PER_THREAD = 300 };

static void *work(void *arg)
{
	struct worker *w = arg;
	struct dbr_result *res;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		if (dbr_query(w->db, w->chat, "SELECT ?",
			      &(struct dbr_value){ .type = DBR_TYPE_INT64,
						   .u.i = i },
			      1, &res, NULL))
			return (void *)1;
		while (dbr_result_next(res) == DBR_ROW)
			;
		dbr_result_free(res);
	}
	return NULL;
}

/* 8 threads on a pool of 4: every count exact once they are done. */
static void test_metrics__exact_under_threads(void **state)
{
	struct t_handle *h = *state;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct dbr_source_stats st;
	void *ret;
	int i;

	for (i = 0; i < THREADS; i++) {
		w[i].db = h->db;
		w[i].chat = 100 + i;
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	st = stats_of(h->db, "main");
	assert_int_equal(st.ops_by_kind[DBR_OP_READ], THREADS * PER_THREAD);
	assert_int_equal(st.routed[DBR_ROUTE_DEFAULT], THREADS * PER_THREAD);
	assert_int_equal(st.statement_time.count, THREADS * PER_THREAD);
	assert_int_equal(st.acquire_wait.count, THREADS * PER_THREAD);
	assert_int_equal(st.ops, THREADS * PER_THREAD);
	assert_true(st.ntop_ops > 0);
}

struct text {
	char *buf;
	size_t n, cap;
	int calls, stop_at; /* stop_at > 0: that call returns nonzero */
};

static int collect(void *ud, const char *text, size_t len)
{
	struct text *t = ud;

	t->calls++;
	if (t->stop_at && t->calls == t->stop_at)
		return 1;
	assert_true(len > 0 && text[len - 1] == '\n');
	if (t->n + len + 1 > t->cap) {
		t->cap = (t->n + len + 1) * 2;
		t->buf = realloc(t->buf, t->cap);
		assert_non_null(t->buf);
	}
	memcpy(t->buf + t->n, text, len);
	t->n += len;
	t->buf[t->n] = '\0';
	return 0;
}

/* The value of the series `series` (name and labels), or -1. */
static long long value_of(const char *text, const char *series)
{
	size_t len = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series))) {
		if ((p == text || p[-1] == '\n') && p[len] == ' ')
			return atoll(p + len + 1);
		p += len;
	}
	return -1;
}

/*
 * The exposition: every source's series from the start, counts that
 * match dbr_source_stats(), cumulative buckets up to +Inf equal to
 * _count, and `promtool check metrics` (Debian's prometheus) passes it.
 */
static void test_metrics__prometheus_text(void **state)
{
	struct t_handle *h = *state;
	struct text t = { 0 };
	char *path, cmd[1024];
	int i, rc;

	assert_int_equal(dbr_metrics_write(h->db, collect, &t, NULL), DBR_OK);
	assert_int_equal(value_of(t.buf, "dbroute_operations_total{source="
					 "\"side\",kind=\"read\"}"),
			 0);
	assert_int_equal(value_of(t.buf, "dbroute_source_up{source=\"side\"}"),
			 1);
	free(t.buf);
	memset(&t, 0, sizeof(t));
	for (i = 0; i < 5; i++)
		t_exec(h->db, 9, "SELECT 1", NULL, 0);
	t_exec(h->db, 7, "CREATE TABLE x (a)", NULL, 0);
	assert_int_equal(dbr_query(h->db, 9, "SLECT", NULL, 0, NULL, NULL),
			 DBR_E_STMT);
	assert_int_equal(dbr_metrics_write(h->db, collect, &t, NULL), DBR_OK);
	assert_int_equal(value_of(t.buf, "dbroute_operations_total{source="
					 "\"main\",kind=\"read\"}"),
			 5);
	assert_int_equal(value_of(t.buf, "dbroute_operations_total{source="
					 "\"main\",kind=\"write\"}"),
			 1);
	assert_int_equal(value_of(t.buf, "dbroute_operations_total{source="
					 "\"side\",kind=\"write\"}"),
			 1);
	assert_int_equal(value_of(t.buf, "dbroute_errors_total{source="
					 "\"main\",category=\"stmt\"}"),
			 1);
	assert_int_equal(value_of(t.buf, "dbroute_route_decisions_total{reason="
					 "\"default\"}"),
			 6);
	assert_int_equal(value_of(t.buf, "dbroute_route_decisions_total{reason="
					 "\"mapped\"}"),
			 1);
	assert_int_equal(value_of(t.buf, "dbroute_statement_duration_seconds_"
					 "bucket{source=\"main\",le=\"+Inf\"}"),
			 6);
	assert_int_equal(value_of(t.buf, "dbroute_statement_duration_seconds_"
					 "count{source=\"main\"}"),
			 6);
	assert_int_equal(value_of(t.buf,
				  "dbroute_acquire_wait_seconds_bucket"
				  "{source=\"main\",le=\"0.000001\"}") >= 0,
			 1);
	assert_non_null(strstr(t.buf, "# TYPE dbroute_operations_total "
				      "counter\n"));
	assert_null(strstr(t.buf, "dbroute_mapping_version"));
	/* promtool reads it as the server would. */
	path = t_write(h->dir, "metrics.txt", t.buf);
	if (system("command -v promtool >/dev/null 2>&1")) {
		free(path);
		free(t.buf);
		if (getenv("DBR_TEST_STRICT"))
			fail_msg("promtool is missing (Debian's prometheus)");
		skip();
	}
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", path);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	free(path);
	/* A callback that stops the output ends it. */
	t.calls = 0;
	t.stop_at = 1;
	assert_int_equal(dbr_metrics_write(h->db, collect, &t, NULL),
			 DBR_E_RESOURCE);
	assert_int_equal(t.calls, 1);
	assert_int_equal(dbr_metrics_write(NULL, collect, &t, NULL),
			 DBR_E_MISUSE);
	assert_int_equal(dbr_metrics_write(h->db, NULL, &t, NULL),
			 DBR_E_MISUSE);
	free(t.buf);
}

/*
 * With a mapping store: its version and the age of its latest change;
 * without one (the suite's other configuration), neither series.
 */
static void test_metrics__mapping_store(void **state)
{
	struct t_handle *h;
	struct text t = { 0 };
	int64_t v = 0;
	long long age, held;
	const char *at;

	(void)state;
	h = t_handle_open("store.ini", "[database]\ndefault_source = main\n"
				       "[source.main]\ntype = sqlite\n"
				       "path = main.db\n"
				       "[source.side]\ntype = sqlite\n"
				       "path = side.db\n"
				       "[mapping]\nstore = main\n");
	assert_int_equal(dbr_metrics_write(h->db, collect, &t, NULL), DBR_OK);
	/* No change yet: the tables do not exist, nothing is shown. */
	assert_null(strstr(t.buf, "dbroute_mapping_version "));
	assert_int_equal(dbr_mapping_init(h->db, NULL), DBR_OK);
	assert_int_equal(dbr_mapping_set(h->db, 55, "side", "test", &v, NULL),
			 DBR_OK);
	assert_int_equal(dbr_mapping_set(h->db, 56, "side", "test", &v, NULL),
			 DBR_OK);
	assert_int_equal(v, 2);
	free(t.buf);
	memset(&t, 0, sizeof(t));
	assert_int_equal(dbr_metrics_write(h->db, collect, &t, NULL), DBR_OK);
	assert_int_equal(value_of(t.buf, "dbroute_mapping_version"), 2);
	/*
	 * The version routing holds: shown once a handle's routing follows
	 * the store (dbr_open() does not load it yet), never above the
	 * store's.
	 */
	held = value_of(t.buf, "dbroute_mapping_version_held");
	assert_true(held == -1 || (held >= 0 && held <= 2));
	at = strstr(t.buf, "\ndbroute_mapping_age_seconds ");
	assert_non_null(at);
	age = atoll(at + strlen("\ndbroute_mapping_age_seconds "));
	assert_true(age >= 0 && age < 60);
	assert_non_null(strstr(t.buf, "# TYPE dbroute_mapping_age_seconds "
				      "gauge\n"));
	free(t.buf);
	t_handle_close(h);
}

/* Counters without the clock, and nothing per operation when off. */
static void test_metrics__modes(void **state)
{
	static const char *const modes[] = { "off", "counters", "timing" };
	char cfg[512];
	struct t_handle *h;
	struct dbr_source_stats st;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(cfg, sizeof(cfg),
			 "[database]\nmetrics = %s\ntiming_sample = 1\n"
			 "[source.main]\ntype = sqlite\npath = m.db\n",
			 modes[i]);
		h = t_handle_open("modes.ini", cfg);
		t_exec(h->db, 5, "SELECT 1", NULL, 0);
		assert_int_equal(
			dbr_query(h->db, 5, "SLECT 1", NULL, 0, NULL, NULL),
			DBR_E_STMT);
		st = stats_of(h->db, "main");
		assert_int_equal(st.metrics, i);
		assert_int_equal(st.ops, 2);
		assert_int_equal(st.errors_by_code[DBR_E_STMT], 1);
		assert_int_equal(st.ops_by_kind[DBR_OP_READ], i ? 1 : 0);
		assert_int_equal(st.ops_by_kind[DBR_OP_WRITE], i ? 1 : 0);
		assert_int_equal(st.routed[DBR_ROUTE_DEFAULT], i ? 2 : 0);
		assert_int_equal(st.statement_time.count, i == 2 ? 2 : 0);
		assert_int_equal(st.acquire_wait.count, i == 2 ? 2 : 0);
		t_handle_close(h);
	}
}

/*
 * [database] timing_sample: by default one statement in 64 (on average,
 * this thread's countdown) is timed and weighs the statements since the
 * previous sample; the counters stay exact. The countdown is set here to
 * make it deterministic. timing_sample = 1 times every statement.
 */
static void test_metrics__sampled_timing(void **state)
{
	static const char *const sample[] = { "", "timing_sample = 1\n" };
	char cfg[512];
	struct t_handle *h;
	struct dbr_source_stats st;
	int i, k;

	(void)state;
	for (k = 0; k < 2; k++) {
		snprintf(cfg, sizeof(cfg),
			 "[database]\n%s"
			 "[source.main]\ntype = sqlite\npath = s.db\n",
			 sample[k]);
		h = t_handle_open("sampled.ini", cfg);
		dbr__sampler.left = dbr__sampler.gap = 1000000;
		for (i = 0; i < 10; i++)
			t_exec(h->db, 5, "SELECT 1", NULL, 0);
		st = stats_of(h->db, "main");
		assert_int_equal(st.ops_by_kind[DBR_OP_READ], 10);
		assert_int_equal(st.routed[DBR_ROUTE_DEFAULT], 10);
		assert_int_equal(st.statement_time.count, k ? 10 : 0);
		assert_int_equal(st.acquire_wait.count, k ? 10 : 0);
		assert_int_equal(st.ntop_ops, k ? 1 : 0);
		/* The next one is sampled: it weighs the gap, 7. */
		dbr__sampler.left = 1;
		dbr__sampler.gap = 7;
		t_exec(h->db, 5, "SELECT 1", NULL, 0);
		st = stats_of(h->db, "main");
		assert_int_equal(st.ops, 11);
		assert_int_equal(st.statement_time.count, k ? 11 : 7);
		assert_int_equal(
			sum(st.statement_time.bucket, DBR_HISTOGRAM_BUCKETS),
			st.statement_time.count);
		assert_int_equal(st.acquire_wait.count, k ? 11 : 7);
		assert_int_equal(st.ntop_ops, 1);
		assert_int_equal(st.top_ops[0].chat, 5);
		assert_int_equal(st.top_ops[0].ops, k ? 11 : 7);
		assert_int_equal(st.ntop_time, 1);
		/* The next gap is drawn from 1 .. 2 * 64 - 1. */
		assert_true(k ||
			    (dbr__sampler.gap >= 1 && dbr__sampler.gap <= 127));
		t_handle_close(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics__histogram_buckets),
		cmocka_unit_test(test_metrics__sketch_error_bound),
		cmocka_unit_test(test_metrics__statement_kinds),
		cmocka_unit_test_setup_teardown(
			test_metrics__counts_by_kind_and_reason, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_metrics__old_size_gets_old_fields, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_metrics__exact_under_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics__prometheus_text,
						setup, teardown),
		cmocka_unit_test(test_metrics__mapping_store),
		cmocka_unit_test(test_metrics__modes),
		cmocka_unit_test(test_metrics__sampled_timing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
