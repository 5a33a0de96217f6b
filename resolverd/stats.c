/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "stats.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct stats_zone {
	char *name;
	struct stats_counters c, last;
};

struct stats {
	pthread_mutex_t lock;
	struct stats_zone *z;
	size_t nz;
	struct stats_counters global, glast;
	time_t since; /* start, or the last reset */
};

struct stats *
stats_new(void)
{
	struct stats *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->since = time(NULL);
	return s;
}

void
stats_free(struct stats *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nz; i++)
		free(s->z[i].name);
	free(s->z);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void
add(struct stats_counters *a, const struct stats_counters *b)
{
	a->q += b->q;
	a->ok += b->ok;
	a->nxd += b->nxd;
	a->in += b->in;
	a->out += b->out;
}

static void
count(struct stats_counters *c, bool dropped, int rcode, size_t in, size_t out)
{
	c->q++;
	c->in += in;
	if (dropped)
		return;
	c->out += out;
	if (rcode == 0)
		c->ok++;
	else if (rcode == 3)
		c->nxd++;
}

void
stats_local_count(struct stats_local *l, const struct zn_zone *z, bool dropped,
    int rcode, size_t in, size_t out)
{
	size_t i;

	count(&l->global, dropped, rcode, in, out);
	if (z == NULL)
		return;
	if (l->last < l->n && l->slot[l->last].z == z) {
		count(&l->slot[l->last].c, dropped, rcode, in, out);
		return;
	}
	for (i = 0; i < l->n; i++)
		if (l->slot[i].z == z)
			break;
	if (i == l->n)
		for (i = 0; i < l->n; i++)
			if (l->slot[i].z == NULL &&
			    strcmp(l->slot[i].name, z->name) == 0) {
				l->slot[i].z = z;
				break;
			}
	if (i == l->n) {
		if (l->n == sizeof(l->slot) / sizeof(l->slot[0]))
			return; /* counted in the global line only */
		l->slot[i].z = z;
		snprintf(l->slot[i].name, sizeof(l->slot[i].name), "%s",
		    z->name);
		memset(&l->slot[i].c, 0, sizeof(l->slot[i].c));
		l->n++;
	}
	l->last = i;
	count(&l->slot[i].c, dropped, rcode, in, out);
}

void
stats_local_invalidate(struct stats_local *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		l->slot[i].z = NULL;
}

void
stats_local_flush(struct stats_local *l, struct stats *s)
{
	size_t i, j;

	if (l->global.q == 0)
		return;
	pthread_mutex_lock(&s->lock);
	add(&s->global, &l->global);
	for (i = 0; i < l->n; i++) {
		if (l->slot[i].c.q == 0)
			continue;
		for (j = 0; j < s->nz; j++)
			if (strcmp(s->z[j].name, l->slot[i].name) == 0)
				break;
		if (j == s->nz) {
			struct stats_zone *nz;

			if (s->nz >= STATS_ZONES_MAX)
				continue;
			nz = reallocarray(s->z, s->nz + 1, sizeof(*nz));
			if (nz == NULL)
				continue;
			s->z = nz;
			memset(&s->z[j], 0, sizeof(s->z[j]));
			if ((s->z[j].name = strdup(l->slot[i].name)) == NULL)
				continue;
			s->nz++;
		}
		add(&s->z[j].c, &l->slot[i].c);
		memset(&l->slot[i].c, 0, sizeof(l->slot[i].c));
	}
	pthread_mutex_unlock(&s->lock);
	memset(&l->global, 0, sizeof(l->global));
}

static void
put(FILE *f, const char *name, struct stats_counters *c,
    struct stats_counters *last, bool delta)
{
	struct stats_counters d = *c;

	if (delta) {
		d.q -= last->q;
		d.ok -= last->ok;
		d.nxd -= last->nxd;
		d.in -= last->in;
		d.out -= last->out;
		*last = *c;
	}
	fprintf(f,
	    " %s:%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%" PRIu64,
	    name, d.q, d.ok, d.nxd, d.in, d.out);
}

static void
log_line(FILE *f, long secs, const char *zone, const struct stats_counters *c)
{
	uint64_t err = c->q - c->ok - c->nxd;

	if (zone != NULL)
		fprintf(f, "stats for %ldsecs zone %.60s:", secs, zone);
	else
		fprintf(f, "stats for %ldsec:", secs);
	fprintf(f,
	    " tot=%" PRIu64 " ok=%" PRIu64 " nxd=%" PRIu64 " err=%" PRIu64
	    " in=%" PRIu64 " out=%" PRIu64 "\n",
	    c->q, c->ok, c->nxd, err, c->in, c->out);
}

int
stats_log(struct stats *s, FILE *f, time_t now, const char *const *zones,
    size_t nzones, bool reset)
{
	static const struct stats_counters zero;
	long secs;
	size_t i, j;

	pthread_mutex_lock(&s->lock);
	secs = (long)(now - s->since);
	for (i = 0; i < nzones; i++) {
		for (j = 0; j < s->nz; j++)
			if (strcmp(s->z[j].name, zones[i]) == 0)
				break;
		log_line(f, secs, zones[i], j < s->nz ? &s->z[j].c : &zero);
	}
	for (j = 0; j < s->nz; j++) {
		for (i = 0; i < nzones; i++)
			if (strcmp(s->z[j].name, zones[i]) == 0)
				break;
		if (i == nzones)
			log_line(f, secs, s->z[j].name, &s->z[j].c);
	}
	log_line(f, secs, NULL, &s->global);
	if (reset) {
		for (j = 0; j < s->nz; j++) {
			memset(&s->z[j].c, 0, sizeof(s->z[j].c));
			memset(&s->z[j].last, 0, sizeof(s->z[j].last));
		}
		memset(&s->global, 0, sizeof(s->global));
		memset(&s->glast, 0, sizeof(s->glast));
		s->since = now;
	}
	pthread_mutex_unlock(&s->lock);
	return ferror(f) ? -EIO : 0;
}

int
stats_write(struct stats *s, FILE *f, time_t now, bool delta, bool bare)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	fprintf(f, "%lld", (long long)now);
	if (!bare) {
		for (i = 0; i < s->nz; i++)
			put(f, s->z[i].name, &s->z[i].c, &s->z[i].last, delta);
		put(f, "*", &s->global, &s->glast, delta);
	}
	fputc('\n', f);
	pthread_mutex_unlock(&s->lock);
	return ferror(f) ? -EIO : 0;
}
