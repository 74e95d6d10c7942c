/*
 * command.c - what the Redis driver knows of a command before it sends
 * it.
 *
 * A pooled connection is shared by every later caller, so a command that
 * changes the connection itself (a transaction, a subscription, the
 * database, the login, the reply mode) is refused: it would outlive the
 * call. The check reads the bound words, so a command name passed as a
 * parameter is caught too. The connection's state check after every
 * command (is_clean) stays the real guard; this one says why.
 */
#include <string.h>

#include "command.h"

static const char why_tx[] =
	"Redis transactions (MULTI, EXEC, DISCARD, WATCH) are not offered: "
	"send one command, or a script (EVAL, FCALL); dbr_tx_* is for SQL "
	"sources";
static const char why_sub[] =
	"subscriptions and MONITOR need a connection of their own, which "
	"dbroute does not offer";
static const char why_select[] =
	"the database is the source's `db` option: a SELECT would outlive the "
	"call on a pooled connection";
static const char why_auth[] =
	"the login and the protocol are set by the source's options "
	"(password_env), not per call";
static const char why_reset[] = "it would reset or close a pooled connection";
static const char why_cluster[] =
	"it changes the connection's cluster mode, which would outlive the "
	"call on a pooled connection";
static const char why_repl[] = "replication needs a connection of its own";
static const char why_client[] =
	"this CLIENT subcommand changes the connection (reply mode, name, "
	"tracking, eviction), which would outlive the call on a pooled "
	"connection";

static const struct {
	const char *name;
	const char *why;
} refused[] = {
	{ "multi", why_tx },	      { "exec", why_tx },
	{ "discard", why_tx },	      { "watch", why_tx },
	{ "unwatch", why_tx },	      { "subscribe", why_sub },
	{ "psubscribe", why_sub },    { "ssubscribe", why_sub },
	{ "unsubscribe", why_sub },   { "punsubscribe", why_sub },
	{ "sunsubscribe", why_sub },  { "monitor", why_sub },
	{ "select", why_select },     { "auth", why_auth },
	{ "hello", why_auth },	      { "reset", why_reset },
	{ "quit", why_reset },	      { "readonly", why_cluster },
	{ "readwrite", why_cluster }, { "asking", why_cluster },
	{ "sync", why_repl },	      { "psync", why_repl },
	{ "replconf", why_repl },
};

/*
 * The CLIENT subcommands that leave the connection as it was; any other
 * (REPLY, SETNAME, SETINFO, TRACKING, CACHING, NO-EVICT, NO-TOUCH, and
 * those a later server adds) is refused.
 */
static const char *const client_ok[] = {
	"id",	"info", "list",	 "getname", "getredir", "trackinginfo",
	"help", "kill", "pause", "unpause", "unblock",
};

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

bool rds_command_is(const char *word, size_t len, const char *name)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!name[i] || lower(word[i]) != lower(name[i]))
			return false;
	return !name[len];
}

const char *rds_command_refused(const char *const *argv, const size_t *argvlen,
				size_t argc, size_t *nwords)
{
	size_t i;

	*nwords = 1;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (rds_command_is(argv[0], argvlen[0], refused[i].name))
			return refused[i].why;
	if (argc < 2 || !rds_command_is(argv[0], argvlen[0], "client"))
		return NULL;
	for (i = 0; i < sizeof(client_ok) / sizeof(client_ok[0]); i++)
		if (rds_command_is(argv[1], argvlen[1], client_ok[i]))
			return NULL;
	*nwords = 2;
	return why_client;
}

/* Whether a reply element is the given simple word. */
static bool is_word(const redisReply *r, const char *word)
{
	return (r->type == REDIS_REPLY_STATUS ||
		r->type == REDIS_REPLY_STRING) &&
	       r->len == strlen(word) && !memcmp(r->str, word, r->len);
}

/*
 * COMMAND INFO answers one array per name: nil for an unknown command,
 * else [name, arity, flags, first key, last key, step, ...], and since
 * Redis 7 element 9 lists the subcommands of a container, whose own flags
 * then say nothing of what its subcommands do.
 */
unsigned rds_command_flags(const redisReply *info)
{
	const redisReply *cmd, *flags;
	unsigned out = 0;
	size_t i;

	if (!info || info->type != REDIS_REPLY_ARRAY || info->elements != 1)
		return 0;
	cmd = info->element[0];
	if (cmd->type != REDIS_REPLY_ARRAY || cmd->elements < 3)
		return 0;
	flags = cmd->element[2];
	for (i = 0; flags->type == REDIS_REPLY_ARRAY && i < flags->elements;
	     i++)
		if (is_word(flags->element[i], "readonly"))
			out |= RDS_CMD_READONLY;
	if (cmd->elements >= 10 && cmd->element[9]->type == REDIS_REPLY_ARRAY &&
	    cmd->element[9]->elements > 0)
		out = RDS_CMD_CONTAINER;
	return out;
}
