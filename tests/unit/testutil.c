/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse_int.h"

char *
tu_tmpdir(void)
{
	char *d = strdup("/tmp/zn-unit.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

void
tu_rmtree(const char *d)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

size_t
tu_answer(uint8_t *b, size_t n, uint32_t a, const char *txt)
{
	size_t tl = txt ? strlen(txt) : 0;

	if (n == 0)
		b[n++] = 0;
	b[n++] = a >> 24;
	b[n++] = a >> 16;
	b[n++] = a >> 8;
	b[n++] = a;
	b[n++] = txt ? ZN_TXT_TEXT : ZN_TXT_NONE;
	b[n++] = tl;
	if (tl > 0)
		memcpy(b + n, txt, tl);
	return n + tl;
}

struct zn_dataset *
tu_new_ds(enum zn_dstype t)
{
	struct zn_dataset *ds = calloc(1, sizeof(*ds));

	assert_non_null(ds);
	ds->type = t;
	return ds;
}

void
tu_add_ip4_blob(struct zn_dataset *ds, uint32_t lo, uint32_t hi,
    const uint8_t *ans, size_t alen)
{
	uint8_t k[5] = { ZN_KEY_IP4, hi >> 24, hi >> 16, hi >> 8, hi };
	uint8_t *b = malloc(4 + alen);

	assert_non_null(b);
	b[0] = lo >> 24;
	b[1] = lo >> 16;
	b[2] = lo >> 8;
	b[3] = lo;
	memcpy(b + 4, ans, alen);
	assert_int_equal(zn_ds_add(ds, k, 5, b, 4 + alen), 0);
	free(b);
}

void
tu_add_ip4(struct zn_dataset *ds, uint32_t lo, uint32_t hi, uint32_t a,
    const char *txt)
{
	uint8_t b[300];

	tu_add_ip4_blob(ds, lo, hi, b, tu_answer(b, 0, a, txt));
}

void
tu_add_name(struct zn_dataset *ds, const char *name, int kind, uint32_t a,
    const char *txt, bool excl)
{
	uint8_t k[ZN_KEY_MAX], b[300];
	int kl = zn_revname(name, strlen(name), k + 1, sizeof(k) - 2);
	size_t n;

	assert_true(kl >= 0);
	k[0] = ZN_KEY_NAME;
	k[kl + 1] = kind;
	n = tu_answer(b, 0, a, txt);
	if (excl) {
		b[0] = ZN_ANS_EXCLUDED;
		n = 1;
	}
	assert_int_equal(zn_ds_add(ds, k, kl + 2, b, n), 0);
}

void
tu_add_rr(struct zn_dataset *ds, const char *name, uint16_t type, uint32_t ttl,
    const uint8_t *rdata, size_t rdlen)
{
	uint8_t k[ZN_KEY_MAX], b[600];
	int kl = zn_revname(name, strlen(name), k + 1, sizeof(k) - 3);

	assert_true(kl >= 0);
	assert_true(rdlen + 6 <= sizeof(b));
	k[0] = ZN_KEY_GENERIC;
	k[kl + 1] = type >> 8;
	k[kl + 2] = type;
	b[0] = ttl >> 24;
	b[1] = ttl >> 16;
	b[2] = ttl >> 8;
	b[3] = ttl;
	b[4] = rdlen >> 8;
	b[5] = rdlen;
	memcpy(b + 6, rdata, rdlen);
	assert_int_equal(zn_ds_add(ds, k, kl + 3, b, rdlen + 6), 0);
}

int
tu_replace(struct zn_db *db, const char *const *specs, struct zn_dataset **ds,
    size_t n)
{
	struct zn_spec s[16];
	struct zn_err err;
	size_t i;
	int rc;

	assert_true(n <= 16);
	for (i = 0; i < n; i++) {
		assert_int_equal(zn_spec_parse(specs[i], &s[i], &err), 0);
		assert_int_equal(zn_ds_sort(ds[i]), 0);
	}
	rc = zn_db_replace(db, s, ds, n, NULL, &err);
	for (i = 0; i < n; i++)
		zn_spec_cleanup(&s[i]);
	return rc;
}

int
tu_replace1(struct zn_db *db, const char *spec, struct zn_dataset *ds)
{
	return tu_replace(db, &spec, &ds, 1);
}

char *
tu_dump(struct zn_db *db)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct zn_err err;

	assert_non_null(f);
	assert_int_equal(zn_db_dump(db, NULL, f, &err), 0);
	fclose(f);
	return buf;
}
