/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The signed zone feed (zones/feed.h): the invariant
 * apply(compile(v1), diff(v1, v2)) == compile(v2), byte for byte in the
 * dump and in the digest, on random versions of every dataset type and
 * through snapshots, deltas and composed deltas; every decoder on
 * truncated and corrupted input; manifests, keys, the sync plan's
 * refusals, a full map, publishing and syncing a feed directory, key
 * rotation, and a read view seeing a sync without reopening.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "feed_int.h"
#include "testutil.h"
#include "zones.h"

#define NVER 6

static uint32_t
mix(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t h = a * 0x9e3779b1u ^ b * 0x85ebca77u ^ c * 0xc2b2ae3du;

	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	h *= 0x297a2d39u;
	h ^= h >> 15;
	return h;
}

/* Append printf-style to a growing buffer. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL,
		    b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (b->p != NULL && b->len + n < b->cap)
			break;
		b->cap = (b->cap + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	b->len += n;
}

/* The lines of one random dataset of type t, version v. */
static void
gen_lines(struct sbuf *b, enum zn_dstype t, uint32_t seed, int v, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		uint32_t r = mix(seed, i, 0), pres = mix(seed, i, v + 100);
		unsigned val = 2 + mix(seed, i, v / 2 + 7) % 4;
		unsigned a = 1 + r % 200, bb = (r >> 8) & 255,
		         c = (r >> 16) & 255, d = (r >> 24) & 255;

		if (pres % 8 == 0)
			continue; /* not in this version */
		switch (t) {
		case ZN_IP4SET:
			if (r % 11 == 0)
				sb_printf(b, "!%u.%u.%u.%u\n", a, bb, c, d);
			else if (r % 7 == 0)
				sb_printf(b, "%u.%u.%u.0/24 :%u:net %u\n", a,
				    bb, c, val, val);
			else if (r % 5 == 0)
				sb_printf(b, "%u.%u.%u.%u-%u :%u:range\n", a,
				    bb, c, d / 2, d / 2 + 9, val);
			else
				sb_printf(b, "%u.%u.%u.%u :%u:host $ %u\n", a,
				    bb, c, d, val, val);
			break;
		case ZN_IP4TSET:
			sb_printf(b, "%u.%u.%u.%u\n", a, bb, c, d);
			break;
		case ZN_IP4TRIE:
			if (r % 9 == 0)
				sb_printf(b, "!%u.%u.%u.%u\n", a, bb, c, d);
			else
				sb_printf(b, "%u.%u.%u.0/%u :%u:trie\n", a, bb,
				    c, 20 + r % 5, val);
			break;
		case ZN_IP6TSET:
			if (r % 10 == 0)
				sb_printf(b, "!2001:db8:%x:%x::%x\n", a, bb, d);
			else
				sb_printf(b, "2001:db8:%x:%x\n", a, bb);
			break;
		case ZN_IP6TRIE:
			sb_printf(b, "2001:db8:%x:%x::/64 :%u:six\n", a, bb,
			    val);
			break;
		case ZN_DNSET:
			if (r % 9 == 0)
				sb_printf(b, "!x%u.n%u.example\n", i, a);
			else if (r % 4 == 0)
				sb_printf(b, "*.w%u.example :%u:wild\n", i,
				    val);
			else if (r % 5 == 0)
				sb_printf(b, ".b%u.example :%u\n", i, val);
			else
				sb_printf(b, "n%u.example :%u:name %u\n", i,
				    val, val);
			break;
		case ZN_GENERIC:
			if (r % 3 == 0)
				sb_printf(b, "g%u A 127.0.0.%u\n", i % 50, val);
			else if (r % 3 == 1)
				sb_printf(b, "g%u TXT \"text %u\"\n", i % 50,
				    val);
			else
				sb_printf(b, "g%u MX %u mx%u.example.\n",
				    i % 50, val, i);
			break;
		case ZN_ACL:
			if (r % 3 == 0)
				sb_printf(b, "10.%u.%u.0/24 :refuse\n", bb, c);
			else if (r % 3 == 1)
				sb_printf(b, "10.%u.%u.0/24 :pass\n", bb, c);
			else
				sb_printf(b, "2001:db8:%x::/48 :%u:acl\n", a,
				    val);
			break;
		default:
			fail();
		}
	}
}

/* A whole file of type t, version v (params change now and then). */
static char *
gen_text(enum zn_dstype t, uint32_t seed, int v)
{
	struct sbuf b = { 0 };

	if (t != ZN_ACL) {
		sb_printf(&b, "$TTL %u\n", 300 + (v / 3) * 60);
		if (t != ZN_GENERIC)
			sb_printf(&b, "$1 var%d\n", v / 2);
	}
	if (t == ZN_IP4TSET || t == ZN_IP6TSET)
		sb_printf(&b, ":2:tset $\n");
	if (t == ZN_COMBINED) {
		sb_printf(&b,
		    "$SOA 600 ns.example. hm.example. %d 1h 30m 1w 5m\n"
		    "$NS 600 ns1.example. ns2.example.\n",
		    v / 2 + 1);
		sb_printf(&b, "$DATASET ip4set:four @ sub%d\n", v / 3);
		gen_lines(&b, ZN_IP4SET, seed, v, 120);
		sb_printf(&b, "$DATASET dnset names\n");
		gen_lines(&b, ZN_DNSET, seed + 1, v, 120);
		sb_printf(&b, "$DATASET ip6trie six\n");
		gen_lines(&b, ZN_IP6TRIE, seed + 2, v, 60);
		return b.p;
	}
	gen_lines(&b, t, seed, v, 300);
	if (b.p == NULL)
		sb_printf(&b, "# empty\n");
	return b.p;
}

