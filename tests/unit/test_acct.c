/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Accounting (resolverd/acct.c), ACLs and rate limits: the Space-Saving
 * sketch under a flood of a million distinct (spoofed) sources keeps its
 * memory and finds the heavy hitters with exact counts; IPv6 clients are
 * aggregated per /64; latency buckets; ACL rules; token buckets and
 * quotas; the key/value store the counters are saved in.
 */
#include "config.h"

#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "acct.h"
#include "acl.h"
#include "control.h"
#include "ratelimit.h"
#include "zones.h"

static void
key4(struct acct_key *k, uint32_t ip)
{
	uint8_t a[4] = { (uint8_t)(ip >> 24), (uint8_t)(ip >> 16),
		(uint8_t)(ip >> 8), (uint8_t)ip };

	acct_client_key(a, 4, 64, k);
}

static void
one(struct acct_counters *c, uint64_t bytes)
{
	memset(c, 0, sizeof(*c));
	c->v[AC_Q] = 1;
	c->v[AC_LISTED] = 1;
	c->v[AC_IN] = bytes;
}

#define CAP 1000
#define FLOOD 1000000
#define HEAVY 10
#define EVERY 50 /* a heavy hitter's query after this many spoofed */

static void
test_spacesaving_flood(void **state)
{
	struct ss *s = ss_new(CAP);
	struct acct_counters c, sum;
	struct acct_key k;
	uint64_t heavy[HEAVY] = { 0 }, late = 0, total = 0;
	size_t mem, i, j, h = 0;

	(void)state;
	assert_non_null(s);
	mem = ss_memory(s);
	/* bounded: about a hundred bytes per client */
	assert_true(mem < (size_t)CAP * 200);
	for (i = 0; i < FLOOD; i++) {
		/* spoofed: 10.x.y.z, every one distinct */
		key4(&k, 0x0a000000u + (uint32_t)i);
		one(&c, 40);
		ss_add(s, &k, &c, 0);
		total++;
		if (i % EVERY == 0) {
			key4(&k, 0xc0000200u + (uint32_t)h); /* 192.0.2.h */
			one(&c, 40);
			ss_add(s, &k, &c, 0);
			heavy[h]++;
			h = (h + 1) % HEAVY;
			total++;
		}
		/* a heavy hitter that starts in the middle of the flood */
		if (i >= FLOOD / 2 && i % 20 == 0) {
			key4(&k, 0xc6336401u); /* 198.51.100.1 */
			one(&c, 40);
			ss_add(s, &k, &c, 0);
			late++;
			total++;
		}
		assert_true(ss_count(s) <= CAP);
	}
	assert_int_equal(ss_count(s), CAP);
	assert_int_equal(ss_memory(s), mem); /* nothing grew */
	/* the heavy hitters from the start: present, exact, no error */
	for (h = 0; h < HEAVY; h++) {
		const struct ss_entry *e;

		key4(&k, 0xc0000200u + (uint32_t)h);
		e = ss_find(s, &k);
		assert_non_null(e);
		assert_int_equal(e->err, 0);
		assert_int_equal(e->c.v[AC_Q], heavy[h]);
		assert_int_equal(e->c.v[AC_LISTED], heavy[h]);
		assert_int_equal(e->c.v[AC_IN], heavy[h] * 40);
	}
	/* the late one: present, its true count within [q, q + err] */
	{
		const struct ss_entry *e;

		key4(&k, 0xc6336401u);
		e = ss_find(s, &k);
		assert_non_null(e);
		assert_true(e->c.v[AC_Q] <= late);
		assert_true(e->c.v[AC_Q] + e->err >= late);
	}
	/* the top HEAVY+1 by queries are exactly those */
	{
		size_t nb = 0;

		for (i = 0; i < ss_count(s); i++) {
			const struct ss_entry *e = ss_entry_at(s, i);
			uint32_t ip = (uint32_t)e->key.a[0] << 24 |
			    (uint32_t)e->key.a[1] << 16 |
			    (uint32_t)e->key.a[2] << 8 | e->key.a[3];

			if (e->c.v[AC_Q] > 100) {
				assert_true((ip & 0xffffff00u) == 0xc0000200u ||
				    ip == 0xc6336401u);
				nb++;
			}
		}
		assert_int_equal(nb, HEAVY + 1);
	}
	/* nothing lost: entries plus other make the total */
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < ss_count(s); i++)
		for (j = 0; j < AC_N; j++)
			sum.v[j] += ss_entry_at(s, i)->c.v[j];
	for (j = 0; j < AC_N; j++)
		sum.v[j] += ss_other(s)->v[j];
	assert_int_equal(sum.v[AC_Q], total);
	assert_int_equal(sum.v[AC_LISTED], total);
	assert_int_equal(sum.v[AC_IN], total * 40);
	ss_free(s);
}

