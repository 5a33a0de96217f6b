/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zonesync: bring zones of the LMDB mirror up to date from a signed feed
 * (zones/feed.h), or from plain rbldnsd files.  Meant for cron.
 *
 *   zonesync [-qv] [--json] [-m MAPSIZE] [-S STAGING] [--skew SECONDS]
 *            [--rsync PROGRAM] [--timeout SECONDS]
 *            -d DBDIR -k PUBFILE [-k PUBFILE...] SOURCE [ZONE...]
 *   zonesync [options as above] -c resolverd.conf [ZONE...]
 *   zonesync import [-q] [--json] [-e] [-C] [-m MAPSIZE] -d DBDIR
 *            ZONE:TYPE:FILE[,FILE...] ...
 *   zonesync status [--json] -d DBDIR [ZONE...]
 *
 * SOURCE is a feed directory, or an rsync source ("rsync://host/module/
 * path", "host::module/path" or "host:path"), fetched file by file with
 * the rsync program into a fresh directory under STAGING (default
 * DBDIR/feed-staging).  Without ZONEs, a local feed's zones are every
 * directory with a manifest.  For each zone: verify the manifest with the
 * pinned keys, refuse rollback, expiry, another zone and an issue time in
 * the future, fetch one delta (or the snapshot), check size, hash and
 * format, and apply it in one LMDB write transaction that commits only if
 * the zone digest is the manifest's (zn_feed_apply_files).  On a terminal
 * (not with -q or --json) a big apply shows a progress bar on stderr.
 *
 * With -c, the database, sources and keys come from the daemon's config:
 * every zone with mode = feed is synced from its feed = with its key =
 * lines, and every zone with files-from = gets each of its dataset files
 * fetched by basename from there (rsync into a temporary directory next
 * to the file, with the old file as the basis; renamed into place once
 * every file of the zone has arrived, unchanged files kept as they are),
 * then imported as a diff in one transaction with the files' identities,
 * so the daemon's own periodic check finds them unchanged.
 *
 * DBDIR/zonesync.lock keeps two runs from overlapping.  Exit 0 when every
 * zone is updated or current, 1 on any failure, 2 on a usage error.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "feed.h"
#include "zones.h"

#define MAXKEYS 16

extern char **environ;

static const char *prog = "zonesync";

struct opts {
	const char *dbdir;
	const char *staging;
	const char *rsync;
	struct zn_feed_pubkey keys[MAXKEYS];
	size_t nkeys;
	bool quiet, json, verbose;
	size_t mapsize;
	int64_t skew;
	unsigned timeout;
};

/* The outcome of one zone. */
struct result {
	const char *zone;
	enum {
		R_FAILED,
		R_CURRENT,
		R_UPDATED
	} status;
	uint64_t from, to;
	bool snapshot;
	bool files; /* files-from: st.adds/dels are entries written/deleted */
	struct zn_feed_stats st;
	uint64_t bytes;
	double secs;
	char err[600];
};

static void
usage_to(FILE *f, int code)
{
	fprintf(f,
	    "usage: %s [-qv] [--json] [-m MAPSIZE] [-S STAGING] "
	    "[--skew SECONDS] [--rsync PROGRAM]\n"
	    "           [--timeout SECONDS] -d DBDIR -k PUBFILE "
	    "[-k PUBFILE...] SOURCE [ZONE...]\n"
	    "       %s [options] -c resolverd.conf [ZONE...]\n"
	    "       %s import [-q] [--json] [-e] [-C] [-m MAPSIZE] -d DBDIR "
	    "ZONE:TYPE:FILE[,FILE...] ...\n"
	    "       %s status [--json] -d DBDIR [ZONE...]\n",
	    prog, prog, prog, prog);
	exit(code);
}

static void
usage(void)
{
	usage_to(stderr, 2);
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static void
human(uint64_t n, char *buf, size_t size)
{
	if (n < 10000)
		snprintf(buf, size, "%" PRIu64 " B", n);
	else if (n < 10000000)
		snprintf(buf, size, "%.1f KB", n / 1024.0);
	else
		snprintf(buf, size, "%.1f MB", n / 1048576.0);
}

static void seterr(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

static void
print_result(const struct opts *o, const struct result *r, bool first)
{
	char hb[32];

	if (o->json) {
		printf("%s\n    {\"zone\": ", first ? "" : ",");
		zn_json_str(stdout, r->zone);
		printf(", \"status\": \"%s\"",
		    r->status == R_FAILED      ? "failed" :
		        r->status == R_CURRENT ? "current" :
		                                 "updated");
		printf(", \"from\": %" PRIu64 ", \"to\": %" PRIu64, r->from,
		    r->to);
		if (r->status == R_UPDATED)
			printf(
			    ", \"method\": \"%s\", \"added\": %" PRIu64
			    ", \"deleted\": %" PRIu64 ", \"changed\": %" PRIu64
			    ", \"entries\": %" PRIu64 ", \"bytes\": %" PRIu64,
			    r->files        ? "files" :
			        r->snapshot ? "snapshot" :
			                      "delta",
			    r->st.adds, r->st.dels, r->st.sets, r->st.entries,
			    r->bytes);
		printf(", \"seconds\": %.3f", r->secs);
		if (r->status == R_FAILED) {
			printf(", \"error\": ");
			zn_json_str(stdout, r->err);
		}
		printf("}");
		return;
	}
	if (r->status == R_FAILED) {
		fprintf(stderr, "%s: %s: FAILED: %s\n", prog, r->zone, r->err);
		return;
	}
	if (o->quiet)
		return;
	if (r->status == R_CURRENT && r->files) {
		printf("%s: files current, %.2fs\n", r->zone, r->secs);
		return;
	}
	if (r->status == R_CURRENT) {
		printf("%s: %" PRIu64 " current, %.2fs\n", r->zone, r->to,
		    r->secs);
		return;
	}
	human(r->bytes, hb, sizeof(hb));
	if (r->files) {
		printf("%s: files imported, +%" PRIu64 " -%" PRIu64
		       " entries written/deleted, %" PRIu64 " total, %s "
		       "changed, %.2fs\n",
		    r->zone, r->st.adds, r->st.dels, r->st.entries, hb,
		    r->secs);
		return;
	}
	printf("%s: %" PRIu64 " -> %" PRIu64 " (%s), +%" PRIu64 " -%" PRIu64
	       " ~%" PRIu64 " entries, %" PRIu64 " total, %s fetched, %.2fs\n",
	    r->zone, r->from, r->to, r->snapshot ? "snapshot" : "delta",
	    r->st.adds, r->st.dels, r->st.sets, r->st.entries, hb, r->secs);
}

/* Lock DBDIR against a concurrent run; the descriptor stays open. */
static int
lock_db(const char *dbdir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/zonesync.lock", dbdir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		fprintf(stderr, "%s: %s: %s\n", prog, path,
		    errno == EWOULDBLOCK ?
		        "another zonesync is running on this database" :
		        strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static bool
is_rsync(const char *src)
{
	const char *colon = strchr(src, ':'), *slash = strchr(src, '/');

	if (strncmp(src, "rsync://", 8) == 0)
		return true;
	return colon != NULL && (slash == NULL || colon < slash);
}

static bool
is_daemon(const char *src)
{
	return strncmp(src, "rsync://", 8) == 0 || strstr(src, "::") != NULL;
}

/* Run rsync to copy src to dst; 0 or -1 with why in err. */
static int
rsync_fetch(const struct opts *o, const char *src, const char *dst,
    const char *extra, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	char tmo[32], ctmo[32], q[] = "-q", nomotd[] = "--no-motd";
	char *argv[12];
	pid_t pid;
	int argc = 0, st, rc;

	snprintf(tmo, sizeof(tmo), "--timeout=%u", o->timeout);
	snprintf(ctmo, sizeof(ctmo), "--contimeout=%u", o->timeout);
	argv[argc++] = (char *)(uintptr_t)o->rsync;
	argv[argc++] = q;
	argv[argc++] = nomotd;
	argv[argc++] = tmo;
	if (is_daemon(src))
		argv[argc++] = ctmo;
	if (extra != NULL)
		argv[argc++] = (char *)(uintptr_t)extra;
	argv[argc++] = (char *)(uintptr_t)src;
	argv[argc++] = (char *)(uintptr_t)dst;
	argv[argc] = NULL;
	posix_spawn_file_actions_init(&fa);
	/* stdout stays ours (--json): rsync says everything on stderr */
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	rc = posix_spawnp(&pid, o->rsync, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		seterr(err, errlen, "cannot run %s: %s", o->rsync,
		    strerror(rc));
		return -1;
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			seterr(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		seterr(err, errlen,
		    "fetching %s: rsync exited %d%s (its message is above)",
		    src, WEXITSTATUS(st),
		    WEXITSTATUS(st) == 23 ? ", a file is missing" : "");
	else
		seterr(err, errlen, "fetching %s: rsync killed by signal %d",
		    src, WTERMSIG(st));
	return -1;
}

static int
read_small(const char *path, size_t max, uint8_t **out, size_t *len, char *err,
    size_t errlen)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf;
	size_t n;

	if (f == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(f);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		seterr(err, errlen, "%s: %s", path,
		    ferror(f) ? strerror(errno) : "too long for a manifest");
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	*out = buf;
	*len = n;
	return 0;
}

/* Remove the staging directory of one run (files we put there). */
static void
rm_stage(const char *dir)
{
	static const char *const subs[] = { "snap", "delta", "" };
	char path[8192];
	size_t i;

	for (i = 0; i < 3; i++) {
		DIR *d;
		struct dirent *de;
		char sd[4200];

		snprintf(sd, sizeof(sd), "%s%s%s", dir, subs[i][0] ? "/" : "",
		    subs[i]);
		if ((d = opendir(sd)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", sd, de->d_name);
			if (unlink(path) == -1 && errno == EISDIR)
				rmdir(path);
		}
		closedir(d);
		if (subs[i][0])
			rmdir(sd);
	}
	rmdir(dir);
}

static int
make_stage(const struct opts *o, const char *zone, char *dir, size_t size,
    char *err, size_t errlen)
{
	char sub[4200];

	if (mkdir(o->staging, 0700) == -1 && errno != EEXIST) {
		seterr(err, errlen, "staging directory %s: %s", o->staging,
		    strerror(errno));
		return -1;
	}
	snprintf(dir, size, "%s/%s.XXXXXX", o->staging, zone);
	if (mkdtemp(dir) == NULL) {
		seterr(err, errlen, "staging directory %s: %s", o->staging,
		    strerror(errno));
		return -1;
	}
	snprintf(sub, sizeof(sub), "%s/snap", dir);
	if (mkdir(sub, 0700) == -1) {
		seterr(err, errlen, "%s: %s", sub, strerror(errno));
		rm_stage(dir);
		return -1;
	}
	snprintf(sub, sizeof(sub), "%s/delta", dir);
	if (mkdir(sub, 0700) == -1) {
		seterr(err, errlen, "%s: %s", sub, strerror(errno));
		rm_stage(dir);
		return -1;
	}
	return 0;
}

/* The progress bar of one apply, on stderr when it is a terminal. */
struct bar {
	const char *zone;
	double t0, last;
	bool shown;
};

#define BAR_MIN 50000 /* entries and ops: smaller applies are quick */

static void
bar_update(void *ctx, uint64_t done, uint64_t total)
{
	struct bar *b = ctx;
	double now = mono(), rate;

	if (total < BAR_MIN)
		return;
	if (done == 0) {
		b->t0 = now;
		return;
	}
	if (done < total && now - b->last < 0.1)
		return;
	b->last = now;
	rate = now > b->t0 ? done / (now - b->t0) : 0;
	fprintf(stderr,
	    "\r%s: applying %3u%% (%" PRIu64 "/%" PRIu64 "), %.0f entries/s ",
	    b->zone, (unsigned)(done * 100 / total), done, total, rate);
	b->shown = true;
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

static void
sync_zone(const struct opts *o, struct zn_db *db, const char *source,
    const char *zone, struct result *r)
{
	struct bar bar = { zone, 0, 0, false };
	struct zn_feed_progress pg = { bar_update, &bar };
	struct zn_feed_manifest m;
	struct zn_feed_state cur;
	const struct zn_feed_file *files[2];
	struct zn_err err;
	char zdir[4096], stage[4096], path[8192], src[8192];
	uint8_t *buf = NULL;
	size_t len = 0, nfiles = 0, i;
	bool remote = is_rsync(source), have_m = false;
	int64_t now = time(NULL);
	double t0 = mono();

	memset(r, 0, sizeof(*r));
	r->zone = zone;
	r->status = R_FAILED;
	stage[0] = '\0';
	if (!zn_feed_zone_ok(zone)) {
		seterr(r->err, sizeof(r->err), "not a feed zone name");
		return;
	}
	if (remote) {
		if (make_stage(o, zone, stage, sizeof(stage), r->err,
		        sizeof(r->err)) != 0)
			goto out;
		snprintf(zdir, sizeof(zdir), "%s", stage);
		snprintf(src, sizeof(src), "%s%s%s/manifest", source,
		    source[strlen(source) - 1] == '/' ? "" : "/", zone);
		snprintf(path, sizeof(path), "%s/manifest", stage);
		if (rsync_fetch(o, src, path, NULL, r->err, sizeof(r->err)) !=
		    0)
			goto out;
	} else {
		snprintf(zdir, sizeof(zdir), "%s/%s", source, zone);
		snprintf(path, sizeof(path), "%s/manifest", zdir);
	}
	if (read_small(path, ZN_FEED_MANIFEST_MAX, &buf, &len, r->err,
	        sizeof(r->err)) != 0)
		goto out;
	r->bytes = len;
	if (zn_feed_manifest_verify(buf, len, o->keys, o->nkeys, &m, &err) !=
	    0) {
		seterr(r->err, sizeof(r->err), "%s", err.msg);
		goto out;
	}
	have_m = true;
	r->to = m.serial;
	if (o->verbose) {
		char kid[17];

		zn_feed_keyid_hex(m.keyid, kid);
		fprintf(stderr,
		    "%s: %s: manifest serial %" PRIu64 " verified (key %s, "
		    "expires in %" PRId64 " s)\n",
		    prog, zone, m.serial, kid, m.expires - now);
	}
	if (zn_feed_plan(db, &m, zone, now, o->skew, files, &nfiles, &cur,
	        &err) != 0) {
		r->from = cur.serial;
		seterr(r->err, sizeof(r->err), "%s", err.msg);
		goto out;
	}
	r->from = cur.serial;
	r->to = m.serial;
	for (i = 0; remote && i < nfiles; i++) {
		char name[64];

		zn_feed_file_name(files[i], name, sizeof(name));
		snprintf(src, sizeof(src), "%s%s%s/%s", source,
		    source[strlen(source) - 1] == '/' ? "" : "/", zone, name);
		snprintf(path, sizeof(path), "%s/%s", stage, name);
		if (rsync_fetch(o, src, path, NULL, r->err, sizeof(r->err)) !=
		    0)
			goto out;
	}
	for (i = 0; i < nfiles; i++) {
		char name[64];

		r->bytes += files[i]->size;
		r->snapshot |= files[i]->from == files[i]->to;
		zn_feed_file_name(files[i], name, sizeof(name));
		if (o->verbose)
			fprintf(stderr,
			    "%s: %s: applying %s (%" PRIu64 " bytes) at serial "
			    "%" PRIu64 "\n",
			    prog, zone, name, files[i]->size, cur.serial);
	}
	if (zn_feed_apply_files_progress(db, &m, zdir, files, nfiles, now,
	        o->quiet || o->json || !isatty(2) ? NULL : &pg, &r->st,
	        &err) != 0) {
		if (bar.shown)
			fputc('\n', stderr); /* the bar stopped short */
		seterr(r->err, sizeof(r->err), "%s (database unchanged)",
		    err.msg);
		goto out;
	}
	r->status = nfiles ? R_UPDATED : R_CURRENT;
out:
	r->secs = mono() - t0;
	if (have_m)
		zn_feed_manifest_cleanup(&m);
	free(buf);
	if (stage[0] != '\0')
		rm_stage(stage);
}

/* The zones of a local feed: directories holding a manifest. */
static char **
local_zones(const char *source, size_t *n)
{
	DIR *d = opendir(source);
	struct dirent *de;
	char **v = NULL;

	*n = 0;
	if (d == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, source, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;
		char **nv;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/manifest", source,
		    de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if ((nv = realloc(v, (*n + 1) * sizeof(*v))) == NULL)
			break;
		v = nv;
		if ((v[*n] = strdup(de->d_name)) == NULL)
			break;
		(*n)++;
	}
	closedir(d);
	if (*n == 0)
		fprintf(stderr, "%s: %s: no zone with a manifest\n", prog,
		    source);
	return v;
}

/* One dataset file of a files-from zone while it is fetched. */
struct ffile {
	const char *dest; /* the dataset file the config names */
	char tmpdir[4096]; /* next to it: a rename stays in its filesystem */
	char tmp[4352]; /* tmpdir/basename */
	bool changed;
};

/* Whether files a and b hold the same bytes (false if one is missing). */
static bool
same_content(const char *a, const char *b)
{
	static uint8_t ba[65536], bb[65536];
	FILE *fa = fopen(a, "rbe"), *fb = fopen(b, "rbe");
	bool same = fa != NULL && fb != NULL;

	while (same) {
		size_t na = fread(ba, 1, sizeof(ba), fa),
		       nb = fread(bb, 1, sizeof(bb), fb);

		if (na != nb || memcmp(ba, bb, na) != 0 || ferror(fa) ||
		    ferror(fb))
			same = false;
		else if (na == 0)
			break;
	}
	if (fa != NULL)
		fclose(fa);
	if (fb != NULL)
		fclose(fb);
	return same;
}

static void
files_warn(void *ctx, const char *msg)
{
	const char *zone = ctx;
	char buf[512];
	size_t i;

	/* file contents are not ours: no control bytes on the terminal */
	for (i = 0; msg[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = (msg[i] >= 0 && msg[i] < ' ') || msg[i] == 0x7f ?
		    '?' :
		    msg[i];
	buf[i] = '\0';
	fprintf(stderr, "%s: %s: %s\n", prog, zone, buf);
}

static uint64_t
ds_entries(const struct zn_dataset *ds)
{
	uint64_t n = ds->nent;
	size_t i;

	for (i = 0; i < ds->nsubsets; i++)
		n += ds->subsets[i].ds->nent;
	return n;
}

/* zn_specs_load's progress: ctx, a uint64_t, counts the entries read. */
static void
count_loaded(void *ctx, size_t i, const struct zn_dataset *ds)
{
	(void)i;
	*(uint64_t *)ctx += ds_entries(ds);
}

/*
 * Fetch every file of the zone into temporaries (rsync, the old file as
 * its basis), then rename the changed ones into place: 0, or -1 with err
 * set (no file is renamed unless all arrived).
 */
static int
fetch_files(const struct opts *o, const struct cfg_feed *f, struct ffile *ff,
    size_t nf, struct result *r)
{
	char dir[4000], src[8192], basis[4100], *slash;
	const char *base;
	struct stat st;
	size_t i;

	for (i = 0; i < nf; i++) {
		snprintf(dir, sizeof(dir), "%s", ff[i].dest);
		if ((slash = strrchr(dir, '/')) == NULL)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		base = strrchr(ff[i].dest, '/');
		base = base != NULL ? base + 1 : ff[i].dest;
		snprintf(ff[i].tmpdir, sizeof(ff[i].tmpdir),
		    "%s/.zonesync.XXXXXX", dir);
		if (mkdtemp(ff[i].tmpdir) == NULL) {
			seterr(r->err, sizeof(r->err),
			    "temporary directory in %s: %s", dir,
			    strerror(errno));
			ff[i].tmpdir[0] = '\0';
			return -1;
		}
		snprintf(ff[i].tmp, sizeof(ff[i].tmp), "%s/%s", ff[i].tmpdir,
		    base);
		snprintf(src, sizeof(src), "%s%s%s", f->source,
		    f->source[strlen(f->source) - 1] == '/' ? "" : "/", base);
		/* the old file is the basis of rsync's delta transfer */
		snprintf(basis, sizeof(basis), "--copy-dest=%s", dir);
		if (o->verbose)
			fprintf(stderr, "%s: %s: fetching %s\n", prog, f->name,
			    src);
		if (rsync_fetch(o, src, ff[i].tmp, basis, r->err,
		        sizeof(r->err)) != 0)
			return -1;
		ff[i].changed = !same_content(ff[i].tmp, ff[i].dest);
		if (ff[i].changed && stat(ff[i].tmp, &st) == 0)
			r->bytes += (uint64_t)st.st_size;
	}
	for (i = 0; i < nf; i++)
		if (ff[i].changed && rename(ff[i].tmp, ff[i].dest) == -1) {
			seterr(r->err, sizeof(r->err),
			    "rename %s to %s: %s (files renamed before it "
			    "are imported by the next run)",
			    ff[i].tmp, ff[i].dest, strerror(errno));
			return -1;
		}
	return 0;
}

/*
 * A files-from zone: fetch its dataset files, then import those whose
 * identity differs from what the database holds as one diff
 * (zn_db_replace: the same write as "zonesync import" and the daemon's).
 */
static void
sync_files(const struct opts *o, struct zn_db *db, const struct config *c,
    const struct cfg_feed *f, struct result *r)
{
	struct zn_parse_opts popts = { .warn = files_warn };
	struct zn_spec *specs = NULL;
	struct zn_dataset **ds = NULL;
	struct ffile *ff = NULL;
	struct zn_write_stats wst;
	struct zn_fileid *held = NULL;
	struct zn_err err;
	size_t n = 0, nf = 0, maxf = 0, i, j, k;
	bool any = false, *want = NULL;
	double t0 = mono();

	memset(r, 0, sizeof(*r));
	r->zone = f->name;
	r->status = R_FAILED;
	r->files = true;
	popts.warn_ctx = (void *)(uintptr_t)f->name;
	popts.host_bits_ok = c->host_bits_ok;
	popts.no_gunzip = c->no_gunzip;
	for (i = 0; i < c->nspecs; i++)
		if (strcmp(c->specs[i].zone, f->name) == 0) {
			n++;
			maxf += c->specs[i].nfiles;
		}
	specs = calloc(n + 1, sizeof(*specs));
	ds = calloc(n + 1, sizeof(*ds));
	want = calloc(n + 1, sizeof(*want));
	ff = calloc(maxf + 1, sizeof(*ff));
	if (specs == NULL || ds == NULL || want == NULL || ff == NULL) {
		seterr(r->err, sizeof(r->err), "out of memory");
		goto out;
	}
	for (i = 0, n = 0; i < c->nspecs; i++) {
		if (strcmp(c->specs[i].zone, f->name) != 0)
			continue;
		specs[n] = c->specs[i]; /* shallow: only ids is ours */
		specs[n].ids = NULL;
		for (k = 0; k < specs[n].nfiles; k++) {
			for (j = 0; j < nf; j++)
				if (strcmp(ff[j].dest, specs[n].filev[k]) == 0)
					break;
			if (j == nf)
				ff[nf++].dest = specs[n].filev[k];
		}
		n++;
	}
	if (fetch_files(o, f, ff, nf, r) != 0)
		goto out;

	/* the datasets whose files differ from what the database holds */
	for (i = 0; i < n; i++) {
		bool differs;
		int rc;

		free(held);
		if ((held = calloc(specs[i].nfiles, sizeof(*held))) == NULL) {
			seterr(r->err, sizeof(r->err), "out of memory");
			goto out;
		}
		rc = zn_db_fileids(db, &specs[i], held, &err);
		if (rc != 0 && rc != -ENOENT && rc != -ENODATA) {
			seterr(r->err, sizeof(r->err), "%s", err.msg);
			goto out;
		}
		if (zn_spec_stat(&specs[i], &err) != 0) {
			seterr(r->err, sizeof(r->err), "%s", err.msg);
			goto out;
		}
		differs = rc != 0;
		for (k = 0; k < specs[i].nfiles && !differs; k++)
			differs = !zn_fileid_equal(&specs[i].ids[k], &held[k]);
		want[i] = differs;
		any = any || differs;
	}
	if (!any) {
		r->status = R_CURRENT;
		goto out;
	}
	if (zn_specs_load(specs, n, want, &popts, ds, count_loaded,
	        &r->st.entries, &err) != 0) {
		seterr(r->err, sizeof(r->err), "%s (database unchanged)",
		    err.msg);
		goto out;
	}
	if (zn_db_replace(db, specs, ds, n, &wst, &err) != 0) {
		seterr(r->err, sizeof(r->err), "%s (database unchanged)",
		    err.msg);
		goto out;
	}
	r->st.adds = wst.puts;
	r->st.dels = wst.dels;
	r->status = wst.changed ? R_UPDATED : R_CURRENT;
out:
	for (i = 0; i < nf; i++) {
		if (ff[i].tmpdir[0] == '\0')
			continue;
		(void)unlink(ff[i].tmp);
		(void)rmdir(ff[i].tmpdir);
	}
	if (ds != NULL)
		zn_specs_free(ds, n);
	for (i = 0; i < n; i++)
		free(specs[i].ids);
	free(held);
	free(ff);
	free(specs);
	free(ds);
	free(want);
	r->secs = mono() - t0;
}

/*
 * zonesync -c: every zone of the daemon's config with mode = feed or
 * files-from (or those named), into the config's database.
 */
static int
sync_config(struct opts *o, const char *cpath, int nz, char **zones)
{
	struct config *c;
	struct zn_db *db;
	struct zn_err err;
	char cerr[CFG_ERR_LEN], staging[4096];
	size_t i, k, nout = 0;
	int rc = 0, lockfd, z;

	if (conf_load(cpath, &c, cerr, sizeof(cerr)) != 0) {
		fprintf(stderr, "%s: %s\n", prog, cerr);
		return 2;
	}
	for (z = 0; z < nz; z++) {
		for (i = 0; i < c->nfeeds; i++)
			if (strcasecmp(c->feeds[i].name, zones[z]) == 0)
				break;
		if (i == c->nfeeds) {
			fprintf(stderr,
			    "%s: %s: %s: no such zone with mode = feed or "
			    "files-from\n",
			    prog, cpath, zones[z]);
			conf_free(c);
			return 2;
		}
	}
	if (c->nfeeds == 0) {
		fprintf(stderr,
		    "%s: %s: no zone with mode = feed or files-from\n", prog,
		    cpath);
		conf_free(c);
		return 2;
	}
	o->dbdir = c->database;
	if (o->staging == NULL) {
		snprintf(staging, sizeof(staging), "%s/feed-staging", o->dbdir);
		o->staging = staging;
	}
	if (zn_db_open(o->dbdir, 0, o->mapsize, &db, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		conf_free(c);
		return 1;
	}
	if ((lockfd = lock_db(o->dbdir)) == -1) {
		zn_db_close(db);
		conf_free(c);
		return 1;
	}
	if (o->json)
		printf("{\"zones\": [");
	for (i = 0; i < c->nfeeds; i++) {
		const struct cfg_feed *f = &c->feeds[i];
		struct result r;

		for (z = 0; z < nz; z++)
			if (strcasecmp(f->name, zones[z]) == 0)
				break;
		if (nz > 0 && z == nz)
			continue;
		if (f->files_from)
			sync_files(o, db, c, f, &r);
		else {
			o->nkeys = 0;
			for (k = 0; k < f->nkeys; k++) {
				if (zn_feed_pubkey_load(f->keys[k],
				        &o->keys[o->nkeys], &err) != 0) {
					fprintf(stderr, "%s: %s:%u: key: %s\n",
					    prog, cpath, f->key_lines[k],
					    err.msg);
					continue;
				}
				o->nkeys++;
			}
			sync_zone(o, db, f->source, f->name, &r);
		}
		print_result(o, &r, nout++ == 0);
		if (r.status == R_FAILED)
			rc = 1;
	}
	if (o->json)
		printf("\n  ], \"ok\": %s}\n", rc == 0 ? "true" : "false");
	zn_db_close(db);
	close(lockfd);
	conf_free(c);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}

static int
cmd_sync(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "skew", required_argument, NULL, 'K' },
		{ "rsync", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "staging", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .rsync = "rsync",
		.skew = ZN_FEED_SKEW_DEFAULT,
		.timeout = 300 };
	struct zn_db *db;
	struct zn_err err;
	char *kpaths[MAXKEYS], staging[4096];
	const char *cpath = NULL;
	char **zones, **owned = NULL;
	size_t nk = 0, nz, i;
	int ch, lockfd, rc = 0;
	unsigned long v;

	while ((ch = getopt_long(argc, argv, "c:d:k:qvm:S:h", lopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			cpath = optarg;
			break;
		case 'd':
			o.dbdir = optarg;
			break;
		case 'k':
			if (nk == MAXKEYS) {
				fprintf(stderr, "%s: at most %d keys\n", prog,
				    MAXKEYS);
				return 2;
			}
			kpaths[nk++] = optarg;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'J':
			o.json = true;
			break;
		case 'm':
			if (zn_parse_size(optarg, &o.mapsize) != 0 ||
			    o.mapsize == 0) {
				fprintf(stderr, "%s: -m %s: not a size\n", prog,
				    optarg);
				return 2;
			}
			break;
		case 'S':
			o.staging = optarg;
			break;
		case 'K':
			if (parse_uint(optarg, 86400, &v) != 0) {
				fprintf(stderr, "%s: --skew %s: not seconds\n",
				    prog, optarg);
				return 2;
			}
			o.skew = v;
			break;
		case 'R':
			o.rsync = optarg;
			break;
		case 'T':
			if (parse_uint(optarg, 86400, &v) != 0 || v == 0) {
				fprintf(stderr,
				    "%s: --timeout %s: not seconds\n", prog,
				    optarg);
				return 2;
			}
			o.timeout = v;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (cpath != NULL) {
		if (o.dbdir != NULL || nk > 0) {
			fprintf(stderr,
			    "%s: -c takes the database and keys from the "
			    "config: no -d or -k with it\n",
			    prog);
			return 2;
		}
		return sync_config(&o, cpath, argc, argv);
	}
	if (o.dbdir == NULL || nk == 0 || argc < 1 || argv[0][0] == '\0')
		usage();
	for (i = 0; i < nk; i++)
		if (zn_feed_pubkey_load(kpaths[i], &o.keys[i], &err) != 0) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			return 2;
		}
	o.nkeys = nk;
	if (o.staging == NULL) {
		snprintf(staging, sizeof(staging), "%s/feed-staging", o.dbdir);
		o.staging = staging;
	}
	if (argc > 1) {
		zones = argv + 1;
		nz = argc - 1;
	} else if (is_rsync(argv[0])) {
		fprintf(stderr, "%s: name the zones to fetch from %s\n", prog,
		    argv[0]);
		return 2;
	} else if ((zones = owned = local_zones(argv[0], &nz)) == NULL ||
	    nz == 0)
		return 1;
	if (zn_db_open(o.dbdir, 0, o.mapsize, &db, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		rc = 1;
		goto out;
	}
	if ((lockfd = lock_db(o.dbdir)) == -1) {
		zn_db_close(db);
		rc = 1;
		goto out;
	}
	if (o.json)
		printf("{\"zones\": [");
	for (i = 0; i < nz; i++) {
		struct result r;

		sync_zone(&o, db, argv[0], zones[i], &r);
		print_result(&o, &r, i == 0);
		if (r.status == R_FAILED)
			rc = 1;
	}
	if (o.json)
		printf("\n  ], \"ok\": %s}\n", rc == 0 ? "true" : "false");
	zn_db_close(db);
	close(lockfd);
out:
	for (i = 0; owned != NULL && i < nz; i++)
		free(owned[i]);
	free(owned);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}

static void
warn_stderr(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s: %s\n", prog, msg);
}

/*
 * Plain rbldnsd files: parse, then one zn_db_replace, which writes the
 * merge-join diff against what the database holds in one transaction.
 */
static int
cmd_import(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	struct zn_parse_opts popts = { .warn = warn_stderr };
	struct zn_write_stats st;
	struct zn_spec *specs;
	struct zn_dataset **ds;
	struct zn_db *db = NULL;
	struct zn_err err;
	const char *dbdir = NULL;
	size_t mapsize = 0, n, i, j;
	uint64_t total = 0;
	bool quiet = false, json = false;
	double t0 = mono(), tparse;
	int ch, rc = 1, lockfd = -1;

	while ((ch = getopt_long(argc, argv, "d:qeCm:", lopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dbdir = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'J':
			json = true;
			break;
		case 'e':
			popts.host_bits_ok = true;
			break;
		case 'C':
			popts.no_gunzip = true;
			break;
		case 'm':
			if (zn_parse_size(optarg, &mapsize) != 0 ||
			    mapsize == 0) {
				fprintf(stderr, "%s: -m %s: not a size\n", prog,
				    optarg);
				return 2;
			}
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (dbdir == NULL || argc == 0)
		usage();
	n = argc;
	specs = calloc(n, sizeof(*specs));
	ds = calloc(n, sizeof(*ds));
	if (specs == NULL || ds == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		free(specs);
		free(ds);
		return 1;
	}
	for (i = 0; i < n; i++)
		if (zn_spec_parse(argv[i], &specs[i], &err) != 0) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			rc = 2;
			goto out;
		}
	if (zn_specs_load(specs, n, NULL, &popts, ds, count_loaded, &total,
	        &err) != 0) {
		fprintf(stderr, "%s: %s (database unchanged)\n", prog, err.msg);
		goto out;
	}
	tparse = mono() - t0;
	if (zn_db_open(dbdir, 0, mapsize, &db, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		goto out;
	}
	if ((lockfd = lock_db(dbdir)) == -1)
		goto out;
	if (zn_db_replace(db, specs, ds, n, &st, &err) != 0) {
		fprintf(stderr, "%s: %s: %s (database unchanged)\n", prog,
		    dbdir, err.msg);
		goto out;
	}
	rc = 0;
	if (json) {
		printf("{\"import\": {\"zones\": [");
		for (i = 0; i < n; i++) {
			for (j = 0; j < i; j++)
				if (strcmp(specs[j].zone, specs[i].zone) == 0)
					break;
			if (j < i)
				continue;
			printf("%s", i ? ", " : "");
			zn_json_str(stdout, specs[i].zone);
		}
		printf("], \"changed\": %s, \"written\": %zu, \"deleted\": "
		       "%zu, \"entries\": %" PRIu64
		       ", \"parse_seconds\": %.3f, "
		       "\"seconds\": %.3f}, \"ok\": true}\n",
		    st.changed ? "true" : "false", st.puts, st.dels, total,
		    tparse, mono() - t0);
	} else if (!quiet)
		printf("%s: %s, %zu entries written, %zu deleted, %" PRIu64
		       " in "
		       "all; parse %.2fs, total %.2fs\n",
		    dbdir, st.changed ? "updated" : "current", st.puts, st.dels,
		    total, tparse, mono() - t0);
out:
	if (lockfd != -1)
		close(lockfd);
	zn_db_close(db);
	zn_specs_free(ds, n);
	for (i = 0; i < n; i++)
		zn_spec_cleanup(&specs[i]);
	free(specs);
	free(ds);
	return rc;
}

/*
 * The feed state of zones, and whether the data still has the digest
 * the state records: 0 if every zone named (or synced) is, 1 if not.
 */
static int
cmd_status(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dbdir = NULL;
	struct zn_db *db;
	struct zn_view *v = NULL;
	struct zn_err err;
	bool json = false, first = true;
	const char **names;
	size_t n = 0, i;
	int ch, rc = 0;
	int64_t now = time(NULL);

	while ((ch = getopt_long(argc, argv, "d:", lopts, NULL)) != -1) {
		if (ch == 'd')
			dbdir = optarg;
		else if (ch == 'J')
			json = true;
		else
			usage();
	}
	argc -= optind;
	argv += optind;
	if (dbdir == NULL)
		usage();
	if (zn_db_open(dbdir, ZN_DB_RDONLY, 0, &db, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return 1;
	}
	if (argc > 0) {
		n = argc;
		if ((names = calloc(n, sizeof(*names))) == NULL) {
			zn_db_close(db);
			return 1;
		}
		for (i = 0; i < n; i++)
			names[i] = argv[i];
	} else {
		const struct zn_zone *z;

		if (zn_view_open(db, &v, &err) != 0) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			zn_db_close(db);
			return 1;
		}
		z = zn_view_zones(v, &n);
		if ((names = calloc(n ? n : 1, sizeof(*names))) == NULL) {
			zn_view_close(v);
			zn_db_close(db);
			return 1;
		}
		for (i = 0; i < n; i++)
			names[i] = z[i].name;
	}
	if (json)
		printf("{\"zones\": [");
	for (i = 0; i < n; i++) {
		struct zn_feed_state st;
		uint8_t d[ZN_DIGEST_BYTES];
		uint64_t ent = 0;
		char ti[32], te[32], ts[32], hex[2 * ZN_DIGEST_BYTES + 1];
		const char *state;
		int r;
		size_t k;

		r = zn_feed_state_get(db, names[i], &st, &err);
		if (r == -ENOENT) {
			state = "not-synced";
		} else if (r != 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, names[i],
			    err.msg);
			rc = 1;
			continue;
		} else if (zn_feed_db_digest(db, names[i], d, &ent, &err) !=
		        0 ||
		    memcmp(d, st.digest, sizeof(d)) != 0 || ent != st.entries) {
			state = "MISMATCH";
			rc = 1;
		} else if (now >= st.expires) {
			state = "EXPIRED";
			rc = 1;
		} else
			state = "ok";
		for (k = 0; r == 0 && k < ZN_DIGEST_BYTES; k++)
			snprintf(hex + 2 * k, 3, "%02x", st.digest[k]);
		zn_time_iso(r == 0 ? st.issued : 0, ti, sizeof(ti));
		zn_time_iso(r == 0 ? st.expires : 0, te, sizeof(te));
		zn_time_iso(r == 0 ? st.synced : 0, ts, sizeof(ts));
		if (json) {
			printf("%s\n    {\"zone\": ", first ? "" : ",");
			zn_json_str(stdout, names[i]);
			printf(", \"state\": \"%s\"", state);
			if (r == 0)
				printf(", \"serial\": %" PRIu64
				       ", \"entries\": %" PRIu64
				       ", \"digest\": \"%s\", \"issued\": "
				       "%" PRId64 ", \"expires\": %" PRId64
				       ", \"synced\": %" PRId64,
				    st.serial, st.entries, hex, st.issued,
				    st.expires, st.synced);
			printf("}");
			first = false;
		} else if (r != 0)
			printf("%s: not synced from a feed\n", names[i]);
		else
			printf("%s: serial %" PRIu64 ", %" PRIu64
			       " entries, digest %.16s... %s; issued %s, "
			       "expires %s, synced %s\n",
			    names[i], st.serial, st.entries, hex, state, ti, te,
			    ts);
	}
	if (json)
		printf("\n  ], \"ok\": %s}\n", rc == 0 ? "true" : "false");
	free(names);
	if (v != NULL)
		zn_view_close(v);
	zn_db_close(db);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (argc >= 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("%s %s: sync LMDB mirror zones from a signed feed\n",
		    prog, RD_VERSION);
		usage_to(stdout, 0);
	}
	return cmd_sync(argc, argv);
}
