/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Upstream questions and answers (resolverd/rewrite.c): the rewritten
 * name, the query sent, every way an answer is refused (short, not an
 * answer, wrong ID, wrong question, TC, cut, bad rcode, other names), the
 * error codes, the SOA of negative answers mapped back under the zone,
 * the key masked, and the client's answer rendered with aged TTLs.
 * Upstream answers are built with ldns, an independent encoder.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "cache.h"
#include "rewrite.h"

static const struct cfg_net4 errs[] = {
	{ 0x7fffff00, 0xffffff00 },
	{ 0x7f0001ff, 0xffffffff },
};

static const struct rw_zone zone = {
	"zen.spamhaus.test",
	"key123.zen.dq.test",
	errs,
	2,
	0,
	300,
	3600,
};

/* The client's name as wire bytes (no compression). */
static size_t
wire(const char *name, uint8_t *w)
{
	ldns_rdf *r = ldns_dname_new_frm_str(name);
	size_t n;

	assert_non_null(r);
	n = ldns_rdf_size(r);
	memcpy(w, ldns_rdf_data(r), n);
	ldns_rdf_deep_free(r);
	return n;
}

static void
question(const char *name, uint16_t qtype, struct rw_question *q)
{
	uint8_t w[256];
	size_t n = wire(name, w);

	assert_int_equal(rw_question(&zone, w, n, 4, qtype, q), 0);
}

/* An upstream answer: rcode, answer and authority RRs as text. */
static size_t
answer(uint16_t id, const char *qname, uint16_t qtype, int rcode,
    const char *const *an, const char *const *ns, uint8_t *out)
{
	ldns_pkt *p;
	ldns_rr *q;
	uint8_t *w;
	size_t n, i;

	p = ldns_pkt_new();
	assert_non_null(p);
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	q = ldns_rr_new();
	ldns_rr_set_owner(q, ldns_dname_new_frm_str(qname));
	ldns_rr_set_type(q, qtype);
	ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(q, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	for (i = 0; an != NULL && an[i] != NULL; i++) {
		ldns_rr *rr;

		assert_int_equal(ldns_rr_new_frm_str(&rr, an[i], 0, NULL, NULL),
		    LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	for (i = 0; ns != NULL && ns[i] != NULL; i++) {
		ldns_rr *rr;

		assert_int_equal(ldns_rr_new_frm_str(&rr, ns[i], 0, NULL, NULL),
		    LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	assert_int_equal(ldns_pkt2wire(&w, p, &n), LDNS_STATUS_OK);
	memcpy(out, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

#define UQ "2.0.0.127.key123.zen.dq.test."

/* The length of an uncompressed wire name. */
static uint16_t
name_len(const uint8_t *w)
{
	uint16_t n = 0;

	while (w[n] != 0)
		n += 1 + w[n];
	return n + 1;
}

static void
test_question_query(void **state)
{
	struct rw_question q;
	uint8_t pkt[512];
	ldns_pkt *p;
	ldns_rr *rr;
	size_t n;
	char *s;

	(void)state;
	question("2.0.0.127.ZeN.SpamHaus.Test.", LDNS_RR_TYPE_A, &q);
	assert_int_equal(q.apex, 12 + 10);
	n = rw_query(&q, 0x1234, true, pkt, sizeof(pkt));
	assert_true(n > 0);
	assert_int_equal(ldns_wire2pkt(&p, pkt, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), 0x1234);
	assert_true(ldns_pkt_rd(p));
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), RW_EDNS_SIZE);
	rr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	s = ldns_rdf2str(ldns_rr_owner(rr));
	assert_string_equal(s, UQ); /* lower-cased, rewritten */
	free(s);
	ldns_pkt_free(p);
	assert_int_equal(rw_query(&q, 1, true, pkt, 20), 0);
	/* 255 bytes for the client, 256 once rewritten */
	{
		uint8_t w[256];
		char name[300];
		size_t k;

		memset(name, 'a', sizeof(name));
		name[63] = name[127] = name[191] = '.';
		strcpy(name + 235, ".zen.spamhaus.test.");
		k = wire(name, w);
		assert_int_equal(k, 255);
		assert_int_equal(rw_question(&zone, w, k, 4, 1, &q), -EINVAL);
		assert_int_equal(rw_question(&zone, w, k, 9, 1, &q), -EINVAL);
	}
}

static void
test_refused(void **state)
{
	static const char *const a[] = { UQ " 600 IN A 127.0.0.2", NULL };
	static const char *const other[] = { "evil.test. 600 IN A 127.0.0.2",
		NULL };
	struct rw_question q;
	struct rw_answer *out = malloc(sizeof(*out));
	uint8_t pkt[1024];
	size_t n;

	(void)state;
	question("2.0.0.127.zen.spamhaus.test.", LDNS_RR_TYPE_A, &q);
	n = answer(7, UQ, LDNS_RR_TYPE_A, 0, a, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, 11, out), RW_IGNORE);
	assert_int_equal(out->why, RW_WHY_SHORT);
	assert_int_equal(rw_answer(&zone, &q, 8, pkt, n, out), RW_IGNORE);
	assert_int_equal(out->why, RW_WHY_ID);
	pkt[2] &= 0x7f;
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_IGNORE);
	assert_int_equal(out->why, RW_WHY_NOTANSWER);
	pkt[2] |= 0x80;
	/* cut inside the answer record: ldns refuses it */
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n - 2, out), RW_FAIL);
	assert_int_equal(out->why, RW_WHY_MALFORMED);
	/* TC: before anything else is read */
	pkt[2] |= 0x02;
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n - 2, out), RW_TRUNC);
	/* another question, another type */
	n = answer(7, "3.0.0.127.key123.zen.dq.test.", LDNS_RR_TYPE_A, 0, a,
	    NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_IGNORE);
	assert_int_equal(out->why, RW_WHY_QUESTION);
	n = answer(7, UQ, LDNS_RR_TYPE_TXT, 0, a, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_IGNORE);
	assert_int_equal(out->why, RW_WHY_QUESTION);
	/* the question asked without rewriting is not ours either */
	n = answer(7, "2.0.0.127.zen.spamhaus.test.", LDNS_RR_TYPE_A, 0, a,
	    NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_IGNORE);
	/* SERVFAIL, REFUSED */
	n = answer(7, UQ, LDNS_RR_TYPE_A, 2, NULL, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_FAIL);
	assert_int_equal(out->why, RW_WHY_RCODE);
	assert_int_equal(out->rcode, 2);
	n = answer(7, UQ, LDNS_RR_TYPE_A, 5, NULL, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_FAIL);
	/* an answer about another name only */
	n = answer(7, UQ, LDNS_RR_TYPE_A, 0, other, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_FAIL);
	assert_int_equal(out->why, RW_WHY_FOREIGN);
	/* garbage after a good header and question */
	n = answer(7, UQ, LDNS_RR_TYPE_A, 0, a, NULL, pkt);
	pkt[7] = 9; /* ANCOUNT 9, one record there */
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_FAIL);
	assert_int_equal(out->why, RW_WHY_MALFORMED);
	free(out);
}

