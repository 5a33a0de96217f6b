/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IP keys (ip.c), flattening (flatten.c) and the IP dataset types: every
 * key form rbldnsd accepts or rejects, the flattened semantics on the
 * observed examples, interval merging, a random comparison against a
 * brute-force reference, and whole datasets through the driver.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ip.h"
#include "parse_int.h"
#include "zones.h"

#define IP4(a, b, c, d)                                                   \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | \
	    (uint32_t)(d))

/*
 * Keys.
 */

struct k4 {
	const char *s;
	int rc;
	uint32_t lo, hi;
	char tail; /* the character the key stopped at */
};

static void
test_ip4set_keys(void **state)
{
	static const struct k4 t[] = {
		{ "127.0.0.0/24", 0, IP4(127, 0, 0, 0), IP4(127, 0, 0, 255),
		    0 },
		{ "127.0.0", 0, IP4(127, 0, 0, 0), IP4(127, 0, 0, 255), 0 },
		{ "127.0", 0, IP4(127, 0, 0, 0), IP4(127, 0, 255, 255), 0 },
		{ "127/24", 0, IP4(127, 0, 0, 0), IP4(127, 0, 0, 255), 0 },
		{ "10/8", 0, IP4(10, 0, 0, 0), IP4(10, 255, 255, 255), 0 },
		{ "1.2.3.4", 0, IP4(1, 2, 3, 4), IP4(1, 2, 3, 4), 0 },
		{ "1.2.3.4/32", 0, IP4(1, 2, 3, 4), IP4(1, 2, 3, 4), 0 },
		{ "1.1.1.01/032", 0, IP4(1, 1, 1, 1), IP4(1, 1, 1, 1), 0 },
		{ "1.1.1.000000001", 0, IP4(1, 1, 1, 1), IP4(1, 1, 1, 1), 0 },
		{ "127.0.0.0-127.0.0.255", 0, IP4(127, 0, 0, 0),
		    IP4(127, 0, 0, 255), 0 },
		{ "127.0.0.1-255", 0, IP4(127, 0, 0, 1), IP4(127, 0, 0, 255),
		    0 },
		{ "127.16-31", 0, IP4(127, 16, 0, 0), IP4(127, 31, 255, 255),
		    0 },
		{ "10.2.16-31", 0, IP4(10, 2, 16, 0), IP4(10, 2, 31, 255), 0 },
		{ "1.2.3-1.2.5", 0, IP4(1, 2, 3, 0), IP4(1, 2, 5, 255), 0 },
		{ "1-3", 0, IP4(1, 0, 0, 0), IP4(3, 255, 255, 255), 0 },
		{ "127-128", 0, IP4(127, 0, 0, 0), IP4(128, 255, 255, 255), 0 },
		{ "0.0.0.0-255.255.255.255", 0, 0, UINT32_MAX, 0 },
		{ "1.2.3.4-6:7", 0, IP4(1, 2, 3, 4), IP4(1, 2, 3, 6), ':' },
		{ "1.2.3.4 :5", 0, IP4(1, 2, 3, 4), IP4(1, 2, 3, 4), ' ' },
		{ "1.2.3.4\ttxt", 0, IP4(1, 2, 3, 4), IP4(1, 2, 3, 4), '\t' },
		{ "1.1.1.1#c", 0, IP4(1, 1, 1, 1), IP4(1, 1, 1, 1), '#' },
		{ "1.1.1.2;c", 0, IP4(1, 1, 1, 2), IP4(1, 1, 1, 2), ';' },
		{ .s = "10", .rc = -EINVAL },
		{ .s = "1.2-1.2.3.4", .rc = -EINVAL },
		{ .s = "127-127.0.0", .rc = -EINVAL },
		{ .s = "0/0", .rc = -EINVAL },
		{ .s = "0.0.0.0/0", .rc = -EINVAL },
		{ .s = "5.5.5.5-5.5.5.1", .rc = -EINVAL },
		{ .s = "1.1.1.1-1.1.1.2.3", .rc = -EINVAL },
		{ .s = "1.1.1.4x", .rc = -EINVAL },
		{ .s = "256.1.1.1", .rc = -EINVAL },
		{ .s = "1.1.1.1/33", .rc = -EINVAL },
		{ .s = "1.2.3.4/", .rc = -EINVAL },
		{ .s = "1.2.3.4/x", .rc = -EINVAL },
		{ .s = "1.2.3.", .rc = -EINVAL },
		{ .s = "1.2.3.4.", .rc = -EINVAL },
		{ .s = ".1.2.3", .rc = -EINVAL },
		{ .s = "1.2.3.4-", .rc = -EINVAL },
		{ .s = "1.2.3.4-x", .rc = -EINVAL },
		{ .s = "1.2.3.4--6", .rc = -EINVAL },
		{ .s = "1.2.3.5-3", .rc = -EINVAL },
		{ .s = "", .rc = -EINVAL },
		{ .s = "x", .rc = -EINVAL },
		{ .s = "::1", .rc = -EINVAL },
		{ .s = "1.2.3.4/24", .rc = -EDOM },
		{ .s = "127.0.0.1/8", .rc = -EDOM },
		{ .s = "1.2.3/16", .rc = -EDOM },
	};
	const char *rest;
	uint32_t lo, hi;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		lo = hi = 0xdeadbeef;
		rc = zn_ip4set_key(t[i].s, false, &lo, &hi, &rest);
		if (rc != t[i].rc)
			fail_msg("%s: rc %d, want %d", t[i].s, rc, t[i].rc);
		if (rc != 0)
			continue;
		if (lo != t[i].lo || hi != t[i].hi)
			fail_msg("%s: %08x-%08x", t[i].s, lo, hi);
		assert_int_equal(*rest, t[i].tail);
	}
	/* -e: host bits cleared */
	assert_int_equal(zn_ip4set_key("127.0.0.1/8", true, &lo, &hi, &rest),
	    0);
	assert_int_equal(lo, IP4(127, 0, 0, 0));
	assert_int_equal(hi, IP4(127, 255, 255, 255));
}

static void
test_ip4trie_keys(void **state)
{
	static const struct {
		const char *s;
		int rc;
		uint32_t a;
		unsigned bits;
	} t[] = {
		{ "0/0", 0, 0, 0 },
		{ "0.0.0.0/0", 0, 0, 0 },
		{ "10/8", 0, IP4(10, 0, 0, 0), 8 },
		{ "1.2.3", 0, IP4(1, 2, 3, 0), 24 },
		{ "1.2", 0, IP4(1, 2, 0, 0), 16 },
		{ "1.2.3.4", 0, IP4(1, 2, 3, 4), 32 },
		{ "1.2.3.0/24", 0, IP4(1, 2, 3, 0), 24 },
		{ "1.2.3.4:2", 0, IP4(1, 2, 3, 4), 32 },
		{ "1.2.3.128/25", 0, IP4(1, 2, 3, 128), 25 },
		{ .s = "10", .rc = -EINVAL },
		{ .s = "1.2.3.4-5", .rc = -EINVAL },
		{ .s = "1.2.3.4/33", .rc = -EINVAL },
		{ .s = "1.2.3/16", .rc = -EDOM },
		{ .s = "1.2.3.5/31", .rc = -EDOM },
	};
	const char *rest;
	uint32_t a;
	unsigned bits;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rc = zn_ip4trie_key(t[i].s, false, &a, &bits, &rest);
		if (rc != t[i].rc)
			fail_msg("%s: rc %d, want %d", t[i].s, rc, t[i].rc);
		if (rc == 0 && (a != t[i].a || bits != t[i].bits))
			fail_msg("%s: %08x/%u", t[i].s, a, bits);
	}
	assert_int_equal(zn_ip4trie_key("1.2.3.4/24", true, &a, &bits, &rest),
	    0);
	assert_int_equal(a, IP4(1, 2, 3, 0));
	assert_int_equal(bits, 24);
}

