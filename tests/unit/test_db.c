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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_ip4),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_diff_invariant),
		cmocka_unit_test(test_map_full),
		cmocka_unit_test(test_zones_and_gc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
