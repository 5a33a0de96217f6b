/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Keys of the IP dataset types, in the forms rbldnsd 1.0 accepts.  The
 * corner cases (which forms are rejected, what a right-hand range end
 * means) follow REFERENCE-rbldnsd.md and were checked against the Debian
 * rbldnsd binary.
 */
#include "config.h"

#include "ip.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "db_int.h"

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * True if c may follow a key.
 */
bool
zn_ip_tail_ok(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '#' || c == ';' ||
	    c == ':';
}

/*
 * The IPv4 netmask of a prefix length (0 for 0, all ones for 32 and more).
 */
uint32_t
zn_ip4_mask(unsigned bits)
{
	if (bits == 0)
		return 0;
	if (bits >= 32)
		return UINT32_MAX;
	return UINT32_MAX << (32 - bits);
}

/*
 * One to four dot-separated decimal octets (leading zeros allowed).
 * Returns 8 per octet given and stores them left-aligned in *a, or -1.
 */
static int
ip4_prefix(const char *s, uint32_t *a, const char **end)
{
	unsigned i, v;

	*a = 0;
	for (i = 0; i < 4; i++) {
		if (!is_digit(*s)) {
			*end = s;
			return -1;
		}
		v = 0;
		while (is_digit(*s)) {
			v = v * 10 + (unsigned)(*s - '0');
			if (v > 255) {
				*end = s;
				return -1;
			}
			s++;
		}
		*a |= v << (24 - 8 * i);
		if (i == 3 || *s != '.')
			break;
		s++;
	}
	*end = s;
	return 8 * (int)(i + 1);
}

/* "/n" after a prefix: s points after the '/'.  n 0..max, or -1. */
static int
mask_bits(const char *s, int max, const char **end)
{
	int bits = 0;

	if (!is_digit(*s)) {
		*end = s;
		return -1;
	}
	while (is_digit(*s)) {
		bits = bits * 10 + (*s - '0');
		if (bits > max) {
			*end = s;
			return -1;
		}
		s++;
	}
	*end = s;
	return bits;
}

/* CIDR or prefix (not a bare number); bits 0..32 or -1. */
static int
ip4_cidr(const char *s, uint32_t *a, const char **end)
{
	int bits = ip4_prefix(s, a, &s);

	if (bits < 0) {
		*end = s;
		return -1;
	}
	if (*s == '/')
		return mask_bits(s + 1, 32, end);
	*end = s;
	return bits == 8 ? -1 : bits;
}

/*
 * Parse an ip4set key into [*lo, *hi]; see ip.h.
 */
int
zn_ip4set_key(const char *s, bool host_bits_ok, uint32_t *lo, uint32_t *hi,
    const char **rest)
{
	uint32_t a, b, m;
	int bits, bbits;

	bits = ip4_prefix(s, &a, &s);
	if (bits < 0)
		return -EINVAL;
	if (*s == '-') {
		bbits = ip4_prefix(s + 1, &b, &s);
		if (bbits < 0)
			return -EINVAL;
		if (bbits == 8) {
			/* one number replaces the last octet given */
			b = (b >> (bits - 8)) | (a & zn_ip4_mask(bits - 8));
			bbits = bits;
		} else if (bbits != bits) {
			return -EINVAL; /* "1.2-1.2.3.4" */
		}
		b |= ~zn_ip4_mask(bbits);
		if (a > b || !zn_ip_tail_ok(*s))
			return -EINVAL;
		*lo = a;
		*hi = b;
		*rest = s;
		return 0;
	}
	if (*s == '/') {
		bits = mask_bits(s + 1, 32, &s);
		if (bits < 0)
			return -EINVAL;
	} else if (bits == 8) {
		return -EINVAL; /* bare number: write 10/8 */
	}
	/* /0 is refused in ip4set (rbldnsd: use ip4trie) */
	if (bits == 0 || !zn_ip_tail_ok(*s))
		return -EINVAL;
	m = zn_ip4_mask((unsigned)bits);
	if (a & ~m) {
		if (!host_bits_ok)
			return -EDOM;
		a &= m;
	}
	*lo = a;
	*hi = a | ~m;
	*rest = s;
	return 0;
}

