/*
 * dbroute.h - the application API of dbroute.
 *
 * dbroute sends each database operation of an application to the data
 * source its chat is mapped to. An application opens one handle from an INI
 * file, shares it between its threads, and runs statements by chat id, by
 * scope name or by source name.
 *
 * This is the only header an application includes.
 */
#ifndef DBROUTE_H
#define DBROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(DBR_BUILDING) && defined(__GNUC__)
#define DBR_API __attribute__((visibility("default")))
#else
#define DBR_API
#endif

#define DBR_VERSION_MAJOR  0
#define DBR_VERSION_MINOR  5
#define DBR_VERSION_PATCH  0
#define DBR_VERSION_STRING "0.5.0"
/** MAJOR * 1000000 + MINOR * 1000 + PATCH, as dbr_version_number(). */
#define DBR_VERSION_NUMBER                                                     \
	(DBR_VERSION_MAJOR * 1000000 + DBR_VERSION_MINOR * 1000 +              \
	 DBR_VERSION_PATCH)

/**
 * Status codes. DBR_OK is 0; every other code is positive. Codes are never
 * renumbered.
 */
enum dbr_status {
	DBR_OK = 0,
	DBR_E_CONN = 1,	       /**< connection could not be opened, or lost */
	DBR_E_STMT = 2,	       /**< the statement failed (syntax, type, ...) */
	DBR_E_CONSTRAINT = 3,  /**< a constraint (unique, foreign key) failed */
	DBR_E_TIMEOUT = 4,     /**< a wait ended: pool, lock or connect */
	DBR_E_CONFIG = 5,      /**< the configuration is invalid */
	DBR_E_NOMEM = 6,       /**< out of memory */
	DBR_E_MISUSE = 7,      /**< the caller broke an API rule */
	DBR_E_UNSUPPORTED = 8, /**< the driver cannot do this */
	DBR_E_ABI = 9,	       /**< a driver was built for another ABI */
	DBR_E_READONLY = 10,   /**< a write on a read-only source */
	/** No source or scope by that name; since 0.4 also a database that
	 * does not exist, where it must not be created (a dry run) */
	DBR_E_NOTFOUND = 11,
	DBR_E_UNAVAILABLE = 12, /**< the source is unavailable: not tried */
	DBR_E_RESOURCE = 13,	/**< out of a local resource (fds) */
	/** a mapping store is configured and its table has not loaded yet:
	 *  a chat's operation is not routed (since 0.4) */
	DBR_E_NOTLOADED = 14,
	/** a chat's write was refused: a mapping store is configured and
	 *  the snapshot routing holds is older than [mapping] max_age
	 *  (since 0.4; every chat since 0.5, only the store's before) */
	DBR_E_STALE = 15,
	/** a chat's write was refused by its source while the chat moves
	 *  to another source (its fence, or the switch done): nothing was
	 *  applied; retryable. dbr_query() holds such a write up to 2.5 s
	 *  and sends it again as the chat is then routed; a transaction's
	 *  statement gets it at once (roll back and run the transaction
	 *  again). Since 0.5. */
	DBR_E_MOVING = 16,
	DBR_ROW = 100, /**< dbr_result_next(): a row is ready */
	DBR_DONE = 101 /**< dbr_result_next(): no more rows */
};

/** Size of struct dbr_error's message buffer, NUL included. */
#define DBR_ERROR_MESSAGE_SIZE 1024

/** Size of a buffer that holds any source or scope name, NUL included. */
#define DBR_NAME_SIZE 64

/**
 * Details of a failed call, filled by calls that take a
 * `struct dbr_error *` (which may be NULL when the caller does not want
 * them). The caller owns the struct and need not initialise it; its layout
 * is frozen, and fields to come take the place of `reserved`.
 *
 * On success the struct is left as it was. On failure every field is set:
 * `reserved` is zeroed, `hint` is never NULL.
 *
 * `retryable` says the failure was transient: the same call may succeed if
 * made again later (a lost or refused connection, a timeout, an
 * unavailable source, a local resource running out, and SQLSTATE class 40:
 * a serialization failure or a deadlock, after which the whole transaction
 * must be run again). DBR_E_CONN is retryable unless the driver knows
 * better: a damaged file, bad credentials or a database that does not
 * exist fail the same way until the configuration changes (then
 * `retryable` is false and `hint` says what to fix). It does not say the call had no effect: a statement
 * that failed with DBR_E_CONN or DBR_E_TIMEOUT may have been applied by the
 * server before the connection was lost. Retry only what is safe to run
 * twice (reads, idempotent writes), or check first.
 */
struct dbr_error {
	int code;	  /**< enum dbr_status of the failure */
	int native_code;  /**< the driver's own code (e.g. SQLite's), or 0 */
	char sqlstate[6]; /**< SQLSTATE when the backend has one, else "" */
	bool truncated;	  /**< message was cut to fit (it ends in "...") */
	bool retryable;	  /**< since 0.3: a transient failure (see above) */
	char source[DBR_NAME_SIZE];	      /**< the source involved, or "" */
	char message[DBR_ERROR_MESSAGE_SIZE]; /**< what failed, then why */
	const char *hint;     /**< since 0.3: what to do (static), or "" */
	uint64_t reserved[6]; /**< since 0.3: zero; room for fields to come */
};

/** Value types. */
enum dbr_type {
	DBR_TYPE_NULL = 0,
	DBR_TYPE_INT64 = 1,
	DBR_TYPE_DOUBLE = 2,
	DBR_TYPE_TEXT = 3,
	DBR_TYPE_BLOB = 4,
	/** true or false, in u.i as 1 or 0 (since 0.5) */
	DBR_TYPE_BOOL = 5,
	/**
	 * A point in time: UTC microseconds since 1970-01-01 00:00:00 in
	 * u.i, years 1000 to 9999 (DBR_TIMESTAMP_MIN .. DBR_TIMESTAMP_MAX).
	 * Its text form is `YYYY-MM-DD HH:MM:SS.ffffff` (UTC, always six
	 * fraction digits, no zone), dbr_timestamp_format()'s; that is how
	 * SQLite stores it and how a driver that predates it receives it
	 * (since 0.5; docs/portability.md)
	 */
	DBR_TYPE_TIMESTAMP = 6
};

/** The first and last timestamps: 1000-01-01 00:00:00.000000 and
 *  9999-12-31 23:59:59.999999 UTC, in microseconds (since 0.5). */
#define DBR_TIMESTAMP_MIN (-30610224000000000LL)
#define DBR_TIMESTAMP_MAX (253402300799999999LL)

/** Bytes of a timestamp's text form, NUL included (since 0.5). */
#define DBR_TIMESTAMP_TEXT_SIZE 27

/**
 * A typed value: a statement parameter, or a column of a result row. Text
 * and blob values point to memory owned elsewhere and carry their length in
 * bytes; text need not be NUL-terminated as a parameter. Bools and
 * timestamps are held in u.i. A NULL parameter may carry the type of the
 * column it stands for in u.i (dbr_null_of(); 0 or an unknown type: none).
 * Layout frozen.
 */
struct dbr_value {
	int type;   /**< enum dbr_type */
	size_t len; /**< bytes of text or blob, else 0 */
	union {
		int64_t i;
		double d;
		const char *s;
		const void *b;
	} u;
};

/** A NULL value. */
static inline struct dbr_value dbr_null(void)
{
	struct dbr_value v = { DBR_TYPE_NULL, 0, { 0 } };
	return v;
}

/**
 * A NULL parameter of a type (an enum dbr_type), so that a backend that
 * types its parameters (PostgreSQL) knows what it stands for: with
 * dbr_null_of(DBR_TYPE_TIMESTAMP) as both parameters, `(? IS NULL OR
 * created > ?)` runs on PostgreSQL, where an untyped NULL is refused
 * ("could not determine data type"). Elsewhere it is a plain NULL. Since
 * 0.5.
 */
static inline struct dbr_value dbr_null_of(int type)
{
	struct dbr_value v = { DBR_TYPE_NULL, 0, { 0 } };
	v.u.i = type;
	return v;
}

/** An int64 value. */
static inline struct dbr_value dbr_int64(int64_t i)
{
	struct dbr_value v = { DBR_TYPE_INT64, 0, { 0 } };
	v.u.i = i;
	return v;
}

/** A bool value. Since 0.5. */
static inline struct dbr_value dbr_bool(bool b)
{
	struct dbr_value v = { DBR_TYPE_BOOL, 0, { 0 } };
	v.u.i = b ? 1 : 0;
	return v;
}

/**
 * A timestamp value: UTC microseconds since 1970-01-01, within
 * DBR_TIMESTAMP_MIN .. DBR_TIMESTAMP_MAX (a parameter outside is refused
 * with DBR_E_MISUSE). Since 0.5.
 */
static inline struct dbr_value dbr_timestamp(int64_t us)
{
	struct dbr_value v = { DBR_TYPE_TIMESTAMP, 0, { 0 } };
	v.u.i = us;
	return v;
}

/** A double value. */
static inline struct dbr_value dbr_double(double d)
{
	struct dbr_value v = { DBR_TYPE_DOUBLE, 0, { 0 } };
	v.u.d = d;
	return v;
}

/** A text value of `len` bytes; the bytes are borrowed, not copied. */
static inline struct dbr_value dbr_text(const char *s, size_t len)
{
	struct dbr_value v = { DBR_TYPE_TEXT, len, { 0 } };
	v.u.s = s;
	return v;
}

/** A blob value of `len` bytes; the bytes are borrowed, not copied. */
static inline struct dbr_value dbr_blob(const void *b, size_t len)
{
	struct dbr_value v = { DBR_TYPE_BLOB, len, { 0 } };
	v.u.b = b;
	return v;
}

/** Log levels, most severe first. */
enum dbr_log_level {
	DBR_LOG_ERROR = 1,
	DBR_LOG_WARN = 2,
	DBR_LOG_INFO = 3,
	DBR_LOG_DEBUG = 4
};

/**
 * A log hook. Receives the hook's user data, the level, the source the
 * message is about (or NULL) and the formatted message. It must be
 * thread-safe and must not call back into dbroute.
 */
typedef void (*dbr_log_fn)(void *ud, int level, const char *source,
			   const char *message);

/** What a struct dbr_audit_event reports (docs/operations.md, "Audit"). */
enum dbr_audit_kind {
	/** Operations routed to an unavailable source ran on the default
	 * source (its fallback policy): at most one event per source per
	 * 10 s, counting them. */
	DBR_AUDIT_DIVERTED = 1,
	/** A statement sent to a source named by the caller
	 * (dbr_query_source()) may have written. */
	DBR_AUDIT_EXPLICIT_WRITE = 2,
	/** The configuration was reloaded (dbr_reload()), or a reload
	 * failed or was refused. */
	DBR_AUDIT_RELOAD = 3,
	/** A handle applied a new version of the mapping store (its
	 * refresher; one event per read of the change log, listing the
	 * chats changed, a chat once per change). */
	DBR_AUDIT_MAPPING = 4
};

/**
 * One run-time audit event, passed to the audit hook of struct
 * dbr_open_options and written as one JSON line to `[audit] file`.
 * Fields a kind does not use are 0 or NULL. Fields are only appended;
 * `size` is this library's sizeof.
 *
 * Ownership: the struct and everything it points to are borrowed, valid
 * until the hook returns; copy what you keep. Since: 0.4.
 */
