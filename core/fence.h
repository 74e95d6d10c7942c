/*
 * fence.h - a chat move's objects on one source (docs/moving-chats.md,
 * "The source's fence"): the capture triggers the source's driver writes
 * (driver ABI 2.2 capture), the move's fence row, whose state the
 * triggers obey, and the keys they record in the delta table.
 *
 * The fence row's states: 'idle' (nothing refused, nothing recorded),
 * 'capture' (every write of the chat recorded), 'fenced' (the chat's
 * writes refused with DBR_E_MOVING until fence_until_ms on the source's
 * clock, then recorded again), 'moved' (refused for good: the chat lives
 * on `dest`), 'mover' (the mover's own transaction: neither refused nor
 * recorded; no other session sees it). A change of state is a
 * compare-and-swap on (state, token).
 */
#ifndef DBR_FENCE_H
#define DBR_FENCE_H

#include "internal.h"

struct dbr;

/* Whether source `name` can take part in a move (its driver has capture
 * and clock_ms); DBR_E_UNSUPPORTED or DBR_E_NOTFOUND says why not. */
int dbr__fence_supported(struct dbr *db, const char *name,
			 struct dbr_error *err);

/* Install (or remove) cap's triggers on source `name` (its driver's
 * capture()); both idempotent. Installing creates the fence and delta
 * tables when missing. */
int dbr__fence_capture(struct dbr *db, const char *name,
		       const struct dbr_capture *cap, bool install,
		       struct dbr_error *err);

/* The source's clock, milliseconds since 1970, as its triggers read it. */
int dbr__fence_clock(struct dbr *db, const char *name, int64_t *ms,
		     struct dbr_error *err);

/* The move's fence row, made in state 'idle' with token 0 when missing
 * (the tables must exist: after a capture's install). */
int dbr__fence_create(struct dbr *db, const char *name, int64_t move,
		      int64_t chat, const char *dest, struct dbr_error *err);

/*
 * Compare-and-swap the move's fence row: from (`from`, `token`) to (`to`,
 * `new_token`, `until_ms`); *done says whether it changed (false: another
 * state or token, e.g. a newer mover's). On PostgreSQL the update waits
 * for the chat's writers in flight (they hold the row FOR SHARE).
 */
int dbr__fence_set(struct dbr *db, const char *name, int64_t move,
		   const char *from, int64_t token, const char *to,
		   int64_t new_token, int64_t until_ms, bool *done,
		   struct dbr_error *err);

/* One key the triggers recorded. */
struct dbr__delta {
	int64_t seq;
	char *table; /* owned */
	char *pk;    /* owned: the key's values, a JSON array */
	char op;     /* 'i', 'u' or 'd' */
};

/* The move's delta rows after seq `after`, at most `max`, in order. Free
 * with dbr__fence_delta_free(). */
int dbr__fence_delta(struct dbr *db, const char *name, int64_t move,
		     int64_t after, size_t max, struct dbr__delta **rows,
		     size_t *n, struct dbr_error *err);
void dbr__fence_delta_free(struct dbr__delta *rows, size_t n);

#endif /* DBR_FENCE_H */
