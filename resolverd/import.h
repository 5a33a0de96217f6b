/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Importing rbldnsd dataset files into the database, as rbldnsd reloads
 * them (REFERENCE-rbldnsd.md section 6), but as a diff in one write
 * transaction while the workers keep answering from their snapshots.
 *
 * The database remembers the identity (size, mtime, inode, device) of
 * every file it was compiled from, so each check, and a restart, costs a
 * stat() per file: only a dataset whose files changed (or cannot be
 * stat()ed) is read again, and the write names every configured zone
 * (ZN_REPLACE_ALL), so zones no longer configured are dropped with the
 * datasets only they used; the zones zonesync writes (mode = feed) are
 * named in a keep-list instead and never touched.  A dataset that fails to load keeps its old
 * data (rbldnsd would answer SERVFAIL) and is retried at the next check;
 * a zone that cannot be built at all keeps its stored definition.  Runs
 * in the main thread only.
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
 * seconds (0: only when forced).  The specs are the complete zone set:
 * the next import_run drops the zones they do not name.  The specs are
 * copied.  0 or -errno.
 */
int import_set(struct import *im, const struct zn_spec *specs,
    const unsigned *intervals, size_t n);

/*
 * The zones (lower-case, no trailing dot) configured with mode = feed:
 * the imports keep them as zonesync wrote them.  Each one not synced yet
 * is logged (once per call: it answers SERVFAIL until it is).  ffzones
 * are the zones with files-from: a dataset only they use whose file does
 * not exist yet (and that the database does not hold) is not an error,
 * just not served until zonesync -c has fetched it.  The names are
 * copied.  0 or -ENOMEM.
 */
int import_keep(struct import *im, const char *const *zones, size_t n,
    const char *const *ffzones, size_t nff);

/*
 * Check the datasets that are due (all when force is set), read those
 * whose files changed and write the result in one transaction.  Returns 0
 * when nothing had to be written, 1 if something was, or a negative errno
 * when a dataset failed to load or the write failed (logged; the old data
 * stays).
 */
int import_run(struct import *im, bool force, time_t now);

/* Make every dataset with a check interval due at the next import_run
 * (its files changed: watch.c). */
void import_due(struct import *im);

#endif /* RESOLVERD_IMPORT_H */
