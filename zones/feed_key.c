/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Feed keys (Ed25519, libsodium) and the signed manifest.  The formats
 * are drawn in feed.h.  Secret keys live in sodium_malloc'ed memory
 * (guard pages, no swap) and are wiped when freed; their text is read
 * into such memory too.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "feed_int.h"

#define PUB_TAG "resolverd-feed-pubkey 1 "
#define SEC_TAG "resolverd-feed-seckey 1 "
#define KEYFILE_MAX 4096

static const char manifest_ctx[] = "resolverd-feed/manifest/v1";

struct zn_feed_seckey {
	uint8_t id[ZN_FEED_KEYID_LEN];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

static void
key_id(const uint8_t *pk, uint8_t *id)
{
	crypto_generichash(id, ZN_FEED_KEYID_LEN, pk,
	    crypto_sign_PUBLICKEYBYTES, NULL, 0);
}

void
zn_feed_keyid_hex(const uint8_t id[ZN_FEED_KEYID_LEN], char out[17])
{
	sodium_bin2hex(out, 17, id, ZN_FEED_KEYID_LEN);
}

static int
init_sodium(struct zn_err *err)
{
	if (sodium_init() < 0)
		return zn_err_set(err, EIO, "libsodium cannot initialise");
	return 0;
}

/* Write all of buf to a new file (O_EXCL) with mode; 0 or -errno. */
static int
write_new(const char *path, mode_t mode, const char *buf, size_t len,
    struct zn_err *err)
{
	size_t off = 0;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd == -1)
		return zn_err_set(err, errno, "%s: %s", path,
		    errno == EEXIST ? "exists; not overwriting a key" :
		                      strerror(errno));
	if (fchmod(fd, mode) == -1) {
		e = errno;
		goto fail;
	}
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w == 0 ? EIO : errno;
			goto fail;
		}
		off += w;
	}
	if (fsync(fd) == -1) {
		e = errno;
		goto fail;
	}
	if (close(fd) == -1) {
		e = errno;
		unlink(path);
		return zn_err_set(err, e, "%s: %s", path, strerror(e));
	}
	return 0;
fail:
	close(fd);
	unlink(path);
	return zn_err_set(err, e, "%s: %s", path, strerror(e));
}

int
zn_feed_keygen(const char *pubpath, const char *secpath,
    uint8_t id[ZN_FEED_KEYID_LEN], struct zn_err *err)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	char idhex[17], pkhex[2 * crypto_sign_PUBLICKEYBYTES + 1];
	char pubtext[256];
	size_t seclen =
	    sizeof(SEC_TAG) + 17 + 2 * crypto_sign_SECRETKEYBYTES + 128;
	uint8_t *sk;
	char *sectext;
	int rc, n;

	if ((rc = init_sodium(err)) != 0)
		return rc;
	sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	sectext = sodium_malloc(seclen);
	if (sk == NULL || sectext == NULL) {
		sodium_free(sk);
		sodium_free(sectext);
		return zn_err_set(err, ENOMEM, "out of secure memory");
	}
	crypto_sign_keypair(pk, sk);
	key_id(pk, id);
	zn_feed_keyid_hex(id, idhex);
	sodium_bin2hex(pkhex, sizeof(pkhex), pk, sizeof(pk));
	n = snprintf(sectext, seclen,
	    "# resolverd feed secret key %s: keep it secret (mode 0600)\n"
	    "%s%s ",
	    idhex, SEC_TAG, idhex);
	sodium_bin2hex(sectext + n, seclen - n, sk, crypto_sign_SECRETKEYBYTES);
	n += 2 * crypto_sign_SECRETKEYBYTES;
	sectext[n++] = '\n';
	snprintf(pubtext, sizeof(pubtext),
	    "# resolverd feed public key %s\n%s%s %s\n", idhex, PUB_TAG, idhex,
	    pkhex);
	rc = write_new(secpath, 0600, sectext, n, err);
	if (rc == 0 &&
	    (rc = write_new(pubpath, 0644, pubtext, strlen(pubtext), err)) != 0)
		unlink(secpath);
	sodium_free(sk);
	sodium_free(sectext);
	return rc;
}

/*
 * The key line of a key file in buf (NUL-terminated): skips comments and
 * blank lines; exactly one key line with tag.  Returns a pointer to what
 * follows the tag, with its length up to the end of the line.
 */
