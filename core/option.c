/*
 * option.c - parsing option values by their declared kind, and the
 * "did you mean" suggestion for unknown names.
 */
#define _GNU_SOURCE /* strtod_l, memrchr */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "option.h"
#include "plugin.h"

int dbr__parse_int64(const char *s, int64_t *out)
{
	const char *p = s;
	char *end;
	long long v;

	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return DBR_E_CONFIG;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return DBR_E_CONFIG;
	*out = v;
	return DBR_OK;
}

int dbr__parse_seconds(const char *s, double *out)
{
	const char *p = s;
	char *end;
	double v;
	locale_t c;

	/* Digits, optionally one '.' and more digits: no signs, exponents,
	 * hex, "inf" or "nan" that strtod would take. */
	if (*p < '0' || *p > '9')
		return DBR_E_CONFIG;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return DBR_E_CONFIG;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return DBR_E_CONFIG;
	/* In the C locale: the application's LC_NUMERIC may want a comma
	 * (glibc's C locale is static: nothing is allocated). */
	c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	errno = 0;
	v = c ? strtod_l(s, &end, c) : strtod(s, &end);
	if (c)
		freelocale(c);
	if (errno || *end || !isfinite(v))
		return DBR_E_CONFIG;
	*out = v;
	return DBR_OK;
}

int dbr__parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return DBR_OK;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return DBR_OK;
		}
	}
	return DBR_E_CONFIG;
}

char *dbr__path_join(const char *dir, const char *rel)
{
	size_t a, b;
	char *p;

	if (rel[0] == '/' || !dir || !dir[0])
		return dbr__strdup(rel);
	a = strlen(dir);
	b = strlen(rel);
	p = dbr__malloc(a + b + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, rel, b + 1);
	return p;
}

static bool enum_has(const char *choices, const char *s)
{
	size_t n = strlen(s);
	const char *p = choices;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && !strncmp(p, s, n))
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

