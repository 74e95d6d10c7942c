/*
 * dbroute.c - the command-line tool: check a configuration, show where
 * chats are routed, run one statement on a routed source.
 *
 * Exit codes: 0 success; 1 a runtime error (a source unreachable, a
 * statement failed); 2 a usage or configuration error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbroute.h"
#include "output.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2
#define MAX_PARAMS   1000

static const char usage[] =
	"usage: dbroute COMMAND -c FILE [options] [args]\n"
	"\n"
	"commands:\n"
	"  check -c FILE           validate FILE, load its drivers, open and\n"
	"                          ping every source\n"
	"  route -c FILE CHAT_ID...\n"
	"                          print CHAT_ID, source and reason per chat\n"
	"  query -c FILE (--chat ID | --scope NAME | --source NAME)\n"
	"        [--param VALUE]... 'STATEMENT'\n"
	"                          run one statement on the routed source\n"
	"\n"
	"query options:\n"
	"  --param VALUE           bind VALUE as text to the next '?'\n"
	"  --param-int N           bind a 64-bit integer\n"
	"  --param-double X        bind a double\n"
	"  --param-null            bind NULL\n"
	"  --format text|csv|json  output format (default text: COPY text)\n"
	"\n"
	"  -c, --config FILE       the INI configuration\n"
	"  -h, --help              show this help\n"
	"  --version               show the version\n"
	"\n"
	"Negative chat ids need no '--': dbroute route -c f.ini -100123\n"
	"Exit: 0 ok, 1 runtime error, 2 usage or configuration error.\n";

struct args {
	const char *cmd;
	const char *config;
	const char *chat_text;
	const char *scope;
	const char *source;
	int format;
	const char **pos; /* positional arguments */
	size_t npos;
	struct dbr_value *params;
	size_t nparams;
};

static int fail_usage(const char *fmt, const char *arg)
{
	fputs("dbroute: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'dbroute --help'.\n", stderr);
	return EXIT_USAGE;
}

