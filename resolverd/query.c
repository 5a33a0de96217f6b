/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Answering one DNS query from the mirror.  The checks run in a fixed
 * order and leave by "drop" (no answer at all) or by an answer with an
 * RCODE, like unwind's check_query: a packet that is not a query, or a
 * client the acl ignores, is dropped; a query we cannot parse gets
 * FORMERR; what we do not implement gets NOTIMP; names outside our zones
 * get REFUSED.
 *
 * Where rbldnsd is wrong we are not (REFERENCE-rbldnsd.md section 10):
 * answers that do not fit set TC (and TCP carries them whole), EDNS
 * queries always get an OPT, version > 0 gets BADVERS, empty non-terminals
 * get NODATA, and the negative SOA TTL is min(SOA TTL, MINIMUM).
 */
#include "config.h"

#include "query.h"

#include <sys/socket.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DNS_HDR 12
#define T_A 1
#define T_NS 2
#define T_SOA 6
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28
#define T_OPT 41
#define T_ANY 255
#define C_IN 1
#define C_CH 3
#define C_ANY 255
#define RC_NOERROR 0
#define RC_FORMERR 1
#define RC_SERVFAIL 2
#define RC_NXDOMAIN 3
#define RC_NOTIMP 4
#define RC_REFUSED 5
#define RC_BADVERS 16
#define OPT_LEN 11

/* The parsed question and EDNS state of a query. */
struct q {
	const uint8_t *pkt;
	size_t len;
	size_t qend; /* end of the question section */
	size_t qname_len; /* wire length of the qname */
	uint16_t qtype, qclass;
	bool edns;
	uint8_t edns_version;
	uint16_t edns_size;
	bool do_bit;
	struct zn_qname name;
};

/* An answer being written, with a hard limit. */
struct ans {
	uint8_t *p;
	size_t len;
	size_t limit; /* bytes we may use, OPT space already set aside */
	bool full; /* something did not fit */
	unsigned an, ns, ar;
};

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

static bool
emit(struct ans *a, const void *d, size_t n)
{
	if (a->full || a->len + n > a->limit) {
		a->full = true;
		return false;
	}
	memcpy(a->p + a->len, d, n);
	a->len += n;
	return true;
}

static bool
emit16(struct ans *a, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	return emit(a, b, 2);
}

static bool
emit32(struct ans *a, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	return emit(a, b, 4);
}

