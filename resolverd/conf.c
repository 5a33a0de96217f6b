/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * INI configuration (inih) and the value parsers shared with drop-in
 * mode.  inih calls us per "name = value"; the line number comes from our
 * own line reader, so every message can say file:line.
 */
#include "config.h"

#include "conf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <netdb.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "feed.h"

#define LINE_MAX_LEN 4096
#define ZONES_MAX 4096

/* A [zone NAME] section as read, before its intervals are applied. */
struct zsect {
	char *name;
	unsigned interval;
	bool has_interval;
	struct cfg_fzone fz; /* the upstream keys */
	unsigned fwd_line; /* first upstream key, for messages; 0: none */
	bool has_mode, has_errcodes;
	/* mode = feed, feed =, key =, files-from = */
	struct cfg_feed feed;
	bool is_feed;
	unsigned mode_line, key_line;
};

/* State of one INI parse. */
struct parse {
	struct config *c;
	const char *path;
	char *dir; /* directory of the file, for relative dataset paths */
	FILE *f;
	unsigned line; /* the line inih is handling */
	char err[2 * CFG_ERR_LEN]; /* first error */
	bool failed;
	bool interval_set;
	struct zsect *zs;
	size_t nzs;
	int *spec_zone; /* zs index of each spec */
};

static void
xfree(void *p)
{
	free(p);
}

struct config *
conf_new(void)
{
	struct config *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->threads = conf_ncpu();
	c->ttl_def = CFG_TTL_DEFAULT;
	c->edns_size = 1232;
	c->check_interval = CFG_CHECK_DEFAULT;
	c->family = AF_UNSPEC;
	c->cache_size = CFG_CACHE_DEFAULT;
	return c;
}

void
conf_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nspecs; i++)
		zn_spec_cleanup(&c->specs[i]);
	free(c->specs);
	free(c->intervals);
	free(c->spec_lines);
	for (i = 0; i < c->nfzones; i++)
		xfree(c->fzones[i].rewrite);
	free(c->fzones);
	for (i = 0; i < c->nfeeds; i++)
		conf_feed_cleanup(&c->feeds[i]);
	free(c->feeds);
	xfree(c->path);
	xfree(c->database);
	xfree(c->user);
	xfree(c->group);
	xfree(c->control);
	xfree(c->version);
	xfree(c->query_log);
	xfree(c->chroot_dir);
	xfree(c->work_dir);
	xfree(c->pidfile);
	xfree(c->stats_file);
	free(c);
}

unsigned
conf_ncpu(void)
{
	cpu_set_t set;
	long n;

	/*
	 * Count the CPUs this process may run on (taskset, cgroup cpusets,
	 * systemd CPUAffinity=), not the CPUs online in the machine.
	 */
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	if (n > CFG_THREADS_MAX)
		return CFG_THREADS_MAX;
	return (unsigned)n;
}

int
conf_parse_time(const char *s, uint32_t *out)
{
	uint64_t total = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	while (*s != '\0') {
		uint64_t v = 0, mul = 1;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (uint64_t)(*s++ - '0');
			if (v > UINT32_MAX)
				return -ERANGE;
		}
		switch (tolower((unsigned char)*s)) {
		case 's':
			s++;
			break;
		case 'm':
			mul = 60;
			s++;
			break;
		case 'h':
			mul = 3600;
			s++;
			break;
		case 'd':
			mul = 86400;
			s++;
			break;
		case 'w':
			mul = 604800;
			s++;
			break;
		case '\0':
			break;
		default:
			return -EINVAL;
		}
		total += v * mul;
		if (total > INT32_MAX)
			return -ERANGE;
	}
	*out = (uint32_t)total;
	return 0;
}

int
conf_parse_ttl(const char *s, uint32_t *def, uint32_t *min, uint32_t *max)
{
	char buf[128], *part[3] = { NULL, NULL, NULL }, *p;
	uint32_t v[3] = { *def, *min, *max };
	size_t i, n = 0;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (p = buf, n = 0; n < 3; n++) {
		part[n] = p;
		if ((p = strchr(p, ':')) == NULL) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	if (p != NULL)
		return -EINVAL; /* a fourth part */
	for (i = 0; i < n; i++) {
		if (*part[i] == '\0')
			continue;
		if (conf_parse_time(part[i], &v[i]) != 0)
			return -EINVAL;
	}
	if (v[1] != 0 && v[2] != 0 && v[1] > v[2])
		return -ERANGE;
	*def = v[0];
	*min = v[1];
	*max = v[2];
	return 0;
}

static void
addr_text(const struct sockaddr *sa, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	}
	snprintf(out, size, "%s port %u", host, port);
}

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -code;
}

