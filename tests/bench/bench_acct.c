/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The cost of accounting per query, in process (issue 6): the same
 * queries answered by query_answer() alone, by acct_answer() with
 * "accounting = no" (the ACL check only) and with "accounting = yes",
 * in alternating rounds, timed with the thread's CPU clock so that other
 * load on the machine counts less.  Clients: 1, or a new one every query
 * (a flood of distinct sources, the worst case of the client tables).
 *
 * usage: bench_acct [ROUNDS] [QUERIES_PER_ROUND]
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "acct.h"
#include "query.h"
#include "testutil.h"
#include "zones.h"

#define NQ 4096

static uint8_t qbuf[NQ][64];
static size_t qlen[NQ];

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A query for name, type A, class IN, no EDNS. */
static size_t
mkq(uint8_t *b, const char *name, uint16_t id)
{
	size_t n = 12, l;
	const char *p = name, *dot;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01; /* RD */
	b[5] = 1;
	while (*p != '\0') {
		dot = strchr(p, '.');
		l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		b[n++] = (uint8_t)l;
		memcpy(b + n, p, l);
		n += l;
		p += l;
		if (*p == '.')
			p++;
	}
	b[n++] = 0;
	b[n++] = 0;
	b[n++] = 1;
	b[n++] = 0;
	b[n++] = 1;
	return n;
}

enum mode {
	M_PLAIN,
	M_OFF,
	M_ON,
	M_N
};
static const char *const mode_names[M_N] = { "query_answer",
	"acct, accounting=no", "acct, accounting=yes" };

static double
round_run(enum mode m, struct acct_worker *w, const struct query_cfg *qc,
    struct zn_view *v, size_t nq, bool flood, uint32_t *srcctr)
{
	struct query_info info;
	uint8_t out[1232], client[4] = { 127, 0, 0, 2 };
	double t0 = cpu_now();
	size_t i, sum = 0;

	for (i = 0; i < nq; i++) {
		size_t k = i % NQ;

		if (flood) {
			uint32_t s = (*srcctr)++;

			client[0] = 10; /* 10/8 is allowed by the default ACL */
			client[1] = (uint8_t)(s >> 16);
			client[2] = (uint8_t)(s >> 8);
			client[3] = (uint8_t)s;
		}
		if (m == M_PLAIN)
			sum += query_answer(qc, v, qbuf[k], qlen[k], client, 4,
			    false, out, sizeof(out), &info);
		else
			sum += acct_answer(w, qc, v, qbuf[k], qlen[k], client,
			    4, false, out, sizeof(out), &info);
	}
	if (sum == 0)
		fprintf(stderr, "no answers?\n");
	return (double)nq / (cpu_now() - t0);
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	size_t nq = argc > 2 ? (size_t)atol(argv[2]) : 400000;
	struct zn_dataset *ds = tu_new_ds(ZN_IP4SET);
	struct acct_params *pon, *poff;
	struct acct *aon, *aoff;
	struct acct_worker *won, *woff;
	struct zn_db *db;
	struct zn_view *v;
	struct zn_err err;
	struct query_cfg qc;
	char *dir = tu_tmpdir(), ebuf[256], name[128];
	double r[2][M_N][64];
	uint32_t src = 0, seed = 6;
	int i, m, f;
	size_t k;

	if (rounds < 1 || rounds > 64)
		rounds = 7;
	for (k = 0; k < 20000; k++) {
		uint32_t lo;

		seed = seed * 1103515245u + 12345u;
		lo = (seed & 0xdfffff00u) | 0x01000000u;
		tu_add_ip4(ds, lo, lo | 0xff, 0x7f000002, "listed");
	}
	if (zn_db_open(dir, 0, 1 << 28, &db, &err) != 0 ||
	    tu_replace1(db, "bl.test:ip4set:bl.txt", ds) != 0 ||
	    zn_view_open(db, &v, &err) != 0 || zn_view_refresh(v, &err) < 0) {
		fprintf(stderr, "database: %s\n", err.msg);
		return 1;
	}
	for (k = 0; k < NQ; k++) {
		seed = seed * 1103515245u + 12345u;
		snprintf(name, sizeof(name), "%u.%u.%u.%u.bl.test", seed & 0xff,
		    (seed >> 8) & 0xff, (seed >> 16) & 0xff,
		    (seed >> 24) & 0xff);
		qlen[k] = mkq(qbuf[k], name, (uint16_t)k);
	}
	memset(&qc, 0, sizeof(qc));
	qc.ttl_def = 2100;
	qc.edns_size = 1232;
	pon = acct_params_new(false);
	poff = acct_params_new(false);
	poff->enabled = false;
	aon = acct_new(pon, NULL, ebuf, sizeof(ebuf));
	aoff = acct_new(poff, NULL, ebuf, sizeof(ebuf));
	won = acct_worker_new(aon);
	woff = acct_worker_new(aoff);
	for (f = 0; f < 2; f++)
		for (i = 0; i < rounds; i++)
			for (m = 0; m < M_N; m++)
				r[f][m][i] = round_run((enum mode)m,
				    m == M_ON ? won : woff, &qc, v, nq, f == 1,
				    &src);
	for (f = 0; f < 2; f++) {
		double med[M_N];

		printf("%s:\n",
		    f ? "a new client every query (flood)" : "one client");
		for (m = 0; m < M_N; m++) {
			double *x = r[f][m], t;
			int a, b;

			for (a = 0; a < rounds; a++)
				for (b = a + 1; b < rounds; b++)
					if (x[b] < x[a]) {
						t = x[a];
						x[a] = x[b];
						x[b] = t;
					}
			med[m] = x[rounds / 2];
			printf(
			    "  %-22s median %9.0f q/s (min %.0f, max %.0f)\n",
			    mode_names[m], med[m], x[0], x[rounds - 1]);
		}
		printf("  accounting=yes / query_answer: %.1f%%, "
		       "accounting=yes / accounting=no: %.1f%%\n",
		    100 * med[M_ON] / med[M_PLAIN],
		    100 * med[M_ON] / med[M_OFF]);
	}
	acct_worker_free(won);
	acct_worker_free(woff);
	acct_free(aon);
	acct_free(aoff);
	acct_params_unref(pon);
	acct_params_unref(poff);
	zn_view_close(v);
	zn_db_close(db);
	tu_rmtree(dir);
	free(dir);
	return 0;
}
