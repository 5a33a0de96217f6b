/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Upstream questions and answers, without I/O: see rewrite.h.  The cheap
 * checks (header, ID, question) come first, on the raw bytes, so that
 * spoofed or stray packets cost nothing; an answer that passes them is
 * parsed whole by ldns, and one ldns rejects is a failure of the server.
 */
#include "config.h"

#include "rewrite.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <ldns/ldns.h>

#include "cache.h"

#define HDR 12
#define T_A 1
#define T_SOA 6
#define T_CNAME 5
#define T_OPT 41
#define T_DNAME 39
#define T_DS 43
#define T_RRSIG 46
#define T_NSEC 47
#define T_DNSKEY 48
#define T_NSEC3 50
#define T_ANY 255
#define C_IN 1
#define OPT_LEN 11

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* A dotted name as a lower-case wire name; its length, 0 if invalid. */
static size_t
text_wire(const char *s, uint8_t *w, size_t size)
{
	size_t n = 0, len = strlen(s);

	while (len > 0) {
		const char *dot = memchr(s, '.', len);
		size_t l = dot != NULL ? (size_t)(dot - s) : len, i;

		if (l == 0 || l > 63 || n + 1 + l + 1 > size)
			return 0;
		w[n++] = (uint8_t)l;
		for (i = 0; i < l; i++)
			w[n++] = lower((uint8_t)s[i]);
		s += l;
		len -= l;
		if (len > 0) {
			s++;
			len--;
		}
	}
	if (n + 1 > size)
		return 0;
	w[n++] = 0;
	return n;
}

/* The length of an uncompressed wire name at p (at most len bytes), 0 if
 * malformed; *labels counts its labels. */
static size_t
wire_len(const uint8_t *p, size_t len, unsigned *labels)
{
	size_t off = 0;
	unsigned n = 0;

	while (off < len && off < RW_NAME_MAX) {
		uint8_t l = p[off];

		if (l == 0) {
			if (labels != NULL)
				*labels = n;
			return off + 1;
		}
		if (l > 63 || off + 1 + l >= len)
			return 0;
		off += 1 + l;
		n++;
	}
	return 0;
}

/* Case-insensitive equality of two wire names of known lengths. */
static bool
wire_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* Does wire name n end with wire name sfx (both well formed)?  The
 * offset of the suffix in n, or -1. */
static long
wire_suffix(const uint8_t *n, size_t nlen, const uint8_t *sfx, size_t slen)
{
	size_t off = 0;

	while (off < nlen) {
		if (nlen - off == slen && wire_eq(n + off, slen, sfx, slen))
			return (long)off;
		if (n[off] == 0)
			break;
		off += 1 + n[off];
	}
	return -1;
}

/* Case-insensitive search for needle (lower-case) in hay: the offset of
 * the first match, or -1. */
static long
find_bytes(const uint8_t *hay, size_t hlen, const uint8_t *needle, size_t nlen)
{
	size_t i, j;

	if (nlen == 0 || nlen > hlen)
		return -1;
	for (i = 0; i + nlen <= hlen; i++) {
		for (j = 0; j < nlen; j++)
			if (lower(hay[i + j]) != needle[j])
				break;
		if (j == nlen)
			return (long)i;
	}
	return -1;
}

static bool
has_bytes(const uint8_t *hay, size_t hlen, const uint8_t *needle, size_t nlen)
{
	return find_bytes(hay, hlen, needle, nlen) >= 0;
}

int
rw_question(const struct rw_zone *z, const uint8_t *qname, size_t qlen,
    unsigned nkey, uint16_t qtype, struct rw_question *q)
{
	const char *sfx = z->rewrite != NULL ? z->rewrite : z->name;
	uint8_t sw[RW_NAME_MAX];
	size_t off = 0, slen, i;
	unsigned k;

	memset(q, 0, sizeof(*q));
	for (k = 0; k < nkey; k++) {
		if (off >= qlen || qname[off] == 0 || qname[off] > 63 ||
		    off + 1 + qname[off] >= qlen)
			return -EINVAL;
		off += 1 + qname[off];
	}
	if (off + 1 > qlen || (slen = text_wire(sfx, sw, sizeof(sw))) == 0 ||
	    off + slen > RW_NAME_MAX)
		return -EINVAL;
	for (i = 0; i < off; i++)
		q->name[i] = lower(qname[i]);
	memcpy(q->name + off, sw, slen);
	q->nlen = off + slen;
	q->qtype = qtype;
	q->apex = (uint16_t)(HDR + off);
	return 0;
}