int
conf_add_listen(struct config *c, const char *spec, int family, size_t max,
    char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char buf[512], *host, *port = NULL, *sep;
	size_t i;
	int rc;

	if (strlen(spec) >= sizeof(buf))
		return seterr(err, errlen, EINVAL, "%s: too long", spec);
	strcpy(buf, spec);
	host = buf;
	if ((sep = strrchr(buf, '@')) != NULL ||
	    (sep = strrchr(buf, '/')) != NULL) {
		*sep = '\0';
		port = sep + 1;
		if (*port == '\0')
			return seterr(err, errlen, EINVAL, "%s: empty port",
			    spec);
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		host++;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(*host ? host : NULL, port ? port : "53", &hints, &res);
	if (rc != 0)
		return seterr(err, errlen, EINVAL, "%s: %s", spec,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (ai->ai_addrlen > sizeof(struct sockaddr_storage))
			continue;
		for (i = 0; i < c->nlisten; i++)
			if (c->listen[i].len == ai->ai_addrlen &&
			    memcmp(&c->listen[i].ss, ai->ai_addr,
			        ai->ai_addrlen) == 0)
				break;
		if (i < c->nlisten)
			continue; /* duplicate binds are ignored */
		if (c->nlisten >= max || c->nlisten >= CFG_LISTEN_MAX) {
			freeaddrinfo(res);
			return seterr(err, errlen, ENOSPC,
			    "%s: too many listening addresses (max %zu)", spec,
			    max < CFG_LISTEN_MAX ? max : CFG_LISTEN_MAX);
		}
		memset(&c->listen[i], 0, sizeof(c->listen[i]));
		memcpy(&c->listen[i].ss, ai->ai_addr, ai->ai_addrlen);
		c->listen[i].len = ai->ai_addrlen;
		addr_text(ai->ai_addr, c->listen[i].text,
		    sizeof(c->listen[i].text));
		c->nlisten++;
	}
	freeaddrinfo(res);
	return 0;
}

int
conf_add_spec(struct config *c, const char *spec, unsigned interval, char *err,
    size_t errlen)
{
	struct zn_spec *ns;
	unsigned *ni;
	struct zn_err zerr;

	if (c->nspecs >= ZONES_MAX)
		return seterr(err, errlen, ENOSPC, "%s: too many datasets",
		    spec);
	ns = reallocarray(c->specs, c->nspecs + 1, sizeof(*ns));
	if (ns == NULL)
		return seterr(err, errlen, ENOMEM, "out of memory");
	c->specs = ns;
	ni = reallocarray(c->intervals, c->nspecs + 1, sizeof(*ni));
	if (ni == NULL)
		return seterr(err, errlen, ENOMEM, "out of memory");
	c->intervals = ni;
	memset(&c->specs[c->nspecs], 0, sizeof(c->specs[0]));
	if (zn_spec_parse(spec, &c->specs[c->nspecs], &zerr) != 0)
		return seterr(err, errlen, EINVAL, "%s", zerr.msg);
	c->intervals[c->nspecs] = interval;
	c->nspecs++;
	return 0;
}

/* Record the first error of a parse: "file:line: what". */
static int perr(struct parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
perr(struct parse *p, const char *fmt, ...)
{
	char msg[CFG_ERR_LEN];
	va_list ap;

	if (p->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, sizeof(p->err), "%s:%u: %s", p->path, p->line, msg);
	p->failed = true;
	return 0;
}

static int
parse_bool(const char *v, bool *out)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
	    strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0)
		*out = true;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 ||
	    strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int
set_str(struct parse *p, char **dst, const char *name, const char *v)
{
	if (*dst != NULL)
		return perr(p, "%s: given twice", name);
	if (*v == '\0')
		return perr(p, "%s: empty value", name);
	if ((*dst = strdup(v)) == NULL)
		return perr(p, "%s: out of memory", name);
	return 1;
}

static int
parse_uint(const char *v, unsigned long min, unsigned long max,
    unsigned long *out)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -ERANGE;
	*out = n;
	return 0;
}

/*
 * An upstream server: "ADDR", "ADDR@PORT", "[ADDR]:PORT" or "ADDR/PORT",
 * numeric only (no name is looked up: upstreams are needed before DNS
 * works, and a name would be one more server to trust).
 */
static int
parse_upstream(const char *v, struct cfg_addr *a)
{
	struct addrinfo hints, *res = NULL;
	char buf[128], *host = buf, *port = NULL, *sep;

	if (strlen(v) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, v);
	if (buf[0] == '[' && (sep = strchr(buf, ']')) != NULL) {
		*sep = '\0';
		host = buf + 1;
		if (sep[1] == ':' || sep[1] == '@' || sep[1] == '/')
			port = sep + 2;
		else if (sep[1] != '\0')
			return -EINVAL;
	} else if ((sep = strrchr(buf, '@')) != NULL ||
	    (sep = strrchr(buf, '/')) != NULL) {
		*sep = '\0';
		port = sep + 1;
	}
	if (port != NULL) {
		unsigned long n;

		if (parse_uint(port, 1, 65535, &n) != 0)
			return -EINVAL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (*host == '\0' ||
	    getaddrinfo(host, port ? port : "53", &hints, &res) != 0)
		return -EINVAL;
	if (res == NULL || res->ai_addrlen > sizeof(a->ss) ||
	    (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
		freeaddrinfo(res);
		return -EINVAL;
	}
	memset(a, 0, sizeof(*a));
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	addr_text(res->ai_addr, a->text, sizeof(a->text));
	freeaddrinfo(res);
	return 0;
}

/* "127.255.255.0/24" or "127.0.0.1" into n; 0 or -EINVAL. */
static int
parse_net4(const char *s, size_t len, struct cfg_net4 *n)
{
	char buf[32], *slash;
	struct in_addr in;
	unsigned long bits = 32;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		if (parse_uint(slash + 1, 0, 32, &bits) != 0)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, &in) != 1)
		return -EINVAL;
	n->mask = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
	n->net = ntohl(in.s_addr) & n->mask;
	return 0;
}

