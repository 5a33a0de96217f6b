/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "import.h"

#include <sys/resource.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "log.h"

#define WARN_MAX 100 /* warnings logged per dataset load */

/*
 * One distinct "type:files" dataset; zones may share it.  What the
 * database holds is read from the database at every check, so nothing
 * here can go stale.
 */
struct dset {
	const struct zn_spec *spec; /* the first spec naming it */
	unsigned interval; /* smallest non-zero interval of its specs */
	time_t next;
	/* this run */
	bool checked; /* stored is known */
	bool stored; /* the database holds it */
	bool changed; /* its files differ from what the database holds */
	bool failed; /* reading it failed */
	struct zn_fileid *now; /* its files' identities before reading */
	struct zn_dataset *ds; /* read in this run */
};

struct import {
	struct zn_db *db;
	struct zn_parse_opts opts;
	struct zn_spec *specs;
	size_t n;
	size_t *dsi; /* dataset of spec i */
	struct dset *d;
	size_t nd;
	char **keep; /* zones zonesync writes (mode = feed): never dropped */
	size_t nkeep;
	char **ff; /* files-from zones: a missing file is not fetched yet */
	size_t nff;
};

/* Context of the warning callback for one load. */
struct warnctx {
	const char *what;
	size_t n;
};

/* The specs of one write: borrowed from the import or from the database. */
struct wset {
	struct zn_spec *specs; /* shallow copies */
	struct zn_dataset **ds;
	size_t n, cap;
	struct zn_spec **owned; /* read from the database: freed after */
	size_t *nowned;
	size_t nown;
};

struct import *
import_new(struct zn_db *db, bool host_bits_ok, bool no_gunzip)
{
	struct import *im;

	if ((im = calloc(1, sizeof(*im))) == NULL)
		return NULL;
	im->db = db;
	im->opts.host_bits_ok = host_bits_ok;
	im->opts.no_gunzip = no_gunzip;
	return im;
}

static void
reset_run(struct dset *d)
{
	free(d->now);
	d->now = NULL;
	zn_dataset_free(d->ds);
	d->ds = NULL;
	d->checked = d->stored = d->changed = d->failed = false;
}

static void
free_set(struct zn_spec *specs, size_t n, size_t *dsi, struct dset *d,
    size_t nd)
{
	size_t i;

	for (i = 0; i < n; i++)
		zn_spec_cleanup(&specs[i]);
	free(specs);
	free(dsi);
	for (i = 0; i < nd; i++)
		reset_run(&d[i]);
	free(d);
}

static void
free_keep(char **keep, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(keep[i]);
	free(keep);
}

void
import_free(struct import *im)
{
	if (im == NULL)
		return;
	free_set(im->specs, im->n, im->dsi, im->d, im->nd);
	free_keep(im->keep, im->nkeep);
	free_keep(im->ff, im->nff);
	free(im);
}