struct dbr_audit_event {
	size_t size;	 /**< sizeof(struct dbr_audit_event) */
	int kind;	 /**< enum dbr_audit_kind */
	int64_t time_ms; /**< when: Unix time in milliseconds */
	/** DIVERTED: the unavailable source; EXPLICIT_WRITE: the source
	 * written */
	const char *source;
	/** DIVERTED: the source the operations ran on */
	const char *to;
	/** DIVERTED: operations diverted since the source's last event
	 * (or since the handle opened) */
	uint64_t count;
	/** MAPPING: the version now held */
	int64_t version;
	/** MAPPING: the chats whose route changed, nchats of them */
	const int64_t *chats;
	size_t nchats;
	/** RELOAD: the configuration file */
	const char *path;
	/** RELOAD: DBR_OK when applied, else the status it was refused
	 * with (`message` says why) */
	int status;
	/** RELOAD: the sources added, removed and changed, each list ended
	 * by NULL (NULL: none) */
	const char *const *added;
	const char *const *removed;
	const char *const *changed;
	/** RELOAD refused: why; otherwise NULL */
	const char *message;
};

/**
 * An audit hook (struct dbr_open_options). It is called from any thread
 * that caused the event, maybe from several at once: it must be
 * thread-safe, return quickly, and must not call back into dbroute.
 */
typedef void (*dbr_audit_fn)(void *ud, const struct dbr_audit_event *ev);

/** How a handle works (struct dbr_open_options.flags; since 0.5). */
enum dbr_handle_flags {
	/**
	 * For a short-lived tool: the mapping store's snapshot is read once,
	 * in dbr_open(), and kept; no refresher thread is started, the
	 * handle writes no heartbeat and sees no later change.
	 */
	DBR_HANDLE_NO_REFRESH = 1u << 0
};

/**
 * Options for dbr_open(). Set `size` to sizeof(struct dbr_open_options);
 * later versions only append fields, so an old caller stays valid.
 */
struct dbr_open_options {
	size_t size;	   /**< sizeof(struct dbr_open_options) */
	dbr_log_fn log_fn; /**< NULL: warnings and errors go to stderr */
	void *log_ud;	   /**< passed to log_fn */
	int log_level;	   /**< 0: the configuration's log_level */
	/** since 0.4: the audit hook, or NULL (then events only reach
	 * `[audit] file`, when set) */
	dbr_audit_fn audit_fn;
	void *audit_ud; /**< since 0.4: passed to audit_fn */
	unsigned flags; /**< since 0.5: enum dbr_handle_flags, or 0 */
};

/** What a source is and can do (dbr_source_info()). */
enum dbr_source_flags {
	DBR_SOURCE_SQL = 1u << 0, /**< statements are SQL */
	DBR_SOURCE_KV = 1u << 1,  /**< statements are key-value commands */
	DBR_SOURCE_TRANSACTIONS = 1u << 2, /**< dbr_tx_begin() works */
	DBR_SOURCE_READONLY = 1u << 3	   /**< configured `readonly = true` */
};

/** A source's availability (dbr_source_status()). */
enum dbr_source_state {
	DBR_SOURCE_AVAILABLE = 1,  /**< operations run on it */
	DBR_SOURCE_UNAVAILABLE = 2 /**< operations follow its fallback policy */
};

/** Why a source was chosen for an operation. */
enum dbr_route_reason {
	DBR_ROUTE_EXPLICIT = 1, /**< the caller named the source */
	DBR_ROUTE_SCOPE = 2,	/**< the scope is mapped in [scopes] */
	DBR_ROUTE_MAPPED = 3,	/**< the chat is mapped in [chat_mapping] */
	DBR_ROUTE_DEFAULT = 4,	/**< nothing matched: the default source */
	DBR_ROUTE_STORE = 5	/**< the mapping store's row (since 0.4) */
};

/** Options of a fan-out (dbr_fanout_set_flags()). */
enum dbr_fanout_flags {
	DBR_FANOUT_SEQUENTIAL = 1u << 0,    /**< one source after another */
	DBR_FANOUT_ALLOW_PARTIAL = 1u << 1, /**< skip failing sources */
	DBR_FANOUT_DISTINCT = 1u << 2	    /**< drop duplicate rows */
};

struct dbr;
struct dbr_result;
struct dbr_tx;
struct dbr_fanout;

/**
 * The library's version as MAJOR * 1000000 + MINOR * 1000 + PATCH.
 * Compare with DBR_VERSION_NUMBER to check header and library match.
 *
 * @return the version number
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API int dbr_version_number(void);

/**
 * The library's version as "MAJOR.MINOR.PATCH".
 *
 * @return static text
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API const char *dbr_version(void);

/**
 * A short English description of a status code.
 *
 * @param code an enum dbr_status
 * @return static text; "unknown status" for a code not in the enum
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API const char *dbr_strerror(int code);

/**
 * The name of a log level ("error", "warn", "info", "debug").
 *
 * @return static text, or "?" for an unknown level
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API const char *dbr_log_level_name(int level);

/**
 * Open a handle from an INI configuration file: parse and validate it,
 * load the drivers its sources name. No connection is made yet; pools
 * open connections when operations need them.
 *
 * Every problem of the file is reported, in file order, one per line of
 * err->message as "FILE:LINE: message", and nothing is opened.
 *
 * @param out receives the handle on success, NULL on failure
 * @param config_path the INI file
 * @param opts options, or NULL for the defaults
 * @param err error details, or NULL
 * @return DBR_OK, DBR_E_CONFIG (also for a driver that is missing or
 *   refused), DBR_E_NOMEM or DBR_E_MISUSE
 * Ownership: *out is owned; close it with dbr_close().
 * Thread-safety: any thread; the handle may then be shared by all threads.
 * Since: 0.1.
 */
DBR_API int dbr_open(struct dbr **out, const char *config_path,
		     const struct dbr_open_options *opts,
		     struct dbr_error *err);

/**
 * Close a handle: close every pooled connection and unload drivers. Every
 * result and transaction of the handle must have been freed first.
 *
 * @param db the handle, or NULL (then nothing happens)
 * Thread-safety: one thread, after every other thread stopped using db.
 * Since: 0.1.
 */
DBR_API void dbr_close(struct dbr *db);

/**
 * Reload the configuration file without a restart. All or nothing: the
 * file is read and validated exactly as dbr_open() reads it (every
 * problem as "FILE:LINE: message" in err), then checked against the
 * configuration in force; any problem leaves that configuration, and
 * everything running on it, untouched.
 *
 * Sources are matched by name. One whose type and every option (core
 * and driver) are unchanged keeps its pool, its open connections, its
 * health and its counters. One that changed or was removed stops handing
 * out connections: its idle connections are closed at once, the others
 * when given back; results and transactions already open finish on the
 * connections they hold. Operations started after the call returns are
 * routed by the new file ([chat_mapping], scopes, fallback); the log
 * level (unless dbr_open()'s options set it), fallback, retry_interval
 * and the [mapping], [move] and [table.NAME] keys apply at once.
 * Drivers stay loaded. The call never waits for a server, and the
 * library installs no signal handler: an application reloads on its own
 * signal (examples/chatbot-server.c reloads on SIGHUP). What changed is
 * logged at info level and raised as a DBR_AUDIT_RELOAD event (a failed
 * or refused reload too, with its status and message); `[audit] file` is
 * opened again. The memory of a replaced configuration and of a
 * retired pool (not its connections) is kept until dbr_close().
 *
 * Refused (DBR_E_CONFIG, the reason in err): a change of
 * `default_source` or of `[mapping] store`, or of its source's type
 * (either would silently move chats); removing or retyping a source that the new [chat_mapping] or
 * the mapping store's table still maps chats to (the first chats are
 * listed).
 *
 * @param db          the handle
 * @param config_path the file to read, or NULL for the one in force
 * @param err         optional: filled on failure
 * @return DBR_OK, DBR_E_CONFIG (the file, or a refusal), DBR_E_NOMEM, or
 *   DBR_E_MISUSE for a NULL db
 * Thread-safety: any thread, while other threads use db (reloads are
 *   serialised); not during dbr_close().
 * Since: 0.4.
 */
DBR_API int dbr_reload(struct dbr *db, const char *config_path,
		       struct dbr_error *err);

/**
 * Parse a chat id as the configuration does: a signed 64-bit decimal
 * integer, optionally signed, nothing else.
 *
 * @param text the text
 * @param chat receives the id
 * @return DBR_OK, or DBR_E_MISUSE for anything else (out of range too)
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API int dbr_chat_parse(const char *text, int64_t *chat);

/**
 * Which source an operation for `chat` goes to, and why: the mapping
 * store's row when a store is configured (DBR_ROUTE_STORE), else the INI's
 * [chat_mapping] (DBR_ROUTE_MAPPED), else the default source.
 *
 * @param db the handle
 * @param chat the chat id
 * @param source receives a copy of the source's name; NULL when the caller
 *        only wants the reason
 * @param cap the size of `source` in bytes (DBR_NAME_SIZE holds any name)
 * @param reason receives an enum dbr_route_reason; may be NULL
 * @return DBR_OK; DBR_E_NOTFOUND when the store's row names a source this
 *   configuration lacks (`source` then holds that name, *reason is
 *   DBR_ROUTE_STORE: the chat's operations fail the same way, they never
 *   go to the default); DBR_E_NOTLOADED when a store is configured and its
 *   table has not loaded yet ("" and 0); DBR_E_NOMEM; or DBR_E_MISUSE when
 *   db is NULL or the name does not fit in cap bytes (then the cap bytes
 *   are zeroed, and *reason is 0)
 * Thread-safety: any thread. Since: 0.3 (0.1 returned a borrowed name;
 *   DBR_E_NOTFOUND and DBR_E_NOTLOADED since 0.4).
 */
DBR_API int dbr_route_chat(struct dbr *db, int64_t chat, char *source,
			   size_t cap, int *reason);

/**
 * Which source an operation in scope `scope` goes to, and why. A scope with
 * no entry in [scopes] goes to the default source.
 *
 * @param source receives a copy of the source's name, as dbr_route_chat()
 * @return DBR_OK, or DBR_E_MISUSE when db or scope is NULL or the name does
 *   not fit in cap bytes
 * Thread-safety: any thread. Since: 0.3 (0.1 returned a borrowed name).
 */
DBR_API int dbr_route_scope(struct dbr *db, const char *scope, char *source,
			    size_t cap, int *reason);