static struct zn_dataset *
load_text(enum zn_dstype t, const char *text)
{
	struct zn_parse_opts o;
	struct zn_dataset *ds = NULL;
	struct zn_err err;

	memset(&o, 0, sizeof(o));
	o.now = 1800000000;
	if (zn_dataset_load_mem(t, "t.txt", text, strlen(text), &o, &ds,
	        &err) != 0)
		fail_msg("load: %s", err.msg);
	return ds;
}

/* One version of a zone: its datasets as specs and compiled. */
struct ver {
	const char *zone;
	size_t n;
	char *spec[3];
	char *arg[3];
	struct zn_dataset *ds[3];
	struct zn_feed_content c;
};

static void
ver_make(struct ver *v, const char *zone, enum zn_dstype t, uint32_t seed,
    int version)
{
	char *text;

	memset(v, 0, sizeof(*v));
	v->zone = zone;
	text = gen_text(t, seed, version);
	v->ds[0] = load_text(t, text);
	free(text);
	assert_true(asprintf(&v->spec[0], "%s:data.txt", zn_type_name(t)) > 0);
	/* a second dataset: apex records */
	text = gen_text(ZN_GENERIC, seed + 9, version);
	v->ds[1] = load_text(ZN_GENERIC, text);
	free(text);
	v->spec[1] = strdup("generic:apex.txt");
	v->n = 2;
	v->c = (struct zn_feed_content){ zone, v->n, v->spec, v->ds };
}

static void
ver_free(struct ver *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		zn_dataset_free(v->ds[i]);
		free(v->spec[i]);
		free(v->arg[i]);
	}
}

/* The dump of v compiled by zn_db_replace, and its digest. */
static char *
compiled_dump(struct ver *v)
{
	struct zn_spec specs[3];
	struct zn_write_stats st;
	struct zn_db *db;
	struct zn_err err;
	char *dir = tu_tmpdir(), *dump;
	size_t i;

	for (i = 0; i < v->n; i++) {
		char *arg;

		assert_true(asprintf(&arg, "%s:%s", v->zone, v->spec[i]) > 0);
		assert_int_equal(zn_spec_parse(arg, &specs[i], &err), 0);
		free(arg);
	}
	assert_int_equal(zn_db_open(dir, 0, 0, &db, &err), 0);
	assert_int_equal(zn_db_replace(db, specs, v->ds, v->n, &st, &err), 0);
	dump = tu_dump(db);
	zn_db_close(db);
	tu_rmtree(dir);
	free(dir);
	for (i = 0; i < v->n; i++)
		zn_spec_cleanup(&specs[i]);
	return dump;
}

static void
target_of(struct ver *v, uint64_t serial, struct zn_feed_target *t)
{
	struct zn_err err;

	memset(t, 0, sizeof(*t));
	t->serial = serial;
	assert_int_equal(
	    zn_feed_content_digest(&v->c, t->digest, &t->entries, &err), 0);
	t->issued = 1800000000;
	t->expires = 1800086400;
}

/* The mirror holds exactly v: dump and digest. */
static void
assert_mirror_is(struct zn_db *m, struct ver *v, const char *what)
{
	char *want = compiled_dump(v), *got = tu_dump(m);
	uint8_t d1[ZN_DIGEST_BYTES], d2[ZN_DIGEST_BYTES];
	uint64_t n1, n2;
	struct zn_err err;

	if (strcmp(want, got) != 0) {
		print_message("%s: dumps differ\n--- want\n%.2000s\n--- got\n"
		              "%.2000s\n",
		    what, want, got);
		fail();
	}
	assert_int_equal(zn_feed_db_digest(m, v->zone, d1, &n1, &err), 0);
	assert_int_equal(zn_feed_content_digest(&v->c, d2, &n2, &err), 0);
	assert_memory_equal(d1, d2, sizeof(d1));
	assert_int_equal(n1, n2);
	free(want);
	free(got);
}

static void
apply_ok(struct zn_db *db, const char *zone, const uint8_t *s, size_t sl,
    const uint8_t *d, size_t dl, const struct zn_feed_target *t)
{
	struct zn_feed_stats st;
	struct zn_err err;
	int rc =
	    zn_feed_apply_mem(db, zone, s, sl, d, dl, t, 1800000001, &st, &err);

	if (rc != 0)
		fail_msg("apply: %s", err.msg);
	assert_int_equal(st.entries, t->entries);
}

/*
 * Random versions v0..v5 of each type, and a mirror that follows them
 * through every kind of step.
 */
