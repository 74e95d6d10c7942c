/*
 * bench_core.c - the routing decision alone at a million mappings, and the
 * memory a source and a mapping cost, from the allocator's own accounting.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAPPINGS 1000000
#define SOURCES	 1000

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* A configuration of `sources` SQLite sources and `mappings` random chat
 * ids (their ids into *ids when given). */
static void write_config(struct bench *b, char *path, size_t size,
			 const char *name, int sources, long mappings,
			 int64_t *ids)
{
	uint64_t seed = 7;
	FILE *f;
	long i;

	bench_path(b, path, size, name);
	f = fopen(path, "w");
	if (!f)
		bench_die("cannot write %s", path);
	fprintf(f, "[database]\ndefault_source = s0\n");
	for (i = 0; i < sources; i++)
		fprintf(f, "[source.s%ld]\ntype = sqlite\npath = s%ld.db\n", i,
			i);
	fprintf(f, "[chat_mapping]\n");
	for (i = 0; i < mappings; i++) {
		int64_t id = (int64_t)bench_rand(&seed);

		if (ids)
			ids[i] = id;
		fprintf(f, "%lld = s%ld\n", (long long)id, i % sources);
	}
	if (fclose(f))
		bench_die("cannot write %s", path);
}

static struct dbr *open_path(const char *path)
{
	struct dbr_error err;
	struct dbr *h;

	bench_ok(dbr_open(&h, path, NULL, &err), &err, path);
	return h;
}

void bench_routing(struct bench *b)
{
	int64_t *ids, *probe;
	uint64_t seed = 99;
	char src[DBR_NAME_SIZE];
	char path[512];
	struct dbr *h;
	long i, j = 0, n = bench_ops(b, 10000000), hits = 0;
	double t;
	int reason;

	if (!bench_wanted(b, "routing.lookup"))
		return;
	ids = malloc(MAPPINGS * sizeof(*ids));
	probe = malloc(MAPPINGS * sizeof(*probe));
	if (!ids || !probe)
		bench_die("out of memory");
	write_config(b, path, sizeof(path), "routing.ini", 2, MAPPINGS, ids);
	h = open_path(path);
	/* Half hits, half misses, in random order. */
	for (i = 0; i < MAPPINGS; i++)
		probe[i] = bench_rand(&seed) % 2
				   ? ids[bench_rand(&seed) % MAPPINGS]
				   : (int64_t)bench_rand(&seed);
	t = bench_now();
	for (i = 0; i < n; i++) {
		dbr_route_chat(h, probe[j], src, sizeof(src), &reason);
		hits += reason == DBR_ROUTE_MAPPED;
		if (++j == MAPPINGS) /* no division in the timed loop */
			j = 0;
	}
	b->routing_ns = (bench_now() - t) * 1e9 / (double)n;
	printf("%-28s %12s %12.1f ns per lookup (%ld%% mapped)\n",
	       "routing.lookup", "", b->routing_ns, hits * 100 / n);
	dbr_close(h);
	free(ids);
	free(probe);
}

void bench_memory(struct bench *b)
{
	char path[512];
	size_t before;
	struct dbr *h, *base;

	if (!bench_wanted(b, "memory"))
		return;
	write_config(b, path, sizeof(path), "sources.ini", SOURCES, 0, NULL);
	before = heap_in_use();
	h = open_path(path);
	b->bytes_per_source = (double)(heap_in_use() - before) / SOURCES;
	dbr_close(h);
	/* A mapping's cost: a million of them, less the same file without. */
	write_config(b, path, sizeof(path), "base.ini", 1, 0, NULL);
	before = heap_in_use();
	base = open_path(path);
	before = heap_in_use() - before;
	write_config(b, path, sizeof(path), "mappings.ini", 1, MAPPINGS, NULL);
	{
		size_t start = heap_in_use();

		h = open_path(path);
		b->bytes_per_mapping =
			(double)(heap_in_use() - start - before) / MAPPINGS;
	}
	dbr_close(h);
	dbr_close(base);
	printf("%-28s %12s %12.0f bytes per source (1,000 sources)\n",
	       "memory.source", "", b->bytes_per_source);
	printf("%-28s %12s %12.1f bytes per mapping (1,000,000 mappings)\n",
	       "memory.mapping", "", b->bytes_per_mapping);
}
