/*
 * suggest.c - "did you mean": the nearest name by edit distance. Depends
 * on the C library only, so the CLI compiles it too (it cannot reach the
 * library's hidden symbols).
 */
#include <string.h>

#include "suggest.h"

/* Edit distance with transpositions, on names no longer than 64 bytes. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	unsigned char d[65][65];

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (i = 0; i <= la; i++)
		d[i][0] = (unsigned char)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (unsigned char)j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			unsigned cost = a[i - 1] != b[j - 1] ? 1u : 0u;
			unsigned best = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1u < best)
				best = d[i - 1][j] + 1u;
			if (d[i][j - 1] + 1u < best)
				best = d[i][j - 1] + 1u;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1u < best)
				best = d[i - 2][j - 2] + 1u;
			d[i][j] = (unsigned char)best;
		}
	}
	return d[la][lb];
}

const char *dbr__suggest(const char *word, const char *const *cands, size_t n)
{
	size_t i, best = (size_t)-1, limit = strlen(word) / 3;
	const char *pick = NULL;

	if (limit < 2)
		limit = 2;
	for (i = 0; i < n; i++) {
		size_t d = distance(word, cands[i]);

		if (d < best) {
			best = d;
			pick = cands[i];
		}
	}
	return best <= limit ? pick : NULL;
}
