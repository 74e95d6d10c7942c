/*
 * chatbot-server.c - a long-running chat workload on dbroute that serves
 * its metrics to Prometheus (docs/observability.md).
 *
 * It creates a table on every writable SQL source, then keeps a modest
 * workload going: in turn on each SQL source, named explicitly so that
 * every source is exercised whatever the chat mapping, it stores a chat
 * message, reads a chat's messages back, and reads a chat routed by its
 * id (wherever the mapping sends it). `/metrics` is served over HTTP by
 * libmicrohttpd, from dbr_metrics_write().
 *
 * usage: chatbot-server -c FILE --metrics 127.0.0.1:PORT
 *                       [--rate N | --ops N]
 *
 *   --rate N  operations per second, for ever (default 20)
 *   --ops N   exactly N operations, then only serve the metrics
 *
 * Operation i goes to SQL source i % k (k sources, in definition order);
 * of each source's turns, the first stores a message (a read-only source
 * reads instead), the second reads by name, the third reads by chat. So
 * with --ops 3 * k * m, every source runs m stores and m reads by name,
 * plus its CREATE TABLE, and the k * m reads by chat go where the mapping
 * sends them.
 *
 * SIGINT and SIGTERM stop it. SIGHUP reloads the configuration file
 * (dbr_reload(): the library installs no signal handler; the flag set
 * here is acted on by the workload's thread) and logs what changed: the
 * sources added and removed, and the chats whose route moved. A refused
 * reload is logged and the configuration in force stays.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbroute.h"

static const int64_t chats[] = {
	-1001234567890, 42, 777, -1009876543210, 5, 6
};
#define NCHATS (sizeof(chats) / sizeof(chats[0]))

static volatile sig_atomic_t stop, hup;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	hup = 1;
}

/* The SQL sources, in definition order, and which of them are writable. */
struct sources {
	char **names; /* dbr_source_names(): all of them */
	const char **sql;
	bool *writable;
	size_t n;
};

static int fail(const char *what, const struct dbr_error *err)
{
	fprintf(stderr, "chatbot-server: %s: %s\n", what, err->message);
	return 1;
}

static int list_sources(struct dbr *db, struct sources *s)
{
	struct dbr_source_info info;
	struct dbr_error err;
	size_t i, count;

	if (dbr_source_names(db, &s->names, &count, &err))
		return fail("list sources", &err);
	s->sql = calloc(count + 1, sizeof(*s->sql));
	s->writable = calloc(count + 1, sizeof(*s->writable));
	if (!s->sql || !s->writable) {
		fprintf(stderr, "chatbot-server: out of memory\n");
		return 1;
	}
	for (i = 0; i < count; i++) {
		info.size = sizeof(info);
		if (dbr_source_info(db, s->names[i], &info, &err))
			return fail("source info", &err);
		if (!(info.flags & DBR_SOURCE_SQL))
			continue;
		s->writable[s->n] = !(info.flags & DBR_SOURCE_READONLY);
		s->sql[s->n++] = s->names[i];
	}
	if (!s->n) {
		fprintf(stderr, "chatbot-server: no SQL source to use\n");
		return 1;
	}
	return 0;
}

static void free_sources(struct sources *s)
{
	free(s->sql);
	free(s->writable);
	dbr_free(s->names);
	memset(s, 0, sizeof(*s));
}

/* Whether name is one of s's SQL sources. */
static bool has_source(const struct sources *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->sql[i], name))
			return true;
	return false;
}

static int create_tables(struct dbr *db, const struct sources *s);

/* SIGHUP: reload the configuration, log what changed, go on with its
 * sources (or with the old list when the new one has no SQL source). */
