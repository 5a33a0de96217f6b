/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target "manifest": the feed manifest's verifier and strict parser
 * (zn_feed_manifest_verify, zones/feed_key.c; format in zones/feed.h).
 *
 * Input: one mode byte, then text.
 *   mode & 1: the text is a manifest body (every line before "signature").
 *       The target signs it with a fixed test key, as a publisher would,
 *       appends the signature line and verifies with the public half, so
 *       the parser behind the signature check sees every input.
 *   else: the text is a whole manifest, verified as it is (almost always
 *       refused at the signature) and also parsed without the signature
 *       check, as a publisher reads its own feed (fd_manifest_parse_
 *       unverified).
 * The seeds are manifests made by "zonetool publish" (mkseeds.py): mode
 * byte 0x01 and the body, or 0x00 and the whole file.
 *
 * Checked after each input: a refusal explains itself; an accepted
 * manifest satisfies what feed.h promises (zone name usable as a
 * directory name, serial >= 1, issued < expires, the snapshot at a serial
 * in 1..serial, 0..4096 deltas sorted by from, each leading to the
 * serial, one from the snapshot if it is not at the head, file names
 * "snap/N" and "delta/A-B"); re-signing the parsed manifest with the
 * test key gives back exactly the signed input (the format has one
 * encoding), and re-parses to the same fields.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "feed.h"
#include "feed_int.h"
#include "fuzz.h"

#define CTX "resolverd-feed/manifest/v1"

static bool ready;
static struct zn_feed_seckey *sk;
static struct zn_feed_pubkey pub;
static uint8_t rawsk[crypto_sign_SECRETKEYBYTES];
static char idhex[17];

/* The test key: derived from a fixed seed, written to a secret key file
 * (the only way into a struct zn_feed_seckey) and loaded back. */