static void
test_ip4tset_keys(void **state)
{
	const char *rest;
	uint32_t a;

	(void)state;
	assert_int_equal(zn_ip4tset_key("1.2.3.4", &a, &rest), 0);
	assert_int_equal(a, IP4(1, 2, 3, 4));
	assert_int_equal(zn_ip4tset_key("1.2.3.4 garbage", &a, &rest), 0);
	assert_int_equal(zn_ip4tset_key("1.2.3.4:garbage", &a, &rest), 0);
	assert_int_equal(zn_ip4tset_key("1.2.3", &a, &rest), -EINVAL);
	assert_int_equal(zn_ip4tset_key("1.2.3.0/24", &a, &rest), -EINVAL);
	assert_int_equal(zn_ip4tset_key("1.2.3.4-5", &a, &rest), -EINVAL);
	assert_int_equal(zn_ip4tset_key("!1.2.3.4", &a, &rest), -EINVAL);
}

static void
hex16(const char *hex, uint8_t a[16])
{
	unsigned i, v;

	for (i = 0; i < 16; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		a[i] = (uint8_t)v;
	}
}

static void
test_ip6_keys(void **state)
{
	static const struct {
		const char *s;
		int rc;
		const char *hex;
		unsigned bits;
	} t[] = {
		{ "2001:db8::/32", 0, "20010db8000000000000000000000000", 32 },
		{ "2001:db8:1:2", 0, "20010db8000100020000000000000000", 64 },
		{ "2001:db8:c000/36", 0, "20010db8c00000000000000000000000",
		    36 },
		{ "2001/16", 0, "20010000000000000000000000000000", 16 },
		{ "::", 0, "00000000000000000000000000000000", 128 },
		{ "::/0", 0, "00000000000000000000000000000000", 0 },
		{ "::1", 0, "00000000000000000000000000000001", 128 },
		{ "1::", 0, "00010000000000000000000000000000", 128 },
		{ "1:2:3:4:5:6:7:8", 0, "00010002000300040005000600070008",
		    128 },
		{ "1:2:3:4:5:6:7::", 0, "00010002000300040005000600070000",
		    128 },
		{ "::1:2:3:4:5:6:7", 0, "00000001000200030004000500060007",
		    128 },
		{ "1::4:0:0:0:8", 0, "00010000000000040000000000000008", 128 },
		{ "00001::", 0, "00010000000000000000000000000000", 128 },
		{ "2001:DB8::/32", 0, "20010db8000000000000000000000000", 32 },
		{ "2001:db8::1:2", 0, "20010db8000000000000000000010002", 128 },
		/* rbldnsd stops at a second "::" or after eight groups; the
		 * ':' left over starts the value */
		{ "1::2::3", 0, "00010000000000000000000000000002", 128 },
		{ "1:2:3:4:5:6:7:8:9", 0, "00010002000300040005000600070008",
		    128 },
		{ .s = "2001", .rc = -EINVAL },
		{ .s = "::1:2:3:4:5:6:7:8", .rc = -EINVAL },
		{ .s = "1:2:", .rc = -EINVAL },
		{ .s = ":1::", .rc = -EINVAL },
		{ .s = "12345::", .rc = -EINVAL },
		{ .s = "2001:db8::/129", .rc = -EINVAL },
		{ .s = "::ffff:1.2.3.4", .rc = -EINVAL },
		{ .s = "2001:db8::/", .rc = -EINVAL },
		{ .s = "g::", .rc = -EINVAL },
		{ .s = "", .rc = -EINVAL },
		{ .s = "2001:db8:c000/33", .rc = -EDOM },
		{ .s = "2001:db8::1/64", .rc = -EDOM },
		{ .s = "2001:db8:1:2:3/64", .rc = -EDOM },
	};
	const char *rest;
	uint8_t a[16], want[16];
	unsigned bits;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rc = zn_ip6trie_key(t[i].s, false, a, &bits, &rest);
		if (rc != t[i].rc)
			fail_msg("%s: rc %d, want %d", t[i].s, rc, t[i].rc);
		if (rc != 0)
			continue;
		hex16(t[i].hex, want);
		if (memcmp(a, want, 16) != 0 || bits != t[i].bits)
			fail_msg("%s: wrong address or /%u", t[i].s, bits);
	}
	assert_int_equal(zn_ip6trie_key("1::2::3", false, a, &bits, &rest), 0);
	assert_string_equal(rest, ":3");
	assert_int_equal(
	    zn_ip6trie_key("2001:db8::1/64", true, a, &bits, &rest), 0);
	hex16("20010db8000000000000000000000000", want);
	assert_memory_equal(a, want, 16);
	assert_int_equal(bits, 64);
}

static void
test_ip6tset_keys(void **state)
{
	const char *rest;
	uint8_t a[16], want[16];

	(void)state;
	assert_int_equal(zn_ip6tset_key("2001:db8:5:6", false, a, &rest), 0);
	hex16("20010db8000500060000000000000000", want);
	assert_memory_equal(a, want, 16);
	assert_int_equal(zn_ip6tset_key("2001:DB8:5:6 :3:x", false, a, &rest),
	    0);
	assert_int_equal(zn_ip6tset_key("2001:db8:5:6#x", false, a, &rest), 0);
	assert_int_equal(zn_ip6tset_key("2001:db8:5:6/64", false, a, &rest),
	    -EINVAL);
	assert_int_equal(zn_ip6tset_key("2001:db8::", false, a, &rest),
	    -ERANGE);
	assert_int_equal(zn_ip6tset_key("2001:db8:5", false, a, &rest),
	    -ERANGE);
	assert_int_equal(zn_ip6tset_key("2001:db8:5:6:7", false, a, &rest),
	    -ERANGE);
	assert_int_equal(zn_ip6tset_key("2001:db8:5:6::1", true, a, &rest), 0);
	hex16("20010db8000500060000000000000001", want);
	assert_memory_equal(a, want, 16);
	assert_int_equal(zn_ip6tset_key("2001:db8:5:6:0:0:0:1", true, a, &rest),
	    0);
	assert_int_equal(zn_ip6tset_key("::", true, a, &rest), 0);
	assert_int_equal(zn_ip6tset_key("2001:db8:5:6", true, a, &rest),
	    -ERANGE);
}

static void
test_acl_keys(void **state)
{
	const char *rest;
	uint8_t a[16], want[16];
	unsigned alen, bits;

	(void)state;
	assert_int_equal(zn_acl_key("1.2.3.4", false, a, &alen, &bits, &rest),
	    0);
	assert_int_equal(alen, 4);
	assert_int_equal(bits, 32);
	assert_int_equal(a[0], 1);
	assert_int_equal(a[3], 4);
	assert_int_equal(zn_acl_key("0/0", false, a, &alen, &bits, &rest), 0);
	assert_int_equal(alen, 4);
	assert_int_equal(bits, 0);
	assert_int_equal(
	    zn_acl_key("::1 :refuse", false, a, &alen, &bits, &rest), 0);
	assert_int_equal(alen, 16);
	assert_int_equal(bits, 128);
	assert_int_equal(
	    zn_acl_key("2001:db8::/32", false, a, &alen, &bits, &rest), 0);
	hex16("20010db8000000000000000000000000", want);
	assert_memory_equal(a, want, 16);
	assert_int_equal(alen, 16);
	assert_int_equal(zn_acl_key("10", false, a, &alen, &bits, &rest),
	    -EINVAL);
	assert_int_equal(zn_acl_key("!1.2.3.4", false, a, &alen, &bits, &rest),
	    -EINVAL);
	assert_int_equal(
	    zn_acl_key("1.2.3.4/24", false, a, &alen, &bits, &rest), -EDOM);
	assert_int_equal(
	    zn_acl_key("2001:db8::1/32", false, a, &alen, &bits, &rest), -EDOM);
	assert_int_equal(zn_acl_key("1.2.3.4-5", false, a, &alen, &bits, &rest),
	    -EINVAL);
}