static void reload(struct dbr *db, struct sources *s)
{
	char before[NCHATS][DBR_NAME_SIZE], after[DBR_NAME_SIZE];
	struct sources next = { 0 };
	struct dbr_error err;
	size_t i;
	int reason;

	for (i = 0; i < NCHATS; i++)
		if (dbr_route_chat(db, chats[i], before[i], sizeof(before[i]),
				   &reason))
			strcpy(before[i], "?");
	if (dbr_reload(db, NULL, &err)) {
		fprintf(stderr,
			"chatbot-server: SIGHUP: reload failed, the "
			"configuration in force is unchanged: %s\n",
			err.message);
		return;
	}
	fprintf(stderr, "chatbot-server: SIGHUP: configuration reloaded\n");
	for (i = 0; i < NCHATS; i++) {
		if (dbr_route_chat(db, chats[i], after, sizeof(after), &reason))
			strcpy(after, "?");
		if (strcmp(before[i], after))
			fprintf(stderr,
				"chatbot-server: chat %" PRId64 ": %s -> %s\n",
				chats[i], before[i], after);
	}
	if (list_sources(db, &next) || create_tables(db, &next)) {
		free_sources(&next);
		return;
	}
	for (i = 0; i < next.n; i++)
		if (!has_source(s, next.sql[i]))
			fprintf(stderr, "chatbot-server: source %s added\n",
				next.sql[i]);
	for (i = 0; i < s->n; i++)
		if (!has_source(&next, s->sql[i]))
			fprintf(stderr, "chatbot-server: source %s removed\n",
				s->sql[i]);
	free_sources(s);
	*s = next;
}

static int create_tables(struct dbr *db, const struct sources *s)
{
	static const char sql[] =
		"CREATE TABLE IF NOT EXISTS chatbot_messages ("
		" chat_id BIGINT NOT NULL, message_id BIGINT NOT NULL,"
		" text TEXT, PRIMARY KEY (chat_id, message_id))";
	struct dbr_error err;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->writable[i] &&
		    dbr_query_source(db, s->sql[i], sql, NULL, 0, NULL, &err))
			return fail("create table", &err);
	return 0;
}

/* Read a query's rows to their end. */
static int drain(struct dbr_result *res, struct dbr_error *err)
{
	int rc;

	while ((rc = dbr_result_next(res)) == DBR_ROW)
		;
	if (rc != DBR_DONE)
		*err = *dbr_result_error(res);
	dbr_result_free(res);
	return rc == DBR_DONE ? DBR_OK : rc;
}

/* Operation i of the schedule in the header comment. */
static int one_op(struct dbr *db, const struct sources *s, uint64_t i)
{
	static const char store[] = "INSERT INTO chatbot_messages (chat_id, "
				    "message_id, text) VALUES (?, ?, ?)";
	static const char hello[] = "hello from chatbot-server";
	static const char fetch[] = "SELECT message_id, text FROM "
				    "chatbot_messages WHERE chat_id = ?";
	size_t src = (size_t)(i % s->n);
	uint64_t turn = i / s->n;
	int64_t chat = chats[turn % NCHATS];
	struct dbr_value p[3] = { dbr_int64(chat), dbr_int64((int64_t)i),
				  dbr_text(hello, sizeof(hello) - 1) };
	struct dbr_result *res;
	struct dbr_error err;
	int rc;

	if (turn % 3 == 0 && s->writable[src]) {
		rc = dbr_query_source(db, s->sql[src], store, p, 3, NULL, &err);
	} else {
		if (turn % 3 == 2)
			rc = dbr_query(db, chat, fetch, p, 1, &res, &err);
		else
			rc = dbr_query_source(db, s->sql[src], fetch, p, 1,
					      &res, &err);
		if (!rc)
			rc = drain(res, &err);
	}
	if (rc)
		fprintf(stderr, "chatbot-server: operation %" PRIu64 ": %s\n",
			i, err.message);
	return rc;
}

/* A growing buffer for one scrape's text. */
struct text {
	char *buf;
	size_t n, cap;
};

