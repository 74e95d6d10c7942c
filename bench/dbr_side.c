/*
 * dbr_side.c - the dbroute side of the SQL workloads: the same calls an
 * application makes, whatever the driver.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

int64_t bench_keys[BENCH_NKEYS][2];

const char bench_lookup_sql[] = "SELECT chat_id, message_id, user_id, text "
				"FROM messages WHERE chat_id = ? AND "
				"message_id = ?";
const char bench_insert_sql[] = "INSERT INTO ins (chat_id, text) VALUES "
				"(?, ?)";

void bench_init_keys(void)
{
	uint64_t seed = 42;
	long i;

	for (i = 0; i < BENCH_NKEYS; i++) {
		bench_keys[i][0] =
			(int64_t)(bench_rand(&seed) % BENCH_CHATS) + 1;
		bench_keys[i][1] = (int64_t)(bench_rand(&seed) %
					     (BENCH_ROWS / BENCH_CHATS));
	}
}

struct dbr *bench_open(struct bench *b, const char *name, const char *text)
{
	static const char db[] = "[database]\n";
	struct dbr_error err;
	struct dbr *h;
	char path[512], with[4096], keys[256];
	const char *at = strstr(text, db);

	/* [database] metrics = MODE and timing_sample = N, in the section or
	 * in a new one. */
	snprintf(keys, sizeof(keys), "%s%s%s%s%s%s",
		 b->metrics ? "metrics = " : "", b->metrics ? b->metrics : "",
		 b->metrics ? "\n" : "",
		 b->timing_sample ? "timing_sample = " : "",
		 b->timing_sample ? b->timing_sample : "",
		 b->timing_sample ? "\n" : "");
	if (keys[0]) {
		if (at)
			snprintf(with, sizeof(with), "%.*s%s%s%s",
				 (int)(at - text), text, db, keys,
				 at + sizeof(db) - 1);
		else
			snprintf(with, sizeof(with), "%s%s%s", db, keys, text);
		text = with;
	}
	bench_write(b, path, sizeof(path), name, text);
	bench_ok(dbr_open(&h, path, NULL, &err), &err, name);
	return h;
}

void bench_dbr_lookup(void *arg, long n)
{
	struct dbr_side *s = arg;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value p[2], v;
	size_t c;

	while (n--) {
		const int64_t *k = bench_keys[s->at++ & (BENCH_NKEYS - 1)];
		int64_t chat = s->fixed_chat ? s->fixed_chat : k[0];

		p[0] = dbr_int64(chat);
		p[1] = dbr_int64(k[1]);
		bench_ok(dbr_query(s->h, chat, bench_lookup_sql, p, 2, &res,
				   &err),
			 &err, "lookup");
		if (dbr_result_next(res) != DBR_ROW)
			bench_die("dbroute lookup found no row");
		for (c = 0; c < 3; c++) {
			dbr_result_value(res, c, &v);
			s->sink += v.u.i;
		}
		dbr_result_value(res, 3, &v);
		s->sink += (int64_t)v.len + v.u.s[0];
		dbr_result_free(res);
	}
}

void bench_dbr_insert(void *arg, long n)
{
	struct dbr_side *s = arg;
	struct dbr_error err;
	struct dbr_value p[2];

	p[1] = dbr_text("an inserted message", 19);
	while (n--) {
		if (s->count % 1000 == 0)
			bench_ok(dbr_tx_begin(s->h, 1, &s->tx, &err), &err,
				 "begin");
		p[0] = dbr_int64(s->count % BENCH_CHATS + 1);
		bench_ok(
			dbr_tx_query(s->tx, bench_insert_sql, p, 2, NULL, &err),
			&err, "insert");
		if (++s->count % 1000 == 0)
			bench_ok(dbr_tx_commit(s->tx, &err), &err, "commit");
	}
	if (s->count % 1000) { /* a batch ends with its transaction */
		bench_ok(dbr_tx_commit(s->tx, &err), &err, "commit");
		s->count += 1000 - s->count % 1000;
	}
}
