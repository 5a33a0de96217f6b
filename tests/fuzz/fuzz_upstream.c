/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target "upstream": an upstream server's answer, as rw_answer()
 * (resolverd/rewrite.c) checks and translates it, and the client's answer
 * rw_render() makes of the result.
 *
 * Input: one flags byte, then the packet as received from the upstream.
 *
 *   bit 0    the zone rewrites to key123.zen.dq.test (else none)
 *   bit 1-2  the question's type: A, TXT, ANY, AAAA
 *   bit 3    no error codes configured
 *   bit 4    TTL clamps 60..3600, negative-ttl 300
 *   bit 5    the query ID is the packet's own (else 0x1234)
 *   bit 6    the client takes 512 bytes (else 64 KiB)
 *   bit 7    the client sent EDNS
 *
 * The question asked is 2.0.0.127 in zen.spamhaus.test.  Checked: the
 * verdict is one of the five; an answer's body is a sequence of an + ns
 * records whose owners are pointers to the question (answers) or to the
 * zone in it (the SOA), whose lengths add up, whose TTLs respect the
 * clamps and are one for all answers; a negative answer has no answer
 * records and at most one SOA; the key is in no body; an error code is
 * only reported with error codes configured; and the rendered client
 * answer parses with ldns with the counts of the body.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "fuzz.h"
#include "rewrite.h"

#define F_REWRITE 0x01
#define F_QTYPE_SHIFT 1
#define F_NOERRCODES 0x08
#define F_CLAMP 0x10
#define F_OWNID 0x20

static const struct cfg_net4 errs[] = {
	{ 0x7fffff00, 0xffffff00 },
	{ 0x7f0001ff, 0xffffffff },
	{ 0x7f0002ff, 0xffffffff },
};

/* 2.0.0.127.zen.spamhaus.test, as a client asks it */
static const uint8_t client_q[] = "\x77\x77\x01\x00\x00\x01\x00\x00\x00\x00"
                                  "\x00\x00"
                                  "\x01"
                                  "2\x01"
                                  "0\x01"
                                  "0\x03"
                                  "127\x03"
                                  "ZEN\x08"
                                  "spamhaus\x04"
                                  "test";

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool
has_key(const uint8_t *p, size_t len)
{
	size_t i, j;

	for (i = 0; i + 6 <= len; i++) {
		for (j = 0; j < 6; j++) {
			uint8_t c = p[i + j];

			if (c >= 'A' && c <= 'Z')
				c += 32;
			if (c != (uint8_t) "key123"[j])
				break;
		}
		if (j == 6)
			return true;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t qtypes[4] = { 1, 16, 255, 28 };
	static struct rw_answer out;
	static uint8_t ans[70000];
	struct rw_zone z = { "zen.spamhaus.test", NULL, errs, 3, 0, 0, 0 };
	struct rw_question q;
	struct rw_client c;
	enum rw_verdict v;
	uint8_t flags;
	uint16_t id = 0x1234;
	size_t off, len;
	unsigned i;
	ldns_pkt *p;
	bool tc;

	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;
	if (flags & F_REWRITE)
		z.rewrite = "key123.zen.dq.test";
	if (flags & F_NOERRCODES)
		z.nerrcodes = 0;
	if (flags & F_CLAMP) {
		z.ttl_min = 60;
		z.ttl_max = 3600;
		z.neg_ttl = 300;
	}
	if ((flags & F_OWNID) && size >= 2)
		id = get16(data);
	FUZZ_CHECK(rw_question(&z, client_q + 12, sizeof(client_q) - 12, 4,
	               qtypes[flags >> F_QTYPE_SHIFT & 3], &q) == 0);
	FUZZ_CHECK(q.apex == 12 + 10);

	v = rw_answer(&z, &q, id, data, size, &out);
	FUZZ_CHECK(v == RW_OK || v == RW_ERRCODE || v == RW_TRUNC ||
	    v == RW_FAIL || v == RW_IGNORE);
	FUZZ_CHECK(
	    (v == RW_FAIL || v == RW_IGNORE) == (out.why != RW_WHY_NONE));
	if (v == RW_ERRCODE)
		FUZZ_CHECK(z.nerrcodes > 0 && out.blen == 0 && out.an == 0);
	if (v != RW_OK)
		return 0;

	/* the body */
	FUZZ_CHECK(out.blen <= sizeof(out.body));
	FUZZ_CHECK(out.rcode == 0 || out.rcode == 3);
	FUZZ_CHECK(!out.negative || out.an == 0);
	FUZZ_CHECK(out.negative || out.an > 0);
	FUZZ_CHECK(out.ns <= 1 && (out.ns == 0 || out.negative));
	FUZZ_CHECK(out.ttl == 0 || out.blen > 0);
	if (z.rewrite != NULL)
		FUZZ_CHECK(!has_key(out.body, out.blen));
	for (i = 0, off = 0; i < (unsigned)out.an + out.ns; i++) {
		uint32_t ttl;

		FUZZ_CHECK(off + 12 <= out.blen);
		FUZZ_CHECK(out.body[off] == 0xc0);
		FUZZ_CHECK(out.body[off + 1] == (i < out.an ? 12 : q.apex));
		FUZZ_CHECK(i < out.an || get16(out.body + off + 2) == 6);
		ttl = (uint32_t)out.body[off + 6] << 24 |
		    (uint32_t)out.body[off + 7] << 16 |
		    (uint32_t)out.body[off + 8] << 8 | out.body[off + 9];
		FUZZ_CHECK(ttl == out.ttl);
		if (z.ttl_max != 0)
			FUZZ_CHECK(ttl <= z.ttl_max);
		if (z.ttl_min != 0 && i < out.an)
			FUZZ_CHECK(ttl >= z.ttl_min);
		off += 12 + get16(out.body + off + 10);
	}
	FUZZ_CHECK(off == out.blen);

	/* the client's answer */
	memset(&c, 0, sizeof(c));
	memcpy(c.q, client_q, sizeof(client_q));
	c.qend = sizeof(client_q);
	c.q[c.qend++] = (uint8_t)(q.qtype >> 8);
	c.q[c.qend++] = (uint8_t)q.qtype;
	c.q[c.qend++] = 0;
	c.q[c.qend++] = 1;
	c.limit = (flags & 0x40) ? 512 : 65535;
	c.edns = (flags & 0x80) != 0;
	c.edns_size = 1232;
	len = rw_render(&c, out.rcode, out.an, out.ns, out.body, out.blen, 7,
	    false, ans, sizeof(ans), &tc);
	FUZZ_CHECK(len > 0 && len <= c.limit);
	FUZZ_CHECK(ldns_wire2pkt(&p, ans, len) == LDNS_STATUS_OK);
	FUZZ_CHECK(ldns_pkt_id(p) == 0x7777);
	FUZZ_CHECK(ldns_pkt_tc(p) == tc);
	FUZZ_CHECK(ldns_pkt_ancount(p) == (tc ? 0 : out.an));
	FUZZ_CHECK(ldns_pkt_nscount(p) == (tc ? 0 : out.ns));
	FUZZ_CHECK(ldns_pkt_edns(p) == c.edns);
	ldns_pkt_free(p);
	return 0;
}