/**
 * The name of a route reason ("explicit", "scope", "mapped", "default").
 *
 * @return static text, or "?" for an unknown reason
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API const char *dbr_route_reason_name(int reason);

/**
 * Run one statement for a chat, on the source the chat is routed to.
 *
 * Placeholders are `?`, bound in order to `params`; `??` is a literal `?`.
 * One call runs one statement: text after it is an error.
 *
 * The connection is pooled, so a statement that would change its state
 * for the next caller is refused with DBR_E_MISUSE before it is sent:
 * transaction control (use dbr_tx_begin() and friends), session settings
 * (PostgreSQL SET/RESET, SQLite PRAGMA that sets), ATTACH, LISTEN,
 * PREPARE/DISCARD, PostgreSQL CREATE TEMP (inside dbr_tx, with ON COMMIT
 * DROP), COPY (not supported), and on Redis MULTI/EXEC (Redis
 * transactions are not offered), SUBSCRIBE, SELECT, AUTH and the like.
 * Whatever the text, a connection whose state changed anyway is closed,
 * never pooled (docs/architecture.md, "Connections: one rule").
 *
 * Every wait on a server is bounded: a connect and a ping by the source's
 * `timeout`, a PostgreSQL statement by `statement_timeout` + `timeout`
 * (unbounded when `statement_timeout` is 0), a Redis command by `timeout`;
 * then DBR_E_TIMEOUT and the connection is closed. A server that closes
 * the connection while a statement is being written never raises SIGPIPE
 * in the application (docs/operations.md).
 *
 * @param db the handle
 * @param chat the chat id the operation belongs to
 * @param sql the statement (NUL-terminated)
 * @param params the parameters, or NULL when nparams is 0
 * @param nparams the number of parameters
 * @param out receives the result cursor; NULL runs the statement to its end
 *        and discards any rows
 * @param err error details, or NULL
 * @return DBR_OK or an error status; for the chat's route (as
 *   dbr_route_chat() gives it, nothing sent): DBR_E_NOTLOADED while a
 *   configured mapping store's table has not loaded, DBR_E_NOTFOUND when
 *   the store maps the chat to a source this configuration lacks
 * Ownership: *out is owned; free it with dbr_result_free(). It holds one
 *   pooled connection until freed. Parameters are read during the call
 *   only.
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API int dbr_query(struct dbr *db, int64_t chat, const char *sql,
		      const struct dbr_value *params, size_t nparams,
		      struct dbr_result **out, struct dbr_error *err);

/**
 * A named parameter of dbr_query_named(): the value of every `:name`
 * placeholder of that name. Layout frozen. Since: 0.5.
 */
struct dbr_param {
	const char *name; /**< the name without its ':' (NUL-terminated) */
	struct dbr_value value; /**< its value */
};

/**
 * Run one statement whose placeholders are `:name` (letters, digits, `_`
 * and bytes above 0x7f after the colon; the same name may appear several
 * times), bound by name from `params`, on a SQL source. Otherwise as
 * dbr_query(): `SELECT * FROM msgs WHERE chat_id = :chat AND (:since IS
 * NULL OR sent > :since)` with {"chat", dbr_int64(7)} and {"since",
 * dbr_null_of(DBR_TYPE_TIMESTAMP)}.
 *
 * The statement is read by the lexer of the dialect of the source that
 * runs it: a `:name` in a string, a quoted identifier, a comment or a
 * dollar quote, a PostgreSQL `::` cast and an array slice `a[1:n]` are not
 * placeholders. `?` is not one here: a literal `?` is written `??`. The
 * translation is kept per thread for the next call with the same text
 * (16 statements). Names are compared exactly (case counts). In
 * dbr_query() only `?` is a placeholder, and a `:name` is refused.
 *
 * @param params the named values (any order), or NULL when nparams is 0
 * @param nparams their number
 * @return as dbr_query(); DBR_E_MISUSE naming what is wrong, before
 *   anything is sent: a `?` in the statement, a placeholder with no
 *   parameter of its name, a parameter no placeholder uses, a name given
 *   twice or NULL; DBR_E_UNSUPPORTED on a source that is not SQL (Redis)
 * Ownership: as dbr_query(); params and their names are read during the
 *   call only.
 * Thread-safety: any thread. Since: 0.5.
 */
DBR_API int dbr_query_named(struct dbr *db, int64_t chat, const char *sql,
			    const struct dbr_param *params, size_t nparams,
			    struct dbr_result **out, struct dbr_error *err);

/**
 * Run one statement in a named scope (see dbr_route_scope()). Otherwise as
 * dbr_query().
 *
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API int dbr_query_scope(struct dbr *db, const char *scope, const char *sql,
			    const struct dbr_value *params, size_t nparams,
			    struct dbr_result **out, struct dbr_error *err);

/**
 * Run one statement on a source named by the caller, or on the default
 * source when `source` is NULL. Otherwise as dbr_query().
 *
 * @return as dbr_query(), or DBR_E_NOTFOUND for an unknown source name
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API int dbr_query_source(struct dbr *db, const char *source,
			     const char *sql, const struct dbr_value *params,
			     size_t nparams, struct dbr_result **out,
			     struct dbr_error *err);

/**
 * Step a result to its next row.
 *
 * Every dbr_result_*() call checks its pointer first: a stale one (used
 * after dbr_result_free(), or after its transaction ended) or a
 * transaction's pointer gets DBR_E_MISUSE, or the call's "none" value (0,
 * NULL, false, DBR_TYPE_NULL), instead of the result its connection serves
 * now. The check cannot stop a call that races with the result's free on
 * another thread (a data race in the caller): it may pass just before the
 * free and then reach the connection's next result. The check needs a
 * 64-bit build with 48-bit user addresses; elsewhere only a pointer to a
 * result not yet handed out again is caught. A pointer that never came
 * from dbroute, or any pointer after dbr_close(), is undefined. See
 * docs/architecture.md.
 *
 * @return DBR_ROW when a row is ready, DBR_DONE at the end, or an error
 *   status (details in dbr_result_error()); DBR_E_MISUSE for a NULL or
 *   stale result
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API int dbr_result_next(struct dbr_result *res);

/**
 * The number of columns of a result (0 for a statement without rows).
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API size_t dbr_result_column_count(const struct dbr_result *res);

/**
 * A column's name.
 *
 * @return the name (borrowed, valid until dbr_result_free()), or NULL when
 *   col is out of range
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API const char *dbr_result_column_name(const struct dbr_result *res,
					   size_t col);

/**
 * The index of the column called `name`, so that a row is read by column
 * name whatever order the statement selects them in. The name as written
 * first; else, so that `SELECT Name` finds `name` on every engine
 * (PostgreSQL folds unquoted names to lower case, SQLite and MariaDB keep
 * them as written), the one column whose name equals it ignoring ASCII
 * case. Several columns of the same name: the first.
 *
 * @param res a result
 * @param name the column's name (NUL-terminated)
 * @param index receives the index (0-based) on success
 * @return DBR_OK; DBR_E_NOTFOUND when no column is called name, or more
 *   than one is when case is ignored; DBR_E_MISUSE for a NULL argument
 *   or a freed result
 * Thread-safety: one thread at a time per result. Since: 0.4.
 */
DBR_API int dbr_result_column_index(const struct dbr_result *res,
				    const char *name, size_t *index);

/**
 * A column of the current row as a typed value.
 *
 * @param res the result, positioned on a row by dbr_result_next()
 * @param col the column, from 0
 * @param out receives the value; its text or blob bytes are borrowed and
 *        valid until the next dbr_result_next() or dbr_result_free()
 * @return DBR_OK, or DBR_E_MISUSE when there is no row or col is out of
 *   range
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API int dbr_result_value(struct dbr_result *res, size_t col,
			     struct dbr_value *out);

/**
 * The type of a column of the current row (DBR_TYPE_NULL when there is
 * no row or col is out of range).
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API int dbr_result_type(struct dbr_result *res, size_t col);

/**
 * A column of the current row as int64: integers as they are, doubles
 * truncated, bools 1 or 0 and timestamps their microseconds (since 0.5),
 * anything else 0.
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API int64_t dbr_result_int64(struct dbr_result *res, size_t col);

/**
 * A column of the current row as double: numbers converted (a bool as 1.0
 * or 0.0, since 0.5), anything else 0.0.
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API double dbr_result_double(struct dbr_result *res, size_t col);

/**
 * A text or blob column of the current row.
 *
 * @param len receives the length in bytes; may be NULL
 * @return the bytes (borrowed, valid until the next dbr_result_next() or
 *   dbr_result_free()), or NULL for NULL, a number, a bool, a timestamp
 *   (its text: dbr_timestamp_format()) or a bad column. Text is followed
 *   by a NUL byte not counted in len.
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API const char *dbr_result_text(struct dbr_result *res, size_t col,
				    size_t *len);

/**
 * Write a timestamp's text form, `YYYY-MM-DD HH:MM:SS.ffffff` (UTC,
 * always six fraction digits: texts sort as their times do).
 *
 * @param us UTC microseconds since 1970-01-01
 * @param buf receives the text and a NUL byte
 * @param cap bytes of buf: at least DBR_TIMESTAMP_TEXT_SIZE
 * @return DBR_OK; DBR_E_MISUSE (buf then "" when cap > 0) for a NULL
 *   buf, a cap too small, or us outside DBR_TIMESTAMP_MIN ..
 *   DBR_TIMESTAMP_MAX
 * Thread-safety: any thread. Since: 0.5.
 */
DBR_API int dbr_timestamp_format(int64_t us, char *buf, size_t cap);

/**
 * Read a timestamp from text: `YYYY-MM-DD HH:MM:SS` (or `T` between date
 * and time), then optionally `.` and 1 to 6 fraction digits, then
 * optionally a zone (`Z`, `+HH`, `+HH:MM`, `+HHMM`, `+HH:MM:SS`, or `-`),
 * whose offset is subtracted to give UTC; without a zone the time is UTC.
 * The text form dbr_timestamp_format() writes is one such spelling.
 *
 * @param s the text (need not be NUL-terminated)
 * @param len its bytes
 * @param us receives UTC microseconds since 1970-01-01
 * @return DBR_OK; DBR_E_MISUSE for a NULL argument, another spelling, a
 *   field out of range (a 30th of February) or a year outside 1000 to
 *   9999
 * Thread-safety: any thread. Since: 0.5.
 */
DBR_API int dbr_timestamp_parse(const char *s, size_t len, int64_t *us);

/**
 * Rows the statement inserted, updated or deleted (valid at DBR_DONE).
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API int64_t dbr_result_changes(const struct dbr_result *res);

/**
 * The row id of the last row the statement inserted, where the backend has
 * one (valid at DBR_DONE).
 *
 * @param id receives the id
 * @return true when the backend reported an id
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API bool dbr_result_last_insert_id(const struct dbr_result *res,
				       int64_t *id);

/**
 * The name of the source that served this result (for a fan-out: that
 * served the current row).
 *
 * @return the name, borrowed, valid until dbr_result_free() (0.1 said
 *   dbr_close(): a result will keep its configuration across a reload)
 * Thread-safety: one thread at a time per result. Since: 0.1; lifetime
 * since 0.3.
 */
DBR_API const char *dbr_result_source(const struct dbr_result *res);

/**
 * The source this result's operation was routed to, when it ran on the
 * default source instead because that source was unavailable
 * (`fallback = default`); NULL when it was not diverted.
 *
 * @return the name, borrowed, valid until dbr_result_free(), or NULL
 * Thread-safety: one thread at a time per result. Since: 0.1; lifetime
 * since 0.3.
 */
DBR_API const char *dbr_result_diverted_from(const struct dbr_result *res);

/**
 * The details of the last failed call on this result.
 *
 * @return borrowed, valid until the next call on res; before any call on
 *   res failed, a static error whose code is DBR_OK (message "no error",
 *   hint ""); for a stale result a static, fully filled error
 *   (DBR_E_MISUSE) saying so; NULL for NULL
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API const struct dbr_error *dbr_result_error(const struct dbr_result *res);

/**
 * Free a result and give its connection back to the pool (or keep it for
 * the transaction it belongs to). A stale result (freed already, also by
 * another thread at the same moment) is left alone: nothing is freed, and
 * a warning is logged (the first on a source, then every 1024th).
 *
 * @param res the result, or NULL
 * Thread-safety: one thread at a time per result. Since: 0.1.
 */
DBR_API void dbr_result_free(struct dbr_result *res);

