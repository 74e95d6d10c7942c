/*
 * bench_redis.c - Redis workloads: GET and SET, raw hiredis (one argv
 * reused) next to dbroute's cache scope on the same server
 * (DBR_TEST_REDIS_PORT and DBR_TEST_REDIS_PASSWORD, as scripts/bench.sh
 * starts it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "bench.h"

#define KEYS 10000

static char keys[KEYS][16];
static const char value[] = "a cached value of about sixty-four bytes, for "
			    "GET and SET ......";

struct rds_side {
	redisContext *c; /* raw */
	struct dbr *h;	 /* dbroute */
	long at;
	int64_t sink;
};

static void raw_cmd(struct rds_side *s, int argc, const char **argv,
		    const size_t *len)
{
	redisReply *r = redisCommandArgv(s->c, argc, argv, len);

	if (!r || r->type == REDIS_REPLY_ERROR)
		bench_die("redis: %s", r ? r->str : s->c->errstr);
	s->sink += (int64_t)r->len;
	freeReplyObject(r);
}

static void raw_get(void *arg, long n)
{
	struct rds_side *s = arg;
	const char *argv[2] = { "GET", NULL };
	size_t len[2] = { 3, 0 };

	while (n--) {
		argv[1] = keys[s->at++ % KEYS];
		len[1] = strlen(argv[1]);
		raw_cmd(s, 2, argv, len);
	}
}

static void raw_set(void *arg, long n)
{
	struct rds_side *s = arg;
	const char *argv[3] = { "SET", NULL, value };
	size_t len[3] = { 3, 0, sizeof(value) - 1 };

	while (n--) {
		argv[1] = keys[s->at++ % KEYS];
		len[1] = strlen(argv[1]);
		raw_cmd(s, 3, argv, len);
	}
}

static void dbr_cmd(struct rds_side *s, const char *cmd, long n)
{
	struct dbr_value p[2] = { dbr_null(),
				  dbr_text(value, sizeof(value) - 1) };
	size_t np = strchr(cmd, '?') == strrchr(cmd, '?') ? 1 : 2;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value v;

	while (n--) {
		const char *k = keys[s->at++ % KEYS];

		p[0] = dbr_text(k, strlen(k));
		bench_ok(dbr_query_scope(s->h, "cache", cmd, p, np, &res, &err),
			 &err, cmd);
		if (dbr_result_next(res) != DBR_ROW)
			bench_die("%s: no reply", cmd);
		dbr_result_value(res, 0, &v);
		s->sink += (int64_t)v.len;
		dbr_result_free(res);
	}
}

static void dbr_get(void *arg, long n)
{
	dbr_cmd(arg, "GET ?", n);
}

static void dbr_set(void *arg, long n)
{
	dbr_cmd(arg, "SET ? ?", n);
}

void bench_redis(struct bench *b)
{
	const char *port = getenv("DBR_TEST_REDIS_PORT");
	const char *pw = getenv("DBR_TEST_REDIS_PASSWORD");
	struct rds_side raw = { 0 }, dbr = { 0 };
	char text[512];
	int i;

	if (!bench_group(b, "redis"))
		return;
	if (!port) {
		printf("%-28s skipped: DBR_TEST_REDIS_PORT is not set "
		       "(scripts/bench.sh starts a server)\n",
		       "redis.*");
		return;
	}
	for (i = 0; i < KEYS; i++)
		snprintf(keys[i], sizeof(keys[i]), "bench:%d", i);
	raw.c = redisConnect("127.0.0.1", atoi(port));
	if (!raw.c || raw.c->err)
		bench_die("redis: cannot connect");
	if (pw)
		freeReplyObject(redisCommand(raw.c, "AUTH %s", pw));
	raw_set(&raw, KEYS);
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = cache\n"
		 "[source.cache]\ntype = redis\nport = %s\n%s\n"
		 "[scopes]\ncache = cache\n",
		 port, pw ? "password_env = DBR_TEST_REDIS_PASSWORD" : "");
	dbr.h = bench_open(b, "redis.ini", text);
	if (bench_wanted(b, "redis.get"))
		bench_compare(b, "redis.get", raw_get, &raw, dbr_get, &dbr,
			      bench_ops(b, 5000));
	if (bench_wanted(b, "redis.set"))
		bench_compare(b, "redis.set", raw_set, &raw, dbr_set, &dbr,
			      bench_ops(b, 5000));
	dbr_close(dbr.h);
	redisFree(raw.c);
}