static const char *
key_line(const char *path, const char *buf, const char *tag, size_t *len,
    struct zn_err *err)
{
	const char *p = buf, *found = NULL;
	size_t flen = 0, lineno = 0, fline = 0;

	while (*p != '\0') {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0 || p[0] == '#') {
			/* comment or blank */
		} else if (n > strlen(tag) &&
		    strncmp(p, tag, strlen(tag)) == 0) {
			if (found != NULL) {
				zn_err_set(err, EINVAL,
				    "%s:%zu: a second key (first on line %zu)",
				    path, lineno, fline);
				return NULL;
			}
			found = p + strlen(tag);
			flen = n - strlen(tag);
			fline = lineno;
		} else {
			zn_err_set(err, EINVAL,
			    "%s:%zu: not a resolverd feed %s key line", path,
			    lineno, strstr(tag, "pub") ? "public" : "secret");
			return NULL;
		}
		p = e ? e + 1 : p + n;
	}
	if (found == NULL) {
		zn_err_set(err, EINVAL, "%s: no %s key in the file", path,
		    strstr(tag, "pub") ? "public" : "secret");
		return NULL;
	}
	*len = flen;
	return found;
}

/* "<16 hex> <2n hex>" into id and out (n bytes); 0 or -1. */
static int
parse_idkey(const char *s, size_t len, uint8_t *id, uint8_t *out, size_t n)
{
	size_t bl = 0;
	const char *end;

	if (len != 16 + 1 + 2 * n || s[16] != ' ')
		return -1;
	if (sodium_hex2bin(id, ZN_FEED_KEYID_LEN, s, 16, NULL, &bl, &end) !=
	        0 ||
	    bl != ZN_FEED_KEYID_LEN || end != s + 16)
		return -1;
	if (sodium_hex2bin(out, n, s + 17, 2 * n, NULL, &bl, &end) != 0 ||
	    bl != n || end != s + 17 + 2 * n)
		return -1;
	return 0;
}

int
zn_feed_pubkey_load(const char *path, struct zn_feed_pubkey *pk,
    struct zn_err *err)
{
	uint8_t *buf = NULL, id[ZN_FEED_KEYID_LEN];
	size_t len = 0, ll = 0;
	const char *line;
	char *text;
	int rc;

	if ((rc = init_sodium(err)) != 0)
		return rc;
	if ((rc = fd_read_file(path, KEYFILE_MAX, &buf, &len, err)) != 0)
		return rc;
	if ((text = malloc(len + 1)) == NULL) {
		free(buf);
		return zn_err_set(err, ENOMEM, "out of memory");
	}
	memcpy(text, buf, len);
	text[len] = '\0';
	free(buf);
	if (strlen(text) != len) {
		free(text);
		return zn_err_set(err, EINVAL, "%s: NUL byte in a key file",
		    path);
	}
	if ((line = key_line(path, text, PUB_TAG, &ll, err)) == NULL) {
		free(text);
		return -EINVAL;
	}
	if (parse_idkey(line, ll, pk->id, pk->pk, sizeof(pk->pk)) != 0) {
		free(text);
		return zn_err_set(err, EINVAL,
		    "%s: key line is not \"%s<16 hex> <64 hex>\"", path,
		    PUB_TAG);
	}
	free(text);
	key_id(pk->pk, id);
	if (memcmp(id, pk->id, sizeof(id)) != 0)
		return zn_err_set(err, EINVAL,
		    "%s: key id does not match the key (damaged file)", path);
	return 0;
}

