/*
 * dbroute_driver.h - the driver ABI of dbroute.
 *
 * A driver is a table of calls (struct dbr_driver) returned by one entry
 * function. Plugins export it as `dbr_driver_entry`; the built-in SQLite
 * driver goes through the same entry type under an internal name. The core
 * reaches the driver only through the table; the driver reaches the core
 * only through struct dbr_host. This is the only header a driver includes.
 *
 * Versioning: DBR_ABI_VERSION is MAJOR << 16 | MINOR. The core refuses a
 * driver of another major and accepts one of another minor: calls appended
 * after the driver's struct_size read as NULL. Calls are only ever appended,
 * each group marked with the minor that added it. The three structs a
 * driver hands the core each carry the size it was built with, so each may
 * grow by appending: struct dbr_driver (struct_size), every entry of its
 * option array (option_size, the array's stride) and struct
 * dbr_driver_conn (struct_size). See docs/abi.md.
 *
 * Threads: calls on one connection never overlap; calls on different
 * connections may run in parallel. The entry function runs once per
 * process, under the core's lock: a loaded driver is never unloaded, and
 * a type is served by one plugin file per process.
 */
#ifndef DBROUTE_DRIVER_H
#define DBROUTE_DRIVER_H

#include "dbroute.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DBR_ABI_MAJOR	2
#define DBR_ABI_MINOR	2
#define DBR_ABI_VERSION ((uint32_t)(DBR_ABI_MAJOR << 16 | DBR_ABI_MINOR))

/** The symbol a plugin exports. */
#define DBR_DRIVER_ENTRY_SYMBOL "dbr_driver_entry"

/** Marks a plugin's entry function as its one exported symbol. */
#if defined(__GNUC__)
#define DBR_DRIVER_EXPORT __attribute__((visibility("default")))
#else
#define DBR_DRIVER_EXPORT
#endif

/** What a driver can do (struct dbr_driver.caps). */
enum dbr_driver_caps {
	DBR_CAP_SQL = 1u << 0, /**< statements are SQL */
	DBR_CAP_KV = 1u << 1,  /**< statements are key-value commands */
	DBR_CAP_TRANSACTIONS = 1u << 2, /**< begin / commit / rollback work */
	DBR_CAP_READONLY = 1u << 3,	/**< `readonly = true` is enforced */
	/**
	 * DDL (CREATE, ALTER, DROP) inside a transaction is rolled back with
	 * it: a migration file runs in one transaction (ABI 2.0).
	 */
	DBR_CAP_TRANSACTIONAL_DDL = 1u << 4
};

/**
 * The lexical forms of a driver's SQL dialect beyond standard SQL
 * (struct dbr_driver.lex_flags), for the statement splitter, so that it
 * never splits inside a string, comment or body of the dialect. Standard
 * SQL ('' strings, "" identifiers, -- and block comments) needs no flag.
 */
enum dbr_lex_flags {
	DBR_LEX_DOLLAR_QUOTES = 1u << 0,     /**< PostgreSQL $tag$ ... $tag$ */
	DBR_LEX_E_STRINGS = 1u << 1,	     /**< PostgreSQL E'..' strings */
	DBR_LEX_BACKSLASH_ESCAPES = 1u << 2, /**< MySQL: backslash escapes */
	DBR_LEX_HASH_COMMENTS = 1u << 3,     /**< MySQL # comments */
	DBR_LEX_BACKTICK_IDS = 1u << 4,	     /**< MySQL, SQLite `ids` */
	DBR_LEX_TRIGGER_BODIES = 1u << 5, /**< SQLite CREATE TRIGGER .. END */
	DBR_LEX_NESTED_COMMENTS = 1u
				  << 6, /**< PostgreSQL: block comments nest */
	DBR_LEX_BRACKET_IDS = 1u << 7,	/**< SQLite [ids] */
	/** MySQL: -- opens a comment only before a blank or a control
	 * character (2--1 is 2 - -1); ABI 2.1 */
	DBR_LEX_DASH_NEEDS_BLANK = 1u << 8
};