static bool parse_chat(const char *s, int64_t *out)
{
	const char *p = s;
	char *end;
	long long v;

	if (*p == '-' || *p == '+')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* A negative number is an argument, not an option. */
static bool is_option(const char *s)
{
	int64_t v;

	return s[0] == '-' && s[1] && !parse_chat(s, &v);
}

static int add_param(struct args *a, struct dbr_value v)
{
	if (a->nparams >= MAX_PARAMS)
		return fail_usage("more than %s parameters", "1000");
	a->params[a->nparams++] = v;
	return 0;
}

/* Parse a typed --param-* option; returns 0, or an exit code. */
static int typed_param(struct args *a, const char *opt, const char *val)
{
	int64_t i;
	char *end;
	double d;

	if (!strcmp(opt, "--param"))
		return add_param(a, dbr_text(val, strlen(val)));
	if (!strcmp(opt, "--param-int")) {
		if (!parse_chat(val, &i))
			return fail_usage("bad --param-int '%s': expected a "
					  "64-bit integer",
					  val);
		return add_param(a, dbr_int64(i));
	}
	errno = 0;
	d = strtod(val, &end);
	if (errno || *end || !*val || end == val)
		return fail_usage("bad --param-double '%s': expected a number",
				  val);
	return add_param(a, dbr_double(d));
}

/* Options that take a value: returns where to store it. */
static const char **value_slot(struct args *a, const char *opt)
{
	if (!strcmp(opt, "-c") || !strcmp(opt, "--config"))
		return &a->config;
	if (!strcmp(opt, "--chat"))
		return &a->chat_text;
	if (!strcmp(opt, "--scope"))
		return &a->scope;
	if (!strcmp(opt, "--source"))
		return &a->source;
	return NULL;
}

static int parse_option(struct args *a, int argc, char **argv, int *i)
{
	char opt[64];
	const char *arg = argv[*i], *val = NULL, *eq = strchr(arg, '=');
	const char **slot;

	snprintf(opt, sizeof(opt), "%.*s",
		 eq && arg[1] == '-' ? (int)(eq - arg) : (int)strlen(arg), arg);
	if (eq && arg[1] == '-')
		val = eq + 1;
	if (!strcmp(opt, "--param-null"))
		return val ? fail_usage("%s takes no value", opt)
			   : add_param(a, dbr_null());
	if (!strcmp(opt, "-h") || !strcmp(opt, "--help") ||
	    !strcmp(opt, "--version"))
		return fail_usage("%s must come alone", opt);
	slot = value_slot(a, opt);
	if (!slot && strcmp(opt, "--format") && strncmp(opt, "--param", 7))
		return fail_usage("unknown option '%s'", arg);
	if (!val) {
		if (*i + 1 >= argc)
			return fail_usage("%s needs a value", opt);
		val = argv[++*i];
	}
	if (slot == &a->chat_text && !strcmp(a->cmd, "route")) {
		a->pos[a->npos++] = val; /* route takes many chats */
		return 0;
	}
	if (slot) {
		if (*slot)
			return fail_usage("%s given twice", opt);
		*slot = val;
		return 0;
	}
	if (!strcmp(opt, "--format")) {
		a->format = out_format_parse(val);
		return a->format < 0 ? fail_usage("bad --format '%s': expected "
						  "text, csv or json",
						  val)
				     : 0;
	}
	if (strcmp(opt, "--param") && strcmp(opt, "--param-int") &&
	    strcmp(opt, "--param-double"))
		return fail_usage("unknown option '%s'", arg);
	return typed_param(a, opt, val);
}

static int parse_args(struct args *a, int argc, char **argv)
{
	bool rest = false;
	int i, rc;

	for (i = 2; i < argc; i++) {
		if (!rest && !strcmp(argv[i], "--")) {
			rest = true;
		} else if (!rest && is_option(argv[i])) {
			rc = parse_option(a, argc, argv, &i);
			if (rc)
				return rc;
		} else {
			a->pos[a->npos++] = argv[i];
		}
	}
	if (!a->config)
		return fail_usage("%s: -c FILE is required", a->cmd);
	return 0;
}

static int open_db(const struct args *a, struct dbr **db)
{
	struct dbr_error err;
	int rc = dbr_open(db, a->config, NULL, &err);

	if (rc) {
		fprintf(stderr, "%s\n", err.message);
		return rc == DBR_E_CONFIG || rc == DBR_E_ABI ? EXIT_USAGE
							     : EXIT_RUNTIME;
	}
	return 0;
}

/* Text as one field of a tab-separated line: blanks for tabs and ends of
 * line. */
static void put_line_field(const char *s)
{
	for (; *s; s++)
		putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

static int cmd_check(const struct args *a)
{
	struct dbr_error err;
	const char *origin, *version;
	struct dbr *db;
	int rc, status = 0;
	size_t i;

	if (a->npos || a->nparams || a->chat_text || a->scope || a->source)
		return fail_usage("check takes only %s", "-c FILE");
	rc = open_db(a, &db);
	if (rc)
		return rc;
	for (i = 0; i < dbr_source_count(db); i++) {
		const char *name = dbr_source_name(db, i);

		dbr_source_driver(db, i, &origin, &version);
		rc = dbr_source_ping(db, name, &err);
		printf("%s\t%s\t", name, dbr_source_type(db, i));
		if (rc) {
			status = EXIT_RUNTIME;
			fputs("unavailable: ", stdout);
			put_line_field(err.message);
		} else {
			fputs("ok", stdout);
		}
		printf("\t%s %s\n", origin, version);
	}
	dbr_close(db);
	return status;
}

static int cmd_route(const struct args *a)
{
	struct dbr *db;
	const char *source;
	int64_t chat;
	size_t i;
	int reason, rc;

	if (a->nparams || a->scope || a->source)
		return fail_usage("route takes only %s",
				  "-c FILE [--chat] CHAT_ID...");
	if (!a->npos)
		return fail_usage("route needs at least one %s", "CHAT_ID");
	for (i = 0; i < a->npos; i++)
		if (!parse_chat(a->pos[i], &chat))
			return fail_usage("bad chat id '%s': expected a signed "
					  "64-bit integer",
					  a->pos[i]);
	rc = open_db(a, &db);
	if (rc)
		return rc;
	for (i = 0; i < a->npos; i++) {
		parse_chat(a->pos[i], &chat);
		dbr_route_chat(db, chat, &source, &reason);
		printf("%" PRId64 "\t%s\t%s\n", chat, source,
		       dbr_route_reason_name(reason));
	}
	dbr_close(db);
	return 0;
}

static int run_query(const struct args *a, struct dbr *db, int64_t chat)
{
	struct dbr_result *res = NULL;
	struct dbr_error err;
	unsigned long long rows;
	const char *sql = a->pos[0];
	int rc;

	if (a->source)
		rc = dbr_query_source(db, a->source, sql, a->params, a->nparams,
				      &res, &err);
	else if (a->scope)
		rc = dbr_query_scope(db, a->scope, sql, a->params, a->nparams,
				     &res, &err);
	else
		rc = dbr_query(db, chat, sql, a->params, a->nparams, &res,
			       &err);
	if (rc) {
		fprintf(stderr, "dbroute: %s\n", err.message);
		return rc == DBR_E_NOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
	}
	if (dbr_result_column_count(res)) {
		rc = out_result(stdout, a->format, res, &rows);
	} else {
		while ((rc = dbr_result_next(res)) == DBR_ROW)
			;
		rc = rc == DBR_DONE ? DBR_OK : rc;
		if (!rc)
			fprintf(stderr, "%" PRId64 " rows affected\n",
				dbr_result_changes(res));
	}
	if (rc)
		fprintf(stderr, "dbroute: %s\n",
			dbr_result_error(res)->message);
	dbr_result_free(res);
	return rc ? EXIT_RUNTIME : 0;
}

static int cmd_query(const struct args *a)
{
	struct dbr *db;
	int64_t chat = 0;
	int rc;

	if ((a->chat_text != NULL) + (a->scope != NULL) + (a->source != NULL) !=
	    1)
		return fail_usage("query needs exactly one of %s",
				  "--chat ID, --scope NAME, --source NAME");
	if (a->chat_text && !parse_chat(a->chat_text, &chat))
		return fail_usage("bad chat id '%s': expected a signed 64-bit "
				  "integer",
				  a->chat_text);
	if (a->npos != 1)
		return fail_usage("query needs exactly one %s",
				  "'STATEMENT' argument");
	rc = open_db(a, &db);
	if (rc)
		return rc;
	rc = run_query(a, db, chat);
	if (fflush(stdout)) {
		perror("dbroute: stdout");
		rc = EXIT_RUNTIME;
	}
	dbr_close(db);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a;
	int rc;

	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("dbroute %s\n", dbr_version());
		return 0;
	}
	memset(&a, 0, sizeof(a));
	a.cmd = argv[1];
	a.format = OUT_TEXT;
	a.pos = calloc((size_t)argc, sizeof(*a.pos));
	a.params = calloc(MAX_PARAMS, sizeof(*a.params));
	if (!a.pos || !a.params) {
		fputs("dbroute: out of memory\n", stderr);
		rc = EXIT_RUNTIME;
	} else if (strcmp(a.cmd, "check") && strcmp(a.cmd, "route") &&
		   strcmp(a.cmd, "query")) {
		rc = fail_usage("unknown command '%s'", a.cmd);
	} else if (!(rc = parse_args(&a, argc, argv))) {
		rc = !strcmp(a.cmd, "check")   ? cmd_check(&a)
		     : !strcmp(a.cmd, "route") ? cmd_route(&a)
					       : cmd_query(&a);
	}
	free(a.pos);
	free(a.params);
	return rc;
}