size_t
rw_cache_key(const uint8_t *qname, size_t qlen, uint16_t qtype, uint8_t *key,
    size_t size)
{
	size_t i;

	if (qlen + 2 > size)
		return 0;
	put16(key, qtype);
	for (i = 0; i < qlen; i++)
		key[2 + i] = lower(qname[i]);
	return qlen + 2;
}

size_t
rw_query(const struct rw_question *q, uint16_t id, bool edns, uint8_t *out,
    size_t size)
{
	size_t n = HDR + q->nlen + 4;

	if (n + (edns ? OPT_LEN : 0) > size)
		return 0;
	memset(out, 0, HDR);
	put16(out, id);
	out[2] = 0x01; /* RD: a recursive upstream resolves for us */
	put16(out + 4, 1);
	put16(out + 10, edns ? 1 : 0);
	memcpy(out + HDR, q->name, q->nlen);
	put16(out + HDR + q->nlen, q->qtype);
	put16(out + HDR + q->nlen + 2, C_IN);
	if (edns) {
		uint8_t *o = out + n;

		memset(o, 0, OPT_LEN);
		put16(o + 1, T_OPT);
		put16(o + 3, RW_EDNS_SIZE);
		n += OPT_LEN;
	}
	return n;
}

bool
rw_is_errcode(const struct rw_zone *z, uint32_t a)
{
	size_t i;

	for (i = 0; i < z->nerrcodes; i++)
		if ((a & z->errcodes[i].mask) == z->errcodes[i].net)
			return true;
	return false;
}

static uint32_t
clamp(const struct rw_zone *z, uint32_t ttl)
{
	return cache_ttl_clamp(ttl, z->ttl_min, z->ttl_max);
}

/* Types never passed on, even to ANY: aliases and DNSSEC records. */
static bool
skipped_type(uint16_t t)
{
	return t == T_CNAME || t == T_DNAME || t == T_OPT || t == T_DS ||
	    t == T_RRSIG || t == T_NSEC || t == T_DNSKEY || t == T_NSEC3;
}

/* Append one record with a pointer owner to out's body. */
static bool
body_rr(struct rw_answer *out, uint16_t owner, uint16_t type, uint32_t ttl,
    const uint8_t *rd, size_t rdlen)
{
	uint8_t *p = out->body + out->blen;

	if (rdlen > 65535 || out->blen + 12 + rdlen > sizeof(out->body))
		return false;
	put16(p, (uint16_t)(0xc000 | owner));
	put16(p + 2, type);
	put16(p + 4, C_IN);
	put32(p + 6, ttl);
	put16(p + 10, (uint16_t)rdlen);
	memcpy(p + 12, rd, rdlen);
	out->blen += 12 + rdlen;
	return true;
}

/* The zone, the rewrite suffix and its key, as wire names. */
struct names {
	uint8_t zw[RW_NAME_MAX], rw[RW_NAME_MAX], key[64];
	size_t zwlen, rwlen, klen;
};

static bool
names_init(const struct rw_zone *z, struct names *nm)
{
	nm->rwlen = nm->klen = 0;
	if ((nm->zwlen = text_wire(z->name, nm->zw, sizeof(nm->zw))) == 0)
		return false;
	if (z->rewrite != NULL) {
		if ((nm->rwlen =
		            text_wire(z->rewrite, nm->rw, sizeof(nm->rw))) == 0)
			return false;
		if (nm->rwlen > 1 && nm->rw[0] < sizeof(nm->key)) {
			nm->klen = nm->rw[0];
			memcpy(nm->key, nm->rw + 1, nm->klen);
		}
	}
	return true;
}

/*
 * A name from record data, for the client: one under the rewrite suffix
 * is put under the zone; one that still holds the key becomes the zone.
 * Returns its length in w, 0 if malformed or too long.
 */