/** The kind of a declared option's value. */
enum dbr_option_kind {
	DBR_OPT_TEXT = 1,    /**< any text */
	DBR_OPT_INT = 2,     /**< a signed 64-bit integer within min..max */
	DBR_OPT_SECONDS = 3, /**< seconds, decimals allowed, within min..max */
	DBR_OPT_BOOL = 4,    /**< true/false, yes/no, on/off, 1/0 */
	DBR_OPT_PATH = 5,    /**< a file path; relative to the INI's folder */
	DBR_OPT_ENUM = 6,    /**< one of `choices` ("a|b|c") */
	/**
	 * Native extensions of the backend's library: `path[:entry], ...`,
	 * each path relative to the INI's folder and checked as a plugin is
	 * (host check_extension) when the configuration loads. opt_text
	 * gives one line per file: its path, then a tab and the entry when
	 * one is given. (ABI 2.0.)
	 */
	DBR_OPT_EXTENSIONS = 7
};

/**
 * How a connection is opened (open_with_flags(), ABI 2.1). A driver that
 * has open_with_flags honours every flag below.
 */
enum dbr_open_flags {
	/**
	 * Open the database only if it exists, and write nothing while
	 * opening: no database or file created, no setting of the database
	 * changed (SQLite: its journal mode). A database that does not exist
	 * fails with DBR_E_NOTFOUND. The core opens such a connection to read
	 * without writing (`dbroute migrate status`), closes it after, and
	 * never pools it.
	 */
	DBR_OPEN_NO_CREATE = 1u << 0
};

/** Flags of a declared option. */
enum dbr_option_flags {
	DBR_OPT_REQUIRED = 1u << 0 /**< the source must set it */
};

/**
 * One option a driver accepts in its sources' sections. The core validates
 * every key of a `[source.NAME]` against the driver's array of these (and
 * its own keys) when the configuration is loaded. The core walks the array
 * by the driver's option_size, so fields may be appended in a later minor
 * (ABI 2.0: the fields below).
 */
struct dbr_option_decl {
	const char *name;	   /**< the INI key; NULL ends the array */
	int kind;		   /**< enum dbr_option_kind */
	unsigned flags;		   /**< enum dbr_option_flags */
	double min, max;	   /**< INT, SECONDS: range (both 0: none) */
	const char *default_value; /**< as INI text, or NULL for none */
	const char *choices;	   /**< ENUM: "a|b|c" */
	const char *help;	   /**< one line for docs and errors */
};

/**
 * A source's validated configuration, opaque to drivers; read it through
 * the host's opt_* calls. Borrowed: valid while any connection of the
 * source is open.
 */
struct dbr_source_config;

/**
 * Core services for drivers, size-prefixed and append-only. Handed to the
 * entry function; valid until the driver is unloaded.
 */
struct dbr_host {
	uint32_t struct_size; /**< sizeof(struct dbr_host) of the core */
	uint32_t abi_version; /**< the core's DBR_ABI_VERSION */

	/* ABI 2.0 */

	/** Log a message about a source (formatted with printf rules). */
	void (*log)(const struct dbr_source_config *src, int level,
		    const char *fmt, ...)
#ifdef __GNUC__
		__attribute__((format(printf, 3, 4)))
#endif
		;

	/**
	 * Fill an error: its category (enum dbr_status), the backend's own
	 * code, SQLSTATE (or NULL) and message. The text is copied into the
	 * caller's buffer, truncation marked. err may be NULL. Every field is
	 * filled (the struct zeroed first): `retryable` and `hint` from the
	 * category and the SQLSTATE (DBR_E_CONN is retryable); a driver that
	 * knows better may adjust them after the call (a refusal no retry
	 * fixes: retryable false, a static hint saying what to fix). Never
	 * pass err's own message as an argument: copy it first.
	 */
	void (*set_error)(struct dbr_error *err, int code, int native_code,
			  const char *sqlstate, const char *fmt, ...)
#ifdef __GNUC__
		__attribute__((format(printf, 5, 6)))
#endif
		;

	/** The source's name. */
	const char *(*source_name)(const struct dbr_source_config *src);

