/*
 * value.h - dbroute's own rule for comparing values (the same for every
 * driver), and owned copies of values.
 */
#ifndef DBR_VALUE_H
#define DBR_VALUE_H

#include "internal.h"

/*
 * Compare by dbroute's rule: NULL first, then numbers (int64 and double
 * compared numerically), then text, then blobs; text and blobs by bytes, a
 * prefix before the longer value. Returns <0, 0 or >0.
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
