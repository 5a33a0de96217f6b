/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Noticing dataset file changes as they happen (Linux inotify), so a
 * file rewritten by rsync, cp or an editor is re-imported within a fraction
 * of a second instead of at the next -c check.  The periodic check stays
 * as the fallback (and is all there is where inotify is not available or a
 * directory cannot be watched).
 *
 * The parent directories of the files are watched, not the files: rsync
 * and most tools write a temporary file and rename it over the old one,
 * which a watch on the old file's inode would miss.  Only a completed
 * write (the writer closed the file), a rename into place and an
 * attribute change (touch, the classic way to make rbldnsd reload) count;
 * the callback runs WATCH_SETTLE_MS after the last such event, and at most
 * WATCH_MAX_DELAY_MS after the first one while events keep coming.
 */
#ifndef RESOLVERD_WATCH_H
#define RESOLVERD_WATCH_H

#include <stddef.h>

struct event_base;
struct watch;

#define WATCH_SETTLE_MS 200
#define WATCH_MAX_DELAY_MS 1000

/* NULL and errno when inotify is not available. */
struct watch *watch_new(struct event_base *base, void (*cb)(void *), void *arg);
void watch_free(struct watch *w);

/*
 * Watch exactly these files (paths as the datasets name them, relative
 * to the working directory or absolute); replaces the previous set.
 * Returns how many of the files are watched; a directory that cannot be
 * watched is logged once per call and left to the periodic check.
 */
size_t watch_set(struct watch *w, const char *const *paths, size_t n);

#endif /* RESOLVERD_WATCH_H */
