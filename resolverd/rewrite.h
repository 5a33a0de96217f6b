/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Between a client's question and an upstream server's answer, with no
 * I/O (upstream.c does that): the name asked upstream (the zone's labels
 * replaced by the rewrite suffix, Spamhaus DQS style), the query sent,
 * the check of an upstream answer (ldns parses every one; anything
 * malformed is a failure), and its translation back into the client's
 * namespace as an answer body that the cache keeps and rw_render turns
 * into the client's answer.
 *
 * A body holds answer records, then at most one SOA in the authority
 * section.  Every owner is a two-byte compression pointer into the
 * client's question (the question name for answers, the zone apex for
 * the SOA), so the client's letter case is echoed and nothing of the
 * upstream name, nor the rewrite key, reaches the client.
 */
#ifndef RESOLVERD_REWRITE_H
#define RESOLVERD_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define RW_NAME_MAX 255 /* wire name */
#define RW_QUESTION_MAX (12 + RW_NAME_MAX + 4) /* header and question */
#define RW_BODY_MAX 32768
#define RW_EDNS_SIZE 1232 /* what we ask upstreams to send over UDP */

/* What rw_answer needs to know of a zone. */
struct rw_zone {
	const char *name; /* the zone, lower-case, no trailing dot */
	const char *rewrite; /* the upstream suffix, or NULL */
	const struct cfg_net4 *errcodes;
	size_t nerrcodes;
	uint32_t ttl_min, ttl_max, neg_ttl; /* 0: none */
};

/* A question asked upstream, as sent. */
struct rw_question {
	uint8_t name[RW_NAME_MAX]; /* wire, lower-case */
	size_t nlen;
	uint16_t qtype;
	uint16_t apex; /* offset of the zone in the client's question */
};

enum rw_verdict {
	RW_OK, /* a usable answer: out is filled */
	RW_ERRCODE, /* an error code, not a listing: out->errcode */
	RW_TRUNC, /* TC: ask the same server over TCP */
	RW_FAIL, /* malformed, or an rcode other than NOERROR/NXDOMAIN */
	RW_IGNORE, /* not an answer to this query: keep waiting */
};

/* Why an answer was ignored, failed, or lost records. */
enum rw_why {
	RW_WHY_NONE = 0,
	RW_WHY_SHORT, /* shorter than a header */
	RW_WHY_NOTANSWER, /* QR clear, or an opcode other than QUERY */
	RW_WHY_ID, /* another query ID */
	RW_WHY_QUESTION, /* another question, or none */
	RW_WHY_MALFORMED, /* ldns could not parse it */
	RW_WHY_RCODE, /* SERVFAIL, REFUSED, FORMERR, ... */
	RW_WHY_FOREIGN, /* records, none of them for the name asked */
	RW_WHY_NMAX,
};

struct rw_answer {
	enum rw_why why;
	uint8_t rcode; /* the upstream's */
	uint16_t an, ns; /* records in body */
	bool negative; /* NXDOMAIN or NODATA */
	uint32_t ttl; /* how long it may be cached; 0: not at all */
	uint32_t errcode; /* RW_ERRCODE: the A value (host order) */
	unsigned foreign; /* records left out: other names, types */
	unsigned secret; /* records whose data held the key (masked) */
	size_t blen;
	uint8_t body[RW_BODY_MAX];
};

/*
 * The name to ask upstream for a client's question name (wire, any case,
 * qlen bytes, nkey labels left of zone z): those labels, lower-cased,
 * then z->rewrite or z->name.  Fills q (qtype too).  0, or -EINVAL when
 * the name is malformed or too long once rewritten.
 */
int rw_question(const struct rw_zone *z, const uint8_t *qname, size_t qlen,
    unsigned nkey, uint16_t qtype, struct rw_question *q);

/* The cache key of a question: qtype and the lower-cased client name
 * (wire).  Returns its length, or 0 if it does not fit. */
size_t rw_cache_key(const uint8_t *qname, size_t qlen, uint16_t qtype,
    uint8_t *key, size_t size);

/*
 * A query for q with ID id, RD set, and an OPT (our UDP size, no flags)
 * when edns.  Returns its length, or 0 if size is too small.
 */
size_t rw_query(const struct rw_question *q, uint16_t id, bool edns,
    uint8_t *out, size_t size);

/*
 * Check an upstream answer to the query (q, id) and translate it for the
 * client: answer records of q's name and type (any type but CNAME, DNAME
 * and DNSSEC records for ANY), with the smallest of their TTLs, clamped;
 * for NXDOMAIN and NODATA the SOA of the authority section, owned by the
 * zone apex, its names under the rewrite suffix put back under the zone,
 * cached for min(TTL, MINIMUM) per RFC 2308 and at most neg_ttl (no SOA:
 * not cached).  Records of other names are left out and counted; an
 * answer that has records but none of the name asked fails
 * (RW_WHY_FOREIGN).  The rewrite key (its first label) is masked with
 * '*' wherever record data holds it, alone, with the record's TTL and
 * length bytes, or in its strings and labels joined, in text bytes only
 * so every length byte stays right (counted in secret); a copy with no
 * text byte to mask fails the answer (RW_WHY_MALFORMED; in the SOA of
 * a negative answer, leaves the SOA out).
 */
enum rw_verdict rw_answer(const struct rw_zone *z, const struct rw_question *q,
    uint16_t id, const uint8_t *pkt, size_t len, struct rw_answer *out);

/* The client's side of an answer. */
struct rw_client {
	uint8_t q[RW_QUESTION_MAX]; /* header and question as sent */
	size_t qend;
	size_t limit; /* answer size limit, OPT included */
	bool edns, do_bit;
	uint16_t edns_size; /* ours, in the OPT we send */
};

/*
 * The client's answer: its ID, opcode, RD and question, rcode, AA for
 * NOERROR and NXDOMAIN, the body's records with their TTLs less age
 * (CACHE_STALE_TTL for a stale answer), an OPT when the query had EDNS.
 * When it does not fit c->limit, TC and the question only.  Returns the
 * length, or 0 if out is too small even for that.  *tc says if TC is set.
 */
size_t rw_render(const struct rw_client *c, uint8_t rcode, uint16_t an,
    uint16_t ns, const uint8_t *body, size_t blen, uint32_t age, bool stale,
    uint8_t *out, size_t outsize, bool *tc);

/* Is the A value a (host order) in the zone's error codes? */
bool rw_is_errcode(const struct rw_zone *z, uint32_t a);

/* A short name for counters and logs: "bad-id", "malformed", ... */
const char *rw_why_name(enum rw_why why);

#endif /* RESOLVERD_REWRITE_H */