/* The default error codes: Spamhaus's error range and its "IP queried
 * against a domain list" codes of DBL and ZRD. */
static void
default_errcodes(struct cfg_fzone *fz)
{
	static const struct cfg_net4 def[] = {
		{ 0x7fffff00, 0xffffff00 }, /* 127.255.255.0/24 */
		{ 0x7f0001ff, 0xffffffff }, /* 127.0.1.255 */
		{ 0x7f0002ff, 0xffffffff }, /* 127.0.2.255 */
	};
	size_t i;

	for (i = 0; i < sizeof(def) / sizeof(def[0]); i++)
		if (fz->nerrcodes < CFG_ERRCODES_MAX)
			fz->errcodes[fz->nerrcodes++] = def[i];
}

static int
parse_errcodes(struct parse *p, struct cfg_fzone *fz, const char *v)
{
	const char *s = v;

	fz->nerrcodes = 0;
	while (*s != '\0') {
		size_t n;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		n = strcspn(s, ", \t");
		if (n == 0)
			break;
		if (n == 7 && strncasecmp(s, "default", 7) == 0)
			default_errcodes(fz);
		else if (n == 4 && strncasecmp(s, "none", 4) == 0)
			;
		else if (fz->nerrcodes >= CFG_ERRCODES_MAX)
			return perr(p, "error-codes: more than %d networks",
			    CFG_ERRCODES_MAX);
		else if (parse_net4(s, n, &fz->errcodes[fz->nerrcodes]) == 0)
			fz->nerrcodes++;
		else
			return perr(p,
			    "error-codes: %.*s: want an IPv4 address or "
			    "CIDR, \"default\" or \"none\"",
			    (int)n, s);
		s += n;
	}
	return 1;
}

/* A domain name as rewrite suffix: lower-case, no trailing dot. */
static int
parse_suffix(const char *v, char **out)
{
	size_t n = strlen(v), i, lab = 0;
	char *s;

	if (n > 0 && v[n - 1] == '.')
		n--;
	if (n == 0 || n > 200)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == '.') {
			if (lab == 0)
				return -EINVAL;
			lab = 0;
			continue;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_')
			return -EINVAL;
		if (++lab > 63)
			return -EINVAL;
	}
	if (lab == 0 || (s = strndup(v, n)) == NULL)
		return -EINVAL;
	for (i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	*out = s;
	return 0;
}

/* The keys of a [zone] section about upstream servers; 0: not one. */
static int
zone_upstream_key(struct parse *p, struct zsect *z, const char *name,
    const char *v)
{
	struct cfg_fzone *fz = &z->fz;
	uint32_t t;

	if (strcmp(name, "mode") == 0) {
		if (z->has_mode)
			return perr(p, "mode: given twice");
		if (strcasecmp(v, "mirror") == 0)
			fz->mode = CFG_MIRROR;
		else if (strcasecmp(v, "forward") == 0)
			fz->mode = CFG_FORWARD;
		else if (strcasecmp(v, "mirror+fallback") == 0 ||
		    strcasecmp(v, "fallback") == 0)
			fz->mode = CFG_FALLBACK;
		else
			return perr(p,
			    "mode: %s: want mirror, forward, "
			    "mirror+fallback or feed",
			    v);
		z->has_mode = true;
		return 1;
	}
	if (strcmp(name, "upstream") == 0) {
		if (fz->nupstream >= CFG_UPSTREAM_MAX)
			return perr(p, "upstream: more than %d",
			    CFG_UPSTREAM_MAX);
		if (parse_upstream(v, &fz->upstream[fz->nupstream]) != 0)
			return perr(p,
			    "upstream: %s: want a numeric address, "
			    "ADDR@PORT or [ADDR]:PORT",
			    v);
		fz->nupstream++;
	} else if (strcmp(name, "rewrite") == 0) {
		if (fz->rewrite != NULL)
			return perr(p, "rewrite: given twice");
		/* the value holds a key: it is never repeated in messages */
		if (parse_suffix(v, &fz->rewrite) != 0)
			return perr(p, "rewrite: not a domain name");
	} else if (strcmp(name, "stale") == 0) {
		if (conf_parse_time(v, &t) != 0)
			return perr(p, "stale: %s: not a duration", v);
		fz->stale = t;
	} else if (strcmp(name, "mirror-grace") == 0) {
		if (conf_parse_time(v, &t) != 0)
			return perr(p, "mirror-grace: %s: not a duration", v);
		fz->grace = t;
	} else if (strcmp(name, "error-codes") == 0) {
		z->has_errcodes = true;
		if (parse_errcodes(p, fz, v) == 0)
			return 0;
	} else if (strcmp(name, "error-policy") == 0) {
		if (strcasecmp(v, "nxdomain") == 0)
			fz->errpolicy_servfail = false;
		else if (strcasecmp(v, "servfail") == 0)
			fz->errpolicy_servfail = true;
		else
			return perr(p,
			    "error-policy: %s: want nxdomain or servfail", v);
	} else if (strcmp(name, "ttl-min") == 0) {
		if (conf_parse_time(v, &t) != 0)
			return perr(p, "ttl-min: %s: not a duration", v);
		fz->ttl_min = t;
	} else if (strcmp(name, "ttl-max") == 0) {
		if (conf_parse_time(v, &t) != 0)
			return perr(p, "ttl-max: %s: not a duration", v);
		fz->ttl_max = t;
	} else if (strcmp(name, "negative-ttl") == 0) {
		if (conf_parse_time(v, &t) != 0)
			return perr(p, "negative-ttl: %s: not a duration", v);
		fz->neg_ttl = t;
	} else
		return -1; /* not ours */
	if (z->fwd_line == 0)
		z->fwd_line = p->line;
	return 1;
}

