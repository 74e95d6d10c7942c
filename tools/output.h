/*
 * output.h - writing result rows as PostgreSQL COPY text, CSV or JSON (the
 * rules for each value: output.c), and messages on stderr.
 */
#ifndef DBR_CLI_OUTPUT_H
#define DBR_CLI_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "dbroute.h"

enum out_format { OUT_TEXT, OUT_CSV, OUT_JSON };

/* How out_print() writes a result. */
enum out_flags {
	OUT_WITH_SOURCE = 1u << 0, /* a first column naming each row's source */
	OUT_ONE_LINE = 1u << 1	   /* JSON: the whole array on one line */
};

/* Parse "text", "csv" or "json"; returns -1 for anything else. */
int out_format_parse(const char *s);

/*
 * Print a whole result: a header of column names and every row on f, or,
 * for a statement without columns, the rows affected on stderr (and [] on
 * f in JSON, whose keys are made unique: output.c). flags: enum
 * out_flags. Errors go to stderr. Returns the exit code (0, or 1 for a
 * failed row).
 */
int out_print(FILE *f, enum out_format fmt, unsigned flags,
	      struct dbr_result *res);

/*
 * Print a table the tool built itself: nrows rows of ncols values (row
 * by row in cells) under the column names, by the rules of out_print();
 * the text format without its header line when header is false.
 */
void out_table(FILE *f, enum out_format fmt, bool header,
	       const char *const *names, size_t ncols,
	       const struct dbr_value *cells, size_t nrows);

/*
 * One field of a tab-separated line in the text format's escaping (tab,
 * newline, backslash and every control character escaped).
 */
void out_field(FILE *f, const char *s);

/*
 * prefix and msg and a newline on stderr, each control character of msg
 * but newline and tab as \xHH: a message quoting a value cannot move the
 * cursor, rewrite a line or hide text.
 */
void out_error(const char *prefix, const char *msg);

/*
 * The library's log hook: its messages as it prints them on stderr
 * without one ("dbroute: LEVEL: [source 'NAME': ]MESSAGE"), escaped as
 * out_error() does. Thread-safe: one message is one locked write.
 */
void out_log(void *ud, int level, const char *source, const char *msg);

/* The shortest text that reads back as the same double. */
void out_double(char *buf, size_t size, double d);

#endif /* DBR_CLI_OUTPUT_H */
