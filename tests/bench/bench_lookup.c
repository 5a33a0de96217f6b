/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * In-process lookup throughput: the names (one per line in a file) are
 * parsed once, then looked up round-robin for a fixed time on one thread,
 * the way a resolverd worker does (zone match + lookup + render, with the
 * read transaction renewed every 64 lookups as per batch).
 *
 * usage: bench_lookup DBDIR NAMES-FILE [SECONDS]
 * prints: lookups=N seconds=S per_sec=R listed=L
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zones.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static struct zn_result r;
	static struct zn_rendered out;
	struct zn_db *db;
	struct zn_view *v;
	struct zn_err err;
	struct zn_qname *q = NULL;
	size_t n = 0, cap = 0, i, listed = 0;
	unsigned long long done = 0;
	double secs = argc > 3 ? atof(argv[3]) : 3.0, t0, t;
	char line[512];
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_lookup DBDIR NAMES [SECONDS]\n");
		return 2;
	}
	if ((f = fopen(argv[2], "r")) == NULL) {
		perror(argv[2]);
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			q = reallocarray(q, cap, sizeof(*q));
			if (q == NULL)
				return 1;
		}
		if (zn_qname_from_text(&q[n], line) == 0)
			n++;
	}
	fclose(f);
	if (n == 0 || zn_db_open(argv[1], ZN_DB_RDONLY, 0, &db, &err) != 0 ||
	    zn_view_open(db, &v, &err) != 0) {
		fprintf(stderr, "bench_lookup: %s\n", n ? err.msg : "no names");
		return 1;
	}
	t0 = now();
	do {
		for (i = 0; i < 4096; i++) {
			const struct zn_qname *qn = &q[(done + i) % n];
			const struct zn_zone *z;
			unsigned nkey;

			if ((i & 63) == 0 && zn_view_refresh(v, &err) < 0) {
				fprintf(stderr, "bench_lookup: %s\n", err.msg);
				return 1;
			}
			if ((z = zn_view_match(v, qn, &nkey)) == NULL ||
			    zn_lookup(v, z, qn, nkey, &r) != 0)
				continue;
			if (r.flags & ZN_R_LISTED) {
				zn_result_render(&r, 2100, &out);
				listed++;
			}
		}
		done += i;
		t = now() - t0;
	} while (t < secs);
	printf("lookups=%llu seconds=%.2f per_sec=%.0f listed=%zu\n", done, t,
	    done / t, listed);
	zn_view_close(v);
	zn_db_close(db);
	free(q);
	return 0;
}
