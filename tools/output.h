/*
 * output.h - writing result rows as PostgreSQL COPY text, CSV or JSON.
 */
#ifndef DBR_CLI_OUTPUT_H
#define DBR_CLI_OUTPUT_H

#include <stdio.h>

#include "dbroute.h"

enum out_format { OUT_TEXT, OUT_CSV, OUT_JSON };

/* Parse "text", "csv" or "json"; returns -1 for anything else. */
int out_format_parse(const char *s);

/*
 * Write a whole result to f: a header of column names, then every row.
 * Returns DBR_OK, or the failing dbr_result_next() status.
 */
int out_result(FILE *f, enum out_format fmt, struct dbr_result *res,
	       unsigned long long *rows);

/* The shortest text that reads back as the same double. */
void out_double(char *buf, size_t size, double d);

#endif /* DBR_CLI_OUTPUT_H */