static void
test_invariant(void **state)
{
	static const enum zn_dstype types[] = { ZN_IP4SET, ZN_IP4TSET,
		ZN_IP4TRIE, ZN_IP6TSET, ZN_IP6TRIE, ZN_DNSET, ZN_COMBINED,
		ZN_GENERIC, ZN_ACL };
	size_t ti;
	int round;

	(void)state;
	for (round = 0; round < 2; round++)
		for (ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
			struct ver v[NVER];
			struct zn_feed_target t[NVER];
			struct zn_db *m, *m2;
			struct zn_err err;
			char *dir = tu_tmpdir(), *dir2 = tu_tmpdir();
			uint8_t *snap = NULL, *d01 = NULL, *d12 = NULL,
			        *d23 = NULL, *d13 = NULL, *d35 = NULL,
			        *snap5 = NULL, *d05 = NULL;
			size_t sl, l01, l12, l23, l13, l35, sl5, l05;
			uint32_t seed = 1000 * round + ti * 17 + 3;
			int i;

			for (i = 0; i < NVER; i++) {
				ver_make(&v[i], "t.test", types[ti], seed, i);
				target_of(&v[i], i + 1, &t[i]);
			}
			assert_int_equal(zn_db_open(dir, 0, 0, &m, &err), 0);
			/* snapshot */
			assert_int_equal(zn_feed_snapshot_encode(&v[0].c, 1,
			                     &snap, &sl, &err),
			    0);
			apply_ok(m, "t.test", snap, sl, NULL, 0, &t[0]);
			assert_mirror_is(m, &v[0], "snapshot v0");
			/* a delta */
			assert_int_equal(zn_feed_delta_encode(&v[0].c, 1,
			                     &v[1].c, 2, &d01, &l01, &err),
			    0);
			apply_ok(m, "t.test", NULL, 0, d01, l01, &t[1]);
			assert_mirror_is(m, &v[1], "delta v0-v1");
			/* a composed delta */
			assert_int_equal(zn_feed_delta_encode(&v[1].c, 2,
			                     &v[2].c, 3, &d12, &l12, &err),
			    0);
			assert_int_equal(zn_feed_delta_encode(&v[2].c, 3,
			                     &v[3].c, 4, &d23, &l23, &err),
			    0);
			assert_int_equal(zn_feed_delta_compose(d12, l12, d23,
			                     l23, &d13, &l13, &err),
			    0);
			apply_ok(m, "t.test", NULL, 0, d13, l13, &t[3]);
			assert_mirror_is(m, &v[3], "composed v1-v3");
			/* a snapshot over older data: a merge-join */
			assert_int_equal(zn_feed_snapshot_encode(&v[5].c, 6,
			                     &snap5, &sl5, &err),
			    0);
			apply_ok(m, "t.test", snap5, sl5, NULL, 0, &t[5]);
			assert_mirror_is(m, &v[5], "snapshot v5 over v3");
			/* snapshot v0 + a long delta in one transaction */
			assert_int_equal(zn_db_open(dir2, 0, 0, &m2, &err), 0);
			assert_int_equal(zn_feed_delta_encode(&v[3].c, 4,
			                     &v[5].c, 6, &d35, &l35, &err),
			    0);
			{
				uint8_t *d03 = NULL;
				size_t l03;

				assert_int_equal(zn_feed_delta_compose(d01, l01,
				                     d13, l13, &d03, &l03,
				                     &err),
				    0);
				assert_int_equal(zn_feed_delta_compose(d03, l03,
				                     d35, l35, &d05, &l05,
				                     &err),
				    0);
				free(d03);
			}
			apply_ok(m2, "t.test", snap, sl, d05, l05, &t[5]);
			assert_mirror_is(m2, &v[5],
			    "snapshot v0 + delta v0-v5");
			/* a delta from the wrong state or back in time fails
			 * and changes nothing */
			{
				char *before = tu_dump(m2), *after;
				struct zn_feed_target t7;
				uint8_t *d67 = NULL;
				size_t l67;

				assert_int_equal(zn_feed_apply_mem(m2, "t.test",
				                     NULL, 0, d01, l01, &t[1],
				                     1, NULL, &err),
				    -ESTALE);
				assert_non_null(
				    strstr(err.msg, "refusing to go back"));
				/* serial 6 -> 7, but from v0's content */
				assert_int_equal(zn_feed_delta_encode(&v[0].c,
				                     6, &v[1].c, 7, &d67, &l67,
				                     &err),
				    0);
				target_of(&v[1], 7, &t7);
				assert_int_equal(zn_feed_apply_mem(m2, "t.test",
				                     NULL, 0, d67, l67, &t7, 1,
				                     NULL, &err),
				    -EINVAL);
				assert_non_null(
				    strstr(err.msg, "does not start"));
				after = tu_dump(m2);
				assert_string_equal(before, after);
				free(before);
				free(after);
				free(d67);
			}
			zn_db_close(m);
			zn_db_close(m2);
			tu_rmtree(dir);
			tu_rmtree(dir2);
			free(dir);
			free(dir2);
			free(snap);
			free(snap5);
			free(d01);
			free(d12);
			free(d23);
			free(d13);
			free(d35);
			free(d05);
			for (i = 0; i < NVER; i++)
				ver_free(&v[i]);
		}
}

/* A zone whose datasets change gets no delta. */
static void
test_structure_change(void **state)
{
	struct ver a, b;
	struct zn_err err;
	uint8_t *out = NULL;
	size_t len;

	(void)state;
	ver_make(&a, "t.test", ZN_IP4SET, 5, 0);
	ver_make(&b, "t.test", ZN_DNSET, 5, 1);
	assert_int_equal(
	    zn_feed_delta_encode(&a.c, 1, &b.c, 2, &out, &len, &err), -EXDEV);
	b.n = 1;
	b.c.n = 1;
	assert_int_equal(
	    zn_feed_delta_encode(&a.c, 1, &b.c, 2, &out, &len, &err), -EXDEV);
	b.n = 2;
	ver_free(&a);
	ver_free(&b);
}

/*
 * Every decoder on every truncation and on random corruption: a clear
 * error, never a crash, and a mirror left as it was.
 */
