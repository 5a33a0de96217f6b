/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The LMDB layer on hand-built canonical datasets: writing, diffs against
 * what is stored, the apply(compile(v1), diff) == compile(v2) invariant,
 * a full map, and lookups (IP intervals, names, wildcards, ENTs, combined
 * subzones, acl).
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
#include <unistd.h>

#include <cmocka.h>

#include "parse_int.h"
#include "testutil.h"
#include "zones.h"

static void
spec(struct zn_spec *s, const char *arg)
{
	struct zn_err err;

	assert_int_equal(zn_spec_parse(arg, s, &err), 0);
}

struct res {
	unsigned flags;
	struct zn_rendered out;
	struct zn_result r;
};

static void
look(struct zn_db *db, const char *name, struct res *res)
{
	struct zn_view *v;
	struct zn_err err;
	struct zn_qname q;
	const struct zn_zone *z;
	unsigned nkey;

	assert_int_equal(zn_view_open(db, &v, &err), 0);
	assert_int_equal(zn_qname_from_text(&q, name), 0);
	z = zn_view_match(v, &q, &nkey);
	assert_non_null(z);
	assert_int_equal(zn_lookup(v, z, &q, nkey, &res->r), 0);
	res->flags = res->r.flags;
	zn_result_render(&res->r, 2100, &res->out);
	zn_view_close(v);
}