static int append(void *ud, const char *text, size_t len)
{
	struct text *t = ud;
	char *grown;

	if (t->n + len > t->cap) {
		t->cap = (t->n + len) * 2;
		grown = realloc(t->buf, t->cap);
		if (!grown)
			return 1;
		t->buf = grown;
	}
	memcpy(t->buf + t->n, text, len);
	t->n += len;
	return 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	static const char other[] = "chatbot-server: see /metrics\n";
	struct dbr *db = cls;
	struct MHD_Response *resp;
	struct text t = { NULL, 0, 0 };
	struct dbr_error err;
	unsigned status = MHD_HTTP_OK;
	enum MHD_Result ok;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return MHD_NO;
	if (strcmp(url, "/metrics")) {
		status = MHD_HTTP_NOT_FOUND;
		append(&t, other, sizeof(other) - 1);
	} else if (dbr_metrics_write(db, append, &t, &err)) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		t.n = 0;
		append(&t, err.message, strlen(err.message));
	}
	resp = MHD_create_response_from_buffer(t.n, t.buf,
					       MHD_RESPMEM_MUST_COPY);
	free(t.buf);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	ok = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ok;
}

/* HOST:PORT, an IPv4 address and a port, into addr. */
static int parse_listen(const char *arg, struct sockaddr_in *addr)
{
	char host[64];
	const char *colon = strrchr(arg, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - arg) >= sizeof(host))
		return -1;
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
		return -1;
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &addr->sin_addr) == 1 ? 0 : -1;
}

static void sleep_ns(long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

	nanosleep(&ts, NULL);
}

struct args {
	const char *config, *listen;
	long rate;
	long long ops; /* -1: for ever */
};

static int usage(void)
{
	fprintf(stderr, "usage: chatbot-server -c FILE --metrics "
			"127.0.0.1:PORT [--rate N | --ops N]\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	char *end;
	int i;

	a->config = a->listen = NULL;
	a->rate = 20;
	a->ops = -1;
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return -1;
		if (!strcmp(argv[i], "-c")) {
			a->config = v;
		} else if (!strcmp(argv[i], "--metrics")) {
			a->listen = v;
		} else if (!strcmp(argv[i], "--rate")) {
			a->rate = strtol(v, &end, 10);
			if (*end || a->rate < 1 || a->rate > 100000)
				return -1;
		} else if (!strcmp(argv[i], "--ops")) {
			a->ops = strtoll(v, &end, 10);
			if (*end || a->ops < 0)
				return -1;
		} else {
			return -1;
		}
		i++;
	}
	return a->config && a->listen ? 0 : -1;
}

/* The workload, until stopped (or until a->ops operations ran). */
static int run(struct dbr *db, struct sources *s, const struct args *a)
{
	uint64_t i = 0;
	int failures = 0;

	while (!stop) {
		if (hup) {
			hup = 0;
			reload(db, s);
		}
		if (a->ops >= 0 && i >= (uint64_t)a->ops) {
			sleep_ns(100000000L); /* only serving */
			continue;
		}
		if (one_op(db, s, i++) && ++failures > 1000)
			return 1;
		if (a->ops < 0)
			sleep_ns(1000000000L / a->rate);
		else if (i == (uint64_t)a->ops)
			fprintf(stderr,
				"chatbot-server: %lld operations done\n",
				a->ops);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr;
	struct MHD_Daemon *httpd = NULL;
	struct sources s = { 0 };
	struct dbr_error err;
	struct dbr *db = NULL;
	struct sigaction sa;
	struct args a;
	int rc = 1;

	if (parse_args(argc, argv, &a) || parse_listen(a.listen, &addr))
		return usage();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	if (dbr_open(&db, a.config, NULL, &err))
		return fail(a.config, &err);
	if (list_sources(db, &s) || create_tables(db, &s))
		goto out;
	httpd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, answer, db, MHD_OPTION_SOCK_ADDR, &addr,
		MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!httpd) {
		fprintf(stderr, "chatbot-server: cannot listen on %s\n",
			a.listen);
		goto out;
	}
	fprintf(stderr, "chatbot-server: metrics on http://%s/metrics\n",
		a.listen);
	rc = run(db, &s, &a);
out:
	if (httpd)
		MHD_stop_daemon(httpd);
	free_sources(&s);
	dbr_close(db);
	return rc;
}
