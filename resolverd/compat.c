/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "compat.h"

#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

/* rbldnsd's getopt string, as in its source. */
#define RBLDNSD_OPTS "u:r:b:w:t:c:p:nel:qs:h46dvaAfF:Cx:X:"

bool
compat_detect(int argc, char **argv)
{
	const char *base;
	int i;

	if (argc < 1 || argv[0] == NULL)
		return false;
	base = strrchr(argv[0], '/');
	base = base != NULL ? base + 1 : argv[0];
	if (strcmp(base, "rbldnsd") == 0)
		return true;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *c1;

		if (strcmp(a, "--") == 0)
			break;
		if (a[0] == '-' && a[1] == 'b')
			return true;
		if (a[0] != '-' && (c1 = strchr(a, ':')) != NULL &&
		    strchr(c1 + 1, ':') != NULL)
			return true;
	}
	return false;
}

void
compat_usage(FILE *f)
{
	int t;

	fprintf(f,
	    "resolverd %s (rbldnsd drop-in mode): DNSBL server\n"
	    "usage: resolverd options zone:dataset:file[,file...] ...\n"
	    "       resolverd -c FILE [-d] [-n]   (configuration file mode)\n"
	    "where options are:\n"
	    " -u user[:group] - run as this user:group (rbldns)\n"
	    " -r rootdir - chroot to this directory\n"
	    " -w workdir - working directory with zone files\n"
	    " -b address[/port] - bind to (listen on) this address "
	    "(required)\n"
	    " -4 - use IPv4 only\n"
	    " -6 - use IPv6 only\n"
	    " -t ttl - default TTL value to set in answers (35m)\n"
	    " -v - answer \"rbldnsd\" to version.bind CH TXT (default: "
	    "refuse)\n"
	    "  (a second -v refuses such requests, as by default)\n"
	    " -e - enable CIDR ranges where prefix is not on the range "
	    "boundary\n"
	    "  (by default ranges such 127.0.0.1/8 will be rejected)\n"
	    " -c check - check for file updates every `check' secs (60)\n"
	    " -p pidfile - write backgrounded pid to specified file\n"
	    " -n - do not become a daemon\n"
	    " -d - dump all zones in BIND format to standard output and "
	    "exit\n"
	    " -f - accepted for compatibility: answers never stop during "
	    "reloads\n"
	    " -q - quickstart, load zones after backgrounding\n"
	    " -l [+]logfile - log queries and answers to this file "
	    "(+ for unbuffered)\n"
	    " -s [+]statsfile - write a line with short statistics "
	    "summary into this\n"
	    "  file every `check' (-c) secs, for rrdtool-like applications\n"
	    "  (+ to log relative, not absolute, statistics counters)\n"
	    " -a - omit AUTH section from regular replies, do not return "
	    "list of\n"
	    "  nameservers, but only return NS info when explicitly "
	    "asked.\n"
	    " -A - put AUTH section in every reply.\n"
	    " -C - disable on-the-fly decompression of dataset files\n"
	    " -F facility - syslog facility (daemon)\n"
	    "available dataset types:",
	    RD_VERSION);
	for (t = 0; t < ZN_NTYPES; t++)
		fprintf(f, " %s", zn_type_name((enum zn_dstype)t));
	fprintf(f, "\n");
}

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -code;
}