static size_t
map_name(const uint8_t *n, size_t nlen, const struct names *nm, uint8_t *w,
    size_t size)
{
	long at;

	if (wire_len(n, nlen, NULL) != nlen)
		return 0;
	if (nm->rwlen > 0 &&
	    (at = wire_suffix(n, nlen, nm->rw, nm->rwlen)) >= 0) {
		if ((size_t)at + nm->zwlen > size ||
		    (size_t)at + nm->zwlen > RW_NAME_MAX)
			return 0;
		memcpy(w, n, (size_t)at);
		memcpy(w + at, nm->zw, nm->zwlen);
		nlen = (size_t)at + nm->zwlen;
	} else if (nlen <= size)
		memcpy(w, n, nlen);
	else
		return 0;
	if (nm->klen > 0 && has_bytes(w, nlen, nm->key, nm->klen)) {
		if (nm->zwlen > size)
			return 0;
		memcpy(w, nm->zw, nm->zwlen);
		nlen = nm->zwlen;
	}
	return nlen;
}

/*
 * What masking may do to a byte of record data: a text byte (a string's
 * or a label's content, an address, a number) may become '*'; a length
 * byte, or any byte of data whose structure we do not know, may not, or
 * the client would read the record (and those after it) differently.
 */
#define M_FIXED 0
#define M_TEXT 1

/*
 * Keep the key out of a record as the client sees it: the record's TTL
 * (any value up to CACHE_TTL_CAP: it is aged when answered) and length
 * bytes, then its data rd (len bytes, cls[i] says what rd[i] is).  A
 * copy of the key in those bytes, or in the text bytes alone (strings
 * and labels joined, as clients may join them), has its text bytes
 * overwritten with '*' (same length, so every length byte stays right).
 * How many copies were masked, or -1 if one has data bytes but no text
 * byte to mask.
 */
static int
mask_rr(uint8_t *rd, const uint8_t *cls, size_t len, const struct names *nm)
{
	const uint8_t *key = nm->key;
	size_t klen = nm->klen, i, j, p, lim;
	int n = 0;
	bool hit;

	if (klen == 0)
		return 0;
	/* the bytes as sent: position p of TTL(4), length(2), data */
	for (i = 0; i + klen <= 6 + len; i++) {
		for (j = 0; j < klen; j++) {
			p = i + j;
			if (p < 4) {
				lim = CACHE_TTL_CAP >> (8 * (3 - p));
				if (key[j] > lim)
					break;
			} else if (p < 6) {
				if (lower((uint8_t)(len >> (p == 4 ? 8 : 0))) !=
				    key[j])
					break;
			} else if (lower(rd[p - 6]) != key[j])
				break;
		}
		/* none in the data: the TTL and length alone, a key of
		 * four bytes or less, are no copy of anything */
		if (j < klen || i + klen <= 6)
			continue;
		for (hit = false, j = 0; j < klen; j++) {
			p = i + j;
			if (p >= 6 && cls[p - 6] == M_TEXT) {
				rd[p - 6] = '*';
				hit = true;
			}
		}
		if (!hit)
			return -1;
		n++;
	}
	/* the text bytes alone */
	for (i = 0; i < len; i++) {
		if (cls[i] != M_TEXT)
			continue;
		for (j = 0, p = i; j < klen && p < len; p++) {
			if (cls[p] != M_TEXT)
				continue;
			if (lower(rd[p]) != key[j])
				break;
			j++;
		}
		if (j < klen)
			continue;
		for (j = 0, p = i; j < klen; p++) {
			if (cls[p] == M_TEXT) {
				rd[p] = '*';
				j++;
			}
		}
		n++;
	}
	return n;
}

