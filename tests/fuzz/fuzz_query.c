/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target "query": query_answer() (resolverd/query.c) on arbitrary
 * packets from arbitrary clients, against a small fixed database built
 * once per process from the zones below (every dataset type, wildcards,
 * nested and combined zones, zone and global acls, glue, an answer too
 * big for UDP).
 *
 * Input: one flags byte, the client address (4 bytes, or 16 with
 * F_CLIENT6), then the DNS message as received:
 *
 *   bit 0  TCP (answer up to 64 KiB) instead of UDP
 *   bit 1  IPv6 client (16 address bytes follow, else 4)
 *   bit 2  lazy (rbldnsd -a)
 *   bit 3  version.bind hidden (REFUSED) instead of answered
 *   bit 4-5  our EDNS size: 1232, 512, 4096, 1400
 *   bit 6  TTL clamps 60..3600
 *   bit 7  a small output buffer: the next byte + 23 bytes (not what the
 *          daemon passes, but query_answer promises to respect outsize)
 *
 * After each answer the wire format is walked and checked: length within
 * the buffer and the size limit, ID echoed, QR set, the header counts
 * match the sections, every name and compression pointer is valid, RDATA
 * of known types is well-formed, a truncated answer is empty, the OPT is
 * last and only for EDNS queries, query_info agrees with the header, and
 * the same query answered again gives the same bytes.  The query log line
 * is written to /dev/null.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "log.h"
#include "qlog.h"
#include "query.h"
#include "zones.h"

#define F_TCP 0x01
#define F_CLIENT6 0x02
#define F_LAZY 0x04
#define F_NOVERSION 0x08
#define F_EDNS_SHIFT 4
#define F_CLAMP 0x40
#define F_SMALLOUT 0x80

#define UDP_OUT 4096 /* CFG_EDNS_MAX: the daemon's UDP answer buffer */
#define ARRAY_MAX 256 /* records checked for one TTL per RRset */

static const char z_bl_ip6[] =
    "$TTL 10m\n"
    ":127.0.0.2:v6 listed $\n"
    "2001:db8::/32\n"
    "!2001:db8:1::/48\n"
    "2001:db8:1:2::/64 :3:more specific $\n"
    "::ffff:7f00:2/128 :4:never: v4-mapped goes to IPv4\n"
    "2002:c000:207::/48 :6:6to4 $\n";

static const char z_bl_gen[] = "@ 300 A 192.0.2.1\n"
                               "@ MX 10 mx.bl.test\n"
                               "@ TXT \"bl.test test zone\"\n"
                               "ns1 A 192.0.2.53\n"
                               "ns1 AAAA 2001:db8::53\n"
                               "www AAAA 2001:db8::1\n"
                               "www 0 TXT www\n"
                               "a.b.c A 192.0.2.9\n"
                               "rr 300 A 192.0.2.10\n"
                               "rr 600 A 192.0.2.11\n"
                               "rr A 192.0.2.12\n"
                               "rr 30 TXT \"short ttl\"\n";

static const char z_bl_acl[] = "10.99.0.0/16 :ignore\n"
                               "10.98.0.0/16 :refuse\n"
                               "10.97.0.0/16 :empty\n"
                               "10.96.0.0/16 :127.0.0.9:always listed $\n"
                               "2001:db8:ac1::/48 :refuse\n"
                               "2001:db8:ac2::/48 :empty\n";

static const char z_acl[] = "10.66.0.0/16 :ignore\n"
                            "10.65.0.0/16 :127.0.0.8:global always $\n"
                            "10.64.0.0/16 :pass\n"
                            "10.96.1.0/24 :empty\n"
                            "2001:db8:bad::/48 :ignore\n"
                            "2001:db8:600d::/48 :8:v6 always $\n";

static const char z_dbl[] =
    "$SOA 3600 ns1.dbl.test hostmaster.dbl.test 7 600 300 86400 60\n"
    "$NS 3600 ns2.dbl.test ns1.bl.test -ns3.dbl.test\n"
    "$= See https://dbl.test/?$= ($)\n"
    "$2 two\n"
    ":127.0.1.2:Listed domain $\n"
    "spam.example\n"
    ".wild.example\n"
    "!ok.wild.example\n"
    "*.star.example :127.0.1.4:=Own $ $2 $$ $9\n"
    "a.b.c.deep.example\n"
    "noval :127.0.1.5:\n"
    "twice.example :127.0.1.6:first\n"
    "twice.example :127.0.1.7:second\n";