/*
 * Keys that acct.c reads from the same file (accounting, ACLs, rate
 * limits; acct_params_load checks their values): accepted here.
 */
static bool
acct_key(const char *name)
{
	static const char *const keys[] = { "accounting", "max-clients",
		"client6-prefix", "acct-save-interval", "acl", "rate-limit",
		"rate-burst", "daily-quota", "limit-answer", "rrl", "rrl-slip",
		"control-admin" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(name, keys[i]) == 0)
			return true;
	return false;
}

/*
 * "addr@port" (or addr/port, [v6]@port; port 9153 if left out) with a
 * numeric address: the HTTP endpoint listens only where it is told.
 */
static int
http_addr(const char *v, struct cfg_addr *a, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char buf[128], *host = buf, *port = NULL, *sep;
	int rc;

	if (strlen(v) >= sizeof(buf))
		return seterr(err, errlen, EINVAL, "%.64s...: too long", v);
	strcpy(buf, v);
	if ((sep = strrchr(buf, '@')) != NULL ||
	    (sep = strrchr(buf, '/')) != NULL) {
		*sep = '\0';
		port = sep + 1;
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		host++;
	}
	if (*host == '\0' || (port != NULL && *port == '\0'))
		return seterr(err, errlen, EINVAL,
		    "%s: want addr@port, such as 127.0.0.1@9153", v);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, port ? port : "9153", &hints, &res)) != 0)
		return seterr(err, errlen, EINVAL,
		    "%s: %s (want a numeric addr@port, such as "
		    "127.0.0.1@9153)",
		    v, gai_strerror(rc));
	if (res->ai_addrlen > sizeof(a->ss) ||
	    (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
		freeaddrinfo(res);
		return seterr(err, errlen, EINVAL, "%s: not an IP address", v);
	}
	memset(a, 0, sizeof(*a));
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	snprintf(a->text, sizeof(a->text), "%.40s port %.6s", host,
	    port ? port : "9153");
	freeaddrinfo(res);
	return 0;
}

static int
server_key(struct parse *p, const char *name, const char *v)
{
	struct config *c = p->c;
	char msg[CFG_ERR_LEN];
	unsigned long n;
	uint32_t t;

	if (strcmp(name, "listen") == 0) {
		if (conf_add_listen(c, v, AF_UNSPEC, CFG_LISTEN_MAX, msg,
		        sizeof(msg)) != 0)
			return perr(p, "listen: %s", msg);
	} else if (strcmp(name, "threads") == 0) {
		if (parse_uint(v, 1, CFG_THREADS_MAX, &n) != 0)
			return perr(p, "threads: %s: not a number from 1 to %d",
			    v, CFG_THREADS_MAX);
		c->threads = (unsigned)n;
	} else if (strcmp(name, "database") == 0) {
		return set_str(p, &c->database, name, v);
	} else if (strcmp(name, "user") == 0) {
		return set_str(p, &c->user, name, v);
	} else if (strcmp(name, "control") == 0) {
		return set_str(p, &c->control, name, v);
	} else if (strcmp(name, "http") == 0) {
		if (http_addr(v, &c->http, msg, sizeof(msg)) != 0)
			return perr(p, "http: %s", msg);
		c->has_http = true;
	} else if (strcmp(name, "ttl") == 0) {
		if (conf_parse_ttl(v, &c->ttl_def, &c->ttl_min, &c->ttl_max) !=
		    0)
			return perr(p,
			    "ttl: %s: want def[:min[:max]] with "
			    "units s m h d w",
			    v);
	} else if (strcmp(name, "edns-size") == 0) {
		if (parse_uint(v, 512, CFG_EDNS_MAX, &n) != 0)
			return perr(p,
			    "edns-size: %s: not a number from 512 "
			    "to %d",
			    v, CFG_EDNS_MAX);
		c->edns_size = (uint16_t)n;
	} else if (strcmp(name, "version") == 0) {
		if (strlen(v) > 255)
			return perr(p, "version: longer than 255 bytes");
		return set_str(p, &c->version, name, v);
	} else if (strcmp(name, "query-log") == 0) {
		if (*v == '+') {
			c->qlog_unbuffered = true;
			v++;
		}
		return set_str(p, &c->query_log, name, v);
	} else if (strcmp(name, "lazy") == 0) {
		if (parse_bool(v, &c->lazy) != 0)
			return perr(p, "lazy: %s: want yes or no", v);
	} else if (strcmp(name, "check-interval") == 0) {
		if (conf_parse_time(v, &t) != 0)
			return perr(p, "check-interval: %s: not a duration", v);
		c->check_interval = t;
		p->interval_set = true;
	} else if (strcmp(name, "cache-size") == 0) {
		if (zn_parse_size(v, &c->cache_size) != 0)
			return perr(p,
			    "cache-size: %s: want bytes, with k, m or g, "
			    "at most 64g",
			    v);
	} else if (!acct_key(name))
		return perr(p, "%s: unknown field in [server]", name);
	return 1;
}

