/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * query_answer() on a hand-built mirror: queries are made and answers read
 * back with ldns, so the wire format is checked by an independent parser.
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

#include "query.h"
#include "testutil.h"
#include "zones.h"

struct fix {
	char *dir;
	struct zn_db *db;
	struct zn_view *v;
	struct query_cfg cfg;
};

static const uint8_t client[4] = { 127, 0, 0, 1 };

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct zn_dataset *ip = tu_new_ds(ZN_IP4SET);
	struct zn_dataset *gen = tu_new_ds(ZN_GENERIC);
	struct zn_dataset *dn = tu_new_ds(ZN_DNSET);
	struct zn_dataset *ds[3] = { ip, gen, dn };
	const char *specs[3] = { "bl.test:ip4set:ip", "bl.test:generic:gen",
		"dbl.test:dnset:dn" };
	struct zn_err err;
	uint8_t big[2000];
	size_t n = 0;
	int i;
	static const uint8_t apex_a[4] = { 192, 0, 2, 1 };
	static const uint8_t ns_a[4] = { 192, 0, 2, 53 };
	static const uint8_t mx[] = { 0, 10, 2, 'm', 'x', 4, 't', 'e', 's', 't',
		0 };

	assert_non_null(f);
	f->dir = tu_tmpdir();
	ip->has_soa = true;
	ip->soa = (struct zn_soa){ 3600, "ns1.bl.test", "hostmaster.bl.test",
		42, 600, 300, 86400, 60 };
	ip->ns_ttl = 7200;
	ip->nns = 1;
	ip->ns[0] = strdup("ns1.bl.test");
	tu_add_ip4(ip, 0x7f000003, 0x7f000003, 0x7f000003, "listed $");
	tu_add_ip4(ip, 0x7f000001, 0x7f000001, 0x7f000004, "should not be");
	tu_add_ip4(ip, 0x0a000000, 0x0a0000ff, 0x7f000002, NULL);
	for (i = 0; i < 40; i++) {
		char t[64];

		snprintf(t, sizeof(t), "reason number %02d for this listing",
		    i);
		n = tu_answer(big, n, 0x7f000002, t);
	}
	tu_add_ip4_blob(ip, 0x01020304, 0x01020304, big, n);
	tu_add_rr(gen, "", 1, 300, apex_a, 4);
	tu_add_rr(gen, "", 15, 300, mx, sizeof(mx));
	tu_add_rr(gen, "ns1", 1, 300, ns_a, 4);
	dn->has_soa = true;
	dn->soa = ip->soa;
	tu_add_name(dn, "spam.example", ZN_NAME_EXACT, 0x7f000002, "dbl $",
	    false);
	assert_int_equal(zn_db_open(f->dir, 0, 0, &f->db, &err), 0);
	assert_int_equal(tu_replace(f->db, specs, ds, 3), 0);
	for (i = 0; i < 3; i++)
		zn_dataset_free(ds[i]);
	assert_int_equal(zn_view_open(f->db, &f->v, &err), 0);
	f->cfg = (struct query_cfg){ .ttl_def = 2100,
		.edns_size = QUERY_EDNS_DEFAULT };
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	zn_view_close(f->v);
	zn_db_close(f->db);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Build a query with ldns; edns < 0: none. */
static size_t
mkquery(const char *name, ldns_rr_type t, ldns_rr_class c, int edns,
    uint8_t *buf)
{
	ldns_pkt *p = NULL;
	uint8_t *w;
	size_t len;

	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, t, c, LDNS_RD),
	    LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 0x1234);
	if (edns >= 0) {
		ldns_pkt_set_edns_udp_size(p, (uint16_t)edns);
		ldns_pkt_set_edns_do(p, false);
		ldns_pkt_set_edns_data(p, NULL);
		/* a zero-length rdata OPT is enough to make it EDNS */
		ldns_pkt_set_edns_version(p, 0);
		ldns_pkt_set_edns_z(p, 0);
		ldns_pkt_set_edns_extended_rcode(p, 0);
	}
	assert_int_equal(ldns_pkt2wire(&w, p, &len), LDNS_STATUS_OK);
	memcpy(buf, w, len);
	free(w);
	ldns_pkt_free(p);
	return len;
}