static void
test_positive(void **state)
{
	static const char *const a[] = { UQ " 600 IN A 127.0.0.2",
		UQ " 120 IN A 127.0.0.4", "evil.test. 600 IN A 127.0.0.9",
		NULL };
	static const char *const txt[] = { UQ
		" 60 IN TXT \"see https://x.test/KEY123/q\"",
		NULL };
	static const char *const err[] = { UQ " 60 IN A 127.0.0.2",
		UQ " 60 IN A 127.255.255.254", NULL };
	struct rw_question q;
	struct rw_answer *out = malloc(sizeof(*out));
	uint8_t pkt[1024];
	size_t n;

	(void)state;
	question("2.0.0.127.zen.spamhaus.test.", LDNS_RR_TYPE_A, &q);
	n = answer(7, "2.0.0.127.KEY123.zen.dq.test.", LDNS_RR_TYPE_A, 0, a,
	    NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_OK);
	assert_int_equal(out->an, 2);
	assert_int_equal(out->ns, 0);
	assert_int_equal(out->foreign, 1);
	assert_int_equal(out->ttl, 120); /* the smallest */
	assert_false(out->negative);
	assert_int_equal(out->blen, 2 * 16);
	assert_memory_equal(out->body,
	    "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x78\x00\x04\x7f\x00\x00\x02",
	    16);
	/* the error code */
	n = answer(7, UQ, LDNS_RR_TYPE_A, 0, err, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_ERRCODE);
	assert_int_equal(out->errcode, 0x7ffffffe);
	assert_int_equal(out->blen, 0);
	/* the key masked in a TXT */
	question("2.0.0.127.zen.spamhaus.test.", LDNS_RR_TYPE_TXT, &q);
	n = answer(7, UQ, LDNS_RR_TYPE_TXT, 0, txt, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_OK);
	assert_int_equal(out->secret, 1);
	assert_int_equal(out->ttl, 60);
	assert_non_null(memmem(out->body, out->blen, "x.test/******/q", 15));
	assert_null(memmem(out->body, out->blen, "123", 3));
	free(out);
}