/* What each of the n bytes of a field of type t (wire form w) is. */
static void
rdf_cls(ldns_rdf_type t, const uint8_t *w, size_t n, uint8_t *cls)
{
	size_t i;

	switch (t) {
	case LDNS_RDF_TYPE_DNAME: /* labels: their length bytes fixed */
		memset(cls, M_TEXT, n);
		for (i = 0; i < n; i += 1 + w[i])
			cls[i] = M_FIXED;
		break;
	case LDNS_RDF_TYPE_STR: /* a length byte, then text */
		memset(cls, M_TEXT, n);
		if (n > 0)
			cls[0] = M_FIXED;
		break;
	case LDNS_RDF_TYPE_A:
	case LDNS_RDF_TYPE_AAAA:
	case LDNS_RDF_TYPE_INT8:
	case LDNS_RDF_TYPE_INT16:
	case LDNS_RDF_TYPE_INT32:
	case LDNS_RDF_TYPE_TIME:
	case LDNS_RDF_TYPE_PERIOD:
	case LDNS_RDF_TYPE_HEX:
	case LDNS_RDF_TYPE_B64:
	case LDNS_RDF_TYPE_LONG_STR:
	case LDNS_RDF_TYPE_UNKNOWN:
	case LDNS_RDF_TYPE_EUI48:
	case LDNS_RDF_TYPE_EUI64:
	case LDNS_RDF_TYPE_ILNP64:
		memset(cls, M_TEXT, n); /* fixed size, or the rest of it */
		break;
	default: /* structure we do not look into: keep it as is */
		memset(cls, M_FIXED, n);
		break;
	}
}

/*
 * The data of rr in wire form (names uncompressed, and mapped by
 * map_name) into out, and what each byte is into cls (as large as out);
 * its length, or 0 if it does not fit or cannot be written.  Empty data
 * is written as is: *ok tells the two apart.
 */
static size_t
rr_rdata(const ldns_rr *rr, const struct names *nm, ldns_buffer *buf,
    uint8_t *out, uint8_t *cls, size_t size, bool *ok)
{
	size_t len = 0, i, n;

	*ok = false;
	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);

		if (f == NULL)
			return 0;
		if (ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME) {
			n = map_name(ldns_rdf_data(f), ldns_rdf_size(f), nm,
			    out + len, size - len);
			if (n == 0)
				return 0;
		} else {
			ldns_buffer_clear(buf);
			if (ldns_rdf2buffer_wire(buf, f) != LDNS_STATUS_OK)
				return 0;
			n = ldns_buffer_position(buf);
			if (n > size - len)
				return 0;
			memcpy(out + len, ldns_buffer_begin(buf), n);
		}
		rdf_cls(ldns_rdf_get_type(f), out + len, n, cls + len);
		len += n;
	}
	*ok = true;
	return len;
}

/* The SOA of a negative answer into the body; false if there is none
 * usable. */
static bool
body_soa(const struct rw_zone *z, const struct rw_question *q, ldns_pkt *p,
    const struct names *nm, ldns_buffer *buf, struct rw_answer *out)
{
	ldns_rr_list *auth = ldns_pkt_authority(p);
	uint8_t rd[2 * RW_NAME_MAX + 20], cls[sizeof(rd)];
	size_t i, len;
	uint32_t neg;
	int m;
	bool ok;

	for (i = 0; auth != NULL && i < ldns_rr_list_rr_count(auth); i++) {
		ldns_rr *rr = ldns_rr_list_rr(auth, i);
		ldns_rdf *own = ldns_rr_owner(rr);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_rr_rd_count(rr) != 7 || own == NULL ||
		    wire_len(ldns_rdf_data(own), ldns_rdf_size(own), NULL) !=
		        ldns_rdf_size(own))
			continue;
		if (wire_suffix(q->name, q->nlen, ldns_rdf_data(own),
		        ldns_rdf_size(own)) < 0)
			continue; /* not an ancestor of the name asked */
		len = rr_rdata(rr, nm, buf, rd, cls, sizeof(rd), &ok);
		/* the key in the numbers, say: nothing of it gets out (and
		 * no SOA if it cannot be masked) */
		if (!ok || (m = mask_rr(rd, cls, len, nm)) < 0)
			return false;
		if (m > 0)
			out->secret++;
		/* RFC 2308 5: min(TTL, MINIMUM), TTLs clamped as mirrored
		 * answers are, and at most negative-ttl */
		if (cache_soa_negative_ttl(rd, len, clamp(z, ldns_rr_ttl(rr)),
		        &neg) != 0)
			return false;
		if (z->neg_ttl != 0 && neg > z->neg_ttl)
			neg = z->neg_ttl;
		if (!body_rr(out, q->apex, T_SOA, neg, rd, len))
			return false;
		out->ns = 1;
		out->ttl = neg;
		return true;
	}
	return false;
}

