/*
 * bench_util.c - what both benchmark programs share: the clock, failing,
 * the scratch folder's paths, selecting workloads, a fixed-seed sequence.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fputs("dbroute-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void bench_ok(int rc, const struct dbr_error *err, const char *what)
{
	if (rc)
		bench_die("%s: %s", what,
			  err ? err->message : dbr_strerror(rc));
}

/* Whether `a` is `b` or a group above it ("x" above "x.y"). */
static bool above(const char *a, const char *b)
{
	size_t n = strlen(a);

	return !strncmp(a, b, n) && (b[n] == '\0' || b[n] == '.');
}

bool bench_wanted(const struct bench *b, const char *name)
{
	/* A workload by its whole name, or a top-level group ("sqlite"). */
	return !b->only || !strcmp(b->only, name) ||
	       (!strchr(b->only, '.') && above(b->only, name));
}

bool bench_group(const struct bench *b, const char *group)
{
	return !b->only || above(group, b->only);
}

long bench_ops(const struct bench *b, long dflt)
{
	return b->iterations > 0 ? b->iterations : dflt;
}

void bench_path(const struct bench *b, char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", b->dir, name);
}

void bench_write(const struct bench *b, char *out, size_t size,
		 const char *name, const char *text)
{
	FILE *f;

	bench_path(b, out, size, name);
	f = fopen(out, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		bench_die("cannot write %s", out);
}

uint64_t bench_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}
