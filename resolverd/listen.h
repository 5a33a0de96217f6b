/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Listeners and worker threads.  Every worker has its own event base, its
 * own SO_REUSEPORT UDP and TCP socket per address (the kernel spreads the
 * clients over them) and its own read view of the database, renewed
 * before each batch of packets so that a committed update is answered
 * within milliseconds, and released once its socket is drained so that an
 * idle worker holds no snapshot that would make the database file grow.  UDP is read and written 32 packets at a time with
 * recvmmsg/sendmmsg into fixed per-worker buffers: nothing is allocated
 * per UDP packet.
 *
 * Sockets are opened (and bound) with listen_open before privileges are
 * dropped; workers start with listen_start after.
 */
#ifndef RESOLVERD_LISTEN_H
#define RESOLVERD_LISTEN_H

#include <stddef.h>

#include "conf.h"
#include "qlog.h"
#include "query.h"
#include "stats.h"
#include "zones.h"

#define LISTEN_BATCH 32 /* packets per recvmmsg/sendmmsg */
#define LISTEN_TCP_IDLE 10 /* seconds a TCP connection may stay idle */
#define LISTEN_TCP_MAX 256 /* TCP connections per worker */
#define LISTEN_QUERY_MAX 4096 /* larger queries are dropped / closed */

struct listen;

/*
 * Create and bind the UDP and TCP sockets of nthreads workers on every
 * address (IPV6_V6ONLY on IPv6).  0 or a negative errno; err explains.
 */
int listen_open(const struct cfg_addr *addrs, size_t naddrs, unsigned nthreads,
    struct listen **out, char *err, size_t errlen);

/*
 * Publish the answering parameters.  Copied (the version string too), so
 * the caller may free qc afterwards; workers pick them up at their next
 * batch.  Thread-safe.
 */
void listen_set_cfg(struct listen *l, const struct query_cfg *qc);

/*
 * Start the workers.  Each opens its own view of db; qlog and stats are
 * borrowed and must outlive listen_close.  Returns when every worker is
 * ready: 0, or a negative errno when one could not start (the others are
 * stopped again).
 */
int listen_start(struct listen *l, struct zn_db *db, struct qlog *qlog,
    struct stats *stats);

/*
 * Answer through acct.c (ACLs, rate limits, accounting): call before
 * listen_start; a is borrowed and must outlive listen_close.
 */
struct acct;
void listen_set_acct(struct listen *l, struct acct *a);

/*
 * Forward what query_answer says to forward through u (upstream.h): call
 * before listen_start; u must be stopped (upstream_stop) before
 * listen_close and freed after it.
 */
struct upstream;
void listen_set_upstream(struct listen *l, struct upstream *u);

/* Stop and join the workers, close every socket, free l.  NULL: no-op. */
void listen_close(struct listen *l);

#endif /* RESOLVERD_LISTEN_H */
