/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zonetool keygen, publish and verify: the publisher's side of the signed
 * zone feed (zones/feed.h).
 *
 *   keygen -p PUBFILE -s SECFILE
 *   publish -s SECFILE -o FEEDDIR [--keep N] [--expires DURATION]
 *           [--snapshot] [--share FRACTION] [--issued UNIXTIME] [-e] [-C]
 *           ZONE:TYPE:FILE[,FILE...] ...
 *   verify -k PUBFILE [-k PUBFILE...] FEEDDIR [ZONE...]
 *
 * Exit codes as for the other commands: 0 success, 1 failure, 2 usage.
 */
#include "config.h"

#include "feed.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zones.h"

int cmd_keygen(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#define DEFAULT_KEEP 24
#define DEFAULT_LIFETIME (24 * 3600)
#define DEFAULT_SHARE 0.5

static const char *prog = "zonetool";

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
warn_stderr(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

/* "90", "35m", "1h30m", "7d", "2w": seconds; -1 if not a duration. */
static int64_t
parse_duration(const char *s)
{
	int64_t total = 0;

	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		char *end;
		unsigned long long v;
		int64_t mul = 1;

		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno != 0 || v > (1ull << 40))
			return -1;
		switch (*end) {
		case 's':
			end++;
			break;
		case 'm':
			mul = 60;
			end++;
			break;
		case 'h':
			mul = 3600;
			end++;
			break;
		case 'd':
			mul = 86400;
			end++;
			break;
		case 'w':
			mul = 7 * 86400;
			end++;
			break;
		case '\0':
			break;
		default:
			return -1;
		}
		total += (int64_t)v * mul;
		s = end;
	}
	return total;
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

int
cmd_keygen(int argc, char **argv)
{
	const char *pub = NULL, *sec = NULL;
	uint8_t id[ZN_FEED_KEYID_LEN];
	char hex[17];
	struct zn_err err;
	int ch;

	while ((ch = getopt(argc, argv, "p:s:")) != -1) {
		switch (ch) {
		case 'p':
			pub = optarg;
			break;
		case 's':
			sec = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (pub == NULL || sec == NULL || optind != argc)
		goto usage;
	if (zn_feed_keygen(pub, sec, id, &err) != 0) {
		fprintf(stderr, "%s: keygen: %s\n", prog, err.msg);
		return 1;
	}
	zn_feed_keyid_hex(id, hex);
	printf("key %s: public key %s, secret key %s (mode 0600)\n", hex, pub,
	    sec);
	return 0;
usage:
	fprintf(stderr, "usage: %s keygen -p PUBFILE -s SECFILE\n", prog);
	return 2;
}

static void
usage_publish(void)
{
	fprintf(stderr,
	    "usage: %s publish -s SECFILE -o FEEDDIR [--keep N] "
	    "[--expires DURATION]\n"
	    "           [--snapshot] [--share FRACTION] [--issued UNIXTIME] "
	    "[-e] [-C]\n"
	    "           ZONE:TYPE:FILE[,FILE...] ...\n",
	    prog);
}

/* The specs of one zone, in command-line order. */
struct zgroup {
	const char *zone;
	size_t n;
	char **spec;
	struct zn_dataset **ds;
	bool *want; /* per spec of the command line: of this zone */
	struct zn_dataset **all; /* per spec of the command line */
};

static int
publish_zone(const struct zn_feed_pubopts *o, struct zn_spec *specs,
    size_t nspecs, const char *zone, const struct zn_parse_opts *popts)
{
	struct zn_feed_content c;
	struct zn_feed_pubres r;
	struct zn_err err;
	struct zgroup g = { zone, 0, NULL, NULL, NULL, NULL };
	char hs[32], hd[32];
	double t0 = mono(), t1;
	size_t i;
	int rc = 1;

	g.spec = calloc(nspecs, sizeof(*g.spec));
	g.ds = calloc(nspecs, sizeof(*g.ds));
	g.want = calloc(nspecs, sizeof(*g.want));
	g.all = calloc(nspecs, sizeof(*g.all));
	if (g.spec == NULL || g.ds == NULL || g.want == NULL || g.all == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	for (i = 0; i < nspecs; i++) {
		struct zn_spec *s = &specs[i];

		if (strcmp(s->zone, zone) != 0)
			continue;
		g.want[i] = true;
		if (asprintf(&g.spec[g.n], "%s:%s", zn_type_name(s->type),
		        s->files) == -1) {
			g.spec[g.n] = NULL;
			fprintf(stderr, "%s: out of memory\n", prog);
			goto out;
		}
		g.n++;
	}
	/* the same files twice in a zone: one parse */
	if (zn_specs_load(specs, nspecs, g.want, popts, g.all, NULL, NULL,
	        &err) != 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, zone, err.msg);
		goto out;
	}
	for (i = 0, g.n = 0; i < nspecs; i++)
		if (g.want[i])
			g.ds[g.n++] = g.all[i];
	t1 = mono();
	c.zone = zone;
	c.n = g.n;
	c.spec = g.spec;
	c.ds = g.ds;
	if (zn_feed_publish(o, &c, &r, &err) != 0) {
		fprintf(stderr, "%s: publish %s: %s\n", prog, zone, err.msg);
		goto out;
	}
	if (r.broken[0] != '\0')
		fprintf(stderr,
		    "%s: %s: warning: the previous version cannot be read "
		    "(%s): publishing a snapshot without deltas\n",
		    prog, zone, r.broken);
	human(r.snap_size, hs, sizeof(hs));
	human(r.delta_size, hd, sizeof(hd));
	if (!r.changed)
		printf("%s: serial %" PRIu64 " unchanged (%" PRIu64
		       " entries), manifest signed anew; compile %.2fs, "
		       "publish %.2fs\n",
		    zone, r.serial, r.entries, t1 - t0, mono() - t1);
	else
		printf("%s: serial %" PRIu64 " -> %" PRIu64 ": +%" PRIu64
		       " -%" PRIu64 " ~%" PRIu64 " entries, %" PRIu64
		       " total; delta %s, snapshot %s; %zu deltas listed, "
		       "%zu old files removed; compile %.2fs, publish %.2fs\n",
		    zone, r.prev, r.serial, r.adds, r.dels, r.sets, r.entries,
		    r.prev ? hd : "-", r.snapshot ? hs : "-", r.ndeltas,
		    r.removed, t1 - t0, mono() - t1);
	rc = 0;
out:
	if (g.all != NULL)
		zn_specs_free(g.all, nspecs);
	for (i = 0; i < g.n; i++)
		free(g.spec[i]);
	free(g.spec);
	free(g.ds);
	free(g.want);
	free(g.all);
	return rc;
}

int
cmd_publish(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "keep", required_argument, NULL, 'k' },
		{ "expires", required_argument, NULL, 'x' },
		{ "snapshot", no_argument, NULL, 'S' },
		{ "share", required_argument, NULL, 'r' },
		{ "issued", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct zn_parse_opts popts = { .warn = warn_stderr };
	struct zn_feed_pubopts o = { .keep = DEFAULT_KEEP,
		.lifetime = DEFAULT_LIFETIME,
		.snapshot_share = DEFAULT_SHARE };
	struct zn_feed_seckey *sk = NULL;
	struct zn_spec *specs = NULL;
	struct zn_err err;
	const char *secpath = NULL;
	size_t n = 0, i, j;
	int ch, rc = 0;
	char *end;

	while ((ch = getopt_long(argc, argv, "s:o:eC", lopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			secpath = optarg;
			break;
		case 'o':
			o.dir = optarg;
			break;
		case 'e':
			popts.host_bits_ok = true;
			break;
		case 'C':
			popts.no_gunzip = true;
			break;
		case 'k': {
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 ||
			    v > ZN_FEED_DELTAS_MAX) {
				fprintf(stderr,
				    "%s: --keep %s: not a number in 1..%d\n",
				    prog, optarg, ZN_FEED_DELTAS_MAX);
				return 2;
			}
			o.keep = v;
			break;
		}
		case 'x':
			if ((o.lifetime = parse_duration(optarg)) <= 0) {
				fprintf(stderr,
				    "%s: --expires %s: not a duration (90, 35m, "
				    "1h30m, 7d)\n",
				    prog, optarg);
				return 2;
			}
			break;
		case 'S':
			o.force_snapshot = true;
			break;
		case 'r':
			errno = 0;
			o.snapshot_share = strtod(optarg, &end);
			if (errno || *end || end == optarg ||
			    !(o.snapshot_share >= 0 &&
			        o.snapshot_share <= 100)) {
				fprintf(stderr, "%s: --share %s: not a share\n",
				    prog, optarg);
				return 2;
			}
			break;
		case 'i': {
			long long v;

			errno = 0;
			v = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || v <= 0) {
				fprintf(stderr,
				    "%s: --issued %s: not a unix time\n", prog,
				    optarg);
				return 2;
			}
			o.issued = v;
			break;
		}
		default:
			usage_publish();
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (secpath == NULL || o.dir == NULL || argc == 0) {
		usage_publish();
		return 2;
	}
	if ((specs = calloc(argc, sizeof(*specs))) == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	for (i = 0; i < (size_t)argc; i++, n++)
		if (zn_spec_parse(argv[i], &specs[i], &err) != 0 ||
		    !zn_feed_zone_ok(specs[i].zone)) {
			if (specs[i].zone != NULL)
				fprintf(stderr,
				    "%s: %s: zone name not usable in a feed "
				    "(lower-case letters, digits, '-', '_', "
				    "'.')\n",
				    prog, argv[i]);
			else
				fprintf(stderr, "%s: %s\n", prog, err.msg);
			rc = 2;
			n++;
			goto out;
		}
	if (zn_feed_seckey_load(secpath, &sk, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		rc = 1;
		goto out;
	}
	o.sk = sk;
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(specs[j].zone, specs[i].zone) == 0)
				break;
		if (j == i &&
		    publish_zone(&o, specs, n, specs[i].zone, &popts) != 0)
			rc = 1;
	}
out:
	for (i = 0; i < n; i++)
		zn_spec_cleanup(&specs[i]);
	free(specs);
	zn_feed_seckey_free(sk);
	return rc;
}

static int
load_keys(char **paths, size_t n, struct zn_feed_pubkey *keys)
{
	struct zn_err err;
	size_t i;

	for (i = 0; i < n; i++)
		if (zn_feed_pubkey_load(paths[i], &keys[i], &err) != 0) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			return -1;
		}
	return 0;
}

static int
verify_one(const char *feed, const char *zone,
    const struct zn_feed_pubkey *keys, size_t nkeys)
{
	struct zn_feed_verify v;
	struct zn_err err;
	char dir[4096], hb[32];

	if (!zn_feed_zone_ok(zone)) {
		fprintf(stderr, "%s: %s: not a feed zone name\n", prog, zone);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/%s", feed, zone);
	if (zn_feed_verify_zone(dir, zone, keys, nkeys, time(NULL), &v, &err) !=
	    0) {
		fprintf(stderr, "%s: verify %s: %s\n", prog, zone, err.msg);
		return 1;
	}
	human(v.bytes, hb, sizeof(hb));
	printf("%s: serial %" PRIu64 ": %zu files, %s: ok\n", zone, v.serial,
	    v.nfiles, hb);
	return 0;
}

int
cmd_verify(int argc, char **argv)
{
	struct zn_feed_pubkey keys[16];
	char *kpaths[16];
	size_t nk = 0;
	int ch, i, rc = 0, found = 0;

	while ((ch = getopt(argc, argv, "k:")) != -1) {
		if (ch != 'k' || nk == 16) {
			fprintf(stderr,
			    "usage: %s verify -k PUBFILE [-k PUBFILE...] "
			    "FEEDDIR [ZONE...]\n",
			    prog);
			return 2;
		}
		kpaths[nk++] = optarg;
	}
	argc -= optind;
	argv += optind;
	if (nk == 0 || argc < 1) {
		fprintf(stderr,
		    "usage: %s verify -k PUBFILE [-k PUBFILE...] FEEDDIR "
		    "[ZONE...]\n",
		    prog);
		return 2;
	}
	if (load_keys(kpaths, nk, keys) != 0)
		return 1;
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			rc |= verify_one(argv[0], argv[i], keys, nk);
		return rc;
	}
	{
		DIR *d = opendir(argv[0]);
		struct dirent *de;
		char **names = NULL;
		size_t nn = 0, j;

		if (d == NULL) {
			fprintf(stderr, "%s: %s: %s\n", prog, argv[0],
			    strerror(errno));
			return 1;
		}
		while ((de = readdir(d)) != NULL) {
			char path[4096];
			struct stat st;
			char **nv;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s/manifest", argv[0],
			    de->d_name);
			if (stat(path, &st) != 0)
				continue;
			nv = realloc(names, (nn + 1) * sizeof(*names));
			if (nv == NULL ||
			    (nv[nn] = strdup(de->d_name)) == NULL) {
				free(nv ? nv : names);
				closedir(d);
				fprintf(stderr, "%s: out of memory\n", prog);
				return 1;
			}
			names = nv;
			nn++;
		}
		closedir(d);
		for (j = 0; j < nn; j++) {
			rc |= verify_one(argv[0], names[j], keys, nk);
			found++;
			free(names[j]);
		}
		free(names);
	}
	if (found == 0) {
		fprintf(stderr, "%s: %s: no zone with a manifest\n", prog,
		    argv[0]);
		return 1;
	}
	return rc;
}
