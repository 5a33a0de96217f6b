/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The publisher side of the feed: the next version of a zone as a delta
 * from the previous head, cumulative deltas from older retained serials,
 * a snapshot by policy, and the signed manifest, written atomically; and
 * the verifier of a feed directory.  See feed.h for the layout and the
 * state the publisher keeps (none outside the feed).
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed_int.h"

/* One file to write, in memory. */
struct outfile {
	struct zn_feed_file f;
	uint8_t *buf;
};

struct pub {
	const struct zn_feed_pubopts *o;
	const struct zn_feed_content *c;
	struct zn_feed_pubres *r;
	struct zn_err *err;
	char zdir[4096];
	int lockfd;
	bool have_prev;
	struct zn_feed_manifest prev;
	struct outfile *out; /* new files: deltas, then a snapshot */
	size_t nout;
};

static int
mkdir_p(const char *dir, struct zn_err *err)
{
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return zn_err_set(err, errno, "%s: %s", dir, strerror(errno));
	return 0;
}

static int
add_out(struct pub *p, uint64_t from, uint64_t to, uint8_t *buf, size_t len)
{
	struct outfile *no = reallocarray(p->out, p->nout + 1, sizeof(*no));

	if (no == NULL) {
		free(buf);
		return zn_err_set(p->err, ENOMEM, "out of memory");
	}
	p->out = no;
	memset(&no[p->nout], 0, sizeof(no[0]));
	no[p->nout].f.from = from;
	no[p->nout].f.to = to;
	no[p->nout].f.size = len;
	fd_hash(buf, len, no[p->nout].f.hash);
	no[p->nout].buf = buf;
	p->nout++;
	return 0;
}

/* A file the previous manifest lists, checked and decoded. */
static int
load_prev(struct pub *p, const struct zn_feed_file *f, uint8_t **buf,
    struct ffile *ff)
{
	char name[64];
	int rc;

	zn_feed_file_name(f, name, sizeof(name));
	if ((rc = fd_load_listed(p->zdir, f, buf, p->err)) != 0)
		return rc;
	if ((rc = ffile_decode(*buf, f->size, name, ff, p->err)) != 0) {
		free(*buf);
		*buf = NULL;
		return rc;
	}
	if (strcmp(ff->zone, p->c->zone) != 0 || ff->from != f->from ||
	    ff->to != f->to) {
		ffile_cleanup(ff);
		free(*buf);
		*buf = NULL;
		return zn_err_set(p->err, EINVAL,
		    "%s/%s: not the file the manifest lists", p->zdir, name);
	}
	return 0;
}

static int
read_prev_manifest(struct pub *p)
{
	struct zn_feed_pubkey pub;
	char path[4200];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/manifest", p->zdir);
	rc = fd_read_file(path, ZN_FEED_MANIFEST_MAX, &buf, &len, p->err);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	zn_feed_seckey_public(p->o->sk, &pub);
	/* a manifest by a key since rolled is still ours: the feed
	 * directory is the publisher's own state */
	rc = zn_feed_manifest_verify(buf, len, &pub, 1, &p->prev, p->err);
	if (rc == -EPERM && strstr(p->err->msg, "not a trusted key") != NULL)
		rc = fd_manifest_parse_unverified(buf, len, &p->prev, p->err);
	free(buf);
	if (rc != 0)
		return zn_err_set(p->err, -rc, "%s: %s", path, p->err->msg);
	if (strcmp(p->prev.zone, p->c->zone) != 0) {
		zn_feed_manifest_cleanup(&p->prev);
		return zn_err_set(p->err, EINVAL, "%s: for zone %s", path,
		    p->prev.zone);
	}
	p->have_prev = true;
	return 0;
}

static const struct zn_feed_file *
prev_delta_from(const struct zn_feed_manifest *m, uint64_t from)
{
	size_t i;

	for (i = 0; i < m->ndeltas; i++)
		if (m->deltas[i].from == from)
			return &m->deltas[i];
	return NULL;
}

/* Remove temp files a killed publisher left (we hold the lock). */
static void
clean_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[8192];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, ".tmp.", 5) == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
}