static void
test_negative(void **state)
{
	static const char *const soa[] = {
		"key123.zen.dq.test. 3600 IN SOA ns1.key123.zen.dq.test. "
		"hm.KEY123.zen.dq.test. 7 600 300 86400 60",
		NULL
	};
	static const char *const bigsoa[] = {
		"zen.dq.test. 30 IN SOA ns.other.test. key123.mail.test. "
		"7 600 300 86400 86400",
		NULL
	};
	static const char *const foreign_soa[] = {
		"other.test. 3600 IN SOA a.test. b.test. 7 600 300 86400 60",
		NULL
	};
	struct rw_question q;
	struct rw_answer *out = malloc(sizeof(*out));
	uint8_t pkt[1024];
	size_t n;
	ldns_rdf *name;
	char *s;

	(void)state;
	question("2.0.0.127.zen.spamhaus.test.", LDNS_RR_TYPE_A, &q);
	n = answer(9, UQ, LDNS_RR_TYPE_A, 3, NULL, soa, pkt);
	assert_int_equal(rw_answer(&zone, &q, 9, pkt, n, out), RW_OK);
	assert_true(out->negative);
	assert_int_equal(out->rcode, 3);
	assert_int_equal(out->an, 0);
	assert_int_equal(out->ns, 1);
	assert_int_equal(out->ttl, 60); /* min(3600, MINIMUM 60) */
	/* owner: a pointer to the zone in the client's question */
	assert_int_equal(out->body[0], 0xc0);
	assert_int_equal(out->body[1], 12 + 10);
	assert_int_equal(out->body[3], LDNS_RR_TYPE_SOA);
	/* the names put back under the zone */
	name =
	    ldns_dname_new_frm_data(name_len(out->body + 12), out->body + 12);
	s = ldns_rdf2str(name);
	assert_string_equal(s, "ns1.zen.spamhaus.test.");
	free(s);
	ldns_rdf_deep_free(name);
	assert_null(memmem(out->body, out->blen, "key123", 6));
	/* NODATA: the TTL capped by negative-ttl, key-holding names become
	 * the zone */
	n = answer(9, UQ, LDNS_RR_TYPE_A, 0, NULL, bigsoa, pkt);
	assert_int_equal(rw_answer(&zone, &q, 9, pkt, n, out), RW_OK);
	assert_int_equal(out->rcode, 0);
	assert_true(out->negative);
	assert_int_equal(out->ttl, 30);
	assert_null(memmem(out->body, out->blen, "key123", 6));
	/* no SOA, or one of an unrelated zone: not cached */
	n = answer(9, UQ, LDNS_RR_TYPE_A, 3, NULL, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 9, pkt, n, out), RW_OK);
	assert_int_equal(out->ttl, 0);
	assert_int_equal(out->blen, 0);
	n = answer(9, UQ, LDNS_RR_TYPE_A, 3, NULL, foreign_soa, pkt);
	assert_int_equal(rw_answer(&zone, &q, 9, pkt, n, out), RW_OK);
	assert_int_equal(out->ttl, 0);
	assert_int_equal(out->ns, 0);
	free(out);
}

