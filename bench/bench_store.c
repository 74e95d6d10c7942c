/*
 * bench_store.c - dbroute-bench-routing: the routing decision through a
 * mapping store's snapshot (its base table, then with run-time changes in
 * the overlay), and the bytes a mapping costs at 1,000, 1,100,000 and
 * 10,000,000 mappings. It loads the store's table through the core's
 * internal calls (snapshot.h), so it links the static library.
 *
 * usage: dbroute-bench-routing [--only NAME] [--iterations N]
 *                              [--mappings N] [--changes N]
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "handle.h"

static const char *const names[] = { "s0", "s1" };

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* A handle on two SQLite sources whose snapshots expect a store. */
static struct dbr *open_store_handle(const char *dir)
{
	char path[512];
	struct dbr_error err;
	struct dbr *db;
	FILE *f;

	snprintf(path, sizeof(path), "%s/store.ini", dir);
	f = fopen(path, "w");
	if (!f)
		bench_die("cannot write %s", path);
	fprintf(f, "[database]\ndefault_source = s0\n"
		   "[source.s0]\ntype = sqlite\npath = s0.db\n"
		   "[source.s1]\ntype = sqlite\npath = s1.db\n");
	if (fclose(f))
		bench_die("cannot write %s", path);
	bench_ok(dbr_open(&db, path, NULL, &err), &err, path);
	dbr__snaps_release(&db->snaps);
	if (dbr__snaps_init(&db->snaps, db->cfg, true))
		bench_die("out of memory");
	return db;
}

/* n rows of random chats; their ids into ids. */
static struct dbr__store_row *rows_of(long n, int64_t *ids, uint64_t *seed)
{
	struct dbr__store_row *rows = malloc((size_t)n * sizeof(*rows));
	long i;

	if (!rows)
		bench_die("out of memory");
	for (i = 0; i < n; i++) {
		rows[i].chat = (int64_t)bench_rand(seed);
		rows[i].source = names[i % 2];
		if (ids)
			ids[i] = rows[i].chat;
	}
	return rows;
}

/* ns per dbr_route_chat() over probes (half mapped, in random order). */
static double time_lookups(struct dbr *db, const int64_t *probe, long nprobe,
			   long n, long *store_hits)
{
	char src[DBR_NAME_SIZE];
	long i, j = 0;
	double t;
	int reason;

	*store_hits = 0;
	t = bench_now();
	for (i = 0; i < n; i++) {
		dbr_route_chat(db, probe[j], src, sizeof(src), &reason);
		*store_hits += reason == DBR_ROUTE_STORE;
		if (++j == nprobe) /* no division in the timed loop */
			j = 0;
	}
	return (bench_now() - t) * 1e9 / (double)n;
}

static void bench_lookups(const struct bench *b, const char *dir, long maps,
			  long changes)
{
	struct dbr__store_row *rows, change[10];
	struct dbr *db = open_store_handle(dir);
	struct dbr_error err;
	int64_t *ids = malloc((size_t)maps * sizeof(*ids));
	int64_t *probe = malloc((size_t)maps * sizeof(*probe));
	uint64_t seed = 7, v = 1;
	long i, k, hits, n = bench_ops(b, 10000000);
	double ns;

	if (!ids || !probe)
		bench_die("out of memory");
	rows = rows_of(maps, ids, &seed);
	bench_ok(dbr__snap_store_load(&db->snaps, v, rows, (size_t)maps, &err),
		 &err, "load");
	free(rows);
	seed = 99;
	for (i = 0; i < maps; i++)
		probe[i] = bench_rand(&seed) % 2
				   ? ids[bench_rand(&seed) % (uint64_t)maps]
				   : (int64_t)bench_rand(&seed);
	ns = time_lookups(db, probe, maps, n, &hits);
	printf("%-28s %12s %12.1f ns per lookup (%ld%% mapped, %ld "
	       "mappings)\n",
	       "routing.store", "", ns, hits * 100 / n, maps);
	/* Run-time changes, ten a change list, never folded: half move a
	 * mapped chat, half map a new one. */
	for (i = 0; i < changes; i += 10) {
		for (k = 0; k < 10; k++) {
			change[k].chat =
				k % 2 ? ids[bench_rand(&seed) % (uint64_t)maps]
				      : (int64_t)bench_rand(&seed);
			change[k].source = names[(i / 10 + k) % 2];
		}
		bench_ok(dbr__snap_store_apply(&db->snaps, ++v, change, 10,
					       &err),
			 &err, "apply");
	}
	ns = time_lookups(db, probe, maps, n, &hits);
	printf("%-28s %12s %12.1f ns per lookup (%zu in the overlay)\n",
	       "routing.store.overlay", "", ns,
	       dbr__snap_current(&db->snaps)->overlay.count);
	dbr_close(db);
	free(ids);
	free(probe);
}

/* Bytes a mapping costs in the store's table, at count mappings. */
static void bench_bytes(const char *dir, long count)
{
	struct dbr *db = open_store_handle(dir);
	struct dbr_error err;
	uint64_t seed = 11;
	struct dbr__store_row *rows = rows_of(count, NULL, &seed);
	size_t before = heap_in_use();

	bench_ok(dbr__snap_store_load(&db->snaps, 1, rows, (size_t)count, &err),
		 &err, "load");
	printf("%-28s %12s %12.1f bytes per mapping (%ld mappings)\n",
	       "memory.store_mapping", "",
	       (double)(heap_in_use() - before) / (double)count, count);
	dbr_close(db);
	free(rows);
}

int main(int argc, char **argv)
{
	static const long counts[] = { 1000, 1100000, 10000000 };
	struct bench b = { 0 };
	char dir[] = "/tmp/dbroute-bench-routing-XXXXXX";
	long maps = 1000000, changes = 10000;
	char path[600];
	int i;

	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--only") && v)
			b.only = argv[++i];
		else if (!strcmp(argv[i], "--iterations") && v)
			b.iterations = atol(argv[++i]);
		else if (!strcmp(argv[i], "--mappings") && v)
			maps = atol(argv[++i]);
		else if (!strcmp(argv[i], "--changes") && v)
			changes = atol(argv[++i]);
		else
			bench_die("usage: dbroute-bench-routing [--only NAME] "
				  "[--iterations N] [--mappings N] "
				  "[--changes N]");
	}
	if (maps < 1 || changes < 0 || !mkdtemp(dir))
		bench_die("bad arguments, or no scratch folder");
	b.dir = dir;
	if (bench_wanted(&b, "routing.store"))
		bench_lookups(&b, dir, maps, changes);
	/* A run with its own --mappings (the suite's smoke run) measures
	 * the bytes at that count only. */
	for (i = 0; i < 3 && bench_wanted(&b, "memory.store_mapping"); i++) {
		bench_bytes(dir, maps == 1000000 ? counts[i] : maps);
		if (maps != 1000000)
			break;
	}
	snprintf(path, sizeof(path), "%s/store.ini", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}
