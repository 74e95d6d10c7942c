/*
 * command.h - what the Redis driver knows of a command before it sends
 * it: whether it would change the pooled connection's own state, and what
 * the server's COMMAND INFO says of it.
 */
#ifndef DBR_REDIS_COMMAND_H
#define DBR_REDIS_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

/* What COMMAND INFO reports of a command. */
enum rds_command_flags {
	RDS_CMD_READONLY = 1u << 0, /* flagged `readonly`: never writes */
	RDS_CMD_CONTAINER = 1u << 1 /* has subcommands: NAME|SUB decides */
};

/*
 * Why the command (argv[0], and argv[1] for CLIENT) must not run on a
 * pooled connection, or NULL when it may. The reason is static text;
 * *nwords receives how many words name the command (1 or 2). Words match
 * case-insensitively and over their whole length, as the server looks
 * them up.
 */
const char *rds_command_refused(const char *const *argv, const size_t *argvlen,
				size_t argc, size_t *nwords);

/* The flags (enum rds_command_flags) of a COMMAND INFO reply for one
 * name; 0 for an unknown command or a reply of another shape. */
unsigned rds_command_flags(const redisReply *info);

/* Whether word (len bytes, any bytes) is name, ignoring ASCII case. */
bool rds_command_is(const char *word, size_t len, const char *name);

#endif /* DBR_REDIS_COMMAND_H */