	/**
	 * An option's value as text (PATH already resolved): the configured
	 * value, else the declared default, else NULL. Borrowed like src.
	 */
	const char *(*opt_text)(const struct dbr_source_config *src,
				const char *name);

	/** An INT option (0 when unset without default). */
	int64_t (*opt_int)(const struct dbr_source_config *src,
			   const char *name);

	/** A SECONDS option (0 when unset without default). */
	double (*opt_seconds)(const struct dbr_source_config *src,
			      const char *name);

	/** A BOOL option (false when unset without default). */
	bool (*opt_bool)(const struct dbr_source_config *src, const char *name);

	/**
	 * Check a native extension about to be loaded into the backend's
	 * library (a file of a DBR_OPT_EXTENSIONS option) as the core checks
	 * a driver plugin: a regular file owned by root or the current user,
	 * not writable by group or others; every folder and symlink on the
	 * path to it the same; an ELF shared object for this machine. Writes
	 * its real path (checked, symlinks resolved) into real and returns
	 * DBR_OK; else fills err (DBR_E_CONFIG, naming the source and the
	 * file; DBR_E_NOMEM) and returns its code. Load the file by that
	 * real path, right after the check.
	 */
	int (*check_extension)(const struct dbr_source_config *src,
			       const char *path, char *real, size_t realsize,
			       struct dbr_error *err);
};

/**
 * The head every driver connection embeds as its first member. The driver
 * sets every field in open(); the core only reads them. Fields are only
 * ever appended; the core refuses a connection whose struct_size is
 * smaller than ABI 2.0's head (the connection is closed and open fails
 * with DBR_E_ABI). The head is never copied (the core reads the driver's
 * own), so a core of a later minor must check struct_size before it reads
 * each field that minor appended; a driver built for an earlier minor
 * lacks them. (Option declarations, by contrast, are copied into the
 * core's own zeroed struct, so fields a driver lacks read as zero.)
 */
struct dbr_driver_conn {
	uint32_t struct_size; /**< sizeof(struct dbr_driver_conn), as built */
	const struct dbr_driver *driver;     /**< the driver that opened it */
	const struct dbr_source_config *src; /**< its source's options */
};

/** A column's portable class (struct dbr_column_info.cls; ABI 2.1). */
enum dbr_column_class {
	DBR_CLASS_INTEGER = 1, /**< whole numbers (INTEGER, BIGINT ...) */
	DBR_CLASS_REAL = 2,    /**< floating or exact decimals */
	DBR_CLASS_TEXT = 3,    /**< character strings */
	DBR_CLASS_BLOB = 4,    /**< bytes */
	DBR_CLASS_OTHER = 5    /**< anything else (dates, JSON, arrays ...) */
};

/**
 * One column of a table (list_tables(), ABI 2.1). Fields may be appended
 * in a later minor: the core walks a table's columns by its
 * `column_size`.
 */
struct dbr_column_info {
	const char *name;      /**< the column's name, as the catalog has it */
	const char *decl_type; /**< its declared type as written, or "" */
	uint32_t cls;	       /**< enum dbr_column_class */
	uint32_t pk;	       /**< position in the primary key from 1, or 0 */
	bool notnull;	       /**< declared NOT NULL (a primary key or not) */
};

/**
 * One table of a connection's database (list_tables(), ABI 2.1). Every
 * pointer is borrowed until the callback returns. Fields may be appended
 * in a later minor: the core reads no more than `struct_size` bytes.
 */
struct dbr_table_info {
	uint32_t struct_size; /**< sizeof(struct dbr_table_info), as built */
	uint32_t column_size; /**< sizeof(struct dbr_column_info), as built */
	/**
	 * The schema that qualifies the name in a statement, or "" when
	 * the plain name is enough (SQLite's main database)
	 */
	const char *schema;
	const char *name;		       /**< the table's name */
	const struct dbr_column_info *columns; /**< in declared order */
	size_t ncolumns;
};

/** list_tables()'s callback: once per table. */
typedef void (*dbr_table_fn)(void *ud, const struct dbr_table_info *t);

/**
 * A chat move's capture of one table (capture(), ABI 2.2). The driver
 * reads no more than `struct_size` bytes: fields may be appended.
 */