/**
 * New fan-out options: every SQL source, rows concatenated in source
 * order, all sources queried at once, no limit, a failing source fails the
 * call.
 *
 * @param out receives the options
 * @return DBR_OK or DBR_E_NOMEM
 * Ownership: *out is owned; free it with dbr_fanout_free().
 * Thread-safety: any thread; the options are then used by one thread at a
 * time. Since: 0.1.
 */
DBR_API int dbr_fanout_new(struct dbr_fanout **out);

/**
 * Free fan-out options.
 *
 * @param f the options, or NULL
 * Thread-safety: one thread at a time per object. Since: 0.1.
 */
DBR_API void dbr_fanout_free(struct dbr_fanout *f);

/**
 * Query this source (call again for more) instead of every SQL source.
 * Sources are queried, and ties are broken, in the order the configuration
 * defines them.
 *
 * @return DBR_OK, DBR_E_NOMEM, or DBR_E_MISUSE for a NULL argument
 * Thread-safety: one thread at a time per object. Since: 0.1.
 */
DBR_API int dbr_fanout_add_source(struct dbr_fanout *f, const char *source);

/**
 * Merge the sources' rows in order of this column (call again for more
 * columns, most significant first), instead of concatenating them. The
 * statement must order each source's rows the same way, by dbroute's rule:
 * numbers numerically (integers, doubles and, since 0.5, bools as 0 and
 * 1 together), timestamps by time (since 0.5; beside text, as their text
 * form, which sorts as times do), text and blobs by bytes, NULL first
 * ascending and last descending; a source whose rows
 * arrive out of that order fails the result. See docs/fanout.md.
 *
 * @param column a column name of the result
 * @param descending true for descending order
 * @return DBR_OK, DBR_E_NOMEM, or DBR_E_MISUSE for a NULL argument
 * Thread-safety: one thread at a time per object. Since: 0.1.
 */
DBR_API int dbr_fanout_order_by(struct dbr_fanout *f, const char *column,
				bool descending);

/**
 * Return at most `limit` rows in all (0: no limit). No source is read past
 * `limit` rows; give the statement its own LIMIT too so sources stop early.
 *
 * Thread-safety: one thread at a time per object. Since: 0.1.
 */
DBR_API void dbr_fanout_set_limit(struct dbr_fanout *f, uint64_t limit);

/**
 * Set enum dbr_fanout_flags (replacing earlier ones).
 *
 * Thread-safety: one thread at a time per object. Since: 0.1.
 */
DBR_API void dbr_fanout_set_flags(struct dbr_fanout *f, unsigned flags);

/**
 * Run one statement on several sources explicitly (a fan-out) and return
 * one cursor over the merged rows. Each source runs the statement with the
 * same parameters, on one of its pooled connections, without fallback. All
 * sources must return the same number of columns. dbr_result_source()
 * names each row's source.
 *
 * With DBR_FANOUT_ALLOW_PARTIAL, a source that is unavailable or fails is
 * skipped (dbr_result_missing() says which and why) and the call fails
 * only when no source answered; otherwise any failing source fails the
 * call (or, after rows were returned, dbr_result_next()).
 *
 * @param f the options, or NULL for the defaults of dbr_fanout_new()
 * @param out receives the merged result; free it with dbr_result_free(),
 *   after which it is stale like any result (see dbr_result_next())
 * @return DBR_OK or an error status naming the source
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API int dbr_query_all(struct dbr *db, const struct dbr_fanout *f,
			  const char *sql, const struct dbr_value *params,
			  size_t nparams, struct dbr_result **out,
			  struct dbr_error *err);

/**
 * A source a fan-out skipped (DBR_FANOUT_ALLOW_PARTIAL), and why.
 *
 * @param i from 0
 * @param err receives the source's error; may be NULL
 * @return the source's name (borrowed until dbr_result_free()), or NULL
 *   when i is past the last skipped source or res is not a fan-out
 * Thread-safety: one thread at a time per result. Since: 0.1; lifetime
 * since 0.3.
 */
DBR_API const char *dbr_result_missing(const struct dbr_result *res, size_t i,
				       struct dbr_error *err);

/**
 * Begin a transaction on the source a chat is routed to. The transaction
 * pins one connection until dbr_tx_commit() or dbr_tx_rollback().
 *
 * @param out receives the transaction
 * @return DBR_OK or an error status (DBR_E_UNSUPPORTED for a driver
 *   without transactions)
 * Ownership: *out is owned; dbr_tx_commit() or dbr_tx_rollback() ends
 *   and frees it.
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API int dbr_tx_begin(struct dbr *db, int64_t chat, struct dbr_tx **out,
			 struct dbr_error *err);

/**
 * Begin a transaction on a named source (NULL: the default source).
 * Otherwise as dbr_tx_begin().
 *
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API int dbr_tx_begin_source(struct dbr *db, const char *source,
				struct dbr_tx **out, struct dbr_error *err);

/**
 * Run one statement inside a transaction. Free the previous result of the
 * transaction before the next call. Otherwise as dbr_query(), except that
 * savepoints are accepted here (SAVEPOINT, RELEASE, ROLLBACK TO; and on
 * PostgreSQL SET LOCAL, SET TRANSACTION and SET CONSTRAINTS, which end with
 * the transaction); BEGIN, COMMIT and ROLLBACK of the transaction itself
 * are still refused (use dbr_tx_commit() and dbr_tx_rollback()). A stale
 * transaction (already ended) or a result's pointer gets DBR_E_MISUSE, and
 * so do the results of a transaction once freed or once the transaction
 * ended (with the limits dbr_result_next() states).
 *
 * On a read-only PostgreSQL source the transaction begins as
 * "BEGIN READ ONLY; SELECT 1" (so that read-write mode cannot be turned
 * on), and the server then refuses SET TRANSACTION ISOLATION LEVEL ...
 * ("must be called before any query"): such a transaction keeps the
 * server's default_transaction_isolation. PostgreSQL's CREATE TEMP is
 * accepted here only (plain dbr_query() refuses it; use ON COMMIT DROP):
 * the connection is closed after the transaction ends, not pooled, as is
 * any connection whose transaction ran a statement that may leave session
 * state the server does not report (a session advisory lock, LISTEN in a
 * DO block, CALL, set_config, pg_settings).
 *
 * Thread-safety: one thread at a time per transaction. Since: 0.1.
 */
DBR_API int dbr_tx_query(struct dbr_tx *tx, const char *sql,
			 const struct dbr_value *params, size_t nparams,
			 struct dbr_result **out, struct dbr_error *err);

/**
 * dbr_tx_query() with `:name` placeholders bound by name, as
 * dbr_query_named() binds them.
 *
 * Thread-safety: one thread at a time per transaction. Since: 0.5.
 */
DBR_API int dbr_tx_query_named(struct dbr_tx *tx, const char *sql,
			       const struct dbr_param *params, size_t nparams,
			       struct dbr_result **out, struct dbr_error *err);

/**
 * Commit a transaction and free it, whatever the outcome.
 *
 * @param tx the transaction; its result must have been freed
 * @return DBR_OK, or an error status (then the transaction was rolled
 *   back or its connection lost); DBR_E_MISUSE for a NULL or stale
 *   transaction (already committed or rolled back, also by another thread
 *   at the same moment) or a result's pointer, which is left alone, and a
 *   warning is logged (the first on a source, then every 1024th)
 * Thread-safety: one thread at a time per transaction. Since: 0.1.
 */
DBR_API int dbr_tx_commit(struct dbr_tx *tx, struct dbr_error *err);

/**
 * Roll a transaction back and free it.
 *
 * @param tx the transaction, or NULL (then DBR_OK)
 * @return DBR_OK or an error status; DBR_E_MISUSE for a stale transaction
 *   (already ended, also by another thread at the same moment) or a
 *   result's pointer, which is left alone, and a warning is logged (the
 *   first on a source, then every 1024th)
 * Thread-safety: one thread at a time per transaction. Since: 0.1.
 */
DBR_API int dbr_tx_rollback(struct dbr_tx *tx, struct dbr_error *err);

/**
 * Free memory the library allocated for the caller (dbr_source_names()),
 * with the allocator it was allocated with: call it before
 * dbr_set_allocator() changes that allocator.
 *
 * @param p the memory, or NULL (then nothing happens)
 * Thread-safety: any thread. Since: 0.3.
 */
DBR_API void dbr_free(void *p);

/**
 * The names of the configured sources, in the order the configuration
 * defines them: a copy that stays valid whatever happens to db.
 *
 * @param db the handle
 * @param names receives an array of *count names followed by NULL, in one
 *        allocation (names and strings together); NULL on failure
 * @param count receives the number of names; may be NULL; 0 on failure
 * @param err error details, or NULL
 * @return DBR_OK, DBR_E_NOMEM, or DBR_E_MISUSE when db or names is NULL
 * Ownership: *names is owned; free it with one dbr_free(*names).
 * Thread-safety: any thread. Since: 0.3.
 */
DBR_API int dbr_source_names(struct dbr *db, char ***names, size_t *count,
			     struct dbr_error *err);

/**
 * What a source is (dbr_source_info()). Set `size` to
 * sizeof(struct dbr_source_info) before the call; later versions only
 * append fields, and fill no more than `size` bytes.
 */
struct dbr_source_info {
	size_t size;		  /**< sizeof(struct dbr_source_info) */
	char name[DBR_NAME_SIZE]; /**< the source's name */
	char type[DBR_NAME_SIZE]; /**< its driver's name, e.g. "sqlite" */
	/**
	 * enum dbr_source_flags, from the driver's capabilities and the
	 * configuration. SQL and key-value sources take different
	 * statements; tell them apart before sending one.
	 */
	unsigned flags;
	bool is_default; /**< the default source */
	/** the driver's version string; one too long ends in "..." */
	char driver_version[64];
	/** "built-in", or the plugin's file; a path too long for the buffer
	 * ends in "..." */
	char driver_origin[4096];
};

/**
 * What a source is: its name, type, flags and driver, copied.
 *
 * @param db the handle
 * @param source the source's name, or NULL for the default source
 * @param out receives the information; out->size must be set, to at least
 *        sizeof(struct dbr_source_info) of 0.3; only min(out->size, this
 *        library's sizeof) bytes are written, and out->size is kept
 * @param err error details, or NULL
 * @return DBR_OK, DBR_E_NOTFOUND for an unknown name, or DBR_E_MISUSE
 *   (db or out NULL, out->size too small); on failure nothing is written
 *   to out
 * Thread-safety: any thread. Since: 0.3.
 */
DBR_API int dbr_source_info(struct dbr *db, const char *source,
			    struct dbr_source_info *out, struct dbr_error *err);

/**
 * Check that a source answers: take a connection from its pool (opening
 * one if needed) and ping it when its driver can.
 *
 * @param source the source name, or NULL for the default source
 * @return DBR_OK, DBR_E_NOTFOUND, or the connection's error status
 * Thread-safety: any thread. Since: 0.1.
 */
DBR_API int dbr_source_ping(struct dbr *db, const char *source,
			    struct dbr_error *err);

/**
 * Close every idle connection of a source now (connections in use are
 * left alone and pooled as usual when given back). Pools also close
 * connections idle longer than the source's `idle_timeout` on their own,
 * when the pool is next used; this call is for tools that touch many
 * sources once (e.g. `dbroute check`) or an application going quiet.
 *
 * @param db     the handle
 * @param source a source's name, or NULL for every source
 * @param err    optional: filled on failure
 * @return DBR_OK, DBR_E_NOTFOUND for an unknown source, DBR_E_MISUSE
 *
 * Thread-safety: any thread. Since: 0.2.
 */