static const char z_dbl_gen[] = "ns2 A 192.0.2.54\n"
                                "@ TXT \"dbl\"\n";

static const char z_subdbl[] = "$TTL 1d\n"
                               ".nested\n"
                               "*.w :10:wild in nested\n";

static const char z_trie4[] =
    "$SOA 0 ns1.trie.test hostmaster.trie.test 0 600 300 86400 60\n"
    "0/0 :127.0.0.20:everything $\n"
    "10.0.0.0/8 :127.0.0.21:ten\n"
    "!10.0.0.0/24\n"
    "10.0.0.128/25 :127.0.0.22\n";

static const char z_tset6[] = ":127.0.0.40:v6 tset $\n"
                              "2001:db8:5:6\n"
                              "!2001:db8:5:6::1\n";

static const char z_tset4[] = "$NS 60 ns1.bl.test\n"
                              "$TTL 30\n"
                              "127.0.0.2\n"
                              "192.0.2.1\n"
                              ":127.0.0.30:tset $\n";

static const char z_comb[] =
    "$SOA 3600 ns1.comb.test hostmaster.comb.test 0 600 300 86400 60\n"
    "$NS 3600 ns1.comb.test\n"
    "$TTL 1h\n"
    "$1 one\n"
    "$DATASET ip4set:sbl @\n"
    "127.0.0.2 :2:SBL $ $1\n"
    "$DATASET ip4set:pbl pbl @\n"
    "$TTL 5m\n"
    "127.0.0.10 :10:PBL $\n"
    "$DATASET dnset dbl\n"
    "spam.example\n"
    "$DATASET generic @\n"
    "@ A 192.0.2.2\n"
    "ns1 A 192.0.2.55\n"
    "$DATASET ip6trie v6\n"
    "2001:db8::/32 :3:v6\n"
    "$DATASET ip4trie trie\n"
    "0/0 :4:all\n";

static const char z_nosoa[] = "x\n"
                              ".y :3\n";

static struct fixture {
	const char *spec;
	const char *text; /* NULL: the generated ip4set below */
} fixtures[] = {
	{ "bl.test:ip4set:bl-ip4", NULL },
	{ "bl.test:ip6trie:bl-ip6", z_bl_ip6 },
	{ "bl.test:generic:bl-gen", z_bl_gen },
	{ "bl.test:acl:bl-acl", z_bl_acl },
	{ ":acl:global-acl", z_acl },
	{ "dbl.test:dnset:dbl", z_dbl },
	{ "dbl.test:generic:dbl-gen", z_dbl_gen },
	{ "sub.dbl.test:dnset:subdbl", z_subdbl },
	{ "trie.test:ip4trie:trie4", z_trie4 },
	{ "trie.test:ip6tset:tset6", z_tset6 },
	{ "tset.test:ip4tset:tset4", z_tset4 },
	{ "comb.test:combined:comb", z_comb },
	{ "nosoa.test:dnset:nosoa", z_nosoa },
};
#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))

static struct zn_db *db;
static struct zn_view *view;
static struct qlog *ql;
static uint8_t *out_udp, *out_tcp, *out_again;

/* bl.test ip4set: the classic, with 40 values for one address (too big
 * for 512 bytes, fits in 4096). */
static char *
gen_ip4set(void)
{
	static const char head[] =
	    "$SOA 3600 ns1.bl.test hostmaster.bl.test 0 600 300 86400 60\n"
	    "$NS 3600 ns1.bl.test ns2.dbl.test ns1.comb.test\n"
	    "$TTL 35m\n"
	    "$1 https://bl.test/q?\n"
	    ":127.0.0.2:Listed, see $1$\n"
	    "127.0.0.2\n"
	    "127.0.0.3 :127.0.0.4:other $ $$ $9 $= $\n"
	    "10.0.0.0/8\n"
	    "!10.1.0.0/16\n"
	    "192.0.2.0/24 :3:net\n"
	    "192.0.2.7 :4:host\n"
	    "192.0.2.7 :5:host again\n"
	    "198.51.100.0-198.51.100.63\n"
	    "203.0.113.5 :6:\n";
	size_t cap = sizeof(head) + 40 * 80, n;
	char *s = malloc(cap);
	int i;

	FUZZ_SETUP(s != NULL, "out of memory");
	memcpy(s, head, sizeof(head));
	n = sizeof(head) - 1;
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(s + n, cap - n,
		    "1.2.3.4 :2:reason %02d for this listing, padded out a "
		    "bit\n",
		    i);
	return s;
}

