/*
 * move.h - a chat move's run (docs/moving-chats.md, "The move"): what the
 * files of the run share. move_run.c drives the states, move_record.c
 * keeps the move's row in the store (dbroute_moves), move_rows.c reads
 * and writes one table's rows, move_copy.c copies in keyset batches,
 * move_catchup.c applies the captured changes, move_switch.c fences,
 * verifies and switches.
 */
#ifndef DBR_MOVE_H
#define DBR_MOVE_H

#include "internal.h"

struct dbr;
struct dbr_tx;

/* The longest a move's state name may be, its NUL included. */
#define DBR__MOVE_STATE_SIZE 16

/* One chat table of a move, with the statements the run needs. */
struct dbr__move_table {
	char *src;	   /* as SQL names it on the source (quoted) */
	char *dst;	   /* as SQL names it on the destination */
	char *schema;	   /* on the source, as its catalog lists it */
	char *name;	   /* unquoted, for the capture */
	char *chat_raw;	   /* the chat column, unquoted */
	char **raw;	   /* the columns, unquoted, in declared order */
	size_t ncols;	   /* number of columns */
	size_t *key;	   /* the key's columns (indices into raw) */
	size_t nkey;	   /* number of key columns */
	const char **keyv; /* the key's columns' names, for the capture */
	bool chat_text;	   /* the chat column holds text */
	bool *as_text;	   /* read as text (PostgreSQL's other types) */
	bool *is_int;	   /* integer class: sequences follow the key */
	char *sel_first;   /* the chat's first batch, in key order */
	char *sel_next;	   /* the next batch, after a key */
	char *sel_key;	   /* one row by key and chat */
	char *upsert;	   /* insert, or update a row of the same chat */
	char *del;	   /* delete one row by key and chat */
};

/* A move being run. */
struct dbr__move {
	struct dbr *db;
	int64_t id, chat, token;
	char src[DBR_NAME_SIZE], dst[DBR_NAME_SIZE];
	char state[DBR__MOVE_STATE_SIZE];
	bool src_pg, dst_pg;
	struct dbr__move_table *t;
	size_t nt;
	/* [move] keys */
	size_t batch_rows;
	int64_t fence_ms;
	int max_attempts;
	/* progress */
	int64_t copied;	 /* rows written to the destination */
	int64_t seq;	 /* the last delta row applied (progress only) */
	int64_t backlog; /* delta rows read and not applied yet */
	int64_t pause_ms;
	int attempts;
	char cursor[512];
	char error[DBR_ERROR_MESSAGE_SIZE];
	const struct dbr_move_options *opts;
};

/* move_run.c: tables from a plan (m->src, m->dst and m->chat set). */
int dbr__move_tables(struct dbr__move *m, const struct dbr_move_plan *p,
		     struct dbr_error *err);
void dbr__move_release(struct dbr__move *m);
/* The capture of table t for move m (driver ABI 2.2 capture()). */
struct dbr_capture dbr__move_cap(const struct dbr__move *m,
				 const struct dbr__move_table *t);
/* One table's capture installed or removed, retried while busy. */
int dbr__move_capture(struct dbr__move *m, const struct dbr_capture *cap,
		      bool install, struct dbr_error *err);
/* The progress callback, when the options have one. */
void dbr__move_progress(struct dbr__move *m);

/* move_record.c: the move's row in the store. */
int dbr__move_record_new(struct dbr__move *m, struct dbr_error *err);
/* Write m's state, cursor and counters (and error) to its row. */
int dbr__move_record_save(struct dbr__move *m, struct dbr_error *err);
/* Fill m's id, chat, sides, state and token from the store's row. */
int dbr__move_record_load(struct dbr__move *m, int64_t id,
			  struct dbr_error *err);

/* move_rows.c: one table's statements (batch rows per read). */
int dbr__move_table_sql(struct dbr__move_table *t, size_t batch);
/* The chat as its column compares it (text in buf when it is text). */
struct dbr_value dbr__move_chat_value(const struct dbr__move *m,
				      const struct dbr__move_table *t,
				      char *buf, size_t size);
/* Upsert the current row of res (read by sel_*) in tx; a collision
 * (another chat's row under the key) is DBR_E_CONSTRAINT naming both. */
int dbr__move_upsert(struct dbr__move *m, const struct dbr__move_table *t,
		     struct dbr_tx *tx, struct dbr_result *res,
		     struct dbr_error *err);
/* The key of res's current row as text, for messages. */
void dbr__move_key_text(const struct dbr__move_table *t, struct dbr_result *res,
			char *buf, size_t size);
/* Bring one row (its key as the delta records it, a JSON array) to the
 * destination: upserted when the source has it, else deleted. */
int dbr__move_row_sync(struct dbr__move *m, const struct dbr__move_table *t,
		       struct dbr_tx *tx, const char *pk,
		       struct dbr_error *err);

/* move_copy.c: every table's rows, in keyset batches. */
int dbr__move_copy(struct dbr__move *m, struct dbr_error *err);

/* move_catchup.c: apply the delta until fewer than `small` rows were
 * waiting (0: until none are); *more says whether it stopped early. */
int dbr__move_catchup(struct dbr__move *m, size_t small, double deadline,
		      bool *more, struct dbr_error *err);

/* move_switch.c: fence, drain, verify and switch; retried. */
int dbr__move_switch(struct dbr__move *m, struct dbr_error *err);
/* Remove what the move installed and copied (before any switch). */
int dbr__move_undo(struct dbr__move *m, struct dbr_error *err);

#endif /* DBR_MOVE_H */