/* Make a relative dataset file name relative to the config's directory. */
static char *
abs_files(const char *dir, const char *files)
{
	size_t cap = strlen(files) + 1, len = 0;
	const char *s = files;
	char *out;

	/* worst case: every file gets dir + '/' */
	cap += (strlen(dir) + 1) * (1 + strlen(files));
	if ((out = malloc(cap)) == NULL)
		return NULL;
	out[0] = '\0';
	while (*s != '\0') {
		size_t n = strcspn(s, ",");

		if (len > 0)
			out[len++] = ',';
		if (*s != '/' && n > 0)
			len +=
			    (size_t)snprintf(out + len, cap - len, "%s/", dir);
		memcpy(out + len, s, n);
		len += n;
		out[len] = '\0';
		s += n;
		if (*s == ',')
			s++;
	}
	return out;
}

/* An rsync source ("rsync://...", "host::module", "host:path"). */
static bool
remote_source(const char *s)
{
	const char *colon = strchr(s, ':'), *slash = strchr(s, '/');

	if (strncmp(s, "rsync://", 8) == 0)
		return true;
	return colon != NULL && (slash == NULL || colon < slash);
}

/* v as a path, relative to the config's directory; NULL: no memory. */
static char *
conf_path(const struct parse *p, const char *v)
{
	char *s;

	if (*v == '/')
		return strdup(v);
	if (asprintf(&s, "%s/%s", p->dir, v) == -1)
		return NULL;
	return s;
}

/* mode = feed, feed, key and files-from: 1 taken, 0 error, -1 not ours. */
static int
zone_feed_key(struct parse *p, struct zsect *z, const char *name, const char *v)
{
	struct cfg_feed *f = &z->feed;
	const char *q;
	char *s;

	if (strcmp(name, "mode") == 0 && strcasecmp(v, "feed") == 0) {
		if (z->has_mode)
			return perr(p, "mode: given twice");
		z->has_mode = true;
		z->is_feed = true;
		z->mode_line = p->line;
		return 1;
	}
	if (strcmp(name, "feed") != 0 && strcmp(name, "files-from") != 0 &&
	    strcmp(name, "key") != 0)
		return -1;
	if (*v == '\0')
		return perr(p, "%s: empty", name);
	for (q = v; *q != '\0'; q++)
		if ((unsigned char)*q < ' ' || *q == 0x7f)
			return perr(p, "%s: control character in the value",
			    name);
	if (strcmp(name, "key") == 0) {
		if (f->nkeys >= CFG_FEED_KEYS_MAX)
			return perr(p, "key: more than %d", CFG_FEED_KEYS_MAX);
		if ((f->keys[f->nkeys] = conf_path(p, v)) == NULL)
			return perr(p, "out of memory");
		f->key_lines[f->nkeys++] = p->line;
		if (z->key_line == 0)
			z->key_line = p->line;
		return 1;
	}
	if (f->source != NULL)
		return perr(p,
		    "%s: a zone has one feed or files-from, given twice", name);
	/* rsync would take a leading '-' for an option */
	if (*v == '-')
		return perr(p, "%s: %s: must not start with '-'", name, v);
	s = remote_source(v) ? strdup(v) : conf_path(p, v);
	if (s == NULL)
		return perr(p, "out of memory");
	f->source = s;
	f->files_from = strcmp(name, "files-from") == 0;
	f->line = p->line;
	return 1;
}

void
conf_feed_cleanup(struct cfg_feed *f)
{
	size_t i;

	xfree(f->source);
	f->source = NULL;
	for (i = 0; i < f->nkeys; i++)
		xfree(f->keys[i]);
	f->nkeys = 0;
}