static void
test_decoders(void **state)
{
	struct ver v0, v1;
	struct zn_feed_target t1;
	struct zn_db *m;
	struct zn_err err;
	char *dir = tu_tmpdir(), *before, *after;
	uint8_t *snap, *delta, *buf;
	size_t sl, dl, i;
	uint8_t d0[ZN_DIGEST_BYTES], d[ZN_DIGEST_BYTES];
	uint64_t n0, n;
	unsigned seed = 42;

	(void)state;
	ver_make(&v0, "t.test", ZN_COMBINED, 77, 0);
	ver_make(&v1, "t.test", ZN_COMBINED, 77, 1);
	target_of(&v1, 2, &t1);
	assert_int_equal(zn_feed_snapshot_encode(&v0.c, 1, &snap, &sl, &err),
	    0);
	assert_int_equal(
	    zn_feed_delta_encode(&v0.c, 1, &v1.c, 2, &delta, &dl, &err), 0);
	assert_int_equal(zn_feed_file_check(snap, sl, "snap", NULL, &err), 0);
	assert_int_equal(zn_feed_file_check(delta, dl, "delta", NULL, &err), 0);
	/* truncations: each a clear error naming the offset */
	for (i = 0; i < sl; i++) {
		buf = malloc(i ? i : 1);
		memcpy(buf, snap, i);
		assert_int_equal(zn_feed_file_check(buf, i, "snap", NULL, &err),
		    -EINVAL);
		assert_non_null(strstr(err.msg, "snap"));
		free(buf);
	}
	for (i = 0; i < dl; i++) {
		buf = malloc(i ? i : 1);
		memcpy(buf, delta, i);
		assert_int_equal(
		    zn_feed_file_check(buf, i, "delta", NULL, &err), -EINVAL);
		free(buf);
	}
	/* a trailing byte */
	buf = malloc(sl + 1);
	memcpy(buf, snap, sl);
	buf[sl] = 0;
	assert_int_equal(zn_feed_file_check(buf, sl + 1, "snap", NULL, &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "trailing"));
	free(buf);

	/* every corrupted byte of a snapshot is caught (its digest) */
	buf = malloc(sl);
	for (i = 0; i < sl; i++) {
		memcpy(buf, snap, sl);
		buf[i] ^= 1 + rand_r(&seed) % 255;
		assert_int_not_equal(
		    zn_feed_file_check(buf, sl, "snap", NULL, &err), 0);
	}
	free(buf);

	/* a corrupted delta never applies, and the mirror stays */
	assert_int_equal(zn_db_open(dir, 0, 0, &m, &err), 0);
	{
		struct zn_feed_target t0;

		target_of(&v0, 1, &t0);
		apply_ok(m, "t.test", snap, sl, NULL, 0, &t0);
	}
	before = tu_dump(m);
	assert_int_equal(zn_feed_db_digest(m, "t.test", d0, &n0, &err), 0);
	buf = malloc(dl);
	for (i = 0; i < dl; i++) {
		struct zn_feed_state st;

		memcpy(buf, delta, dl);
		buf[i] ^= 1 + rand_r(&seed) % 255;
		assert_int_not_equal(zn_feed_apply_mem(m, "t.test", NULL, 0,
		                         buf, dl, &t1, 5, NULL, &err),
		    0);
		assert_int_equal(zn_feed_db_digest(m, "t.test", d, &n, &err),
		    0);
		assert_memory_equal(d, d0, sizeof(d));
		assert_int_equal(zn_feed_state_get(m, "t.test", &st, &err), 0);
		assert_int_equal(st.serial, 1);
		if (i % 97 == 0) {
			after = tu_dump(m);
			assert_string_equal(before, after);
			free(after);
		}
	}
	free(buf);
	/* and the real one does */
	apply_ok(m, "t.test", NULL, 0, delta, dl, &t1);
	assert_mirror_is(m, &v1, "after the corruptions");
	free(before);
	zn_db_close(m);
	tu_rmtree(dir);
	free(dir);
	free(snap);
	free(delta);
	ver_free(&v0);
	ver_free(&v1);
}

static char *
keypair(const char *dir, const char *name, struct zn_feed_pubkey *pk,
    struct zn_feed_seckey **sk)
{
	char pub[512], *sec;
	uint8_t id[ZN_FEED_KEYID_LEN];
	struct zn_err err;

