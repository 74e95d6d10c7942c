/*
 * value.c - comparing, copying and encoding values.
 */
#include <math.h>
#include <string.h>

#include "timestamp.h"
#include "value.h"

static int rank(int type)
{
	switch (type) {
	case DBR_TYPE_INT64:
	case DBR_TYPE_BOOL:
	case DBR_TYPE_DOUBLE: return 1;
	case DBR_TYPE_TEXT:
	case DBR_TYPE_TIMESTAMP: return 2;
	case DBR_TYPE_BLOB: return 3;
	default: return 0;
	}
}

/*
 * An int64 against a double, exactly, with no wider type: outside
 * [-2^63, 2^63) the double is beyond every int64; inside, its integral
 * part converts exactly and its fraction breaks a tie. NaN sorts first.
 */
static int cmp_int_double(int64_t i, double d)
{
	double t;
	int64_t ti;

	if (isnan(d))
		return 1;
	if (d >= 9223372036854775808.0)
		return -1;
	if (d < -9223372036854775808.0)
		return 1;
	t = trunc(d);
	ti = (int64_t)t;
	if (i != ti)
		return i < ti ? -1 : 1;
	return d > t ? -1 : d < t;
}

/* A bool compares as the integer 0 or 1. */
static bool integral(const struct dbr_value *v)
{
	return v->type != DBR_TYPE_DOUBLE;
}

static int cmp_numbers(const struct dbr_value *a, const struct dbr_value *b)
{
	double x, y;

	if (integral(a) && integral(b))
		return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
	if (integral(a))
		return cmp_int_double(a->u.i, b->u.d);
	if (integral(b))
		return -cmp_int_double(b->u.i, a->u.d);
	x = a->u.d;
	y = b->u.d;
	if (isnan(x) || isnan(y))
		return isnan(y) - isnan(x);
	return x < y ? -1 : x > y;
}

/*
 * A timestamp as text (its text form, which sorts as times do), in buf,
 * so that it compares with the text another engine gave for the same
 * time; any other value as it is.
 */
static const struct dbr_value *as_text(const struct dbr_value *v,
				       struct dbr_value *tmp, char *buf)
{
	if (v->type != DBR_TYPE_TIMESTAMP)
		return v;
	*tmp = dbr_text(buf, dbr_ts_format(v->u.i, buf));
	return tmp;
}