/*
 * Parse an ip4trie/acl key; see ip.h.
 */
int
zn_ip4trie_key(const char *s, bool host_bits_ok, uint32_t *addr, unsigned *bits,
    const char **rest)
{
	uint32_t a, m;
	int b;

	b = ip4_cidr(s, &a, &s);
	if (b < 0 || !zn_ip_tail_ok(*s))
		return -EINVAL;
	m = zn_ip4_mask((unsigned)b);
	if (a & ~m) {
		if (!host_bits_ok)
			return -EDOM;
		a &= m;
	}
	*addr = a;
	*bits = (unsigned)b;
	*rest = s;
	return 0;
}

/*
 * Parse an ip4tset key; see ip.h.
 */
int
zn_ip4tset_key(const char *s, uint32_t *addr, const char **rest)
{
	if (ip4_prefix(s, addr, &s) != 32 || !zn_ip_tail_ok(*s))
		return -EINVAL;
	*rest = s;
	return 0;
}

/*
 * Parse IPv6 groups; see ip.h.  As in rbldnsd, parsing stops after eight
 * groups or at a second "::" (the rest is then left for the caller's tail
 * check, where a ':' starts the value).
 */
int
zn_ip6_prefix(const char *s, uint8_t a[16], const char **end)
{
	unsigned n = 0, v, nz;
	int zstart = -1, ret = -1, h;
	const char *start;

	memset(a, 0, 16);
	if (s[0] == ':' && s[1] == ':') {
		zstart = 0;
		s += 2;
	}
	/*
	 * ":::" ("2001:db8:::1", "2001:db8:::127.0.0.2:txt"): no group
	 * follows the "::", so the address ends there and the third ':'
	 * starts the value, as in rbldnsd.
	 */
	for (;;) {
		start = s;
		v = 0;
		while ((h = zn_hexval((uint8_t)*s)) >= 0) {
			v = (v << 4) | (unsigned)h;
			if (v > 0xffff)
				break;
			s++;
		}
		if (s == start || v > 0xffff)
			break;
		a[n++] = (uint8_t)(v >> 8);
		a[n++] = (uint8_t)v;
		if (*s != ':' || n == 16) {
			ret = (int)n * 8;
			break;
		}
		s++;
		if (zstart < 0 && *s == ':') {
			zstart = (int)n;
			s++;
		}
	}
	if (zstart >= 0) {
		nz = 16 - n;
		if (nz == 0) {
			ret = -1;
		} else {
			memmove(a + zstart + nz, a + zstart,
			    n - (unsigned)zstart);
			memset(a + zstart, 0, nz);
			ret = 128;
		}
	}
	*end = s;
	return ret < 0 ? -EINVAL : ret;
}

/*
 * Clear the host bits of a beyond bits; see ip.h.
 */
bool
zn_ip6_clear_host(uint8_t a[16], unsigned bits)
{
	unsigned i = bits / 8;
	bool set = false;

	if (bits >= 128)
		return false;
	if (bits % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - bits % 8));

		if (a[i] & ~m)
			set = true;
		a[i] &= m;
		i++;
	}
	for (; i < 16; i++) {
		if (a[i])
			set = true;
		a[i] = 0;
	}
	return set;
}

/* IPv6 CIDR; bits 0..128 or -1. */
static int
ip6_cidr(const char *s, uint8_t a[16], const char **end)
{
	int bits = zn_ip6_prefix(s, a, &s);

	if (bits < 0) {
		*end = s;
		return -1;
	}
	if (*s == '/')
		return mask_bits(s + 1, 128, end);
	*end = s;
	return bits == 16 ? -1 : bits; /* a bare group needs a "/" */
}

/*
 * Parse an ip6trie/acl IPv6 key; see ip.h.
 */