static void
test_format(void **state)
{
	static const struct {
		const char *hex, *want;
	} t[] = {
		{ "20010db8000000000000000000000001", "2001:db8::1" },
		{ "00000000000000000000000000000000", "::" },
		{ "00000000000000000000000000000001", "::1" },
		{ "00010000000000000000000000000000", "1::" },
		{ "00010000000000040000000000000008", "1:0:0:4::8" },
		{ "00010000000200000000000000000003", "1:0:2::3" },
		{ "00000000000000000000ffff00000000", "::ffff:0:0" },
		{ "00000000000000000000ffff01020304", "::ffff:102:304" },
		{ "ffffffffffffffffffffffffffffffff",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
		{ "00010000000100000001000000010000", "1:0:1:0:1:0:1:0" },
		{ "00010000000000010000000000000000", "1:0:0:1::" },
	};
	uint8_t a[16];
	char buf[40];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		hex16(t[i].hex, a);
		zn_ip6_format(a, buf);
		assert_string_equal(buf, t[i].want);
	}
	zn_ip4_format(IP4(192, 168, 0, 255), buf);
	assert_string_equal(buf, "192.168.0.255");
	zn_ip4_format(IP4(0, 0, 0, 0), buf);
	assert_string_equal(buf, "0.0.0.0");
	zn_ip4_format(IP4(255, 255, 255, 255), buf);
	assert_string_equal(buf, "255.255.255.255");
	zn_ip4_format(IP4(10, 100, 9, 200), buf);
	assert_string_equal(buf, "10.100.9.200");
	/* hex groups of every width */
	hex16("000f00f00f00f000abcd000000000001", a);
	zn_ip6_format(a, buf);
	assert_string_equal(buf, "f:f0:f00:f000:abcd::1");
}

/*
 * Flattening, checked on the emitted intervals.
 */

struct ival {
	zn_u128 lo, hi;
	uint8_t *blob; /* answer part (after lo) */
	size_t blen;
};

struct out {
	unsigned alen;
	struct ival *iv;
	size_t n, cap;
};

static zn_u128
get_addr(const uint8_t *p, unsigned alen)
{
	zn_u128 v = 0;
	unsigned i;

	for (i = 0; i < alen; i++)
		v = v << 8 | p[i];
	return v;
}

static int
collect(void *ctx, const uint8_t *key, size_t klen, const uint8_t *blob,
    size_t blen)
{
	struct out *o = ctx;
	struct ival *v;

	assert_int_equal(klen, o->alen + 1);
	assert_int_equal(key[0], o->alen == 4 ? ZN_KEY_IP4 : ZN_KEY_IP6);
	assert_true(blen >= o->alen);
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		o->iv = realloc(o->iv, o->cap * sizeof(*o->iv));
		assert_non_null(o->iv);
	}
	v = &o->iv[o->n++];
	v->hi = get_addr(key + 1, o->alen);
	v->lo = get_addr(blob, o->alen);
	v->blen = blen - o->alen;
	v->blob = malloc(v->blen + 1);
	assert_non_null(v->blob);
	memcpy(v->blob, blob + o->alen, v->blen);
	return 0;
}

static void
out_free(struct out *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->iv[i].blob);
	free(o->iv);
	memset(o, 0, sizeof(*o));
}

/* Intervals sorted, disjoint, well-formed and maximal. */
static void
out_check(const struct out *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		assert_true(o->iv[i].lo <= o->iv[i].hi);
		if (i == 0)
			continue;
		assert_true(o->iv[i - 1].hi < o->iv[i].lo);
		if (o->iv[i - 1].hi + 1 == o->iv[i].lo &&
		    o->iv[i - 1].blen == o->iv[i].blen)
			assert_true(memcmp(o->iv[i - 1].blob, o->iv[i].blob,
			                o->iv[i].blen) != 0);
	}
}

static const struct ival *
out_find(const struct out *o, zn_u128 x)
{
	size_t lo = 0, hi = o->n, m;

	while (lo < hi) {
		m = lo + (hi - lo) / 2;
		if (o->iv[m].hi < x)
			lo = m + 1;
		else
			hi = m;
	}
	if (lo < o->n && o->iv[lo].lo <= x)
		return &o->iv[lo];
	return NULL;
}

static void
run(struct zn_flat *f, struct out *o)
{
	memset(o, 0, sizeof(*o));
	o->alen = f->alen;
	assert_int_equal(zn_flat_run(f, collect, o), 0);
	out_check(o);
}

/* Intern the value "A 127.0.0.n, TXT txt" (NULL: none). */
static uint32_t
val(struct zn_flat *f, unsigned n, const char *txt)
{
	struct zn_val v;
	uint32_t id;

	memset(&v, 0, sizeof(v));
	v.a = 0x7f000000u | n;
	if (txt != NULL) {
		v.tkind = ZN_TXT_TEXT;
		v.tlen = (uint8_t)strlen(txt);
		memcpy(v.txt, txt, v.tlen);
	}
	assert_int_equal(zn_ip_value_id(f, &v, &id), 0);
	return id;
}

/* The answer at x as a string "n,n,..." of last A octets, or "-". */
static const char *
ans(const struct out *o, zn_u128 x, char *buf)
{
	const struct ival *v = out_find(o, x);
	size_t off, n = 0;

	if (v == NULL)
		return "-";
	assert_true(v->blen >= 1);
	assert_int_equal(v->blob[0], 0);
	buf[0] = '\0';
	for (off = 1; off + 6 <= v->blen; off += 6 + v->blob[off + 5])
		n += (size_t)sprintf(buf + n, "%s%u", n ? "," : "",
		    v->blob[off + 3]);
	assert_int_equal(off, v->blen);
	return buf;
}

static void
test_flat_ip4set_levels(void **state)
{
	struct zn_flat f;
	struct out o;
	char b[256];

	(void)state;
	zn_flat_init(&f, 4, true, false);
	/* 192.168 + two 192.168.1.1 lines: only the /32 values there */
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(192, 168, 0, 0),
	                     IP4(192, 168, 255, 255), val(&f, 2, NULL), 0),
	    0);
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(192, 168, 1, 1),
	                     IP4(192, 168, 1, 1), val(&f, 3, "a"), 1),
	    0);
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(192, 168, 1, 1),
	                     IP4(192, 168, 1, 1), val(&f, 4, "b"), 2),
	    0);
	/* the same value twice at one level: once */
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(192, 168, 1, 1),
	                     IP4(192, 168, 1, 1), val(&f, 3, "a"), 3),
	    0);
	/* exclusion at /24 cancels the /16 but not a /32 */
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(192, 168, 7, 0),
	                     IP4(192, 168, 7, 255), ZN_FLAT_EXCL, 4),
	    0);
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(192, 168, 7, 7),
	                     IP4(192, 168, 7, 7), val(&f, 5, NULL), 5),
	    0);
	/* an exclusion at the same level as a listing wins */
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(192, 168, 9, 9),
	                     IP4(192, 168, 9, 9), val(&f, 6, NULL), 6),
	    0);
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(192, 168, 9, 9),
	                     IP4(192, 168, 9, 9), ZN_FLAT_EXCL, 7),
	    0);
	/* an exclusion with nothing listed around it is nothing */
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(10, 0, 0, 1),
	                     IP4(10, 0, 0, 1), ZN_FLAT_EXCL, 8),
	    0);
	run(&f, &o);
	assert_string_equal(ans(&o, IP4(192, 168, 1, 1), b), "3,4");
	assert_string_equal(ans(&o, IP4(192, 168, 1, 0), b), "2");
	assert_string_equal(ans(&o, IP4(192, 168, 1, 2), b), "2");
	assert_string_equal(ans(&o, IP4(192, 168, 0, 0), b), "2");
	assert_string_equal(ans(&o, IP4(192, 168, 255, 255), b), "2");
	assert_string_equal(ans(&o, IP4(192, 168, 7, 6), b), "-");
	assert_string_equal(ans(&o, IP4(192, 168, 7, 7), b), "5");
	assert_string_equal(ans(&o, IP4(192, 168, 7, 8), b), "-");
	assert_string_equal(ans(&o, IP4(192, 168, 6, 255), b), "2");
	assert_string_equal(ans(&o, IP4(192, 168, 8, 0), b), "2");
	assert_string_equal(ans(&o, IP4(192, 168, 9, 9), b), "-");
	assert_string_equal(ans(&o, IP4(192, 168, 9, 10), b), "2");
	assert_string_equal(ans(&o, IP4(10, 0, 0, 1), b), "-");
	assert_string_equal(ans(&o, IP4(192, 169, 0, 0), b), "-");
	assert_string_equal(ans(&o, IP4(192, 167, 255, 255), b), "-");
	/* 192.168.0.0-1.0, 1.1, 1.2-7.6, 7.7, 8.0-9.8, 9.10-255.255 */
	assert_int_equal(o.n, 6);
	out_free(&o);
	zn_flat_cleanup(&f);
}

