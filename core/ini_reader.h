/*
 * ini_reader.h - reading an INI file through inih while seeing every raw
 * line: line numbers for every key, section headers (inih as Debian builds
 * it reports neither), and the lines inih would mishandle.
 */
#ifndef DBR_INI_READER_H
#define DBR_INI_READER_H

#include <stdio.h>

#include "diag.h"

/* What the reader reports, in file order. */
struct dbr__ini_events {
	/* A "[name]" header; name is trimmed. */
	void (*section)(void *ud, const char *name, int line);
	/* A "key = value" line, both trimmed, inline comment removed. The
	 * value is NULL when the line was refused (and reported) but its
	 * key could be read: the key is present, its value unusable. */
	void (*key)(void *ud, const char *key, const char *value, int line);
};

/*
 * Read f to its end. Problems of the file's form (continuation lines, long
 * lines, NUL bytes, lines that are neither section, key nor comment) go to
 * diags; the events go to ev. Returns the number of lines read, or -1 when
 * the file was refused as not text (a NUL byte or a control character):
 * then reading stopped at that line, and what was read is incomplete.
 */
int dbr__ini_read(FILE *f, const struct dbr__ini_events *ev, void *ud,
		  struct dbr__diags *diags);

#endif /* DBR_INI_READER_H */
