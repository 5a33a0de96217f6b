/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target "feedfile": the feed's snapshot and delta decoder
 * (zn_feed_file_check, zones/feed_codec.c) and the apply of what it
 * accepts (zn_feed_apply_mem, zones/feed_apply.c) onto a small database.
 *
 * Input: a snapshot or delta file, as "zonetool publish" writes them.
 *
 * The database lives in a temporary directory under /dev/shm (else
 * /tmp).  Its base state is zone bl.test at serial 1, made by applying
 * feedfile.base (snap/1 of the feed that mkseeds.py publishes; the seed
 * deltas 1-N start from it).  An input that changes the database is
 * followed by a reset: the database is closed, its data file is
 * overwritten with a copy of the base state and reopened.
 *
 * Checked after each input: a refusal explains itself; an accepted file
 * says what feed.h promises (a usable zone name, from <= to, a snapshot
 * from == to and no ops).  Every accepted file is applied with the target
 * it promises (its serial, digest and entry count): the apply either
 * fails, explaining itself, and leaves the database exactly as it was
 * (feed state, zone digest and a dump of the zone compared with the base
 * state), or succeeds and then the database holds the promised serial,
 * digest and entry count (read back from the feed state and recomputed
 * with zn_feed_db_digest).  A snapshot of the zone is never refused by
 * the apply once zn_feed_file_check accepted it.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "feed.h"
#include "fuzz.h"

#ifndef FUZZ_SRCDIR
#error "FUZZ_SRCDIR: the meson build defines it"
#endif

#define ZONE "bl.test"
#define MAPSIZE ((size_t)64 << 20)
#define NOW 1800000000

static bool ready;
static struct zn_db *db;
static char dbdir[64], datapath[80];
static uint8_t *base_data; /* data.mdb at the base state */
static size_t base_len;
static struct zn_feed_state base_st;
static uint8_t base_digest[ZN_DIGEST_BYTES];
static uint64_t base_entries;
static char *base_dump;
static size_t base_dump_len;

static void cleanup(void);

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f;
	uint8_t *buf;
	long n;

	FUZZ_SETUP((f = fopen(path, "rb")) != NULL, path);
	FUZZ_SETUP(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0, path);
	rewind(f);
	FUZZ_SETUP((buf = malloc(n ? (size_t)n : 1)) != NULL, "malloc");
	FUZZ_SETUP(fread(buf, 1, (size_t)n, f) == (size_t)n, path);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
db_open(void)
{
	struct zn_err err;

	FUZZ_SETUP(zn_db_open(dbdir, 0, MAPSIZE, &db, &err) == 0, err.msg);
}

/* The zone as "zonetool dump" prints it; malloc'ed. */
static char *
dump_zone(size_t *len)
{
	struct zn_err err;
	char *p = NULL;
	FILE *f;

	FUZZ_SETUP((f = open_memstream(&p, len)) != NULL, "open_memstream");
	FUZZ_SETUP(zn_db_dump(db, ZONE, f, &err) == 0, err.msg);
	FUZZ_SETUP(fclose(f) == 0, "dump");
	return p;
}

static void
setup(void)
{
	struct zn_feed_info info;
	struct zn_feed_target t;
	struct zn_err err;
	uint8_t *snap;
	size_t len;
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(dbdir, sizeof(dbdir), "%s/fuzz-feedfile.XXXXXX", tmp);
	FUZZ_SETUP(mkdtemp(dbdir) != NULL, "mkdtemp");
	snprintf(datapath, sizeof(datapath), "%s/data.mdb", dbdir);
	atexit(cleanup);
	db_open();

	snap = slurp(FUZZ_SRCDIR "/feedfile.base", &len);
	FUZZ_SETUP(
	    zn_feed_file_check(snap, len, "feedfile.base", &info, &err) == 0,
	    err.msg);
	FUZZ_SETUP(!info.delta && strcmp(info.zone, ZONE) == 0 && info.to == 1,
	    "feedfile.base: not snap/1 of " ZONE);
	memset(&t, 0, sizeof(t));
	t.serial = info.to;
	memcpy(t.digest, info.digest, sizeof(t.digest));
	t.entries = info.entries;
	t.issued = NOW - 60;
	t.expires = NOW + 86400;
	FUZZ_SETUP(zn_feed_apply_mem(db, ZONE, snap, len, NULL, 0, &t, NOW,
	               NULL, &err) == 0,
	    err.msg);
	free(snap);
	FUZZ_SETUP(zn_feed_state_get(db, ZONE, &base_st, &err) == 0, err.msg);
	FUZZ_SETUP(
	    zn_feed_db_digest(db, ZONE, base_digest, &base_entries, &err) == 0,
	    err.msg);
	base_dump = dump_zone(&base_dump_len);
	zn_db_close(db);
	base_data = slurp(datapath, &base_len);
	db_open();
	ready = true;
}