/* Skip a possibly compressed name at *off; false if malformed. */
static bool
skip_name(const uint8_t *p, size_t len, size_t *off)
{
	size_t o = *off;

	while (o < len) {
		uint8_t l = p[o];

		if (l == 0) {
			*off = o + 1;
			return true;
		}
		if ((l & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return false;
			*off = o + 2; /* the target is not read */
			return true;
		}
		if ((l & 0xc0) != 0 || o + 1 + l > len)
			return false;
		o += 1 + l;
	}
	return false;
}

/*
 * Parse header, question and the additional section.  Returns -1 to
 * drop, else an RCODE (0 if the query is fine).
 */
static int
parse_query(const uint8_t *pkt, size_t len, struct q *q)
{
	size_t off = DNS_HDR, i;
	uint16_t qd, an, ns, ar;

	memset(q, 0, sizeof(*q));
	q->pkt = pkt;
	q->len = len;
	if (len < DNS_HDR || (pkt[2] & 0x80))
		return -1; /* too short to answer, or a response */
	qd = get16(pkt + 4);
	an = get16(pkt + 6);
	ns = get16(pkt + 8);
	ar = get16(pkt + 10);
	if (qd != 1)
		return RC_FORMERR;
	/* the question name: no compression in a question */
	while (off < len && pkt[off] != 0) {
		uint8_t l = pkt[off];

		if ((l & 0xc0) != 0 || off + 1 + l >= len)
			return RC_FORMERR;
		off += 1 + l;
		if (off + 1 - DNS_HDR > 255)
			return RC_FORMERR; /* 255 bytes with the root label */
	}
	if (off + 5 > len)
		return RC_FORMERR;
	q->qname_len = off + 1 - DNS_HDR;
	if (zn_qname_from_wire(&q->name, pkt + DNS_HDR, q->qname_len) != 0)
		return RC_FORMERR;
	q->qtype = get16(pkt + off + 1);
	q->qclass = get16(pkt + off + 3);
	q->qend = off + 5;
	if (an != 0 || ns != 0)
		return RC_FORMERR;
	off = q->qend;
	for (i = 0; i < ar; i++) {
		uint16_t type, rdlen;
		size_t name_at = off;

		if (!skip_name(pkt, len, &off) || off + 10 > len)
			return RC_FORMERR;
		type = get16(pkt + off);
		rdlen = get16(pkt + off + 8);
		if (off + 10 + rdlen > len)
			return RC_FORMERR;
		if (type == T_OPT) {
			if (q->edns || pkt[name_at] != 0)
				return RC_FORMERR; /* two OPTs, or not root */
			q->edns = true;
			q->edns_size = get16(pkt + off + 2);
			q->edns_version = pkt[off + 5];
			q->do_bit = (pkt[off + 6] & 0x80) != 0;
		}
		off += 10 + rdlen;
	}
	if (off != len)
		return RC_FORMERR; /* trailing garbage */
	return RC_NOERROR;
}

static uint32_t
clamp_ttl(const struct query_cfg *cfg, uint32_t ttl)
{
	if (ttl == 0)
		ttl = cfg->ttl_def;
	if (cfg->ttl_min && ttl < cfg->ttl_min)
		ttl = cfg->ttl_min;
	if (cfg->ttl_max && ttl > cfg->ttl_max)
		ttl = cfg->ttl_max;
	return ttl;
}

/* An RR header with a compression pointer as owner. */
static bool
rr_head(struct ans *a, uint16_t owner, uint16_t type, uint16_t class,
    uint32_t ttl, uint16_t rdlen)
{
	return emit16(a, 0xc000 | owner) && emit16(a, type) &&
	    emit16(a, class) && emit32(a, ttl) && emit16(a, rdlen);
}

/* The length of name wn in an answer whose zone name is at offset apex. */
static size_t
wname_len(const struct zn_wname *wn, uint16_t apex)
{
	if (wn->cut < wn->len && apex + wn->zoff < 0x4000)
		return wn->cut + 2u;
	return wn->len;
}

static bool
emit_wname(struct ans *a, const struct zn_wname *wn, uint16_t apex)
{
	if (wn->cut < wn->len && apex + wn->zoff < 0x4000)
		return emit(a, wn->w, wn->cut) &&
		    emit16(a, 0xc000 | (apex + wn->zoff));
	return emit(a, wn->w, wn->len);
}

static bool
rr_name_rdata(struct ans *a, uint16_t owner, uint16_t type, uint32_t ttl,
    const struct zn_wname *wn)
{
	size_t n = wname_len(wn, owner);

	if (n == 0)
		return true; /* an unusable name in the data: leave it out */
	return rr_head(a, owner, type, C_IN, ttl, (uint16_t)n) &&
	    emit_wname(a, wn, owner);
}

static uint32_t
zone_serial(const struct zn_zone *z)
{
	int64_t newest = 0;
	size_t i;

	if (z->soa_ds->soa.serial != 0)
		return z->soa_ds->soa.serial;
	for (i = 0; i < z->nrefs; i++)
		if (z->refs[i].ds->mtime > newest)
			newest = z->refs[i].ds->mtime;
	return (uint32_t)newest;
}

static bool
rr_soa(struct ans *a, const struct query_cfg *cfg, const struct zn_zone *z,
    uint16_t owner, bool negative)
{
	const struct zn_soa *s = &z->soa_ds->soa;
	size_t ml = wname_len(&z->wn[0], owner);
	size_t rl = wname_len(&z->wn[1], owner);
	uint32_t ttl = clamp_ttl(cfg, s->ttl);

	if (negative && s->minimum < ttl)
		ttl = s->minimum; /* RFC 2308 */
	if (ml == 0 || rl == 0)
		return true;
	return rr_head(a, owner, T_SOA, C_IN, ttl, (uint16_t)(ml + rl + 20)) &&
	    emit_wname(a, &z->wn[0], owner) &&
	    emit_wname(a, &z->wn[1], owner) && emit32(a, zone_serial(z)) &&
	    emit32(a, s->refresh) && emit32(a, s->retry) &&
	    emit32(a, s->expire) && emit32(a, s->minimum);
}

static bool
rr_ns_all(struct ans *a, const struct query_cfg *cfg, const struct zn_zone *z,
    uint16_t owner, unsigned *count)
{
	const struct zn_dataset *ds = z->ns_ds;
	size_t i;

	for (i = 0; i < ds->nns; i++) {
		if (!rr_name_rdata(a, owner, T_NS, clamp_ttl(cfg, ds->ns_ttl),
		        &z->wn[2 + i]))
			return false;
		(*count)++;
	}
	return true;
}

/*
 * The answer RRs of one name: the A/TXT values (out, may be NULL) and the
 * generic records of the type asked (or all for ANY), merged as rbldnsd
 * does: an RR that is already there is left out, and all RRs of a type
 * get the smallest TTL among them (one RRset, one TTL: RFC 2181 5.2).
 */
struct arr {
	uint16_t type, rdlen;
	uint32_t ttl;
	const uint8_t *rd;
};
#define ANSWER_RRS_MAX 255

static void
arr_add(struct arr *rrs, size_t *n, uint16_t type, uint32_t ttl,
    const uint8_t *rd, uint16_t rdlen)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (rrs[i].type == type && rrs[i].rdlen == rdlen &&
		    memcmp(rrs[i].rd, rd, rdlen) == 0) {
			if (ttl < rrs[i].ttl) /* the RRset's TTL, below */
				rrs[i].ttl = ttl;
			return;
		}
	if (*n < ANSWER_RRS_MAX)
		rrs[(*n)++] = (struct arr){ type, rdlen, ttl, rd };
}