	snprintf(pub, sizeof(pub), "%s/%s.pub", dir, name);
	assert_true(asprintf(&sec, "%s/%s.sec", dir, name) > 0);
	if (zn_feed_keygen(pub, sec, id, &err) != 0)
		fail_msg("keygen: %s", err.msg);
	assert_int_equal(zn_feed_pubkey_load(pub, pk, &err), 0);
	assert_memory_equal(pk->id, id, sizeof(id));
	if (sk != NULL)
		assert_int_equal(zn_feed_seckey_load(sec, sk, &err), 0);
	return sec;
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void
test_keys(void **state)
{
	char *dir = tu_tmpdir(), *sec, path[512], *text;
	struct zn_feed_pubkey pk, pk2;
	struct zn_feed_seckey *sk = NULL;
	struct zn_err err;
	struct stat st;
	uint8_t id[ZN_FEED_KEYID_LEN];
	FILE *f;
	size_t len, i;

	(void)state;
	sec = keypair(dir, "k", &pk, &sk);
	assert_int_equal(stat(sec, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	zn_feed_seckey_public(sk, &pk2);
	assert_memory_equal(&pk, &pk2, sizeof(pk));
	/* never overwrites */
	snprintf(path, sizeof(path), "%s/k.pub", dir);
	assert_int_equal(zn_feed_keygen(path, sec, id, &err), -EEXIST);
	/* a readable secret key is refused */
	assert_int_equal(chmod(sec, 0640), 0);
	zn_feed_seckey_free(sk);
	assert_int_equal(zn_feed_seckey_load(sec, &sk, &err), -EPERM);
	assert_non_null(strstr(err.msg, "chmod 600"));
	assert_int_equal(chmod(sec, 0600), 0);
	/* every truncation of the public key file is an error */
	f = fopen(path, "r");
	assert_non_null(f);
	text = calloc(1, 4096);
	len = fread(text, 1, 4095, f);
	fclose(f);
	for (i = 0; i + 1 < len; i++) {
		char p2[512];

		snprintf(p2, sizeof(p2), "%s/t.pub", dir);
		write_file(p2, text, i);
		assert_int_not_equal(zn_feed_pubkey_load(p2, &pk2, &err), 0);
	}
	/* a changed key no longer matches its id */
	{
		char p2[512], *kl = strstr(text, "resolverd-feed-pubkey");

		kl[strlen(kl) - 3] = kl[strlen(kl) - 3] == '0' ? '1' : '0';
		snprintf(p2, sizeof(p2), "%s/t.pub", dir);
		write_file(p2, text, len);
		assert_int_equal(zn_feed_pubkey_load(p2, &pk2, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "does not match"));
	}
	free(text);
	free(sec);
	tu_rmtree(dir);
	free(dir);
}

static void
make_manifest(struct zn_feed_manifest *m, const char *zone, uint64_t serial)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->zone, sizeof(m->zone), "%s", zone);
	m->serial = serial;
	m->issued = 1800000000;
	m->expires = 1800086400;
	m->entries = 12;
	memset(m->digest, 0xab, sizeof(m->digest));
	m->snapshot = (struct zn_feed_file){ 1, 1, 100, { 1 } };
}

static void
test_manifest(void **state)
{
	char *dir = tu_tmpdir(), *sec, *sec2, *text;
	struct zn_feed_pubkey pk, pk2, both[2];
	struct zn_feed_seckey *sk, *sk2;
	struct zn_feed_manifest m, got;
	struct zn_feed_file deltas[2] = { { 1, 3, 55, { 2 } },
		{ 2, 3, 44, { 3 } } };
	struct zn_err err;
	size_t len, i;
	unsigned seed = 7;

	(void)state;
	sec = keypair(dir, "a", &pk, &sk);
	sec2 = keypair(dir, "b", &pk2, &sk2);
	make_manifest(&m, "bl.test", 3);
	m.deltas = deltas;
	m.ndeltas = 2;
	assert_int_equal(zn_feed_manifest_sign(&m, sk, &text, &len, &err), 0);
	assert_int_equal(
	    zn_feed_manifest_verify((uint8_t *)text, len, &pk, 1, &got, &err),
	    0);
	assert_string_equal(got.zone, "bl.test");
	assert_int_equal(got.serial, 3);
	assert_int_equal(got.ndeltas, 2);
	assert_int_equal(got.deltas[1].from, 2);
	assert_int_equal(got.deltas[1].size, 44);
	assert_memory_equal(got.digest, m.digest, sizeof(m.digest));
	zn_feed_manifest_cleanup(&got);
	/* another key: refused, naming the key */
	assert_int_equal(
	    zn_feed_manifest_verify((uint8_t *)text, len, &pk2, 1, &got, &err),
	    -EPERM);
	assert_non_null(strstr(err.msg, "not a trusted key"));
	/* two trusted keys: either signs */
	both[0] = pk2;
	both[1] = pk;
	assert_int_equal(
	    zn_feed_manifest_verify((uint8_t *)text, len, both, 2, &got, &err),
	    0);
	zn_feed_manifest_cleanup(&got);
	/* every truncation and every changed byte is refused */
	for (i = 0; i < len; i++)
		assert_int_not_equal(zn_feed_manifest_verify((uint8_t *)text, i,
		                         &pk, 1, &got, &err),
		    0);
	for (i = 0; i < len; i++) {
		char *c = malloc(len);

		memcpy(c, text, len);
		c[i] ^= 1 + rand_r(&seed) % 255;
		assert_int_not_equal(zn_feed_manifest_verify((uint8_t *)c, len,
		                         &pk, 1, &got, &err),
		    0);
		free(c);
	}
	/* a body that is not canonical is refused even if it were signed */
	{
		static const char *const bad[] = {
			"resolverd-feed 1\nzone bl.test\nserial 03\n",
			"resolverd-feed 2\nzone bl.test\nserial 3\n",
			"resolverd-feed 1\nzone BL.test\nserial 3\n",
		};
		for (i = 0; i < 3; i++) {
			char *t2;

			assert_true(asprintf(&t2,
			                "%sissued 1\nexpires 2\nkey "
			                "0000000000000000\nentries 0\ndigest "
			                "%064d\nsnapshot 1 1 %064d\nsignature "
			                "0000000000000000 %0128d\n",
			                bad[i], 0, 0, 0) > 0);
			assert_int_equal(
			    fd_manifest_parse_unverified((uint8_t *)t2,
			        strlen(t2), &got, &err),
			    -EINVAL);
			assert_non_null(strstr(err.msg, "line"));
			free(t2);
		}
	}
	free(text);
	/* a head past the snapshot needs the delta from it */
	m.snapshot.to = m.snapshot.from = 2;
	m.ndeltas = 0;
	assert_int_equal(zn_feed_manifest_sign(&m, sk, &text, &len, &err),
	    -EINVAL);
	zn_feed_seckey_free(sk);
	zn_feed_seckey_free(sk2);
	free(sec);
	free(sec2);
	tu_rmtree(dir);
	free(dir);
}

/* Replace meta record tag+text with val (or delete it when val is NULL). */
static void
meta_poke(struct zn_db *db, char tag, const char *text, void *val, size_t len)
{
	char kb[300];
	MDB_val key, v = { len, val };
	MDB_txn *txn;

	kb[0] = tag;
	memcpy(kb + 1, text, strlen(text));
	key = (MDB_val){ strlen(text) + 1, kb };
	assert_int_equal(mdb_txn_begin(db->env, NULL, 0, &txn), 0);
	if (val != NULL)
		assert_int_equal(mdb_put(txn, db->meta, &key, &v, 0), 0);
	else
		assert_int_equal(mdb_del(txn, db->meta, &key, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

/*
 * zn_feed_plan on a mirror of t.test at serial 4 (feed state present):
 * a digest that cannot be read (damaged zone record) fails the plan with
 * a clear message and the state unchanged; a zone that is simply not
 * stored (record gone) means "fetch the snapshot".
 */
static void
plan_damaged(struct zn_db *db, const struct zn_feed_manifest *m, int64_t now)
{
	const struct zn_feed_file *files[2];
	struct zn_feed_state cur, st;
	struct zn_err err;
	MDB_val key, val;
	MDB_txn *txn;
	uint8_t *save, bad[3] = { 0, 0, 9 };
	size_t nf = 7, len;
	char kb[] = "Zt.test";

	key = (MDB_val){ strlen(kb), kb };
	assert_int_equal(mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_get(txn, db->meta, &key, &val), 0);
	len = val.mv_size;
	save = malloc(len);
	assert_non_null(save);
	memcpy(save, val.mv_data, len);
	mdb_txn_abort(txn);
	assert_int_equal(zn_feed_state_get(db, "t.test", &st, &err), 0);

	meta_poke(db, 'Z', "t.test", bad, sizeof(bad));
	assert_int_equal(
	    zn_feed_plan(db, m, "t.test", now, 300, files, &nf, &cur, &err),
	    -EIO);
	assert_int_equal(nf, 0);
	assert_non_null(strstr(err.msg, "cannot read its digest"));
	assert_non_null(strstr(err.msg, "damaged record"));
	assert_int_equal(zn_feed_state_get(db, "t.test", &cur, &err), 0);
	assert_memory_equal(&cur, &st, sizeof(st));

	/* not stored at all: not in sync, the snapshot is planned */
	meta_poke(db, 'Z', "t.test", NULL, 0);
	assert_int_equal(
	    zn_feed_plan(db, m, "t.test", now, 300, files, &nf, &cur, &err), 0);
	assert_int_equal(cur.serial, 4);
	assert_true(nf >= 1);
	assert_ptr_equal(files[0], &m->snapshot);
	meta_poke(db, 'Z', "t.test", save, len);
	free(save);
}

/* The refusals of zn_feed_plan, and what it picks. */
static void
test_plan(void **state)
{
	struct ver v;
	struct zn_feed_target t;
	struct zn_feed_manifest m;
	struct zn_feed_state cur;
	const struct zn_feed_file *files[2];
	struct zn_feed_file deltas[2] = { { 2, 5, 10, { 0 } },
		{ 4, 5, 10, { 0 } } };
	struct zn_db *db;
	struct zn_err err;
	char *dir = tu_tmpdir();
	uint8_t *snap;
	size_t sl, nf;
	int64_t now = 1800000100;

	(void)state;
	ver_make(&v, "t.test", ZN_IP4SET, 11, 0);
	target_of(&v, 4, &t);
	assert_int_equal(zn_db_open(dir, 0, 0, &db, &err), 0);
	make_manifest(&m, "t.test", 5);
	m.deltas = deltas;
	m.ndeltas = 2;
	m.snapshot = (struct zn_feed_file){ 2, 2, 10, { 0 } };
	/* empty mirror: the snapshot and the delta from it */
	assert_int_equal(
	    zn_feed_plan(db, &m, "t.test", now, 300, files, &nf, &cur, &err),
	    0);
	assert_int_equal(nf, 2);
	assert_ptr_equal(files[0], &m.snapshot);
	assert_ptr_equal(files[1], &deltas[0]);
	/* at serial 4: the one delta */
	assert_int_equal(zn_feed_snapshot_encode(&v.c, 4, &snap, &sl, &err), 0);
	apply_ok(db, "t.test", snap, sl, NULL, 0, &t);
	assert_int_equal(
	    zn_feed_plan(db, &m, "t.test", now, 300, files, &nf, &cur, &err),
	    0);
	assert_int_equal(cur.serial, 4);
	assert_int_equal(nf, 1);
	assert_ptr_equal(files[0], &deltas[1]);
	/* refusals */
	assert_int_equal(zn_feed_plan(db, &m, "other.test", now, 300, files,
	                     &nf, &cur, &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "not other.test"));
	assert_int_equal(zn_feed_plan(db, &m, "t.test", m.issued - 301, 300,
	                     files, &nf, &cur, &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "future"));
	assert_int_equal(zn_feed_plan(db, &m, "t.test", m.expires, 300, files,
	                     &nf, &cur, &err),
	    -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "expired"));
	m.serial = 3;
	assert_int_equal(
	    zn_feed_plan(db, &m, "t.test", now, 300, files, &nf, &cur, &err),
	    -ESTALE);
	assert_non_null(strstr(err.msg, "rollback"));
	/* same serial, same digest: current */
	m.serial = 4;
	memcpy(m.digest, t.digest, sizeof(m.digest));
	m.snapshot = (struct zn_feed_file){ 4, 4, 10, { 0 } };
	m.ndeltas = 0;
	assert_int_equal(
	    zn_feed_plan(db, &m, "t.test", now, 300, files, &nf, &cur, &err),
	    0);
	assert_int_equal(nf, 0);
	/* same serial, other digest: the publisher's history changed */
	m.digest[0] ^= 1;
	assert_int_equal(
	    zn_feed_plan(db, &m, "t.test", now, 300, files, &nf, &cur, &err),
	    -EINVAL);
	m.digest[0] ^= 1;
	/* a damaged zone record: the sync fails, no snapshot is planned */
	m.serial = 5;
	plan_damaged(db, &m, now);
	zn_db_close(db);
	tu_rmtree(dir);
	free(dir);
	free(snap);
	ver_free(&v);
}

/*
 * The daemon's import (zn_db_replace_keep, ZN_REPLACE_ALL) when a zone
 * switches between mode = feed (keep) and datasets (specs): a synced
 * feed zone is kept; switched to datasets it loses its feed state;
 * switched back, the datasets' data is dropped (never synced: SERVFAIL
 * until zonesync writes it).
 */
static void
test_keep_switch(void **state)
{
	struct ver v;
	struct zn_feed_target t;
	struct zn_feed_state fs;
	struct zn_write_stats st;
	struct zn_spec sp;
	struct zn_dataset *ds;
	struct zn_db *db;
	struct zn_err err;
	const char *keep[] = { "t.test" };
	char *dir = tu_tmpdir();
	uint8_t *snap, d[ZN_DIGEST_BYTES];
	uint64_t nent;
	size_t sl;

	(void)state;
	ver_make(&v, "t.test", ZN_IP4SET, 21, 0);
	target_of(&v, 1, &t);
	assert_int_equal(zn_db_open(dir, 0, 0, &db, &err), 0);
	assert_int_equal(zn_feed_snapshot_encode(&v.c, 1, &snap, &sl, &err), 0);
	apply_ok(db, "t.test", snap, sl, NULL, 0, &t);
	/* a synced feed zone: kept, with its state */
	assert_int_equal(zn_db_replace_keep(db, NULL, NULL, 0, ZN_REPLACE_ALL,
	                     keep, 1, &st, &err),
	    0);
	assert_int_equal(st.zones_dropped, 0);
	assert_int_equal(zn_feed_state_get(db, "t.test", &fs, &err), 0);
	assert_int_equal(fs.serial, 1);
	/* switched to a dataset: its data, no feed state */
	assert_int_equal(zn_spec_parse("t.test:ip4set:x.txt", &sp, &err), 0);
	ds = load_text(ZN_IP4SET, "10.0.0.3\n");
	assert_int_equal(zn_db_replace_keep(db, &sp, &ds, 1, ZN_REPLACE_ALL,
	                     NULL, 0, &st, &err),
	    0);
	assert_true(st.changed);
	assert_int_equal(zn_feed_state_get(db, "t.test", &fs, &err), -ENOENT);
	assert_int_equal(zn_feed_db_digest(db, "t.test", d, &nent, &err), 0);
	assert_int_equal(nent, 1);
	/* the same import again: nothing to change */
	assert_int_equal(zn_db_replace_keep(db, &sp, &ds, 1, ZN_REPLACE_ALL,
	                     NULL, 0, &st, &err),
	    0);
	assert_false(st.changed);
	/* switched back to mode = feed: never synced, the data is dropped */
	assert_int_equal(zn_db_replace_keep(db, NULL, NULL, 0, ZN_REPLACE_ALL,
	                     keep, 1, &st, &err),
	    0);
	assert_int_equal(st.zones_dropped, 1);
	assert_int_equal(zn_feed_db_digest(db, "t.test", d, &nent, &err),
	    -ENOENT);
	/* the first sync writes it, and the next import keeps it */
	apply_ok(db, "t.test", snap, sl, NULL, 0, &t);
	assert_int_equal(zn_db_replace_keep(db, NULL, NULL, 0, ZN_REPLACE_ALL,
	                     keep, 1, &st, &err),
	    0);
	assert_int_equal(st.zones_dropped, 0);
	assert_int_equal(zn_feed_db_digest(db, "t.test", d, &nent, &err), 0);
	assert_memory_equal(d, t.digest, ZN_DIGEST_LEN);
	zn_dataset_free(ds);
	zn_spec_cleanup(&sp);
	zn_db_close(db);
	tu_rmtree(dir);
	free(dir);
	free(snap);
	ver_free(&v);
}

/* LMDB's map full: an error, and nothing changed. */
static void
test_map_full(void **state)
{
	struct zn_feed_target t;
	struct zn_db *db;
	struct zn_err err;
	struct zn_feed_state st;
	struct sbuf b = { 0 };
	struct zn_dataset *ds;
	char *dir = tu_tmpdir(), *spec = strdup("ip4set:big.txt");
	struct zn_feed_content c = { "t.test", 1, &spec, &ds };
	uint8_t *snap;
	size_t sl;
	int i;

	(void)state;
	for (i = 0; i < 20000; i++)
		sb_printf(&b, "10.%d.%d.%d :2:reason %d\n", i >> 16,
		    (i >> 8) & 255, i & 255, i % 50);
	ds = load_text(ZN_IP4SET, b.p);
	free(b.p);
	assert_int_equal(zn_feed_snapshot_encode(&c, 1, &snap, &sl, &err), 0);
	memset(&t, 0, sizeof(t));
	t.serial = 1;
	assert_int_equal(zn_feed_content_digest(&c, t.digest, &t.entries, &err),
	    0);
	t.expires = 2;
	assert_int_equal(zn_db_open(dir, 0, 128 * 1024, &db, &err), 0);
	assert_int_equal(zn_feed_apply_mem(db, "t.test", snap, sl, NULL, 0, &t,
	                     1, NULL, &err),
	    -ENOSPC);
	assert_non_null(strstr(err.msg, "database full"));
	assert_int_equal(zn_feed_state_get(db, "t.test", &st, &err), -ENOENT);
	assert_int_equal(
	    zn_feed_db_digest(db, "t.test", t.digest, &t.entries, &err),
	    -ENOENT);
	zn_db_close(db);
	tu_rmtree(dir);
	free(dir);
	free(snap);
	free(spec);
	zn_dataset_free(ds);
}

/* Publish versions into a feed directory and sync from it. */
static int
sync_dir(struct zn_db *db, const char *feed, const char *zone,
    const struct zn_feed_pubkey *keys, size_t nkeys, int64_t now,
    size_t *nfiles, struct zn_err *err)
{
	struct zn_feed_manifest m;
	struct zn_feed_state cur;
	const struct zn_feed_file *files[2];
	char path[1024];
	uint8_t *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s/manifest", feed, zone);
	f = fopen(path, "r");
	assert_non_null(f);
	buf = malloc(ZN_FEED_MANIFEST_MAX);
	len = fread(buf, 1, ZN_FEED_MANIFEST_MAX, f);
	fclose(f);
	rc = zn_feed_manifest_verify(buf, len, keys, nkeys, &m, err);
	free(buf);
	if (rc != 0)
		return rc;
	rc = zn_feed_plan(db, &m, zone, now, 300, files, nfiles, &cur, err);
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/%s", feed, zone);
		rc = zn_feed_apply_files(db, &m, path, files, *nfiles, now,
		    NULL, err);
	}
	zn_feed_manifest_cleanup(&m);
	return rc;
}

static void
test_publish_sync(void **state)
{
	char *dir = tu_tmpdir(), *sec, *sec2, feed[512], mdir[512], zdir[600];
	struct zn_feed_pubkey pk, pk2, both[2];
	struct zn_feed_seckey *sk, *sk2;
	struct zn_feed_pubopts o;
	struct zn_feed_pubres r;
	struct zn_feed_verify vr;
	struct ver v[5];
	struct zn_db *m, *m2;
	struct zn_view *view;
	struct zn_err err;
	size_t nf;
	int64_t now = 1800000000;
	int i;

	(void)state;
	sec = keypair(dir, "a", &pk, &sk);
	sec2 = keypair(dir, "b", &pk2, &sk2);
	snprintf(feed, sizeof(feed), "%s/feed", dir);
	snprintf(mdir, sizeof(mdir), "%s/mirror", dir);
	memset(&o, 0, sizeof(o));
	o.dir = feed;
	o.sk = sk;
	o.keep = 8;
	o.lifetime = 3600;
	o.issued = now;
	o.snapshot_share = 0; /* only the first version gets a snapshot */
	for (i = 0; i < 5; i++)
		ver_make(&v[i], "t.test", ZN_IP4SET, 31, i);
	assert_int_equal(zn_db_open(mdir, 0, 0, &m, &err), 0);
	assert_int_equal(zn_view_open(m, &view, &err), 0);
	for (i = 0; i < 4; i++) {
		if (zn_feed_publish(&o, &v[i].c, &r, &err) != 0)
			fail_msg("publish: %s", err.msg);
		assert_int_equal(r.serial, i + 1);
		assert_true(r.changed);
		assert_int_equal(r.snapshot, i == 0);
		snprintf(zdir, sizeof(zdir), "%s/t.test", feed);
		assert_int_equal(
		    zn_feed_verify_zone(zdir, "t.test", &pk, 1, now, &vr, &err),
		    0);
		assert_int_equal(vr.serial, i + 1);
		if (i == 1)
			continue; /* the mirror skips a version */
		if (sync_dir(m, feed, "t.test", &pk, 1, now + 1, &nf, &err))
			fail_msg("sync: %s", err.msg);
		assert_int_equal(nf, 1);
		assert_mirror_is(m, &v[i], "synced");
		/* the open view sees the new data on its next refresh */
		assert_int_equal(zn_view_refresh(view, &err), 1);
	}
	/* unchanged content: same serial, manifest signed anew */
	o.issued = now + 10;
	assert_int_equal(zn_feed_publish(&o, &v[3].c, &r, &err), 0);
	assert_false(r.changed);
	assert_int_equal(r.serial, 4);
	assert_int_equal(
	    sync_dir(m, feed, "t.test", &pk, 1, now + 11, &nf, &err), 0);
	assert_int_equal(nf, 0);
	/* a fresh mirror: snapshot + delta */
	snprintf(mdir, sizeof(mdir), "%s/mirror2", dir);
	assert_int_equal(zn_db_open(mdir, 0, 0, &m2, &err), 0);
	assert_int_equal(
	    sync_dir(m2, feed, "t.test", &pk, 1, now + 11, &nf, &err), 0);
	assert_int_equal(nf, 2);
	assert_mirror_is(m2, &v[3], "fresh mirror");
	/* key rotation: the next version is signed by b */
	o.sk = sk2;
	o.issued = now + 20;
	o.snapshot_share = 0.001; /* the delta is larger than that */
	assert_int_equal(zn_feed_publish(&o, &v[4].c, &r, &err), 0);
	assert_int_equal(r.serial, 5);
	assert_true(r.snapshot);
	assert_int_equal(
	    sync_dir(m2, feed, "t.test", &pk, 1, now + 21, &nf, &err), -EPERM);
	assert_mirror_is(m2, &v[3], "unknown key refused");
	both[0] = pk;
	both[1] = pk2;
	assert_int_equal(
	    sync_dir(m2, feed, "t.test", both, 2, now + 21, &nf, &err), 0);
	assert_mirror_is(m2, &v[4], "after the key roll");
	/* expired */
	assert_int_equal(
	    sync_dir(m, feed, "t.test", both, 2, now + 20 + 3600, &nf, &err),
	    -ETIMEDOUT);
	assert_mirror_is(m, &v[3], "expired refused");
	zn_view_close(view);
	zn_db_close(m);
	zn_db_close(m2);
	for (i = 0; i < 5; i++)
		ver_free(&v[i]);
	zn_feed_seckey_free(sk);
	zn_feed_seckey_free(sk2);
	free(sec);
	free(sec2);
	tu_rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invariant),
		cmocka_unit_test(test_structure_change),
		cmocka_unit_test(test_decoders),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_keep_switch),
		cmocka_unit_test(test_map_full),
		cmocka_unit_test(test_publish_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
