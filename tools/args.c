/*
 * args.c - the dbroute command's arguments. Options may stand before or
 * after positional arguments; a negative number is an argument, not an
 * option, so group chat ids need no "--".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

const char *usage_help = "dbroute --help";

int fail_usage(const char *fmt, const char *arg)
{
	int n = snprintf(NULL, 0, fmt, arg);
	char *msg = n < 0 ? NULL : malloc((size_t)n + 1);

	if (msg) {
		snprintf(msg, (size_t)n + 1, fmt, arg);
		out_error("dbroute: ", msg);
		free(msg);
	} else {
		out_error("dbroute: ", "out of memory");
	}
	fprintf(stderr, "Try '%s'.\n", usage_help);
	return EXIT_USAGE;
}

bool parse_int64(const char *s, int64_t *out)
{
	return dbr_chat_parse(s, out) == DBR_OK;
}

static bool is_option(const char *s)
{
	int64_t v;

	return s[0] == '-' && s[1] && !parse_int64(s, &v);
}

static int add_param(struct args *a, struct dbr_value v)
{
	if (a->nparams >= MAX_PARAMS)
		return fail_usage("more than %s parameters", "1000");
	a->params[a->nparams++] = v;
	return 0;
}

/* A typed --param option; returns 0 or an exit code. */
static int typed_param(struct args *a, const char *opt, const char *val)
{
	int64_t i;
	char *end;
	double d;

	if (!strcmp(opt, "--param"))
		return add_param(a, dbr_text(val, strlen(val)));
	if (!strcmp(opt, "--param-int")) {
		if (!parse_int64(val, &i))
			return fail_usage("bad --param-int '%s': expected a "
					  "64-bit integer",
					  val);
		return add_param(a, dbr_int64(i));
	}
	errno = 0;
	d = strtod(val, &end);
	if (errno || *end || end == val)
		return fail_usage("bad --param-double '%s': expected a number",
				  val);
	return add_param(a, dbr_double(d));
}

/* Options without a value: the flag they set, or NULL. */
static bool *flag_of(struct args *a, const char *opt)
{
	if (!strcmp(opt, "--all"))
		return &a->all;
	if (!strcmp(opt, "--distinct"))
		return &a->distinct;
	if (!strcmp(opt, "--allow-partial"))
		return &a->partial;
	if (!strcmp(opt, "--sequential"))
		return &a->sequential;
	if (!strcmp(opt, "--with-source"))
		return &a->with_source;
	if (!strcmp(opt, "--single-transaction"))
		return &a->single_tx;
	if (!strcmp(opt, "--dry-run"))
		return &a->dry_run;
	if (!strcmp(opt, "--allow-changed"))
		return &a->allow_changed;
	if (!strcmp(opt, "--replace"))
		return &a->replace;
	if (!strcmp(opt, "--discover"))
		return &a->discover;
	if (!strcmp(opt, "--status"))
		return &a->status;
	if (!strcmp(opt, "--abort"))
		return &a->abort_move;
	return NULL;
}

/* Options with one value that may be given once: where it goes. */
static const char **value_slot(struct args *a, const char *opt)
{
	if (!strcmp(opt, "-c") || !strcmp(opt, "--config"))
		return &a->config;
	if (!strcmp(opt, "--chat"))
		return &a->chat_text;
	if (!strcmp(opt, "--scope"))
		return &a->scope;
	if (!strcmp(opt, "--limit"))
		return &a->limit_text;
	if (!strcmp(opt, "-f") || !strcmp(opt, "--file"))
		return &a->file;
	if (!strcmp(opt, "--dir"))
		return &a->dir;
	if (!strcmp(opt, "--to"))
		return &a->to_text;
	if (!strcmp(opt, "--force-version"))
		return &a->force_text;
	if (!strcmp(opt, "--reason"))
		return &a->reason;
	return NULL;
}

/* Every option, for suggestions; those taking a value come first. */
static const char *const option_names[] = {
	"-c",
	"--config",
	"--chat",
	"--scope",
	"--limit",
	"--source",
	"--order",
	"--format",
	"--param",
	"--param-int",
	"--param-double",
	"-f",
	"--file",
	"--dir",
	"--to",
	"--force-version",
	"--reason",
	"--all",
	"--distinct",
	"--allow-partial",
	"--sequential",
	"--with-source",
	"--single-transaction",
	"--dry-run",
	"--allow-changed",
	"--replace",
	"--discover",
	"--status",
	"--abort",
	"--param-null",
	"-h",
	"--help",
	"--version",
};
#define NVALUED 17 /* options in option_names that take a value */

static bool takes_value(const char *opt)
{
	size_t i;

	for (i = 0; i < NVALUED; i++)
		if (!strcmp(opt, option_names[i]))
			return true;
	return false;
}

/* An unknown option, with the nearest known one if it looks like a typo. */
static int unknown_option(const char *opt)
{
	/* A one-letter option is near every other: no guess for it. */
	const char *hint =
		strlen(opt) <= 2
			? NULL
			: dbr__suggest(opt, option_names,
				       sizeof(option_names) /
					       sizeof(option_names[0]));
	char msg[160];

	if (!hint)
		return fail_usage("unknown option '%s'", opt);
	snprintf(msg, sizeof(msg), "unknown option '%.64s'; did you mean '%s'?",
		 opt, hint);
	return fail_usage("%s", msg);
}

/* An option that takes its value from val. */
static int with_value(struct args *a, const char *opt, const char *val)
{
	const char **slot = value_slot(a, opt);

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
	if (!strcmp(opt, "--source")) {
		a->sources[a->nsources++] = val;
		return 0;
	}
	if (!strcmp(opt, "--order")) {
		a->order[a->norder++] = val;
		return 0;
	}
	if (!strcmp(opt, "--format")) {
		a->format = out_format_parse(val);
		return a->format < 0 ? fail_usage("bad --format '%s': expected "
						  "text, csv or json",
						  val)
				     : 0;
	}
	return typed_param(a, opt, val);
}

static int parse_option(struct args *a, int argc, char **argv, int *i)
{
	const char *arg = argv[*i], *val = NULL, *eq = strchr(arg, '=');
	char opt[64];
	bool *flag;

	snprintf(opt, sizeof(opt), "%.*s",
		 eq && arg[1] == '-' ? (int)(eq - arg) : (int)strlen(arg), arg);
	if (eq && arg[1] == '-')
		val = eq + 1;
	if (!strcmp(opt, "-h") || !strcmp(opt, "--help") ||
	    !strcmp(opt, "--version"))
		return fail_usage("%s must come alone", opt);
	if (!strcmp(opt, "--param-null"))
		return val ? fail_usage("%s takes no value", opt)
			   : add_param(a, dbr_null());
	flag = flag_of(a, opt);
	if (flag) {
		if (val)
			return fail_usage("%s takes no value", opt);
		*flag = true;
		return 0;
	}
	if (!takes_value(opt))
		return unknown_option(opt);
	if (!val) {
		if (*i + 1 >= argc)
			return fail_usage("%s needs a value", opt);
		val = argv[++*i];
	}
	return with_value(a, opt, val);
}

int parse_args(struct args *a, int argc, char **argv)
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

bool is_fanout(const struct args *a)
{
	return a->all || a->nsources > 1;
}
