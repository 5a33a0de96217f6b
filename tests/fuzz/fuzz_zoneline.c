/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target "zoneline": libzones' rbldnsd dataset parsers
 * (zn_dataset_load_mem) on arbitrary text.
 *
 * Input: one selector byte, then the dataset text.  The selector's low
 * nibble is the dataset type (enum zn_dstype, modulo ZN_NTYPES:
 * 0 ip4set, 1 ip4tset, 2 ip4trie, 3 ip6tset, 4 ip6trie, 5 dnset,
 * 6 combined, 7 generic, 8 acl); bit 4 (0x10) sets host_bits_ok (rbldnsd
 * -e).  So an ASCII digit '0'..'8' is that type with -e, and '@'..'H'
 * the same types without it.
 *
 * Checked after each input: failure leaves *out NULL and explains itself
 * in err; a parsed dataset has unique keys sorted in memcmp order, every
 * key and blob in the layout zones.h documents for its type (IP intervals
 * disjoint with lo <= hi, names encoded as revname, well-formed answer,
 * acl and rrset blobs), and its values render (zn_blob_format,
 * zn_txt_expand) within bounds.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "zones.h"

#define VAL_HDR 6 /* a[4] tkind len */

static size_t nwarn;

static void
warn_cb(void *ctx, const char *msg)
{
	(void)ctx;
	FUZZ_CHECK(msg != NULL && msg[0] != '\0');
	FUZZ_CHECK(strlen(msg) < 4096);
	nwarn++;
}

/* An answer blob: flags, then values; exclusions carry none. */
static void
check_answer(const struct zn_dataset *ds, const uint8_t *b, size_t len,
    const char *subject)
{
	char buf[64], out[ZN_TXT_OUT_MAX + 1];
	size_t off = 1, r;
	int n;

	FUZZ_CHECK(len >= 1);
	FUZZ_CHECK((b[0] & ~ZN_ANS_EXCLUDED) == 0);
	if (b[0] & ZN_ANS_EXCLUDED)
		FUZZ_CHECK(len == 1);
	while (off < len) {
		FUZZ_CHECK(len - off >= VAL_HDR);
		FUZZ_CHECK(b[off + 4] <= ZN_TXT_OWN);
		FUZZ_CHECK(len - off - VAL_HDR >= b[off + 5]);
		if (b[off + 4] == ZN_TXT_NONE)
			FUZZ_CHECK(b[off + 5] == 0);
		/* the query-time expansion stays within its buffer */
		n = zn_txt_expand(ds, b[off + 4], (const char *)b + off + 6,
		    b[off + 5], subject, out);
		FUZZ_CHECK(n >= -1 && n <= ZN_TXT_OUT_MAX);
		off += VAL_HDR + b[off + 5];
	}
	/* the dump form, into a buffer far too small */
	buf[0] = '\0';
	r = zn_blob_format(b, len, buf, sizeof(buf));
	FUZZ_CHECK(strlen(buf) < sizeof(buf));
	FUZZ_CHECK(r >= strlen(buf));
}

/* revname: labels of 1..63 bytes, no NUL, lower case, each followed by
 * a 0 byte. */
static void
check_revname(const uint8_t *k, size_t len)
{
	size_t off = 0, l;

	FUZZ_CHECK(len <= ZN_NAME_MAX + 1);
	while (off < len) {
		for (l = 0; off + l < len && k[off + l] != 0; l++)
			FUZZ_CHECK(!(k[off + l] >= 'A' && k[off + l] <= 'Z'));
		FUZZ_CHECK(off + l < len);
		FUZZ_CHECK(l >= 1 && l <= 63);
		off += l + 1;
	}
}

static void
check_rrset(uint16_t type, const uint8_t *b, size_t len)
{
	size_t off = 0, rdlen, o;

	FUZZ_CHECK(len >= 6);
	while (off < len) {
		const uint8_t *rd;

		FUZZ_CHECK(len - off >= 6);
		rdlen = (size_t)b[off + 4] << 8 | b[off + 5];
		FUZZ_CHECK(len - off - 6 >= rdlen);
		rd = b + off + 6;
		switch (type) {
		case 1:
			FUZZ_CHECK(rdlen == 4);
			break;
		case 28:
			FUZZ_CHECK(rdlen == 16);
			break;
		case 16:
			FUZZ_CHECK(rdlen >= 1 && rd[0] == rdlen - 1);
			break;
		case 15:
			/* preference, then an uncompressed wire name */
			FUZZ_CHECK(rdlen >= 3);
			for (o = 2; o < rdlen && rd[o] != 0; o += 1 + rd[o])
				FUZZ_CHECK(rd[o] <= 63);
			FUZZ_CHECK(o == rdlen - 1);
			FUZZ_CHECK(rdlen - 2 <= 255);
			break;
		default:
			FUZZ_CHECK(!"generic rrset of an unknown type");
		}
		off += 6 + rdlen;
	}
}