static void
test_flat_ip4set_ranges(void **state)
{
	struct zn_flat f;
	struct out o;
	char b[256];

	(void)state;
	/* a big range is a handful of runs, not thousands of pieces */
	zn_flat_init(&f, 4, true, false);
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(1, 0, 0, 1),
	                     IP4(1, 255, 255, 254), val(&f, 2, NULL), 0),
	    0);
	assert_true(f.nblk <= 7);
	/* the /24 inside it: a /32 entry beats its /24 piece */
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(1, 0, 0, 0),
	                     IP4(1, 0, 0, 0), val(&f, 3, NULL), 1),
	    0);
	/* a /16 exclusion cancels the /16 pieces under it, but 1.0.0.0/24's
	 * /32 pieces are a more specific level */
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(1, 0, 0, 0),
	                     IP4(1, 0, 255, 255), ZN_FLAT_EXCL, 2),
	    0);
	run(&f, &o);
	assert_string_equal(ans(&o, IP4(1, 0, 0, 0), b), "3");
	assert_string_equal(ans(&o, IP4(1, 0, 0, 1), b), "2");
	assert_string_equal(ans(&o, IP4(1, 0, 0, 255), b), "2");
	/* 1.0.1.0/24 is a /24 piece: the /16 exclusion is less specific */
	assert_string_equal(ans(&o, IP4(1, 0, 1, 0), b), "2");
	assert_string_equal(ans(&o, IP4(1, 1, 0, 0), b), "2");
	assert_string_equal(ans(&o, IP4(1, 255, 255, 254), b), "2");
	assert_string_equal(ans(&o, IP4(1, 255, 255, 255), b), "-");
	out_free(&o);
	zn_flat_cleanup(&f);

	/* all of IPv4 as a range: 256 /8s, one interval */
	zn_flat_init(&f, 4, true, false);
	assert_int_equal(
	    zn_flat_add_ip4set(&f, 0, UINT32_MAX, val(&f, 2, NULL), 0), 0);
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(10, 0, 0, 0),
	                     IP4(10, 255, 255, 255), ZN_FLAT_EXCL, 1),
	    0);
	run(&f, &o);
	assert_int_equal(o.n, 2);
	assert_true(o.iv[0].lo == 0 && o.iv[0].hi == IP4(9, 255, 255, 255));
	assert_true(o.iv[1].lo == IP4(11, 0, 0, 0) && o.iv[1].hi == UINT32_MAX);
	out_free(&o);
	zn_flat_cleanup(&f);

	/* 10.0.0.0/12 is 16 /16 pieces: a /8 exclusion doesn't touch it,
	 * a /16 one cancels one piece */
	zn_flat_init(&f, 4, true, false);
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(10, 0, 0, 0),
	                     IP4(10, 15, 255, 255), val(&f, 2, NULL), 0),
	    0);
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(10, 0, 0, 0),
	                     IP4(10, 255, 255, 255), ZN_FLAT_EXCL, 1),
	    0);
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(10, 3, 0, 0),
	                     IP4(10, 3, 255, 255), ZN_FLAT_EXCL, 2),
	    0);
	run(&f, &o);
	assert_string_equal(ans(&o, IP4(10, 2, 255, 255), b), "2");
	assert_string_equal(ans(&o, IP4(10, 3, 0, 0), b), "-");
	assert_string_equal(ans(&o, IP4(10, 4, 0, 0), b), "2");
	assert_string_equal(ans(&o, IP4(10, 16, 0, 0), b), "-");
	assert_int_equal(o.n, 2);
	out_free(&o);
	zn_flat_cleanup(&f);
}

static void
test_flat_trie(void **state)
{
	struct zn_flat f;
	struct out o;
	char b[256];

	(void)state;
	zn_flat_init(&f, 4, true, true);
	/* 0/0, longest prefix wins, exclusion holes, duplicates refused */
	assert_int_equal(zn_flat_add(&f, 0, UINT32_MAX, 0, val(&f, 1, NULL), 0),
	    0);
	assert_int_equal(zn_flat_add(&f, IP4(1, 2, 0, 0), IP4(1, 2, 255, 255),
	                     16, val(&f, 2, NULL), 1),
	    0);
	assert_int_equal(zn_flat_add(&f, IP4(1, 2, 3, 0), IP4(1, 2, 3, 127), 25,
	                     ZN_FLAT_EXCL, 2),
	    0);
	assert_int_equal(zn_flat_add(&f, IP4(1, 2, 3, 4), IP4(1, 2, 3, 4), 32,
	                     val(&f, 3, NULL), 3),
	    0);
	assert_int_equal(zn_flat_add(&f, IP4(1, 2, 0, 0), IP4(1, 2, 255, 255),
	                     16, val(&f, 9, NULL), 4),
	    -EEXIST);
	assert_int_equal(zn_flat_add(&f, IP4(1, 2, 3, 4), IP4(1, 2, 3, 4), 32,
	                     ZN_FLAT_EXCL, 5),
	    -EEXIST);
	/* the same address with another length is another prefix */
	assert_int_equal(zn_flat_add(&f, IP4(1, 2, 0, 0), IP4(1, 2, 127, 255),
	                     17, val(&f, 2, NULL), 6),
	    0);
	run(&f, &o);
	assert_string_equal(ans(&o, 0, b), "1");
	assert_string_equal(ans(&o, UINT32_MAX, b), "1");
	assert_string_equal(ans(&o, IP4(1, 2, 3, 3), b), "-");
	assert_string_equal(ans(&o, IP4(1, 2, 3, 4), b), "3");
	assert_string_equal(ans(&o, IP4(1, 2, 3, 5), b), "-");
	assert_string_equal(ans(&o, IP4(1, 2, 3, 128), b), "2");
	assert_string_equal(ans(&o, IP4(1, 2, 200, 0), b), "2");
	assert_string_equal(ans(&o, IP4(1, 3, 0, 0), b), "1");
	/* 0-1.2.2.255 | 1.2.0.0-1.2.2.255 merged with 1.2.3.128-... */
	assert_int_equal(o.n, 5);
	assert_true(o.iv[0].lo == 0 && o.iv[0].hi == IP4(1, 1, 255, 255));
	assert_true(
	    o.iv[1].lo == IP4(1, 2, 0, 0) && o.iv[1].hi == IP4(1, 2, 2, 255));
	out_free(&o);
	zn_flat_cleanup(&f);
}

static zn_u128
a6(const char *s)
{
	uint8_t a[16];
	const char *e;

	assert_int_equal(zn_ip6_prefix(s, a, &e), 128);
	return get_addr(a, 16);
}

