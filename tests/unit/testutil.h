/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the unit tests: temp dirs and hand-built datasets. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones.h"

/* A new temporary directory (free() it) and its removal. */
char *tu_tmpdir(void);
void tu_rmtree(const char *dir);

/* Append one value to an answer blob of len bytes (len 0 starts one). */
size_t tu_answer(uint8_t *b, size_t len, uint32_t a, const char *txt);

struct zn_dataset *tu_new_ds(enum zn_dstype t);
/* An IPv4 interval [lo, hi] with one value. */
void tu_add_ip4(struct zn_dataset *ds, uint32_t lo, uint32_t hi, uint32_t a,
    const char *txt);
/* An IPv4 interval with a prepared answer blob. */
void tu_add_ip4_blob(struct zn_dataset *ds, uint32_t lo, uint32_t hi,
    const uint8_t *ans, size_t alen);
/* A name entry (kind ZN_NAME_EXACT or ZN_NAME_WILD). */
void tu_add_name(struct zn_dataset *ds, const char *name, int kind, uint32_t a,
    const char *txt, bool excl);
/* A generic rrset for name (relative, "" = apex). */
void tu_add_rr(struct zn_dataset *ds, const char *name, uint16_t type,
    uint32_t ttl, const uint8_t *rdata, size_t rdlen);

/* Sort ds and make it the only dataset of the zone in spec. */
int tu_replace1(struct zn_db *db, const char *spec, struct zn_dataset *ds);
/* Sort every dataset and replace their zones in one transaction. */
int tu_replace(struct zn_db *db, const char *const *specs,
    struct zn_dataset **ds, size_t n);
/* zonetool-dump text of the whole database (free() it). */
char *tu_dump(struct zn_db *db);

#endif
