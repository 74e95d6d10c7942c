/*
 * nosigpipe.c - SIGPIPE blocked around a write, and a SIGPIPE the write
 * raised consumed before the mask is restored.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "nosigpipe.h"

void dbr_nosigpipe_begin(struct dbr_nosigpipe *s)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &s->old);
	s->was_pending = false;
	if (sigismember(&s->old, SIGPIPE) && !sigpending(&pending))
		s->was_pending = sigismember(&pending, SIGPIPE);
}

void dbr_nosigpipe_end(struct dbr_nosigpipe *s, bool failed)
{
	static const struct timespec now = { 0, 0 };
	sigset_t pipe, pending;
	int saved = errno;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	if (failed && !s->was_pending && !sigpending(&pending) &&
	    sigismember(&pending, SIGPIPE))
		sigtimedwait(&pipe, NULL, &now);
	pthread_sigmask(SIG_SETMASK, &s->old, NULL);
	errno = saved;
}