static void
test_flat_ip6(void **state)
{
	struct zn_flat f;
	struct out o;
	zn_u128 lo, hi;
	uint8_t a[16];
	const char *e;
	char b[256];

	(void)state;
	/* ip6tset: a /64 less an excluded /128 */
	zn_flat_init(&f, 16, true, false);
	(void)val(&f, 2, NULL);
	assert_int_equal(zn_ip6_prefix("2001:db8:5:6", a, &e), 64);
	zn_ip6_range(a, 64, &lo, &hi);
	assert_int_equal(zn_flat_add(&f, lo, hi, 64, 0, 0), 0);
	lo = a6("2001:db8:5:6::1");
	assert_int_equal(zn_flat_add(&f, lo, lo, 128, ZN_FLAT_EXCL, 1), 0);
	lo = a6("2001:db8:9::1"); /* excluded, nothing around */
	assert_int_equal(zn_flat_add(&f, lo, lo, 128, ZN_FLAT_EXCL, 2), 0);
	run(&f, &o);
	assert_string_equal(ans(&o, a6("2001:db8:5:6::"), b), "2");
	assert_string_equal(ans(&o, a6("2001:db8:5:6::1"), b), "-");
	assert_string_equal(ans(&o, a6("2001:db8:5:6::2"), b), "2");
	assert_string_equal(ans(&o, a6("2001:db8:5:6:ffff:ffff:ffff:ffff"), b),
	    "2");
	assert_string_equal(ans(&o, a6("2001:db8:5:7::"), b), "-");
	assert_string_equal(ans(&o, a6("2001:db8:9::1"), b), "-");
	assert_int_equal(o.n, 2);
	out_free(&o);
	zn_flat_cleanup(&f);

	/* ip6trie with ::/0 and the top address */
	zn_flat_init(&f, 16, true, true);
	assert_int_equal(
	    zn_flat_add(&f, 0, ~(zn_u128)0, 0, val(&f, 1, NULL), 0), 0);
	lo = a6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_int_equal(zn_flat_add(&f, lo, lo, 128, val(&f, 2, NULL), 1), 0);
	lo = a6("::");
	assert_int_equal(zn_flat_add(&f, lo, lo, 128, ZN_FLAT_EXCL, 2), 0);
	run(&f, &o);
	assert_string_equal(ans(&o, 0, b), "-");
	assert_string_equal(ans(&o, 1, b), "1");
	assert_string_equal(ans(&o, ~(zn_u128)0, b), "2");
	assert_string_equal(ans(&o, ~(zn_u128)0 - 1, b), "1");
	assert_int_equal(o.n, 2);
	out_free(&o);
	zn_flat_cleanup(&f);
}

static void
test_flat_merge(void **state)
{
	struct zn_flat f;
	struct out o;
	uint32_t i, v2, v3;

	(void)state;
	/* adjacent blocks with equal answers become one interval */
	zn_flat_init(&f, 4, true, false);
	v2 = val(&f, 2, "x");
	v3 = val(&f, 3, NULL);
	for (i = 0; i < 1000; i++)
		assert_int_equal(zn_flat_add(&f, IP4(10, 0, 0, 0) + i,
		                     IP4(10, 0, 0, 0) + i, 32, v2, i),
		    0);
	assert_int_equal(zn_flat_add(&f, IP4(10, 0, 3, 232), IP4(10, 0, 3, 232),
	                     32, v3, 1000),
	    0);
	assert_int_equal(zn_flat_add(&f, IP4(10, 0, 3, 233), IP4(10, 0, 3, 240),
	                     32, v2, 1001),
	    0);
	run(&f, &o);
	assert_int_equal(o.n, 3);
	assert_true(
	    o.iv[0].lo == IP4(10, 0, 0, 0) && o.iv[0].hi == IP4(10, 0, 3, 231));
	assert_true(o.iv[1].lo == IP4(10, 0, 3, 232) &&
	    o.iv[1].hi == IP4(10, 0, 3, 232));
	assert_true(o.iv[2].lo == IP4(10, 0, 3, 233) &&
	    o.iv[2].hi == IP4(10, 0, 3, 240));
	/* the blob: flags 0, then a[4] tkind len txt */
	assert_int_equal(o.iv[0].blen, 1 + 6 + 1);
	assert_int_equal(o.iv[0].blob[5], ZN_TXT_TEXT);
	assert_int_equal(o.iv[0].blob[7], 'x');
	out_free(&o);
	zn_flat_cleanup(&f);

	/* same answer through different priorities also merges */
	zn_flat_init(&f, 4, true, false);
	v2 = val(&f, 2, NULL);
	assert_int_equal(zn_flat_add_ip4set(&f, IP4(10, 0, 0, 0),
	                     IP4(10, 255, 255, 255), v2, 0),
	    0);
	assert_int_equal(
	    zn_flat_add_ip4set(&f, IP4(10, 1, 1, 1), IP4(10, 1, 1, 1), v2, 1),
	    0);
	run(&f, &o);
	assert_int_equal(o.n, 1);
	out_free(&o);
	zn_flat_cleanup(&f);

	/* nothing in, nothing out; unknown value ids are refused */
	zn_flat_init(&f, 4, true, false);
	run(&f, &o);
	assert_int_equal(o.n, 0);
	assert_int_equal(zn_flat_add(&f, 1, 1, 32, 7, 0), 0);
	assert_int_equal(zn_flat_run(&f, collect, &o), -EINVAL);
	assert_int_equal(zn_flat_add(&f, 2, 1, 32, 0, 0), -EINVAL);
	assert_int_equal(zn_flat_add(&f, 1, 1, 129, 0, 0), -EINVAL);
	assert_int_equal(zn_flat_add(&f, 1, (zn_u128)1 << 32, 32, 0, 0),
	    -EINVAL);
	out_free(&o);
	zn_flat_cleanup(&f);
}

static void
test_flat_many_values(void **state)
{
	struct zn_flat f;
	struct out o;
	uint32_t i;
	char txt[16];

	(void)state;
	/* the values of one level are capped at ZN_FLAT_MAXVALS, in source
	 * order; many identical /8s cost one build */
	zn_flat_init(&f, 4, true, false);
	for (i = 0; i < 400; i++) {
		snprintf(txt, sizeof(txt), "v%u", i);
		assert_int_equal(zn_flat_add_ip4set(&f, IP4(10, 0, 0, 0),
		                     IP4(10, 255, 255, 255), val(&f, 2, txt),
		                     i),
		    0);
	}
	for (i = 0; i < 20000; i++)
		assert_int_equal(
		    zn_flat_add_ip4set(&f, IP4(10, 0, 0, 0) + 2 * i,
		        IP4(10, 0, 0, 0) + 2 * i, val(&f, 3, NULL), 1000 + i),
		    0);
	run(&f, &o);
	assert_int_equal(o.n, 40000);
	assert_int_equal(o.iv[1].blob[0], 0);
	assert_int_equal(o.iv[1].blen, 1 + 10 * 8 + 90 * 9 + 155 * 10);
	assert_memory_equal(o.iv[1].blob + 7, "v0", 2);
	out_free(&o);
	zn_flat_cleanup(&f);
}

/*
 * Random blocks against a brute-force reference of the semantics.
 */

struct rblk {
	uint32_t lo, hi;
	int kind; /* 0: CIDR with priority prio, 1: ip4set range */
	unsigned prio;
	uint32_t val; /* or ZN_FLAT_EXCL */
	uint32_t seq;
};

static uint64_t rng_state;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* The ip4set level of x in range [a, b]: the coarsest octet-aligned
 * cell around x inside the range. */
static unsigned
set_level(uint32_t a, uint32_t b, uint32_t x)
{
	unsigned bits;

	for (bits = 8; bits < 32; bits += 8) {
		uint32_t m = zn_ip4_mask(bits);

		if ((x & m) >= a && (x | ~m) <= b)
			return bits;
	}
	return 32;
}