static void
test_render(void **state)
{
	static const char *const a[] = { UQ " 300 IN A 127.0.0.2", NULL };
	struct rw_question q;
	struct rw_answer *out = malloc(sizeof(*out));
	struct rw_client c;
	uint8_t pkt[1024], ans[1024];
	ldns_pkt *p;
	ldns_rr *rr;
	size_t n;
	bool tc;
	char *s;

	(void)state;
	question("2.0.0.127.zen.spamhaus.test.", LDNS_RR_TYPE_A, &q);
	n = answer(7, UQ, LDNS_RR_TYPE_A, 0, a, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_OK);
	/* the client's query, in its own case */
	memset(&c, 0, sizeof(c));
	memcpy(c.q, "\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	c.qend = 12 + wire("2.0.0.127.ZEN.Spamhaus.TEST.", c.q + 12);
	memcpy(c.q + c.qend, "\x00\x01\x00\x01", 4);
	c.qend += 4;
	c.limit = 512;
	c.edns = true;
	c.edns_size = 1232;
	n = rw_render(&c, out->rcode, out->an, out->ns, out->body, out->blen,
	    100, false, ans, sizeof(ans), &tc);
	assert_false(tc);
	assert_int_equal(ldns_wire2pkt(&p, ans, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), 0xbeef);
	assert_true(ldns_pkt_aa(p));
	assert_true(ldns_pkt_rd(p));
	assert_true(ldns_pkt_edns(p));
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	assert_int_equal(ldns_rr_ttl(rr), 200); /* 300 less 100 s of age */
	s = ldns_rdf2str(ldns_rr_owner(rr));
	assert_string_equal(s, "2.0.0.127.ZEN.Spamhaus.TEST.");
	free(s);
	ldns_pkt_free(p);
	/* stale: 30 s */
	n = rw_render(&c, out->rcode, out->an, out->ns, out->body, out->blen,
	    100000, true, ans, sizeof(ans), &tc);
	assert_int_equal(ldns_wire2pkt(&p, ans, n), LDNS_STATUS_OK);
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	assert_int_equal(ldns_rr_ttl(rr), CACHE_STALE_TTL);
	ldns_pkt_free(p);
	/* too big for the client: TC and the question only */
	c.limit = c.qend + 11 + 10;
	n = rw_render(&c, out->rcode, out->an, out->ns, out->body, out->blen, 0,
	    false, ans, sizeof(ans), &tc);
	assert_true(tc);
	assert_int_equal(n, c.qend + 11);
	assert_int_equal(ldns_wire2pkt(&p, ans, n), LDNS_STATUS_OK);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	/* SERVFAIL: no AA */
	c.limit = 512;
	n = rw_render(&c, 2, 0, 0, NULL, 0, 0, false, ans, sizeof(ans), &tc);
	assert_int_equal(ldns_wire2pkt(&p, ans, n), LDNS_STATUS_OK);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_get_rcode(p), 2);
	ldns_pkt_free(p);
	free(out);
}