static bool
rr_answers(struct ans *a, const struct query_cfg *cfg,
    const struct zn_rendered *out, const struct zn_result *r, uint16_t qtype,
    uint16_t owner, unsigned *count)
{
	static _Thread_local struct arr rrs[ANSWER_RRS_MAX];
	static _Thread_local uint8_t abuf[ZN_RES_VALS][4];
	static _Thread_local uint8_t tbuf[ZN_RES_VALS][1 + ZN_TXT_OUT_MAX];
	size_t n = 0, i, j, off;

	if (out != NULL && (qtype == T_A || qtype == T_ANY))
		for (i = 0; i < out->na; i++) {
			abuf[i][0] = (uint8_t)(out->a[i] >> 24);
			abuf[i][1] = (uint8_t)(out->a[i] >> 16);
			abuf[i][2] = (uint8_t)(out->a[i] >> 8);
			abuf[i][3] = (uint8_t)out->a[i];
			arr_add(rrs, &n, T_A, clamp_ttl(cfg, out->a_ttl),
			    abuf[i], 4);
		}
	if (out != NULL && (qtype == T_TXT || qtype == T_ANY))
		for (i = 0; i < out->ntxt; i++) {
			tbuf[i][0] = out->tlen[i];
			memcpy(tbuf[i] + 1, out->txt[i], out->tlen[i]);
			arr_add(rrs, &n, T_TXT, clamp_ttl(cfg, out->txt_ttl),
			    tbuf[i], (uint16_t)(out->tlen[i] + 1));
		}
	for (i = 0; i < r->nrr; i++) {
		const struct zn_resrr *rr = &r->rr[i];

		if (rr->type != qtype && qtype != T_ANY)
			continue;
		for (off = 0; off + 6 <= rr->len;) {
			const uint8_t *b = rr->rrset + off;
			uint32_t ttl = (uint32_t)b[0] << 24 | b[1] << 16 |
			    b[2] << 8 | b[3];
			uint16_t rdlen = get16(b + 4);

			if (off + 6 + rdlen > rr->len)
				break;
			/* 0: a record read before any $TTL, the default */
			arr_add(rrs, &n, rr->type, clamp_ttl(cfg, ttl), b + 6,
			    rdlen);
			off += 6 + rdlen;
		}
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			if (rrs[j].type == rrs[i].type &&
			    rrs[j].ttl < rrs[i].ttl)
				rrs[i].ttl = rrs[j].ttl;
	for (i = 0; i < n; i++) {
		if (!rr_head(a, owner, rrs[i].type, C_IN, rrs[i].ttl,
		        rrs[i].rdlen) ||
		    !emit(a, rrs[i].rd, rrs[i].rdlen))
			return false;
		(*count)++;
	}
	return true;
}

/* Glue: generic A records of the NS names that lie in served zones. */
static void
rr_glue(struct ans *a, const struct query_cfg *cfg, const struct zn_view *v,
    const struct zn_zone *z, uint16_t apex, struct zn_result *tmp)
{
	const struct zn_dataset *ds = z->ns_ds;
	size_t i, j, off;

	for (i = 0; i < ds->nns && !a->full; i++) {
		struct zn_qname nq;
		const struct zn_zone *gz;
		const struct zn_wname *wn = &z->wn[2 + i];
		unsigned nkey;

		if (zn_qname_from_text(&nq, ds->ns[i]) != 0 ||
		    (gz = zn_view_match(v, &nq, &nkey)) == NULL ||
		    zn_lookup(v, gz, &nq, nkey, tmp) != 0 ||
		    wname_len(wn, apex) == 0)
			continue;
		for (j = 0; j < tmp->nrr; j++) {
			const struct zn_resrr *rr = &tmp->rr[j];

			if (rr->type != T_A && rr->type != T_AAAA)
				continue;
			for (off = 0; off + 6 <= rr->len;) {
				const uint8_t *b = rr->rrset + off;
				uint16_t rdlen = get16(b + 4);
				uint32_t ttl = (uint32_t)b[0] << 24 |
				    b[1] << 16 | b[2] << 8 | b[3];
				size_t mark = a->len;

				if (off + 6 + rdlen > rr->len)
					break;
				if (!emit_wname(a, wn, apex) ||
				    !emit16(a, rr->type) || !emit16(a, C_IN) ||
				    !emit32(a, clamp_ttl(cfg, ttl)) ||
				    !emit16(a, rdlen) ||
				    !emit(a, b + 6, rdlen)) {
					/* optional: what does not fit is
					 * left out */
					a->len = mark;
					a->full = false;
					return;
				}
				a->ar++;
				off += 6 + rdlen;
			}
		}
	}
}

/* Is the key the RFC 5782 test point (1) or its negative twin (-1)? */
static int
test_point(const struct zn_zone *z, const struct zn_qname *n, unsigned nkey)
{
	/* ::ffff:7f00:2 reversed; nibbles 12..31 are zero */
	static const char v6[] = "2000"
	                         "00f7"
	                         "ffff";
	const uint8_t *l0 = n->buf + n->off[0];
	unsigned i;
	bool ip4 = nkey == 4 && z->has_ip4;
	bool ip6 = nkey == 32 && (z->has_ip6 || z->has_ip4);

	if (ip4) {
		for (i = 1; i < 4; i++) {
			static const char *const t[] = { "", "0", "0", "127" };

			if (n->len[i] != strlen(t[i]) ||
			    memcmp(n->buf + n->off[i], t[i], n->len[i]) != 0)
				ip4 = false;
		}
	}
	if (ip6) {
		for (i = 1; i < 32; i++)
			if (n->len[i] != 1 ||
			    n->buf[n->off[i]] != (i < 12 ? v6[i] : '0'))
				ip6 = false;
	}
	if (ip4 || ip6) {
		if (n->len[0] == 1 && l0[0] == '2')
			return 1;
		if (n->len[0] == 1 && l0[0] == '1')
			return -1;
		return 0;
	}
	if (nkey == 1) {
		size_t i2;
		bool names = false;

		for (i2 = 0; i2 < z->nrefs; i2++)
			names |= z->refs[i2].ds->type == ZN_DNSET;
		if (!names)
			return 0;
		if (n->len[0] == 4 && memcmp(l0, "test", 4) == 0)
			return 1;
		if (n->len[0] == 7 && memcmp(l0, "invalid", 7) == 0)
			return -1;
	}
	return 0;
}

static void
info_qname(struct query_info *info, const struct zn_qname *n)
{
	size_t pos = 0;
	unsigned i;

	for (i = 0; i < n->nlabels; i++) {
		if (pos + n->len[i] + 2 >= sizeof(info->qname))
			break;
		memcpy(info->qname + pos, n->buf + n->off[i], n->len[i]);
		pos += n->len[i];
		info->qname[pos++] = '.';
	}
	if (pos == 0)
		info->qname[pos++] = '.';
	else if (n->nlabels > 0)
		pos--;
	info->qname[pos] = '\0';
}

/* Offset in the packet of the zone's apex inside the qname. */
static uint16_t
apex_offset(const struct zn_qname *n, unsigned nkey)
{
	size_t off = DNS_HDR;
	unsigned i;

	for (i = 0; i < nkey; i++)
		off += 1 + n->len[i];
	return (uint16_t)off;
}

/* version.bind or version.server */
static bool
version_query(const struct zn_qname *n)
{
	return n->nlabels == 2 && n->len[0] == 7 &&
	    memcmp(n->buf + n->off[0], "version", 7) == 0 &&
	    ((n->len[1] == 4 && memcmp(n->buf + n->off[1], "bind", 4) == 0) ||
	        (n->len[1] == 6 &&
	            memcmp(n->buf + n->off[1], "server", 6) == 0));
}

/*
 * The answer section and rcode for a query to zone z; sets *negative
 * when an SOA belongs in the authority section.
 */
static int
answer_zone(const struct query_cfg *cfg, const struct zn_view *v,
    const struct q *q, const struct zn_zone *z, unsigned nkey,
    const uint8_t *client, size_t clen, struct ans *a, bool *negative,
    bool *positive, struct query_info *info)
{
	static _Thread_local struct zn_result r;
	static _Thread_local struct zn_rendered out;
	struct zn_resval aval;
	char subj[INET6_ADDRSTRLEN];
	uint16_t apex = apex_offset(&q->name, nkey), t = q->qtype;
	int acl, tp;
	bool listed;

	acl = zn_acl_check(v, z, client, clen, &aval);
	if (acl < 0)
		return RC_SERVFAIL;
	if (acl == ZN_ACL_IGNORE)
		return -1;
	if (acl == ZN_ACL_REFUSE)
		return RC_REFUSED;

	if (nkey == 0 && (t == T_SOA || t == T_NS || t == T_ANY)) {
		bool soa = t == T_SOA || t == T_ANY,
		     ns = t == T_NS || t == T_ANY;

		if ((soa && z->soa_ds == NULL) || (ns && z->ns_ds == NULL))
			return RC_REFUSED;
		if (soa) {
			if (!rr_soa(a, cfg, z, apex, false))
				return RC_NOERROR;
			a->an++;
		}
		if (ns && !rr_ns_all(a, cfg, z, apex, &a->an))
			return RC_NOERROR;
		if (t == T_ANY) {
			if (zn_lookup(v, z, &q->name, nkey, &r) == 0)
				rr_answers(a, cfg, NULL, &r, T_ANY, apex,
				    &a->an);
		}
		*positive = true;
		return RC_NOERROR;
	}
	if (acl == ZN_ACL_LISTED) {
		/* "always listed": the client's address is the subject */
		if (inet_ntop(clen == 4 ? AF_INET : AF_INET6, client, subj,
		        sizeof(subj)) == NULL)
			subj[0] = '\0';
		aval.subject = subj;
	}
	if (zn_lookup_client(v, z, &q->name, nkey, acl, &aval, &r) != 0)
		return RC_SERVFAIL;
	if (acl == ZN_ACL_LISTED && (r.flags & ZN_R_LISTED)) {
		zn_result_render(&r, cfg->ttl_def, &out);
		goto render_done;
	}
	tp = test_point(z, &q->name, nkey);
	if (tp < 0) {
		r.nval = 0;
		r.flags &= ~ZN_R_LISTED;
	} else if (tp > 0 && !(r.flags & ZN_R_LISTED)) {
		static const char txt[] = "RFC 5782 test point";

		r.val[0] = (struct zn_resval){ NULL, ZN_DEFAULT_A, ZN_TXT_TEXT,
			sizeof(txt) - 1, txt, "" };
		r.nval = 1;
		r.flags |= ZN_R_LISTED;
	}
	zn_result_render(&r, cfg->ttl_def, &out);
render_done:
	listed = (r.flags & ZN_R_LISTED) != 0;
	info->listed = listed;
	rr_answers(a, cfg, listed ? &out : NULL, &r, t, DNS_HDR, &a->an);
	if (a->an > 0) {
		*positive = true;
		return RC_NOERROR;
	}
	*negative = true;
	if (listed || (r.flags & (ZN_R_EXISTS | ZN_R_ENT)) || r.nrr > 0)
		return RC_NOERROR; /* NODATA */
	return RC_NXDOMAIN;
}

/* Is ds past its $TIMESTAMP expiry and the grace after it? */
static bool
ds_expired(const struct query_cfg *cfg, const struct query_fwd *f,
    const struct zn_dataset *ds)
{
	return ds != NULL && ds->ts_expires != 0 &&
	    cfg->now > ds->ts_expires + (int64_t)f->grace;
}

/* Does the mirror answer for fallback zone f: is it there and fresh? */
static bool
mirror_fresh(const struct query_cfg *cfg, const struct query_fwd *f,
    const struct zn_zone *z)
{
	size_t i, j;

	if (z == NULL || z->nlabels != f->nlabels)
		return false; /* not mirrored (a parent zone matched) */
	for (i = 0; i < z->nrefs; i++) {
		if (ds_expired(cfg, f, z->refs[i].ds))
			return false;
		for (j = 0; j < z->refs[i].nsubs; j++)
			if (ds_expired(cfg, f, z->refs[i].subs[j].ds))
				return false;
	}
	return true;
}

/*
 * The zone of cfg->fwd whose upstreams answer q, given the mirror's zone
 * z for q (may be NULL): its index, or -1 when the mirror answers (a
 * more specific mirrored zone, or a fresh mirror of a fallback zone).
 */
static int
fwd_match(const struct query_cfg *cfg, const struct q *q,
    const struct zn_zone *z)
{
	const struct query_fwd *best = NULL;
	size_t i;

	for (i = 0; i < cfg->nfwd; i++) {
		const struct query_fwd *f = &cfg->fwd[i];
		const char *end = f->name + strlen(f->name), *dot;
		unsigned k;

		if (f->nlabels == 0 || f->nlabels > q->name.nlabels ||
		    (best != NULL && f->nlabels <= best->nlabels))
			continue;
		for (k = q->name.nlabels; k-- > q->name.nlabels - f->nlabels;
		     end = dot - 1) {
			for (dot = end; dot > f->name && dot[-1] != '.'; dot--)
				;
			if (q->name.len[k] != (size_t)(end - dot) ||
			    memcmp(q->name.buf + q->name.off[k], dot,
			        q->name.len[k]) != 0)
				break;
			if (k == q->name.nlabels - f->nlabels) {
				best = f;
				break;
			}
		}
	}
	if (best == NULL || (z != NULL && z->nlabels > best->nlabels))
		return -1;
	if (best->mode == QUERY_FWD_FEED && z != NULL &&
	    z->nlabels == best->nlabels)
		return -1; /* synced: the mirror answers */
	if (best->mode == QUERY_FWD_FALLBACK && mirror_fresh(cfg, best, z))
		return -1;
	return (int)(best - cfg->fwd);
}

size_t
query_answer(const struct query_cfg *cfg, const struct zn_view *v,
    const uint8_t *pkt, size_t len, const uint8_t *client, size_t clen,
    bool tcp, uint8_t *out, size_t outsize, struct query_info *info)
{
	static _Thread_local struct zn_result glue;
	struct query_info dummy;
	struct q q;
	struct ans a = { out, 0, 0, false, 0, 0, 0 };
	const struct zn_zone *z = NULL;
	unsigned nkey = 0;
	size_t limit, hdr_end;
	bool negative = false, positive = false, aa = false;
	int rc;

	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	info->dropped = true;
	rc = parse_query(pkt, len, &q);
	if (rc < 0 || outsize < DNS_HDR + OPT_LEN)
		return 0;
	info->qtype = q.qtype;
	info->qclass = q.qclass;
	if (q.qend > 0)
		info_qname(info, &q.name);

	/* the limit for this answer, with room for our OPT */
	limit = tcp ? QUERY_MAX_TCP : 512;
	if (!tcp && q.edns) {
		size_t want = q.edns_size < 512 ? 512 : q.edns_size;

		limit = want < cfg->edns_size ? want : cfg->edns_size;
	}
	if (limit > outsize)
		limit = outsize;
	a.limit = limit - (q.edns ? OPT_LEN : 0);

	/* header and, when we have one, the question */
	memcpy(out, pkt, 4);
	out[2] = 0x80 | (pkt[2] & 0x79); /* QR, opcode, RD */
	out[3] = 0;
	memset(out + 4, 0, 8);
	a.len = DNS_HDR;
	if (rc == RC_NOERROR || (rc != RC_FORMERR && q.qend > 0)) {
		if (!emit(&a, pkt + DNS_HDR, q.qend - DNS_HDR))
			return 0;
		put16(out + 4, 1);
	}
	hdr_end = a.len;
	if (rc != RC_NOERROR)
		goto finish;
	if ((pkt[2] >> 3 & 0x0f) != 0 || (pkt[2] & 0x06) != 0) {
		rc = RC_NOTIMP; /* opcode, or AA/TC set in a query */
		goto finish;
	}
	if (q.edns && q.edns_version > 0) {
		rc = RC_BADVERS;
		goto finish;
	}
	if (q.qclass == C_CH) {
		if (cfg->version != NULL && version_query(&q.name) &&
		    (q.qtype == T_TXT || q.qtype == T_ANY)) {
			size_t vl = strlen(cfg->version);
			uint8_t l = vl > 255 ? 255 : (uint8_t)vl;

			if (rr_head(&a, DNS_HDR, T_TXT, C_CH, 0, l + 1) &&
			    emit(&a, &l, 1) && emit(&a, cfg->version, l))
				a.an++;
			else {
				/* no room: no partial record, but TC */
				a.len = hdr_end;
				a.full = false;
				out[2] |= 0x02;
				info->truncated = true;
			}
			rc = RC_NOERROR;
		} else
			rc = RC_REFUSED;
		goto finish;
	}
	if (q.qclass != C_IN && q.qclass != C_ANY) {
		rc = RC_REFUSED;
		goto finish;
	}
	if (q.qtype >= 250 && q.qtype != T_ANY) {
		rc = RC_NOTIMP; /* AXFR, IXFR, TSIG, CAA, ... */
		goto finish;
	}
	z = zn_view_match(v, &q.name, &nkey);
	if (cfg->nfwd > 0 && q.qclass == C_IN &&
	    (rc = fwd_match(cfg, &q, z)) >= 0) {
		/* upstream.c answers; the global acl applies */
		int acl = zn_acl_check(v, NULL, client, clen, NULL);

		if (acl == ZN_ACL_IGNORE)
			return 0;
		if (acl < 0 || acl == ZN_ACL_REFUSE) {
			rc = RC_REFUSED;
			goto finish;
		}
		if (cfg->fwd[rc].mode == QUERY_FWD_FEED) {
			/* a feed zone zonesync has not written yet */
			rc = RC_SERVFAIL;
			goto finish;
		}
		info->forward = true;
		info->fwd_zone = (unsigned)rc;
		info->fwd_nkey = q.name.nlabels - cfg->fwd[rc].nlabels;
		info->fwd_qend = q.qend;
		info->fwd_limit = limit;
		info->fwd_edns = q.edns;
		info->fwd_do = q.do_bit;
		info->dropped = false;
		return 0;
	}
	rc = RC_NOERROR;
	if (z == NULL) {
		rc = RC_REFUSED;
		goto finish;
	}
	info->zone = z;
	aa = q.qclass == C_IN;
	rc = answer_zone(cfg, v, &q, z, nkey, client, clen, &a, &negative,
	    &positive, info);
	if (rc < 0)
		return 0; /* the acl ignores this client */
	if (a.full) {
		/* the answer does not fit: TC, and nothing but the
		 * question (RFC 2181 9: a client must retry over TCP) */
		a.full = false;
		a.len = hdr_end;
		a.an = a.ns = a.ar = 0;
		out[2] |= 0x02;
		info->truncated = true;
		negative = positive = false;
	}
	if (negative && z->soa_ds != NULL) {
		if (rr_soa(&a, cfg, z, apex_offset(&q.name, nkey), true))
			a.ns++;
		if (a.full) {
			a.full = false;
			a.len = hdr_end;
			a.an = a.ns = 0;
			out[2] |= 0x02;
			info->truncated = true;
		}
	}
	/* NS in AUTHORITY of positive answers (rbldnsd repeats them there
	 * for apex NS queries too), then their glue */
	if (positive && !cfg->lazy && z->ns_ds != NULL) {
		size_t mark = a.len;
		unsigned ns = 0;

		if (rr_ns_all(&a, cfg, z, apex_offset(&q.name, nkey), &ns))
			a.ns += ns;
		else {
			/* optional data: leave it out when it does not fit */
			a.len = mark;
			a.full = false;
		}
	}
	if (positive && !cfg->lazy && z->ns_ds != NULL && a.ns > 0)
		rr_glue(&a, cfg, v, z, apex_offset(&q.name, nkey), &glue);

finish:
	/* authoritative answers only: not REFUSED (acl, an apex without
	 * SOA/NS) or SERVFAIL, as rbldnsd */
	if (aa && (rc == RC_NOERROR || rc == RC_NXDOMAIN))
		out[2] |= 0x04;
	out[3] = (uint8_t)(rc & 0x0f);
	put16(out + 6, (uint16_t)a.an);
	put16(out + 8, (uint16_t)a.ns);
	if (q.edns) {
		/* our OPT: always echoed to an EDNS query (RFC 6891) */
		uint8_t opt[OPT_LEN] = { 0, 0, T_OPT, 0, 0, (uint8_t)(rc >> 4),
			0, 0, 0, 0, 0 };

		put16(opt + 3, cfg->edns_size);
		if (q.do_bit)
			opt[7] = 0x80;
		a.limit += OPT_LEN;
		if (emit(&a, opt, OPT_LEN))
			a.ar++;
	}
	put16(out + 10, (uint16_t)a.ar);
	info->dropped = false;
	info->rcode = rc;
	info->ancount = a.an;
	return a.len;
}