static ldns_pkt *
ask(struct fix *f, const uint8_t *q, size_t qlen, bool tcp, size_t *alen)
{
	static uint8_t out[65536];
	ldns_pkt *p = NULL;
	size_t n;

	n = query_answer(&f->cfg, f->v, q, qlen, client, 4, tcp, out,
	    sizeof(out), NULL);
	*alen = n;
	if (n == 0)
		return NULL;
	assert_int_equal(ldns_wire2pkt(&p, out, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), q[0] << 8 | q[1]);
	return p;
}

static ldns_pkt *
query(struct fix *f, const char *name, ldns_rr_type t, int edns, bool tcp)
{
	uint8_t q[512];
	size_t n = mkquery(name, t, LDNS_RR_CLASS_IN, edns, q), alen;
	ldns_pkt *p = ask(f, q, n, tcp, &alen);

	assert_non_null(p);
	if (!tcp)
		assert_true(alen <= (edns >= 512 ? (size_t)edns : 512));
	return p;
}

/* A database from rbldnsd text, for the tests below. */
struct tfix {
	char *dir;
	struct zn_db *db;
	struct zn_view *v;
	struct query_cfg cfg;
};

static void
tfix_open(struct tfix *t, const char *const *specs, const char *const *texts,
    const enum zn_dstype *types, size_t n)
{
	struct zn_dataset *ds[8];
	struct zn_parse_opts o;
	struct zn_err err;
	size_t i;

	memset(&o, 0, sizeof(o));
	t->dir = tu_tmpdir();
	for (i = 0; i < n; i++)
		assert_int_equal(zn_dataset_load_mem(types[i], "t", texts[i],
		                     strlen(texts[i]), &o, &ds[i], &err),
		    0);
	assert_int_equal(zn_db_open(t->dir, 0, 0, &t->db, &err), 0);
	assert_int_equal(tu_replace(t->db, specs, ds, n), 0);
	for (i = 0; i < n; i++)
		zn_dataset_free(ds[i]);
	assert_int_equal(zn_view_open(t->db, &t->v, &err), 0);
	t->cfg = (struct query_cfg){ .ttl_def = 2100,
		.edns_size = QUERY_EDNS_DEFAULT };
}

static void
tfix_close(struct tfix *t)
{
	zn_view_close(t->v);
	zn_db_close(t->db);
	tu_rmtree(t->dir);
	free(t->dir);
}

/* Ask t from client 127.0.0.c; the answer's length in *alen. */
static ldns_pkt *
askc(struct tfix *t, const char *name, ldns_rr_type type, uint8_t c,
    size_t *alen)
{
	static uint8_t out[65536];
	uint8_t q[512], cl[4] = { 127, 0, 0, c };
	size_t n = mkquery(name, type, LDNS_RR_CLASS_IN, -1, q);
	ldns_pkt *p = NULL;

	*alen = query_answer(&t->cfg, t->v, q, n, cl, 4, false, out,
	    sizeof(out), NULL);
	if (*alen == 0)
		return NULL;
	assert_int_equal(ldns_wire2pkt(&p, out, *alen), LDNS_STATUS_OK);
	return p;
}

static uint32_t
rr_ttl_at(const ldns_rr_list *l, size_t i)
{
	return ldns_rr_ttl(ldns_rr_list_rr(l, i));
}

/*
 * rbldnsd's answers: one TTL per RRset and no duplicate RRs when values
 * and generic records meet; NS and glue for apex NS queries, names
 * compressed against the zone; acl "empty" and "always listed" only on
 * data queries; REFUSED not authoritative.
 */
