/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-client rate limits: a token bucket (queries per second with a
 * burst) and a quota of queries per UTC day, and response-rate limiting
 * (RRL) per client network (/24, /56) against reflection attacks.
 *
 * A table belongs to one worker thread and is used without locks.  Its
 * size is fixed (4-way sets; a new client takes the set's least recently
 * seen slot), so a flood of spoofed sources costs no memory; they only
 * push each other out.  Limits are per worker: the kernel hands one UDP
 * flow (source address and port) to one worker, so a client that keeps
 * its socket sees exactly the configured limit, one that spreads its
 * queries over many source ports up to threads times as much.
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
	uint64_t quota; /* queries per client per UTC day; 0: none */
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

/* A table of about nslots clients; NULL on ENOMEM. */
struct rl_table *rl_table_new(size_t nslots);
void rl_table_free(struct rl_table *t);

/* May client (4 or 16 bytes) ask one more query at now_ms? */
enum rl_verdict rl_check(struct rl_table *t, const struct rl_params *p,
    const uint8_t *client, size_t clen, uint64_t now_ms);
/* May an answer go to client's network?  (UDP only.) */
enum rrl_verdict rrl_check(struct rl_table *t, const struct rl_params *p,
    const uint8_t *client, size_t clen, uint64_t now_ms);

/* Parse "refused", "drop" or "A 127.0.0.255" into p; 0 or -1. */
int rl_parse_policy(struct rl_params *p, const char *s);

#endif /* RESOLVERD_RATELIMIT_H */
