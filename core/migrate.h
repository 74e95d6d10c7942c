/*
 * migrate.h - a folder of migration files, read whole: each file's
 * number, name, variant type, text and SHA-256 (dbr_migrate() and its
 * tests).
 */
#ifndef DBR_MIGRATE_H
#define DBR_MIGRATE_H

#include <stdint.h>

#include "internal.h"

/* The largest migration file read. */
#define DBR__MIGRATE_MAX_FILE (16u * 1024 * 1024)

/* One migration file: NNNN_name.sql, or NNNN_name.TYPE.sql. */
struct dbr__migfile {
	int64_t version;
	char *name;	 /* the file's name in the folder; owned */
	char type[33];	 /* the variant's driver type, "" for the plain file */
	char *text;	 /* the whole file, followed by a NUL byte; owned */
	size_t len;	 /* bytes of text, the NUL not counted */
	char sha256[65]; /* of the file's bytes, lower-case hex */
};

/* A folder's migration files, by version, the plain file before its
 * variants, variants by type. */
struct dbr__migdir {
	struct dbr__migfile *files; /* owned */
	size_t n;
};

/*
 * A file of the folder that is not a migration: called with its name and
 * why it is ignored.
 */
typedef void (*dbr__migdir_stray_fn)(void *ud, const char *name,
				     const char *why);

/*
 * Read every migration file of the folder `path` into *out (zeroed first).
 * Other entries are reported to stray (may be NULL), not read. Fails with
 * DBR_E_CONFIG for a folder or file that cannot be read, a file larger
 * than DBR__MIGRATE_MAX_FILE or holding a NUL byte, a number beyond int64,
 * or two files of one number and type; DBR_E_NOMEM.
 */
int dbr__migdir_read(const char *path, struct dbr__migdir *out,
		     dbr__migdir_stray_fn stray, void *ud,
		     struct dbr_error *err);

/* Free what dbr__migdir_read() filled, and zero it; NULL is ignored. */
void dbr__migdir_release(struct dbr__migdir *dir);

#endif /* DBR_MIGRATE_H */
