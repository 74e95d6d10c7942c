/*
 * bench.c - dbroute-bench's driver: arguments, interleaved timing with
 * medians, the table and the JSON output.
 *
 * usage: dbroute-bench [--json FILE] [--only NAME] [--iterations N]
 *                      [--rounds R] [--raw-gap N] [--raw-hold N]
 *                      [--metrics off|counters|timing] [--timing-sample N]
 *                      [--verbose] [--pin CPU]
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_ratio(const double *num, const double *den, int n)
{
	double q[32];
	size_t k, pairs = (size_t)n / 2;

	if (n < 2)
		return num[0] / den[0];
	for (k = 0; k < pairs && k < 32; k++)
		q[k] = (num[2 * k] + num[2 * k + 1]) /
		       (den[2 * k] + den[2 * k + 1]);
	return bench_median(q, (int)k);
}

void bench_compare(struct bench *b, const char *name, bench_fn raw,
		   void *raw_state, bench_fn dbr, void *dbr_state, long n)
{
	double r[64], d[64], t;
	struct bench_row *row;
	int i;

	/* One warm-up of each side, then A B, B A, A B ...: neither side
	 * always runs first (after the other's caches, or its server's). */
	raw(raw_state, n / 10 + 1);
	dbr(dbr_state, n / 10 + 1);
	for (i = 0; i < b->rounds; i++) {
		int k;

		for (k = 0; k < 2; k++) {
			bool raw_now = (k == 0) == (i % 2 == 0);

			t = bench_now();
			if (raw_now)
				raw(raw_state, n);
			else
				dbr(dbr_state, n);
			t = (bench_now() - t) * 1e9 / (double)n;
			if (raw_now)
				r[i] = t;
			else
				d[i] = t;
		}
	}
	if (b->nrows == (int)(sizeof(b->rows) / sizeof(b->rows[0])))
		bench_die("too many workloads");
	row = &b->rows[b->nrows++];
	snprintf(row->name, sizeof(row->name), "%s", name);
	for (i = 0; b->verbose && i < b->rounds; i++)
		fprintf(stderr, "%s round %d: raw %.0f, dbroute %.0f ns/op\n",
			name, i + 1, r[i], d[i]);
	row->ratio = bench_ratio(d, r, b->rounds);
	row->raw_ns = bench_median(r, b->rounds);
	row->dbr_ns = bench_median(d, b->rounds);
	printf("%-28s %12.0f %12.0f %8.3f\n", name, row->raw_ns, row->dbr_ns,
	       row->ratio);
	fflush(stdout);
}

static void write_json(const struct bench *b, const char *path)
{
	FILE *f = fopen(path, "w");
	int i;

	if (!f)
		bench_die("cannot write %s", path);
	fputs("{\n  \"results\": [\n", f);
	for (i = 0; i < b->nrows; i++)
		fprintf(f,
			"    {\"name\": \"%s\", \"raw_ns_per_op\": %.1f, "
			"\"dbroute_ns_per_op\": %.1f, \"ratio\": %.4f}%s\n",
			b->rows[i].name, b->rows[i].raw_ns, b->rows[i].dbr_ns,
			b->rows[i].ratio, i + 1 < b->nrows ? "," : "");
	fprintf(f,
		"  ],\n  \"routing_ns_per_lookup\": %.2f,\n"
		"  \"bytes_per_source\": %.1f,\n"
		"  \"bytes_per_mapping\": %.2f,\n"
		"  \"two_thread_speedup\": %.3f,\n"
		"  \"raw_two_thread_speedup\": %.3f,\n"
		"  \"two_thread_ratio\": %.3f\n}\n",
		b->routing_ns, b->bytes_per_source, b->bytes_per_mapping,
		b->speedup, b->raw_speedup, b->speedup_ratio);
	if (fclose(f))
		bench_die("cannot write %s", path);
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/*
 * Run a group of workloads with this thread (and the threads it starts)
 * on CPU `cpu`, then as before; cpu < 0: where the scheduler likes.
 * scripts/bench.sh pins the servers to the same CPU.
 */
static void pinned(struct bench *b, int cpu, void (*fn)(struct bench *))
{
	cpu_set_t old, one;
	bool pin = cpu >= 0 && !sched_getaffinity(0, sizeof(old), &old);

	if (pin) {
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			bench_die("cannot pin to CPU %d", cpu);
	}
	fn(b);
	if (pin)
		sched_setaffinity(0, sizeof(old), &old);
}

int main(int argc, char **argv)
{
	static struct bench b;
	char tmpl[] = "/tmp/dbroute-bench-XXXXXX";
	const char *json = NULL;
	int i, pin = -1;

	b.rounds = 10;
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--json") && v)
			json = argv[++i];
		else if (!strcmp(argv[i], "--only") && v)
			b.only = argv[++i];
		else if (!strcmp(argv[i], "--iterations") && v)
			b.iterations = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && v)
			b.rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--raw-gap") && v)
			b.raw_gap = atol(argv[++i]);
		else if (!strcmp(argv[i], "--raw-hold") && v)
			b.raw_hold = atol(argv[++i]);
		else if (!strcmp(argv[i], "--metrics") && v)
			b.metrics = argv[++i];
		else if (!strcmp(argv[i], "--timing-sample") && v)
			b.timing_sample = argv[++i];
		else if (!strcmp(argv[i], "--verbose"))
			b.verbose = true;
		else if (!strcmp(argv[i], "--pin") && v)
			pin = atoi(argv[++i]);
		else
			bench_die("usage: dbroute-bench [--json FILE] [--only "
				  "NAME] [--iterations N] [--rounds R] "
				  "[--raw-gap N] [--raw-hold N] [--metrics "
				  "off|counters|timing] [--timing-sample N] "
				  "[--verbose] [--pin CPU]");
	}
	if (b.rounds < 1 || b.rounds > 64 || b.iterations < 0 ||
	    b.raw_gap < 0 || b.raw_hold < 0)
		bench_die("--rounds is 1 to 64; --iterations, --raw-gap and "
			  "--raw-hold are not negative");
	b.dir = mkdtemp(tmpl);
	if (!b.dir)
		bench_die("cannot create a scratch folder");
	bench_init_keys();
	printf("%-28s %12s %12s %8s\n", "workload", "raw ns/op",
	       "dbroute ns/op", "ratio");
	bench_sqlite(&b);
	/* The network workloads: client and server on one CPU. */
	pinned(&b, pin, bench_postgres);
	pinned(&b, pin, bench_mysql);
	pinned(&b, pin, bench_redis);
	bench_routing(&b);
	bench_memory(&b);
	if (json)
		write_json(&b, json);
	nftw(b.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