int
zn_feed_seckey_load(const char *path, struct zn_feed_seckey **out,
    struct zn_err *err)
{
	struct zn_feed_seckey *k;
	struct stat st;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], id[ZN_FEED_KEYID_LEN];
	uint8_t seedpk[crypto_sign_PUBLICKEYBYTES];
	uint8_t *seedsk;
	char *text;
	const char *line;
	size_t off = 0, ll = 0;
	int fd, rc, e;

	if ((rc = init_sodium(err)) != 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return zn_err_set(err, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1) {
		e = errno;
		close(fd);
		return zn_err_set(err, e, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode) || st.st_size > KEYFILE_MAX) {
		close(fd);
		return zn_err_set(err, EINVAL, "%s: not a secret key file",
		    path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return zn_err_set(err, EPERM,
		    "%s: secret key readable by group or others (mode %04o); "
		    "chmod 600 it",
		    path, (unsigned)(st.st_mode & 07777));
	}
	text = sodium_malloc(st.st_size + 1);
	k = sodium_malloc(sizeof(*k));
	seedsk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (text == NULL || k == NULL || seedsk == NULL) {
		close(fd);
		rc = zn_err_set(err, ENOMEM, "out of secure memory");
		goto fail;
	}
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, text + off, st.st_size - off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r == 0 ? EIO : errno;
			close(fd);
			rc = zn_err_set(err, e, "%s: %s", path, strerror(e));
			goto fail;
		}
		off += r;
	}
	close(fd);
	text[off] = '\0';
	if (strlen(text) != off) {
		rc =
		    zn_err_set(err, EINVAL, "%s: NUL byte in a key file", path);
		goto fail;
	}
	if ((line = key_line(path, text, SEC_TAG, &ll, err)) == NULL) {
		rc = -EINVAL;
		goto fail;
	}
	if (parse_idkey(line, ll, k->id, k->sk, sizeof(k->sk)) != 0) {
		rc = zn_err_set(err, EINVAL,
		    "%s: key line is not \"%s<16 hex> <128 hex>\"", path,
		    SEC_TAG);
		goto fail;
	}
	/* the public half inside must be the seed's, and match the id */
	crypto_sign_ed25519_sk_to_pk(pk, k->sk);
	crypto_sign_seed_keypair(seedpk, seedsk, k->sk);
	key_id(pk, id);
	if (memcmp(pk, seedpk, sizeof(pk)) != 0 ||
	    memcmp(id, k->id, sizeof(id)) != 0) {
		rc = zn_err_set(err, EINVAL,
		    "%s: key id does not match the key (damaged file)", path);
		goto fail;
	}
	sodium_free(text);
	sodium_free(seedsk);
	sodium_mprotect_readonly(k);
	*out = k;
	return 0;
fail:
	sodium_free(text);
	sodium_free(k);
	sodium_free(seedsk);
	return rc;
}

void
zn_feed_seckey_free(struct zn_feed_seckey *sk)
{
	sodium_free(sk); /* wipes it */
}

void
zn_feed_seckey_public(const struct zn_feed_seckey *sk,
    struct zn_feed_pubkey *pk)
{
	crypto_sign_ed25519_sk_to_pk(pk->pk, sk->sk);
	memcpy(pk->id, sk->id, ZN_FEED_KEYID_LEN);
}

/*
 * Manifest.
 */
void
zn_feed_file_name(const struct zn_feed_file *f, char *buf, size_t size)
{
	if (f->from == f->to)
		snprintf(buf, size, "snap/%" PRIu64, f->to);
	else
		snprintf(buf, size, "delta/%" PRIu64 "-%" PRIu64, f->from,
		    f->to);
}

bool
zn_feed_zone_ok(const char *zone)
{
	size_t i, n = strlen(zone);

	if (n == 0 || n > ZN_NAME_MAX || zone[0] == '.' || zone[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = zone[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '-' || c == '_' || c == '.'))
			return false;
		if (c == '.' && zone[i + 1] == '.')
			return false;
	}
	return true;
}

static void
put_hex(struct fbuf *b, const uint8_t *p, size_t n)
{
	char h[2 * 64 + 1];

	sodium_bin2hex(h, sizeof(h), p, n);
	fb_bytes(b, h, 2 * n);
}

static void put_line(struct fbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put_line(struct fbuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		b->oom = true;
		return;
	}
	fb_bytes(b, line, n);
}

static void
put_file(struct fbuf *b, const char *what, const struct zn_feed_file *f)
{
	if (f->from == f->to)
		put_line(b, "%s %" PRIu64 " %" PRIu64 " ", what, f->to,
		    f->size);
	else
		put_line(b, "%s %" PRIu64 " %" PRIu64 " %" PRIu64 " ", what,
		    f->from, f->to, f->size);
	put_hex(b, f->hash, ZN_FEED_HASH_LEN);
	fb_u8(b, '\n');
}

/* The signed message: context, NUL, body. */
static uint8_t *
signed_bytes(const uint8_t *body, size_t len, size_t *mlen)
{
	uint8_t *m = malloc(sizeof(manifest_ctx) + len);

	if (m == NULL)
		return NULL;
	memcpy(m, manifest_ctx, sizeof(manifest_ctx));
	memcpy(m + sizeof(manifest_ctx), body, len);
	*mlen = sizeof(manifest_ctx) + len;
	return m;
}

