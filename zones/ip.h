/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IP address keys and flattening, shared by the IP dataset types
 * (zone_ip4set.c, zone_ip4tset.c, zone_ip4trie.c, zone_ip6tset.c,
 * zone_ip6trie.c, zone_acl.c).  Not for use outside zones/.
 *
 * ip.c parses the key of an entry line in the forms rbldnsd accepts (see
 * REFERENCE-rbldnsd.md 4.1-4.5, 4.10); it never warns: the callers turn
 * the return codes into rbldnsd's warnings.  Addresses are host-order
 * integers (IPv4) or 16 big-endian bytes (IPv6).
 *
 * flatten.c turns a list of address blocks with priorities into the
 * disjoint intervals of zones.h.
 */
#ifndef ZONES_IP_H
#define ZONES_IP_H

#include "zones.h"

/*
 * Key parsers.  s is NUL-terminated; on success *rest points right after
 * the key.  Return codes:
 *   0        success
 *   -EINVAL  "invalid address" (also when the key is not followed by the
 *            end of the line, a blank, '#', ';' or ':')
 *   -EDOM    "invalid range (non-zero host part)" (only without
 *            host_bits_ok; with it the host bits are cleared)
 *   -ERANGE  ip6tset: the address has the wrong number of groups
 * IPv6 ":::" ("2001:db8:::1", "2001:db8:::127.0.0.2:txt"): as rbldnsd,
 * the address ends at the "::" and the third ':' starts the value.
 */

/* True if c may follow a key: NUL, blank, '#', ';' or ':'. */
bool zn_ip_tail_ok(char c);

/* The IPv4 netmask of a prefix length 0..32. */
uint32_t zn_ip4_mask(unsigned bits);

/*
 * ip4set key: "a.b.c.d/n" (n 1..32), a 2-4 octet prefix ("127.0.0" is a
 * /24), "127/8", or a range "a.b.c.d-e.f.g.h", "127.0.0.1-255",
 * "127.16-31" (the right end padded with 255s).  [*lo, *hi] is the range.
 */
int zn_ip4set_key(const char *s, bool host_bits_ok, uint32_t *lo, uint32_t *hi,
    const char **rest);

/* ip4trie and acl key: a CIDR or a 2-4 octet prefix, "0/0" allowed. */
int zn_ip4trie_key(const char *s, bool host_bits_ok, uint32_t *addr,
    unsigned *bits, const char **rest);

/* ip4tset key: a full dotted quad. */
int zn_ip4tset_key(const char *s, uint32_t *addr, const char **rest);

/*
 * IPv6 address or prefix: 16-bit groups with optional "::"; without "::"
 * trailing groups may be missing (then the length is 16 bits per group).
 * Returns the length in bits (16..128) or -EINVAL; *end is where parsing
 * stopped.  Exposed for the tests.
 */
int zn_ip6_prefix(const char *s, uint8_t a[16], const char **end);

/* ip6trie and acl key: an IPv6 prefix with an optional "/0".."/128"; a
 * single group needs the "/". */
int zn_ip6trie_key(const char *s, bool host_bits_ok, uint8_t a[16],
    unsigned *bits, const char **rest);

/* ip6tset key: exactly four groups for an entry, 128 bits for an
 * exclusion (excl); -ERANGE if the length is wrong. */
int zn_ip6tset_key(const char *s, bool excl, uint8_t a[16], const char **rest);

/*
 * acl key: an IPv4 CIDR (tried first) or an IPv6 CIDR.  *alen is set to 4
 * or 16 and a holds the address big-endian.
 */
int zn_acl_key(const char *s, bool host_bits_ok, uint8_t a[16], unsigned *alen,
    unsigned *bits, const char **rest);

/* Clear the host bits of a beyond bits; true if any was set. */
bool zn_ip6_clear_host(uint8_t a[16], unsigned bits);

/* "a.b.c.d" into buf (at least 16 bytes). */
void zn_ip4_format(uint32_t a, char *buf);
/* rbldnsd's compressed IPv6 form ("2001:db8::1"; no dotted quad) into buf
 * (at least 40 bytes). */
void zn_ip6_format(const uint8_t a[16], char *buf);

/*
 * Flattening.
 *
 * Blocks are [lo, hi] address ranges with a priority (0..128) and a value
 * id, or ZN_FLAT_EXCL.  For every address, the covering blocks of the
 * highest priority decide: if one is an exclusion the address is not
 * listed, else its answer is the union of those blocks' values (equal
 * values once, in the source order of the blocks, at most ZN_FLAT_MAXVALS
 * values).  The result is the maximal intervals of addresses with the same
 * answer, emitted in address order as zones.h's canonical entries:
 *
 *   key 0x04|hi[4] or 0x06|hi[16]      blob lo[4|16] [0x00] values...
 *
 * where the 0x00 flags byte is written when the builder was made for
 * answers (a value is then "a[4] tkind len txt") and values are copied
 * verbatim otherwise (acl: a value is a whole acl blob).
 */