static int
facility(const char *name)
{
	static const struct {
		const char *name;
		int fac;
	} tab[] = {
		{ "daemon", LOG_DAEMON },
		{ "mail", LOG_MAIL },
		{ "user", LOG_USER },
		{ "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcasecmp(tab[i].name, name) == 0)
			return tab[i].fac;
	return -1;
}

static int
dupstr(char **dst, const char *s)
{
	free(*dst);
	*dst = strdup(s);
	return *dst == NULL ? -ENOMEM : 0;
}

int
compat_parse(int argc, char **argv, struct config **out, char *err,
    size_t errlen)
{
	struct config *c;
	const char *binds[COMPAT_LISTEN_MAX * 4];
	size_t nbinds = 0, i;
	int ch, nv = 0, rc;
	uint32_t t;
	char *colon;

	if ((c = conf_new()) == NULL)
		return seterr(err, errlen, ENOMEM, "out of memory");
	c->dropin = true;
	/* 0, not 1: glibc (and musl) then reinitialise getopt fully,
	 * including a scan position left inside grouped options. */
	optind = 0;
	opterr = 0;
	while ((ch = getopt(argc, argv, RBLDNSD_OPTS)) != -1) {
		rc = 0;
		switch (ch) {
		case 'u':
			if ((rc = dupstr(&c->user, optarg)) != 0)
				break;
			if ((colon = strchr(c->user, ':')) != NULL) {
				*colon = '\0';
				rc = dupstr(&c->group, colon + 1);
			}
			if (rc == 0 &&
			    (strcmp(c->user, "root") == 0 ||
			        strcmp(c->user, "0") == 0)) {
				rc = seterr(err, errlen, EINVAL,
				    "-u %s: refusing to run as root", optarg);
				goto out_free;
			}
			break;
		case 'r':
			rc = dupstr(&c->chroot_dir, optarg);
			break;
		case 'w':
			rc = dupstr(&c->work_dir, optarg);
			break;
		case 'b':
			if (nbinds >= sizeof(binds) / sizeof(binds[0])) {
				rc = seterr(err, errlen, ENOSPC,
				    "too many listening sockets (max %d)",
				    COMPAT_LISTEN_MAX);
				goto out_free;
			}
			binds[nbinds++] = optarg;
			break;
		case 't':
			if (conf_parse_ttl(optarg, &c->ttl_def, &c->ttl_min,
			        &c->ttl_max) != 0) {
				rc = seterr(err, errlen, EINVAL,
				    "invalid ttl (-t) value `%s'", optarg);
				goto out_free;
			}
			break;
		case 'c':
			if (conf_parse_time(optarg, &t) != 0) {
				rc = seterr(err, errlen, EINVAL,
				    "invalid check interval (-c) value `%s'",
				    optarg);
				goto out_free;
			}
			c->check_interval = t;
			break;
		case 'p':
			rc = dupstr(&c->pidfile, optarg);
			break;
		case 'n':
			c->foreground = true;
			break;
		case 'e':
			c->host_bits_ok = true;
			break;
		case 'l':
			if (optarg[0] == '+') {
				c->qlog_unbuffered = true;
				optarg++;
			}
			if (*optarg == '\0') {
				rc = seterr(err, errlen, EINVAL,
				    "-l: empty file name");
				goto out_free;
			}
			rc = dupstr(&c->query_log, optarg);
			break;
		case 'q':
			c->quick = true;
			break;
		case 's':
			if (optarg[0] == '+') {
				c->stats_delta = true;
				optarg++;
			}
			if (*optarg == '\0') {
				rc = seterr(err, errlen, EINVAL,
				    "-s: empty file name");
				goto out_free;
			}
			rc = dupstr(&c->stats_file, optarg);
			break;
		case 'h':
			compat_usage(stdout);
			conf_free(c);
			return 1;
		case '4':
			c->family = AF_INET;
			break;
		case '6':
			c->family = AF_INET6;
			break;
		case 'v':
			nv++;
			break;
		case 'a':
			c->lazy = true;
			break;
		case 'A':
			c->lazy = false;
			break;
		case 'f':
			/* answers never stop while we re-import */
			break;
		case 'F':
			if ((c->facility = facility(optarg)) < 0) {
				rc = seterr(err, errlen, EINVAL,
				    "unknown syslog facility `%s'", optarg);
				goto out_free;
			}
			break;
		case 'C':
			c->no_gunzip = true;
			break;
		case 'd':
			c->dump = true;
			break;
		case 'x':
		case 'X':
			rc = seterr(err, errlen, ENOTSUP,
			    "-%c: extensions are not supported", ch);
			goto out_free;
		case ':':
		case '?':
		default:
			if (optopt != 0 && strchr(RBLDNSD_OPTS, optopt) != NULL)
				rc = seterr(err, errlen, EINVAL,
				    "option -%c requires an argument", optopt);
			else
				rc = seterr(err, errlen, EINVAL,
				    "unknown option -%c (resolverd -h for "
				    "help)",
				    optopt ? optopt : '?');
			goto out_free;
		}
		if (rc != 0) {
			rc = seterr(err, errlen, ENOMEM, "out of memory");
			goto out_free;
		}
	}
	/*
	 * version.bind: hidden (REFUSED) by default, where rbldnsd tells
	 * its version (issue 3); -v answers "rbldnsd" as rbldnsd -v does,
	 * -vv refuses.
	 */
	if (nv == 1 && (c->version = strdup("rbldnsd")) == NULL) {
		rc = seterr(err, errlen, ENOMEM, "out of memory");
		goto out_free;
	}
	if (nbinds == 0 && !c->dump) {
		rc = seterr(err, errlen, EINVAL,
		    "no sockets to listen on: give -b address[/port]");
		goto out_free;
	}
	for (i = 0; i < nbinds; i++) {
		char msg[CFG_ERR_LEN];

		if (conf_add_listen(c, binds[i], c->family, COMPAT_LISTEN_MAX,
		        msg, sizeof(msg)) != 0) {
			rc = seterr(err, errlen, EINVAL, "-b %s", msg);
			goto out_free;
		}
	}
	if (optind >= argc) {
		rc = seterr(err, errlen, EINVAL,
		    "no zone(s) to serve specified");
		goto out_free;
	}
	for (; optind < argc; optind++) {
		char msg[CFG_ERR_LEN];

		if (conf_add_spec(c, argv[optind], c->check_interval, msg,
		        sizeof(msg)) != 0) {
			rc = seterr(err, errlen, EINVAL, "%s", msg);
			goto out_free;
		}
	}
	*out = c;
	return 0;

out_free:
	conf_free(c);
	return rc < 0 ? rc : -EINVAL;
}

char *
compat_statedir(const struct config *c)
{
	const char *env = getenv("RESOLVERD_STATEDIR");
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	char *s;
	size_t i, j;

	if (env != NULL && *env != '\0')
		return strdup(env);
	if (c->work_dir != NULL) {
		if (asprintf(&s, "%s/.resolverd-db", c->work_dir) == -1)
			return NULL;
		return s;
	}
	for (i = 0; i < c->nlisten; i++) {
		const unsigned char *p = (const void *)&c->listen[i].ss;

		for (j = 0; j < c->listen[i].len; j++) {
			h ^= p[j];
			h *= 0x100000001b3ull;
		}
	}
	if (asprintf(&s, "%s/dropin-%08x", RD_STATEDIR,
	        (unsigned)(h ^ h >> 32)) == -1)
		return NULL;
	return s;
}