/* Reference answer at x: list of value ids in out, count or -1 (none). */
static int
ref_answer(const struct rblk *r, size_t n, uint32_t x, uint32_t *vals)
{
	unsigned best = 0, p;
	bool any = false, excl = false;
	size_t i, j, nv = 0;
	uint32_t bestseq[ZN_FLAT_MAXVALS + 1];

	for (i = 0; i < n; i++) {
		if (x < r[i].lo || x > r[i].hi)
			continue;
		p = r[i].kind ? set_level(r[i].lo, r[i].hi, x) : r[i].prio;
		if (!any || p > best) {
			best = p;
			any = true;
		}
	}
	if (!any)
		return -1;
	/* the union at the best priority, by source order */
	for (i = 0; i < n; i++) {
		if (x < r[i].lo || x > r[i].hi)
			continue;
		p = r[i].kind ? set_level(r[i].lo, r[i].hi, x) : r[i].prio;
		if (p != best)
			continue;
		if (r[i].val == ZN_FLAT_EXCL) {
			excl = true;
			continue;
		}
		for (j = 0; j < nv; j++)
			if (vals[j] == r[i].val)
				break;
		if (j < nv) {
			if (r[i].seq < bestseq[j])
				bestseq[j] = r[i].seq;
			continue;
		}
		if (nv <= ZN_FLAT_MAXVALS) {
			vals[nv] = r[i].val;
			bestseq[nv++] = r[i].seq;
		}
	}
	if (excl)
		return -1;
	/* order by first seq */
	for (i = 1; i < nv; i++)
		for (j = i; j > 0 && bestseq[j - 1] > bestseq[j]; j--) {
			uint32_t t = bestseq[j];

			bestseq[j] = bestseq[j - 1];
			bestseq[j - 1] = t;
			t = vals[j];
			vals[j] = vals[j - 1];
			vals[j - 1] = t;
		}
	return (int)(nv > ZN_FLAT_MAXVALS ? ZN_FLAT_MAXVALS : nv);
}

static void
check_at(const struct out *o, const struct zn_flat *f, const struct rblk *r,
    size_t n, uint32_t x)
{
	uint32_t vals[ZN_FLAT_MAXVALS + 1];
	const struct ival *iv = out_find(o, x);
	int nv = ref_answer(r, n, x, vals), i;
	size_t off = 1;

	if (nv < 0) {
		if (iv != NULL)
			fail_msg("%08x: listed, want not", x);
		return;
	}
	if (iv == NULL)
		fail_msg("%08x: not listed, want %d values", x, nv);
	for (i = 0; i < nv; i++) {
		uint32_t len = f->vlen[vals[i]];

		if (off + len > iv->blen ||
		    memcmp(iv->blob + off, f->pool + f->voff[vals[i]], len) !=
		        0)
			fail_msg("%08x: value %d differs", x, i);
		off += len;
	}
	assert_int_equal(off, iv->blen);
}

static void
test_flat_random(void **state)
{
	const size_t n = 100000, nq = 1500;
	struct zn_flat f;
	struct out o;
	struct rblk *r;
	uint32_t vid[40], x;
	size_t i, q;
	int rc;

	(void)state;
	rng_state = 0x9e3779b97f4a7c15ull;
	r = calloc(n, sizeof(*r));
	assert_non_null(r);
	zn_flat_init(&f, 4, true, false);
	for (i = 0; i < 40; i++)
		vid[i] = val(&f, (unsigned)i + 1, i % 3 ? "t" : NULL);
	for (i = 0; i < n; i++) {
		/* most entries in 10.0.0.0/14 so that they overlap */
		uint32_t base = IP4(10, 0, 0, 0) | (rnd() & 0x3ffff);
		unsigned c = rnd() % 100;

		r[i].seq = (uint32_t)i;
		r[i].val = rnd() % 8 == 0 ? ZN_FLAT_EXCL : vid[rnd() % 40];
		if (c < 50) {
			/* a CIDR, mostly long */
			unsigned bits =
			    c < 40 ? 24 + rnd() % 9 : 8 + rnd() % 25;

			if (rnd() % 5000 == 0)
				bits = rnd() % 8;
			r[i].kind = 0;
			r[i].prio = bits;
			r[i].lo = base & zn_ip4_mask(bits);
			r[i].hi = r[i].lo | ~zn_ip4_mask(bits);
			rc = zn_flat_add(&f, r[i].lo, r[i].hi, bits, r[i].val,
			    r[i].seq);
		} else {
			uint32_t len = c < 90 ? rnd() % 600 :
			    c < 99            ? rnd() % 300000 :
			                        rnd() % 50000000;

			r[i].kind = 1;
			r[i].lo = base;
			r[i].hi = base + len < base ? UINT32_MAX : base + len;
			rc = zn_flat_add_ip4set(&f, r[i].lo, r[i].hi, r[i].val,
			    r[i].seq);
		}
		assert_int_equal(rc, 0);
	}
	run(&f, &o);
	for (q = 0; q < nq; q++) {
		/* random addresses, and both sides of interval ends */
		if (q % 3 == 0) {
			x = IP4(10, 0, 0, 0) | (rnd() & 0x3ffff);
		} else {
			const struct ival *iv = &o.iv[rnd() % o.n];

			x = (uint32_t)(q % 3 == 1 ? iv->lo : iv->hi);
			if (rnd() % 2)
				x += q % 3 == 1 ? (uint32_t)-1 : 1;
		}
		check_at(&o, &f, r, n, x);
	}
	check_at(&o, &f, r, n, 0);
	check_at(&o, &f, r, n, UINT32_MAX);
	out_free(&o);
	zn_flat_cleanup(&f);
	free(r);
}

/*
 * Whole datasets through the driver.
 */

struct warns {
	char buf[8192];
	size_t n;
	unsigned count;
};

static void
warn_cb(void *ctx, const char *msg)
{
	struct warns *w = ctx;
	int k;

	w->count++;
	k = snprintf(w->buf + w->n, sizeof(w->buf) - w->n, "%s\n", msg);
	if (k > 0 && (size_t)k < sizeof(w->buf) - w->n)
		w->n += (size_t)k;
}

static struct zn_dataset *
load(enum zn_dstype t, const char *text, bool e, struct warns *w)
{
	struct zn_parse_opts opts;
	struct zn_dataset *ds = NULL;
	struct zn_err err;

	memset(&opts, 0, sizeof(opts));
	memset(w, 0, sizeof(*w));
	opts.host_bits_ok = e;
	opts.warn = warn_cb;
	opts.warn_ctx = w;
	if (zn_dataset_load_mem(t, "z", text, strlen(text), &opts, &ds, &err) !=
	    0)
		fail_msg("load: %s", err.msg);
	return ds;
}

/* The entry covering address (4 or 16 bytes) in ds, or NULL. */
static const struct zn_entry *
ds_find(const struct zn_dataset *ds, const uint8_t *addr, size_t alen)
{
	size_t i;

	for (i = 0; i < ds->nent; i++) {
		const struct zn_entry *e = &ds->ent[i];

		if (e->klen != alen + 1 ||
		    e->key[0] != (alen == 4 ? ZN_KEY_IP4 : ZN_KEY_IP6))
			continue;
		if (memcmp(e->key + 1, addr, alen) >= 0 &&
		    memcmp(e->blob, addr, alen) <= 0)
			return e;
	}
	return NULL;
}