static void
test_spacesaving_small(void **state)
{
	struct ss *s = ss_new(3);
	struct acct_counters c;
	struct acct_key k;
	const struct ss_entry *e;

	(void)state;
	/* a:5 b:3 c:1, then d pushes c out: d inherits c's estimate */
	for (int i = 0; i < 5; i++) {
		key4(&k, 1);
		one(&c, 1);
		ss_add(s, &k, &c, 0);
	}
	for (int i = 0; i < 3; i++) {
		key4(&k, 2);
		one(&c, 1);
		ss_add(s, &k, &c, 0);
	}
	key4(&k, 3);
	one(&c, 1);
	ss_add(s, &k, &c, 0);
	key4(&k, 4);
	one(&c, 1);
	ss_add(s, &k, &c, 0);
	assert_int_equal(ss_count(s), 3);
	key4(&k, 3);
	assert_null(ss_find(s, &k));
	key4(&k, 4);
	e = ss_find(s, &k);
	assert_non_null(e);
	assert_int_equal(e->c.v[AC_Q], 1);
	assert_int_equal(e->err, 1);
	assert_int_equal(ss_other(s)->v[AC_Q], 1);
	key4(&k, 1);
	assert_int_equal(ss_find(s, &k)->c.v[AC_Q], 5);
	ss_clear(s);
	assert_int_equal(ss_count(s), 0);
	assert_null(ss_find(s, &k));
	ss_free(s);
}

static void
test_v6_aggregation(void **state)
{
	uint8_t a[16], b[16], d[16];
	struct acct_key ka, kb, kd;
	char text[64];

	(void)state;
	inet_pton(AF_INET6, "2001:db8:1:2:aaaa::1", a);
	inet_pton(AF_INET6, "2001:db8:1:2:ffff:1:2:3", b);
	inet_pton(AF_INET6, "2001:db8:1:3::1", d);
	acct_client_key(a, 16, 64, &ka);
	acct_client_key(b, 16, 64, &kb);
	acct_client_key(d, 16, 64, &kd);
	assert_int_equal(ka.plen, 64);
	assert_memory_equal(&ka, &kb, sizeof(ka));
	assert_memory_not_equal(ka.a, kd.a, 16);
	acct_key_text(&ka, text, sizeof(text));
	assert_string_equal(text, "2001:db8:1:2::/64");
	/* /48: both /64s are one client */
	acct_client_key(a, 16, 48, &ka);
	acct_client_key(d, 16, 48, &kd);
	assert_memory_equal(&ka, &kd, sizeof(ka));
	/* /128: every address */
	acct_client_key(a, 16, 128, &ka);
	acct_client_key(b, 16, 128, &kb);
	assert_memory_not_equal(ka.a, kb.a, 16);
	acct_key_text(&ka, text, sizeof(text));
	assert_string_equal(text, "2001:db8:1:2:aaaa::1");
	/* IPv4 is never aggregated */
	acct_client_key((const uint8_t *)"\x7f\x00\x00\x02", 4, 64, &ka);
	acct_key_text(&ka, text, sizeof(text));
	assert_string_equal(text, "127.0.0.2");
}

