/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Query counters in rbldnsd's model (REFERENCE-rbldnsd.md section 7): per
 * zone and global, queries ok (NOERROR, NODATA included), nxd, err (the
 * rest, dropped garbage included), and DNS payload bytes in and out.
 * Workers count into a private struct stats_local without locking and
 * flush it into the shared struct stats about once a second.
 */
#ifndef RESOLVERD_STATS_H
#define RESOLVERD_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "zones.h"

#define STATS_ZONES_MAX 1024

struct stats_counters {
	uint64_t q, ok, nxd, in, out;
};

struct stats;

/* Shared counters; NULL and errno on failure.  stats_free(NULL) no-op. */
struct stats *stats_new(void);
void stats_free(struct stats *s);

/*
 * rbldnsd's SIGUSR1 report, one line each to f: per zone "stats for
 * 143secs zone bl.test: tot=3 ok=1 nxd=1 err=1 in=153 out=100" (first the
 * zones named in zones[], counted or not, then any other counted), then
 * the global "stats for 143sec: ..." line; the time is since the start
 * or the last reset.  With reset set (SIGUSR2) every counter restarts
 * from zero afterwards, the stats file's delta base too.  0 or -errno.
 */
int stats_log(struct stats *s, FILE *f, time_t now, const char *const *zones,
    size_t nzones, bool reset);

/*
 * Write one line of rbldnsd's stats file format to f:
 * "TIME zone:qtot:qok:qnxd:bin:bout ... *:qtot:qok:qnxd:bin:bout", or
 * with delta set, the counts since the previous line.  bare writes just
 * "TIME".  Thread-safe.  0 or -errno.
 */
int stats_write(struct stats *s, FILE *f, time_t now, bool delta, bool bare);

/* A worker's private counters, keyed by zone. */
struct stats_slot {
	const struct zn_zone *z; /* NULL when the zone table changed */
	char name[ZN_NAME_MAX + 1];
	struct stats_counters c;
};
struct stats_local {
	size_t n;
	struct stats_slot slot[64];
	struct stats_counters global;
	size_t last;
};

/* Count one query: zone (may be NULL), the rcode sent or dropped. */
void stats_local_count(struct stats_local *l, const struct zn_zone *z,
    bool dropped, int rcode, size_t in, size_t out);
/* The zone table changed: forget the zone pointers (names stay). */
void stats_local_invalidate(struct stats_local *l);
/* Add l to s and zero l.  Takes s's lock once. */
void stats_local_flush(struct stats_local *l, struct stats *s);

#endif /* RESOLVERD_STATS_H */
