/*
 * chatbot.c - a small chat-bot style program on dbroute.
 *
 * It opens a configuration with two SQLite sources and a chat mapping,
 * creates its table on every source, stores a few messages for several
 * chats (each chat's messages in one transaction, on the chat's source),
 * reads them back, and prints which source served each chat and how many
 * rows each source holds.
 *
 * usage: chatbot CONFIG.ini
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dbroute.h"

static const int64_t chats[] = { -1001234567890, 42, 777, -1009876543210 };
#define NCHATS (sizeof(chats) / sizeof(chats[0]))

static int fail(const char *what, const struct dbr_error *err)
{
	fprintf(stderr, "chatbot: %s: %s\n", what, err->message);
	return 1;
}

/*
 * Chat ids are BIGINT: group ids such as -1001234567890 overflow
 * PostgreSQL's INTEGER (int4).
 */
static int create_tables(struct dbr *db)
{
	static const char sql[] =
		"CREATE TABLE IF NOT EXISTS messages ("
		" chat_id BIGINT NOT NULL, message_id BIGINT NOT NULL,"
		" user_id BIGINT, text TEXT,"
		" PRIMARY KEY (chat_id, message_id))";
	struct dbr_error err;
	char **names;
	size_t i;
	int rc = 0;

	if (dbr_source_names(db, &names, NULL, &err))
		return fail("list sources", &err);
	for (i = 0; names[i] && !rc; i++)
		if (dbr_query_source(db, names[i], sql, NULL, 0, NULL, &err))
			rc = fail("create table", &err);
	dbr_free(names);
	return rc;
}

/* Replace a chat's messages with three new ones, in one transaction. */
static int store_chat(struct dbr *db, int64_t chat)
{
	struct dbr_error err;
	struct dbr_tx *tx;
	struct dbr_value p[4];
	char text[64];
	int64_t m;

	if (dbr_tx_begin(db, chat, &tx, &err))
		return fail("begin", &err);
	p[0] = dbr_int64(chat);
	if (dbr_tx_query(tx, "DELETE FROM messages WHERE chat_id = ?", p, 1,
			 NULL, &err))
		goto fail;
	for (m = 1; m <= 3; m++) {
		snprintf(text, sizeof(text),
			 "message %" PRId64 " in chat %" PRId64, m, chat);
		p[1] = dbr_int64(m);
		p[2] = dbr_int64(1000 + m);
		p[3] = dbr_text(text, strlen(text));
		if (dbr_tx_query(
			    tx,
			    "INSERT INTO messages (chat_id, "
			    "message_id, user_id, text) VALUES (?, ?, ?, ?)",
			    p, 4, NULL, &err))
			goto fail;
	}
	return dbr_tx_commit(tx, &err) ? fail("commit", &err) : 0;
fail:
	dbr_tx_rollback(tx, NULL);
	return fail("insert", &err);
}

static int read_chat(struct dbr *db, int64_t chat)
{
	struct dbr_value p = dbr_int64(chat);
	struct dbr_result *res;
	struct dbr_error err;
	int reason, rc, n = 0;

	dbr_route_chat(db, chat, NULL, 0, &reason);
	if (dbr_query(db, chat,
		      "SELECT message_id, text FROM messages "
		      "WHERE chat_id = ? ORDER BY message_id",
		      &p, 1, &res, &err))
		return fail("select", &err);
	printf("chat %" PRId64 ": source '%s' (%s)\n", chat,
	       dbr_result_source(res), dbr_route_reason_name(reason));
	while ((rc = dbr_result_next(res)) == DBR_ROW) {
		printf("  #%" PRId64 " %s\n", dbr_result_int64(res, 0),
		       dbr_result_text(res, 1, NULL));
		n++;
	}
	if (rc != DBR_DONE) {
		rc = fail("read", dbr_result_error(res));
		dbr_result_free(res);
		return rc;
	}
	dbr_result_free(res);
	return n == 3 ? 0 : 1;
}

static int count_rows(struct dbr *db)
{
	struct dbr_result *res;
	struct dbr_error err;
	char **names;
	size_t i;
	int rc = 0;

	if (dbr_source_names(db, &names, NULL, &err))
		return fail("list sources", &err);
	for (i = 0; names[i] && !rc; i++) {
		if (dbr_query_source(db, names[i],
				     "SELECT count(*) FROM messages", NULL, 0,
				     &res, &err)) {
			rc = fail("count", &err);
			break;
		}
		if (dbr_result_next(res) == DBR_ROW)
			printf("source '%s' holds %" PRId64 " messages\n",
			       names[i], dbr_result_int64(res, 0));
		else
			rc = 1;
		dbr_result_free(res);
	}
	dbr_free(names);
	return rc;
}

int main(int argc, char **argv)
{
	struct dbr_error err;
	struct dbr *db;
	size_t i;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: chatbot CONFIG.ini\n");
		return 2;
	}
	if (dbr_version_number() != DBR_VERSION_NUMBER) {
		fprintf(stderr, "chatbot: header and library differ\n");
		return 1;
	}
	if (dbr_open(&db, argv[1], NULL, &err))
		return fail("open", &err);
	rc = create_tables(db);
	for (i = 0; i < NCHATS && !rc; i++)
		rc = store_chat(db, chats[i]);
	for (i = 0; i < NCHATS && !rc; i++)
		rc = read_chat(db, chats[i]);
	if (!rc)
		rc = count_rows(db);
	dbr_close(db);
	return rc;
}