static void
setup(void)
{
	struct zn_spec specs[NFIX];
	struct zn_dataset *ds[NFIX];
	struct zn_parse_opts opts = { .now = 1700000000 };
	struct zn_err err;
	char dir[] = "/tmp/fuzz-query.XXXXXX", path[64];
	char *ip4 = gen_ip4set();
	size_t i;

	FUZZ_SETUP(mkdtemp(dir) != NULL, strerror(errno));
	FUZZ_SETUP(zn_db_open(dir, 0, (size_t)64 << 20, &db, &err) == 0,
	    err.msg);
	for (i = 0; i < NFIX; i++) {
		const char *t = fixtures[i].text ? fixtures[i].text : ip4;

		FUZZ_SETUP(zn_spec_parse(fixtures[i].spec, &specs[i], &err) ==
		        0,
		    err.msg);
		FUZZ_SETUP(zn_dataset_load_mem(specs[i].type, specs[i].files, t,
		               strlen(t), &opts, &ds[i], &err) == 0,
		    err.msg);
		FUZZ_SETUP(ds[i]->nskipped == 0, fixtures[i].spec);
	}
	FUZZ_SETUP(zn_db_replace(db, specs, ds, NFIX, NULL, &err) == 0,
	    err.msg);
	for (i = 0; i < NFIX; i++) {
		zn_dataset_free(ds[i]);
		zn_spec_cleanup(&specs[i]);
	}
	free(ip4);
	FUZZ_SETUP(zn_view_open(db, &view, &err) == 0, err.msg);
	/* The map and the open descriptors outlive the names: nothing is
	 * left in /tmp, even when a crash ends the process. */
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	FUZZ_SETUP(rmdir(dir) == 0, strerror(errno));

	FUZZ_SETUP((ql = qlog_new()) != NULL, "qlog_new");
	FUZZ_SETUP(qlog_open(ql, "/dev/null", false) == 0, "/dev/null");
	/* exact sizes, so ASan sees a write past outsize */
	out_udp = malloc(UDP_OUT);
	out_tcp = malloc(QUERY_MAX_TCP);
	out_again = malloc(QUERY_MAX_TCP);
	FUZZ_SETUP(out_udp && out_tcp && out_again, "out of memory");
}

/* Walk a (possibly compressed) name at *off in msg[0..len); false if
 * malformed.  Pointers must point backwards, so the walk ends. */
static bool
walk_name(const uint8_t *msg, size_t len, size_t *off)
{
	size_t o = *off, total = 0, lim = *off;
	bool jumped = false;

	for (;;) {
		uint8_t l;

		if (o >= len)
			return false;
		l = msg[o];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (o + 2 > len)
				return false;
			to = (size_t)(l & 0x3f) << 8 | msg[o + 1];
			if (to < 12 || to >= lim)
				return false;
			if (!jumped)
				*off = o + 2;
			jumped = true;
			lim = to;
			o = to;
			continue;
		}
		if ((l & 0xc0) != 0)
			return false;
		if (o + 1 + l > len)
			return false;
		total += 1 + l;
		if (total > 255)
			return false;
		if (l == 0) {
			if (!jumped)
				*off = o + 1;
			return true;
		}
		o += 1 + l;
	}
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Check the RDATA of the types we write. */
static void
check_rdata(const uint8_t *msg, size_t start, size_t rdlen, uint16_t type)
{
	size_t o = start, end = start + rdlen;

	switch (type) {
	case 1: /* A */
		FUZZ_CHECK(rdlen == 4);
		break;
	case 28: /* AAAA */
		FUZZ_CHECK(rdlen == 16);
		break;
	case 16: /* TXT: character-strings, exactly */
		FUZZ_CHECK(rdlen > 0);
		while (o < end)
			o += 1 + msg[o];
		FUZZ_CHECK(o == end);
		break;
	case 2: /* NS */
		FUZZ_CHECK(walk_name(msg, end, &o) && o == end);
		break;
	case 15: /* MX */
		FUZZ_CHECK(rdlen > 2);
		o += 2;
		FUZZ_CHECK(walk_name(msg, end, &o) && o == end);
		break;
	case 6: /* SOA */
		FUZZ_CHECK(walk_name(msg, end, &o));
		FUZZ_CHECK(walk_name(msg, end, &o));
		FUZZ_CHECK(o + 20 == end);
		break;
	}
}

