/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "watch.h"

#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB)

/* One watched directory and the names in it that matter. */
struct wdir {
	int wd;
	char **names;
	size_t nnames;
};

struct watch {
	int fd;
	struct event *ev; /* the inotify descriptor is readable */
	struct event *timer; /* the change settled */
	void (*cb)(void *);
	void *arg;
	struct wdir *dirs;
	size_t ndirs;
	bool pending;
	int64_t first; /* ms: first event since the last callback */
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
clear_dirs(struct watch *w)
{
	size_t i, j;

	for (i = 0; i < w->ndirs; i++) {
		inotify_rm_watch(w->fd, w->dirs[i].wd);
		for (j = 0; j < w->dirs[i].nnames; j++)
			free(w->dirs[i].names[j]);
		free(w->dirs[i].names);
	}
	free(w->dirs);
	w->dirs = NULL;
	w->ndirs = 0;
}

static void
arm(struct watch *w)
{
	int64_t now = now_ms(), delay;
	struct timeval tv;

	if (!w->pending) {
		w->pending = true;
		w->first = now;
	}
	delay = WATCH_SETTLE_MS;
	if (w->first + WATCH_MAX_DELAY_MS - now < delay)
		delay = w->first + WATCH_MAX_DELAY_MS - now;
	if (delay < 0)
		delay = 0;
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	evtimer_add(w->timer, &tv);
}

static bool
wanted(const struct watch *w, const struct inotify_event *e)
{
	size_t i, j;

	if (e->mask & IN_Q_OVERFLOW)
		return true; /* events were lost: check everything */
	if (e->len == 0)
		return false;
	for (i = 0; i < w->ndirs; i++) {
		if (w->dirs[i].wd != e->wd)
			continue;
		for (j = 0; j < w->dirs[i].nnames; j++)
			if (strcmp(w->dirs[i].names[j], e->name) == 0)
				return true;
	}
	return false;
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;
	int rounds;

	(void)what;
	/* bounded: a flood of events in other files of a watched directory
	 * must not hold the main thread */
	for (rounds = 0; rounds < 64; rounds++) {
		char *p;

		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			break;
		for (p = buf; p + sizeof(struct inotify_event) <= buf + n;) {
			const struct inotify_event *e = (void *)p;

			if (p + sizeof(*e) + e->len > buf + n)
				break;
			hit = hit || wanted(w, e);
			p += sizeof(*e) + e->len;
		}
	}
	if (hit)
		arm(w);
}

static void
on_settled(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;

	(void)fd;
	(void)what;
	w->pending = false;
	w->cb(w->arg);
}

struct watch *
watch_new(struct event_base *base, void (*cb)(void *), void *arg)
{
	struct watch *w;
	int save;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->fd = -1;
	w->cb = cb;
	w->arg = arg;
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		goto fail;
	if ((w->ev = event_new(base, w->fd, EV_READ | EV_PERSIST, on_readable,
	         w)) == NULL ||
	    (w->timer = evtimer_new(base, on_settled, w)) == NULL ||
	    event_add(w->ev, NULL) != 0) {
		errno = ENOMEM;
		goto fail;
	}
	return w;
fail:
	save = errno;
	watch_free(w);
	errno = save;
	return NULL;
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->timer != NULL)
		event_free(w->timer);
	clear_dirs(w);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

/* Add name to the directory with watch descriptor wd.  0 or -ENOMEM. */
static int
add_name(struct watch *w, int wd, const char *name)
{
	struct wdir *d = NULL;
	char **nn, *s;
	size_t i;

	for (i = 0; i < w->ndirs; i++)
		if (w->dirs[i].wd == wd)
			d = &w->dirs[i];
	if (d == NULL) {
		struct wdir *nd;

		nd = realloc(w->dirs, (w->ndirs + 1) * sizeof(*nd));
		if (nd == NULL)
			return -ENOMEM;
		w->dirs = nd;
		d = &w->dirs[w->ndirs++];
		memset(d, 0, sizeof(*d));
		d->wd = wd;
	}
	for (i = 0; i < d->nnames; i++)
		if (strcmp(d->names[i], name) == 0)
			return 0;
	if ((s = strdup(name)) == NULL)
		return -ENOMEM;
	if ((nn = realloc(d->names, (d->nnames + 1) * sizeof(*nn))) == NULL) {
		free(s);
		return -ENOMEM;
	}
	d->names = nn;
	d->names[d->nnames++] = s;
	return 0;
}

size_t
watch_set(struct watch *w, const char *const *paths, size_t n)
{
	size_t i, watched = 0;

	clear_dirs(w);
	for (i = 0; i < n; i++) {
		char dir[PATH_MAX];
		const char *slash = strrchr(paths[i], '/'), *name;
		int wd;

		if (slash == NULL) {
			strcpy(dir, ".");
			name = paths[i];
		} else {
			size_t dl =
			    slash == paths[i] ? 1 : (size_t)(slash - paths[i]);

			if (dl >= sizeof(dir))
				continue;
			memcpy(dir, paths[i], dl);
			dir[dl] = '\0';
			name = slash + 1;
		}
		if (*name == '\0')
			continue;
		if ((wd = inotify_add_watch(w->fd, dir, WATCH_MASK)) == -1) {
			log_warn("cannot watch %s for changes of %s (checked "
			         "every -c interval only)",
			    dir, name);
			continue;
		}
		if (add_name(w, wd, name) != 0) {
			log_warnx("cannot watch %s: out of memory", paths[i]);
			continue;
		}
		watched++;
	}
	return watched;
}