/* "A/TXT A/TXT" of the answer at dotted quad q, "-" if none. */
static const char *
ds_ans4(const struct zn_dataset *ds, const char *q, char *buf)
{
	unsigned o[4];
	uint8_t a[4];
	const struct zn_entry *e;
	size_t off, n = 0;

	assert_int_equal(sscanf(q, "%u.%u.%u.%u", &o[0], &o[1], &o[2], &o[3]),
	    4);
	for (off = 0; off < 4; off++)
		a[off] = (uint8_t)o[off];
	if ((e = ds_find(ds, a, 4)) == NULL)
		return "-";
	off = 4;
	buf[0] = '\0';
	if (ds->type == ZN_ACL) {
		n = (size_t)sprintf(buf, "acl%u", e->blob[off]);
		if (e->blob[off++] != ZN_ACL_LISTED)
			return buf;
	}
	assert_int_equal(e->blob[off++], 0);
	while (off + 6 <= e->blen) {
		uint8_t tl = e->blob[off + 5];

		n += (size_t)sprintf(buf + n, "%s%u/%.*s", n ? " " : "",
		    e->blob[off + 3], (int)tl, e->blob + off + 6);
		off += 6 + tl;
	}
	assert_int_equal(off, e->blen);
	return buf;
}

static void
test_ds_ip4set(void **state)
{
	struct zn_dataset *ds;
	struct warns w;
	char b[512];

	(void)state;
	ds = load(ZN_IP4SET,
	    "192.168\n"
	    "192.168.1.1 :3:first\n"
	    "192.168.1.1 :4:second\n"
	    "!192.168.7.0/24\n"
	    "192.168.7.7:5\n"
	    "10\n"
	    "1.2-1.2.3.4\n"
	    "1.2.3.4/24\n"
	    "0/0\n"
	    "1.1.1.1 listed # x\n"
	    "1.1.1.2 #comment\n"
	    "1.1.1.3 :0.0.0.0:x\n"
	    ":9:def $\n"
	    "1.1.1.4\n"
	    "127.0.0.1-3 :7:\n",
	    false, &w);
	assert_string_equal(w.buf,
	    "z:6: invalid address\n"
	    "z:7: invalid address\n"
	    "z:8: invalid range (non-zero host part)\n"
	    "z:9: invalid address\n"
	    "z:12: invalid A RR\n");
	assert_int_equal(ds->nskipped, 5);
	assert_string_equal(ds_ans4(ds, "192.168.1.1", b), "3/first 4/second");
	assert_string_equal(ds_ans4(ds, "192.168.1.2", b), "2/");
	assert_string_equal(ds_ans4(ds, "192.168.7.1", b), "-");
	assert_string_equal(ds_ans4(ds, "192.168.7.7", b), "5/");
	assert_string_equal(ds_ans4(ds, "1.1.1.1", b), "2/listed # x");
	assert_string_equal(ds_ans4(ds, "1.1.1.2", b), "2/");
	assert_string_equal(ds_ans4(ds, "1.1.1.3", b), "-");
	assert_string_equal(ds_ans4(ds, "1.1.1.4", b), "9/def $");
	assert_string_equal(ds_ans4(ds, "127.0.0.2", b), "7/");
	assert_string_equal(ds_ans4(ds, "127.0.0.4", b), "-");
	zn_dataset_free(ds);

	/* -e, $MAXRANGE4 */
	ds = load(ZN_IP4SET,
	    "1.2.3.4/24\n"
	    "$MAXRANGE4 /24\n"
	    "5.0.0.0/16\n"
	    "6.0.0.0-6.0.1.0\n"
	    "0.0.0.0-255.255.255.255\n"
	    "7.0.0.0-7.0.0.255\n",
	    true, &w);
	assert_string_equal(w.buf,
	    "z:3: too large range (65536) ignored (256 max)\n"
	    "z:4: too large range (257) ignored (256 max)\n"
	    "z:5: too large range (4294967296) ignored (256 max)\n");
	assert_string_equal(ds_ans4(ds, "1.2.3.0", b), "2/");
	assert_string_equal(ds_ans4(ds, "7.0.0.255", b), "2/");
	assert_string_equal(ds_ans4(ds, "5.0.0.0", b), "-");
	zn_dataset_free(ds);
}

static void
test_ds_ip4trie(void **state)
{
	struct zn_dataset *ds;
	struct warns w;
	char b[512];

	(void)state;
	ds = load(ZN_IP4TRIE,
	    "1.2.3.0/24 :3\n"
	    "1.2.3 :4\n"
	    "1.2.3.4\n"
	    "!1.2.3.4\n"
	    "! 1.2.3.5\n"
	    "0/0 :6\n"
	    "1.2.3.4-5\n"
	    "10\n",
	    false, &w);
	assert_string_equal(w.buf,
	    "z:2: duplicated entry for 1.2.3.0/24\n"
	    "z:4: duplicated entry for 1.2.3.4/32\n"
	    "z:7: invalid address\n"
	    "z:8: invalid address\n");
	assert_string_equal(ds_ans4(ds, "1.2.3.4", b), "2/");
	assert_string_equal(ds_ans4(ds, "1.2.3.5", b), "-");
	assert_string_equal(ds_ans4(ds, "1.2.3.6", b), "3/");
	assert_string_equal(ds_ans4(ds, "9.9.9.9", b), "6/");
	zn_dataset_free(ds);
}

static void
test_ds_tsets(void **state)
{
	struct zn_dataset *ds;
	struct warns w;
	const struct zn_entry *e;
	uint8_t a[16];
	const char *end;
	char b[512];

	(void)state;
	/* the first default line applies to all entries, even earlier */
	ds = load(ZN_IP4TSET,
	    "1.2.3.4\n"
	    ":5:first\n"
	    "1.2.3.5 ignored text\n"
	    ":6:second\n"
	    "1.2.3\n"
	    "!1.2.3.6\n",
	    false, &w);
	assert_string_equal(w.buf,
	    "z:5: invalid address\n"
	    "z:6: invalid address\n");
	assert_string_equal(ds_ans4(ds, "1.2.3.4", b), "5/first");
	assert_string_equal(ds_ans4(ds, "1.2.3.5", b), "5/first");
	assert_int_equal(ds->nent, 1);
	zn_dataset_free(ds);

	ds = load(ZN_IP4TSET, "1.2.3.4\n", false, &w);
	assert_string_equal(ds_ans4(ds, "1.2.3.4", b), "2/");
	zn_dataset_free(ds);

	ds = load(ZN_IP6TSET,
	    "2001:db8:5:6\n"
	    "!2001:db8:5:6::1\n"
	    "2001:db8::\n"
	    "!2001:db8:5:7\n"
	    "2001:db8:5:6/64\n"
	    ":3\n",
	    false, &w);
	assert_string_equal(w.buf,
	    "z:3: invalid address for regular entry (should be 64 bits)\n"
	    "z:4: invalid address for exclusion (should be 128 bits)\n"
	    "z:5: invalid address\n");
	assert_int_equal(zn_ip6_prefix("2001:db8:5:6::2", a, &end), 128);
	e = ds_find(ds, a, 16);
	assert_non_null(e);
	assert_int_equal(e->blob[16 + 4], 3);
	assert_int_equal(zn_ip6_prefix("2001:db8:5:6::1", a, &end), 128);
	assert_null(ds_find(ds, a, 16));
	assert_int_equal(ds->nent, 2);
	zn_dataset_free(ds);
}

static void
test_ds_ip6trie(void **state)
{
	struct zn_dataset *ds;
	struct warns w;
	const struct zn_entry *e;
	uint8_t a[16];
	const char *end;

	(void)state;
	ds = load(ZN_IP6TRIE,
	    "2001:db8::/32\n"
	    "2001:db8::/32 :3\n"
	    "2001:db8:0:0::1 :4\n"
	    "2001:db8::1\n"
	    "::ffff:0:0/96\n"
	    "::ffff:0:0/96\n"
	    "!2001:db8:1:2\n"
	    "::1:5\n"
	    "2001\n"
	    "2001:db8::1/64\n",
	    false, &w);
	assert_string_equal(w.buf,
	    "z:2: duplicated entry for 2001:db8::/32\n"
	    "z:4: duplicated entry for 2001:db8::1/128\n"
	    "z:6: duplicated entry for ::ffff:0:0/96\n"
	    "z:9: invalid address\n"
	    "z:10: invalid range (non-zero host part)\n");
	assert_int_equal(zn_ip6_prefix("2001:db8::1", a, &end), 128);
	e = ds_find(ds, a, 16);
	assert_non_null(e);
	assert_int_equal(e->blob[16 + 4], 4);
	assert_int_equal(zn_ip6_prefix("2001:db8:1:2::5", a, &end), 128);
	assert_null(ds_find(ds, a, 16));
	assert_int_equal(zn_ip6_prefix("2001:db8:1:3::5", a, &end), 128);
	e = ds_find(ds, a, 16);
	assert_non_null(e);
	assert_int_equal(e->blob[16 + 4], 2);
	assert_int_equal(zn_ip6_prefix("::1:5", a, &end), 128);
	assert_non_null(ds_find(ds, a, 16));
	zn_dataset_free(ds);
}

