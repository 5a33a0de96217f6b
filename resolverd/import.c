/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "import.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define WARN_MAX 100 /* warnings logged per dataset load */

/* What stat() said about one file. */
struct fstate {
	int err; /* errno of stat, or 0 */
	int64_t mtime_s, mtime_ns;
	int64_t size;
	uint64_t ino;
};

/* One distinct "type:files" dataset; zones may share it. */
struct dset {
	const struct zn_spec *spec; /* the first spec naming it */
	struct fstate *cur; /* state at the last import; NULL: never */
	struct fstate *now; /* state before this run's load */
	unsigned interval; /* smallest non-zero interval of its specs */
	time_t next;
	bool changed, failed;
	struct zn_dataset *ds; /* loaded in this run */
};

struct import {
	struct zn_db *db;
	struct zn_parse_opts opts;
	struct zn_spec *specs;
	size_t n;
	size_t *dsi; /* dataset of spec i */
	struct dset *d;
	size_t nd;
};

/* Context of the warning callback for one load. */
struct warnctx {
	const char *what;
	size_t n;
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
free_set(struct zn_spec *specs, size_t n, size_t *dsi, struct dset *d,
    size_t nd)
{
	size_t i;

	for (i = 0; i < n; i++)
		zn_spec_cleanup(&specs[i]);
	free(specs);
	free(dsi);
	for (i = 0; i < nd; i++) {
		free(d[i].cur);
		free(d[i].now);
		zn_dataset_free(d[i].ds);
	}
	free(d);
}

void
import_free(struct import *im)
{
	if (im == NULL)
		return;
	free_set(im->specs, im->n, im->dsi, im->d, im->nd);
	free(im);
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
	/* keep the file state of datasets we already imported */
	for (j = 0; j < ndd; j++)
		for (i = 0; i < im->nd; i++)
			if (same_dataset(im->d[i].spec, nd[j].spec) &&
			    im->d[i].cur != NULL) {
				nd[j].cur = im->d[i].cur;
				im->d[i].cur = NULL;
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

bool
import_complete(const struct import *im)
{
	size_t i;

	for (i = 0; i < im->nd; i++)
		if (im->d[i].cur == NULL)
			return false;
	return true;
}

static struct fstate *
stat_files(const struct zn_spec *s)
{
	struct fstate *f;
	struct stat st;
	size_t i;

	if ((f = calloc(s->nfiles, sizeof(*f))) == NULL)
		return NULL;
	for (i = 0; i < s->nfiles; i++) {
		if (stat(s->filev[i], &st) == -1) {
			f[i].err = errno;
			continue;
		}
		f[i].mtime_s = st.st_mtim.tv_sec;
		f[i].mtime_ns = st.st_mtim.tv_nsec;
		f[i].size = st.st_size;
		f[i].ino = st.st_ino;
	}
	return f;
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

/* Load dataset d; false (logged) if it failed. */
static bool
load(struct import *im, struct dset *d)
{
	const struct zn_spec *s = d->spec;
	struct zn_parse_opts opts = im->opts;
	struct warnctx wc = { s->files, 0 };
	struct zn_err err;
	int rc;

	free(d->now);
	if ((d->now = stat_files(s)) == NULL) {
		log_warnx("%s:%s: out of memory", zn_type_name(s->type),
		    s->files);
		return false;
	}
	opts.warn = on_warn;
	opts.warn_ctx = &wc;
	rc = zn_dataset_load(s->type, (const char *const *)s->filev, s->nfiles,
	    &opts, &d->ds, &err);
	if (wc.n > WARN_MAX)
		log_warnx("%s:%s: %zu more warnings not shown",
		    zn_type_name(s->type), s->files, wc.n - WARN_MAX);
	if (rc != 0) {
		d->ds = NULL;
		log_warnx("%s:%s: %s; keeping the old data",
		    zn_type_name(s->type), s->files, err.msg);
		return false;
	}
	log_info("%s:%s: %zu entries, %zu stored, %zu skipped lines",
	    zn_type_name(s->type), s->files, d->ds->nsource,
	    count_entries(d->ds), d->ds->nskipped);
	return true;
}

int
import_run(struct import *im, bool force, time_t now)
{
	const struct zn_spec **sp = NULL;
	struct zn_dataset **dp = NULL;
	struct zn_write_stats st;
	struct zn_err err;
	bool *zone_on = NULL, any = false, failed = false;
	double t0 = mono(), u0 = cpu_user();
	size_t i, j, k, m;
	int rc = 0;

	/* 1: which datasets changed */
	for (j = 0; j < im->nd; j++) {
		struct dset *d = &im->d[j];
		struct fstate *f;

		d->changed = d->failed = false;
		if (!force && (d->interval == 0 || now < d->next))
			continue;
		if (d->interval != 0)
			d->next = now + d->interval;
		if (d->cur == NULL) {
			d->changed = true;
			continue;
		}
		if ((f = stat_files(d->spec)) == NULL)
			return -ENOMEM;
		/* rbldnsd reloads when a file's mtime or size differ, or
		 * stat fails */
		for (k = 0; k < d->spec->nfiles && !d->changed; k++)
			d->changed = f[k].err != 0 ||
			    f[k].mtime_s != d->cur[k].mtime_s ||
			    f[k].mtime_ns != d->cur[k].mtime_ns ||
			    f[k].size != d->cur[k].size ||
			    f[k].ino != d->cur[k].ino;
		free(f);
	}

	/* 2: the zones that use a changed dataset, and all their datasets */
	if ((zone_on = calloc(im->n + 1, sizeof(*zone_on))) == NULL)
		return -ENOMEM;
	for (i = 0; i < im->n; i++) {
		if (!im->d[im->dsi[i]].changed)
			continue;
		for (k = 0; k < im->n; k++)
			if (strcmp(im->specs[k].zone, im->specs[i].zone) == 0)
				zone_on[k] = true;
		any = true;
	}
	if (!any)
		goto out;

	/* 3: load them; a failed dataset takes its zones out of this run */
	for (i = 0; i < im->n; i++) {
		struct dset *d = &im->d[im->dsi[i]];

		if (!zone_on[i] || d->ds != NULL || d->failed)
			continue;
		if (!load(im, d))
			d->failed = true;
	}
	for (i = 0; i < im->n; i++) {
		if (!zone_on[i] || !im->d[im->dsi[i]].failed)
			continue;
		failed = true;
		for (k = 0; k < im->n; k++)
			if (strcmp(im->specs[k].zone, im->specs[i].zone) == 0)
				zone_on[k] = false;
	}

	/* 4: one write transaction for every zone that loaded */
	sp = calloc(im->n + 1, sizeof(*sp));
	dp = calloc(im->n + 1, sizeof(*dp));
	if (sp == NULL || dp == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0, m = 0; i < im->n; i++)
		if (zone_on[i]) {
			sp[m] = &im->specs[i];
			dp[m++] = im->d[im->dsi[i]].ds;
		}
	if (m == 0)
		goto out;
	/* zn_db_replace takes an array of specs, not of pointers */
	{
		struct zn_spec *arr = calloc(m, sizeof(*arr));

		if (arr == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		for (i = 0; i < m; i++)
			arr[i] = *sp[i]; /* shallow: borrowed strings */
		rc = zn_db_replace(im->db, arr, dp, m, &st, &err);
		free(arr);
	}
	if (rc != 0) {
		log_warnx("database: %s; keeping the old data", err.msg);
		goto out;
	}
	for (i = 0; i < im->n; i++) {
		struct dset *d = &im->d[im->dsi[i]];

		if (!zone_on[i] || d->now == NULL)
			continue;
		free(d->cur);
		d->cur = d->now;
		d->now = NULL;
	}
	log_info("zones reloaded, time %.2fe/%.2fu sec, %zu entries written, "
	         "%zu deleted",
	    mono() - t0, cpu_user() - u0, st.puts, st.dels);
	rc = 1;

out:
	for (j = 0; j < im->nd; j++) {
		zn_dataset_free(im->d[j].ds);
		im->d[j].ds = NULL;
		free(im->d[j].now);
		im->d[j].now = NULL;
	}
	free(sp);
	free(dp);
	free(zone_on);
	if (rc >= 0 && failed)
		rc = -EIO;
	return rc;
}