static void
test_hist_buckets(void **state)
{
	(void)state;
	assert_int_equal(acct_hist_bucket(0), 0);
	assert_int_equal(acct_hist_bucket(999), 0); /* < 1us */
	assert_int_equal(acct_hist_bucket(1000), 1); /* [1, 2) us */
	assert_int_equal(acct_hist_bucket(1999), 1);
	assert_int_equal(acct_hist_bucket(2000), 2); /* [2, 4) */
	assert_int_equal(acct_hist_bucket(3999), 2);
	assert_int_equal(acct_hist_bucket(4000), 3);
	assert_int_equal(acct_hist_bucket(1000000), 10); /* 1 ms: [512, 1024) */
	assert_int_equal(acct_hist_bucket(1000000000), 20); /* 1 s */
	assert_int_equal(acct_hist_bucket(UINT64_MAX), ACCT_HIST - 1);
}

static void
test_acl(void **state)
{
	struct acl a;
	char err[256];
	uint8_t v4[4], v6[16];

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(acl_set_default(&a), 0);
	inet_pton(AF_INET, "127.0.0.5", v4);
	assert_int_equal(acl_match(&a, v4, 4), ACL_ALLOW);
	inet_pton(AF_INET, "192.168.7.1", v4);
	assert_int_equal(acl_match(&a, v4, 4), ACL_ALLOW);
	inet_pton(AF_INET, "8.8.8.8", v4);
	assert_int_equal(acl_match(&a, v4, 4), ACL_REFUSE);
	inet_pton(AF_INET6, "::1", v6);
	assert_int_equal(acl_match(&a, v6, 16), ACL_ALLOW);
	inet_pton(AF_INET6, "2001:db8::1", v6);
	assert_int_equal(acl_match(&a, v6, 16), ACL_REFUSE);
	acl_clear(&a);

	/* first match wins */
	a.nomatch = ACL_REFUSE;
	assert_int_equal(acl_parse(&a, "drop 127.0.0.3", err, sizeof(err)), 0);
	assert_int_equal(
	    acl_parse(&a, "refuse 127.0.0.4/32, 10.0.0.0/8", err, sizeof(err)),
	    0);
	assert_int_equal(
	    acl_parse(&a, "allow 127.0.0.0/8 ::1", err, sizeof(err)), 0);
	inet_pton(AF_INET, "127.0.0.3", v4);
	assert_int_equal(acl_match(&a, v4, 4), ACL_DROP);
	inet_pton(AF_INET, "127.0.0.4", v4);
	assert_int_equal(acl_match(&a, v4, 4), ACL_REFUSE);
	inet_pton(AF_INET, "127.0.0.9", v4);
	assert_int_equal(acl_match(&a, v4, 4), ACL_ALLOW);
	inet_pton(AF_INET, "10.9.9.9", v4);
	assert_int_equal(acl_match(&a, v4, 4), ACL_REFUSE);
	inet_pton(AF_INET, "11.0.0.1", v4);
	assert_int_equal(acl_match(&a, v4, 4), ACL_REFUSE);
	/* bad input names the field */
	assert_int_equal(acl_parse(&a, "permit 1.2.3.4", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "permit"));
	assert_int_equal(acl_parse(&a, "allow 1.2.3.4/33", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "1.2.3.4/33"));
	assert_int_equal(acl_parse(&a, "allow", err, sizeof(err)), -1);
	assert_int_equal(acl_parse(&a, "allow 300.1.1.1", err, sizeof(err)),
	    -1);
	acl_clear(&a);
}