static void
test_ds_acl(void **state)
{
	struct zn_dataset *ds;
	struct warns w;
	const struct zn_entry *e;
	uint8_t a[16];
	const char *end;
	char b[512];

	(void)state;
	ds = load(ZN_ACL,
	    "1.2.3.1\n"
	    "1.2.3.2 :refuse\n"
	    "1.2.3.3 =bogus\n"
	    "1.2.3.4 :bogus\n"
	    "1.2.3.5 :ign\n"
	    "1.2.3.6 =P\n"
	    "1.2.3.7 :Empty x\n"
	    "1.2.3.8 :2:always $\n"
	    "1.2.3.8 :pass\n"
	    ":refuse\n"
	    "1.2.4.0/24\n"
	    "=pass\n"
	    "1.2.5.0/24\n"
	    ":5:dflt\n"
	    "1.2.6.0/24\n"
	    "1.2.7.0/24 :6\n"
	    "=nope\n"
	    "!1.2.3.9\n"
	    "1.2.3.4/24\n"
	    "2001:db8::/32 :empty\n"
	    "::1\n"
	    "$SOA 1 a. b. 1 1 1 1 1\n"
	    "1.2.3.10 :refusefoo\n"
	    "0/0 :pass\n",
	    false, &w);
	assert_string_equal(w.buf,
	    "z:3: invalid keyword\n"
	    "z:4: invalid A RR\n"
	    "z:9: duplicated entry for 1.2.3.8/32\n"
	    "z:17: invalid keyword\n"
	    "z:18: invalid address\n"
	    "z:19: invalid range (non-zero host part)\n"
	    "z:22: $SOA not allowed in acl\n"
	    "z:23: invalid A RR\n");
	assert_false(ds->has_soa);
	assert_string_equal(ds_ans4(ds, "1.2.3.1", b), "acl0");
	assert_string_equal(ds_ans4(ds, "1.2.3.2", b), "acl1");
	assert_string_equal(ds_ans4(ds, "1.2.3.3", b), "acl3");
	assert_string_equal(ds_ans4(ds, "1.2.3.5", b), "acl0");
	assert_string_equal(ds_ans4(ds, "1.2.3.6", b), "acl3");
	assert_string_equal(ds_ans4(ds, "1.2.3.7", b), "acl2");
	assert_string_equal(ds_ans4(ds, "1.2.3.8", b), "acl4 2/always $");
	assert_string_equal(ds_ans4(ds, "1.2.4.1", b), "acl1");
	assert_string_equal(ds_ans4(ds, "1.2.5.1", b), "acl3");
	assert_string_equal(ds_ans4(ds, "1.2.6.1", b), "acl4 5/dflt");
	/* ":6": A given, the default's TXT */
	assert_string_equal(ds_ans4(ds, "1.2.7.1", b), "acl4 6/dflt");
	assert_string_equal(ds_ans4(ds, "9.9.9.9", b), "acl3");
	assert_int_equal(zn_ip6_prefix("2001:db8::5", a, &end), 128);
	e = ds_find(ds, a, 16);
	assert_non_null(e);
	assert_int_equal(e->blen, 17);
	assert_int_equal(e->blob[16], ZN_ACL_EMPTY);
	assert_int_equal(zn_ip6_prefix("::1", a, &end), 128);
	e = ds_find(ds, a, 16);
	assert_non_null(e);
	/* the default action in force then: ":5:dflt" */
	assert_int_equal(e->blob[16], ZN_ACL_LISTED);
	zn_dataset_free(ds);
}

static void
test_ds_bulk(void **state)
{
	const size_t n = 200000;
	struct zn_dataset *ds;
	struct warns w;
	char *text, *p;
	size_t i;
	clock_t t0;

	(void)state;
	/* many random /32s and ranges load and flatten quickly */
	rng_state = 12345;
	text = malloc(n * 40);
	assert_non_null(text);
	p = text;
	for (i = 0; i < n; i++) {
		uint32_t x = rnd();

		if (i % 10 == 0)
			p += sprintf(p, "%u.%u.%u.%u-%u :%u:r\n", x >> 24,
			    (x >> 16) & 255, (x >> 8) & 255, x & 127,
			    128 + (x & 127), (unsigned)(1 + i % 200));
		else
			p += sprintf(p, "%u.%u.%u.%u\n", x >> 24,
			    (x >> 16) & 255, (x >> 8) & 255, x & 255);
	}
	t0 = clock();
	ds = load(ZN_IP4SET, text, false, &w);
	assert_int_equal(w.count, 0);
	assert_true(ds->nent > n / 2);
	print_message("%zu entries -> %zu intervals in %.2fs\n", n, ds->nent,
	    (double)(clock() - t0) / CLOCKS_PER_SEC);
	zn_dataset_free(ds);
	free(text);
}

static void
test_ds_garbage(void **state)
{
	static const char alpha[] = "0123456789abcdefABF.:/-!=# \t;xyz$";
	static const enum zn_dstype types[] = { ZN_IP4SET, ZN_IP4TSET,
		ZN_IP4TRIE, ZN_IP6TSET, ZN_IP6TRIE, ZN_ACL };
	struct zn_dataset *ds;
	struct warns w;
	char *text, *p;
	size_t i, j, t, len;

	(void)state;
	/* random junk lines never crash a parser and leave a sane result */
	rng_state = 777;
	text = malloc(20000 * 40 + 1);
	assert_non_null(text);
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		p = text;
		for (i = 0; i < 20000; i++) {
			len = 1 + rnd() % 38;
			for (j = 0; j < len; j++)
				*p++ = alpha[rnd() % (sizeof(alpha) - 1)];
			*p++ = '\n';
		}
		*p = '\0';
		ds = load(types[t], text, rnd() % 2, &w);
		for (i = 1; i < ds->nent; i++) {
			const struct zn_entry *x = &ds->ent[i - 1];
			const struct zn_entry *y = &ds->ent[i];
			size_t m = x->klen < y->klen ? x->klen : y->klen;
			int c = memcmp(x->key, y->key, m);

			assert_true(c < 0 || (c == 0 && x->klen < y->klen));
		}
		zn_dataset_free(ds);
	}
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip4set_keys),
		cmocka_unit_test(test_ip4trie_keys),
		cmocka_unit_test(test_ip4tset_keys),
		cmocka_unit_test(test_ip6_keys),
		cmocka_unit_test(test_ip6tset_keys),
		cmocka_unit_test(test_acl_keys),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_flat_ip4set_levels),
		cmocka_unit_test(test_flat_ip4set_ranges),
		cmocka_unit_test(test_flat_trie),
		cmocka_unit_test(test_flat_ip6),
		cmocka_unit_test(test_flat_merge),
		cmocka_unit_test(test_flat_many_values),
		cmocka_unit_test(test_flat_random),
		cmocka_unit_test(test_ds_ip4set),
		cmocka_unit_test(test_ds_ip4trie),
		cmocka_unit_test(test_ds_tsets),
		cmocka_unit_test(test_ds_ip6trie),
		cmocka_unit_test(test_ds_acl),
		cmocka_unit_test(test_ds_bulk),
		cmocka_unit_test(test_ds_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