static void
cleanup(void)
{
	char path[96];

	if (db != NULL)
		zn_db_close(db);
	db = NULL;
	unlink(datapath);
	snprintf(path, sizeof(path), "%s/lock.mdb", dbdir);
	unlink(path);
	rmdir(dbdir);
}

/* Put the base state back: the data file as it was after setup. */
static void
reset(void)
{
	int fd;

	zn_db_close(db);
	FUZZ_SETUP((fd = open(datapath, O_WRONLY | O_TRUNC)) != -1, datapath);
	FUZZ_SETUP(write(fd, base_data, base_len) == (ssize_t)base_len,
	    "write data.mdb");
	FUZZ_SETUP(close(fd) == 0, "close data.mdb");
	db_open();
}

static void
check_err(int rc, const struct zn_err *err)
{
	FUZZ_CHECK(rc < 0);
	FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
	FUZZ_CHECK(err->msg[0] != '\0');
}

/* The database is exactly at the base state. */
static void
check_unchanged(void)
{
	struct zn_feed_state st;
	struct zn_err err;
	uint8_t d[ZN_DIGEST_BYTES];
	uint64_t n;
	char *dump;
	size_t len;

	FUZZ_CHECK(zn_feed_state_get(db, ZONE, &st, &err) == 0);
	FUZZ_CHECK(memcmp(&st, &base_st, sizeof(st)) == 0);
	FUZZ_CHECK(zn_feed_db_digest(db, ZONE, d, &n, &err) == 0);
	FUZZ_CHECK(memcmp(d, base_digest, sizeof(d)) == 0 && n == base_entries);
	dump = dump_zone(&len);
	FUZZ_CHECK(len == base_dump_len && memcmp(dump, base_dump, len) == 0);
	free(dump);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zn_feed_info info;
	struct zn_feed_target t;
	struct zn_feed_stats fst;
	struct zn_feed_state st;
	struct zn_err err;
	uint8_t *buf, d[ZN_DIGEST_BYTES];
	uint64_t n;
	int rc;

	if (!ready)
		setup();
	/* an exact-size copy, so ASan sees reads past the end */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	memset(&err, 0, sizeof(err));
	rc = zn_feed_file_check(buf, size, "input", &info, &err);
	if (rc != 0) {
		check_err(rc, &err);
		free(buf);
		return 0;
	}
	FUZZ_CHECK(memchr(info.zone, '\0', sizeof(info.zone)) != NULL);
	FUZZ_CHECK(zn_feed_zone_ok(info.zone));
	FUZZ_CHECK(info.from <= info.to);
	if (info.delta)
		FUZZ_CHECK(info.from < info.to);
	else
		FUZZ_CHECK(info.from == info.to && info.ops_add == 0 &&
		    info.ops_del == 0 && info.ops_set == 0);

	memset(&t, 0, sizeof(t));
	t.serial = info.to;
	memcpy(t.digest, info.digest, sizeof(t.digest));
	t.entries = info.entries;
	t.issued = NOW;
	t.expires = NOW + 3600;
	memset(&err, 0, sizeof(err));
	if (info.delta)
		rc = zn_feed_apply_mem(db, ZONE, NULL, 0, buf, size, &t, NOW,
		    &fst, &err);
	else
		rc = zn_feed_apply_mem(db, ZONE, buf, size, NULL, 0, &t, NOW,
		    &fst, &err);
	free(buf);
	if (rc != 0) {
		check_err(rc, &err);
		if (!info.delta && strcmp(info.zone, ZONE) == 0 &&
		    rc != -ENOMEM && rc != -ENOSPC) {
			fprintf(stderr, "accepted snapshot refused: %s\n",
			    err.msg);
			FUZZ_CHECK(!"an accepted snapshot applies");
		}
		check_unchanged();
		return 0;
	}
	/* applied: the database is where the file promised */
	FUZZ_CHECK(strcmp(info.zone, ZONE) == 0);
	FUZZ_CHECK(!info.delta || info.from == base_st.serial);
	FUZZ_CHECK(fst.snapshot == !info.delta);
	FUZZ_CHECK(fst.entries == info.entries);
	FUZZ_CHECK(zn_feed_state_get(db, ZONE, &st, &err) == 0);
	FUZZ_CHECK(st.serial == info.to && st.entries == info.entries);
	FUZZ_CHECK(memcmp(st.digest, info.digest, sizeof(d)) == 0);
	FUZZ_CHECK(st.synced == NOW && st.issued == t.issued &&
	    st.expires == t.expires);
	FUZZ_CHECK(zn_feed_db_digest(db, ZONE, d, &n, &err) == 0);
	FUZZ_CHECK(memcmp(d, info.digest, sizeof(d)) == 0 && n == info.entries);
	reset();
	return 0;
}