static bool
listed(const struct zn_feed_manifest *m, const char *sub, const char *name)
{
	char n[64];
	size_t i;

	if (m == NULL)
		return false;
	zn_feed_file_name(&m->snapshot, n, sizeof(n));
	if (strncmp(n, sub, strlen(sub)) == 0 &&
	    strcmp(n + strlen(sub) + 1, name) == 0)
		return true;
	for (i = 0; i < m->ndeltas; i++) {
		zn_feed_file_name(&m->deltas[i], n, sizeof(n));
		if (strncmp(n, sub, strlen(sub)) == 0 &&
		    strcmp(n + strlen(sub) + 1, name) == 0)
			return true;
	}
	return false;
}

/* Delete files neither manifest lists (the previous one's stay for one
 * more round: a mirror may have just read it). */
static size_t
remove_unlisted(const char *zdir, const struct zn_feed_manifest *cur,
    const struct zn_feed_manifest *prev)
{
	static const char *const subs[] = { "snap", "delta" };
	char dir[4200], path[8192];
	size_t i, n = 0;

	for (i = 0; i < 2; i++) {
		DIR *d;
		struct dirent *de;

		snprintf(dir, sizeof(dir), "%s/%s", zdir, subs[i]);
		if ((d = opendir(dir)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (listed(cur, subs[i], de->d_name) ||
			    listed(prev, subs[i], de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (unlink(path) == 0)
				n++;
		}
		closedir(d);
	}
	return n;
}

static int
lock_zone(struct pub *p)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/.lock", p->zdir);
	p->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (p->lockfd == -1)
		return zn_err_set(p->err, errno, "%s: %s", path,
		    strerror(errno));
	if (flock(p->lockfd, LOCK_EX | LOCK_NB) == -1)
		return zn_err_set(p->err, errno == EWOULDBLOCK ? EAGAIN : errno,
		    "%s: %s", path,
		    errno == EWOULDBLOCK ? "another publisher is running" :
		                           strerror(errno));
	return 0;
}

static int
write_manifest(struct pub *p, struct zn_feed_manifest *m)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = zn_feed_manifest_sign(m, p->o->sk, &text, &len, p->err)))
		return rc;
	rc = fd_write_atomic(p->zdir, "manifest", text, len, p->err);
	free(text);
	return rc;
}

