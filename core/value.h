/*
 * value.h - dbroute's own rule for comparing values (the same for every
 * driver), and owned copies of values.
 */
#ifndef DBR_VALUE_H
#define DBR_VALUE_H

#include "internal.h"

/*
 * Compare by dbroute's rule: NULL first, then numbers (int64, double and
 * bool, a bool as 0 or 1, compared numerically), then text and
 * timestamps (two timestamps by time; a timestamp and a text as the
 * timestamp's text form, which sorts as times do), then blobs; text and
 * blobs by bytes, a prefix before the longer value. Returns <0, 0 or >0.
 */
int dbr__value_cmp(const struct dbr_value *a, const struct dbr_value *b);

/*
 * Owned copies of n values (text and blob bytes included), reused from
 * call to call: the buffers only grow. Invariant: v[i] text and blob
 * pointers point into bytes; n <= vcap; len <= cap.
 */
struct dbr__values {
	struct dbr_value *v;
	size_t n, vcap;
	char *bytes;
	size_t len, cap;
};

/*
 * More parameters than any SQL backend takes: the core does not read
 * them, since a caller passing a wrong count (the driver refuses it
 * before reading any) must not make the core read past its array. A 2.2
 * driver checks the types it gets itself.
 */
#define DBR__VALUES_SCAN_MAX 65535

/*
 * Whether parameters hold a type that came after driver ABI 2.1 (a bool,
 * a timestamp): the caller then checks them (dbr__values_check()).
 * Inline: every statement's parameters pass here.
 */
static DBR_INLINE bool dbr__values_typed(const struct dbr_value *p, size_t n)
{
	if (DBR_UNLIKELY(n > DBR__VALUES_SCAN_MAX))
		return false;
	while (n--)
		if (DBR_UNLIKELY(p[n].type > DBR_TYPE_BLOB))
			return true;
	return false;
}

/* Refuse a timestamp outside years 1000 to 9999 (DBR_E_MISUSE). */
int dbr__values_check(const struct dbr_value *p, size_t n,
		      struct dbr_error *err);

/*
 * The parameters p[0 .. n) as a driver built before ABI 2.2 can take
 * them, in dst: a bool as int64 0 or 1, a timestamp as its text form,
 * every NULL untyped; the rest as they are (borrowed, not copied).
 */
int dbr__values_downgrade(struct dbr__values *dst, const struct dbr_value *p,
			  size_t n);

int dbr__values_set(struct dbr__values *dst, const struct dbr_value *src,
		    size_t n);
void dbr__values_release(struct dbr__values *dst);

/*
 * Append a canonical encoding of one value to a byte buffer: equal by
 * dbr__value_cmp() means equal bytes (an integral double encodes as the
 * integer). *buf grows as needed.
 */
int dbr__value_encode(const struct dbr_value *v, char **buf, size_t *len,
		      size_t *cap);

#endif /* DBR_VALUE_H */
