/*
 * config.h - the validated, immutable configuration snapshot read from
 * one INI file.
 */
#ifndef DBR_CONFIG_H
#define DBR_CONFIG_H

#include <stdio.h>

#include "driver.h"
#include "log.h"
#include "option.h"
#include "chat_table.h"

struct dbr__source_rt;

enum dbr__fallback { DBR__FALLBACK_DEFAULT = 0, DBR__FALLBACK_NONE = 1 };

/* The core's keys of every source, in this order in src->core. */
enum dbr__core_key {
	DBR__KEY_TYPE,
	DBR__KEY_MAX_CONNECTIONS,
	DBR__KEY_TIMEOUT,
	DBR__KEY_READONLY,
	DBR__KEY_FALLBACK,
	DBR__KEY_IDLE_TIMEOUT,
	DBR__KEY_COUNT
};

/* One [source.NAME] section; drivers see it as an opaque pointer. */
struct dbr_source_config {
	char *name;
	uint32_t index; /* order of definition */
	struct dbr__driver *drv;
	const struct dbr__logger *log; /* the handle's logger */
	int line;		       /* the section header's line */
	int type_line;
	struct dbr__optval core[DBR__KEY_COUNT];
	struct dbr__optval *opts; /* one per driver declaration */
	size_t nopts;
	/* The core keys, resolved. */
	int max_connections;
	double timeout;
	double idle_timeout; /* 0: never */
	bool readonly;
	int fallback; /* enum dbr__fallback */
	/* Its pool and health (handle.h); NULL until a handle opens it. */
	struct dbr__source_rt *rt;
};

struct dbr__scope {
	char *name;
	uint32_t source;
};

/* One [table.NAME] section: a table that holds chats' rows. */
struct dbr__table_section {
	char *name;	   /* as written: TABLE or SCHEMA.TABLE */
	char *chat_column; /* its chat column */
	int line;	   /* the section header's line */
};

struct dbr__config {
	char *path; /* as given */
	char *dir;  /* its folder: base of relative paths */
	struct dbr_source_config *sources;
	size_t nsources;
	uint32_t default_source;
	char *plugin_dir; /* NULL: the compiled-in default */
	int fallback;	  /* enum dbr__fallback */
	double retry_interval;
	int log_level;		/* enum dbr_log_level */
	int metrics;		/* enum dbr__metrics_mode */
	uint32_t timing_sample; /* [database] timing_sample (metrics.h) */
	char *audit_file;	/* [audit] file, resolved; NULL: none */
	struct dbr__scope *scopes;
	size_t nscopes;
	struct dbr__chat_table chats; /* [chat_mapping]: source indices */
	/* [mapping]: the store (docs/operations.md), when has_store. */
	bool has_store;
	uint32_t store;	      /* the store's source */
	double poll_interval; /* seconds */
	double max_age;	      /* seconds; 0: off */
	/* [move] chat_column: the convention when ntables is 0. */
	char *chat_column;
	/* [move] batch_rows, fence_timeout (seconds), max_attempts. */
	size_t move_batch_rows;
	double move_fence_timeout;
	int move_max_attempts;
	struct dbr__table_section *tables; /* [table.NAME], in file order */
	size_t ntables;
	/* The file's bytes as parsed (dbr__config_load() of a small regular
	 * file), NULL otherwise: a reload of the same bytes changes nothing. */
	char *text;
	size_t text_len;
};

/*
 * Read and validate path. Every problem is reported in err as
 * "FILE:LINE: message" lines. Warnings go to log. The file is read whole
 * first, then parsed from memory: cfg->text holds what was parsed.
 */
int dbr__config_load(const char *path, const struct dbr__logger *log,
		     struct dbr__config **out, struct dbr_error *err);

/*
 * Read f whole into *text (dbr__free()) when it is a regular file of 1 to
 * DBR__CONFIG_CAPTURE bytes that reads as long as its size; false
 * otherwise (f is then anywhere: rewind it).
 */
#define DBR__CONFIG_CAPTURE (256u << 10)
bool dbr__config_capture(FILE *f, char **text, size_t *len);

/* Open a configuration file for reading (DBR_E_CONFIG when it cannot be
 * opened or is a folder). */
int dbr__config_open(const char *path, FILE **out, struct dbr_error *err);

/* The same from an open stream; `path` names it in messages and gives
 * the folder relative paths are resolved against. */
int dbr__config_read(FILE *f, const char *path, const struct dbr__logger *log,
		     struct dbr__config **out, struct dbr_error *err);

void dbr__config_free(struct dbr__config *cfg);

/* Whether s may name a driver type: 1 to 32 of a-z, 0-9 and '_'. */
bool dbr__config_type_ok(const char *s);

/* A source by name, or NULL. */
struct dbr_source_config *dbr__config_source(const struct dbr__config *cfg,
					     const char *name);

/* Whether s's driver offers transactions. */
static inline bool dbr__source_has_tx(const struct dbr_source_config *s)
{
	return s->drv->vt.begin && s->drv->vt.commit && s->drv->vt.rollback;
}

/* The value of a declared option of a source (core or driver), or NULL. */
const struct dbr__optval *dbr__source_opt(const struct dbr_source_config *s,
					  const char *name);

#endif /* DBR_CONFIG_H */