DBR_API int dbr_source_close_idle(struct dbr *db, const char *source,
				  struct dbr_error *err);

/**
 * A source's availability. A source becomes unavailable when a connection
 * cannot be opened, or when an operation loses its connection and one
 * immediate reconnect fails too; while unavailable, operations do not wait
 * on it but follow its fallback policy, and one operation per
 * retry_interval probes it.
 *
 * @param source the source's name, or NULL for the default source
 * @param state receives an enum dbr_source_state; may be NULL
 * @param since receives when it became unavailable (Unix seconds), 0 when
 *        available; may be NULL
 * @param last receives the last error of an operation on the source; left
 *        as it was when there was none; may be NULL
 * @return DBR_OK, DBR_E_NOTFOUND for an unknown name, or DBR_E_MISUSE when
 *   db is NULL
 * Thread-safety: any thread. Since: 0.3 (0.1 took an index).
 */
DBR_API int dbr_source_status(struct dbr *db, const char *source, int *state,
			      int64_t *since, struct dbr_error *last);

/** The kinds of operation counted apart (dbr_source_stats()). */
enum dbr_op_kind {
	DBR_OP_READ = 0,	/**< a statement of its own that reads */
	DBR_OP_WRITE = 1,	/**< a statement of its own that writes */
	DBR_OP_TRANSACTION = 2, /**< a begin or statement of a transaction */
	DBR_OP_FANOUT = 3,	/**< one source's part of a fan-out */
	DBR_OP_KINDS = 4
};

/**
 * Buckets of a latency histogram: the upper bounds are 1, 2.5, 5, 10,
 * 25, 50, 100, 250, 500 µs, 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1,
 * 2.5, 5 and 10 s (dbr_histogram_bound()), then one without a bound.
 */
#define DBR_HISTOGRAM_BUCKETS 23

/** A latency histogram (dbr_source_stats()). */
struct dbr_histogram {
	uint64_t count;	 /**< observations */
	uint64_t sum_ns; /**< their sum, in nanoseconds */
	/** Observations per bucket, not cumulative: bucket i counts those
	 * above bucket i - 1's bound and at most bucket i's. */
	uint64_t bucket[DBR_HISTOGRAM_BUCKETS];
};

/**
 * The upper bound of a histogram bucket.
 *
 * @param i a bucket, 0 to DBR_HISTOGRAM_BUCKETS - 1
 * @return the bound in nanoseconds; UINT64_MAX for the last bucket and
 *   for i out of range
 * Thread-safety: any thread. Since: 0.4.
 */
DBR_API uint64_t dbr_histogram_bound(size_t i);

/** How many chats dbr_source_stats() lists as the heaviest. */
#define DBR_TOP_CHATS 16

/**
 * One chat's load on a source, estimated: operations are sampled (one in
 * 8) into a bounded heavy-hitters sketch, so a figure may be above the
 * truth by up to a sixteenth of the source's total, and a light chat may
 * be missing; a chat with more than that share is always listed.
 */
struct dbr_chat_load {
	int64_t chat;	  /**< the chat id */
	uint64_t ops;	  /**< its operations (top_ops) */
	uint64_t time_ns; /**< its statements' time (top_time) */
};

/**
 * A source's counters and pool (dbr_source_stats()). Set `size` to
 * sizeof(struct dbr_source_stats) before the call; later versions only
 * append fields, and fill no more than `size` bytes.
 *
 * The pool numbers are read slot by slot while other threads use the
 * pool: each is a recent value, and pool_open is always pool_in_use +
 * pool_idle.
 */
struct dbr_source_stats {
	size_t size; /**< sizeof(struct dbr_source_stats) */
	/** Operations routed to the source that ran on it or failed for
	 * want of a connection, since the handle was opened. */
	uint64_t ops;
	uint64_t errors;       /**< how many of those failed */
	uint64_t diverted;     /**< routed to it, run on the default source */
	int state;	       /**< enum dbr_source_state */
	int64_t since;	       /**< unavailable since (Unix seconds), else 0 */
	uint32_t pool_max;     /**< max_connections */
	uint32_t pool_open;    /**< connections open or being opened */
	uint32_t pool_in_use;  /**< of those, held by a caller or opening */
	uint32_t pool_idle;    /**< of those, open and free */
	uint32_t pool_waiters; /**< callers waiting for a free connection */
	/* Since 0.4: the fields below are filled when out->size has room. */
	/** `[database] metrics` in effect: 0 off (ops_by_kind, routed and
	 * the top lists stay 0), 1 counters, 2 timing (the histograms and
	 * top_time too); the other fields below are counted in every mode. */
	int metrics;
	uint32_t pool_opening; /**< of pool_in_use, connections opening */
	/** Operations run on the source by enum dbr_op_kind: each statement
	 * sent (a diverted one counts here, on the source that ran it), each
	 * transaction's begin and statements, each fan-out part. */
	uint64_t ops_by_kind[DBR_OP_KINDS];
	/** Failed operations by enum dbr_status (DBR_E_CONN, ...; index 15
	 * also holds any larger code). */
	uint64_t errors_by_code[16];
	/** Routing decisions of operations the source ran, by enum
	 * dbr_route_reason (index 0 is unused). */
	uint64_t routed[8];
	uint64_t probes;	   /**< operations that probed it while down */
	int64_t state_since;	   /**< its state began (Unix seconds) */
	uint64_t connects;	   /**< connections opened */
	uint64_t connect_failures; /**< connections that failed to open */
	uint64_t discarded; /**< connections closed as unusable (lost, unclean,
			       failed a check), not for idling */
	/** From a statement's sending to its result's end (last row read, or
	 * the result freed); timing only. */
	struct dbr_histogram statement_time;
	/** From routing to holding a connection; timing only. */
	struct dbr_histogram acquire_wait;
	uint32_t ntop_ops;  /**< entries of top_ops in use */
	uint32_t ntop_time; /**< entries of top_time in use (timing only) */
	/** The heaviest chats by operations, heaviest first (estimates). */
	struct dbr_chat_load top_ops[DBR_TOP_CHATS];
	/** The heaviest chats by statement time, heaviest first. */
	struct dbr_chat_load top_time[DBR_TOP_CHATS];
};

/**
 * A source's counters, availability and pool, copied.
 *
 * @param source the source's name, or NULL for the default source
 * @param out receives the numbers; out->size must be set, to at least
 *        sizeof(struct dbr_source_stats) of 0.3; only min(out->size, this
 *        library's sizeof) bytes are written, and out->size is kept
 * @param err error details, or NULL
 * @return DBR_OK, DBR_E_NOTFOUND for an unknown name, or DBR_E_MISUSE
 *   (db or out NULL, out->size too small); on failure nothing is written
 *   to out
 * Thread-safety: any thread. Since: 0.3 (replaces dbr_source_counters()).
 */
DBR_API int dbr_source_stats(struct dbr *db, const char *source,
			     struct dbr_source_stats *out,
			     struct dbr_error *err);

/**
 * The chats whose writes were diverted from a source to the default source
 * (their rows must be moved back), in the order first seen. The source
 * remembers at most 256 chats; diverted writes of further chats are
 * counted in *beyond (a chat there may be counted more than once).
 *
 * @param source the source's name, or NULL for the default source
 * @param chats receives up to cap chat ids
 * @param n receives how many were written; may be NULL
 * @param beyond receives the count of diverted writes of chats not listed;
 *        may be NULL
 * @return DBR_OK, DBR_E_NOTFOUND for an unknown name, or DBR_E_MISUSE
 *   (db NULL, or chats NULL with cap > 0)
 * Thread-safety: any thread. Since: 0.3 (0.1 took an index).
 */
DBR_API int dbr_source_diverted_chats(struct dbr *db, const char *source,
				      int64_t *chats, size_t cap, size_t *n,
				      uint64_t *beyond);

/**
 * Write every source's metrics in the Prometheus text exposition format
 * (version 0.0.4): the numbers of dbr_source_stats() for each configured
 * source (every series present from the start, at 0), routing decisions
 * by reason, unmapped chats, and the heaviest chats over all sources.
 * docs/observability.md lists each metric. The text goes out in pieces
 * of at most a few KiB, each a whole number of lines.
 *
 * @param db    the handle
 * @param write called with each piece; returns 0 to go on, anything else
 *              to stop (dbr_metrics_write() then returns DBR_E_RESOURCE)
 * @param ud    passed to write
 * @param err   error details, or NULL
 * @return DBR_OK, DBR_E_MISUSE (db or write NULL), DBR_E_RESOURCE
 * Thread-safety: any thread; write runs on the calling thread and must
 * not call dbroute on db. Since: 0.4.
 */
DBR_API int dbr_metrics_write(struct dbr *db,
			      int (*write)(void *ud, const char *text,
					   size_t len),
			      void *ud, struct dbr_error *err);

/**
 * The name of the default source, copied.
 *
 * @param source receives the name
 * @param cap the size of `source` (DBR_NAME_SIZE holds any name)
 * @return DBR_OK, or DBR_E_MISUSE when db or source is NULL or the name
 *   does not fit (then the cap bytes are zeroed)
 * Thread-safety: any thread. Since: 0.3 (0.1 returned a borrowed name).
 */
DBR_API int dbr_default_source(struct dbr *db, char *source, size_t cap);

/**
 * Replace the allocator the core uses (for tests that inject allocation
 * failures, or an application's own allocator). Drivers keep their own.
 *
 * @param malloc_fn, realloc_fn, free_fn all three, or all NULL for the C
 *        library's
 * @return DBR_OK, or DBR_E_MISUSE when only some are given
 * Thread-safety: before other threads start, with no handle open and no
 * allocation outstanding (names from dbr_source_names() outlive their
 * handle: dbr_free() them first, or they go to the wrong free_fn).
 * Since: 0.1.
 */
DBR_API int dbr_set_allocator(void *(*malloc_fn)(size_t),
			      void *(*realloc_fn)(void *, size_t),
			      void (*free_fn)(void *));

/**
 * The audit trail's counters (dbr_audit_stats()). Set `size` to
 * sizeof(struct dbr_audit_stats); later versions only append fields.
 */
struct dbr_audit_stats {
	size_t size;	  /**< sizeof(struct dbr_audit_stats) */
	uint64_t events;  /**< events raised since the handle opened */
	uint64_t written; /**< records written to `[audit] file` */
	/** records `[audit] file` could not take (not open, full, a FIFO
	 * without a reader...): lost, each counted once */
	uint64_t failed;
};

/**
 * The audit trail's counters, copied.
 *
 * @param db the handle
 * @param out receives the counters; out->size must be set; only
 *        min(out->size, this library's sizeof) bytes are written
 * @return DBR_OK, or DBR_E_MISUSE (db or out NULL, out->size smaller
 *   than 0.4's struct)
 * Thread-safety: any thread. Since: 0.4.
 */
DBR_API int dbr_audit_stats(struct dbr *db, struct dbr_audit_stats *out);

/**
 * The name of an audit event kind ("diverted", "explicit_write",
 * "reload", "mapping"), as the audit file's "event" field.
 *
 * @return static text, or "?" for an unknown kind
 * Thread-safety: any thread. Since: 0.4.
 */
DBR_API const char *dbr_audit_kind_name(int kind);