struct dbr_capture {
	uint32_t struct_size; /**< sizeof(struct dbr_capture), as built */
	int64_t move_id;      /**< the move: its row in _dbroute_fence */
	int64_t chat;	      /**< the moving chat's id */
	const char *schema;   /**< as list_tables() gave it, or "" */
	const char *table;    /**< the table's name */
	const char *chat_column;
	const char *const *key; /**< the primary key's columns, in order */
	size_t nkey;
	/** the destination source's name: a refused write's message names
	 *  it (letters, digits, '_', '-' and '.': a source's name) */
	const char *dest;
};

/**
 * A driver's table of calls. Plugins return a pointer to a static const
 * instance from their entry function.
 *
 * A connection has at most one cursor at a time: query() starts it (and
 * runs the statement up to its first row, so that execution errors are
 * reported by query(); a statement without result columns has then run to
 * its end), next() steps it, finish() ends it. Values written
 * by column() stay valid until the next next() or finish(); text is
 * followed by a NUL byte not counted in len.
 *
 * Errors: every call that fails fills err through host->set_error() and
 * returns its category. The category says what happened (DBR_E_CONN: the
 * link is lost, and the core checks whether the source is down); whether
 * the connection is pooled again is is_clean's answer, or, without
 * is_clean, whether any call on it failed.
 */
struct dbr_driver {
	uint32_t abi_version; /**< DBR_ABI_VERSION the driver was built for */
	uint32_t
		struct_size; /**< sizeof(struct dbr_driver) it was built with */
	/**
	 * sizeof(struct dbr_option_decl) it was built with: the stride by
	 * which the core walks options (a smaller one is refused)
	 */
	uint32_t option_size;
	/**
	 * enum dbr_lex_flags of its dialect, read by the statement splitter
	 * (0 for a driver that is not SQL). Declared in ABI 2.0 for the
	 * splitter: migrations and scripts split a source's files by it.
	 */
	uint32_t lex_flags;
	const char *name;    /**< the source `type` it serves */
	const char *version; /**< the driver's own version string */
	uint32_t caps;	     /**< enum dbr_driver_caps */
	const struct dbr_option_decl *options; /**< ended by a NULL name */

	/* ABI 2.0: required */

	/** Open one connection for a source. */
	int (*open)(const struct dbr_source_config *src,
		    struct dbr_driver_conn **out, struct dbr_error *err);
	/** Close a connection (never NULL) and free everything it owns. */
	void (*close)(struct dbr_driver_conn *conn);
	/**
	 * Run one statement with `?` placeholders bound to params, up to its
	 * first row. Text after the first statement is DBR_E_STMT.
	 *
	 * ABI 2.2: params may hold DBR_TYPE_BOOL (u.i 0 or 1), and
	 * DBR_TYPE_TIMESTAMP (u.i UTC microseconds, always within
	 * DBR_TIMESTAMP_MIN .. MAX: the core refuses others), and a NULL may
	 * carry a type in u.i (dbr_null_of(); bind it as that type where the
	 * backend types parameters, ignore a value that is no enum
	 * dbr_type); column() may report the two types. A driver built for
	 * an earlier minor never receives them: the core sends it a bool as
	 * int64 0 or 1, a timestamp as its text form (dbr_timestamp_format())
	 * and every NULL untyped. See docs/writing-a-driver.md.
	 */
	int (*query)(struct dbr_driver_conn *conn, const char *sql,
		     const struct dbr_value *params, size_t nparams,
		     struct dbr_error *err);
	/** Step the cursor: DBR_ROW, DBR_DONE or an error. */
	int (*next)(struct dbr_driver_conn *conn, struct dbr_error *err);
	/** The cursor's number of columns. */
	size_t (*column_count)(struct dbr_driver_conn *conn);
	/** A column's name; valid until finish(). */
	const char *(*column_name)(struct dbr_driver_conn *conn, size_t col);
	/** A column of the current row. */
	void (*column)(struct dbr_driver_conn *conn, size_t col,
		       struct dbr_value *out);
	/** End the cursor (no-op when none). */
	void (*finish)(struct dbr_driver_conn *conn);

	/* ABI 2.0: optional (NULL when unsupported) */