static int
zone_key(struct parse *p, const char *zname, const char *name, const char *v)
{
	struct config *c = p->c;
	struct zsect *z = NULL;
	char msg[CFG_ERR_LEN], *files, *spec;
	const char *colon;
	size_t i;
	int *nz, rc;
	unsigned *sl;
	uint32_t t;

	for (i = 0; i < p->nzs; i++)
		if (strcasecmp(p->zs[i].name, zname) == 0)
			z = &p->zs[i];
	if (z == NULL) {
		struct zsect *nzs;

		if (p->nzs >= ZONES_MAX)
			return perr(p, "[zone %s]: too many zones", zname);
		nzs = reallocarray(p->zs, p->nzs + 1, sizeof(*nzs));
		if (nzs == NULL)
			return perr(p, "out of memory");
		p->zs = nzs;
		z = &p->zs[p->nzs];
		memset(z, 0, sizeof(*z));
		if ((z->name = strdup(zname)) == NULL)
			return perr(p, "out of memory");
		z->fz.stale = CFG_STALE_DEFAULT;
		z->fz.neg_ttl = CFG_NEGTTL_DEFAULT;
		p->nzs++;
	}
	if ((rc = zone_feed_key(p, z, name, v)) >= 0)
		return rc;
	if ((rc = zone_upstream_key(p, z, name, v)) >= 0)
		return rc;
	if (strcmp(name, "check-interval") == 0) {
		if (conf_parse_time(v, &t) != 0)
			return perr(p, "check-interval: %s: not a duration", v);
		z->interval = t;
		z->has_interval = true;
		return 1;
	}
	if (strcmp(name, "acl") == 0)
		return 1; /* acct.c's */
	if (strcmp(name, "dataset") != 0)
		return perr(p, "%s: unknown field in [zone %s]", name, zname);
	if ((colon = strchr(v, ':')) == NULL || colon[1] == '\0')
		return perr(p, "dataset: %s: want TYPE:FILE[,FILE...]", v);
	if ((files = abs_files(p->dir, colon + 1)) == NULL)
		return perr(p, "out of memory");
	if (asprintf(&spec, "%s:%.*s:%s", zname, (int)(colon - v), v, files) ==
	    -1) {
		free(files);
		return perr(p, "out of memory");
	}
	free(files);
	if (conf_add_spec(c, spec, 0, msg, sizeof(msg)) != 0) {
		free(spec);
		return perr(p, "dataset: %s", msg);
	}
	free(spec);
	sl = reallocarray(c->spec_lines, c->nspecs, sizeof(*sl));
	if (sl == NULL)
		return perr(p, "out of memory");
	c->spec_lines = sl;
	c->spec_lines[c->nspecs - 1] = p->line;
	nz = reallocarray(p->spec_zone, c->nspecs, sizeof(*nz));
	if (nz == NULL)
		return perr(p, "out of memory");
	p->spec_zone = nz;
	p->spec_zone[c->nspecs - 1] = (int)(z - p->zs);
	return 1;
}

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	const char *zname;

	if (p->failed)
		return 0;
	if (strcmp(section, "server") == 0)
		return server_key(p, name, value);
	if (strncmp(section, "zone", 4) == 0 &&
	    (section[4] == ' ' || section[4] == '\t')) {
		zname = section + 5;
		while (*zname == ' ' || *zname == '\t')
			zname++;
		if (*zname == '\0' || strlen(zname) > ZN_NAME_MAX ||
		    strpbrk(zname, ": \t") != NULL)
			return perr(p, "[%s]: not a zone name", section);
		return zone_key(p, zname, name, value);
	}
	if (*section == '\0')
		return perr(p, "%s: outside any section", name);
	return perr(p, "[%s]: unknown section", section);
}

