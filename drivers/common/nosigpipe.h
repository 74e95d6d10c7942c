/*
 * nosigpipe.h - writing to a peer that may have gone (a socket, a FIFO)
 * without SIGPIPE reaching the application, whose default action ends
 * the process. Shared by the Redis driver (hiredis writes with plain
 * write()) and the core's audit file (which may be a FIFO). It uses only
 * the C library and POSIX threads.
 */
#ifndef DBR_NOSIGPIPE_H
#define DBR_NOSIGPIPE_H

#include <signal.h>
#include <stdbool.h>

struct dbr_nosigpipe {
	sigset_t old;	  /* the thread's mask before */
	bool was_pending; /* a SIGPIPE was pending already: not ours */
};

/* Block SIGPIPE on the calling thread until dbr_nosigpipe_end(). */
void dbr_nosigpipe_begin(struct dbr_nosigpipe *s);

/*
 * Restore the thread's mask. When a write `failed`, the SIGPIPE it raised
 * (pending on the thread) is consumed first, unless one was pending
 * before begin (someone else's). errno is kept.
 */
void dbr_nosigpipe_end(struct dbr_nosigpipe *s, bool failed);

#endif /* DBR_NOSIGPIPE_H */