/* A C identifier: letters, digits and _, not starting with a digit. */
static bool is_ident(const char *s, size_t n)
{
	size_t i;

	if (!n || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/*
 * One item of an EXTENSIONS list, `path[:entry]` (n bytes at item, spaces
 * trimmed): resolved against base_dir, checked as a plugin is, appended to
 * out as "path" or "path<TAB>entry" and a newline.
 */
static int parse_extension(const char *item, size_t n, const char *base_dir,
			   char *out, size_t outsize, char *msg, size_t size)
{
	char rel[PATH_MAX], real[PATH_MAX], *path;
	const char *colon = memrchr(item, ':', n);
	size_t plen = n, used = strlen(out);
	int rc, len;

	if (colon && is_ident(colon + 1, n - (size_t)(colon + 1 - item)))
		plen = (size_t)(colon - item);
	if (!plen || plen >= sizeof(rel) || memchr(item, '\t', n) ||
	    memchr(item, '\n', n)) {
		snprintf(msg, size, "expected path[:entry], ... (item '%.*s')",
			 (int)(n > 200 ? 200 : n), item);
		return DBR_E_CONFIG;
	}
	memcpy(rel, item, plen);
	rel[plen] = '\0';
	path = dbr__path_join(base_dir, rel);
	if (!path)
		return DBR_E_NOMEM;
	rc = dbr__native_check("extension", path, real, sizeof(real), msg,
			       size);
	len = snprintf(out + used, outsize - used, "%s%s%.*s\n", path,
		       plen < n ? "\t" : "", (int)(n - plen - (plen < n)),
		       item + plen + (plen < n));
	dbr__free(path);
	if (!rc && (len < 0 || (size_t)len >= outsize - used)) {
		snprintf(msg, size, "the list is too long");
		rc = DBR_E_CONFIG;
	}
	return rc;
}

/* A comma-separated list of extensions, into val->text. */
static int parse_extensions(const char *text, const char *base_dir,
			    struct dbr__optval *val, char *msg, size_t size)
{
	size_t cap = strlen(text) + 2, n;
	const char *p = text, *end;
	char *out;
	int rc = DBR_OK;

	/* Each item grows by at most the folder, a '/' and its newline. */
	n = 1;
	for (end = strchr(text, ','); end; end = strchr(end + 1, ','))
		n++;
	cap += n * ((base_dir ? strlen(base_dir) : 0) + 2);
	out = dbr__malloc(cap);
	if (!out)
		return DBR_E_NOMEM;
	out[0] = '\0';
	while (!rc && *p) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		rc = parse_extension(p, n, base_dir, out, cap, msg, size);
		p = *end ? end + 1 : end;
	}
	if (rc || !out[0]) {
		if (!rc)
			snprintf(msg, size, "expected path[:entry], ...");
		dbr__free(out);
		return rc ? rc : DBR_E_CONFIG;
	}
	val->text = out;
	return DBR_OK;
}

static bool has_range(const struct dbr_option_decl *d)
{
	return d->min != 0 || d->max != 0;
}

static int bad_number(const struct dbr_option_decl *d, char *msg, size_t size)
{
	const char *what =
		d->kind == DBR_OPT_INT ? "an integer" : "a number of seconds";

	if (has_range(d))
		snprintf(msg, size, "expected %s from %g to %g", what, d->min,
			 d->max);
	else
		snprintf(msg, size, "expected %s", what);
	return DBR_E_CONFIG;
}

static int parse_kind(const struct dbr_option_decl *d, const char *text,
		      const char *base_dir, struct dbr__optval *val, char *msg,
		      size_t size)
{
	switch (d->kind) {
	case DBR_OPT_INT:
		if (dbr__parse_int64(text, &val->v.i) ||
		    (has_range(d) &&
		     ((double)val->v.i < d->min || (double)val->v.i > d->max)))
			return bad_number(d, msg, size);
		return DBR_OK;
	case DBR_OPT_SECONDS:
		if (dbr__parse_seconds(text, &val->v.d) ||
		    (has_range(d) && (val->v.d < d->min || val->v.d > d->max)))
			return bad_number(d, msg, size);
		return DBR_OK;
	case DBR_OPT_BOOL:
		if (dbr__parse_bool(text, &val->v.b)) {
			snprintf(msg, size,
				 "expected true/false, yes/no, on/off or 1/0");
			return DBR_E_CONFIG;
		}
		return DBR_OK;
	case DBR_OPT_ENUM:
		if (!enum_has(d->choices, text)) {
			snprintf(msg, size, "expected one of %s", d->choices);
			return DBR_E_CONFIG;
		}
		break;
	case DBR_OPT_PATH:
		if (!*text) {
			snprintf(msg, size, "expected a path");
			return DBR_E_CONFIG;
		}
		val->text = dbr__path_join(base_dir, text);
		return val->text ? DBR_OK : DBR_E_NOMEM;
	case DBR_OPT_EXTENSIONS:
		return parse_extensions(text, base_dir, val, msg, size);
	case DBR_OPT_TEXT: break;
	default:
		snprintf(msg, size, "option of unknown kind %d", d->kind);
		return DBR_E_CONFIG;
	}
	val->text = dbr__strdup(text);
	return val->text ? DBR_OK : DBR_E_NOMEM;
}

int dbr__opt_parse(const struct dbr_option_decl *decl, const char *text,
		   const char *base_dir, struct dbr__optval *val, char *msg,
		   size_t msgsize)
{
	int rc;

	dbr__optval_release(val);
	val->decl = decl;
	if (!*text && decl->kind != DBR_OPT_TEXT) {
		snprintf(msg, msgsize, "empty value");
		return DBR_E_CONFIG;
	}
	rc = parse_kind(decl, text, base_dir, val, msg, msgsize);
	if (rc == DBR_E_NOMEM)
		snprintf(msg, msgsize, "out of memory");
	val->isset = rc == DBR_OK;
	return rc;
}

int dbr__opt_default(const struct dbr_option_decl *decl, const char *base_dir,
		     struct dbr__optval *val)
{
	char msg[128];
	int rc;

	dbr__optval_release(val);
	val->decl = decl;
	if (!decl->default_value)
		return DBR_OK;
	rc = dbr__opt_parse(decl, decl->default_value, base_dir, val, msg,
			    sizeof(msg));
	val->line = 0;
	return rc;
}

void dbr__optval_release(struct dbr__optval *val)
{
	dbr__free(val->text);
	val->text = NULL;
	val->isset = false;
	val->line = 0;
	val->v.i = 0;
}

const struct dbr_option_decl *dbr__opt_find(const struct dbr_option_decl *decls,
					    const char *name)
{
	for (; decls && decls->name; decls++)
		if (!strcmp(decls->name, name))
			return decls;
	return NULL;
}

size_t dbr__opt_count(const struct dbr_option_decl *decls)
{
	size_t n = 0;

	while (decls && decls[n].name)
		n++;
	return n;
}
