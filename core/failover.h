/*
 * failover.h - availability and the fallback policy on the way from a
 * routed source to a connection (DESIGN.md, "Routing rules").
 */
#ifndef DBR_FAILOVER_H
#define DBR_FAILOVER_H

#include "handle.h"

/*
 * Take a connection for an operation routed to s. A source that is down
 * is not waited on: the operation probes it when a probe is due, else it
 * follows the source's fallback policy at once. A source whose connection
 * cannot be opened is marked down. With `may_divert` (not an explicit
 * source, not a transaction) and `fallback = default`, an operation that
 * cannot run on s runs on the default source, when that is of the same
 * kind; *from then names s. Otherwise the call fails with
 * DBR_E_UNAVAILABLE (or the error that showed s down). A pool's wait
 * ends at `by` (CLOCK_MONOTONIC), or, when NULL, after its timeout.
 */
int dbr__failover_take(struct dbr *db, struct dbr_source_config *s,
		       bool may_divert, const struct timespec *by,
		       struct dbr__pconn **pc, struct dbr_source_config **from,
		       struct dbr_error *err);

/*
 * An operation on s failed with DBR_E_CONN: try one immediate reconnect,
 * and mark s down when that fails too. The operation is not sent again.
 */
void dbr__failover_lost(struct dbr *db, struct dbr_source_config *s);

/*
 * The handle closes: each source's diversions that no log line or audit
 * event has counted yet are raised as one DBR_AUDIT_DIVERTED event.
 */
void dbr__failover_flush(struct dbr *db);

#endif /* DBR_FAILOVER_H */