/* An IP interval entry: lo in the blob, hi in the key. */
static void
check_ip(const struct zn_dataset *ds, const struct zn_entry *e,
    const uint8_t *prev_hi, size_t alen, bool acl)
{
	const uint8_t *hi = e->key + 1, *lo = e->blob;
	const uint8_t *b;
	size_t bl;

	FUZZ_CHECK(e->klen == 1 + alen);
	FUZZ_CHECK(e->blen >= alen + 1);
	FUZZ_CHECK(memcmp(lo, hi, alen) <= 0);
	if (prev_hi != NULL)
		FUZZ_CHECK(memcmp(prev_hi, lo, alen) < 0); /* disjoint */
	b = e->blob + alen;
	bl = e->blen - alen;
	if (acl) {
		FUZZ_CHECK(b[0] <= ZN_ACL_LISTED);
		if (b[0] != ZN_ACL_LISTED) {
			FUZZ_CHECK(bl == 1);
			return;
		}
		b++;
		bl--;
	}
	check_answer(ds, b, bl, "192.0.2.1");
}

static void
check_dataset(const struct zn_dataset *ds, enum zn_dstype type, int depth)
{
	const uint8_t *prev4 = NULL, *prev6 = NULL;
	size_t i;

	FUZZ_CHECK(ds->type == type);
	FUZZ_CHECK(ds->nns <= ZN_NS_MAX);
	for (i = 0; i < ds->nns; i++)
		FUZZ_CHECK(ds->ns[i] != NULL);
	if (type == ZN_COMBINED) {
		FUZZ_CHECK(depth == 0);
		FUZZ_CHECK(ds->nent == 0);
		for (i = 0; i < ds->nsubsets; i++) {
			const struct zn_subset *s = &ds->subsets[i];

			FUZZ_CHECK(s->ds != NULL);
			FUZZ_CHECK(s->ds->type != ZN_COMBINED &&
			    s->ds->type != ZN_ACL);
			FUZZ_CHECK(s->nsub > 0);
			check_dataset(s->ds, s->ds->type, depth + 1);
		}
		return;
	}
	FUZZ_CHECK(ds->nsubsets == 0);
	for (i = 0; i < ds->nent; i++) {
		const struct zn_entry *e = &ds->ent[i];

		FUZZ_CHECK(e->klen >= 1 && e->klen <= ZN_KEY_MAX);
		if (i > 0) {
			const struct zn_entry *p = &ds->ent[i - 1];
			size_t n = p->klen < e->klen ? p->klen : e->klen;
			int r = memcmp(p->key, e->key, n);

			FUZZ_CHECK(r < 0 || (r == 0 && p->klen < e->klen));
		}
		switch (type) {
		case ZN_IP4SET:
		case ZN_IP4TSET:
		case ZN_IP4TRIE:
			FUZZ_CHECK(e->key[0] == ZN_KEY_IP4);
			check_ip(ds, e, prev4, 4, false);
			prev4 = e->key + 1;
			break;
		case ZN_IP6TSET:
		case ZN_IP6TRIE:
			FUZZ_CHECK(e->key[0] == ZN_KEY_IP6);
			check_ip(ds, e, prev6, 16, false);
			prev6 = e->key + 1;
			break;
		case ZN_ACL:
			if (e->key[0] == ZN_KEY_IP4) {
				check_ip(ds, e, prev4, 4, true);
				prev4 = e->key + 1;
			} else {
				FUZZ_CHECK(e->key[0] == ZN_KEY_IP6);
				check_ip(ds, e, prev6, 16, true);
				prev6 = e->key + 1;
			}
			break;
		case ZN_DNSET:
			FUZZ_CHECK(e->key[0] == ZN_KEY_NAME);
			FUZZ_CHECK(e->klen >= 3);
			FUZZ_CHECK(e->key[e->klen - 1] == ZN_NAME_EXACT ||
			    e->key[e->klen - 1] == ZN_NAME_WILD);
			check_revname(e->key + 1, e->klen - 2);
			check_answer(ds, e->blob, e->blen, "name.example");
			break;
		case ZN_GENERIC:
			FUZZ_CHECK(e->key[0] == ZN_KEY_GENERIC);
			FUZZ_CHECK(e->klen >= 3);
			check_revname(e->key + 1, e->klen - 3);
			check_rrset((uint16_t)(e->key[e->klen - 2] << 8 |
			                e->key[e->klen - 1]),
			    e->blob, e->blen);
			break;
		default:
			FUZZ_CHECK(!"unexpected dataset type");
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zn_parse_opts opts;
	struct zn_dataset *ds = NULL;
	struct zn_err err;
	enum zn_dstype type;
	int rc;

	if (size < 1)
		return 0;
	type = (enum zn_dstype)((data[0] & 0x0f) % ZN_NTYPES);
	memset(&opts, 0, sizeof(opts));
	opts.host_bits_ok = (data[0] & 0x10) != 0;
	opts.now = 1700000000; /* 2023-11-14: $TIMESTAMP is deterministic */
	opts.warn = warn_cb;
	memset(&err, 0x5a, sizeof(err)); /* must be overwritten on failure */
	nwarn = 0;
	rc = zn_dataset_load_mem(type, "fuzz", (const char *)data + 1, size - 1,
	    &opts, &ds, &err);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(ds == NULL);
		FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		FUZZ_CHECK(err.msg[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(ds != NULL);
	FUZZ_CHECK(ds->nskipped <= nwarn);
	check_dataset(ds, type, 0);
	zn_dataset_free(ds);
	return 0;
}