static void
test_ratelimit(void **state)
{
	struct rl_table *t = rl_table_new(64);
	struct rl_params p;
	uint8_t c1[4] = { 127, 0, 0, 2 }, c2[4] = { 127, 0, 0, 3 };
	uint64_t now = 1000000000; /* microseconds */
	uint32_t slip = 0;
	int i, pass = 0;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.rate = 10;
	p.burst = 5;
	/* a burst of 5 passes, then 10/s */
	for (i = 0; i < 20; i++)
		pass += rl_check(t, &p, c1, 4, now) == RL_PASS;
	assert_int_equal(pass, 5);
	/* another client is not affected */
	assert_int_equal(rl_check(t, &p, c2, 4, now), RL_PASS);
	/* 100 ms later: one more token */
	assert_int_equal(rl_check(t, &p, c1, 4, now + 100000), RL_PASS);
	assert_int_equal(rl_check(t, &p, c1, 4, now + 100000), RL_LIMITED);
	/* a second later: 10 more, not more than the burst of 5 */
	for (i = 0, pass = 0; i < 20; i++)
		pass += rl_check(t, &p, c1, 4, now + 1100000) == RL_PASS;
	assert_int_equal(pass, 5);
	/* a daily quota */
	memset(&p, 0, sizeof(p));
	p.quota = 3;
	c1[3] = 9;
	for (i = 0, pass = 0; i < 10; i++)
		pass += rl_check(t, &p, c1, 4, now) == RL_PASS;
	assert_int_equal(pass, 3);
	assert_int_equal(rl_check(t, &p, c1, 4, now), RL_OVER_QUOTA);
	/* the next UTC day starts over */
	assert_int_equal(rl_check(t, &p, c1, 4, now + 86400000000ull), RL_PASS);
	/* RRL per /24: 127.0.0.x share one bucket; slip 2 */
	memset(&p, 0, sizeof(p));
	p.rrl = 4;
	p.rrl_slip = 2;
	{
		int n[3] = { 0, 0, 0 };

		for (i = 0; i < 10; i++) {
			uint8_t c[4] = { 192, 0, 2, (uint8_t)i };

			n[rrl_check(t, &p, c, 4, now, &slip)]++;
		}
		assert_int_equal(n[RRL_PASS], 4);
		assert_int_equal(n[RRL_SLIP], 3);
		assert_int_equal(n[RRL_DROP], 3);
	}
	assert_int_equal(rl_parse_policy(&p, "A 127.0.0.255"), 0);
	assert_int_equal(p.policy, RL_A);
	assert_int_equal(p.over_a, 0x7f0000ffu);
	assert_int_equal(rl_parse_policy(&p, "drop"), 0);
	assert_int_equal(p.policy, RL_DROP);
	assert_int_equal(rl_parse_policy(&p, "A nothing"), -1);
	assert_int_equal(rl_parse_policy(&p, "nxdomain"), -1);
	rl_table_free(t);
}

/* One table for every worker: threads asking at the same instant for one
 * client get exactly the burst between them, and a quota exactly. */
struct rl_thr {
	struct rl_table *t;
	const struct rl_params *p;
	uint64_t now;
	int pass, over;
};

static void *
rl_thr_run(void *arg)
{
	struct rl_thr *a = arg;
	uint8_t c[4] = { 198, 51, 100, 7 };
	int i;

	for (i = 0; i < 5000; i++) {
		enum rl_verdict v = rl_check(a->t, a->p, c, 4, a->now);

		a->pass += v == RL_PASS;
		a->over += v == RL_OVER_QUOTA;
	}
	return NULL;
}

static void
test_ratelimit_threads(void **state)
{
	struct rl_table *t = rl_table_new(1024);
	struct rl_params p;
	struct rl_thr a[4];
	pthread_t th[4];
	int i, pass, over;

	(void)state;
	assert_non_null(t);
	memset(&p, 0, sizeof(p));
	p.rate = 100;
	p.burst = 300;
	p.quota = 1000;
	for (i = 0; i < 4; i++) {
		a[i] = (struct rl_thr){ t, &p, 5000000000ull, 0, 0 };
		assert_int_equal(
		    pthread_create(&th[i], NULL, rl_thr_run, &a[i]), 0);
	}
	for (i = 0, pass = 0, over = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		pass += a[i].pass;
		over += a[i].over;
	}
	assert_int_equal(pass, 300); /* the burst, whatever the threads */
	assert_int_equal(over, 4 * 5000 - 1000); /* the quota counts all */
	rl_table_free(t);
}

