/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-client rate limits: a token bucket (queries per second with a
 * burst) and a quota of queries per UTC day, and response-rate limiting
 * (RRL) per client network (/24, /56) against reflection attacks.
 *
 * One table serves every worker thread, without a lock: a slot is one
 * 64-bit word changed by compare-and-swap (a GCRA bucket: its
 * theoretical arrival time; a quota: its day and count), so a passing
 * query costs one CAS on the client's slot and a limited one none.  The
 * limits are global per client however the kernel spreads its source
 * ports over the workers.  Its size is fixed (4-way sets of slots
 * indexed by a keyed hash; a new client takes the way whose bucket is
 * the fullest), so a flood of spoofed sources costs no memory; they only
 * push each other (and idle clients, who lose nothing) out.
 */
#ifndef RESOLVERD_RATELIMIT_H
#define RESOLVERD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rl_policy {
	RL_REFUSED = 0,
	RL_DROP,
	RL_A
};

struct rl_params {
	uint32_t rate; /* queries per second per client; 0: no limit */
	uint32_t burst; /* bucket size; 0: rate */
	uint64_t quota; /* queries per client per UTC day; 0: none;
			   at most RL_QUOTA_MAX */
	enum rl_policy policy; /* the answer past a limit */
	uint32_t over_a; /* RL_A: the A value (host order) */
	uint32_t rrl; /* responses per second per /24 or /56; 0: off */
	uint32_t rrl_slip; /* every slip-th limited answer goes out with
			      TC set and no records; 0: all dropped */
};

enum rl_verdict {
	RL_PASS = 0,
	RL_LIMITED,
	RL_OVER_QUOTA
};
enum rrl_verdict {
	RRL_PASS = 0,
	RRL_DROP,
	RRL_SLIP
};

struct rl_table;
#define RL_QUOTA_MAX 4294967294ull

/* A table of about nslots clients, shared by all threads; NULL on
 * ENOMEM. */
struct rl_table *rl_table_new(size_t nslots);
void rl_table_free(struct rl_table *t);

/* May client (4 or 16 bytes) ask one more query at now_us (unix time,
 * microseconds)?  A query past the rate still counts in the quota. */
enum rl_verdict rl_check(struct rl_table *t, const struct rl_params *p,
    const uint8_t *client, size_t clen, uint64_t now_us);
/* May an answer go to client's network?  (UDP only.)  *limited counts
 * the caller's limited answers, for the slip (a thread's own). */
enum rrl_verdict rrl_check(struct rl_table *t, const struct rl_params *p,
    const uint8_t *client, size_t clen, uint64_t now_us, uint32_t *limited);

/* Parse "refused", "drop" or "A 127.0.0.255" into p; 0 or -1. */
int rl_parse_policy(struct rl_params *p, const char *s);

#endif /* RESOLVERD_RATELIMIT_H */