static int
cmp_file(const void *a, const void *b)
{
	const struct zn_feed_file *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

/* The previous head as files: its snapshot and the delta from it. */
struct prevstate {
	uint8_t *sbuf, *dbuf;
	struct ffile fs, fd;
	bool have_fs, have_fd;
};

static void
prevstate_cleanup(struct prevstate *st)
{
	if (st->have_fs)
		ffile_cleanup(&st->fs);
	if (st->have_fd)
		ffile_cleanup(&st->fd);
	free(st->sbuf);
	free(st->dbuf);
	memset(st, 0, sizeof(*st));
}

/*
 * The delta from the previous head (read from the feed, every file
 * checked against the previous manifest) to the new content at serial u.
 * -EXDEV when the zone's datasets changed.
 */
static int
diff_prev(struct pub *p, uint64_t u, struct prevstate *st, uint8_t **dt,
    size_t *dtlen, uint64_t *counts)
{
	const struct zn_feed_manifest *pm = &p->prev;
	const struct zn_feed_file *pd;
	int rc;

	if ((rc = load_prev(p, &pm->snapshot, &st->sbuf, &st->fs)) != 0)
		return rc;
	st->have_fs = true;
	if (pm->snapshot.to < pm->serial) {
		if ((pd = prev_delta_from(pm, pm->snapshot.to)) == NULL)
			return zn_err_set(p->err, EINVAL,
			    "%s/manifest: no delta from its snapshot", p->zdir);
		if ((rc = load_prev(p, pd, &st->dbuf, &st->fd)) != 0)
			return rc;
		st->have_fd = true;
	}
	rc = fd_diff_files_content(&st->fs, st->have_fd ? &st->fd : NULL,
	    pm->serial, pm->digest, pm->entries, p->c, u, dt, dtlen, NULL, NULL,
	    counts, p->err);
	if (rc != 0 && rc != -EXDEV)
		rc = zn_err_set(p->err, -rc,
		    "%s: the previous version in the feed: %s", p->zdir,
		    p->err->msg);
	return rc;
}

static int
publish(struct pub *p)
{
	const struct zn_feed_pubopts *o = p->o;
	struct zn_feed_manifest m;
	struct prevstate st;
	uint8_t *snapbuf = NULL, *dt = NULL;
	size_t snaplen = 0, dtlen = 0, i;
	uint8_t digest[ZN_DIGEST_LEN];
	uint64_t nent = 0, u, counts[3] = { 0, 0, 0 }, pdsize = 0;
	int64_t now = o->issued ? o->issued : (int64_t)time(NULL);
	bool need_snap;
	const struct zn_feed_file *snapf = NULL;
	struct zn_feed_file *deltas = NULL;
	size_t ndeltas = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	memset(&st, 0, sizeof(st));
	if ((rc = read_prev_manifest(p)) != 0)
		return rc;
	u = p->have_prev ? p->prev.serial + 1 : 1;
	if (p->have_prev && p->prev.serial == UINT64_MAX)
		return zn_err_set(p->err, EOVERFLOW, "serial space exhausted");
	rc = fd_snap_encode_content(p->c, u, &snapbuf, &snaplen, digest, &nent,
	    p->err);
	if (rc != 0)
		goto out;
	need_snap = !p->have_prev || o->force_snapshot;

	if (p->have_prev) {
		const struct zn_feed_manifest *pm = &p->prev;

		rc = diff_prev(p, u, &st, &dt, &dtlen, counts);
		if (rc != 0 && rc != -EXDEV && o->force_snapshot) {
			/* start over from a snapshot; serials still grow */
			snprintf(p->r->broken, sizeof(p->r->broken), "%s",
			    p->err->msg);
			rc = -EXDEV;
		}
		if (rc == -EXDEV) {
			need_snap = true; /* datasets changed: no delta */
			rc = 0;
		} else if (rc != 0) {
			goto out;
		} else if (memcmp(digest, pm->digest, ZN_DIGEST_LEN) == 0 &&
		    nent == pm->entries && !o->force_snapshot) {
			/* same content: the same version, signed anew */
			m = *pm;
			m.deltas = pm->deltas;
			m.issued = now;
			m.expires = now + o->lifetime;
			rc = write_manifest(p, &m);
			p->r->prev = p->r->serial = pm->serial;
			p->r->entries = nent;
			p->r->ndeltas = pm->ndeltas;
			m.deltas = NULL;
			goto out;
		}
	}
	p->r->prev = p->have_prev ? p->prev.serial : 0;
	p->r->serial = u;
	p->r->changed = true;
	p->r->adds = counts[0];
	p->r->dels = counts[1];
	p->r->sets = counts[2];
	p->r->entries = nent;

	/* deltas to u: from the previous head, and composed from older
	 * retained serials */
	if (dt != NULL) {
		const struct zn_feed_manifest *pm = &p->prev;
		uint64_t low = u > o->keep ? u - o->keep : 1;

		p->r->delta_size = dtlen;
		if (pm->snapshot.to == pm->serial)
			pdsize = dtlen;
		for (i = 0; i < pm->ndeltas && rc == 0; i++) {
			const struct zn_feed_file *f = &pm->deltas[i];
			uint8_t *b = NULL, *cb = NULL;
			size_t cl = 0;
			struct ffile f1, f2;

			if (f->from < low && f->from != pm->snapshot.to)
				continue;
			if ((rc = load_prev(p, f, &b, &f1)) != 0)
				break;
			rc = ffile_decode(dt, dtlen, "new delta", &f2, p->err);
			if (rc == 0) {
				rc = fd_compose_files(&f1, &f2, &cb, &cl,
				    p->err);
				ffile_cleanup(&f2);
			}
			ffile_cleanup(&f1);
			free(b);
			if (rc != 0)
				break;
			if (f->from == pm->snapshot.to)
				pdsize = cl;
			rc = add_out(p, f->from, u, cb, cl);
		}
		if (rc != 0)
			goto out;
		if (pm->serial >= low || pm->snapshot.to == pm->serial) {
			rc = add_out(p, pm->serial, u, dt, dtlen);
			dt = NULL;
			if (rc != 0)
				goto out;
		}
		if (pm->snapshot.to < low)
			need_snap = true; /* its delta left the window */
		if (o->snapshot_share > 0 &&
		    (double)pdsize > o->snapshot_share * (double)snaplen)
			need_snap = true;
	}
	if (need_snap) {
		if ((rc = add_out(p, u, u, snapbuf, snaplen)) != 0) {
			snapbuf = NULL;
			goto out;
		}
		snapbuf = NULL;
		snapf = &p->out[p->nout - 1].f;
		p->r->snapshot = true;
		p->r->snap_size = snaplen;
	} else
		snapf = &p->prev.snapshot;

	/* the manifest lists the deltas worth more than the snapshot way */
	{
		uint64_t snapway = snapf->size;
		const struct outfile *fromsnap = NULL;

		for (i = 0; i < p->nout; i++)
			if (p->out[i].f.from == snapf->to &&
			    p->out[i].f.from != p->out[i].f.to)
				fromsnap = &p->out[i];
		if (fromsnap != NULL)
			snapway += fromsnap->f.size;
		deltas = calloc(p->nout ? p->nout : 1, sizeof(*deltas));
		if (deltas == NULL) {
			rc = zn_err_set(p->err, ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < p->nout; i++) {
			const struct outfile *of = &p->out[i];

			if (of->f.from == of->f.to)
				continue;
			if (of != fromsnap && of->f.size >= snapway)
				continue;
			deltas[ndeltas++] = of->f;
		}
		qsort(deltas, ndeltas, sizeof(*deltas), cmp_file);
	}

	/* files first, the manifest last */
	for (i = 0; i < p->nout; i++) {
		char name[64];
		size_t j;
		bool use = p->out[i].f.from == p->out[i].f.to && p->r->snapshot;

		for (j = 0; j < ndeltas && !use; j++)
			use = deltas[j].from == p->out[i].f.from &&
			    p->out[i].f.from != p->out[i].f.to;
		if (!use)
			continue;
		zn_feed_file_name(&p->out[i].f, name, sizeof(name));
		rc = fd_write_atomic(p->zdir, name, p->out[i].buf,
		    p->out[i].f.size, p->err);
		if (rc != 0)
			goto out;
	}
	snprintf(m.zone, sizeof(m.zone), "%s", p->c->zone);
	m.serial = u;
	m.issued = now;
	m.expires = now + o->lifetime;
	m.entries = nent;
	memcpy(m.digest, digest, ZN_DIGEST_LEN);
	m.snapshot = *snapf;
	m.ndeltas = ndeltas;
	m.deltas = deltas;
	if ((rc = write_manifest(p, &m)) != 0)
		goto out;
	p->r->ndeltas = ndeltas;
	p->r->removed =
	    remove_unlisted(p->zdir, &m, p->have_prev ? &p->prev : NULL);
	m.deltas = NULL;
out:
	free(deltas);
	prevstate_cleanup(&st);
	free(snapbuf);
	free(dt);
	return rc;
}

int
zn_feed_publish(const struct zn_feed_pubopts *o,
    const struct zn_feed_content *c, struct zn_feed_pubres *r,
    struct zn_err *err)
{
	struct pub p;
	char sub[4200];
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	p.o = o;
	p.c = c;
	p.r = r;
	p.err = err;
	p.lockfd = -1;
	if (!zn_feed_zone_ok(c->zone))
		return zn_err_set(err, EINVAL, "%s: not a usable zone name",
		    c->zone);
	if (o->lifetime <= 0)
		return zn_err_set(err, EINVAL, "expiry must be in the future");
	if ((size_t)snprintf(p.zdir, sizeof(p.zdir), "%s/%s", o->dir,
	        c->zone) >= sizeof(p.zdir))
		return zn_err_set(err, ENAMETOOLONG, "%s: name too long",
		    o->dir);
	if ((rc = mkdir_p(o->dir, err)) != 0 ||
	    (rc = mkdir_p(p.zdir, err)) != 0)
		return rc;
	if ((rc = lock_zone(&p)) != 0)
		goto out;
	snprintf(sub, sizeof(sub), "%s/snap", p.zdir);
	if ((rc = mkdir_p(sub, err)) != 0)
		goto out;
	clean_temps(sub);
	snprintf(sub, sizeof(sub), "%s/delta", p.zdir);
	if ((rc = mkdir_p(sub, err)) != 0)
		goto out;
	clean_temps(sub);
	clean_temps(p.zdir);
	rc = publish(&p);
out:
	for (i = 0; i < p.nout; i++)
		free(p.out[i].buf);
	free(p.out);
	if (p.have_prev)
		zn_feed_manifest_cleanup(&p.prev);
	if (p.lockfd != -1)
		close(p.lockfd);
	return rc;
}

/*
 * Verifying a feed as a mirror would, file by file.
 */
int
zn_feed_verify_zone(const char *zonedir, const char *zone,
    const struct zn_feed_pubkey *keys, size_t nkeys, int64_t now,
    struct zn_feed_verify *v, struct zn_err *err)
{
	struct zn_feed_manifest m;
	struct ffile fs, fd;
	char path[4200], name[64];
	uint8_t *buf = NULL, *sbuf = NULL, *dbuf = NULL;
	uint8_t d[ZN_DIGEST_LEN];
	uint64_t n = 0;
	size_t len = 0, i;
	bool have_fs = false, have_fd = false;
	int rc;

	memset(v, 0, sizeof(*v));
	snprintf(path, sizeof(path), "%s/manifest", zonedir);
	if ((rc = fd_read_file(path, ZN_FEED_MANIFEST_MAX, &buf, &len, err)))
		return rc;
	rc = zn_feed_manifest_verify(buf, len, keys, nkeys, &m, err);
	free(buf);
	if (rc != 0)
		return zn_err_set(err, -rc, "%s: %s", path, err->msg);
	v->serial = m.serial;
	v->nfiles = 1;
	v->bytes = len;
	if (strcmp(m.zone, zone) != 0) {
		rc = zn_err_set(err, EINVAL, "%s: for zone %s, not %s", path,
		    m.zone, zone);
		goto out;
	}
	if (now >= m.expires) {
		rc = zn_err_set(err, ETIMEDOUT,
		    "%s: expired %" PRId64 " s ago: mirrors refuse it", path,
		    now - m.expires);
		goto out;
	}
	/* the snapshot: its content against its own digest */
	zn_feed_file_name(&m.snapshot, name, sizeof(name));
	if ((rc = fd_load_listed(zonedir, &m.snapshot, &sbuf, err)) != 0)
		goto out;
	if ((rc = ffile_decode(sbuf, m.snapshot.size, name, &fs, err)) != 0)
		goto out;
	have_fs = true;
	v->nfiles++;
	v->bytes += m.snapshot.size;
	if (fs.delta || fs.to != m.snapshot.to || strcmp(fs.zone, zone) != 0) {
		rc = zn_err_set(err, EINVAL, "%s: not the snapshot listed",
		    name);
		goto out;
	}
	if ((rc = fd_snap_from_files(&fs, NULL, d, &n, err)) != 0)
		goto out;
	if (memcmp(d, fs.digest, ZN_DIGEST_LEN) != 0 || n != fs.entries) {
		rc = zn_err_set(err, EINVAL,
		    "%s: content does not match its digest", name);
		goto out;
	}
	if (fs.to == m.serial &&
	    (memcmp(d, m.digest, ZN_DIGEST_LEN) != 0 || n != m.entries)) {
		rc = zn_err_set(err, EINVAL,
		    "%s: digest is not the manifest's head digest", name);
		goto out;
	}
	for (i = 0; i < m.ndeltas; i++) {
		const struct zn_feed_file *f = &m.deltas[i];

		zn_feed_file_name(f, name, sizeof(name));
		if ((rc = fd_load_listed(zonedir, f, &dbuf, err)) != 0)
			goto out;
		if ((rc = ffile_decode(dbuf, f->size, name, &fd, err)) != 0)
			goto out;
		have_fd = true;
		v->nfiles++;
		v->bytes += f->size;
		if (!fd.delta || fd.from != f->from || fd.to != f->to ||
		    strcmp(fd.zone, zone) != 0 ||
		    memcmp(fd.digest, m.digest, ZN_DIGEST_LEN) != 0 ||
		    fd.entries != m.entries) {
			rc = zn_err_set(err, EINVAL,
			    "%s: its serials, zone or digest are not the "
			    "manifest's",
			    name);
			goto out;
		}
		if (f->from == fs.to) {
			/* snapshot + delta must give the head */
			if (memcmp(fd.from_digest, fs.digest, ZN_DIGEST_LEN) !=
			        0 ||
			    (rc = fd_snap_from_files(&fs, &fd, d, &n, err)) !=
			        0 ||
			    memcmp(d, m.digest, ZN_DIGEST_LEN) != 0 ||
			    n != m.entries) {
				if (rc == 0)
					rc = zn_err_set(err, EINVAL,
					    "%s applied to %s does not give "
					    "the head digest",
					    name, "the snapshot");
				else
					rc = zn_err_set(err, -rc, "%s: %s",
					    name, err->msg);
				goto out;
			}
		}
		ffile_cleanup(&fd);
		have_fd = false;
		free(dbuf);
		dbuf = NULL;
	}
	rc = 0;
out:
	if (have_fs)
		ffile_cleanup(&fs);
	if (have_fd)
		ffile_cleanup(&fd);
	free(sbuf);
	free(dbuf);
	zn_feed_manifest_cleanup(&m);
	return rc;
}