int dbr__value_cmp(const struct dbr_value *a, const struct dbr_value *b)
{
	int ra = rank(a->type), rb = rank(b->type), c;
	char abuf[DBR_TS_TEXT_SIZE], bbuf[DBR_TS_TEXT_SIZE];
	struct dbr_value at, bt;
	size_t n;

	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (ra == 0)
		return 0;
	if (ra == 1)
		return cmp_numbers(a, b);
	if (a->type == DBR_TYPE_TIMESTAMP && b->type == DBR_TYPE_TIMESTAMP)
		return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
	a = as_text(a, &at, abuf);
	b = as_text(b, &bt, bbuf);
	n = a->len < b->len ? a->len : b->len;
	c = n ? memcmp(a->u.b, b->u.b, n) : 0;
	if (c)
		return c < 0 ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int put(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (dbr__grow(buf, cap, *len + n + 1, 1))
		return DBR_E_NOMEM;
	if (n)
		memcpy(*buf + *len, p, n);
	*len += n;
	return DBR_OK;
}

int dbr__value_encode(const struct dbr_value *v, char **buf, size_t *len,
		      size_t *cap)
{
	char tag = (char)('0' + v->type), text[DBR_TS_TEXT_SIZE];
	struct dbr_value tmp;
	int64_t i;
	size_t n;

	/* As they compare: a bool as its integer, a timestamp as its text. */
	if (v->type == DBR_TYPE_BOOL) {
		tmp = dbr_int64(v->u.i);
		v = &tmp;
		tag = (char)('0' + DBR_TYPE_INT64);
	} else if (v->type == DBR_TYPE_TIMESTAMP) {
		v = as_text(v, &tmp, text);
		tag = (char)('0' + DBR_TYPE_TEXT);
	}
	n = v->len;
	if (v->type == DBR_TYPE_DOUBLE && v->u.d >= -9.2233720368547758e18 &&
	    v->u.d < 9.2233720368547758e18 && v->u.d == floor(v->u.d)) {
		i = (int64_t)v->u.d;
		tag = (char)('0' + DBR_TYPE_INT64);
		if (put(buf, len, cap, &tag, 1))
			return DBR_E_NOMEM;
		return put(buf, len, cap, &i, sizeof(i));
	}
	if (put(buf, len, cap, &tag, 1))
		return DBR_E_NOMEM;
	switch (v->type) {
	case DBR_TYPE_INT64: return put(buf, len, cap, &v->u.i, sizeof(v->u.i));
	case DBR_TYPE_DOUBLE:
		return put(buf, len, cap, &v->u.d, sizeof(v->u.d));
	case DBR_TYPE_TEXT:
	case DBR_TYPE_BLOB:
		if (put(buf, len, cap, &n, sizeof(n)))
			return DBR_E_NOMEM;
		return put(buf, len, cap, v->u.b, n);
	default: return DBR_OK;
	}
}

int dbr__values_set(struct dbr__values *dst, const struct dbr_value *src,
		    size_t n)
{
	size_t i, need = 0;

	for (i = 0; i < n; i++)
		if (src[i].type == DBR_TYPE_TEXT ||
		    src[i].type == DBR_TYPE_BLOB)
			need += src[i].len + 1;
	if (dbr__grow(&dst->v, &dst->vcap, n ? n : 1, sizeof(*dst->v)) ||
	    dbr__grow(&dst->bytes, &dst->cap, need + 1, 1))
		return DBR_E_NOMEM;
	dst->len = 0;
	for (i = 0; i < n; i++) {
		dst->v[i] = src[i];
		if (src[i].type != DBR_TYPE_TEXT &&
		    src[i].type != DBR_TYPE_BLOB)
			continue;
		if (src[i].len)
			memcpy(dst->bytes + dst->len, src[i].u.b, src[i].len);
		dst->bytes[dst->len + src[i].len] = '\0';
		dst->v[i].u.b = dst->bytes + dst->len;
		dst->len += src[i].len + 1;
	}
	dst->n = n;
	return DBR_OK;
}

int dbr__values_check(const struct dbr_value *p, size_t n,
		      struct dbr_error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i].type == DBR_TYPE_TIMESTAMP &&
		    !dbr_ts_in_range(p[i].u.i))
			return dbr__error_set(err, DBR_E_MISUSE, NULL,
					      "parameter %zu: timestamp %lld "
					      "is outside years 1000 to 9999",
					      i + 1, (long long)p[i].u.i);
	return DBR_OK;
}

int dbr__values_downgrade(struct dbr__values *dst, const struct dbr_value *p,
			  size_t n)
{
	size_t i, need = 1;

	for (i = 0; i < n; i++)
		if (p[i].type == DBR_TYPE_TIMESTAMP)
			need += DBR_TS_TEXT_SIZE;
	if (dbr__grow(&dst->v, &dst->vcap, n ? n : 1, sizeof(*dst->v)) ||
	    dbr__grow(&dst->bytes, &dst->cap, need, 1))
		return DBR_E_NOMEM;
	dst->len = 0;
	for (i = 0; i < n; i++) {
		char *at = dst->bytes + dst->len;

		switch (p[i].type) {
		case DBR_TYPE_NULL: dst->v[i] = dbr_null(); break;
		case DBR_TYPE_BOOL: dst->v[i] = dbr_int64(p[i].u.i != 0); break;
		case DBR_TYPE_TIMESTAMP:
			dst->v[i] = dbr_text(at, dbr_ts_format(p[i].u.i, at));
			dst->len += DBR_TS_TEXT_SIZE;
			break;
		default: dst->v[i] = p[i]; break;
		}
	}
	dst->n = n;
	return DBR_OK;
}

void dbr__values_release(struct dbr__values *dst)
{
	dbr__free(dst->v);
	dbr__free(dst->bytes);
	memset(dst, 0, sizeof(*dst));
}

int dbr_timestamp_format(int64_t us, char *buf, size_t cap)
{
	if (buf && cap)
		buf[0] = '\0';
	if (!buf || cap < DBR_TIMESTAMP_TEXT_SIZE || !dbr_ts_format(us, buf))
		return DBR_E_MISUSE;
	return DBR_OK;
}

int dbr_timestamp_parse(const char *s, size_t len, int64_t *us)
{
	if (!s || !us || !dbr_ts_parse(s, len, us))
		return DBR_E_MISUSE;
	return DBR_OK;
}