/* Schema migrations (docs/migrations.md). */

/** Options of dbr_migrate() (struct dbr_migrate_options.flags). */
enum dbr_migrate_flags {
	/** Read every source's version and plan, write nothing: not even the
	 * version table, nor a SQLite file that does not exist yet (its
	 * files are all pending) (dbroute migrate status, --dry-run). */
	DBR_MIGRATE_DRY_RUN = 1u << 0,
	/** Go on past files changed since they were applied. */
	DBR_MIGRATE_ALLOW_CHANGED = 1u << 1,
	/** Apply nothing: record `force_version` as each named source's
	 * version (after a dirty version was repaired by hand). */
	DBR_MIGRATE_FORCE_VERSION = 1u << 2
};

/**
 * Options for dbr_migrate(). Set `size` to
 * sizeof(struct dbr_migrate_options); later versions only append fields.
 */
struct dbr_migrate_options {
	size_t size; /**< sizeof(struct dbr_migrate_options) */
	/** The sources to migrate, ended by NULL; NULL: every source. */
	const char *const *sources;
	int64_t to;	       /**< stop after this version; 0: the latest */
	int64_t force_version; /**< with DBR_MIGRATE_FORCE_VERSION */
	unsigned flags;	       /**< enum dbr_migrate_flags */
};

/** What a struct dbr_migrate_event reports. */
enum dbr_migrate_event_kind {
	DBR_MIGRATE_STRAY = 1,	     /**< a file of the folder is ignored */
	DBR_MIGRATE_APPLIED = 2,     /**< a file ran; its version is recorded */
	DBR_MIGRATE_WOULD_APPLY = 3, /**< dry run: a file would run */
	DBR_MIGRATE_NO_VARIANT = 4, /**< a number has only other types' files */
	DBR_MIGRATE_CHANGED = 5,    /**< an applied file changed since */
	DBR_MIGRATE_FAILED = 6,	    /**< a source failed (see `error`) */
	DBR_MIGRATE_SOURCE = 7,	    /**< a source's summary, once per source */
	/**
	 * A late file: never applied, numbered below the source's version
	 * (`reason` says so); it is passed by, never applied out of order
	 * (since 0.4)
	 */
	DBR_MIGRATE_LATE = 8
};

/** A source's schema state, as `dbroute migrate status` prints it. */
enum dbr_migrate_state {
	DBR_MIGRATE_OK = 1,	 /**< every file up to the target applied */
	DBR_MIGRATE_PENDING = 2, /**< files remain to apply */
	DBR_MIGRATE_DIRTY = 3,	 /**< a file failed outside a transaction */
	DBR_MIGRATE_CHANGED_FILES = 4, /**< applied files changed since */
	DBR_MIGRATE_SKIPPED = 5,       /**< read-only or not SQL */
	DBR_MIGRATE_ERROR = 6,	       /**< the version could not be read */
	/**
	 * Late files (DBR_MIGRATE_LATE) lie below the version, never
	 * applied; shown before pending (since 0.4)
	 */
	DBR_MIGRATE_LATE_FILES = 7
};

/**
 * One event of dbr_migrate(), passed to its callback. Every pointer is
 * borrowed until the callback returns. Fields are only appended; `size`
 * is this library's sizeof.
 */
struct dbr_migrate_event {
	size_t size;	    /**< sizeof(struct dbr_migrate_event) */
	int kind;	    /**< enum dbr_migrate_event_kind */
	const char *source; /**< the source, or NULL (STRAY) */
	const char *file;   /**< the file's name, or NULL (SOURCE) */
	/** The file's version; SOURCE: the source's version (0: none
	 * applied, -1: skipped or unknown). */
	int64_t version;
	int state;	/**< SOURCE: enum dbr_migrate_state */
	size_t pending; /**< SOURCE: files left to apply */
	size_t changed; /**< SOURCE: applied files changed since */
	/** STRAY, LATE, SOURCE skipped: why; SOURCE of a dry run on a
	 * database that does not exist (every file pending): "the database
	 * does not exist yet" (since 0.4); else NULL. */
	const char *reason;
	/** FAILED, and SOURCE of a source that failed: the error, whose
	 * message names the source and, for a statement, FILE:LINE; else
	 * NULL. */
	const struct dbr_error *error;
};

/**
 * A callback of dbr_migrate(): called on the calling thread, in order.
 * It must not call dbr_close() on the handle.
 */
typedef void (*dbr_migrate_fn)(void *ud, const struct dbr_migrate_event *ev);

/**
 * Bring every writable SQL source (or the sources named in opts) to the
 * latest version (or opts->to) of the migration files in `dir`: files
 * named NNNN_name.sql, or NNNN_name.TYPE.sql for sources of driver type
 * TYPE only, applied in increasing order of their numbers, each once per
 * source. Read-only and key-value sources are skipped.
 *
 * The whole folder is read and each file split into statements (in the
 * lexical dialect of the source's driver) before anything runs on a
 * source; a file that cannot be split or that holds transaction control
 * fails that source. On drivers with transactional DDL each file runs in
 * one transaction that also writes its version row, so a failing file
 * leaves the source at the previous version. A file that begins with the
 * line `-- dbroute: no-transaction`, or any file on other drivers, runs
 * statement by statement: a failure leaves the version dirty (at
 * FILE:LINE), and the source is refused until the operator repairs it and
 * forces the version (DBR_MIGRATE_FORCE_VERSION). A file changed after it
 * was applied stops the source unless DBR_MIGRATE_ALLOW_CHANGED. A late
 * file (never applied, numbered below the source's version) is never
 * applied out of order: it is reported (DBR_MIGRATE_LATE; without a
 * callback, logged as a warning). Versions
 * are kept per source in the table dbroute_schema_version. Two processes
 * migrating one source at once apply each file once.
 *
 * A failing source does not stop the others; the call returns the first
 * failure. The sources' summaries reach the callback as
 * DBR_MIGRATE_SOURCE events, one per source, in configuration order.
 *
 * @param db the handle
 * @param dir the folder of migration files
 * @param opts options, or NULL for the defaults (every source, latest);
 *   opts->size may be any size from 0.3's struct (up to `flags`) to this
 *   one's: fields past it read as zero
 * @param fn the callback, or NULL
 * @param ud passed to fn
 * @param err the first failure, or NULL
 * @return DBR_OK when every source ended ok or skipped; DBR_E_MISUSE for
 *   bad arguments (DBR_MIGRATE_FORCE_VERSION without named sources or
 *   with DBR_MIGRATE_DRY_RUN, a negative version); DBR_E_NOTFOUND for an unknown source name;
 *   DBR_E_CONFIG for a folder that cannot be read or two files of one
 *   number and type; else the first source's failure (DBR_E_STMT for a
 *   file refused when planning, a changed file or a dirty version)
 * Thread-safety: any thread (run it once per folder at a time in one
 *   process). Since: 0.3.
 */
DBR_API int dbr_migrate(struct dbr *db, const char *dir,
			const struct dbr_migrate_options *opts,
			dbr_migrate_fn fn, void *ud, struct dbr_error *err);

/** One statement of a script (dbr_script_split()). */
struct dbr_script_stmt {
	size_t start;	 /**< its first byte in the text */
	size_t end;	 /**< after its last byte, its ';' not included */
	unsigned line;	 /**< the line it starts on, from 1 */
	bool tx_control; /**< BEGIN, COMMIT, SAVEPOINT and the like */
};

/**
 * Split a script into its statements as a source's driver reads its
 * dialect (quotes, comments, dollar quotes, trigger bodies: see
 * docs/migrations.md). A UTF-8 byte-order mark at the start is skipped.
 * Used by `dbroute query -f`; dbr_migrate() splits its files the same way.
 *
 * @param db the handle
 * @param source the source whose dialect applies, or NULL for the default
 * @param text the script; text[len] must be a NUL byte
 * @param len its length in bytes
 * @param stmts receives *n statements in order (NULL when there is none)
 * @param n receives the number of statements (0 on failure)
 * @param err error details, or NULL: a script that cannot be split fails
 *   with DBR_E_STMT, err->source the source, its message "line N: why"
 *   (N the line where the culprit opens, from 1; why: an unterminated
 *   quoted string, a NUL byte...)
 * @return DBR_OK, DBR_E_STMT, DBR_E_NOTFOUND, DBR_E_UNSUPPORTED (a source
 *   that is not SQL), DBR_E_NOMEM or DBR_E_MISUSE
 * Ownership: *stmts is owned; free it with dbr_free().
 * Thread-safety: any thread. Since: 0.3.
 */
DBR_API int dbr_script_split(struct dbr *db, const char *source,
			     const char *text, size_t len,
			     struct dbr_script_stmt **stmts, size_t *n,
			     struct dbr_error *err);

/**
 * The name of a migration state ("ok", "pending", "dirty", "changed",
 * "skipped", "error", "late").
 *
 * @return static text, or "?" for an unknown state
 * Thread-safety: any thread. Since: 0.3.
 */
DBR_API const char *dbr_migrate_state_name(int state);

/* The mapping store (docs/operations.md, "The mapping store"). */

/** One chat's row of the store's mapping (dbr_mapping_read()). */
struct dbr_mapping_entry {
	int64_t chat;		    /**< the chat id */
	int64_t version;	    /**< the change that set the row */
	char source[DBR_NAME_SIZE]; /**< the source the chat is mapped to */
};

/** One row of the store's change log (dbr_mapping_changes()). */
struct dbr_mapping_change {
	int64_t version; /**< 1, 2, 3 ...: one per change, no gaps */
	int64_t at_ms;	 /**< when, Unix milliseconds (the actor's clock) */
	int64_t chat;	 /**< the chat changed */
	/** the chat's new source, "" when its row was removed (unset) */
	char source[DBR_NAME_SIZE];
	const char *actor;  /**< who: "user@host:pid" */
	const char *reason; /**< why, as the actor gave it */
};

/** A chat the INI file and the store map apart (dbr_mapping_compare()). */
struct dbr_mapping_conflict {
	int64_t chat;		   /**< the chat id */
	char ini[DBR_NAME_SIZE];   /**< its source in [chat_mapping] */
	char store[DBR_NAME_SIZE]; /**< its source in the store */
};

/** A process that records itself in the store (dbr_mapping_clients()). */
struct dbr_mapping_client {
	const char *client_id; /**< unique per handle: "host:pid:n" */
	const char *host;      /**< the machine's name */
	int64_t pid;	       /**< the process id */
	int64_t version_seen;  /**< the store version its routing holds */
	int64_t seen_ms;       /**< its last heartbeat, Unix milliseconds */
};

/** Options of dbr_mapping_import(). */
enum dbr_mapping_import_flags {
	/** Overwrite the store's rows that the INI file maps elsewhere. */
	DBR_MAPPING_REPLACE = 1u << 0
};

/**
 * Create the store's tables on the `[mapping] store` source: dbroute_meta,
 * dbroute_mapping, dbroute_changes and dbroute_clients (docs/operations.md
 * lists their columns). Idempotent; no other table is touched.
 * dbr_mapping_set() and dbr_mapping_import() create them too when missing.
 *
 * @param db the handle
 * @param err error details, or NULL
 * @return DBR_OK; DBR_E_CONFIG when the configuration has no [mapping]
 *   store or the store's schema is newer than this library knows; the
 *   store source's error otherwise
 * Thread-safety: any thread. Since: 0.4.
 */