	/** Rows changed by the finished statement. */
	int64_t (*changes)(struct dbr_driver_conn *conn);
	/** The last inserted row id, when the backend has one. */
	bool (*last_insert_id)(struct dbr_driver_conn *conn, int64_t *id);
	/** Check that the connection is alive (DBR_E_CONN when not). */
	int (*ping)(struct dbr_driver_conn *conn, struct dbr_error *err);
	/** Transactions; all three or none, with DBR_CAP_TRANSACTIONS. */
	int (*begin)(struct dbr_driver_conn *conn, struct dbr_error *err);
	int (*commit)(struct dbr_driver_conn *conn, struct dbr_error *err);
	int (*rollback)(struct dbr_driver_conn *conn, struct dbr_error *err);
	/**
	 * A cheap local check, without a round trip, that the connection
	 * is still usable (e.g. the server has not closed it). The pool calls
	 * it before handing out a connection that sat idle for 10 ms or
	 * more; false makes it open a new one instead, before any statement
	 * is sent.
	 */
	bool (*is_alive)(struct dbr_driver_conn *conn);

	/**
	 * Whether the connection is clean and usable now that its statement
	 * has ended (finish() was called): still connected, no broken
	 * socket, outside any transaction, no MULTI or subscription, and
	 * every session setting the driver can see as it was when open()
	 * returned. Answered from the client library's own state (libpq
	 * PQstatus, PQtransactionStatus, PQparameterStatus; SQLite
	 * sqlite3_get_autocommit; hiredis c->err), never from the last
	 * error's category. The core asks after every operation outside a
	 * transaction and after every commit or rollback, and pools the
	 * connection only when this says true; otherwise it closes it.
	 * Without this call the core closes every connection that saw an
	 * error.
	 */
	bool (*is_clean)(struct dbr_driver_conn *conn);
	/**
	 * The next statement on this connection is a diverted operation:
	 * learn exactly whether it writes, even where that costs the driver
	 * a round trip. Applies to the next query() only.
	 */
	void (*track_writes)(struct dbr_driver_conn *conn);
	/**
	 * After finish(): whether the statement that ended may have written.
	 * A false "true" is harmless, a false "false" loses a write: answer
	 * true whenever unsure. Without this call every diverted statement
	 * is taken for a write.
	 */
	bool (*wrote)(struct dbr_driver_conn *conn);

	/* ABI 2.1: optional (NULL when unsupported) */

	/**
	 * open() with enum dbr_open_flags, only those the driver's minor
	 * knows. Without this call the core opens with open() alone when no
	 * flag is asked for, and refuses DBR_OPEN_NO_CREATE
	 * (DBR_E_UNSUPPORTED), since open() may create a database.
	 */
	int (*open_with_flags)(const struct dbr_source_config *src,
			       unsigned flags, struct dbr_driver_conn **out,
			       struct dbr_error *err);
	/**
	 * Whether a table (or view) of this name exists where an unqualified
	 * name in a statement on this connection finds it, asked of the
	 * database's catalog, for a driver whose errors carry no SQLSTATE:
	 * the core tells a missing table from a failed read by this call
	 * when the driver has it, else by SQLSTATE 42P01 or 42S02, and never
	 * by an error's text. Runs outside any cursor; fills *found.
	 */
	int (*has_table)(struct dbr_driver_conn *conn, const char *name,
			 bool *found, struct dbr_error *err);
	/**
	 * List the ordinary tables of the connection's database (not views,
	 * not the backend's own catalog; PostgreSQL: the schemas of the
	 * search path; SQLite: the main database), each with its columns:
	 * fn is called once per table, in an order stable for one schema
	 * (by schema, then name). The core uses it to find the tables that
	 * hold a chat's rows and to compare two sources' schemas. The
	 * connection's cursor may be used and is ended on return; fn never
	 * calls back into the connection.
	 */
	int (*list_tables)(struct dbr_driver_conn *conn, dbr_table_fn fn,
			   void *ud, struct dbr_error *err);
	/**
	 * Change notification, for the mapping store's refresher: listen
	 * and wait_signal come together or not at all. listen() makes a
	 * connection the core opened for this alone receive the signals of
	 * `channel` (letters, digits and '_'), and, where the database can
	 * tell, the commits of every other connection to it (SQLite: PRAGMA
	 * data_version).
	 */
	int (*listen)(struct dbr_driver_conn *conn, const char *channel,
		      struct dbr_error *err);
	/**
	 * Wait up to timeout_ms for a signal (or another connection's
	 * commit) on a listening connection; *signalled says one came, and
	 * every one pending is consumed. An error (the link lost) ends the
	 * listening: the core closes the connection and opens another.
	 */
	int (*wait_signal)(struct dbr_driver_conn *conn, int timeout_ms,
			   bool *signalled, struct dbr_error *err);
	/**
	 * Signal `channel`'s listeners when the transaction open on conn
	 * commits (none when it rolls back). NULL for a driver whose
	 * listeners see commits without it (SQLite).
	 */
	int (*notify)(struct dbr_driver_conn *conn, const char *channel,
		      struct dbr_error *err);