/* The cheap checks on the raw bytes; RW_OK when it is our answer. */
static enum rw_verdict
check_raw(const struct rw_question *q, uint16_t id, const uint8_t *pkt,
    size_t len, struct rw_answer *out)
{
	size_t nlen;

	if (len < HDR) {
		out->why = RW_WHY_SHORT;
		return RW_IGNORE;
	}
	if (!(pkt[2] & 0x80) || (pkt[2] & 0x78) != 0) {
		out->why = RW_WHY_NOTANSWER;
		return RW_IGNORE;
	}
	if (get16(pkt) != id) {
		out->why = RW_WHY_ID;
		return RW_IGNORE;
	}
	nlen = wire_len(pkt + HDR, len - HDR, NULL);
	if (get16(pkt + 4) != 1 || nlen == 0 || HDR + nlen + 4 > len ||
	    !wire_eq(pkt + HDR, nlen, q->name, q->nlen) ||
	    get16(pkt + HDR + nlen) != q->qtype ||
	    get16(pkt + HDR + nlen + 2) != C_IN) {
		out->why = RW_WHY_QUESTION;
		return RW_IGNORE;
	}
	out->rcode = pkt[3] & 0x0f;
	return RW_OK;
}

enum rw_verdict
rw_answer(const struct rw_zone *z, const struct rw_question *q, uint16_t id,
    const uint8_t *pkt, size_t len, struct rw_answer *out)
{
	static _Thread_local uint8_t rd[65536], cls[sizeof(rd)];
	ldns_pkt *p = NULL;
	ldns_rr_list *ans;
	ldns_buffer *buf = NULL;
	struct names nm;
	size_t i;
	uint32_t minttl = UINT32_MAX;
	enum rw_verdict v;
	int m;
	bool err = false;

	out->why = RW_WHY_NONE;
	out->rcode = 0;
	out->an = out->ns = 0;
	out->negative = false;
	out->ttl = 0;
	out->errcode = 0;
	out->foreign = out->secret = 0;
	out->blen = 0;
	if ((v = check_raw(q, id, pkt, len, out)) != RW_OK)
		return v;
	if (pkt[2] & 0x02)
		return RW_TRUNC; /* the rest may be cut anywhere */
	if (ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK || p == NULL) {
		out->why = RW_WHY_MALFORMED;
		return RW_FAIL;
	}
	v = RW_FAIL;
	if (out->rcode != LDNS_RCODE_NOERROR &&
	    out->rcode != LDNS_RCODE_NXDOMAIN) {
		out->why = RW_WHY_RCODE;
		goto done;
	}
	out->why = RW_WHY_MALFORMED;
	if (!names_init(z, &nm) || (buf = ldns_buffer_new(512)) == NULL)
		goto done;
	ans = ldns_pkt_answer(p);
	for (i = 0; out->rcode == LDNS_RCODE_NOERROR && ans != NULL &&
	     i < ldns_rr_list_rr_count(ans);
	     i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);
		ldns_rdf *own = ldns_rr_owner(rr);
		uint16_t t = (uint16_t)ldns_rr_get_type(rr);
		size_t rdlen;
		bool ok;

		if (own == NULL ||
		    !wire_eq(ldns_rdf_data(own), ldns_rdf_size(own), q->name,
		        q->nlen) ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    (t != q->qtype && q->qtype != T_ANY) || skipped_type(t)) {
			out->foreign++;
			continue;
		}
		rdlen = rr_rdata(rr, &nm, buf, rd, cls, sizeof(rd), &ok);
		if (!ok)
			goto done;
		if (t == T_A && rdlen == 4) {
			uint32_t a = (uint32_t)rd[0] << 24 |
			    (uint32_t)rd[1] << 16 | (uint32_t)rd[2] << 8 |
			    rd[3];

			if (rw_is_errcode(z, a)) {
				err = true;
				out->errcode = a;
			}
		}
		/* the key, say in a TXT's URL, never reaches a client; one
		 * that cannot be masked fails the answer */
		if ((m = mask_rr(rd, cls, rdlen, &nm)) < 0)
			goto done;
		if (m > 0)
			out->secret++;
		if (!body_rr(out, HDR, t, 0, rd, rdlen))
			goto done;
		out->an++;
		if (ldns_rr_ttl(rr) < minttl)
			minttl = ldns_rr_ttl(rr);
	}
	if (out->an == 0 && out->foreign > 0) {
		out->why = RW_WHY_FOREIGN; /* not an answer to our question */
		goto done;
	}
	if (err) {
		out->an = 0;
		out->blen = 0;
		out->why = RW_WHY_NONE;
		v = RW_ERRCODE;
		goto done;
	}
	if (out->an > 0) {
		size_t off;

		/* one TTL for all: the smallest, clamped (RFC 2181 5.2) */
		out->ttl = clamp(z, minttl);
		for (off = 0; off + 12 <= out->blen;
		     off += 12 + get16(out->body + off + 10))
			put32(out->body + off + 6, out->ttl);
	} else {
		out->negative = true;
		if (!body_soa(z, q, p, &nm, buf, out)) {
			out->blen = 0; /* RFC 2308 5: no SOA, no caching */
			out->ns = 0;
			out->ttl = 0;
		}
	}
	out->why = RW_WHY_NONE;
	v = RW_OK;