DBR_API int dbr_mapping_init(struct dbr *db, struct dbr_error *err);

/**
 * Read the store's mapping, whole or filtered, and the store's version it
 * is the state of (consistent: no change lies half in it).
 *
 * @param db the handle
 * @param chat only this chat's row; NULL for every chat
 * @param source only rows of this source; NULL for every source
 * @param rows receives *n rows by chat id (NULL when there is none)
 * @param n receives the number of rows
 * @param version receives the store's version (0: no change yet); may be
 *        NULL
 * @param err error details, or NULL
 * @return DBR_OK, DBR_E_CONFIG (no [mapping] store), DBR_E_NOMEM,
 *   DBR_E_MISUSE, or the store source's error (DBR_E_STMT when the
 *   tables do not exist: run dbr_mapping_init())
 * Ownership: *rows is owned; free it with dbr_free().
 * Thread-safety: any thread. Since: 0.4.
 */
DBR_API int dbr_mapping_read(struct dbr *db, const int64_t *chat,
			     const char *source,
			     struct dbr_mapping_entry **rows, size_t *n,
			     int64_t *version, struct dbr_error *err);

/**
 * Read the store's change log after a version: the audit of every routing
 * change, and what a process holding version `since` must apply to catch
 * up.
 *
 * @param db the handle
 * @param since only changes of a later version (0: all)
 * @param chat only this chat's changes; NULL for every chat
 * @param changes receives *n changes by version (NULL when there is none)
 * @param n receives the number of changes
 * @param err error details, or NULL
 * @return as dbr_mapping_read()
 * Ownership: *changes is owned, its strings with it; free it with
 *   dbr_free().
 * Thread-safety: any thread. Since: 0.4.
 */
DBR_API int dbr_mapping_changes(struct dbr *db, int64_t since,
				const int64_t *chat,
				struct dbr_mapping_change **changes, size_t *n,
				struct dbr_error *err);

/**
 * Map a chat to a source in the store, or remove its row, in one store
 * transaction that also appends the change (the next version, the actor
 * user@host:pid and the reason) to the change log.
 *
 * Refused while the chat has rows on the source it is routed to now (the
 * store's row, else [chat_mapping], else the default): its rows would be
 * stranded there. The tables searched are the [table.NAME] sections, or
 * without them every table of the source that has a column named
 * [move] chat_column (default chat_id), as its database's catalog lists
 * them; dbroute's own tables (dbroute_*, _dbroute_*) never count. Until
 * the chat-move command exists, a process that has not yet seen the
 * change may still write the chat's first rows to the old source.
 *
 * A chat routed to `source` already changes nothing (*version is 0).
 *
 * @param db the handle
 * @param chat the chat id
 * @param source the new source (one of this configuration's), or NULL to
 *        remove the chat's row from the store (the chat is then routed by
 *        [chat_mapping] or to the default source)
 * @param reason why, recorded in the change log (required, not empty)
 * @param version receives the change's version, or 0 when nothing
 *        changed; may be NULL
 * @param err error details, or NULL
 * @return DBR_OK; DBR_E_CONSTRAINT when the chat has rows on its current
 *   source (err names a table); DBR_E_NOTFOUND for an unknown source (the
 *   new one, or the current one the store names); DBR_E_UNSUPPORTED when
 *   the current source cannot list its tables and no [table.NAME] names
 *   them (a key-value source); DBR_E_CONFIG (no [mapping] store);
 *   DBR_E_MISUSE; or a source's error
 * Thread-safety: any thread; any number of processes at once (versions
 *   stay gapless, one change-log row per change). Since: 0.4.
 */
DBR_API int dbr_mapping_set(struct dbr *db, int64_t chat, const char *source,
			    const char *reason, int64_t *version,
			    struct dbr_error *err);

/**
 * Which chats [chat_mapping] and the store map to different sources
 * (`dbroute check` warns about them). Chats only one of them maps are not
 * listed.
 *
 * @param conflicts receives *n conflicts by chat id (NULL when none)
 * @param n receives the number of conflicts
 * @return as dbr_mapping_read()
 * Ownership: *conflicts is owned; free it with dbr_free().
 * Thread-safety: any thread. Since: 0.4.
 */
DBR_API int dbr_mapping_compare(struct dbr *db,
				struct dbr_mapping_conflict **conflicts,
				size_t *n, struct dbr_error *err);

/**
 * Read every [table.NAME] table (and its chat column) on source `source`,
 * as dbr_mapping_set() reads them to tell whether a chat has rows there,
 * without looking for any chat: DBR_OK when each can be read (or there is
 * no [table.NAME] section), else the error of the first that cannot, its
 * message naming the section. `dbroute check` warns with it.
 *
 * @return DBR_OK, DBR_E_NOTFOUND (no such source), DBR_E_UNSUPPORTED (not
 *         an SQL source), DBR_E_MISUSE, or the source's error
 * Thread-safety: any thread. Since: 0.4.
 */
DBR_API int dbr_mapping_check_tables(struct dbr *db, const char *source,
				     struct dbr_error *err);

/**
 * Copy [chat_mapping] into the store, in one store transaction, one
 * change-log row (and version) per chat added or changed, each with the
 * reason. Chats the store maps the same way are left alone. A chat the
 * store maps elsewhere is a conflict: the import is refused and nothing
 * written, unless DBR_MAPPING_REPLACE, which overwrites them (as
 * dbr_mapping_set() would: refused while the chat has rows on the
 * store's source).
 *
 * @param flags enum dbr_mapping_import_flags
 * @param reason recorded in the change log (required, not empty)
 * @param imported receives the number of chats written; may be NULL
 * @param conflicts receives the conflicts found (with or without
 *        DBR_MAPPING_REPLACE), or NULL when none; may be NULL
 * @param nconflicts receives their number; may be NULL
 * @return DBR_OK; DBR_E_CONSTRAINT when conflicts refused the import;
 *   otherwise as dbr_mapping_set()
 * Ownership: *conflicts is owned; free it with dbr_free().
 * Thread-safety: any thread. Since: 0.4.
 */
DBR_API int dbr_mapping_import(struct dbr *db, unsigned flags,
			       const char *reason, size_t *imported,
			       struct dbr_mapping_conflict **conflicts,
			       size_t *nconflicts, struct dbr_error *err);

/**
 * The processes that recorded themselves in the store, by client id.
 *
 * @param clients receives *n clients (NULL when none)
 * @param n receives the number of clients
 * @return as dbr_mapping_read()
 * Ownership: *clients is owned, its strings with it; free it with
 *   dbr_free().
 * Thread-safety: any thread. Since: 0.4.
 */
DBR_API int dbr_mapping_clients(struct dbr *db,
				struct dbr_mapping_client **clients, size_t *n,
				struct dbr_error *err);

/** What a handle's routing holds of the store (dbr_mapping_status()). */
struct dbr_mapping_status {
	/** 1 once the first snapshot of the store's table has loaded; until
	 *  then chat operations fail with DBR_E_NOTLOADED */
	int loaded;
	/** the refresher's last read of the store: DBR_OK, or its error code
	 *  (the store is down: routing keeps the snapshot held) */
	int last_error;
	int64_t version; /**< the store version routing holds (0: none) */
	/** milliseconds since the store last confirmed that version (the
	 *  refresher's last successful read), -1 before the first load */
	int64_t age_ms;
	int64_t poll_interval_ms; /**< [mapping] poll_interval */
	/** 1 while a connection of the refresher's own listens for the
	 *  store's change signal (PostgreSQL LISTEN/NOTIFY, SQLite's data
	 *  version); 0: it polls every poll_interval alone */
	int signalling;
	/** the last failure's message when last_error is not DBR_OK */
	char message[DBR_ERROR_MESSAGE_SIZE];
	uint64_t reserved[8]; /**< zero; room for fields to come */
};

/**
 * What routing holds of the mapping store: whether the first snapshot has
 * loaded, its version and age, and whether the store answers now. A
 * handle with a store keeps it current in a thread of its own (every
 * [mapping] poll_interval, sooner when the store signals a change); when
 * the store cannot be read routing goes on with the snapshot held, and
 * its age grows (docs/operations.md, "When the store is down").
 *
 * @param db the handle
 * @param st receives the status
 * @param err error details, or NULL
 * @return DBR_OK; DBR_E_CONFIG when the configuration has no [mapping]
 *   store; DBR_E_MISUSE for a NULL argument
 * Thread-safety: any thread; never waits for the store. Since: 0.4.
 */
DBR_API int dbr_mapping_status(struct dbr *db, struct dbr_mapping_status *st,
			       struct dbr_error *err);

/* Moving a chat to another source (docs/moving-chats.md): the plan, the
 * discovery of chat tables, and the row digest that verifies a copy. */

/** One column of a chat table in a move plan. */
struct dbr_move_column {
	const char *name;     /**< as the source's catalog has it */
	const char *type;     /**< its declared type on the source, or "" */
	const char *dst_type; /**< on the destination, "" when it lacks it */
	/** its portable class on the source: "integer", "real", "text",
	 *  "blob" or "other" (static text) */
	const char *cls;
	uint32_t pk;	      /**< position in the primary key from 1, or 0 */
	uint32_t reserved32;  /**< zero */
	uint64_t reserved[2]; /**< zero; room for fields to come */
};

/** One table that holds the chat's rows, in a move plan. */
struct dbr_move_table {
	/** the table as SQL names it on the source: quoted, and
	 *  schema-qualified when the catalog lists it in a schema */
	const char *name;
	/** the same table on the destination, quoted; "" when missing */
	const char *dst_name;
	const char *chat_column; /**< its chat column, quoted */
	/** the chat's rows in it on the source when planned (the
	 *  estimate); -1 when the source lacks the table */
	int64_t rows;
	int has_pk; /**< 1 when it has a primary key on the source */
	/** what differs on the destination or is not portable (the
	 *  column named), or NULL when the table passed every check */
	const char *problem;
	const struct dbr_move_column *columns; /**< in declared order */
	size_t ncolumns;
	uint64_t reserved[4]; /**< zero; room for fields to come */
};

/** A chat move's plan (dbr_move_plan()); read only. */
struct dbr_move_plan {
	int64_t chat;		  /**< the chat to move */
	char from[DBR_NAME_SIZE]; /**< the source it lives on now */
	char to[DBR_NAME_SIZE];	  /**< the destination */
	/** "online" (copy while the chat is written, then a short write
	 *  fence) or "blocking" (the chat's writes held for the whole
	 *  copy); static text */
	const char *mode;
	const char *mode_reason; /**< why that mode; static text */
	int64_t rows;		 /**< the chat's rows, all tables (estimate) */
	/** DBR_OK when every check passed; else the refusal's status
	 *  (DBR_E_CONSTRAINT) and `message` its reason */
	int status;
	char message[DBR_ERROR_MESSAGE_SIZE];
	const struct dbr_move_table *tables; /**< the chat's tables */
	size_t ntables;
	uint64_t reserved[8]; /**< zero; room for fields to come */
};