/* A zone's name as stored: lower-case, no trailing dot. */
static void
lower_name(const char *name, char out[ZN_NAME_MAX + 1])
{
	size_t k, len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	for (k = 0; k < len && k < ZN_NAME_MAX; k++)
		out[k] = (char)tolower((unsigned char)name[k]);
	out[k] = '\0';
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* What mode = feed, feed, key and files-from need (zone zi). */
static int
check_feed_zone(struct parse *p, struct zsect *z, size_t zi, bool any,
    char *err, size_t errlen)
{
	struct config *c = p->c;
	const struct cfg_feed *f = &z->feed;
	char name[ZN_NAME_MAX + 1];
	size_t j, k, a, b;

	if (z->is_feed) {
		lower_name(z->name, name);
		if (!zn_feed_zone_ok(name))
			return seterr(err, errlen, EINVAL,
			    "%s:%u: [zone %s]: mode: not a name a feed can "
			    "carry",
			    p->path, z->mode_line, z->name);
		if (any)
			return seterr(err, errlen, EINVAL,
			    "%s:%u: [zone %s]: dataset: a zone with mode = "
			    "feed has none (zonesync writes its data)",
			    p->path, z->mode_line, z->name);
		if (z->fwd_line != 0)
			return seterr(err, errlen, EINVAL,
			    "%s:%u: [zone %s]: upstream settings need mode = "
			    "forward or mirror+fallback, not feed",
			    p->path, z->fwd_line, z->name);
		if (f->source == NULL)
			return seterr(err, errlen, EINVAL,
			    "%s:%u: [zone %s]: feed: mode = feed needs one",
			    p->path, z->mode_line, z->name);
		if (f->files_from)
			return seterr(err, errlen, EINVAL,
			    "%s:%u: [zone %s]: files-from: not with mode = "
			    "feed (feed = names its source)",
			    p->path, f->line, z->name);
		if (f->nkeys == 0)
			return seterr(err, errlen, EINVAL,
			    "%s:%u: [zone %s]: key: mode = feed needs at "
			    "least one",
			    p->path, z->mode_line, z->name);
		return 0;
	}
	if (f->source != NULL && !f->files_from)
		return seterr(err, errlen, EINVAL,
		    "%s:%u: [zone %s]: feed: needs mode = feed", p->path,
		    f->line, z->name);
	if (f->nkeys > 0)
		return seterr(err, errlen, EINVAL,
		    "%s:%u: [zone %s]: key: needs mode = feed", p->path,
		    z->key_line, z->name);
	if (f->source == NULL)
		return 0;
	if (z->fz.mode == CFG_FORWARD || !any)
		return seterr(err, errlen, EINVAL,
		    "%s:%u: [zone %s]: files-from: the zone has no datasets "
		    "to fetch",
		    p->path, f->line, z->name);
	/* files are fetched by basename: two files may not share one */
	for (j = 0; j < c->nspecs; j++) {
		if (p->spec_zone[j] != (int)zi)
			continue;
		for (a = 0; a < c->specs[j].nfiles; a++)
			for (k = 0; k <= j; k++) {
				if (p->spec_zone[k] != (int)zi)
					continue;
				for (b = 0; b < c->specs[k].nfiles; b++) {
					const char *x = c->specs[j].filev[a],
					           *y = c->specs[k].filev[b];

					if ((k == j && b >= a) ||
					    strcmp(x, y) == 0 ||
					    strcmp(base_name(x),
					        base_name(y)) != 0)
						continue;
					return seterr(err, errlen, EINVAL,
					    "%s:%u: [zone %s]: files-from: "
					    "%s and %s have the same name",
					    p->path, c->spec_lines[j], z->name,
					    y, x);
				}
			}
	}
	return 0;
}

/*
 * Whole-file checks of the zones: what each mode needs, then the zones
 * with upstreams into c->fzones (their rewrite strings move there).
 */
static int
check_zones(struct parse *p, char *err, size_t errlen)
{
	struct config *c = p->c;
	size_t i, j, n = 0, nfeed = 0, nfmode = 0;
	int rc;

	for (i = 0; i < p->nzs; i++) {
		struct zsect *z = &p->zs[i];
		bool has = false, any = false;

		for (j = 0; j < c->nspecs; j++)
			if (p->spec_zone[j] == (int)i) {
				any = true;
				has |= c->specs[j].type != ZN_ACL;
			}
		if ((rc = check_feed_zone(p, z, i, any, err, errlen)) != 0)
			return rc;
		if (z->feed.source != NULL)
			nfeed++;
		if (z->is_feed) {
			nfmode++;
			continue;
		}
		switch (z->fz.mode) {
		case CFG_MIRROR:
			if (z->fwd_line != 0)
				return seterr(err, errlen, EINVAL,
				    "%s:%u: [zone %s]: upstream settings need "
				    "mode = forward or mirror+fallback",
				    p->path, z->fwd_line, z->name);
			break;
		case CFG_FORWARD:
			if (any)
				return seterr(err, errlen, EINVAL,
				    "%s: [zone %s]: dataset: a forward zone has "
				    "no datasets (mode = mirror+fallback has "
				    "both)",
				    p->path, z->name);
			has = true;
			__attribute__((fallthrough));
		case CFG_FALLBACK:
			if (z->fz.nupstream == 0)
				return seterr(err, errlen, EINVAL,
				    "%s: [zone %s]: upstream: mode %s needs at "
				    "least one",
				    p->path, z->name,
				    z->fz.mode == CFG_FORWARD ?
				        "forward" :
				        "mirror+fallback");
			n++;
			break;
		}
		if (!has)
			return seterr(err, errlen, EINVAL,
			    "%s: [zone %s]: dataset: the zone needs at least "
			    "one non-acl dataset",
			    p->path, z->name);
		if (z->fz.ttl_min != 0 && z->fz.ttl_max != 0 &&
		    z->fz.ttl_min > z->fz.ttl_max)
			return seterr(err, errlen, EINVAL,
			    "%s: [zone %s]: ttl-min is above ttl-max", p->path,
			    z->name);
	}
	if (n > CFG_FZONES_MAX)
		return seterr(err, errlen, EINVAL,
		    "%s: more than %d zones with upstreams", p->path,
		    CFG_FZONES_MAX);
	if (n + nfmode > CFG_FZONES_MAX)
		return seterr(err, errlen, EINVAL,
		    "%s: more than %d zones with upstreams or mode = feed",
		    p->path, CFG_FZONES_MAX);
	if (nfeed > 0 && (c->feeds = calloc(nfeed, sizeof(*c->feeds))) == NULL)
		return seterr(err, errlen, ENOMEM, "%s: out of memory",
		    p->path);
	for (i = 0; i < p->nzs; i++) {
		struct zsect *z = &p->zs[i];
		struct cfg_feed *f;

		if (z->feed.source == NULL)
			continue;
		f = &c->feeds[c->nfeeds++];
		*f = z->feed;
		memset(&z->feed, 0, sizeof(z->feed));
		lower_name(z->name, f->name);
	}
	if (n == 0)
		return 0;
	if ((c->fzones = calloc(n, sizeof(*c->fzones))) == NULL)
		return seterr(err, errlen, ENOMEM, "%s: out of memory",
		    p->path);
	for (i = 0; i < p->nzs; i++) {
		struct zsect *z = &p->zs[i];
		struct cfg_fzone *fz = &c->fzones[c->nfzones];
		size_t k, len = strlen(z->name);

		if (z->fz.mode == CFG_MIRROR)
			continue;
		*fz = z->fz;
		z->fz.rewrite = NULL;
		if (len > 0 && z->name[len - 1] == '.')
			len--;
		for (k = 0; k < len && k < ZN_NAME_MAX; k++)
			fz->name[k] = (char)tolower((unsigned char)z->name[k]);
		fz->name[k] = '\0';
		if (!z->has_errcodes)
			default_errcodes(fz);
		if (fz->ttl_min == 0)
			fz->ttl_min = c->ttl_min;
		if (fz->ttl_max == 0)
			fz->ttl_max = c->ttl_max;
		c->nfzones++;
	}
	return 0;
}

/* Whether zone has files-from = (its files may not exist yet). */
static bool
files_from(const struct config *c, const char *zone)
{
	size_t i;

	for (i = 0; i < c->nfeeds; i++)
		if (c->feeds[i].files_from &&
		    strcmp(c->feeds[i].name, zone) == 0)
			return true;
	return false;
}

int
conf_check_files(const struct config *c, char *err, size_t errlen)
{
	struct stat st;
	size_t i, j;
	unsigned line;
	int fd, e;

	for (i = 0; i < c->nspecs; i++) {
		line = c->spec_lines != NULL ? c->spec_lines[i] : 0;
		for (j = 0; j < c->specs[i].nfiles; j++) {
			const char *f = c->specs[i].filev[j];

			e = 0;
			if ((fd = open(f, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) ==
			    -1)
				e = errno;
			else {
				if (fstat(fd, &st) == -1)
					e = errno;
				else if (S_ISDIR(st.st_mode))
					e = EISDIR;
				close(fd);
			}
			if (e == ENOENT && files_from(c, c->specs[i].zone))
				continue; /* zonesync -c fetches it */
			if (e != 0)
				return seterr(err, errlen, e,
				    "%s:%u: dataset: %s: %s",
				    c->path != NULL ? c->path : "-", line, f,
				    strerror(e));
		}
	}
	return 0;
}

int
conf_check_feeds(const struct config *c, char *err, size_t errlen)
{
	const char *path = c->path != NULL ? c->path : "-";
	struct zn_feed_pubkey pk;
	struct zn_err e;
	struct stat st;
	char dir[PATH_MAX];
	size_t i, k;

	for (i = 0; i < c->nfeeds; i++) {
		const struct cfg_feed *f = &c->feeds[i];
		const char *key = f->files_from ? "files-from" : "feed";

		for (k = 0; k < f->nkeys; k++)
			if (zn_feed_pubkey_load(f->keys[k], &pk, &e) != 0)
				return seterr(err, errlen, EINVAL,
				    "%s:%u: key: %s", path, f->key_lines[k],
				    e.msg);
		if (remote_source(f->source))
			continue;
		if (stat(f->source, &st) == -1)
			return seterr(err, errlen, errno, "%s:%u: %s: %s: %s",
			    path, f->line, key, f->source, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return seterr(err, errlen, ENOTDIR,
			    "%s:%u: %s: %s: not a directory", path, f->line,
			    key, f->source);
		if (f->files_from)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", f->source, f->name);
		if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
			return seterr(err, errlen, ENOENT,
			    "%s:%u: feed: %s: no directory %s for the zone",
			    path, f->line, f->source, f->name);
	}
	return 0;
}

/* inih's line reader: fgets that counts lines and refuses long ones. */
static char *
read_line(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t n;

	if (p->failed)
		return NULL;
	if (fgets(str, num, p->f) == NULL)
		return NULL;
	p->line++;
	n = strlen(str);
	if (n > 0 && str[n - 1] != '\n' && !feof(p->f)) {
		perr(p, "line too long (max %d bytes)", num - 2);
		return NULL;
	}
	return str;
}

int
conf_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct parse p;
	struct config *c;
	char *slash, *rp;
	size_t i;
	int rc;

	memset(&p, 0, sizeof(p));
	p.path = path;
	if ((c = conf_new()) == NULL)
		return seterr(err, errlen, ENOMEM, "%s: out of memory", path);
	p.c = c;
	if ((c->path = strdup(path)) == NULL) {
		rc = seterr(err, errlen, ENOMEM, "%s: out of memory", path);
		goto out_free;
	}
	if ((p.f = fopen(path, "r")) == NULL) {
		rc =
		    seterr(err, errlen, errno, "%s: %s", path, strerror(errno));
		goto out_free;
	}
	/* relative dataset paths are taken from the config's directory */
	if ((rp = realpath(path, NULL)) == NULL) {
		rc =
		    seterr(err, errlen, errno, "%s: %s", path, strerror(errno));
		goto out_close;
	}
	slash = strrchr(rp, '/');
	if (slash == rp)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	p.dir = rp;

	rc = ini_parse_stream(read_line, &p, on_key, &p);
	if (rc != 0 && !p.failed) {
		if (rc > 0)
			p.line = (unsigned)rc;
		perr(&p,
		    "syntax error (want \"name = value\" or \"[section]\")");
	}
	if (!p.failed && ferror(p.f)) {
		p.line = 0;
		snprintf(p.err, sizeof(p.err), "%s: read error", path);
		p.failed = true;
	}
	if (p.failed) {
		rc = seterr(err, errlen, EINVAL, "%s", p.err);
		goto out_close;
	}

	/* whole-file checks */
	if (c->nlisten == 0) {
		rc = seterr(err, errlen, EINVAL,
		    "%s: [server] listen: at least one address is needed",
		    path);
		goto out_close;
	}
	if (c->database == NULL &&
	    (c->database = strdup(RD_STATEDIR)) == NULL) {
		rc = seterr(err, errlen, ENOMEM, "%s: out of memory", path);
		goto out_close;
	}
	for (i = 0; i < c->nspecs; i++) {
		const struct zsect *z = &p.zs[p.spec_zone[i]];

		c->intervals[i] =
		    z->has_interval ? z->interval : c->check_interval;
	}
	if ((rc = check_zones(&p, err, errlen)) != 0)
		goto out_close;
	rc = 0;
	*out = c;
	c = NULL;

out_close:
	fclose(p.f);
out_free:
	for (i = 0; i < p.nzs; i++) {
		free(p.zs[i].name);
		free(p.zs[i].fz.rewrite);
		conf_feed_cleanup(&p.zs[i].feed);
	}
	free(p.zs);
	free(p.spec_zone);
	free(p.dir);
	conf_free(c);
	return rc;
}