static void
test_ip4(void **state)
{
	char *d = tu_tmpdir();
	struct zn_db *db;
	struct zn_err err;
	struct zn_dataset *ds = tu_new_ds(ZN_IP4SET);
	struct res r;

	(void)state;
	tu_add_ip4(ds, 0x7f000002, 0x7f000002, 0x7f000002, "listed $");
	tu_add_ip4(ds, 0x0a000000, 0x0a00ffff, 0x7f000003, NULL);
	ds->ttl = 600;
	assert_int_equal(zn_db_open(d, 0, 0, &db, &err), 0);
	assert_int_equal(tu_replace1(db, "bl.test:ip4set:f1", ds), 0);

	look(db, "2.0.0.127.bl.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	assert_int_equal(r.out.na, 1);
	assert_int_equal(r.out.a[0], 0x7f000002);
	assert_int_equal(r.out.a_ttl, 600);
	assert_int_equal(r.out.ntxt, 1);
	assert_memory_equal(r.out.txt[0], "listed 127.0.0.2", 16);

	look(db, "3.0.0.127.BL.TEST.", &r);
	assert_int_equal(r.flags, 0);
	look(db, "0.0.127.bl.test", &r);
	assert_int_equal(r.flags, ZN_R_ENT);
	look(db, "128.bl.test", &r);
	assert_int_equal(r.flags, 0);
	look(db, "7.9.0.10.bl.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	assert_int_equal(r.out.a[0], 0x7f000003);
	assert_int_equal(r.out.ntxt, 0);
	look(db, "0.0.1.10.bl.test", &r);
	assert_int_equal(r.flags, 0);
	look(db, "bl.test", &r);
	assert_int_equal(r.flags, ZN_R_EXISTS);
	look(db, "x.2.0.0.127.bl.test", &r);
	assert_int_equal(r.flags, 0);
	look(db, "256.0.0.127.bl.test", &r);
	assert_int_equal(r.flags, 0);
	/* v4-mapped ::ffff:127.0.0.2 goes to the IPv4 dataset */
	look(db,
	    "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "bl.test",
	    &r);
	assert_int_equal(r.flags, ZN_R_LISTED);

	zn_dataset_free(ds);
	zn_db_close(db);
	tu_rmtree(d);
	free(d);
}

static void
test_names(void **state)
{
	char *d = tu_tmpdir();
	struct zn_db *db;
	struct zn_err err;
	struct zn_dataset *ds = tu_new_ds(ZN_DNSET);
	struct res r;

	(void)state;
	tu_add_name(ds, "exact.example", ZN_NAME_EXACT, 0x7f000002, "e $",
	    false);
	tu_add_name(ds, "both.example", ZN_NAME_EXACT, 0x7f000003, "b $",
	    false);
	tu_add_name(ds, "both.example", ZN_NAME_WILD, 0x7f000003, "b $", false);
	tu_add_name(ds, "ok.both.example", ZN_NAME_EXACT, 0, NULL, true);
	tu_add_name(ds, "wild.example", ZN_NAME_WILD, 0x7f000004, "w $", false);
	tu_add_name(ds, "a.b.c.deep.example", ZN_NAME_EXACT, 0x7f000005, NULL,
	    false);
	assert_int_equal(zn_db_open(d, 0, 0, &db, &err), 0);
	assert_int_equal(tu_replace1(db, "dbl.test:dnset:names", ds), 0);

	look(db, "exact.example.dbl.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	assert_memory_equal(r.out.txt[0], "e exact.example", 15);
	look(db, "x.exact.example.dbl.test", &r);
	assert_int_equal(r.flags, 0);
	look(db, "y.ok.both.example.dbl.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	assert_memory_equal(r.out.txt[0], "b both.example", 14);
	look(db, "ok.both.example.dbl.test", &r);
	assert_int_equal(r.flags & ZN_R_LISTED, 0);
	look(db, "wild.example.dbl.test", &r);
	assert_int_equal(r.flags, ZN_R_ENT);
	look(db, "q.r.wild.example.dbl.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	assert_int_equal(r.out.a[0], 0x7f000004);
	look(db, "deep.example.dbl.test", &r);
	assert_int_equal(r.flags, ZN_R_ENT);
	look(db, "b.c.deep.example.dbl.test", &r);
	assert_int_equal(r.flags, ZN_R_ENT);
	look(db, "example.dbl.test", &r);
	assert_int_equal(r.flags, ZN_R_ENT);
	look(db, "other.test.dbl.test", &r);
	assert_int_equal(r.flags, 0);

	zn_dataset_free(ds);
	zn_db_close(db);
	tu_rmtree(d);
	free(d);
}

/* Parse text as a dataset of type t, as zonetool compile does. */
static struct zn_dataset *
parse_ds(enum zn_dstype t, const char *text)
{
	struct zn_dataset *ds = NULL;
	struct zn_parse_opts o;
	struct zn_err err;

	memset(&o, 0, sizeof(o));
	assert_int_equal(
	    zn_dataset_load_mem(t, "t", text, strlen(text), &o, &ds, &err), 0);
	return ds;
}

static void
look_client(struct zn_db *db, const char *name, int acl,
    const struct zn_resval *aclval, struct res *res)
{
	struct zn_view *v;
	struct zn_err err;
	struct zn_qname q;
	const struct zn_zone *z;
	unsigned nkey;

	assert_int_equal(zn_view_open(db, &v, &err), 0);
	assert_int_equal(zn_qname_from_text(&q, name), 0);
	z = zn_view_match(v, &q, &nkey);
	assert_non_null(z);
	assert_int_equal(zn_lookup_client(v, z, &q, nkey, acl, aclval, &res->r),
	    0);
	res->flags = res->r.flags;
	zn_result_render(&res->r, 2100, &res->out);
	zn_view_close(v);
}

static bool
has_txt(const struct res *r, const char *txt)
{
	size_t i;

	for (i = 0; i < r->out.ntxt; i++)
		if (r->out.tlen[i] == strlen(txt) &&
		    memcmp(r->out.txt[i], txt, r->out.tlen[i]) == 0)
			return true;
	return false;
}

#define MAPPED_1234 \
	"4.0.3.0.2.0.1.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"
#define SIXTOFOUR_1234 \
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.0.3.0.2.0.1.0.2.0.0.2"

/*
 * rbldnsd's combined semantics (REFERENCE 4.6, 4.9): the most specific
 * subzone answers alone, its apex exists, "$" is relative to it, and
 * 6to4 / v4-mapped names read per subzone, each dataset with its own
 * subject.
 */
static void
test_combined_lookups(void **state)
{
	char *d = tu_tmpdir();
	struct zn_db *db;
	struct zn_err err;
	struct zn_dataset *ds[1];
	const char *specs[1] = { "c.test:combined:comb" };
	struct res r;

	(void)state;
	ds[0] = parse_ds(ZN_COMBINED,
	    "$DATASET ip4set @\n"
	    "1.2.3.4 :2:apex $\n"
	    "$DATASET ip4set sub\n"
	    "1.2.3.4 :3:sub $\n"
	    "$DATASET dnset @\n"
	    ".sub :4:dn-apex $\n"
	    "$DATASET dnset sub\n"
	    "foo :5:dn-sub $\n"
	    "$DATASET dnset both @\n"
	    ".www :6:name=$\n"
	    "$DATASET ip4set v4\n"
	    "1.2.3.4 :7:v4 $\n"
	    "$DATASET ip6trie six v4\n"
	    "::ffff:0:0/96 :8:v6 $\n"
	    "2002::/16 :9:6to4 $\n");
	assert_int_equal(zn_db_open(d, 0, 0, &db, &err), 0);
	assert_int_equal(tu_replace(db, specs, ds, 1), 0);

	look(db, "4.3.2.1.sub.c.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	assert_int_equal(r.out.na, 1);
	assert_int_equal(r.out.a[0], 0x7f000003);
	assert_true(has_txt(&r, "sub 1.2.3.4"));
	look(db, "foo.sub.c.test", &r);
	assert_int_equal(r.out.na, 1);
	assert_true(has_txt(&r, "dn-sub foo"));
	/* "@"'s ".sub" does not answer below the subzone */
	look(db, "bar.sub.c.test", &r);
	assert_int_equal(r.flags, 0);
	look(db, "sub.c.test", &r);
	assert_int_equal(r.flags, ZN_R_EXISTS);
	look(db, "4.3.2.1.c.test", &r);
	assert_true(has_txt(&r, "apex 1.2.3.4"));
	look(db, "x.www.both.c.test", &r);
	assert_true(has_txt(&r, "name=www"));
	/* no IPv4 data in "six": a v4-mapped name is IPv6 there */
	look(db, MAPPED_1234 ".six.c.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	assert_true(has_txt(&r, "v6 ::ffff:102:304"));
	/* with IPv4 data in "v4": IPv4 only */
	look(db, MAPPED_1234 ".v4.c.test", &r);
	assert_int_equal(r.out.na, 1);
	assert_true(has_txt(&r, "v4 1.2.3.4"));
	/* 6to4: both, each with its own subject */
	look(db, SIXTOFOUR_1234 ".v4.c.test", &r);
	assert_int_equal(r.out.na, 2);
	assert_true(has_txt(&r, "v4 1.2.3.4"));
	assert_true(has_txt(&r, "6to4 2002:102:304::1"));
	look(db, SIXTOFOUR_1234 ".six.c.test", &r);
	assert_int_equal(r.out.na, 1);
	assert_true(has_txt(&r, "6to4 2002:102:304::1"));

	zn_dataset_free(ds[0]);
	zn_db_close(db);
	tu_rmtree(d);
	free(d);
}

/* zn_lookup_client: rbldnsd's "empty" and "always listed" (4.10). */
static void
test_acl_lookups(void **state)
{
	char *d = tu_tmpdir();
	struct zn_db *db;
	struct zn_err err;
	struct zn_dataset *ds[2];
	const char *specs[2] = { "a.test:ip4set:ip", "a.test:generic:gen" };
	static const char txt[] = "always $";
	struct zn_resval av = { NULL, 0x7f000009, ZN_TXT_TEXT, sizeof(txt) - 1,
		txt, "127.0.0.6" };
	struct res r;

	(void)state;
	ds[0] = parse_ds(ZN_IP4SET, "1.2.3.4 :3:x\n");
	ds[1] = parse_ds(ZN_GENERIC, "@ A 127.0.0.1\nwww A 192.0.2.1\n");
	assert_int_equal(zn_db_open(d, 0, 0, &db, &err), 0);
	assert_int_equal(tu_replace(db, specs, ds, 2), 0);

	look_client(db, "a.test", ZN_ACL_EMPTY, NULL, &r);
	assert_int_equal(r.flags, ZN_R_EXISTS);
	assert_int_equal(r.r.nrr, 1);
	look_client(db, "4.3.2.1.a.test", ZN_ACL_EMPTY, NULL, &r);
	assert_int_equal(r.flags, 0);
	look_client(db, "www.a.test", ZN_ACL_EMPTY, NULL, &r);
	assert_int_equal(r.flags, ZN_R_EXISTS);

	look_client(db, "9.9.9.9.a.test", ZN_ACL_LISTED, &av, &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	assert_int_equal(r.out.na, 1);
	assert_int_equal(r.out.a[0], 0x7f000009);
	assert_true(has_txt(&r, "always 127.0.0.6"));
	/* the listing in the data is not consulted */
	look_client(db, "4.3.2.1.a.test", ZN_ACL_LISTED, &av, &r);
	assert_int_equal(r.out.na, 1);
	assert_int_equal(r.out.a[0], 0x7f000009);
	look_client(db, MAPPED_1234 ".a.test", ZN_ACL_LISTED, &av, &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	/* not the apex, a partial address, a name or a plain IPv6 name */
	look_client(db, "a.test", ZN_ACL_LISTED, &av, &r);
	assert_int_equal(r.flags, ZN_R_EXISTS);
	look_client(db, "3.2.1.a.test", ZN_ACL_LISTED, &av, &r);
	assert_int_equal(r.flags & ZN_R_LISTED, 0);
	look_client(db, "x.a.test", ZN_ACL_LISTED, &av, &r);
	assert_int_equal(r.flags, 0);
	look_client(db, SIXTOFOUR_1234 ".a.test", ZN_ACL_LISTED, &av, &r);
	assert_int_equal(r.flags, ZN_R_LISTED); /* 6to4: an IPv4 query */
	look_client(db,
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".a.test",
	    ZN_ACL_LISTED, &av, &r);
	assert_int_equal(r.flags, 0);
	/* generic records stay */
	look_client(db, "www.a.test", ZN_ACL_LISTED, &av, &r);
	assert_int_equal(r.flags, ZN_R_EXISTS);
	assert_int_equal(r.r.nrr, 1);

	zn_dataset_free(ds[0]);
	zn_dataset_free(ds[1]);
	zn_db_close(db);
	tu_rmtree(d);
	free(d);
}

static uint32_t
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

/* A random flattened set: disjoint intervals with a few distinct values. */
static struct zn_dataset *
random_ds(uint64_t *seed, size_t n)
{
	struct zn_dataset *ds = tu_new_ds(ZN_IP4TRIE);
	static const char *const txt[] = { "spam", "dul $", NULL, "proxy" };
	uint32_t lo = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t gap = rnd(seed) % 5000, len = rnd(seed) % 64;

		lo += gap + 1;
		tu_add_ip4(ds, lo, lo + len, 0x7f000002 + rnd(seed) % 4,
		    txt[rnd(seed) % 4]);
		lo += len + 1;
	}
	return ds;
}

/* A variant of ds: some intervals dropped, some changed, some added. */
static struct zn_dataset *
mutate(const struct zn_dataset *ds, uint64_t *seed)
{
	struct zn_dataset *nd = tu_new_ds(ds->type);
	size_t i;

	for (i = 0; i < ds->nent; i++) {
		uint32_t r = rnd(seed) % 100;
		const struct zn_entry *e = &ds->ent[i];

		if (r < 5)
			continue;
		if (r < 10) {
			uint8_t b[300];

			memcpy(b, e->blob, e->blen);
			b[8] ^= 1; /* another A value */
			assert_int_equal(
			    zn_ds_add(nd, e->key, e->klen, b, e->blen), 0);
			continue;
		}
		assert_int_equal(
		    zn_ds_add(nd, e->key, e->klen, e->blob, e->blen), 0);
		if (r < 12) {
			uint32_t hi = (uint32_t)e->key[1] << 24 |
			    e->key[2] << 16 | e->key[3] << 8 | e->key[4];

			tu_add_ip4(nd, hi + 2, hi + 2, 0x7f00000a, "new");
		}
	}
	return nd;
}

static void
test_diff_invariant(void **state)
{
	uint64_t seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 4; round++) {
		char *d1 = tu_tmpdir(), *d2 = tu_tmpdir();
		struct zn_db *a, *b;
		struct zn_err err;
		struct zn_dataset *v1 = random_ds(&seed, 20000), *v2;
		char *da, *db2;

		assert_int_equal(zn_ds_sort(v1), 0);
		v2 = mutate(v1, &seed);
		assert_int_equal(zn_db_open(d1, 0, 0, &a, &err), 0);
		assert_int_equal(zn_db_open(d2, 0, 0, &b, &err), 0);
		assert_int_equal(tu_replace1(a, "z.test:ip4trie:f", v1), 0);
		assert_int_equal(tu_replace1(a, "z.test:ip4trie:f", v2), 0);
		assert_int_equal(tu_replace1(b, "z.test:ip4trie:f", v2), 0);
		da = tu_dump(a);
		db2 = tu_dump(b);
		assert_string_equal(da, db2);
		assert_non_null(strstr(da, "digest "));
		free(da);
		free(db2);
		zn_dataset_free(v1);
		zn_dataset_free(v2);
		zn_db_close(a);
		zn_db_close(b);
		tu_rmtree(d1);
		tu_rmtree(d2);
		free(d1);
		free(d2);
	}
}

static void
test_map_full(void **state)
{
	char *d = tu_tmpdir();
	struct zn_db *db;
	struct zn_err err;
	uint64_t seed = 7;
	struct zn_dataset *small = random_ds(&seed, 10);
	struct zn_dataset *big = random_ds(&seed, 50000);
	struct zn_spec s;
	char *before, *after;
	int rc;

	(void)state;
	assert_int_equal(zn_db_open(d, 0, 256 * 1024, &db, &err), 0);
	assert_int_equal(tu_replace1(db, "z.test:ip4trie:f", small), 0);
	before = tu_dump(db);
	spec(&s, "z.test:ip4trie:f");
	assert_int_equal(zn_ds_sort(big), 0);
	rc = zn_db_replace(db, &s, &big, 1, NULL, &err);
	assert_int_equal(rc, -ENOSPC);
	assert_non_null(strstr(err.msg, "database full"));
	after = tu_dump(db);
	assert_string_equal(before, after);
	free(before);
	free(after);
	zn_spec_cleanup(&s);
	zn_dataset_free(small);
	zn_dataset_free(big);
	zn_db_close(db);
	tu_rmtree(d);
	free(d);
}

static void
test_zones_and_gc(void **state)
{
	char *d = tu_tmpdir();
	struct zn_db *db;
	struct zn_err err;
	struct zn_dataset *ds = tu_new_ds(ZN_IP4SET),
	                  *ds2 = tu_new_ds(ZN_IP4SET);
	struct zn_dataset *pair[2];
	struct zn_spec s[2];
	struct zn_write_stats st;
	struct res r;
	char *out;

	(void)state;
	tu_add_ip4(ds, 0x7f000002, 0x7f000002, 0x7f000002, NULL);
	tu_add_ip4(ds2, 0x7f000004, 0x7f000004, 0x7f000004, NULL);
	assert_int_equal(zn_ds_sort(ds), 0);
	assert_int_equal(zn_ds_sort(ds2), 0);
	assert_int_equal(zn_db_open(d, 0, 0, &db, &err), 0);
	/* two zones sharing one dataset */
	spec(&s[0], "a.test:ip4set:shared");
	spec(&s[1], "b.test:ip4set:shared");
	pair[0] = pair[1] = ds;
	assert_int_equal(zn_db_replace(db, s, pair, 2, &st, &err), 0);
	assert_int_equal(st.datasets_new, 1);
	assert_int_equal(st.puts, 1);
	look(db, "2.0.0.127.b.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	zn_spec_cleanup(&s[1]);
	/* b.test moves to another dataset: the shared one stays for a */
	spec(&s[1], "b.test:ip4set:other");
	assert_int_equal(zn_db_replace(db, &s[1], &ds2, 1, &st, &err), 0);
	assert_int_equal(st.datasets_dropped, 0);
	look(db, "2.0.0.127.b.test", &r);
	assert_int_equal(r.flags, 0);
	look(db, "2.0.0.127.a.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	/* a.test moves too: now the shared dataset is dropped */
	zn_spec_cleanup(&s[0]);
	spec(&s[0], "a.test:ip4set:other");
	assert_int_equal(zn_db_replace(db, &s[0], &ds2, 1, &st, &err), 0);
	assert_int_equal(st.datasets_dropped, 1);
	out = tu_dump(db);
	assert_null(strstr(out, "shared"));
	assert_non_null(strstr(out, "zone a.test\ndataset ip4set:other"));
	free(out);
	zn_spec_cleanup(&s[0]);
	zn_spec_cleanup(&s[1]);
	zn_dataset_free(ds);
	zn_dataset_free(ds2);
	zn_db_close(db);
	tu_rmtree(d);
	free(d);
}

static void
test_spec(void **state)
{
	struct zn_spec s;
	struct zn_err err;

	(void)state;
	assert_int_equal(zn_spec_parse("BL.Test.:ip4set:a,b", &s, &err), 0);
	assert_string_equal(s.zone, "bl.test");
	assert_int_equal(s.type, ZN_IP4SET);
	assert_int_equal(s.nfiles, 2);
	assert_string_equal(s.filev[1], "b");
	zn_spec_cleanup(&s);
	assert_int_equal(zn_spec_parse(":acl:x", &s, &err), 0);
	assert_string_equal(s.zone, "");
	zn_spec_cleanup(&s);
	assert_int_equal(zn_spec_parse("z:nosuch:f", &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown dataset type"));
	assert_int_equal(zn_spec_parse("z:ip4set", &s, &err), -EINVAL);
	assert_int_equal(zn_spec_parse(":ip4set:f", &s, &err), -EINVAL);
	assert_int_equal(zn_spec_parse("z:ip4set:a,,b", &s, &err), -EINVAL);
}

/* The generation a new view sees. */
static uint64_t
generation(struct zn_db *db)
{
	struct zn_view *v;
	struct zn_err err;
	uint64_t g;

	assert_int_equal(zn_view_open(db, &v, &err), 0);
	g = zn_view_generation(v);
	zn_view_close(v);
	return g;
}

/* ds NULL keeps what is stored; a call that changes nothing writes
 * nothing, not even a new generation. */
/* The /24 filter bit of address a in dataset ref r (NULL: no filter). */
static uint8_t *
f4_byte(const struct zn_dsref *r, uint32_t a, uint8_t *bit)
{
	uint32_t p = a >> 8;

	*bit = (uint8_t)(1u << (p & 7));
	return r->f4 != NULL ? &r->f4[p >> 3] : NULL;
}

static const struct zn_zone *
zone_of(struct zn_view *v, const char *name)
{
	struct zn_qname q;
	unsigned nkey;

	assert_int_equal(zn_qname_from_text(&q, name), 0);
	return zn_view_match(v, &q, &nkey);
}

static unsigned
flags_in(struct zn_view *v, const char *name)
{
	struct zn_qname q;
	unsigned nkey;
	const struct zn_zone *z;
	static struct zn_result r;

	assert_int_equal(zn_qname_from_text(&q, name), 0);
	assert_non_null(z = zn_view_match(v, &q, &nkey));
	assert_int_equal(zn_lookup(v, z, &q, nkey, &r), 0);
	return r.flags;
}

/*
 * A new generation keeps the /24 filter of a dataset whose entries did not
 * change (a write to another zone) and makes it anew for one whose entries
 * did.  Told apart by a bit the test sets in the filter for a /24 no entry
 * touches: a kept filter still has it, a new one does not.
 */
static void
test_filter_kept(void **state)
{
	char *d = tu_tmpdir();
	struct zn_db *db;
	struct zn_view *v;
	struct zn_err err;
	struct zn_dataset *a = tu_new_ds(ZN_IP4SET), *b = tu_new_ds(ZN_IP4SET);
	const uint32_t mark = 0xc8c8c801; /* 200.200.200.1: no entry */
	const struct zn_zone *z;
	uint8_t *byte, bit;
	uint32_t i;

	(void)state;
	for (i = 0; i < 2000; i++) /* 10.x.y.1 in 2000 /24s: filtered */
		tu_add_ip4(a, 0x0a000001 + (i << 8), 0x0a000001 + (i << 8),
		    0x7f000002, NULL);
	tu_add_ip4(b, 0x7f000002, 0x7f000002, 0x7f000002, NULL);
	assert_int_equal(zn_db_open(d, 0, 0, &db, &err), 0);
	assert_int_equal(tu_replace1(db, "a.test:ip4set:fa", a), 0);
	assert_int_equal(tu_replace1(db, "b.test:ip4set:fb", b), 0);
	assert_int_equal(zn_view_open(db, &v, &err), 0);
	assert_non_null(z = zone_of(v, "1.0.0.10.a.test"));
	assert_non_null(byte = f4_byte(&z->refs[0], mark, &bit));
	assert_int_equal(*byte & bit, 0);
	*byte |= bit;
	assert_int_equal(flags_in(v, "1.7.0.10.a.test"), ZN_R_LISTED);

	/* another zone written: a new generation, the same entries here */
	zn_dataset_free(b);
	b = tu_new_ds(ZN_IP4SET);
	tu_add_ip4(b, 0x7f000003, 0x7f000003, 0x7f000002, NULL);
	assert_int_equal(tu_replace1(db, "b.test:ip4set:fb", b), 0);
	assert_int_equal(zn_view_refresh(v, &err), 1);
	assert_int_equal(flags_in(v, "3.0.0.127.b.test"), ZN_R_LISTED);
	assert_non_null(z = zone_of(v, "1.0.0.10.a.test"));
	assert_non_null(byte = f4_byte(&z->refs[0], mark, &bit));
	assert_int_equal(*byte & bit, bit); /* kept */
	assert_int_equal(flags_in(v, "1.7.0.10.a.test"), ZN_R_LISTED);
	assert_int_equal(flags_in(v, "1.1.1.1.a.test"), 0);

	/* this zone's entries changed: a new filter that has the new /24 */
	tu_add_ip4(a, 0x01010101, 0x01010101, 0x7f000002, NULL);
	assert_int_equal(tu_replace1(db, "a.test:ip4set:fa", a), 0);
	assert_int_equal(zn_view_refresh(v, &err), 1);
	assert_non_null(z = zone_of(v, "1.0.0.10.a.test"));
	assert_non_null(byte = f4_byte(&z->refs[0], mark, &bit));
	assert_int_equal(*byte & bit, 0); /* made anew */
	assert_non_null(byte = f4_byte(&z->refs[0], 0x01010101, &bit));
	assert_int_equal(*byte & bit, bit);
	assert_int_equal(flags_in(v, "1.1.1.1.a.test"), ZN_R_LISTED);
	assert_int_equal(flags_in(v, "1.7.0.10.a.test"), ZN_R_LISTED);

	zn_view_close(v);
	zn_dataset_free(a);
	zn_dataset_free(b);
	zn_db_close(db);
	tu_rmtree(d);
	free(d);
}

static void
test_replace_keep(void **state)
{
	char *d = tu_tmpdir();
	struct zn_db *db;
	struct zn_err err;
	struct zn_write_stats st;
	struct zn_dataset *ds = tu_new_ds(ZN_IP4SET),
	                  *ds2 = tu_new_ds(ZN_IP4SET);
	struct zn_dataset *two[2];
	struct zn_spec s[2];
	char *before, *after;
	uint64_t gen;
	struct res r;

	(void)state;
	tu_add_ip4(ds, 0x7f000002, 0x7f000002, 0x7f000002, "one");
	tu_add_ip4(ds2, 0x7f000003, 0x7f000003, 0x7f000003, "two");
	assert_int_equal(zn_ds_sort(ds), 0);
	assert_int_equal(zn_ds_sort(ds2), 0);
	assert_int_equal(zn_db_open(d, 0, 0, &db, &err), 0);
	spec(&s[0], "a.test:ip4set:f1");
	spec(&s[1], "a.test:ip4set:f2");
	two[0] = ds;
	two[1] = ds2;
	assert_int_equal(zn_db_replace(db, s, two, 2, &st, &err), 0);
	assert_true(st.changed);
	before = tu_dump(db);
	gen = generation(db);

	/* both kept: nothing to write */
	two[0] = two[1] = NULL;
	assert_int_equal(zn_db_replace(db, s, two, 2, &st, &err), 0);
	assert_false(st.changed);
	assert_int_equal(st.puts + st.dels, 0);
	assert_int_equal(generation(db), gen);
	after = tu_dump(db);
	assert_string_equal(before, after);
	free(after);

	/* the same data again: no change either */
	two[0] = ds;
	assert_int_equal(zn_db_replace(db, s, two, 2, &st, &err), 0);
	assert_false(st.changed);
	assert_int_equal(generation(db), gen);

	/* one kept, the zone loses the other: a change */
	two[0] = NULL;
	assert_int_equal(zn_db_replace(db, s, two, 1, &st, &err), 0);
	assert_true(st.changed);
	assert_int_equal(st.datasets_dropped, 1);
	assert_true(generation(db) > gen);
	look(db, "2.0.0.127.a.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	look(db, "3.0.0.127.a.test", &r);
	assert_int_equal(r.flags, 0);

	/* NULL for a spec that is not stored fails and changes nothing */
	free(before);
	before = tu_dump(db);
	assert_int_equal(zn_db_replace(db, &s[1], two, 1, &st, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "ip4set:f2: not in the database"));
	after = tu_dump(db);
	assert_string_equal(before, after);
	free(after);

	/* equal spec strings: the first dataset given is written */
	zn_spec_cleanup(&s[0]);
	spec(&s[0], "b.test:ip4set:f2");
	two[0] = NULL;
	two[1] = ds2;
	assert_int_equal(zn_db_replace(db, s, two, 2, &st, &err), 0);
	look(db, "3.0.0.127.b.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	look(db, "3.0.0.127.a.test", &r);
	assert_int_equal(r.flags, ZN_R_LISTED);
	look(db, "2.0.0.127.a.test", &r);
	assert_int_equal(r.flags, 0);

	free(before);
	zn_spec_cleanup(&s[0]);
	zn_spec_cleanup(&s[1]);
	zn_dataset_free(ds);
	zn_dataset_free(ds2);
	zn_db_close(db);
	tu_rmtree(d);
	free(d);
}

/* ZN_REPLACE_ALL drops the zones not named, and the datasets only they
 * used, in the same transaction; zn_db_zone_specs reads a zone back. */
static void
test_replace_all(void **state)
{
	char *d = tu_tmpdir();
	struct zn_db *db;
	struct zn_err err;
	struct zn_write_stats st;
	struct zn_dataset *ds = tu_new_ds(ZN_IP4SET),
	                  *ds2 = tu_new_ds(ZN_DNSET);
	struct zn_dataset *v[4];
	struct zn_spec s[4], *got;
	size_t n, i;
	char *out;

	(void)state;
	tu_add_ip4(ds, 0x7f000002, 0x7f000002, 0x7f000002, NULL);
	tu_add_name(ds2, "bad.example", ZN_NAME_EXACT, 0x7f000002, NULL, false);
	assert_int_equal(zn_ds_sort(ds), 0);
	assert_int_equal(zn_ds_sort(ds2), 0);
	assert_int_equal(zn_db_open(d, 0, 0, &db, &err), 0);
	spec(&s[0], "a.test:ip4set:shared");
	spec(&s[1], "b.test:ip4set:shared");
	spec(&s[2], "b.test:dnset:names");
	spec(&s[3], "c.test:dnset:names");
	v[0] = v[1] = ds;
	v[2] = v[3] = ds2;
	assert_int_equal(zn_db_replace(db, s, v, 4, &st, &err), 0);
	assert_int_equal(st.datasets_new, 2);

	assert_int_equal(zn_db_zone_specs(db, "b.test", &got, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(got[0].zone, "b.test");
	assert_int_equal(got[0].type, ZN_IP4SET);
	assert_string_equal(got[0].files, "shared");
	assert_int_equal(got[1].type, ZN_DNSET);
	assert_string_equal(got[1].files, "names");
	for (i = 0; i < n; i++)
		zn_spec_cleanup(&got[i]);
	free(got);
	assert_int_equal(zn_db_zone_specs(db, "x.test", &got, &n, &err),
	    -ENOENT);

	/* without the flag, naming only a.test leaves b and c alone */
	v[0] = NULL;
	assert_int_equal(zn_db_replace(db, s, v, 1, &st, &err), 0);
	assert_int_equal(st.zones_dropped, 0);
	assert_false(st.changed);

	/* with it, b.test and c.test go, and with them "names" */
	assert_int_equal(
	    zn_db_replace_flags(db, s, v, 1, ZN_REPLACE_ALL, &st, &err), 0);
	assert_true(st.changed);
	assert_int_equal(st.zones_dropped, 2);
	assert_int_equal(st.datasets_dropped, 1);
	out = tu_dump(db);
	assert_null(strstr(out, "b.test"));
	assert_null(strstr(out, "c.test"));
	assert_null(strstr(out, "dnset:names"));
	assert_non_null(strstr(out, "zone a.test\ndataset ip4set:shared"));
	free(out);
	assert_int_equal(zn_db_zone_specs(db, "c.test", &got, &n, &err),
	    -ENOENT);

	/* an empty complete set empties the database */
	assert_int_equal(
	    zn_db_replace_flags(db, s, v, 0, ZN_REPLACE_ALL, &st, &err), 0);
	assert_int_equal(st.zones_dropped, 1);
	assert_int_equal(st.datasets_dropped, 1);
	out = tu_dump(db);
	assert_string_equal(out, "");
	free(out);

	for (i = 0; i < 4; i++)
		zn_spec_cleanup(&s[i]);
	zn_dataset_free(ds);
	zn_dataset_free(ds2);
	zn_db_close(db);
	tu_rmtree(d);
	free(d);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* zn_specs_load: one dataset per distinct type:files, only the wanted
 * specs, a progress call per dataset read; on failure nothing is left
 * loaded (the leak checkers see the rest). */
static void
specs_counted(void *ctx, size_t i, const struct zn_dataset *ds)
{
	size_t *calls = ctx;

	assert_non_null(ds);
	calls[i]++;
}

static void
test_specs_load(void **state)
{
	char *d = tu_tmpdir(), a[512], b[512], bad[512], arg[1100];
	struct zn_parse_opts opts = { 0 };
	struct zn_spec specs[4];
	struct zn_dataset *ds[4];
	size_t calls[4] = { 0 }, i;
	bool want[4] = { false, true, true, true };
	struct zn_err err;

	(void)state;
	snprintf(a, sizeof(a), "%s/a", d);
	snprintf(b, sizeof(b), "%s/b", d);
	snprintf(bad, sizeof(bad), "%s/bad", d);
	write_file(a, "10.0.0.0/8\n");
	write_file(b, "192.0.2.1\n192.0.2.2\n");
	write_file(bad, "192.0.2.9\n$DATASET ip4set\n");
	snprintf(arg, sizeof(arg), "one.test:ip4set:%s", a);
	spec(&specs[0], arg);
	snprintf(arg, sizeof(arg), "two.test:ip4set:%s,%s", a, b);
	spec(&specs[1], arg);
	snprintf(arg, sizeof(arg), "three.test:ip4set:%s", a);
	spec(&specs[2], arg);
	snprintf(arg, sizeof(arg), "four.test:ip4set:%s,%s", a, b);
	spec(&specs[3], arg);

	/* every spec: 0 and 2 share, 1 and 3 share */
	assert_int_equal(zn_specs_load(specs, 4, NULL, &opts, ds, specs_counted,
	                     calls, &err),
	    0);
	assert_true(ds[0] != NULL && ds[0] == ds[2]);
	assert_true(ds[1] != NULL && ds[1] == ds[3] && ds[1] != ds[0]);
	assert_int_equal(ds[0]->nsource, 1);
	assert_int_equal(ds[1]->nsource, 3);
	assert_int_equal(calls[0] + calls[1] + calls[2] + calls[3], 2);
	assert_int_equal(calls[0], 1);
	assert_int_equal(calls[1], 1);
	zn_specs_free(ds, 4);
	for (i = 0; i < 4; i++)
		assert_null(ds[i]);

	/* not spec 0: spec 2 is read itself, 3 shares 1 */
	memset(calls, 0, sizeof(calls));
	assert_int_equal(
	    zn_specs_load(specs, 4, want, &opts, ds, NULL, NULL, &err), 0);
	assert_null(ds[0]);
	assert_non_null(ds[2]);
	assert_true(ds[1] != NULL && ds[1] == ds[3]);
	zn_specs_free(ds, 4);

	/* a file that does not parse: its error, and nothing left loaded */
	zn_spec_cleanup(&specs[3]);
	snprintf(arg, sizeof(arg), "four.test:combined:%s", bad);
	spec(&specs[3], arg);
	assert_true(zn_specs_load(specs, 4, NULL, &opts, ds, specs_counted,
	                calls, &err) < 0);
	assert_non_null(strstr(err.msg, "bad"));
	for (i = 0; i < 4; i++)
		assert_null(ds[i]);
	/* a file that is not there */
	zn_spec_cleanup(&specs[3]);
	snprintf(arg, sizeof(arg), "four.test:ip4set:%s/missing", d);
	spec(&specs[3], arg);
	assert_true(
	    zn_specs_load(specs, 4, NULL, &opts, ds, NULL, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "missing"));
	for (i = 0; i < 4; i++) {
		assert_null(ds[i]);
		zn_spec_cleanup(&specs[i]);
	}
	tu_rmtree(d);
	free(d);
}

/* The source files' identities are stored with the dataset and read back;
 * a dataset stored without them must be read again. */
static void
test_fileids(void **state)
{
	char *d = tu_tmpdir(), *f1, *f2, *arg;
	struct zn_db *db;
	struct zn_err err;
	struct zn_write_stats st;
	struct zn_dataset *ds = tu_new_ds(ZN_IP4SET);
	struct zn_spec s, s2;
	struct zn_fileid ids[2], now;
	uint64_t gen;

	(void)state;
	assert_true(asprintf(&f1, "%s/one.txt", d) > 0);
	assert_true(asprintf(&f2, "%s/two.txt", d) > 0);
	assert_true(asprintf(&arg, "a.test:ip4set:%s,%s", f1, f2) > 0);
	write_file(f1, "127.0.0.2\n");
	write_file(f2, "127.0.0.3\n");
	tu_add_ip4(ds, 0x7f000002, 0x7f000003, 0x7f000002, NULL);
	assert_int_equal(zn_ds_sort(ds), 0);
	assert_int_equal(zn_db_open(d, 0, 0, &db, &err), 0);

	spec(&s, arg);
	assert_int_equal(zn_db_replace(db, &s, &ds, 1, &st, &err), 0);
	assert_int_equal(zn_db_fileids(db, &s, ids, &err), -ENODATA);
	assert_non_null(strstr(err.msg, "without its files' identities"));

	assert_int_equal(zn_spec_stat(&s, &err), 0);
	assert_non_null(s.ids);
	gen = generation(db);
	assert_int_equal(zn_db_replace(db, &s, &ds, 1, &st, &err), 0);
	assert_true(st.changed); /* only the record changed */
	assert_int_equal(st.puts + st.dels, 0);
	assert_true(generation(db) > gen);
	memset(ids, 0, sizeof(ids));
	assert_int_equal(zn_db_fileids(db, &s, ids, &err), 0);
	assert_true(zn_fileid_equal(&ids[0], &s.ids[0]));
	assert_true(zn_fileid_equal(&ids[1], &s.ids[1]));
	assert_int_equal(ids[1].size, 10);
	assert_true(ids[0].mtime_ns > 0 && ids[0].ino != 0);

	/* a rewritten file has another identity */
	write_file(f2, "127.0.0.3\n127.0.0.4\n");
	assert_int_equal(zn_fileid_stat(f2, &now), 0);
	assert_false(zn_fileid_equal(&now, &ids[1]));
	/* kept (NULL) datasets keep their stored identities */
	{
		struct zn_dataset *none = NULL;

		assert_int_equal(zn_spec_stat(&s, &err), 0);
		assert_int_equal(zn_db_replace(db, &s, &none, 1, &st, &err), 0);
		assert_false(st.changed);
		assert_int_equal(zn_db_fileids(db, &s, ids, &err), 0);
		assert_false(zn_fileid_equal(&ids[1], &now));
	}
	/* a spec naming other files has nothing stored */
	spec(&s2, "a.test:ip4set:elsewhere");
	assert_int_equal(zn_db_fileids(db, &s2, ids, &err), -ENOENT);
	zn_spec_cleanup(&s2);
	/* a file that is gone */
	unlink(f1);
	assert_int_equal(zn_spec_stat(&s, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "one.txt"));
	assert_null(s.ids);

	zn_spec_cleanup(&s);
	zn_dataset_free(ds);
	zn_db_close(db);
	tu_rmtree(d);
	free(d);
	free(f1);
	free(f2);
	free(arg);
}

static off_t
file_size(const char *dir)
{
	char path[4096];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

/*
 * An idle reader that keeps its snapshot makes every rewrite allocate new
 * pages; one that released it lets LMDB reuse them.  A view answers one
 * batch, goes idle, and a 5000-interval dataset is rewritten 40 times
 * meanwhile; then the view answers again.  Returns how much the file grew.
 */
static off_t
growth(bool release)
{
	char *d = tu_tmpdir();
	struct zn_db *db;
	struct zn_view *v;
	struct zn_err err;
	uint64_t seed = 99;
	struct zn_dataset *a = random_ds(&seed, 5000), *b;
	struct zn_qname q;
	const struct zn_zone *z;
	struct zn_result *r = malloc(sizeof(*r));
	unsigned nkey;
	off_t start, end;
	int i;

	assert_non_null(r);
	assert_int_equal(zn_ds_sort(a), 0);
	b = mutate(a, &seed);
	assert_int_equal(zn_db_open(d, 0, 0, &db, &err), 0);
	assert_int_equal(tu_replace1(db, "z.test:ip4trie:f", a), 0);
	assert_int_equal(zn_view_open(db, &v, &err), 0);
	start = file_size(d);
	/* a batch: take a snapshot, answer, go idle */
	assert_int_equal(zn_view_refresh(v, &err), 0);
	assert_int_equal(zn_qname_from_text(&q, "2.0.0.127.z.test"), 0);
	assert_non_null(z = zn_view_match(v, &q, &nkey));
	assert_int_equal(zn_lookup(v, z, &q, nkey, r), 0);
	if (release)
		zn_view_release(v);
	for (i = 0; i < 40; i++)
		assert_int_equal(
		    tu_replace1(db, "z.test:ip4trie:f", i % 2 ? a : b), 0);
	end = file_size(d);
	/* the next batch sees the newest data */
	assert_int_equal(zn_view_refresh(v, &err), 1);
	assert_non_null(z = zn_view_match(v, &q, &nkey));
	assert_int_equal(zn_lookup(v, z, &q, nkey, r), 0);
	zn_view_release(v);
	zn_view_release(v); /* twice: nothing happens */
	assert_int_equal(zn_view_refresh(v, &err), 0);
	zn_view_close(v);
	zn_db_close(db);
	zn_dataset_free(a);
	zn_dataset_free(b);
	tu_rmtree(d);
	free(d);
	free(r);
	print_message("view %s: data.mdb %lld -> %lld bytes\n",
	    release ? "released when idle" : "kept", (long long)start,
	    (long long)end);
	return end - start;
}

static void
test_view_release(void **state)
{
	off_t kept, released;

	(void)state;
	kept = growth(false);
	released = growth(true);
	assert_true(kept > 0);
	assert_true(released * 4 < kept);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_ip4),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_combined_lookups),
		cmocka_unit_test(test_acl_lookups),
		cmocka_unit_test(test_diff_invariant),
		cmocka_unit_test(test_map_full),
		cmocka_unit_test(test_zones_and_gc),
		cmocka_unit_test(test_replace_keep),
		cmocka_unit_test(test_filter_kept),
		cmocka_unit_test(test_replace_all),
		cmocka_unit_test(test_fileids),
		cmocka_unit_test(test_specs_load),
		cmocka_unit_test(test_view_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