done:
	ldns_buffer_free(buf);
	ldns_pkt_free(p);
	return v;
}

size_t
rw_render(const struct rw_client *c, uint8_t rcode, uint16_t an, uint16_t ns,
    const uint8_t *body, size_t blen, uint32_t age, bool stale, uint8_t *out,
    size_t outsize, bool *tc)
{
	size_t len = c->qend, opt = c->edns ? OPT_LEN : 0, off;
	unsigned i;

	*tc = false;
	if (c->qend < HDR || c->qend > sizeof(c->q) || len + opt > outsize)
		return 0;
	memcpy(out, c->q, c->qend);
	out[2] = (uint8_t)(0x80 | (c->q[2] & 0x79)); /* QR, opcode, RD */
	if (rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN)
		out[2] |= 0x04;
	out[3] = rcode & 0x0f;
	put16(out + 4, 1);
	memset(out + 6, 0, 6);
	if (len + blen + opt > c->limit || len + blen + opt > outsize) {
		out[2] |= 0x02; /* RFC 2181 9: no partial RRset, but TC */
		*tc = true;
		an = ns = 0;
		blen = 0;
	}
	if (blen > 0) /* body may be NULL for an empty answer */
		memcpy(out + len, body, blen);
	for (i = 0, off = len; i < (unsigned)an + ns && off + 12 <= len + blen;
	     i++) {
		uint8_t *r = out + off;
		uint32_t ttl = (uint32_t)r[6] << 24 | (uint32_t)r[7] << 16 |
		    (uint32_t)r[8] << 8 | r[9];

		if (stale)
			ttl = ttl < CACHE_STALE_TTL ? ttl : CACHE_STALE_TTL;
		else
			ttl = ttl > age ? ttl - age : 0;
		put32(r + 6, ttl);
		off += 12 + get16(r + 10);
	}
	len += blen;
	put16(out + 6, an);
	put16(out + 8, ns);
	if (c->edns) {
		uint8_t *o = out + len;

		memset(o, 0, OPT_LEN);
		put16(o + 1, T_OPT);
		put16(o + 3, c->edns_size);
		if (c->do_bit)
			o[7] = 0x80;
		len += OPT_LEN;
		put16(out + 10, 1);
	}
	return len;
}

const char *
rw_why_name(enum rw_why why)
{
	static const char *const names[RW_WHY_NMAX] = {
		[RW_WHY_NONE] = "none",
		[RW_WHY_SHORT] = "short",
		[RW_WHY_NOTANSWER] = "not-answer",
		[RW_WHY_ID] = "bad-id",
		[RW_WHY_QUESTION] = "bad-question",
		[RW_WHY_MALFORMED] = "malformed",
		[RW_WHY_RCODE] = "rcode",
		[RW_WHY_FOREIGN] = "foreign",
	};

	return (unsigned)why < RW_WHY_NMAX ? names[why] : "?";
}
