/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zonetool: compile rbldnsd dataset files into the LMDB mirror, dump it,
 * check files, and look names up the way resolverd would answer them.
 *
 * Exit codes: 0 success, 1 the operation failed (bad zone, database
 * error), 2 usage or environment error.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zones.h"

#define DEFAULT_TTL 2100 /* rbldnsd's -t default, 35m */

static const char *prog = "zonetool";

static void
usage_to(FILE *f, int code)
{
	fprintf(f,
	    "usage: %s compile -d DBDIR [-e] [-C] [-m MAPSIZE] "
	    "ZONE:TYPE:FILE[,FILE...] ...\n"
	    "       %s dump -d DBDIR [ZONE]\n"
	    "       %s check [-e] [-C] [-t TYPE] [TYPE:]FILE[,FILE...] ...\n"
	    "       %s lookup -d DBDIR [-c CLIENT] [-t TTL] NAME... | -\n"
	    "       %s keygen -p PUBFILE -s SECFILE\n"
	    "       %s publish -s SECFILE -o FEEDDIR [--keep N] "
	    "[--expires DURATION] [--snapshot]\n"
	    "           [--share FRACTION] [--issued UNIXTIME] [-e] [-C] "
	    "ZONE:TYPE:FILE[,FILE...] ...\n"
	    "       %s verify -k PUBFILE [-k PUBFILE...] FEEDDIR [ZONE...]\n"
	    "       %s geo [-o OUTPREFIX] [--format dbip|ip2location|maxmind] "
	    "[--strict]\n"
	    "           --country CC[=A[:TXT]] ... [--default-value A] "
	    "FILE...\n",
	    prog, prog, prog, prog, prog, prog, prog, prog);
	exit(code);
}

static void
usage(void)
{
	usage_to(stderr, 2);
}

static void
warn_stderr(void *ctx, const char *msg)
{
	size_t *count = ctx;

	if (count != NULL)
		(*count)++;
	fprintf(stderr, "%s\n", msg);
}

static double
now_sec(void)
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

/* A line per dataset read, with its time since the one before. */
struct load_progress {
	const struct zn_spec *specs;
	double t0;
};

static void
loaded(void *ctx, size_t i, const struct zn_dataset *ds)
{
	struct load_progress *lp = ctx;
	double t = now_sec();

	printf("%s:%s: %zu entries, %zu stored, %zu skipped lines, %.2fs\n",
	    zn_type_name(lp->specs[i].type), lp->specs[i].files, ds->nsource,
	    count_entries(ds), ds->nskipped, t - lp->t0);
	lp->t0 = t;
}

static void
free_all(struct zn_spec *specs, struct zn_dataset **ds, size_t n)
{
	size_t i;

	zn_specs_free(ds, n);
	for (i = 0; i < n; i++)
		zn_spec_cleanup(&specs[i]);
	free(specs);
	free(ds);
}