/* The body has no copy of the key, in any letter case. */
static bool
body_has_key(const struct rw_answer *out)
{
	size_t i, j;

	for (i = 0; i + 6 <= out->blen; i++) {
		for (j = 0; j < 6; j++) {
			uint8_t c = out->body[i + j];

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

/* The client's answer to the body, parsed back by ldns: its one answer
 * record, the OPT after it checked. */
static ldns_rr *
rendered(const struct rw_answer *out, uint16_t qtype, ldns_pkt **p)
{
	static uint8_t ans[70000];
	struct rw_client c;
	size_t n;
	bool tc;

	memset(&c, 0, sizeof(c));
	memcpy(c.q, "\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	c.qend = 12 + wire("2.0.0.127.zen.spamhaus.test.", c.q + 12);
	c.q[c.qend++] = (uint8_t)(qtype >> 8);
	c.q[c.qend++] = (uint8_t)qtype;
	c.q[c.qend++] = 0;
	c.q[c.qend++] = 1;
	c.limit = 65535;
	c.edns = true;
	c.edns_size = 1232;
	n = rw_render(&c, out->rcode, out->an, out->ns, out->body, out->blen, 7,
	    false, ans, sizeof(ans), &tc);
	assert_false(tc);
	assert_int_equal(ldns_wire2pkt(p, ans, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_ancount(*p), 1);
	/* the record ended where its length said: the OPT is still there */
	assert_true(ldns_pkt_edns(*p));
	assert_int_equal(ldns_pkt_edns_udp_size(*p), 1232);
	return ldns_rr_list_rr(ldns_pkt_answer(*p), 0);
}

static void
assert_rdf_str(const ldns_rr *rr, size_t i, const char *want)
{
	char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));

	assert_string_equal(s, want);
	free(s);
}

/*
 * The key where record data meets what surrounds it (fuzz inputs
 * regress-key-after-rdlen and regress-mask-length-byte): masked in the
 * text bytes only, so no copy reaches the client and every length byte
 * stays right.
 */
static void
test_key_edges(void **state)
{
	/* "key12" ends a string, the next one's length byte is '3' (51):
	 * masking that byte, as the key alone would, broke the record */
	static const char *const lenbyte[] = { UQ
		" 60 IN TXT \"see key12\" "
		"\"012345678901234567890123"
		"456789012345678901234567890\"",
		NULL };
	/* 'k' is the data's length (107), "ey123" its start: the TXT's
	 * first string is 'e' (101) bytes long */
	static const char *const rdlen[] = { UQ
		" 60 IN TXT "
		"\"y123/ip/aaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaa\" \"abcd\"",
		NULL };
	/* the key split over two strings, as clients join them */
	static const char *const split[] = { UQ
		" 60 IN TXT \"see key\" \"123/q\"",
		NULL };
	struct rw_question q;
	struct rw_answer *out = malloc(sizeof(*out));
	uint8_t *pkt = malloc(70000);
	ldns_pkt *p;
	ldns_rr *rr;
	char *big;
	size_t n, i;

	(void)state;
	assert_non_null(out);
	assert_non_null(pkt);
	question("2.0.0.127.zen.spamhaus.test.", LDNS_RR_TYPE_TXT, &q);

	n = answer(7, UQ, LDNS_RR_TYPE_TXT, 0, lenbyte, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_OK);
	assert_int_equal(out->an, 1);
	assert_int_equal(out->secret, 1);
	assert_false(body_has_key(out));
	rr = rendered(out, LDNS_RR_TYPE_TXT, &p);
	assert_int_equal(ldns_rr_rd_count(rr), 2);
	assert_rdf_str(rr, 0, "\"see *****\"");
	assert_int_equal(ldns_rdf_size(ldns_rr_rdf(rr, 1)), 1 + 51);
	ldns_pkt_free(p);

	n = answer(7, UQ, LDNS_RR_TYPE_TXT, 0, rdlen, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_OK);
	assert_int_equal(out->body[10], 0);
	assert_int_equal(out->body[11], 'k'); /* the data's length */
	assert_int_equal(out->body[12], 'e'); /* the first string's */
	assert_int_equal(out->secret, 1);
	assert_false(body_has_key(out));
	rr = rendered(out, LDNS_RR_TYPE_TXT, &p);
	assert_int_equal(ldns_rr_rd_count(rr), 2);
	assert_int_equal(ldns_rdf_size(ldns_rr_rdf(rr, 0)), 1 + 101);
	assert_non_null(
	    memmem(ldns_rdf_data(ldns_rr_rdf(rr, 0)), 10, "e****/ip/", 9));
	assert_rdf_str(rr, 1, "\"abcd\"");
	ldns_pkt_free(p);

	n = answer(7, UQ, LDNS_RR_TYPE_TXT, 0, split, NULL, pkt);
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_OK);
	assert_int_equal(out->secret, 1);
	rr = rendered(out, LDNS_RR_TYPE_TXT, &p);
	assert_rdf_str(rr, 0, "\"see ***\"");
	assert_rdf_str(rr, 1, "\"***/q\"");
	ldns_pkt_free(p);

	/*
	 * "ke" in the TTL, which ages as the answer is served, "y1" the
	 * data's length (0x7931 bytes), "23" its start: the data is
	 * masked whatever the TTL is now.
	 */
	n = 0x7931;
	big = malloc(strlen(UQ) + 64 + 2 * n);
	assert_non_null(big);
	i = (size_t)sprintf(big, "%s 60 IN TYPE65280 \\# %zu 3233", UQ, n);
	for (; n > 2; n--, i += 2)
		memcpy(big + i, "61", 2);
	big[i] = '\0';
	{
		const char *const typ[] = { big, NULL };

		question("2.0.0.127.zen.spamhaus.test.", 65280, &q);
		n = answer(7, UQ, 65280, 0, typ, NULL, pkt);
	}
	assert_int_equal(rw_answer(&zone, &q, 7, pkt, n, out), RW_OK);
	assert_int_equal(out->secret, 1);
	assert_memory_equal(out->body + 10, "y1**aaaa", 8);
	free(big);

	/* a key of two letters that the TTL spells ("ab" is 24930 s):
	 * nothing of the data to mask, the answer served as is */
	{
		static const char *const a[] = {
			"2.0.0.127.ab.zen.dq.test. 24930 IN A 127.0.0.2", NULL
		};
		struct rw_zone z2 = zone;
		uint8_t w[256];

		z2.rewrite = "ab.zen.dq.test";
		z2.ttl_max = 0;
		assert_int_equal(rw_question(&z2, w,
		                     wire("2.0.0.127.zen.spamhaus.test.", w), 4,
		                     LDNS_RR_TYPE_A, &q),
		    0);
		n = answer(7, "2.0.0.127.ab.zen.dq.test.", LDNS_RR_TYPE_A, 0, a,
		    NULL, pkt);
		assert_int_equal(rw_answer(&z2, &q, 7, pkt, n, out), RW_OK);
		assert_int_equal(out->secret, 0);
		assert_memory_equal(out->body + 8, "ab\x00\x04\x7f\x00\x00\x02",
		    8);
	}

	free(pkt);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_question_query),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_positive),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_key_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