/**
 * Plan moving a chat from the source it lives on now (the mapping store's
 * row, else [chat_mapping], else the default source) to `to`, and check
 * that the move can run; nothing is written anywhere.
 *
 * The chat's tables are those dbr_mapping_set() searches ([table.NAME]
 * sections, else every table with a [move] chat_column column). Each must
 * exist on the destination with the same columns (names as written, else
 * the only one ignoring case) and the same primary key, and each column
 * must hold the same values on both: PostgreSQL to PostgreSQL the exact
 * declared type; SQLite to SQLite the same class; across engines the same
 * portable class (integer, real as double precision, text, blob), any
 * other type refused (numeric, decimal, single-precision real, boolean,
 * dates and times, JSON, a SQLite column without a declared type). A
 * table without a primary key can only move in blocking mode. The chat's
 * rows are counted on the source (the estimate).
 *
 * @param db the handle (its configuration has a [mapping] store)
 * @param chat the chat id
 * @param to the destination source's name
 * @param plan receives the plan: on DBR_OK, and on DBR_E_CONSTRAINT (a
 *        refused plan: `status`, `message` and each table's `problem`
 *        say what differs); NULL otherwise
 * @param err error details, or NULL
 * @return DBR_OK; DBR_E_CONSTRAINT when a check refused the move (err
 *   names the table and column); DBR_E_CONFIG without a [mapping] store;
 *   DBR_E_NOTFOUND for an unknown destination, or a current source this
 *   configuration lacks; DBR_E_UNSUPPORTED when a side is not an SQL
 *   source, nor a SQLite or PostgreSQL one (MySQL quotes names
 *   otherwise), or its driver cannot list its tables; DBR_E_MISUSE (NULL
 *   arguments, or the chat already lives on `to`); a source's error
 * Ownership: *plan is owned; free it with dbr_move_plan_free().
 * Thread-safety: any thread. Since: 0.5.
 */
DBR_API int dbr_move_plan(struct dbr *db, int64_t chat, const char *to,
			  struct dbr_move_plan **plan, struct dbr_error *err);

/**
 * Free a plan of dbr_move_plan(); NULL is ignored.
 * Thread-safety: one thread at a time per plan. Since: 0.5.
 */
DBR_API void dbr_move_plan_free(struct dbr_move_plan *plan);

/** What a table is to chat moves (struct dbr_move_found.kind). */
enum dbr_move_table_kind {
	DBR_MOVE_CHAT = 1,  /**< holds chats' rows, has a primary key */
	DBR_MOVE_NO_PK = 2, /**< holds chats' rows, has no primary key:
			     *   only blocking mode can move it */
	DBR_MOVE_GLOBAL = 3 /**< holds no chat's rows: never moved */
};

/** One table of a source, as chat moves see it (dbr_move_discover()). */
struct dbr_move_found {
	const char *table;	 /**< quoted as SQL names it */
	const char *chat_column; /**< quoted; NULL for a global table */
	/** the primary key's columns in key order, comma-separated, ""
	 *  when it has none */
	const char *primary_key;
	int kind;	      /**< enum dbr_move_table_kind */
	uint64_t reserved[2]; /**< zero; room for fields to come */
};

/**
 * List the tables of a source as a chat move sees them: the chat tables
 * (as dbr_mapping_set() finds them), those of them without a primary key,
 * and the global tables (every other table but dbroute's own). A
 * [table.NAME] table the catalog does not list is a chat table without a
 * primary key.
 *
 * @param db the handle
 * @param source the source's name, NULL for the default source
 * @param found receives *n tables: chat tables first, then global ones
 *        (NULL when there is none)
 * @param n receives their number
 * @param err error details, or NULL
 * @return DBR_OK; DBR_E_NOTFOUND (no such source); DBR_E_UNSUPPORTED (not
 *   an SQL source, or its driver cannot list its tables); DBR_E_MISUSE;
 *   the source's error
 * Ownership: *found is owned, its strings with it; free it with
 *   dbr_free().
 * Thread-safety: any thread. Since: 0.5.
 */
DBR_API int dbr_move_discover(struct dbr *db, const char *source,
			      struct dbr_move_found **found, size_t *n,
			      struct dbr_error *err);

/** The digest of a chat's rows in one table (dbr_move_digest()). */
struct dbr_move_digest {
	int64_t rows;  /**< the rows digested */
	uint64_t sum;  /**< the rows' hashes added, modulo 2^64 */
	uint64_t xor ; /**< the rows' hashes xor-ed */
};

/**
 * Digest a chat's rows in one table of a source, so that two sources'
 * copies can be compared without moving them: equal digests mean the
 * same rows (to a 64-bit keyed hash), whatever their order and engine.
 * Each row's values, in the order of their column names (ASCII case
 * ignored), are encoded canonically (a type tag; an integer and a
 * timestamp as 8 bytes big-endian; a double by its IEEE bits, -0.0 as 0.0
 * and every NaN as one; a bool as one byte; text and blobs as an 8-byte
 * length and their bytes; any NULL as its tag alone) and hashed
 * with SipHash-2-4 under `key` (libsodium's crypto_shorthash).
 *
 * @param db the handle
 * @param source the source's name, NULL for the default source
 * @param table one of the source's chat tables (dbr_move_discover()):
 *        as SQL names it (quoted), or its plain name (TABLE or
 *        SCHEMA.TABLE)
 * @param chat the chat whose rows are digested
 * @param key 16 bytes of key; NULL for 16 zero bytes
 * @param out receives the digest
 * @param err error details, or NULL
 * @return DBR_OK; DBR_E_NOTFOUND (no such source, or the table is not
 *   one of its chat tables); DBR_E_UNSUPPORTED (not an SQL source, or a
 *   value of a type the digest cannot encode); DBR_E_MISUSE; the
 *   source's error
 * Thread-safety: any thread. Since: 0.5.
 */
DBR_API int dbr_move_digest(struct dbr *db, const char *source,
			    const char *table, int64_t chat,
			    const unsigned char *key,
			    struct dbr_move_digest *out, struct dbr_error *err);

/** A chat move's progress and outcome (dbr_move_status()). */
struct dbr_move_status {
	size_t size;		  /**< set to sizeof(struct dbr_move_status) */
	int64_t move_id;	  /**< the move */
	int64_t chat;		  /**< the chat it moves */
	char from[DBR_NAME_SIZE]; /**< the source it moves from */
	char to[DBR_NAME_SIZE];	  /**< the destination */
	/** "capturing", "copying", "catching_up", "fenced", "switched",
	 *  "aborted" or "failed" (docs/moving-chats.md) */
	char state[16];
	int64_t token;	     /**< the mover's fencing token */
	int64_t rows_copied; /**< rows written to the destination so far */
	/** captured changes read and not applied yet (progress callback
	 *  only; 0 from the store) */
	int64_t backlog;
	/** the chat's writes held, in milliseconds (fence set to switch
	 *  committed); -1 until switched */
	int64_t pause_ms;
	int32_t attempts;   /**< fence attempts so far */
	int32_t reserved32; /**< zero */
	int64_t started_ms; /**< when it started (ms since 1970) */
	int64_t updated_ms; /**< its row's last change */
	char error[DBR_ERROR_MESSAGE_SIZE]; /**< why it aborted, or "" */
	uint64_t reserved[8];		    /**< zero */
};

/** Options of dbr_move_start() and dbr_move_run(); NULL for defaults. */
struct dbr_move_options {
	size_t size;	/**< set to sizeof(struct dbr_move_options) */
	unsigned flags; /**< zero: none yet */
	/** called from the calling thread after each batch and state
	 *  change; must not call back into the move; NULL for none */
	void (*progress)(void *ud, const struct dbr_move_status *st);
	void *ud;	      /**< passed to progress */
	uint64_t reserved[4]; /**< zero */
};

/**
 * Start moving a chat to source `to` (online mode, SQLite and PostgreSQL
 * sides): plan it (dbr_move_plan(); a refused plan is refused), record
 * the move in the store's dbroute_moves (refused while the chat has
 * another live move, which is named), and install the capture on the
 * chat's source: its writes are recorded from then on. The destination
 * must hold none of the chat's rows.
 *
 * @param db the handle (its configuration has a [mapping] store)
 * @param chat the chat id
 * @param to the destination source's name
 * @param opts options, or NULL
 * @param move_id receives the move's id
 * @param err error details, or NULL
 * @return DBR_OK; DBR_E_CONSTRAINT (a refused plan, another live move,
 *   rows of the chat on the destination); DBR_E_UNSUPPORTED (a table
 *   without a primary key: blocking mode is not built); the errors of
 *   dbr_move_plan(); a source's or the store's error (the capture is
 *   then removed and the move recorded as aborted)
 * Thread-safety: any thread. Since: 0.5.
 */
DBR_API int dbr_move_start(struct dbr *db, int64_t chat, const char *to,
			   const struct dbr_move_options *opts,
			   int64_t *move_id, struct dbr_error *err);

/**
 * Run a started move to its switch: copy the chat's rows in keyset
 * batches ([move] batch_rows), apply the captured changes until few are
 * left, fence the chat on its source ([move] fence_timeout), apply the
 * last ones, compare every table's digest on both sides, advance the
 * destination's sequences, switch the source's fence to `moved` (only
 * while the fence holds), then map the chat to the destination in the
 * store (one change, reason "move N"). A fence that expires first is
 * lifted and the attempt retried, [move] max_attempts times. On any
 * failure before the switch the move is undone (capture removed, the
 * copied rows deleted on the destination) and recorded as aborted.
 *
 * @param db the handle
 * @param move_id a move of dbr_move_start() in state "copying"
 * @param opts options (the progress callback), or NULL
 * @param err error details, or NULL
 * @return DBR_OK once switched; DBR_E_MOVING when every attempt's fence
 *   expired ("chat too busy"; aborted, retry later); DBR_E_CONSTRAINT
 *   (an id collision, text the destination cannot hold, digests that
 *   differ: the table and key named; aborted); DBR_E_NOTFOUND (no such
 *   move); DBR_E_MISUSE (a move not in state "copying"); a source's or
 *   the store's error
 * Thread-safety: any thread; one run per move. Since: 0.5.
 */
DBR_API int dbr_move_run(struct dbr *db, int64_t move_id,
			 const struct dbr_move_options *opts,
			 struct dbr_error *err);

/**
 * Abort a move that has not switched: remove its capture and fence row
 * on the source, delete the chat's rows on the destination, record it as
 * aborted. An aborted move is left as it is.
 *
 * @return DBR_OK; DBR_E_NOTFOUND; DBR_E_MISUSE (a switched move); a
 *   source's or the store's error
 * Thread-safety: any thread, not during the move's run. Since: 0.5.
 */
DBR_API int dbr_move_abort(struct dbr *db, int64_t move_id,
			   struct dbr_error *err);

/**
 * A move's record in the store.
 *
 * @param db the handle
 * @param move_id the move
 * @param st receives it; set st->size first (fields past it are not
 *        written)
 * @param err error details, or NULL
 * @return DBR_OK; DBR_E_NOTFOUND (no such move); DBR_E_CONFIG (no
 *   [mapping] store); DBR_E_MISUSE; the store's error
 * Thread-safety: any thread. Since: 0.5.
 */
DBR_API int dbr_move_status(struct dbr *db, int64_t move_id,
			    struct dbr_move_status *st, struct dbr_error *err);

/**
 * Every move the store records, by move id.
 *
 * @param moves receives *n records (NULL when there is none)
 * @return DBR_OK; DBR_E_CONFIG (no [mapping] store); the store's error
 * Ownership: *moves is owned; free it with dbr_free().
 * Thread-safety: any thread. Since: 0.5.
 */
DBR_API int dbr_move_list(struct dbr *db, struct dbr_move_status **moves,
			  size_t *n, struct dbr_error *err);

#ifdef __cplusplus
}
#endif

#endif /* DBROUTE_H */
