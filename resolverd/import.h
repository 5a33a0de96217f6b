/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Importing rbldnsd dataset files into the database, as rbldnsd reloads
 * them (REFERENCE-rbldnsd.md section 6), but as a diff in one write
 * transaction while the workers keep answering from their snapshots:
 * every check, each dataset's files are stat()ed; the zones that use a
 * dataset whose files changed (mtime or size, or stat failing) are
 * re-read and replaced with zn_db_replace.  A dataset that fails to load
 * keeps its old data (rbldnsd would answer SERVFAIL) and is retried at the
 * next check.  Runs in the main thread only.
 */
#ifndef RESOLVERD_IMPORT_H
#define RESOLVERD_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "zones.h"

struct import;

/* db is borrowed.  NULL and errno on failure. */
struct import *import_new(struct zn_db *db, bool host_bits_ok, bool no_gunzip);
void import_free(struct import *im);

/*
 * Set the datasets to import: specs[i] checked every intervals[i]
 * seconds (0: only when forced).  The specs are copied.  A dataset kept
 * from the previous set keeps its file state; new ones are imported at
 * the next import_run.  0 or -errno.
 */
int import_set(struct import *im, const struct zn_spec *specs,
    const unsigned *intervals, size_t n);

/*
 * Check the datasets that are due (all when force is set) and import
 * the zones whose files changed.  Returns 0 when everything checked is
 * current, 1 if something was written, or a negative errno when a
 * dataset failed to load or the write failed (logged; the old data
 * stays).
 */
int import_run(struct import *im, bool force, time_t now);

/* True when every dataset has been imported at least once. */
bool import_complete(const struct import *im);

#endif /* RESOLVERD_IMPORT_H */