#define ZN_FLAT_EXCL UINT32_MAX
#define ZN_FLAT_MAXPRIO 128
#define ZN_FLAT_MAXVALS 255

__extension__ typedef unsigned __int128 zn_u128;

struct zn_flat_blk {
	zn_u128 lo, hi;
	uint32_t val; /* value id or ZN_FLAT_EXCL */
	uint32_t seq; /* source order */
	uint8_t prio;
};

struct zn_flat {
	unsigned alen; /* 4 or 16 */
	bool answer; /* write the answer flags byte */
	bool unique; /* refuse a second block with the same lo and prio */

	struct zn_flat_blk *blk;
	size_t nblk, capblk;

	/* interned values: bytes in pool, ids index voff/vlen */
	uint8_t *pool;
	size_t npool, cappool;
	size_t *voff;
	uint32_t *vlen;
	size_t nval, capval;
	uint32_t *vhash; /* open addressing: id + 1, 0 empty */
	size_t nvhash;
	uint32_t vlast; /* the value interned last, + 1 (0: none) */

	uint32_t *uhash; /* unique: block index + 1, 0 empty */
	size_t nuhash;
};

/*
 * A probe (explain.c): while set for the calling thread, every block a
 * builder of alen-byte addresses takes that covers addr is noted: the
 * highest priority among them, and whether one of that priority is an
 * exclusion (then its range: for ip4set the range as given, before the
 * octet split).  Costs the import path one thread-local test per block.
 */
struct zn_flat_probe {
	unsigned alen;
	zn_u128 addr;
	int top; /* highest priority covering addr; -1: none */
	bool excl; /* an exclusion of priority top covers addr: */
	zn_u128 lo, hi; /* the first one's range */
};
/* Set (NULL: clear) the calling thread's probe; top starts at -1. */
void zn_flat_probe_set(struct zn_flat_probe *p);

/* Called for every emitted entry; returns 0 or a negative errno. */
typedef int (*zn_flat_emit_fn)(void *ctx, const uint8_t *key, size_t klen,
    const uint8_t *blob, size_t blen);

/* Initialise f for alen-byte addresses (4 or 16). */
void zn_flat_init(struct zn_flat *f, unsigned alen, bool answer, bool unique);
/* Free what f holds; f may be reused after zn_flat_init. */
void zn_flat_cleanup(struct zn_flat *f);

/* Intern a value (at most 64 KiB); *id is its id.  0 or -ENOMEM/-EINVAL. */
int zn_flat_value(struct zn_flat *f, const uint8_t *v, size_t len,
    uint32_t *id);

/*
 * Add a block.  lo <= hi, prio <= ZN_FLAT_MAXPRIO, val an interned id (may
 * be interned later, before zn_flat_run) or ZN_FLAT_EXCL.  For a unique
 * builder, -EEXIST if a block with this lo and prio exists (nothing
 * added).  0, -EEXIST, -EINVAL or -ENOMEM.
 */
int zn_flat_add(struct zn_flat *f, zn_u128 lo, zn_u128 hi, unsigned prio,
    uint32_t val, uint32_t seq);

/*
 * Add an ip4set range as rbldnsd stores it: split on octet boundaries
 * into /32, /24, /16 and /8 pieces (priorities 32, 24, 16, 8), kept as at
 * most seven runs.
 */
int zn_flat_add_ip4set(struct zn_flat *f, uint32_t lo, uint32_t hi,
    uint32_t val, uint32_t seq);

/*
 * Compute the intervals and pass each to emit, in address order.  The
 * blocks are sorted in place; f can be cleaned up afterwards.  0 or a
 * negative errno (from emit, -ENOMEM, or -EINVAL for an unknown value).
 */
int zn_flat_run(struct zn_flat *f, zn_flat_emit_fn emit, void *ctx);

/* The first and last address of the prefix a/bits (bits 0..128). */
void zn_ip6_range(const uint8_t a[16], unsigned bits, zn_u128 *lo, zn_u128 *hi);

/*
 * Helpers shared by the IP dataset types (zone_ip4set.c).  They use the
 * driver (zn_warn, zn_value_parse, zn_ds_add).
 */
struct zn_parser;
struct zn_val;

/* Encode v as a flatten value ("a[4] tkind len txt") and intern it. */
int zn_ip_value_id(struct zn_flat *f, const struct zn_val *v, uint32_t *id);
/* Run f and add its intervals to p's dataset. */
int zn_ip_flat_finish(struct zn_parser *p, struct zn_flat *f);
/* Skip blanks (space, tab); returns the first other character. */
const char *zn_ip_skip_blanks(const char *s);
/* Warn about a key parse error with rbldnsd's wording. */
void zn_ip_key_warn(struct zn_parser *p, int rc);
/* Warn and return false if an IPv4 range of size addresses exceeds
 * $MAXRANGE4. */
bool zn_ip_maxrange_ok(struct zn_parser *p, uint64_t size);

#endif /* ZONES_IP_H */