static void
setup(void)
{
	uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	char dir[] = "/tmp/fuzz-manifest.XXXXXX", path[64];
	char skhex[2 * crypto_sign_SECRETKEYBYTES + 1];
	struct zn_err err;
	FILE *f;

	FUZZ_SETUP(sodium_init() >= 0, "sodium_init");
	memset(seed, 0x5a, sizeof(seed));
	crypto_sign_seed_keypair(pk, rawsk, seed);
	crypto_generichash(pub.id, ZN_FEED_KEYID_LEN, pk, sizeof(pk), NULL, 0);
	memcpy(pub.pk, pk, sizeof(pk));
	zn_feed_keyid_hex(pub.id, idhex);
	sodium_bin2hex(skhex, sizeof(skhex), rawsk, sizeof(rawsk));

	FUZZ_SETUP(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/k.sec", dir);
	FUZZ_SETUP((f = fopen(path, "w")) != NULL, "create key file");
	fprintf(f, "resolverd-feed-seckey 1 %s %s\n", idhex, skhex);
	FUZZ_SETUP(fclose(f) == 0 && chmod(path, 0600) == 0, "write key");
	FUZZ_SETUP(zn_feed_seckey_load(path, &sk, &err) == 0, err.msg);
	unlink(path);
	rmdir(dir);
	ready = true;
}

static void
check_err(int rc, const struct zn_err *err)
{
	FUZZ_CHECK(rc < 0);
	FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
	FUZZ_CHECK(err->msg[0] != '\0');
}

static void
check_name(const struct zn_feed_file *f)
{
	char name[64], want[64];

	zn_feed_file_name(f, name, sizeof(name));
	if (f->from == f->to)
		snprintf(want, sizeof(want), "snap/%" PRIu64, f->to);
	else
		snprintf(want, sizeof(want), "delta/%" PRIu64 "-%" PRIu64,
		    f->from, f->to);
	FUZZ_CHECK(strcmp(name, want) == 0);
	FUZZ_CHECK(strstr(name, "..") == NULL);
}

/* What feed.h promises of a parsed manifest. */
static void
check_manifest(const struct zn_feed_manifest *m)
{
	size_t i;
	bool from_snap = false;

	FUZZ_CHECK(memchr(m->zone, '\0', sizeof(m->zone)) != NULL);
	FUZZ_CHECK(zn_feed_zone_ok(m->zone));
	FUZZ_CHECK(m->serial >= 1);
	FUZZ_CHECK(m->issued >= 0 && m->issued < m->expires);
	FUZZ_CHECK(m->snapshot.from == m->snapshot.to);
	FUZZ_CHECK(m->snapshot.to >= 1 && m->snapshot.to <= m->serial);
	FUZZ_CHECK(m->ndeltas <= ZN_FEED_DELTAS_MAX);
	FUZZ_CHECK(m->ndeltas == 0 || m->deltas != NULL);
	check_name(&m->snapshot);
	for (i = 0; i < m->ndeltas; i++) {
		const struct zn_feed_file *d = &m->deltas[i];

		FUZZ_CHECK(d->to == m->serial && d->from < d->to);
		FUZZ_CHECK(i == 0 || m->deltas[i - 1].from < d->from);
		if (d->from == m->snapshot.to)
			from_snap = true;
		check_name(d);
	}
	FUZZ_CHECK(m->snapshot.to == m->serial || from_snap);
}

static bool
same_manifest(const struct zn_feed_manifest *a,
    const struct zn_feed_manifest *b)
{
	return strcmp(a->zone, b->zone) == 0 && a->serial == b->serial &&
	    a->issued == b->issued && a->expires == b->expires &&
	    a->entries == b->entries &&
	    memcmp(a->digest, b->digest, sizeof(a->digest)) == 0 &&
	    memcmp(&a->snapshot, &b->snapshot, sizeof(a->snapshot)) == 0 &&
	    a->ndeltas == b->ndeltas &&
	    (a->ndeltas == 0 ||
	        memcmp(a->deltas, b->deltas, a->ndeltas * sizeof(*a->deltas)) ==
	            0);
}

/*
 * Re-sign an accepted manifest with the test key: it must verify and
 * parse to the same fields; if the input was signed by the test key it
 * must come back byte for byte.
 */
static void
roundtrip(const struct zn_feed_manifest *m, const uint8_t *in, size_t inlen)
{
	struct zn_feed_manifest c = *m, again;
	struct zn_err err;
	char *out = NULL;
	size_t len = 0;
	int rc;

	rc = zn_feed_manifest_sign(&c, sk, &out, &len, &err);
	if (rc == -ENOMEM)
		return;
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(memcmp(c.keyid, pub.id, ZN_FEED_KEYID_LEN) == 0);
	if (memcmp(m->keyid, pub.id, ZN_FEED_KEYID_LEN) == 0)
		FUZZ_CHECK(len == inlen && memcmp(out, in, len) == 0);
	rc = zn_feed_manifest_verify((const uint8_t *)out, len, &pub, 1, &again,
	    &err);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(same_manifest(m, &again));
	zn_feed_manifest_cleanup(&again);
	free(out);
}

/* Verify buf with the test key; check what comes out. */
static void
verify(const uint8_t *buf, size_t len, bool signed_by_us)
{
	struct zn_feed_manifest m;
	struct zn_err err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = zn_feed_manifest_verify(buf, len, &pub, 1, &m, &err);
	if (rc != 0) {
		check_err(rc, &err);
		/* our own signature is never the reason */
		if (signed_by_us)
			FUZZ_CHECK(rc != -EPERM);
		return;
	}
	FUZZ_CHECK(memcmp(m.keyid, pub.id, ZN_FEED_KEYID_LEN) == 0);
	check_manifest(&m);
	roundtrip(&m, buf, len);
	zn_feed_manifest_cleanup(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zn_feed_manifest m;
	struct zn_err err;
	uint8_t sig[crypto_sign_BYTES], *msg, *buf;
	char sighex[2 * crypto_sign_BYTES + 1], line[256];
	size_t blen, llen;
	int rc;

	if (!ready)
		setup();
	if (size < 1 || size > ZN_FEED_MANIFEST_MAX)
		return 0;
	blen = size - 1;
	if (data[0] & 1) {
		/* sign the body as the publisher does */
		if ((msg = malloc(sizeof(CTX) + blen)) == NULL)
			return 0;
		memcpy(msg, CTX, sizeof(CTX));
		memcpy(msg + sizeof(CTX), data + 1, blen);
		crypto_sign_detached(sig, NULL, msg, sizeof(CTX) + blen, rawsk);
		free(msg);
		sodium_bin2hex(sighex, sizeof(sighex), sig, sizeof(sig));
		llen = (size_t)snprintf(line, sizeof(line), "signature %s %s\n",
		    idhex, sighex);
		FUZZ_CHECK(llen < sizeof(line));
		if ((buf = malloc(blen + llen)) == NULL)
			return 0;
		memcpy(buf, data + 1, blen);
		memcpy(buf + blen, line, llen);
		/* a body that does not end its last line makes the signature
		 * line part of it: refused, never a crash */
		verify(buf, blen + llen, blen == 0 || data[size - 1] == '\n');
		free(buf);
		return 0;
	}

	/* raw bytes, an exact-size copy so ASan sees overreads */
	if ((buf = malloc(blen ? blen : 1)) == NULL)
		return 0;
	memcpy(buf, data + 1, blen);
	verify(buf, blen, false);
	memset(&err, 0, sizeof(err));
	rc = fd_manifest_parse_unverified(buf, blen, &m, &err);
	if (rc != 0)
		check_err(rc, &err);
	else {
		check_manifest(&m);
		roundtrip(&m, buf, blen);
		zn_feed_manifest_cleanup(&m);
	}
	free(buf);
	return 0;
}