static char **
copy_names(const char *const *v, size_t n)
{
	char **nk;
	size_t i;

	if ((nk = calloc(n + 1, sizeof(*nk))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((nk[i] = strdup(v[i])) == NULL) {
			free_keep(nk, i);
			return NULL;
		}
	return nk;
}

int
import_keep(struct import *im, const char *const *zones, size_t n,
    const char *const *ffzones, size_t nff)
{
	struct zn_feed_state fs;
	struct zn_err err;
	char **nk, **nf;
	size_t i;
	int rc;

	if ((nk = copy_names(zones, n)) == NULL)
		return -ENOMEM;
	if ((nf = copy_names(ffzones, nff)) == NULL) {
		free_keep(nk, n);
		return -ENOMEM;
	}
	free_keep(im->keep, im->nkeep);
	im->keep = nk;
	im->nkeep = n;
	free_keep(im->ff, im->nff);
	im->ff = nf;
	im->nff = nff;
	for (i = 0; i < n; i++) {
		rc = zn_feed_state_get(im->db, zones[i], &fs, &err);
		if (rc == -ENOENT)
			log_warnx("zone %s: mode = feed, never synced: "
			          "SERVFAIL until zonesync -c writes it",
			    zones[i]);
		else if (rc != 0)
			log_warnx("zone %s: feed state: %s", zones[i], err.msg);
		else
			log_info("zone %s: feed serial %llu", zones[i],
			    (unsigned long long)fs.serial);
	}
	return 0;
}

static bool
same_dataset(const struct zn_spec *a, const struct zn_spec *b)
{
	return a->type == b->type && strcmp(a->files, b->files) == 0;
}

int
import_set(struct import *im, const struct zn_spec *specs,
    const unsigned *intervals, size_t n)
{
	struct zn_spec *ns;
	struct dset *nd;
	size_t *dsi, i, j, ndd = 0;
	struct zn_err err;

	ns = calloc(n + 1, sizeof(*ns));
	dsi = calloc(n + 1, sizeof(*dsi));
	nd = calloc(n + 1, sizeof(*nd));
	if (ns == NULL || dsi == NULL || nd == NULL) {
		free(ns);
		free(dsi);
		free(nd);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		char *s;
		int rc;

		if (asprintf(&s, "%s:%s:%s", specs[i].zone,
		        zn_type_name(specs[i].type), specs[i].files) == -1) {
			free_set(ns, i, dsi, nd, ndd);
			return -ENOMEM;
		}
		rc = zn_spec_parse(s, &ns[i], &err);
		free(s);
		if (rc != 0) {
			free_set(ns, i, dsi, nd, ndd);
			return rc;
		}
		for (j = 0; j < ndd; j++)
			if (same_dataset(nd[j].spec, &ns[i]))
				break;
		if (j == ndd) {
			nd[j].spec = &ns[i];
			ndd++;
		}
		dsi[i] = j;
		if (intervals[i] != 0 &&
		    (nd[j].interval == 0 || intervals[i] < nd[j].interval))
			nd[j].interval = intervals[i];
	}
	/* datasets we already check keep their schedule */
	for (j = 0; j < ndd; j++)
		for (i = 0; i < im->nd; i++)
			if (same_dataset(im->d[i].spec, nd[j].spec)) {
				nd[j].next = im->d[i].next;
				break;
			}
	free_set(im->specs, im->n, im->dsi, im->d, im->nd);
	im->specs = ns;
	im->n = n;
	im->dsi = dsi;
	im->d = nd;
	im->nd = ndd;
	return 0;
}

static const char *
dsname(const struct dset *d)
{
	return zn_type_name(d->spec->type);
}

/*
 * What the database holds for d, and whether d's files differ from it
 * (a file that cannot be stat()ed differs: reading it says why).
 */
static int
check(struct import *im, struct dset *d)
{
	const struct zn_spec *s = d->spec;
	struct zn_fileid *held;
	struct zn_err err;
	size_t k;
	int rc;

	free(d->now);
	d->now = calloc(s->nfiles, sizeof(*d->now));
	held = calloc(s->nfiles, sizeof(*held));
	if (d->now == NULL || held == NULL) {
		free(held);
		return -ENOMEM;
	}
	rc = zn_db_fileids(im->db, s, held, &err);
	if (rc != 0 && rc != -ENOENT && rc != -ENODATA)
		log_warnx("%s:%s: database: %s", dsname(d), s->files, err.msg);
	d->checked = true;
	d->stored = rc == 0 || rc == -ENODATA;
	d->changed = rc != 0;
	for (k = 0; k < s->nfiles; k++)
		if (zn_fileid_stat(s->filev[k], &d->now[k]) != 0 ||
		    !zn_fileid_equal(&d->now[k], &held[k]))
			d->changed = true;
	free(held);
	return 0;
}

static void
on_warn(void *ctx, const char *msg)
{
	struct warnctx *w = ctx;
	char buf[512];
	size_t i;

	if (w->n++ >= WARN_MAX)
		return;
	/* file contents are not ours: no control bytes in the log */
	for (i = 0; msg[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = (msg[i] >= 0 && msg[i] < ' ') || msg[i] == 0x7f ?
		    '?' :
		    msg[i];
	buf[i] = '\0';
	log_warnx("%s", buf);
}

static double
cpu_user(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) == -1)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t
count_entries(const struct zn_dataset *ds)
{
	size_t i, n = ds->nent;

	for (i = 0; i < ds->nsubsets; i++)
		n += ds->subsets[i].ds->nent;
	return n;
}

/*
 * A dataset of a files-from zone with a file that does not exist yet:
 * zonesync -c has not fetched it.  Not an error; it loads once it is
 * there.
 */
static bool
awaiting(const struct import *im, const struct dset *d)
{
	struct zn_fileid id;
	size_t i, k;

	for (i = 0; i < im->n; i++) {
		if (im->d + im->dsi[i] != d)
			continue;
		for (k = 0; k < im->nff; k++)
			if (strcmp(im->specs[i].zone, im->ff[k]) == 0)
				break;
		if (k == im->nff)
			return false; /* some zone wants it now */
	}
	for (i = 0; i < d->spec->nfiles; i++)
		if (zn_fileid_stat(d->spec->filev[i], &id) == -ENOENT)
			return true;
	return false;
}

/* Read dataset d; false (logged) if it failed. */
static bool
load(struct import *im, struct dset *d)
{
	const struct zn_spec *s = d->spec;
	struct zn_parse_opts opts = im->opts;
	struct warnctx wc = { s->files, 0 };
	struct zn_err err;
	int rc;

	opts.warn = on_warn;
	opts.warn_ctx = &wc;
	rc = zn_dataset_load(s->type, (const char *const *)s->filev, s->nfiles,
	    &opts, &d->ds, &err);
	if (wc.n > WARN_MAX)
		log_warnx("%s:%s: %zu more warnings not shown", dsname(d),
		    s->files, wc.n - WARN_MAX);
	if (rc != 0) {
		d->ds = NULL;
		log_warnx("%s:%s: %s; %s", dsname(d), s->files, err.msg,
		    d->stored ? "keeping the old data" : "not served");
		return false;
	}
	log_info("%s:%s: %zu entries, %zu stored, %zu skipped lines", dsname(d),
	    s->files, d->ds->nsource, count_entries(d->ds), d->ds->nskipped);
	return true;
}

static int
wset_add(struct wset *w, const struct zn_spec *spec, struct zn_dataset *ds)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct zn_spec *ns = reallocarray(w->specs, cap, sizeof(*ns));
		struct zn_dataset **nd;

		if (ns == NULL)
			return -ENOMEM;
		w->specs = ns;
		if ((nd = reallocarray(w->ds, cap, sizeof(*nd))) == NULL)
			return -ENOMEM;
		w->ds = nd;
		w->cap = cap;
	}
	w->specs[w->n] = *spec;
	w->ds[w->n++] = ds;
	return 0;
}

static void
wset_free(struct wset *w)
{
	size_t i, j;

	for (i = 0; i < w->nown; i++) {
		for (j = 0; j < w->nowned[i]; j++)
			zn_spec_cleanup(&w->owned[i][j]);
		free(w->owned[i]);
	}
	free(w->owned);
	free(w->nowned);
	free(w->specs);
	free(w->ds);
}

/*
 * A zone some of whose datasets are neither read nor stored keeps what
 * the database holds for it, if anything.
 */
static int
keep_zone(struct import *im, struct wset *w, const char *zone)
{
	struct zn_spec *sp, **no;
	struct zn_err err;
	size_t n, i, *nn;
	int rc;

	rc = zn_db_zone_specs(im->db, zone, &sp, &n, &err);
	if (rc == -ENOENT) {
		log_warnx("zone %s: not served until its datasets load", zone);
		return 0;
	}
	if (rc != 0) {
		log_warnx("zone %s: database: %s", zone, err.msg);
		return rc;
	}
	no = reallocarray(w->owned, w->nown + 1, sizeof(*no));
	if (no != NULL)
		w->owned = no;
	nn = reallocarray(w->nowned, w->nown + 1, sizeof(*nn));
	if (nn != NULL)
		w->nowned = nn;
	if (no == NULL || nn == NULL) {
		for (i = 0; i < n; i++)
			zn_spec_cleanup(&sp[i]);
		free(sp);
		return -ENOMEM;
	}
	w->owned[w->nown] = sp;
	w->nowned[w->nown++] = n;
	log_warnx("zone %s: keeping the datasets it had", zone);
	for (i = 0; i < n; i++)
		if ((rc = wset_add(w, &sp[i], NULL)) != 0)
			return rc;
	return 0;
}

/*
 * Every configured zone, each with the datasets read in this run and
 * the stored ones kept as they are (NULL).
 */
static int
build_set(struct import *im, struct wset *w)
{
	size_t i, k;
	int rc;

	for (i = 0; i < im->n; i++) {
		const char *zone = im->specs[i].zone;
		bool buildable = true, first = true;

		for (k = 0; k < im->n; k++) {
			const struct dset *d = &im->d[im->dsi[k]];

			if (strcmp(im->specs[k].zone, zone) != 0)
				continue;
			if (k < i)
				first = false;
			if (d->ds == NULL && !d->stored)
				buildable = false;
		}
		if (!first)
			continue;
		if (!buildable) {
			if ((rc = keep_zone(im, w, zone)) != 0)
				return rc;
			continue;
		}
		for (k = i; k < im->n; k++) {
			struct dset *d = &im->d[im->dsi[k]];
			struct zn_spec s = im->specs[k];

			if (strcmp(s.zone, zone) != 0)
				continue;
			s.ids = d->ds != NULL ? d->now : NULL;
			if ((rc = wset_add(w, &s, d->ds)) != 0)
				return rc;
		}
	}
	return 0;
}

int
import_run(struct import *im, bool force, time_t now)
{
	struct zn_write_stats st;
	struct zn_err err;
	struct wset w;
	bool any = false, failed = false;
	double t0 = mono(), u0 = cpu_user();
	size_t j;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	/* 1: the datasets that are due, and which of them changed */
	for (j = 0; j < im->nd; j++) {
		struct dset *d = &im->d[j];

		reset_run(d);
		if (!force && (d->interval == 0 || now < d->next))
			continue;
		if (d->interval != 0)
			d->next = now + d->interval;
		if ((rc = check(im, d)) != 0)
			goto out;
		if (d->changed && !force && !d->stored && awaiting(im, d))
			d->changed = false; /* nothing to do until it arrives */
		any = any || d->changed;
	}
	if (!any && !force)
		goto out;

	/* 2: read them; the others need to be known as stored or not */
	for (j = 0; j < im->nd; j++) {
		struct dset *d = &im->d[j];

		if (!d->checked && (rc = check(im, d)) != 0)
			goto out;
		if (d->changed && !d->ds && !d->stored && awaiting(im, d)) {
			if (force)
				log_info("%s:%s: not fetched yet (files-from: "
				         "zonesync -c fetches it)",
				    dsname(d), d->spec->files);
			continue;
		}
		if (d->changed && !d->ds && !load(im, d)) {
			d->failed = true;
			failed = true;
		}
	}

	/* 3: one write transaction naming every zone */
	if ((rc = build_set(im, &w)) != 0)
		goto out;
	rc = zn_db_replace_keep(im->db, w.specs, w.ds, w.n, ZN_REPLACE_ALL,
	    (const char *const *)im->keep, im->nkeep, &st, &err);
	if (rc != 0) {
		log_warnx("database: %s; keeping the old data", err.msg);
		goto out;
	}
	if (st.zones_dropped > 0)
		log_info("%zu zones no longer configured: dropped",
		    st.zones_dropped);
	if (st.changed)
		log_info("zones reloaded, time %.2fe/%.2fu sec, %zu entries "
		         "written, %zu deleted",
		    mono() - t0, cpu_user() - u0, st.puts, st.dels);
	else if (force)
		log_info("zones up to date: %zu datasets unchanged", im->nd);
	rc = st.changed ? 1 : 0;

out:
	for (j = 0; j < im->nd; j++) {
		/* keep the schedule, nothing else */
		zn_dataset_free(im->d[j].ds);
		im->d[j].ds = NULL;
		free(im->d[j].now);
		im->d[j].now = NULL;
	}
	wset_free(&w);
	if (rc >= 0 && failed)
		rc = -EIO;
	return rc;
}

void
import_due(struct import *im)
{
	size_t j;

	for (j = 0; j < im->nd; j++)
		if (im->d[j].interval != 0)
			im->d[j].next = 0;
}
