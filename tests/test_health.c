/*
 * test_health.c - source availability bookkeeping: down and up, one probe
 * per retry interval, the bounded list of diverted chats.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "health.h"
#include "helpers.h"

static const struct dbr__logger quiet = { NULL, NULL, 0 };

static void test_health__down_probe_up(void **state)
{
	struct dbr__health h;
	struct dbr_error why = { 0 };

	(void)state;
	assert_int_equal(dbr__health_init(&h), DBR_OK);
	assert_false(dbr__health_is_down(&h));
	strcpy(why.message, "source 's': connection refused");
	dbr__health_down(&h, &quiet, "s", 60, &why);
	assert_true(dbr__health_is_down(&h));
	assert_true(h.down_since > 0);
	assert_string_equal(h.last.message, why.message);
	/* Not due for a minute: nobody probes. */
	assert_false(dbr__health_try_probe(&h));
	dbr__health_down(&h, &quiet, "s", 0, &why);
	/* Due now: one caller wins, the next does not while it probes. */
	assert_true(dbr__health_try_probe(&h));
	assert_false(dbr__health_try_probe(&h));
	dbr__health_end_probe(&h);
	assert_true(dbr__health_try_probe(&h));
	dbr__health_up(&h, &quiet, "s");
	assert_false(dbr__health_is_down(&h));
	assert_false(atomic_load(&h.probing));
	dbr__health_release(&h);
}

static void test_health__diverted_chats_bounded(void **state)
{
	struct dbr__health h;
	int64_t i;

	(void)state;
	dbr__health_init(&h);
	for (i = 0; i < DBR__DIVERTED_MAX + 10; i++) {
		dbr__health_remember(&h, -i);
		dbr__health_remember(&h, -i); /* once only */
		dbr__health_diverted(&h, &quiet, "s", "d");
	}
	assert_int_equal(h.nchats, DBR__DIVERTED_MAX);
	/* Past the list, writes are counted, not chats (no memory left to
	 * tell them apart). */
	assert_int_equal(h.chats_beyond, 20);
	assert_int_equal(h.chats[0], 0);
	assert_int_equal(h.chats[DBR__DIVERTED_MAX - 1],
			 -(DBR__DIVERTED_MAX - 1));
	assert_int_equal(h.diverted, DBR__DIVERTED_MAX + 10);
	dbr__health_release(&h);
}

/* Many threads racing for the probe: exactly one wins. */
static struct dbr__health race;
static atomic_int winners;

static void *contend(void *arg)
{
	(void)arg;
	if (dbr__health_try_probe(&race))
		atomic_fetch_add(&winners, 1);
	return NULL;
}

static void test_health__one_probe_among_threads(void **state)
{
	pthread_t th[8];
	int i;

	(void)state;
	dbr__health_init(&race);
	dbr__health_down(&race, &quiet, "s", 0, NULL);
	for (i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, contend, NULL);
	for (i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&winners), 1);
	dbr__health_release(&race);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health__down_probe_up),
		cmocka_unit_test(test_health__diverted_chats_bounded),
		cmocka_unit_test(test_health__one_probe_among_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