static void
test_rbldnsd_semantics(void **state)
{
	static const char *const specs[] = { "q.test:ip4set:ip",
		"q.test:generic:gen", "q.test:dnset:dn", "q.test:acl:acl",
		"r.test:ip4set:ip", "r.test:acl:acl2" };
	static const char *const texts[] = {
		"$SOA 1h ns.q.test hm.q.test 1 1h 15m 1w 10m\n"
		"$NS 1h ns.q.test\n"
		"1.2.3.4 :2:x\n",
		"ns A 192.0.2.53\n"
		"dup A 192.0.2.7\n"
		"dup 300 A 192.0.2.7\n"
		"mix 300 A 127.0.0.2\n"
		"mix 600 A 127.0.0.9\n",
		"mix :2:\n",
		"127.0.0.5 :empty\n"
		"127.0.0.6 :3:always $\n"
		"127.0.0.7 :refuse\n",
		"$SOA 1h ns.q.test hm.q.test 1 1h 15m 1w 10m\n"
		"$NS 1h ns.q.test\n"
		"1.2.3.4 :2:x\n",
		"127.0.0.6 :3:always $\n",
	};
	static const enum zn_dstype types[] = { ZN_IP4SET, ZN_GENERIC, ZN_DNSET,
		ZN_ACL, ZN_IP4SET, ZN_ACL };
	struct tfix t;
	ldns_pkt *p;
	size_t alen;
	char *s;

	(void)state;
	tfix_open(&t, specs, texts, types, 6);

	/* apex NS: NS in ANSWER and AUTHORITY, glue; names compressed:
	 * header 12 + question 12 + 2 x NS (2 + 10 + 5) + glue (5 + 10 + 4) */
	p = askc(&t, "q.test", LDNS_RR_TYPE_NS, 1, &alen);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	assert_int_equal(ldns_pkt_arcount(p), 1);
	assert_int_equal(alen, 77);
	s = ldns_rdf2str(
	    ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_additional(p), 0), 0));
	assert_string_equal(s, "192.0.2.53");
	free(s);
	ldns_pkt_free(p);

	/* an NS name outside the zone shares its suffix "test" with it:
	 * compressed there, as rbldnsd does: header 12 + question 20 + A
	 * (2 + 10 + 4) + NS (2 + 10 + "ns" "q" pointer 7) + glue from q.test
	 * (7 + 10 + 4); 96 bytes without */
	p = askc(&t, "4.3.2.1.r.test", LDNS_RR_TYPE_A, 1, &alen);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	assert_int_equal(ldns_pkt_arcount(p), 1);
	assert_int_equal(alen, 88);
	s = ldns_rdf2str(
	    ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_authority(p), 0), 0));
	assert_string_equal(s, "ns.q.test.");
	free(s);
	ldns_pkt_free(p);

	/* the same RR from two lines once, with the smaller TTL */
	p = askc(&t, "dup.q.test", LDNS_RR_TYPE_A, 1, &alen);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(rr_ttl_at(ldns_pkt_answer(p), 0), 300);
	ldns_pkt_free(p);
	/* a value (TTL 2100) and generic records (300, 600): one RRset */
	p = askc(&t, "mix.q.test", LDNS_RR_TYPE_A, 1, &alen);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(rr_ttl_at(ldns_pkt_answer(p), 0), 300);
	assert_int_equal(rr_ttl_at(ldns_pkt_answer(p), 1), 300);
	ldns_pkt_free(p);

	/* "empty": the apex still exists, the data is gone */
	p = askc(&t, "q.test", LDNS_RR_TYPE_A, 5, &alen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	p = askc(&t, "4.3.2.1.q.test", LDNS_RR_TYPE_A, 5, &alen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);

	/* "always listed": full addresses only */
	p = askc(&t, "9.9.9.9.q.test", LDNS_RR_TYPE_TXT, 6, &alen);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	s = ldns_rdf2str(
	    ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0));
	assert_string_equal(s, "\"always 127.0.0.6\"");
	free(s);
	ldns_pkt_free(p);
	p = askc(&t, "q.test", LDNS_RR_TYPE_A, 6, &alen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	/* any name is a query for the dnset of q.test */
	p = askc(&t, "x.q.test", LDNS_RR_TYPE_A, 6, &alen);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	/* r.test has IPv4 data only */
	p = askc(&t, "9.9.9.9.r.test", LDNS_RR_TYPE_A, 6, &alen);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	p = askc(&t, "3.2.1.r.test", LDNS_RR_TYPE_A, 6, &alen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0); /* an ENT: NODATA */
	ldns_pkt_free(p);
	p = askc(&t, "x.r.test", LDNS_RR_TYPE_A, 6, &alen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);

	/* REFUSED is not authoritative */
	p = askc(&t, "4.3.2.1.q.test", LDNS_RR_TYPE_A, 7, &alen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_false(ldns_pkt_aa(p));
	ldns_pkt_free(p);

	tfix_close(&t);
}

static void
test_listed(void **state)
{
	struct fix *f = *state;
	ldns_pkt *p = query(f, "3.0.0.127.bl.test", LDNS_RR_TYPE_A, -1, false);
	ldns_rr *rr;
	char *s;

	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_true(ldns_pkt_rd(p));
	assert_false(ldns_pkt_ra(p));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	assert_int_equal(ldns_rr_ttl(rr), 2100);
	s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
	assert_string_equal(s, "127.0.0.3");
	free(s);
	/* NS in authority, glue in additional */
	assert_int_equal(ldns_pkt_nscount(p), 1);
	assert_int_equal(ldns_pkt_arcount(p), 1);
	ldns_pkt_free(p);

	p = query(f, "3.0.0.127.bl.test", LDNS_RR_TYPE_TXT, -1, false);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	s = ldns_rdf2str(
	    ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0));
	assert_string_equal(s, "\"listed 127.0.0.3\"");
	free(s);
	ldns_pkt_free(p);

	/* listed, but AAAA: NODATA with SOA */
	p = query(f, "3.0.0.127.bl.test", LDNS_RR_TYPE_AAAA, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	ldns_pkt_free(p);

	/* an entry without TXT: TXT query is NODATA */
	p = query(f, "7.0.0.10.bl.test", LDNS_RR_TYPE_TXT, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
}

static void
test_negative(void **state)
{
	struct fix *f = *state;
	ldns_pkt *p = query(f, "9.0.0.127.bl.test", LDNS_RR_TYPE_A, -1, false);
	ldns_rr *soa;

	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_rr_ttl(soa), 60); /* min(3600, MINIMUM 60) */
	ldns_pkt_free(p);

	/* empty non-terminals: NODATA, not NXDOMAIN */
	p = query(f, "0.0.127.bl.test", LDNS_RR_TYPE_A, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	ldns_pkt_free(p);
	p = query(f, "127.bl.test", LDNS_RR_TYPE_A, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	p = query(f, "example.dbl.test", LDNS_RR_TYPE_A, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	p = query(f, "x.spam.example.dbl.test", LDNS_RR_TYPE_A, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);

	/* outside our zones */
	p = query(f, "2.0.0.127.other.test", LDNS_RR_TYPE_A, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_false(ldns_pkt_aa(p));
	ldns_pkt_free(p);
}

static void
test_test_points(void **state)
{
	struct fix *f = *state;
	ldns_pkt *p = query(f, "2.0.0.127.bl.test", LDNS_RR_TYPE_A, -1, false);

	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	/* 127.0.0.1 must never be listed, whatever the data says */
	p = query(f, "1.0.0.127.bl.test", LDNS_RR_TYPE_A, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	p = query(f, "test.dbl.test", LDNS_RR_TYPE_A, -1, false);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	p = query(f, "invalid.dbl.test", LDNS_RR_TYPE_A, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
}

static void
test_apex(void **state)
{
	struct fix *f = *state;
	ldns_pkt *p = query(f, "bl.test", LDNS_RR_TYPE_SOA, -1, false);

	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	p = query(f, "bl.test", LDNS_RR_TYPE_NS, -1, false);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	ldns_pkt_free(p);
	p = query(f, "bl.test", LDNS_RR_TYPE_A, -1, false);
	assert_int_equal(ldns_pkt_ancount(p), 1); /* generic @ A */
	ldns_pkt_free(p);
	p = query(f, "bl.test", LDNS_RR_TYPE_MX, -1, false);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	p = query(f, "bl.test", LDNS_RR_TYPE_TXT, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	/* no $NS in dbl.test: NS at its apex is REFUSED (rbldnsd) */
	p = query(f, "dbl.test", LDNS_RR_TYPE_NS, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
}

static void
test_edns_and_truncation(void **state)
{
	struct fix *f = *state;
	ldns_pkt *p;
	uint8_t q[512];
	size_t n, alen;

	/* no EDNS: 512 bytes, TC, no records */
	p = query(f, "4.3.2.1.bl.test", LDNS_RR_TYPE_TXT, -1, false);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_false(ldns_pkt_edns(p));
	ldns_pkt_free(p);
	/* EDNS 1232: still too big (40 x ~50 bytes), TC and an OPT */
	p = query(f, "4.3.2.1.bl.test", LDNS_RR_TYPE_TXT, 4096, false);
	assert_true(ldns_pkt_tc(p));
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	ldns_pkt_free(p);
	/* TCP: everything */
	p = query(f, "4.3.2.1.bl.test", LDNS_RR_TYPE_TXT, -1, true);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 40);
	ldns_pkt_free(p);
	/* a small answer to an EDNS query still carries an OPT */
	p = query(f, "3.0.0.127.bl.test", LDNS_RR_TYPE_A, 1232, false);
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);
	/* EDNS version 1: BADVERS */
	n = mkquery("3.0.0.127.bl.test", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232,
	    q);
	q[n - 5] = 1; /* the OPT's version byte (no OPT rdata) */
	p = ask(f, q, n, false, &alen);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
}

static void
test_case_echo(void **state)
{
	struct fix *f = *state;
	ldns_pkt *p = query(f, "3.0.0.127.BL.Test", LDNS_RR_TYPE_A, -1, false);
	char *s =
	    ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(p), 0)));

	assert_string_equal(s, "3.0.0.127.BL.Test.");
	free(s);
	ldns_pkt_free(p);
}

static void
test_classes_and_types(void **state)
{
	struct fix *f = *state;
	uint8_t q[512];
	size_t n, alen;
	ldns_pkt *p;

	p = query(f, "bl.test", LDNS_RR_TYPE_AXFR, -1, false);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
	ldns_pkt_free(p);
	n = mkquery("version.bind", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, -1, q);
	p = ask(f, q, n, false, &alen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
	f->cfg.version = "resolverd";
	p = ask(f, q, n, false, &alen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	f->cfg.version = NULL;
	n = mkquery("3.0.0.127.bl.test", LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY, -1,
	    q);
	p = ask(f, q, n, false, &alen);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_false(ldns_pkt_aa(p));
	ldns_pkt_free(p);
	n = mkquery("3.0.0.127.bl.test", LDNS_RR_TYPE_A, LDNS_RR_CLASS_HS, -1,
	    q);
	p = ask(f, q, n, false, &alen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
}

static void
test_malformed(void **state)
{
	struct fix *f = *state;
	uint8_t q[600], out[4096];
	size_t n, i;
	ldns_pkt *p;

	n = mkquery("3.0.0.127.bl.test", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, -1,
	    q);
	/* every truncation of a good query: dropped or FORMERR, no crash */
	for (i = 0; i < n; i++) {
		size_t r = query_answer(&f->cfg, f->v, q, i, client, 4, false,
		    out, sizeof(out), NULL);

		if (i < 12)
			assert_int_equal(r, 0);
		else
			assert_int_equal(out[3] & 0x0f, LDNS_RCODE_FORMERR);
	}
	/* QR set: dropped */
	q[2] |= 0x80;
	assert_int_equal(query_answer(&f->cfg, f->v, q, n, client, 4, false,
	                     out, sizeof(out), NULL),
	    0);
	q[2] &= ~0x80;
	/* qdcount 0 and 2: FORMERR */
	q[5] = 0;
	p = ask(f, q, n, false, &i);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	q[5] = 2;
	p = ask(f, q, n, false, &i);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	q[5] = 1;
	/* trailing garbage */
	q[n] = 0xab;
	p = ask(f, q, n + 1, false, &i);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	/* a bad label length, and a compression pointer in the question */
	q[12] = 0x7f;
	p = ask(f, q, n, false, &i);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	q[12] = 0xc0;
	q[13] = 12;
	p = ask(f, q, n, false, &i);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	/* random bytes never crash */
	srand(1);
	for (i = 0; i < 20000; i++) {
		size_t len = 12 + rand() % 100, j;

		for (j = 0; j < len; j++)
			q[j] = rand();
		query_answer(&f->cfg, f->v, q, len, client, 4, i % 2, out,
		    sizeof(out), NULL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listed),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_test_points),
		cmocka_unit_test(test_apex),
		cmocka_unit_test(test_edns_and_truncation),
		cmocka_unit_test(test_case_echo),
		cmocka_unit_test(test_classes_and_types),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_rbldnsd_semantics),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
