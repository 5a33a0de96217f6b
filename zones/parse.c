/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#include "parse_int.h"
#include "zones.h"

#define LINE_MAX_LEN 32767 /* rbldnsd's line buffer, less the NUL */
#define READ_SZ 65536

static const char *const type_names[ZN_NTYPES] = {
	[ZN_IP4SET] = "ip4set",
	[ZN_IP4TSET] = "ip4tset",
	[ZN_IP4TRIE] = "ip4trie",
	[ZN_IP6TSET] = "ip6tset",
	[ZN_IP6TRIE] = "ip6trie",
	[ZN_DNSET] = "dnset",
	[ZN_COMBINED] = "combined",
	[ZN_GENERIC] = "generic",
	[ZN_ACL] = "acl",
};

/*
 * Name of a dataset type, or NULL for an invalid one.
 */
const char *
zn_type_name(enum zn_dstype t)
{
	if ((unsigned)t >= ZN_NTYPES)
		return NULL;
	return type_names[t];
}

/*
 * Parse a dataset type name (case-insensitive) into *t.  0 or -EINVAL.
 */
int
zn_type_parse(const char *name, enum zn_dstype *t)
{
	unsigned i;

	for (i = 0; i < ZN_NTYPES; i++) {
		if (strcasecmp(name, type_names[i]) == 0) {
			*t = (enum zn_dstype)i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * The parser ops of a type, or NULL for an invalid type.
 */
const struct zn_type_ops *
zn_type_ops(enum zn_dstype t)
{
	switch (t) {
	case ZN_IP4SET:
		return &zn_ops_ip4set;
	case ZN_IP4TSET:
		return &zn_ops_ip4tset;
	case ZN_IP4TRIE:
		return &zn_ops_ip4trie;
	case ZN_IP6TSET:
		return &zn_ops_ip6tset;
	case ZN_IP6TRIE:
		return &zn_ops_ip6trie;
	case ZN_DNSET:
		return &zn_ops_dnset;
	case ZN_COMBINED:
		return &zn_ops_combined;
	case ZN_GENERIC:
		return &zn_ops_generic;
	case ZN_ACL:
		return &zn_ops_acl;
	default:
		return NULL;
	}
}

static void vwarn(struct zn_parser *p, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
vwarn(struct zn_parser *p, const char *fmt, va_list ap)
{
	char msg[512], out[600];

	if (p->opts == NULL || p->opts->warn == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(out, sizeof(out), "%s:%u: %s", p->file != NULL ? p->file : "",
	    p->line, msg);
	p->opts->warn(p->opts->warn_ctx, out);
}

/*
 * Warn "file:line: msg" through opts->warn and mark the line skipped.
 */
void
zn_warn(struct zn_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(p, fmt, ap);
	va_end(ap);
	p->skipped_line = true;
}

/*
 * Warn "file:line: msg" without marking the line skipped.
 */
void
zn_note(struct zn_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(p, fmt, ap);
	va_end(ap);
}

/*
 * Free a dataset and everything it owns, subsets included.  NULL is a
 * no-op.
 */
void
zn_dataset_free(struct zn_dataset *ds)
{
	size_t i, j;

	if (ds == NULL)
		return;
	for (i = 0; i < ds->nent; i++) {
		free(ds->ent[i].key);
		free(ds->ent[i].blob);
	}
	free(ds->ent);
	free(ds->label);
	for (i = 0; i < ds->nns && i < ZN_NS_MAX; i++)
		free(ds->ns[i]);
	for (i = 0; i < 10; i++)
		free(ds->vars[i]);
	free(ds->base);
	for (i = 0; i < ds->nsubsets; i++) {
		for (j = 0; j < ds->subsets[i].nsub; j++)
			free(ds->subsets[i].subzones[j]);
		free(ds->subsets[i].subzones);
		zn_dataset_free(ds->subsets[i].ds);
	}
	free(ds->subsets);
	free(ds);
}

static inline bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Next blank-separated token of *pp (NUL-terminated; the token is not
 * terminated), or NULL at the end of the line or at a comment ('#'/';').
 */
static char *
next_tok(char **pp, size_t *len)
{
	char *s = *pp, *t;

	while (is_blank(*s))
		s++;
	if (*s == '\0' || *s == '#' || *s == ';') {
		*pp = s;
		return NULL;
	}
	t = s;
	while (*s != '\0' && !is_blank(*s))
		s++;
	*len = (size_t)(s - t);
	*pp = s;
	return t;
}

/*
 * Parse an rbldnsd time: decimal digits with an optional unit s, m, h, d
 * or w (either case).  0 or -EINVAL (also on overflow).
 */
int
zn_parse_time(const char *s, size_t len, uint32_t *t)
{
	uint64_t v = 0, mul = 1;
	size_t i = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
		i++;
	}
	if (i == 0)
		return -EINVAL;
	if (i < len) {
		switch (s[i]) {
		case 's':
		case 'S':
			mul = 1;
			break;
		case 'm':
		case 'M':
			mul = 60;
			break;
		case 'h':
		case 'H':
			mul = 3600;
			break;
		case 'd':
		case 'D':
			mul = 86400;
			break;
		case 'w':
		case 'W':
			mul = 604800;
			break;
		default:
			return -EINVAL;
		}
		if (++i != len)
			return -EINVAL;
	}
	v *= mul;
	if (v > UINT32_MAX)
		return -EINVAL;
	*t = (uint32_t)v;
	return 0;
}

/* Copy an absolute name without its trailing dot and empty labels (as
 * rbldnsd reads it); NULL if invalid. */
static char *
dup_abs_name(char *s, size_t len)
{
	uint8_t wire[ZN_NAME_MAX + 2];

	len = zn_name_squeeze(s, len);
	if (len == 0 || zn_name_wire(s, len, wire, sizeof(wire)) < 0) {
		errno = EINVAL;
		return NULL;
	}
	return strndup(s, len);
}

static int
special_soa(struct zn_parser *p, char *args, uint32_t ttl0)
{
	struct zn_soa soa;
	char *tok[8], *s = args;
	size_t tl[8], n, l;
	uint32_t v;
	unsigned i;

	for (n = 0; n < 8; n++) {
		tok[n] = next_tok(&s, &tl[n]);
		if (tok[n] == NULL) {
			zn_warn(p, "$SOA: missing fields");
			return 0;
		}
	}
	if (next_tok(&s, &l) != NULL) {
		zn_warn(p, "$SOA: too many fields");
		return 0;
	}
	if (p->ds->has_soa)
		return 0; /* the first $SOA wins */
	memset(&soa, 0, sizeof(soa));
	if (zn_parse_time(tok[0], tl[0], &soa.ttl) != 0) {
		zn_warn(p, "$SOA: invalid TTL");
		return 0;
	}
	for (i = 1; i <= 2; i++) {
		char *dst = i == 1 ? soa.mname : soa.rname;
		uint8_t wire[ZN_NAME_MAX + 2];

		l = zn_name_squeeze(tok[i], tl[i]);
		if (zn_name_wire(tok[i], l, wire, sizeof(wire)) < 0) {
			zn_warn(p, "$SOA: invalid name");
			return 0;
		}
		memcpy(dst, tok[i], l);
		dst[l] = '\0';
	}
	for (i = 3; i < 8; i++) {
		int rc;

		if (i == 3) {
			/* The serial is a plain number. */
			rc = tl[i] > 0 && tok[i][tl[i] - 1] >= '0' &&
			        tok[i][tl[i] - 1] <= '9' ?
			    zn_parse_time(tok[i], tl[i], &v) :
			    -EINVAL;
		} else {
			rc = zn_parse_time(tok[i], tl[i], &v);
		}
		if (rc != 0) {
			zn_warn(p, "$SOA: invalid number");
			return 0;
		}
		switch (i) {
		case 3:
			soa.serial = v;
			break;
		case 4:
			soa.refresh = v;
			break;
		case 5:
			soa.retry = v;
			break;
		case 6:
			soa.expire = v;
			break;
		default:
			soa.minimum = v;
			break;
		}
	}
	if (soa.ttl == 0)
		soa.ttl = ttl0;
	p->ds->soa = soa;
	p->ds->has_soa = true;
	return 0;
}

static int
special_ns(struct zn_parser *p, char *args, uint32_t ttl0)
{
	struct zn_dataset *ds = p->ds;
	char *s = args, *t, *name;
	size_t l, i;
	uint32_t ttl;
	bool full = false;

	t = next_tok(&s, &l);
	if (t == NULL || zn_parse_time(t, l, &ttl) != 0) {
		zn_warn(p, "$NS: a TTL is required");
		return 0;
	}
	if (p->ns_seen)
		return 0; /* the first $NS line wins */
	p->ns_seen = true;
	ds->ns_ttl = ttl != 0 ? ttl : ttl0;
	while ((t = next_tok(&s, &l)) != NULL) {
		if (t[0] == '-')
			continue; /* "commented out" */
		name = dup_abs_name(t, l);
		if (name == NULL) {
			if (errno == ENOMEM)
				return zn_err_set(p->err, ENOMEM, "%s:%u: %s",
				    p->file, p->line, strerror(ENOMEM));
			zn_note(p, "$NS: invalid name %.*s ignored", (int)l, t);
			continue;
		}
		for (i = 0; i < ds->nns; i++) {
			if (strcasecmp(ds->ns[i], name) == 0)
				break;
		}
		if (i < ds->nns) {
			free(name);
			continue;
		}
		if (ds->nns == ZN_NS_MAX) {
			free(name);
			full = true;
			continue;
		}
		ds->ns[ds->nns++] = name;
	}
	if (full)
		zn_note(p, "$NS: more than %d name servers, extra ignored",
		    ZN_NS_MAX);
	return 0;
}

static int
special_maxrange4(struct zn_parser *p, char *args)
{
	char *s = args, *t;
	size_t l, i;
	uint64_t v = 0;
	uint32_t r;
	bool cidr;

	t = next_tok(&s, &l);
	if (t == NULL)
		goto bad;
	cidr = t[0] == '/';
	i = cidr ? 1 : 0;
	if (i == l)
		goto bad;
	for (; i < l; i++) {
		if (t[i] < '0' || t[i] > '9')
			goto bad;
		v = v * 10 + (uint64_t)(t[i] - '0');
		if (v > UINT32_MAX)
			goto bad;
	}
	if (cidr) {
		if (v > 32)
			goto bad;
		if (v == 0)
			return 0; /* all of IPv4: no limit */
		r = (uint32_t)1 << (32 - v);
	} else {
		if (v == 0)
			goto bad;
		r = (uint32_t)v;
	}
	/* It can only be lowered. */
	if (p->maxrange4 == 0 || r < p->maxrange4)
		p->maxrange4 = r;
	return 0;
bad:
	zn_warn(p, "$MAXRANGE4: invalid value");
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Parse a $TIMESTAMP time "yyyy[:-]mm[:-]dd[[:-]hh[[:-]mi[[:-]ss]]]" (UTC),
 * or "0"/"-" for none (*t = 0).  0 or -EINVAL.
 */
static int
parse_stamp(const char *s, size_t len, int64_t *t)
{
	static const unsigned maxv[6] = { 9999, 12, 31, 23, 59, 59 };
	unsigned f[6] = { 0, 1, 1, 0, 0, 0 };
	size_t i = 0, k, w;

	if ((len == 1 && (s[0] == '0' || s[0] == '-'))) {
		*t = 0;
		return 0;
	}
	for (k = 0; k < 6 && i < len; k++) {
		if (k > 0 && (s[i] == ':' || s[i] == '-'))
			i++;
		w = k == 0 ? 4 : 2;
		if (len - i < w)
			return -EINVAL;
		f[k] = 0;
		for (; w > 0; w--, i++) {
			if (s[i] < '0' || s[i] > '9')
				return -EINVAL;
			f[k] = f[k] * 10 + (unsigned)(s[i] - '0');
		}
		if (f[k] > maxv[k] || (k < 3 && k > 0 && f[k] == 0))
			return -EINVAL;
	}
	if (i != len || k < 3)
		return -EINVAL;
	*t = days_from_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 +
	    f[4] * 60 + f[5];
	return 0;
}

static int
special_timestamp(struct zn_parser *p, char *args)
{
	struct zn_dataset *ds = p->ds;
	char *s = args, *t;
	size_t l;
	int64_t created, expires = 0, now;
	uint32_t dur;

	t = next_tok(&s, &l);
	if (t == NULL || parse_stamp(t, l, &created) != 0) {
		zn_warn(p, "$TIMESTAMP: invalid time");
		return 0;
	}
	t = next_tok(&s, &l);
	if (t != NULL && t[0] == '+') {
		if (created == 0 || zn_parse_time(t + 1, l - 1, &dur) != 0) {
			zn_warn(p, "$TIMESTAMP: invalid expiry");
			return 0;
		}
		expires = created + dur;
	} else if (t != NULL && parse_stamp(t, l, &expires) != 0) {
		zn_warn(p, "$TIMESTAMP: invalid expiry");
		return 0;
	}
	now = p->opts != NULL && p->opts->now != 0 ? (int64_t)p->opts->now :
	                                             (int64_t)time(NULL);
	if (created > now)
		return zn_err_set(p->err, EINVAL,
		    "%s:%u: $TIMESTAMP: creation time is in the future",
		    p->file, p->line);
	if (created > ds->ts_created)
		ds->ts_created = created;
	/* Several lines: the earliest expiry applies. */
	if (expires != 0 && (ds->ts_expires == 0 || expires < ds->ts_expires))
		ds->ts_expires = expires;
	return 0;
}

/*
 * If s is a special line ("$KW", "#$KW", ";$KW" or ":$KW"), return a pointer
 * to its keyword, else NULL.
 */
char *
zn_special_kw(char *s, size_t len)
{
	if (len >= 1 && s[0] == '$')
		return s + 1;
	if (len >= 2 && s[1] == '$' &&
	    (s[0] == '#' || s[0] == ';' || s[0] == ':'))
		return s + 2;
	return NULL;
}

static int
err_nomem(struct zn_parser *p)
{
	return zn_err_set(p->err, ENOMEM, "%s:%u: out of memory", p->file,
	    p->line);
}

/*
 * Handle a special line for p (see parse_int.h).  Bad special lines are
 * warned about and skipped; 0 or a fatal -errno.
 */
int
zn_parse_special(struct zn_parser *p, char *s, size_t len, uint32_t ttl0)
{
	struct zn_dataset *ds = p->ds;
	char *kw, *args, *t;
	size_t kwlen, l;
	uint32_t v;
	int rc;

	kw = zn_special_kw(s, len);
	if (kw == NULL)
		return 0;
	kwlen = 0;
	while (kw[kwlen] != '\0' && !is_blank(kw[kwlen]))
		kwlen++;
	args = kw + kwlen;
	while (is_blank(*args))
		args++;
	kw[kwlen] = '\0';

	if (kwlen == 1 && kw[0] >= '0' && kw[0] <= '9') {
		if (p->ops->no_vars || ds->vars[kw[0] - '0'] != NULL)
			return 0; /* the first definition wins */
		ds->vars[kw[0] - '0'] = strdup(args);
		if (ds->vars[kw[0] - '0'] == NULL)
			return err_nomem(p);
		return 0;
	}
	if (kwlen == 1 && kw[0] == '=') {
		/* Like $0-$9, the first base template wins. */
		if (p->ops->no_vars || ds->base != NULL)
			return 0;
		ds->base = strdup(args);
		if (ds->base == NULL)
			return err_nomem(p);
		return 0;
	}
	if (strcasecmp(kw, "soa") == 0 || strcasecmp(kw, "ns") == 0 ||
	    strcasecmp(kw, "nameserver") == 0) {
		if (p->ops->no_soa_ns) {
			zn_warn(p, "$%s not allowed in %s", kw,
			    zn_type_name(p->ops->type));
			return 0;
		}
		if (strcasecmp(kw, "soa") == 0)
			return special_soa(p, args, ttl0);
		return special_ns(p, args, ttl0);
	}
	if (strcasecmp(kw, "ttl") == 0) {
		t = next_tok(&args, &l);
		if (t == NULL || zn_parse_time(t, l, &v) != 0) {
			zn_warn(p, "$TTL: invalid time");
			return 0;
		}
		ds->ttl = v; /* the last one wins */
		return 0;
	}
	if (strcasecmp(kw, "maxrange4") == 0)
		return special_maxrange4(p, args);
	if (strcasecmp(kw, "timestamp") == 0)
		return special_timestamp(p, args);
	if (p->ops->special != NULL) {
		rc = p->ops->special(p, kw, args);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	zn_warn(p, "unknown special line $%.32s", kw);
	return 0;
}

static bool
is_default_line(const struct zn_parser *p, const char *s, size_t len)
{
	enum zn_dstype t = p->ops->type;

	if (s[0] != ':' || t == ZN_ACL)
		return false;
	if ((t == ZN_IP6TSET || t == ZN_IP6TRIE) && len > 1 && s[1] == ':')
		return false; /* "::1" is an address */
	return true;
}

/*
 * Handle one stripped line for p (see parse_int.h); counts the line in
 * p->ds->nskipped or nsource.
 */
int
zn_parse_line(struct zn_parser *p, char *s, size_t len)
{
	struct zn_val v;
	int rc;

	p->skipped_line = false;
	if (zn_special_kw(s, len) != NULL) {
		rc = zn_parse_special(p, s, len, p->ds->ttl);
	} else if (s[0] == '#' || s[0] == ';') {
		rc = 0;
	} else if (is_default_line(p, s, len)) {
		rc = 0;
		/* ip4tset/ip6tset: only the first default line counts. */
		if (!(p->ops->dataset_wide_default && p->have_default) &&
		    zn_default_parse(p, s, len, &v) == 0) {
			p->defval = v;
			p->have_default = true;
		}
	} else {
		rc = p->ops->line(p, s, len);
		if (rc == 0 && !p->skipped_line)
			p->ds->nsource++;
	}
	if (p->skipped_line)
		p->ds->nskipped++;
	return rc;
}

/* Line assembly state. */
struct reader {
	char *buf;
	char *line;
	size_t llen;
	bool trunc;
};

/* Where the bytes come from: a gzip/plain stream, an fd or memory. */
struct src {
	gzFile gz;
	int fd;
	const char *mem;
	size_t memlen, mempos;
};

static ssize_t
src_read(struct src *src, char *buf, size_t n)
{
	ssize_t r;
	int gr;

	if (src->gz != NULL) {
		gr = gzread(src->gz, buf, (unsigned)n);
		return gr;
	}
	if (src->fd >= 0) {
		do {
			r = read(src->fd, buf, n);
		} while (r < 0 && errno == EINTR);
		return r;
	}
	if (n > src->memlen - src->mempos)
		n = src->memlen - src->mempos;
	memcpy(buf, src->mem + src->mempos, n);
	src->mempos += n;
	return (ssize_t)n;
}

static void
newfile(struct zn_parser *p, const char *name)
{
	p->file = name;
	p->line = 0;
	/* Default lines apply until the end of the file (REFERENCE 3.3). */
	if (!p->ops->dataset_wide_default) {
		zn_val_default(&p->defval);
		p->have_default = false;
	}
	if (p->ops->type == ZN_COMBINED)
		zn_combined_newfile(p);
}

static int
line_done(struct zn_parser *p, struct reader *rd)
{
	char *s = rd->line;
	size_t len;
	bool trunc = rd->trunc;

	rd->line[rd->llen] = '\0';
	len = strlen(rd->line); /* a NUL byte ends the line */
	rd->llen = 0;
	rd->trunc = false;
	p->line++;
	p->ds->nlines++;
	if (trunc)
		zn_note(p, "line longer than %d bytes, truncated",
		    LINE_MAX_LEN);
	/* CR is stripped too: CRLF files work (unlike rbldnsd). */
	while (len > 0 && (is_blank(s[len - 1]) || s[len - 1] == '\r'))
		len--;
	s[len] = '\0';
	while (is_blank(*s)) {
		s++;
		len--;
	}
	if (len == 0)
		return 0;
	if (p->ops->type == ZN_COMBINED)
		return zn_combined_line(p, s, len);
	return zn_parse_line(p, s, len);
}

static int
feed(struct zn_parser *p, struct reader *rd, struct src *src)
{
	ssize_t r;
	size_t off, chunk, room;
	char *nl;
	int rc;

	for (;;) {
		r = src_read(src, rd->buf, READ_SZ);
		if (r < 0)
			return zn_err_set(p->err, EIO, "%s: read error",
			    p->file);
		if (r == 0)
			break;
		off = 0;
		while (off < (size_t)r) {
			nl = memchr(rd->buf + off, '\n', (size_t)r - off);
			chunk = nl != NULL ? (size_t)(nl - (rd->buf + off)) :
			                     (size_t)r - off;
			room = LINE_MAX_LEN - rd->llen;
			if (chunk > room)
				rd->trunc = true;
			memcpy(rd->line + rd->llen, rd->buf + off,
			    chunk < room ? chunk : room);
			rd->llen += chunk < room ? chunk : room;
			off += chunk;
			if (nl != NULL) {
				off++;
				rc = line_done(p, rd);
				if (rc < 0)
					return rc;
			}
		}
	}
	/* A last line without a newline is loaded (rbldnsd too). */
	if (rd->llen > 0 || rd->trunc)
		return line_done(p, rd);
	return 0;
}

static int
feed_file(struct zn_parser *p, struct reader *rd, const char *path)
{
	struct src src = { .fd = -1 };
	struct stat st, st2;
	int fd, rc, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return zn_err_set(p->err, e, "%s: %s", path, strerror(e));
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		close(fd);
		return zn_err_set(p->err, e, "%s: %s", path, strerror(e));
	}
	if ((int64_t)st.st_mtime > p->ds->mtime)
		p->ds->mtime = (int64_t)st.st_mtime;
	if (p->opts->no_gunzip) {
		src.fd = fd;
	} else {
		/* gzdopen reads plain files transparently. */
		src.gz = gzdopen(fd, "rb");
		if (src.gz == NULL) {
			close(fd);
			return zn_err_set(p->err, ENOMEM, "%s: out of memory",
			    path);
		}
	}
	newfile(p, path);
	rc = feed(p, rd, &src);
	if (src.gz != NULL)
		gzclose(src.gz);
	else
		close(fd);
	if (rc != 0)
		return rc;
	/* Writers must replace files atomically (REFERENCE 6). */
	if (stat(path, &st2) != 0 || st2.st_mtime != st.st_mtime ||
	    st2.st_size != st.st_size)
		return zn_err_set(p->err, EAGAIN,
		    "%s: file changed while being read", path);
	return 0;
}

/*
 * The common loader: the files, or the memory buffer if mem is set.
 */
static int
load(enum zn_dstype type, bool mem, const char *const *files, size_t nfiles,
    const char *name, const char *buf, size_t len,
    const struct zn_parse_opts *opts, struct zn_dataset **out,
    struct zn_err *err)
{
	static const struct zn_parse_opts noopts;
	struct zn_parser p;
	struct reader rd = { 0 };
	struct zn_dataset *ds;
	size_t i;
	int rc;

	memset(&p, 0, sizeof(p));
	p.ops = zn_type_ops(type);
	if (p.ops == NULL)
		return zn_err_set(err, EINVAL, "invalid dataset type %d",
		    (int)type);
	ds = calloc(1, sizeof(*ds));
	rd.buf = malloc(READ_SZ);
	rd.line = malloc(LINE_MAX_LEN + 1);
	if (ds == NULL || rd.buf == NULL || rd.line == NULL) {
		rc = zn_err_set(err, ENOMEM, "out of memory");
		goto out_free;
	}
	ds->type = type;
	p.ds = ds;
	p.opts = opts != NULL ? opts : &noopts;
	p.err = err;
	p.file = mem ? name : (nfiles > 0 ? files[0] : "");
	zn_val_default(&p.defval);
	if (p.ops->begin != NULL) {
		rc = p.ops->begin(&p);
		if (rc != 0)
			goto out_abort;
	}
	if (!mem) {
		for (i = 0; i < nfiles; i++) {
			rc = feed_file(&p, &rd, files[i]);
			if (rc != 0)
				goto out_abort;
		}
	} else {
		struct src src = { .fd = -1, .mem = buf, .memlen = len };

		newfile(&p, name);
		rc = feed(&p, &rd, &src);
		if (rc != 0)
			goto out_abort;
	}
	rc = p.ops->finish(&p);
	if (rc != 0)
		goto out_abort;
	free(rd.buf);
	free(rd.line);
	*out = ds;
	return 0;

out_abort:
	if (p.tstate != NULL && p.ops->abort != NULL)
		p.ops->abort(&p);
out_free:
	free(rd.buf);
	free(rd.line);
	zn_dataset_free(ds);
	return rc;
}

/*
 * Parse the files of one dataset; see zones.h.
 */
int
zn_dataset_load(enum zn_dstype type, const char *const *files, size_t nfiles,
    const struct zn_parse_opts *opts, struct zn_dataset **out,
    struct zn_err *err)
{
	return load(type, false, files, nfiles, NULL, NULL, 0, opts, out, err);
}

/*
 * Parse a dataset from memory; see zones.h.
 */
int
zn_dataset_load_mem(enum zn_dstype type, const char *name, const char *buf,
    size_t len, const struct zn_parse_opts *opts, struct zn_dataset **out,
    struct zn_err *err)
{
	return load(type, true, NULL, 0, name != NULL ? name : "-",
	    buf != NULL ? buf : "", buf != NULL ? len : 0, opts, out, err);
}
