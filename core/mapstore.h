/*
 * mapstore.h - what the mapping store (mapstore.c) lends the chat-move
 * planner: the chat tables `dbroute mapping set` searches, its quoting
 * of names, and a chat's current source. (The refresher's calls are in
 * refresh.h.)
 */
#ifndef DBR_MAPSTORE_H
#define DBR_MAPSTORE_H

#include "internal.h"

struct dbr;

/*
 * One table that may hold chats' rows: `from` (quoted, schema-qualified
 * when the catalog listed it) and its chat column (quoted); text when the
 * column is text (the chat is compared as text); conf its [table.NAME]
 * section's index, or SIZE_MAX (the [move] chat_column convention).
 * Borrowed until the callback returns.
 */
typedef void (*dbr__chat_table_fn)(void *ud, const char *from,
				   const char *column, bool text, size_t conf);

/*
 * The tables of source `source` that may hold a chat's rows, found as
 * dbr_mapping_set() finds them ([table.NAME] sections, else the [move]
 * chat_column convention through the catalog); chat only names the chat
 * in messages. Returns DBR_OK, DBR_E_NOTFOUND (no such source),
 * DBR_E_UNSUPPORTED (not SQL, or no list_tables and no [table.NAME]),
 * DBR_E_NOMEM or the source's error.
 */
int dbr__mapping_chat_tables(struct dbr *db, const char *source, int64_t chat,
			     dbr__chat_table_fn fn, void *ud,
			     struct dbr_error *err);

/* schema.name as SQL names it, each part in double quotes (schema ""
 * for none); owned (dbr__free), NULL when out of memory. */
char *dbr__mapping_quoted(const char *schema, const char *name);

/* The source a chat lives on now: the store's row, else [chat_mapping],
 * else the default source, into name (DBR_NAME_SIZE bytes). DBR_E_CONFIG
 * without a [mapping] store. */
int dbr__mapping_route(struct dbr *db, int64_t chat, char *name,
		       struct dbr_error *err);

/* Who changes the store, "user@host:pid" (the change log's actor). */
void dbr__mapping_actor(char *buf, size_t size);

/*
 * A chat move's switch in the store (core/move_switch.c, once the
 * source's fence says moved): the chat mapped to `to` in one change
 * (reason "move MOVE", the move in the change log, NOTIFY) and the move's
 * row (of token `token`) set to 'switched' with its pause, in one
 * transaction. Unlike dbr_mapping_set(), the old source's rows are not
 * looked for.
 */
int dbr__mapping_switch(struct dbr *db, int64_t chat, int64_t move,
			int64_t token, const char *to, int64_t pause_ms,
			struct dbr_error *err);

#endif /* DBR_MAPSTORE_H */
