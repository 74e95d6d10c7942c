/*
 * consumer.c - an application built against an installed dbroute: the
 * header and the library it links must agree on the version. Given a
 * configuration file and source names, it runs one statement on each
 * source ("PING" on a redis source, "SELECT 1" on the others), which loads
 * the installed drivers from wherever the copy was installed.
 */
#include <stdio.h>
#include <string.h>

#include <dbroute.h>

static int run(struct dbr *db, const char *source)
{
	struct dbr_source_info info = { .size = sizeof(info) };
	const char *type, *sql;
	struct dbr_result *res = NULL;
	struct dbr_error err;
	int rc;

	if (dbr_source_info(db, source, &info, &err)) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	type = info.type;
	sql = info.flags & DBR_SOURCE_KV ? "PING" : "SELECT 1";
	rc = dbr_query_source(db, source, sql, NULL, 0, &res, &err);
	if (rc == DBR_OK)
		rc = dbr_result_next(res);
	if (rc != DBR_ROW) {
		fprintf(stderr, "%s: %s\n", source,
			res ? dbr_result_error(res)->message : err.message);
		dbr_result_free(res);
		return 1;
	}
	printf("%s (%s): one row\n", source, type);
	dbr_result_free(res);
	return 0;
}

int main(int argc, char **argv)
{
	struct dbr_error err;
	struct dbr *db;
	int i, failed = 0;

	if (dbr_version_number() != DBR_VERSION_NUMBER) {
		fprintf(stderr, "header %s, library %s\n", DBR_VERSION_STRING,
			dbr_version());
		return 1;
	}
	printf("dbroute %s\n", dbr_version());
	if (argc < 2)
		return 0;
	if (dbr_open(&db, argv[1], NULL, &err) != DBR_OK) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	for (i = 2; i < argc; i++)
		failed |= run(db, argv[i]);
	dbr_close(db);
	return failed;
}
