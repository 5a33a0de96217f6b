/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Answering one DNS query: a pure function from the query bytes, the
 * client address, a read view of the mirror and the configuration to the
 * answer bytes or "drop".  No I/O, no allocation, no clock: unit tests and
 * fuzzers call it directly.
 */
#ifndef RESOLVERD_QUERY_H
#define RESOLVERD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones.h"

#define QUERY_EDNS_DEFAULT 1232 /* largest UDP answer we send by default */
#define QUERY_MAX_TCP 65535
#define QUERY_FWD_MAX 64

enum query_fwd_mode {
	QUERY_FWD_FORWARD = 1, /* upstream only */
	QUERY_FWD_FALLBACK = 2, /* the mirror while it is there and fresh */
	QUERY_FWD_FEED = 3, /* mode = feed or files-from: no upstream;
			       SERVFAIL until zonesync has written the zone */
};

/* A zone answered by upstream servers (upstream.c asks them). */
struct query_fwd {
	char name[ZN_NAME_MAX + 1]; /* lower-case, no trailing dot */
	unsigned nlabels;
	int mode; /* enum query_fwd_mode */
	uint32_t grace; /* FALLBACK: an expired mirror is answered so long */
};

struct query_cfg {
	uint32_t ttl_def; /* TTL when the data has none (rbldnsd -t, 2100) */
	uint32_t ttl_min; /* clamps applied to TTLs from data; 0: none */
	uint32_t ttl_max;
	bool lazy; /* rbldnsd -a: no NS/glue in positive answers */
	const char *version; /* version.bind/version.server TXT; NULL:
				REFUSED (hidden) */
	uint16_t edns_size; /* our UDP payload limit, >= 512 */
	const struct query_fwd *fwd; /* zones with upstreams; may be NULL */
	size_t nfwd;
	int64_t now; /* unix time: is a mirror past its $TIMESTAMP expiry */
};

/* What happened, for the query log and the statistics. */
struct query_info {
	bool dropped; /* no answer is sent */
	int rcode; /* RCODE sent (incl. extended: 16 = BADVERS) */
	uint16_t qtype; /* 0 if the question could not be parsed */
	uint16_t qclass;
	unsigned ancount;
	bool listed; /* A/TXT values found */
	bool truncated; /* TC set */
	const struct zn_zone *zone; /* matched zone or NULL */
	char qname[256]; /* presentation, lower-cased, unescaped bytes;
			      escape before logging */
	/* forward: 0 was returned, but not to drop: the answer is for
	 * upstream.c to give, from its cache or an upstream server */
	bool forward;
	unsigned fwd_zone; /* index into cfg->fwd */
	unsigned fwd_nkey; /* labels left of the zone */
	size_t fwd_qend; /* end of the question in the query */
	size_t fwd_limit; /* the answer's size limit, our OPT included */
	bool fwd_edns, fwd_do; /* the query had EDNS, the DO bit */
	bool cached; /* upstream_query answered it from the cache */
};

/*
 * Answer the query in pkt[0..len) from client (4 or 16 address bytes)
 * over UDP (tcp false: the answer is cut to the client's EDNS size or 512
 * bytes and TC is set when it does not fit) or TCP.  Writes at most
 * outsize bytes to out.  Returns the answer length, or 0 to drop the
 * packet silently.  info (may be NULL) says what was done; 0 with
 * info->forward set means the query is for a zone of cfg->fwd (a forward
 * zone, or a mirror+fallback zone whose mirror is missing or expired)
 * and someone else answers it.
 */
size_t query_answer(const struct query_cfg *cfg, const struct zn_view *v,
    const uint8_t *pkt, size_t len, const uint8_t *client, size_t clen,
    bool tcp, uint8_t *out, size_t outsize, struct query_info *info);

#endif /* RESOLVERD_QUERY_H */
