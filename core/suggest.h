/*
 * suggest.h - "did you mean" for configuration keys, source names, CLI
 * commands and options.
 */
#ifndef DBR_SUGGEST_H
#define DBR_SUGGEST_H

#include <stddef.h>

/*
 * The candidate nearest to `word` by edit distance (with transpositions),
 * when near enough to be a likely typo; NULL otherwise. `cands` is an
 * array of n names.
 */
const char *dbr__suggest(const char *word, const char *const *cands, size_t n);

#endif /* DBR_SUGGEST_H */