	/* ABI 2.2: optional (NULL when unsupported) */

	/**
	 * Bound every wait of conn on its server to `seconds` per call
	 * (query() through its last row, begin, commit, rollback, notify),
	 * on top of the source's own bounds, until called again; 0 removes
	 * the bound. A call that passes it fails with DBR_E_TIMEOUT and
	 * leaves the connection lost (is_alive() false), as the source's own
	 * timeouts do. The core bounds the mapping store's reads this way
	 * (the store's `timeout`), so that a hung store cannot hold
	 * dbr_open() or dbr_close(). A driver whose every wait is bounded
	 * already (a local file, a client-side read timeout) may leave it
	 * NULL.
	 */
	void (*bound)(struct dbr_driver_conn *conn, double seconds);

	/**
	 * A chat move's capture (docs/moving-chats.md, "The source's
	 * fence"): capture and clock_ms come together or not at all, and
	 * a source whose driver lacks them cannot take part in a move.
	 *
	 * capture(install true) creates, when missing, the tables
	 *   _dbroute_fence (move_id BIGINT PRIMARY KEY, chat_id BIGINT,
	 *     state TEXT, token BIGINT, fence_until_ms BIGINT, dest TEXT)
	 *   _dbroute_delta (seq: an increasing integer key, move_id BIGINT,
	 *     tbl TEXT, pk TEXT, op TEXT)
	 * and row triggers on cap's table for cap's chat (rows whose chat
	 * column is cap->chat before or after the write) that
	 *  - refuse the write, with DBR_E_MOVING and the message
	 *    "dbroute:fenced:MOVE:DEST", while the move's fence row says
	 *    'moved', or 'fenced' with fence_until_ms after the server's
	 *    clock (clock_ms()'s) at the write; on PostgreSQL after taking
	 *    the fence row FOR SHARE, so that a change of the row waits
	 *    for the chat's writers in flight;
	 *  - append, in the writer's own transaction, one _dbroute_delta
	 *    row per key written (tbl the table's name, pk the key's values
	 *    as a JSON array in key order, op 'i', 'u' or 'd'; an update
	 *    that changes the key appends the old key and the new one)
	 *    while the state is neither 'idle' nor 'mover' nor missing.
	 * Both are idempotent: installed twice is installed once. capture
	 * (install false) removes the table's triggers for the move (the
	 * two tables stay). The core writes and reads the two tables with
	 * plain SQL, and maps no driver error text: the driver reports a
	 * refused write as DBR_E_MOVING itself.
	 */
	int (*capture)(struct dbr_driver_conn *conn,
		       const struct dbr_capture *cap, bool install,
		       struct dbr_error *err);
	/** The server's clock, in milliseconds since 1970 (UTC), as the
	 *  triggers read it. */
	int (*clock_ms)(struct dbr_driver_conn *conn, int64_t *ms,
			struct dbr_error *err);
};

/** The type of a driver's entry function. */
typedef const struct dbr_driver *(*dbr_driver_entry_fn)(
	const struct dbr_host *host);

#ifdef __cplusplus
}
#endif

#endif /* DBROUTE_DRIVER_H */