/*
 * Does a well-formed query carry an OPT record?  A plain re-reading of
 * RFC 1035/6891, independent of parse_query(): -1 if the message is not
 * a well-formed query with one question, else 0 or 1.
 */
static int
query_has_opt(const uint8_t *pkt, size_t len)
{
	size_t off = 12, i;
	uint16_t ar;
	int opt = 0;

	if (len < 12 || rd16(pkt + 4) != 1 || rd16(pkt + 6) != 0 ||
	    rd16(pkt + 8) != 0)
		return -1;
	ar = rd16(pkt + 10);
	for (i = 0; i < 1 + (size_t)ar; i++) {
		/* names: labels, or labels ending in a pointer (not in the
		 * question) */
		for (;;) {
			uint8_t l;

			if (off >= len)
				return -1;
			l = pkt[off];
			if (l == 0) {
				off++;
				break;
			}
			if ((l & 0xc0) == 0xc0 && i > 0) {
				off += 2;
				break;
			}
			if ((l & 0xc0) != 0)
				return -1;
			off += 1 + l;
		}
		if (i == 0) {
			off += 4;
			continue;
		}
		if (off + 10 > len)
			return -1;
		if (rd16(pkt + off) == 41)
			opt = 1;
		off += 10 + rd16(pkt + off + 8);
	}
	return off == len ? opt : -1;
}