static void
test_control_parse(void **state)
{
	struct control_req r;
	char err[256], big[CONTROL_LINE_MAX + 10];

	(void)state;
#define P(s) control_parse(s, strlen(s), &r, err, sizeof(err))
	assert_int_equal(P("RDCTL1 stats"), 0);
	assert_int_equal(r.cmd, CTL_STATS);
	assert_false(r.json);
	assert_int_equal(P("RDCTL1 stats --json"), 0);
	assert_true(r.json);
	assert_int_equal(P("RDCTL1 top zones -n 3 --by listed --json"), 0);
	assert_int_equal(r.cmd, CTL_TOP);
	assert_true(r.zones);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.by, ACCT_BY_LISTED);
	assert_int_equal(P("RDCTL1 top 7"), 0);
	assert_int_equal(r.n, 7);
	assert_false(r.zones);
	assert_int_equal(P("RDCTL1 reload"), 0);
	assert_true(r.changes);
	assert_int_equal(P("RDCTL1 flush-stats"), 0);
	assert_true(r.changes);
	assert_int_equal(P("RDCTL1 frobnicate"), 404);
	assert_non_null(strstr(err, "frobnicate"));
	assert_int_equal(P("RDCTL2 stats"), 505);
	assert_int_equal(P("GET / HTTP/1.0"), 400);
	assert_int_equal(P(""), 400);
	assert_int_equal(P("RDCTL1"), 400);
	assert_int_equal(P("RDCTL1 top -n"), 400);
	assert_int_equal(P("RDCTL1 top -n 0"), 400);
	assert_int_equal(P("RDCTL1 top --by bytes"), 400);
	assert_int_equal(P("RDCTL1 stats extra"), 400);
	assert_int_equal(
	    control_parse("RDCTL1 st\x01ts", 10, &r, err, sizeof(err)), 400);
	memset(big, 'a', sizeof(big));
	assert_int_equal(control_parse(big, sizeof(big), &r, err, sizeof(err)),
	    413);
#undef P
}

struct kvseen {
	int n;
	char keys[8][16];
};

static int
kv_cb(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct kvseen *s = arg;

	assert_true(kl < 16);
	assert_int_equal(vl, 8);
	memcpy(s->keys[s->n], k, kl);
	s->keys[s->n][kl] = '\0';
	assert_memory_equal(v, "01234567", 8);
	s->n++;
	return 0;
}

static void
test_kv(void **state)
{
	char dir[] = "/tmp/test_acct.XXXXXX", path[256];
	struct zn_db *db;
	struct zn_err err;
	struct zn_kv kv[3] = { { "b", 1, "01234567", 8 },
		{ "a", 1, "01234567", 8 }, { "c", 1, "01234567", 8 } };
	struct kvseen seen;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(zn_db_open(dir, 0, 1 << 24, &db, &err), 0);
	memset(&seen, 0, sizeof(seen));
	/* never written: empty */
	assert_int_equal(zn_kv_iter(db, "acct", kv_cb, &seen, &err), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(zn_kv_put(db, "acct", kv, 3, true, &err), 0);
	assert_int_equal(zn_kv_iter(db, "acct", kv_cb, &seen, &err), 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.keys[0], "a");
	assert_string_equal(seen.keys[2], "c");
	/* replace empties first */
	assert_int_equal(zn_kv_put(db, "acct", kv, 1, true, &err), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(zn_kv_iter(db, "acct", kv_cb, &seen, &err), 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.keys[0], "b");
	/* bad names */
	assert_int_equal(zn_kv_put(db, "Meta", kv, 1, false, &err), -EINVAL);
	assert_int_equal(zn_kv_put(db, "", kv, 1, false, &err), -EINVAL);
	zn_db_close(db);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spacesaving_flood),
		cmocka_unit_test(test_spacesaving_small),
		cmocka_unit_test(test_v6_aggregation),
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_acl),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_ratelimit_threads),
		cmocka_unit_test(test_control_parse),
		cmocka_unit_test(test_kv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