int
zn_feed_manifest_sign(struct zn_feed_manifest *m,
    const struct zn_feed_seckey *sk, char **out, size_t *len,
    struct zn_err *err)
{
	struct fbuf b = { 0 };
	struct zn_feed_pubkey pub;
	struct zn_feed_manifest chk;
	uint8_t sig[crypto_sign_BYTES], *msg;
	size_t mlen, i;
	char idhex[17];
	int rc;

	if ((rc = init_sodium(err)) != 0)
		return rc;
	if (!zn_feed_zone_ok(m->zone))
		return zn_err_set(err, EINVAL, "%s: not a usable zone name",
		    m->zone);
	memcpy(m->keyid, sk->id, ZN_FEED_KEYID_LEN);
	zn_feed_keyid_hex(sk->id, idhex);
	put_line(&b, "resolverd-feed 1\nzone %s\nserial %" PRIu64 "\n", m->zone,
	    m->serial);
	put_line(&b, "issued %" PRId64 "\nexpires %" PRId64 "\n", m->issued,
	    m->expires);
	put_line(&b, "key %s\nentries %" PRIu64 "\ndigest ", idhex, m->entries);
	put_hex(&b, m->digest, ZN_DIGEST_LEN);
	fb_u8(&b, '\n');
	put_file(&b, "snapshot", &m->snapshot);
	for (i = 0; i < m->ndeltas; i++)
		put_file(&b, "delta", &m->deltas[i]);
	if (b.oom || (msg = signed_bytes(b.p, b.len, &mlen)) == NULL) {
		fb_free(&b);
		return zn_err_set(err, ENOMEM, "out of memory");
	}
	crypto_sign_detached(sig, NULL, msg, mlen, sk->sk);
	free(msg);
	put_line(&b, "signature %s ", idhex);
	put_hex(&b, sig, sizeof(sig));
	fb_u8(&b, '\n');
	if (b.oom) {
		fb_free(&b);
		return zn_err_set(err, ENOMEM, "out of memory");
	}
	/* check what we publish, as minisign does */
	zn_feed_seckey_public(sk, &pub);
	if ((rc = zn_feed_manifest_verify(b.p, b.len, &pub, 1, &chk, err)) !=
	    0) {
		fb_free(&b);
		return rc;
	}
	zn_feed_manifest_cleanup(&chk);
	*out = (char *)b.p;
	*len = b.len;
	return 0;
}

void
zn_feed_manifest_cleanup(struct zn_feed_manifest *m)
{
	free(m->deltas);
	m->deltas = NULL;
	m->ndeltas = 0;
}

/* A strict reader of the manifest's lines. */
struct mrd {
	const char *p, *end;
	size_t line;
	const char *lp; /* current line */
	size_t ll;
};

static bool
next_line(struct mrd *r)
{
	const char *e;

	if (r->p >= r->end)
		return false;
	if ((e = memchr(r->p, '\n', r->end - r->p)) == NULL)
		return false;
	r->lp = r->p;
	r->ll = e - r->p;
	r->p = e + 1;
	r->line++;
	return true;
}

/* The word after "tag " ... parsers below take a cursor into the line. */
static bool
eat(const char **s, const char *end, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(end - *s) < n || memcmp(*s, word, n) != 0)
		return false;
	*s += n;
	return true;
}

static bool
eat_u64(const char **s, const char *end, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;

	if (p >= end || *p < '0' || *p > '9')
		return false;
	if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
		return false; /* leading zero */
	while (p < end && *p >= '0' && *p <= '9') {
		if (x > (UINT64_MAX - (*p - '0')) / 10)
			return false;
		x = x * 10 + (*p - '0');
		p++;
	}
	*s = p;
	*v = x;
	return true;
}