int
zn_ip6trie_key(const char *s, bool host_bits_ok, uint8_t a[16], unsigned *bits,
    const char **rest)
{
	uint8_t t[16];
	int b;

	b = ip6_cidr(s, t, &s);
	if (b < 0 || !zn_ip_tail_ok(*s))
		return -EINVAL;
	if (zn_ip6_clear_host(t, (unsigned)b) && !host_bits_ok)
		return -EDOM;
	memcpy(a, t, 16);
	*bits = (unsigned)b;
	*rest = s;
	return 0;
}

/*
 * The first and last address of an IPv6 prefix; see ip.h.
 */
void
zn_ip6_range(const uint8_t a[16], unsigned bits, zn_u128 *lo, zn_u128 *hi)
{
	zn_u128 v = 0;
	unsigned i;

	for (i = 0; i < 16; i++)
		v = v << 8 | a[i];
	if (bits > 128)
		bits = 128;
	*lo = v;
	*hi = bits == 0 ? ~(zn_u128)0 :
	    bits == 128 ? v :
	                  v | ((~(zn_u128)0) >> bits);
}

/*
 * Parse an ip6tset key; see ip.h.
 */
int
zn_ip6tset_key(const char *s, bool excl, uint8_t a[16], const char **rest)
{
	int bits = zn_ip6_prefix(s, a, &s);

	if (bits < 0 || !zn_ip_tail_ok(*s))
		return -EINVAL;
	if (bits != (excl ? 128 : 64))
		return -ERANGE;
	*rest = s;
	return 0;
}

/*
 * Parse an acl key; see ip.h.
 */
int
zn_acl_key(const char *s, bool host_bits_ok, uint8_t a[16], unsigned *alen,
    unsigned *bits, const char **rest)
{
	const char *e;
	uint32_t v4;
	int b;

	b = ip4_cidr(s, &v4, &e);
	if (b >= 0 && zn_ip_tail_ok(*e)) {
		b = zn_ip4trie_key(s, host_bits_ok, &v4, bits, rest);
		if (b != 0)
			return b;
		memset(a, 0, 16);
		a[0] = (uint8_t)(v4 >> 24);
		a[1] = (uint8_t)(v4 >> 16);
		a[2] = (uint8_t)(v4 >> 8);
		a[3] = (uint8_t)v4;
		*alen = 4;
		return 0;
	}
	b = zn_ip6trie_key(s, host_bits_ok, a, bits, rest);
	if (b == 0)
		*alen = 16;
	return b;
}

/* Append the decimal digits of v (0..255) at p; returns the end. */
static char *
put_dec8(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/* Append v (0..0xffff) in lower-case hex without leading zeros. */
static char *
put_hex16(char *p, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	int shift = 12;

	while (shift > 0 && (v >> shift) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = hex[(v >> shift) & 15];
	return p;
}

/*
 * Format an IPv4 address; see ip.h.  By hand, not snprintf: a listed
 * address is formatted for every answer that names it (the $ of a TXT).
 */
void
zn_ip4_format(uint32_t a, char *buf)
{
	char *p = buf;
	int shift;

	for (shift = 24; shift >= 0; shift -= 8) {
		p = put_dec8(p, (a >> shift) & 255);
		if (shift > 0)
			*p++ = '.';
	}
	*p = '\0';
}

/*
 * Format an IPv6 address as rbldnsd does: the first longest run of two or
 * more zero groups becomes "::", groups in lower-case hex without leading
 * zeros, never a dotted quad.
 */
void
zn_ip6_format(const uint8_t a[16], char *buf)
{
	unsigned w[8], i, j, best = 0, bestlen = 0;
	char *p = buf;

	for (i = 0; i < 8; i++)
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < 8; i++) {
		for (j = i; j < 8 && w[j] == 0; j++)
			;
		if (j - i > 1 && j - i > bestlen) {
			best = i;
			bestlen = j - i;
		}
	}
	for (i = 0; i < 8; i++) {
		if (bestlen > 0 && i == best) {
			*p++ = ':';
			if (i == 0)
				*p++ = ':';
			i += bestlen - 1;
			continue;
		}
		p = put_hex16(p, w[i]);
		if (i < 7)
			*p++ = ':';
	}
	*p = '\0';
}
