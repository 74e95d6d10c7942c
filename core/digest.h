/*
 * digest.h - the row digest that verifies a chat move (docs/moving-chats.md,
 * "The digest"): each value encoded canonically, each row hashed with
 * keyed SipHash-2-4 (libsodium's crypto_shorthash), a table's rows folded
 * into (count, sum of the hashes mod 2^64, xor of the hashes), which does
 * not depend on the rows' order.
 */
#ifndef DBR_DIGEST_H
#define DBR_DIGEST_H

#include "internal.h"

/* A row's canonical encoding, grown as needed; reused row after row. */
struct dbr__digest_buf {
	unsigned char *v;
	size_t len, cap;
};

/*
 * Append value v's canonical encoding to b: a type tag byte (enum
 * dbr_type: 0 NULL, whatever type a typed NULL carries, 1 integer, 2
 * double, 3 text, 4 blob, 5 bool, 6 timestamp); an integer and a
 * timestamp (UTC microseconds) as 8 bytes big-endian; a double as its
 * IEEE bits big-endian, -0.0 as 0.0 and every NaN as the quiet NaN
 * 0x7ff8000000000000; a bool as one byte, 0 or 1; text and blobs as their
 * length (8 bytes big-endian) and their bytes. Returns DBR_OK,
 * DBR_E_NOMEM, or DBR_E_UNSUPPORTED for another type.
 */
int dbr__digest_value(struct dbr__digest_buf *b, const struct dbr_value *v);

/* The keyed SipHash-2-4 of b's bytes, read little-endian. */
uint64_t dbr__digest_hash(const struct dbr__digest_buf *b,
			  const unsigned char key[16]);

/* Fold one row's hash into d. */
void dbr__digest_add(struct dbr_move_digest *d, uint64_t h);

void dbr__digest_buf_release(struct dbr__digest_buf *b);

#endif /* DBR_DIGEST_H */