static int
cmd_compile(int argc, char **argv)
{
	struct zn_parse_opts opts = { .warn = warn_stderr };
	struct zn_write_stats st;
	struct load_progress lp;
	struct zn_spec *specs;
	struct zn_dataset **ds;
	struct zn_db *db;
	struct zn_err err;
	const char *dir = NULL;
	size_t mapsize = 0, n, i;
	double t0;
	int ch, rc = 1;

	while ((ch = getopt(argc, argv, "d:eCm:")) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'e':
			opts.host_bits_ok = true;
			break;
		case 'C':
			opts.no_gunzip = true;
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
	if (dir == NULL || argc == 0)
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
			free_all(specs, ds, n);
			return 2;
		}
	lp = (struct load_progress){ specs, now_sec() };
	if (zn_specs_load(specs, n, NULL, &opts, ds, loaded, &lp, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		goto out;
	}
	if (zn_db_open(dir, 0, mapsize, &db, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		goto out;
	}
	t0 = now_sec();
	if (zn_db_replace(db, specs, ds, n, &st, &err) != 0) {
		fprintf(stderr, "%s: %s: %s (database unchanged)\n", prog, dir,
		    err.msg);
	} else {
		printf("%s: %zu entries written, %zu deleted, %zu new "
		       "datasets, %zu dropped, %.2fs\n",
		    dir, st.puts, st.dels, st.datasets_new, st.datasets_dropped,
		    now_sec() - t0);
		rc = 0;
	}
	zn_db_close(db);
out:
	free_all(specs, ds, n);
	return rc;
}

static int
cmd_dump(int argc, char **argv)
{
	struct zn_db *db;
	struct zn_err err;
	const char *dir = NULL;
	int ch, rc;

	while ((ch = getopt(argc, argv, "d:")) != -1) {
		if (ch != 'd')
			usage();
		dir = optarg;
	}
	argc -= optind;
	argv += optind;
	if (dir == NULL || argc > 1)
		usage();
	if (zn_db_open(dir, ZN_DB_RDONLY, 0, &db, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return 1;
	}
	rc = zn_db_dump(db, argc ? argv[0] : NULL, stdout, &err);
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", prog, err.msg);
	zn_db_close(db);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: stdout: %s\n", prog, strerror(errno));
		return 1;
	}
	return rc ? 1 : 0;
}

/*
 * Guess a file's dataset type from its content: $DATASET means combined,
 * otherwise the first data line decides (an IPv4 address or range,
 * an IPv6 address, or a name).
 */
static int
guess_type(const char *file, enum zn_dstype *t)
{
	FILE *f = fopen(file, "r");
	char line[1024];
	int rc = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s = line + strspn(line, " \t");

		if (strncasecmp(s, "$dataset", 8) == 0) {
			*t = ZN_COMBINED;
			rc = 0;
			break;
		}
		if (*s == '#' || *s == ';' || *s == '$' || *s == ':' ||
		    *s == '\n' || *s == '\r' || *s == '\0')
			continue;
		if (*s == '!')
			s++;
		if (strchr(s, ':') != NULL &&
		    strspn(s, "0123456789abcdefABCDEF:/") >
		        strcspn(s, " \t\r\n") - 1)
			*t = ZN_IP6TRIE;
		else if (strspn(s, "0123456789./-") >= strcspn(s, " \t\r\n:"))
			*t = ZN_IP4SET;
		else
			*t = ZN_DNSET;
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

static int
cmd_check(int argc, char **argv)
{
	struct zn_parse_opts opts = { .warn = warn_stderr };
	enum zn_dstype deftype = ZN_NTYPES;
	size_t warnings = 0;
	int ch, i, bad = 0;

	opts.warn_ctx = &warnings;
	while ((ch = getopt(argc, argv, "eCt:")) != -1) {
		switch (ch) {
		case 'e':
			opts.host_bits_ok = true;
			break;
		case 'C':
			opts.no_gunzip = true;
			break;
		case 't':
			if (zn_type_parse(optarg, &deftype) != 0) {
				fprintf(stderr, "%s: -t %s: unknown type\n",
				    prog, optarg);
				return 2;
			}
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	for (i = 0; i < argc; i++) {
		struct zn_spec spec;
		struct zn_dataset *ds;
		struct zn_err err;
		char *arg = argv[i], *colon = strchr(arg, ':');
		enum zn_dstype t = deftype;
		char buf[4096];

		/* accept FILE, TYPE:FILE and ZONE:TYPE:FILE */
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			snprintf(buf, sizeof(buf), "%s", arg);
		else if (colon != NULL)
			snprintf(buf, sizeof(buf), "check:%s", arg);
		else {
			if (t == ZN_NTYPES && guess_type(arg, &t) != 0) {
				fprintf(stderr,
				    "%s: %s: cannot tell the dataset type; "
				    "give -t TYPE\n",
				    prog, arg);
				bad = 1;
				continue;
			}
			snprintf(buf, sizeof(buf), "check:%s:%s",
			    zn_type_name(t), arg);
		}
		if (zn_spec_parse(buf, &spec, &err) != 0) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			return 2;
		}
		warnings = 0;
		if (zn_dataset_load(spec.type, (const char *const *)spec.filev,
		        spec.nfiles, &opts, &ds, &err) != 0) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			bad = 1;
		} else {
			printf("%s:%s: %zu lines, %zu entries, %zu stored, %zu "
			       "skipped lines\n",
			    zn_type_name(spec.type), spec.files, ds->nlines,
			    ds->nsource, count_entries(ds), ds->nskipped);
			if (ds->nskipped > 0)
				bad = 1;
			zn_dataset_free(ds);
		}
		zn_spec_cleanup(&spec);
	}
	return bad;
}

static void
print_txt(const char *s, size_t n)
{
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			printf("\\%03u", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_rr(const struct zn_resrr *rr, uint32_t def_ttl)
{
	size_t off = 0;
	char buf[INET6_ADDRSTRLEN];

	while (off + 6 <= rr->len) {
		const uint8_t *b = rr->rrset + off;
		uint32_t ttl =
		    (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
		size_t rdlen = (size_t)b[4] << 8 | b[5], p;
		const uint8_t *rd = b + 6;

		if (off + 6 + rdlen > rr->len)
			break;
		if (ttl == 0) /* read before any $TTL: the default */
			ttl = def_ttl;
		switch (rr->type) {
		case 1:
			if (rdlen == 4)
				printf("A %s",
				    inet_ntop(AF_INET, rd, buf, sizeof(buf)));
			break;
		case 28:
			if (rdlen == 16)
				printf("AAAA %s",
				    inet_ntop(AF_INET6, rd, buf, sizeof(buf)));
			break;
		case 16:
			if (rdlen >= 1 && rd[0] <= rdlen - 1) {
				printf("TXT ");
				print_txt((const char *)rd + 1, rd[0]);
			}
			break;
		case 15:
			if (rdlen < 3)
				break;
			printf("MX %u ", (unsigned)(rd[0] << 8 | rd[1]));
			for (p = 2;
			     p < rdlen && rd[p] != 0 && p + 1 + rd[p] <= rdlen;
			     p += 1 + rd[p])
				printf("%.*s.", rd[p],
				    (const char *)rd + p + 1);
			break;
		default:
			printf("TYPE%u", rr->type);
		}
		printf(" ttl %u\n", ttl);
		off += 6 + rdlen;
	}
}

static const char *
acl_name(int acl)
{
	switch (acl) {
	case ZN_ACL_IGNORE:
		return "ignore";
	case ZN_ACL_REFUSE:
		return "refuse";
	case ZN_ACL_EMPTY:
		return "empty";
	case ZN_ACL_LISTED:
		return "listed";
	default:
		return "pass";
	}
}

static const char *
rr_type_name(uint16_t type, char *buf)
{
	switch (type) {
	case 1:
		return "A";
	case 15:
		return "MX";
	case 16:
		return "TXT";
	case 28:
		return "AAAA";
	default:
		snprintf(buf, INET_ADDRSTRLEN, "TYPE%u", type);
		return buf;
	}
}

/* Generic A or TXT records answer like a listing (rbldnsd does not tell
 * them apart); MX alone only makes the name exist. */
static bool
has_generic_a_txt(const struct zn_result *r)
{
	size_t i;

	for (i = 0; i < r->nrr; i++)
		if (r->rr[i].type == 1 || r->rr[i].type == 16)
			return true;
	return false;
}

static int
lookup_one(struct zn_view *v, const char *name, const uint8_t *client,
    size_t clen, uint32_t def_ttl)
{
	static struct zn_result r;
	static struct zn_rendered out;
	struct zn_resval val;
	struct zn_qname q;
	const struct zn_zone *z;
	unsigned nkey;
	size_t i;
	char buf[INET_ADDRSTRLEN], subj[INET6_ADDRSTRLEN];
	int rc, acl = ZN_ACL_PASS;

	printf("name %s\n", name);
	if (zn_qname_from_text(&q, name) != 0) {
		printf("result invalid\n");
		return 1;
	}
	if ((z = zn_view_match(v, &q, &nkey)) == NULL) {
		printf("result nozone\n");
		return 1;
	}
	printf("zone %s\n", z->name);
	if (client != NULL) {
		acl = zn_acl_check(v, z, client, clen, &val);
		if (acl < 0) {
			fprintf(stderr, "%s: acl: %s\n", prog, strerror(-acl));
			return 1;
		}
		printf("acl %s\n", acl_name(acl));
		if (acl == ZN_ACL_IGNORE || acl == ZN_ACL_REFUSE) {
			printf("result %s\n",
			    acl == ZN_ACL_IGNORE ? "dropped" : "refused");
			return 0;
		}
		if (acl == ZN_ACL_LISTED) {
			inet_ntop(clen == 4 ? AF_INET : AF_INET6, client, subj,
			    sizeof(subj));
			val.subject = subj;
		}
	}
	if ((rc = zn_lookup_client(v, z, &q, nkey, acl, &val, &r)) != 0) {
		fprintf(stderr, "%s: lookup %s: %s\n", prog, name,
		    strerror(-rc));
		return 1;
	}
	zn_result_render(&r, def_ttl, &out);
	printf("result %s\n",
	    (r.flags & ZN_R_LISTED) || has_generic_a_txt(&r) ? "listed" :
	        (r.flags & ZN_R_EXISTS)                      ? "exists" :
	        (r.flags & ZN_R_ENT)                         ? "ent" :
	                                                       "nxdomain");
	for (i = 0; i < out.na; i++) {
		uint8_t a[4] = { out.a[i] >> 24, out.a[i] >> 16, out.a[i] >> 8,
			out.a[i] };

		printf("A %s ttl %u\n", inet_ntop(AF_INET, a, buf, sizeof(buf)),
		    out.a_ttl);
	}
	for (i = 0; i < out.ntxt; i++) {
		printf("TXT ");
		print_txt(out.txt[i], out.tlen[i]);
		printf(" ttl %u\n", out.txt_ttl);
	}
	if (r.nrr > 0) {
		/* which records are generic ones (rbldnsd hides them from
		 * "empty" and "always listed" clients) */
		printf("generic");
		for (i = 0; i < r.nrr; i++)
			printf(" %s", rr_type_name(r.rr[i].type, buf));
		printf("\n");
	}
	for (i = 0; i < r.nrr; i++)
		print_rr(&r.rr[i], def_ttl);
	return 0;
}

static int
cmd_lookup(int argc, char **argv)
{
	struct zn_db *db;
	struct zn_view *v;
	struct zn_err err;
	const char *dir = NULL;
	uint8_t client[16];
	size_t clen = 0;
	uint32_t def_ttl = DEFAULT_TTL;
	int ch, i, rc = 0;
	bool first = true;

	while ((ch = getopt(argc, argv, "d:c:t:")) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'c':
			if (inet_pton(AF_INET, optarg, client) == 1)
				clen = 4;
			else if (inet_pton(AF_INET6, optarg, client) == 1)
				clen = 16;
			else {
				fprintf(stderr, "%s: -c %s: not an address\n",
				    prog, optarg);
				return 2;
			}
			break;
		case 't': {
			char *end;
			unsigned long t = strtoul(optarg, &end, 10);

			if (*end != '\0' || end == optarg || t > 0x7fffffff) {
				fprintf(stderr, "%s: -t %s: not a TTL\n", prog,
				    optarg);
				return 2;
			}
			def_ttl = t;
			break;
		}
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (dir == NULL || argc == 0)
		usage();
	if (zn_db_open(dir, ZN_DB_RDONLY, 0, &db, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return 1;
	}
	if (zn_view_open(db, &v, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		zn_db_close(db);
		return 1;
	}
	for (i = 0; i < argc; i++) {
		char line[1024];

		if (strcmp(argv[i], "-") != 0) {
			if (!first)
				putchar('\n');
			first = false;
			rc |= lookup_one(v, argv[i], clen ? client : NULL, clen,
			    def_ttl);
			continue;
		}
		while (fgets(line, sizeof(line), stdin) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] == '\0')
				continue;
			if (!first)
				putchar('\n');
			first = false;
			rc |= lookup_one(v, line, clen ? client : NULL, clen,
			    def_ttl);
		}
	}
	zn_view_close(v);
	zn_db_close(db);
	return rc;
}

/* feed.c: the signed zone feed's publisher side */
int cmd_keygen(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_verify(int argc, char **argv);
/* geo.c: country zones from DB-IP, IP2Location or MaxMind CSV files */
int cmd_geo(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int, char **);
} cmds[] = {
	{ "compile", cmd_compile },
	{ "dump", cmd_dump },
	{ "check", cmd_check },
	{ "lookup", cmd_lookup },
	{ "keygen", cmd_keygen },
	{ "publish", cmd_publish },
	{ "verify", cmd_verify },
	{ "geo", cmd_geo },
};

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		printf("%s %s: compile, dump, check and look up rbldnsd "
		       "datasets in an LMDB mirror\n",
		    prog, RD_VERSION);
		usage_to(stdout, 0);
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: %s: unknown command\n", prog, argv[1]);
	usage();
}