static bool
eat_hex(const char **s, const char *end, uint8_t *out, size_t n)
{
	size_t bl = 0, i;
	const char *e;

	if ((size_t)(end - *s) < 2 * n)
		return false;
	for (i = 0; i < 2 * n; i++) {
		char c = (*s)[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false; /* lower case only: one encoding */
	}
	if (sodium_hex2bin(out, n, *s, 2 * n, NULL, &bl, &e) != 0 || bl != n)
		return false;
	*s += 2 * n;
	return true;
}

static int
mbad(struct zn_err *err, const struct mrd *r, const char *what)
{
	return zn_err_set(err, EINVAL, "manifest line %zu: %s", r->line, what);
}

static int
parse_file_line(struct mrd *r, const char *tag, bool delta,
    struct zn_feed_file *f, struct zn_err *err)
{
	const char *s = r->lp, *end = r->lp + r->ll;

	if (!eat(&s, end, tag) || !eat(&s, end, " "))
		return mbad(err, r,
		    delta ? "expected a delta line" :
		            "expected the snapshot line");
	if (!eat_u64(&s, end, &f->from) || !eat(&s, end, " "))
		return mbad(err, r, "bad serial");
	if (delta) {
		if (!eat_u64(&s, end, &f->to) || !eat(&s, end, " "))
			return mbad(err, r, "bad serial");
	} else
		f->to = f->from;
	if (!eat_u64(&s, end, &f->size) || !eat(&s, end, " "))
		return mbad(err, r, "bad size");
	if (!eat_hex(&s, end, f->hash, ZN_FEED_HASH_LEN) || s != end)
		return mbad(err, r, "bad hash");
	return 0;
}

static int
parse_body(const char *body, size_t len, struct zn_feed_manifest *m,
    struct zn_err *err)
{
	struct mrd r = { body, body + len, 0, NULL, 0 };
	const char *s, *end;
	uint64_t v;
	size_t cap = 0;
	int rc;

#define LINE(word)                                                     \
	do {                                                           \
		if (!next_line(&r))                                    \
			return mbad(err, &r, "truncated");             \
		s = r.lp;                                              \
		end = r.lp + r.ll;                                     \
		if (!eat(&s, end, word))                               \
			return mbad(err, &r, "expected \"" word "\""); \
	} while (0)

	memset(m, 0, sizeof(*m));
	LINE("resolverd-feed ");
	if (!eat_u64(&s, end, &v) || s != end)
		return mbad(err, &r, "bad format version");
	if (v != 1)
		return mbad(err, &r, "unsupported format version");
	LINE("zone ");
	if (r.ll - 5 > ZN_NAME_MAX)
		return mbad(err, &r, "zone name too long");
	memcpy(m->zone, s, end - s);
	m->zone[end - s] = '\0';
	if (!zn_feed_zone_ok(m->zone))
		return mbad(err, &r, "bad zone name");
	LINE("serial ");
	if (!eat_u64(&s, end, &m->serial) || s != end || m->serial == 0)
		return mbad(err, &r, "bad serial");
	LINE("issued ");
	if (!eat_u64(&s, end, &v) || s != end || v > INT64_MAX)
		return mbad(err, &r, "bad issue time");
	m->issued = (int64_t)v;
	LINE("expires ");
	if (!eat_u64(&s, end, &v) || s != end || v > INT64_MAX ||
	    (int64_t)v <= m->issued)
		return mbad(err, &r, "bad expiry time");
	m->expires = (int64_t)v;
	LINE("key ");
	if (!eat_hex(&s, end, m->keyid, ZN_FEED_KEYID_LEN) || s != end)
		return mbad(err, &r, "bad key id");
	LINE("entries ");
	if (!eat_u64(&s, end, &m->entries) || s != end)
		return mbad(err, &r, "bad entry count");
	LINE("digest ");
	if (!eat_hex(&s, end, m->digest, ZN_DIGEST_LEN) || s != end)
		return mbad(err, &r, "bad digest");
	if (!next_line(&r))
		return mbad(err, &r, "truncated");
	if ((rc = parse_file_line(&r, "snapshot", false, &m->snapshot, err)))
		return rc;
	if (m->snapshot.to == 0 || m->snapshot.to > m->serial)
		return mbad(err, &r, "snapshot serial not in 1..serial");
	while (next_line(&r)) {
		struct zn_feed_file f;

		if ((rc = parse_file_line(&r, "delta", true, &f, err)) != 0)
			goto fail;
		if (f.to != m->serial || f.from >= f.to) {
			rc = mbad(err, &r, "delta does not lead to the serial");
			goto fail;
		}
		if (m->ndeltas > 0 &&
		    m->deltas[m->ndeltas - 1].from >= f.from) {
			rc = mbad(err, &r, "deltas out of order");
			goto fail;
		}
		if (m->ndeltas >= ZN_FEED_DELTAS_MAX) {
			rc = mbad(err, &r, "too many deltas");
			goto fail;
		}
		if (m->ndeltas == cap) {
			struct zn_feed_file *nd;

			cap = cap ? cap * 2 : 16;
			nd = reallocarray(m->deltas, cap, sizeof(*nd));
			if (nd == NULL) {
				rc = zn_err_set(err, ENOMEM, "out of memory");
				goto fail;
			}
			m->deltas = nd;
		}
		m->deltas[m->ndeltas++] = f;
	}
	if (r.p != r.end) {
		rc = mbad(err, &r, "unterminated line");
		goto fail;
	}
	if (m->snapshot.to < m->serial) {
		size_t i;

		for (i = 0; i < m->ndeltas; i++)
			if (m->deltas[i].from == m->snapshot.to)
				break;
		if (i == m->ndeltas) {
			rc = zn_err_set(err, EINVAL,
			    "manifest: no delta from the snapshot's serial "
			    "%" PRIu64 " to %" PRIu64,
			    m->snapshot.to, m->serial);
			goto fail;
		}
	}
	return 0;
fail:
	zn_feed_manifest_cleanup(m);
	return rc;
#undef LINE
}

/*
 * Check a manifest: its signature with the key of keys it names (none is
 * checked when keys is NULL), then its body.
 */
static int
manifest_check(const uint8_t *buf, size_t len,
    const struct zn_feed_pubkey *keys, size_t nkeys, struct zn_feed_manifest *m,
    struct zn_err *err)
{
	const char *text = (const char *)buf, *sl, *s, *end;
	uint8_t id[ZN_FEED_KEYID_LEN], sig[crypto_sign_BYTES], *msg;
	struct zn_feed_manifest tmp;
	char idhex[17];
	size_t i, bodylen, mlen;
	int rc;

	if ((rc = init_sodium(err)) != 0)
		return rc;
	if (len > ZN_FEED_MANIFEST_MAX)
		return zn_err_set(err, EFBIG, "manifest: %zu bytes, too long",
		    len);
	if (len == 0 || buf[len - 1] != '\n')
		return zn_err_set(err, EINVAL,
		    "manifest: truncated (no final newline)");
	/* the signature line is the last line */
	for (sl = text + len - 1; sl > text && sl[-1] != '\n'; sl--)
		;
	s = sl;
	end = text + len - 1;
	if (!eat(&s, end, "signature ") ||
	    !eat_hex(&s, end, id, ZN_FEED_KEYID_LEN) || !eat(&s, end, " ") ||
	    !eat_hex(&s, end, sig, sizeof(sig)) || s != end)
		return zn_err_set(err, EINVAL,
		    "manifest: no valid signature line at its end");
	zn_feed_keyid_hex(id, idhex);
	bodylen = sl - text;
	for (i = 0; keys != NULL && i < nkeys; i++)
		if (memcmp(keys[i].id, id, ZN_FEED_KEYID_LEN) == 0)
			break;
	if (keys != NULL && i == nkeys)
		return zn_err_set(err, EPERM,
		    "manifest: signed by key %s, which is not a trusted key",
		    idhex);
	if (keys != NULL) {
		if ((msg = signed_bytes(buf, bodylen, &mlen)) == NULL)
			return zn_err_set(err, ENOMEM, "out of memory");
		rc = crypto_sign_verify_detached(sig, msg, mlen, keys[i].pk);
		free(msg);
		if (rc != 0)
			return zn_err_set(err, EPERM,
			    "manifest: BAD SIGNATURE (key %s): the manifest "
			    "was altered or is not from this publisher",
			    idhex);
	}
	if (memchr(buf, '\0', bodylen) != NULL)
		return zn_err_set(err, EINVAL, "manifest: NUL byte");
	if ((rc = parse_body(text, bodylen, &tmp, err)) != 0)
		return rc;
	if (memcmp(tmp.keyid, id, ZN_FEED_KEYID_LEN) != 0) {
		zn_feed_manifest_cleanup(&tmp);
		return zn_err_set(err, EINVAL,
		    "manifest: names another key than the one that signed "
		    "it (%s)",
		    idhex);
	}
	*m = tmp;
	return 0;
}

int
zn_feed_manifest_verify(const uint8_t *buf, size_t len,
    const struct zn_feed_pubkey *keys, size_t nkeys, struct zn_feed_manifest *m,
    struct zn_err *err)
{
	if (keys == NULL || nkeys == 0)
		return zn_err_set(err, EPERM, "manifest: no trusted key");
	return manifest_check(buf, len, keys, nkeys, m, err);
}

int
fd_manifest_parse_unverified(const uint8_t *buf, size_t len,
    struct zn_feed_manifest *m, struct zn_err *err)
{
	return manifest_check(buf, len, NULL, 0, m, err);
}