/* The checks on one answer; n > 0. */
static void
check_answer(const uint8_t *pkt, size_t plen, const uint8_t *ans, size_t n,
    size_t outsize, bool tcp, const struct query_cfg *cfg,
    const struct query_info *info)
{
	uint16_t qd, an, ns, ar, type, rdlen;
	size_t off = 12, i, nrr;
	bool tc, opt = false;
	struct {
		uint16_t owner, type;
		uint32_t ttl;
		int sect;
	} rrs[ARRAY_MAX];

	FUZZ_CHECK(n <= outsize);
	FUZZ_CHECK(n >= 12);
	FUZZ_CHECK(plen >= 12);
	FUZZ_CHECK(ans[0] == pkt[0] && ans[1] == pkt[1]); /* ID */
	FUZZ_CHECK((ans[2] & 0x80) != 0); /* QR */
	FUZZ_CHECK((ans[2] & 0x78) == (pkt[2] & 0x78)); /* opcode */
	FUZZ_CHECK((ans[2] & 0x01) == (pkt[2] & 0x01)); /* RD */
	FUZZ_CHECK((ans[3] & 0x80) == 0); /* RA: not a resolver */
	/* no TC over TCP (the fixture has no answer near 64 KiB) */
	FUZZ_CHECK(!tcp || outsize < QUERY_MAX_TCP || !(ans[2] & 0x02));
	if (!tcp)
		FUZZ_CHECK(n <= (cfg->edns_size > 512 ? cfg->edns_size : 512));
	FUZZ_CHECK(!info->dropped);
	FUZZ_CHECK((info->rcode & 0x0f) == (ans[3] & 0x0f));
	FUZZ_CHECK(memchr(info->qname, '\0', sizeof(info->qname)) != NULL);
	tc = (ans[2] & 0x02) != 0;
	FUZZ_CHECK(tc == info->truncated);
	qd = rd16(ans + 4);
	an = rd16(ans + 6);
	ns = rd16(ans + 8);
	ar = rd16(ans + 10);
	FUZZ_CHECK(info->ancount == an);
	FUZZ_CHECK(qd <= 1);
	if (tc)
		FUZZ_CHECK(an == 0 && ns == 0);
	if (qd == 1) {
		/* the question, copied: no compression */
		FUZZ_CHECK(walk_name(ans, n, &off));
		FUZZ_CHECK(off + 4 <= n);
		FUZZ_CHECK(memcmp(ans + 12, pkt + 12, off + 4 - 12) == 0);
		off += 4;
	}
	nrr = (size_t)an + ns + ar;
	for (i = 0; i < nrr; i++) {
		size_t owner = off, j;

		FUZZ_CHECK(!opt); /* OPT is the last record */
		FUZZ_CHECK(walk_name(ans, n, &off));
		FUZZ_CHECK(off + 10 <= n);
		type = rd16(ans + off);
		rdlen = rd16(ans + off + 8);
		FUZZ_CHECK(off + 10 + rdlen <= n);
		if (type == 41) {
			FUZZ_CHECK(i >= (size_t)an + ns); /* additional */
			FUZZ_CHECK(ans[owner] == 0); /* root owner */
			FUZZ_CHECK(rdlen == 0);
			FUZZ_CHECK(rd16(ans + off + 2) == cfg->edns_size);
			/* extended RCODE: BADVERS only */
			FUZZ_CHECK(ans[off + 4] == (info->rcode >> 4));
			opt = true;
		} else {
			/* IN, or CH for version.bind */
			FUZZ_CHECK(rd16(ans + off + 2) == 1 ||
			    rd16(ans + off + 2) == 3);
		}
		check_rdata(ans, off + 10, rdlen, type);
		/* RFC 2181 5.2: one TTL per RRset (owners here are pointers
		 * or the root, compared as written) */
		if (i < ARRAY_MAX && type != 41) {
			rrs[i].owner = rd16(ans + owner);
			rrs[i].type = type;
			rrs[i].ttl = rd32(ans + off + 4);
			rrs[i].sect = i < an ? 0 : i < (size_t)an + ns ? 1 : 2;
			for (j = 0; j < i; j++)
				if (rrs[j].sect == rrs[i].sect &&
				    rrs[j].owner == rrs[i].owner &&
				    rrs[j].type == type && (ans[owner] & 0xc0))
					FUZZ_CHECK(rrs[j].ttl == rrs[i].ttl);
		}
		off += 10 + rdlen;
	}
	FUZZ_CHECK(off == n); /* nothing after the counted records */
	/* RFC 6891 7: an EDNS query gets an OPT, whatever the RCODE */
	if ((ans[3] & 0x0f) != 1 && query_has_opt(pkt, plen) == 1)
		FUZZ_CHECK(opt);
	if (!opt)
		FUZZ_CHECK(info->rcode < 16);
	if (!tcp && !opt)
		FUZZ_CHECK(n <= 512);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct query_cfg cfg;
	struct query_info info, info2;
	static const uint16_t edns[4] = { 1232, 512, 4096, 1400 };
	const uint8_t *client, *pkt;
	size_t clen, plen, outsize, n, n2;
	uint8_t flags, *out;
	bool tcp;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;
	clen = (flags & F_CLIENT6) ? 16 : 4;
	if (size < clen)
		return 0;
	client = data;
	data += clen;
	size -= clen;
	tcp = (flags & F_TCP) != 0;
	outsize = tcp ? QUERY_MAX_TCP : UDP_OUT;
	out = tcp ? out_tcp : out_udp;
	if (flags & F_SMALLOUT) {
		if (size < 1)
			return 0;
		outsize = 23 + (size_t)data[0];
		out += (tcp ? QUERY_MAX_TCP : UDP_OUT) - outsize;
		data++;
		size--;
	}
	pkt = data;
	plen = size;

	memset(&cfg, 0, sizeof(cfg));
	cfg.ttl_def = 2100;
	cfg.lazy = (flags & F_LAZY) != 0;
	cfg.version = (flags & F_NOVERSION) ? NULL : "resolverd fuzz";
	cfg.edns_size = edns[(flags >> F_EDNS_SHIFT) & 3];
	if (flags & F_CLAMP) {
		cfg.ttl_min = 60;
		cfg.ttl_max = 3600;
	}

	n = query_answer(&cfg, view, pkt, plen, client, clen, tcp, out, outsize,
	    &info);
	FUZZ_CHECK(n <= outsize);
	FUZZ_CHECK(info.dropped == (n == 0));
	if (n > 0)
		check_answer(pkt, plen, out, n, outsize, tcp, &cfg, &info);

	/* the same query again: the same answer (no state leaks from the
	 * previous input into this one) */
	n2 = query_answer(&cfg, view, pkt, plen, client, clen, tcp, out_again,
	    outsize, &info2);
	FUZZ_CHECK(n2 == n);
	FUZZ_CHECK(memcmp(out, out_again, n) == 0);
	FUZZ_CHECK(info2.rcode == info.rcode && info2.zone == info.zone);

	qlog_write(ql, 1700000000, client, clen, &info, n);
	return 0;
}
