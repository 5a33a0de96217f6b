/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Local policy (zones.h, "Local policy"): allow and deny entries per zone
 * in the LMDB database "policy", which nothing else in libzones writes.
 *
 *   key:   zone-name 0x00 entry-key
 *          entry-key: 0x04 addr[4] plen | 0x06 addr[16] plen |
 *                     'N' revname kind (ZN_NAME_EXACT or ZN_NAME_WILD)
 *   value: version(1) action(1) a[4] when[8] wholen(1) who reasonlen(1)
 *          reason
 *
 * Every write bumps "#gen" in meta in the same transaction, so read views
 * reload their zone table, and with it the policy, at their next refresh.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_int.h"
#include "ip.h"

#define POL_VERSION 1
#define POL_KEY_MAX (ZN_NAME_MAX + 1 + ZN_KEY_MAX)

const char *
zn_policy_action_name(int action)
{
	switch (action) {
	case ZN_POLICY_ALLOW:
		return "allow";
	case ZN_POLICY_DENY:
		return "deny";
	}
	return NULL;
}

int
zn_policy_dbi(struct zn_db *db, bool create, MDB_dbi *dbi)
{
	MDB_txn *txn;
	MDB_dbi d;
	int rc;

	pthread_mutex_lock(&db->dbi_lock);
	if (db->policy_open) {
		*dbi = db->policy;
		pthread_mutex_unlock(&db->dbi_lock);
		return 0;
	}
	if (create && (db->flags & ZN_DB_RDONLY)) {
		pthread_mutex_unlock(&db->dbi_lock);
		return -EROFS;
	}
	rc = mdb_txn_begin(db->env, NULL, create ? 0 : MDB_RDONLY, &txn);
	if (rc == 0) {
		rc = mdb_dbi_open(txn, "policy", create ? MDB_CREATE : 0, &d);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	if (rc == 0) {
		db->policy = d;
		db->policy_open = true;
		*dbi = d;
	}
	pthread_mutex_unlock(&db->dbi_lock);
	return rc == MDB_NOTFOUND ? -ENOENT : zn_mdb_errno(rc);
}

/*
 * Entries.
 */

/* A name as policy takes it: lower-case, labels of [a-z0-9_-], no empty
 * label; "*." in front makes it a wildcard.  Writes the canonical text. */
static int
parse_name(const char *s, char *canon, uint8_t *key, size_t *klen,
    struct zn_err *err)
{
	char buf[ZN_NAME_MAX + 1];
	size_t n = strlen(s), i;
	bool wild = false;
	int kl;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		wild = true;
		s += 2;
		n -= 2;
	}
	if (n == 0)
		return zn_err_set(err, EINVAL,
		    "entry \"%.64s\": want an IPv4 or IPv6 address or CIDR, "
		    "a domain name or \"*.domain\"",
		    s);
	if (n > ZN_NAME_MAX - 2)
		return zn_err_set(err, EINVAL, "entry: name longer than %d",
		    ZN_NAME_MAX - 2);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
			return zn_err_set(err, EINVAL,
			    "entry \"%.*s\": character '%c' is not allowed in "
			    "a name (want an address, a CIDR, a name or "
			    "\"*.name\")",
			    (int)n, s, isprint(ch) ? ch : '?');
		buf[i] = (char)tolower(ch);
	}
	buf[n] = '\0';
	if ((kl = zn_revname(buf, n, key + 1, ZN_KEY_MAX - 2)) < 0)
		return zn_err_set(err, EINVAL,
		    "entry \"%s\": empty or overlong label", buf);
	for (i = 0; i < n; i += 0) {
		size_t l = strcspn(buf + i, ".");

		if (l > 63)
			return zn_err_set(err, EINVAL,
			    "entry \"%s\": label longer than 63", buf);
		i += l + 1;
	}
	key[0] = ZN_KEY_NAME;
	key[1 + kl] = wild ? ZN_NAME_WILD : ZN_NAME_EXACT;
	*klen = (size_t)kl + 2;
	snprintf(canon, ZN_POLICY_ENTRY_MAX, "%s%s", wild ? "*." : "", buf);
	return 0;
}

/* Parse an entry into its key and canonical text. */
static int
parse_entry(const char *text, char *canon, uint8_t *key, size_t *klen,
    struct zn_err *err)
{
	char buf[64], abuf[48];
	const char *slash;
	uint8_t a[16];
	unsigned long plen;
	size_t alen, i;
	bool v6, ip = true;
	char *end;

	if (text == NULL || *text == '\0')
		return zn_err_set(err, EINVAL, "entry: empty");
	if (strlen(text) >= ZN_POLICY_ENTRY_MAX)
		return zn_err_set(err, EINVAL, "entry: longer than %d bytes",
		    ZN_POLICY_ENTRY_MAX - 1);
	v6 = strchr(text, ':') != NULL;
	for (i = 0; text[i] != '\0' && !v6; i++)
		if (!isdigit((unsigned char)text[i]) && text[i] != '.' &&
		    text[i] != '/')
			ip = false;
	if (!v6 && !ip)
		return parse_name(text, canon, key, klen, err);
	if (!v6 && strchr(text, '/') == NULL) {
		/* all digits and dots: an address, or a numeric name */
		size_t dots = 0;

		for (i = 0; text[i] != '\0'; i++)
			dots += text[i] == '.';
		if (dots != 3)
			return parse_name(text, canon, key, klen, err);
	}
	if (strlen(text) >= sizeof(buf))
		return zn_err_set(err, EINVAL,
		    "entry \"%.64s\": not an address", text);
	memcpy(buf, text, strlen(text) + 1);
	alen = v6 ? 16 : 4;
	plen = alen * 8;
	if ((slash = strchr(buf, '/')) != NULL) {
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
		    plen > alen * 8)
			return zn_err_set(err, EINVAL,
			    "entry \"%s\": prefix length \"%s\": want 0 to %zu",
			    text, slash + 1, alen * 8);
		buf[slash - buf] = '\0';
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, a) != 1)
		return zn_err_set(err, EINVAL,
		    "entry \"%s\": \"%s\" is not an %s "
		    "address",
		    text, buf, v6 ? "IPv6" : "IPv4");
	for (i = 0; i < alen * 8; i++)
		if (i >= plen && (a[i / 8] >> (7 - i % 8) & 1)) {
			uint8_t net[16];
			size_t j;

			memcpy(net, a, alen);
			for (j = plen; j < alen * 8; j++)
				net[j / 8] &= ~(1u << (7 - j % 8));
			if (v6)
				zn_ip6_format(net, abuf);
			else
				zn_ip4_format(zn_get32(net), abuf);
			return zn_err_set(err, EINVAL,
			    "entry \"%s\": host bits set past /%lu (did you "
			    "mean %s/%lu?)",
			    text, plen, abuf, plen);
		}
	key[0] = v6 ? ZN_KEY_IP6 : ZN_KEY_IP4;
	memcpy(key + 1, a, alen);
	key[1 + alen] = (uint8_t)plen;
	*klen = alen + 2;
	if (v6)
		zn_ip6_format(a, abuf);
	else
		zn_ip4_format(zn_get32(a), abuf);
	if (plen == alen * 8)
		snprintf(canon, ZN_POLICY_ENTRY_MAX, "%s", abuf);
	else
		snprintf(canon, ZN_POLICY_ENTRY_MAX, "%s/%lu", abuf, plen);
	return 0;
}

int
zn_policy_entry_check(const char *text, char *canon, struct zn_err *err)
{
	uint8_t key[ZN_KEY_MAX];
	size_t klen;

	return parse_entry(text, canon, key, &klen, err);
}

/* The canonical text of an entry key. */
static void
entry_text(const uint8_t *k, size_t klen, char *out)
{
	char buf[ZN_NAME_MAX + 1];
	size_t pos = 0, end, start;

	out[0] = '\0';
	if ((k[0] == ZN_KEY_IP4 && klen == 6) ||
	    (k[0] == ZN_KEY_IP6 && klen == 18)) {
		size_t alen = k[0] == ZN_KEY_IP4 ? 4 : 16;
		char abuf[64]; /* an address: 46 bytes at most */

		if (alen == 4)
			zn_ip4_format(zn_get32(k + 1), abuf);
		else
			zn_ip6_format(k + 1, abuf);
		if (k[1 + alen] == alen * 8)
			snprintf(out, ZN_POLICY_ENTRY_MAX, "%s", abuf);
		else
			snprintf(out, ZN_POLICY_ENTRY_MAX, "%s/%u", abuf,
			    k[1 + alen]);
		return;
	}
	if (k[0] != ZN_KEY_NAME || klen < 2)
		return;
	/* revname "com\0ex\0" back to "ex.com" */
	end = klen - 1;
	if (k[end] == ZN_NAME_WILD) {
		memcpy(buf, "*.", 2);
		pos = 2;
	}
	while (end > 1) {
		start = end - 1; /* the 0 closing the last label */
		while (start > 1 && k[start - 1] != 0)
			start--;
		if (pos + (end - 1 - start) + 2 > sizeof(buf))
			break;
		if (pos > 0 && buf[pos - 1] != '.')
			buf[pos++] = '.';
		memcpy(buf + pos, k + start, end - 1 - start);
		pos += end - 1 - start;
		end = start;
	}
	buf[pos] = '\0';
	snprintf(out, ZN_POLICY_ENTRY_MAX, "%s", buf);
}

static int
zone_check(const char *zone, char *out, struct zn_err *err)
{
	size_t n = zone != NULL ? strlen(zone) : 0, i;

	if (n > 0 && zone[n - 1] == '.')
		n--;
	if (n == 0 || n > ZN_NAME_MAX)
		return zn_err_set(err, EINVAL, "zone: want a zone name");
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)zone[i];

		if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
			return zn_err_set(err, EINVAL,
			    "zone \"%.*s\": character '%c' is not allowed",
			    (int)n, zone, isprint(ch) ? ch : '?');
		out[i] = (char)tolower(ch);
	}
	out[n] = '\0';
	return 0;
}

static size_t
make_key(uint8_t *k, const char *zone, const uint8_t *ek, size_t eklen)
{
	size_t zl = strlen(zone);

	memcpy(k, zone, zl);
	k[zl] = 0;
	memcpy(k + zl + 1, ek, eklen);
	return zl + 1 + eklen;
}

static int
decode(const MDB_val *key, const MDB_val *val, struct zn_policy_entry *e)
{
	const uint8_t *k = key->mv_data, *v = val->mv_data, *z;
	size_t wl, rl;

	memset(e, 0, sizeof(*e));
	if ((z = memchr(k, 0, key->mv_size)) == NULL ||
	    (size_t)(z - k) > ZN_NAME_MAX || val->mv_size < 16 ||
	    v[0] != POL_VERSION)
		return -EIO;
	memcpy(e->zone, k, (size_t)(z - k));
	entry_text(z + 1, key->mv_size - (size_t)(z - k) - 1, e->entry);
	e->action = v[1];
	e->a = zn_get32(v + 2);
	e->when = (int64_t)((uint64_t)zn_get32(v + 6) << 32 | zn_get32(v + 10));
	wl = v[14];
	if (15 + wl + 1 > val->mv_size || wl >= sizeof(e->who))
		return -EIO;
	memcpy(e->who, v + 15, wl);
	rl = v[15 + wl];
	if (16 + wl + rl != val->mv_size)
		return -EIO;
	memcpy(e->reason, v + 16 + wl, rl);
	return 0;
}

static int
bump_gen(MDB_txn *txn, struct zn_db *db)
{
	MDB_val key = { 4, (void *)(uintptr_t) "#gen" }, val;
	uint64_t g = 0;
	uint8_t b[8];
	int rc;

	rc = mdb_get(txn, db->meta, &key, &val);
	if (rc == 0 && val.mv_size == 8)
		g = (uint64_t)zn_get32(val.mv_data) << 32 |
		    zn_get32((uint8_t *)val.mv_data + 4);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	g++;
	zn_put32(b, g >> 32);
	zn_put32(b + 4, (uint32_t)g);
	val = (MDB_val){ 8, b };
	return mdb_put(txn, db->meta, &key, &val, 0);
}

static int
fail(struct zn_err *err, int rc, const char *what)
{
	return zn_err_set(err, -zn_mdb_errno(rc), "policy: %s: %s", what,
	    mdb_strerror(rc));
}

int
zn_policy_add(struct zn_db *db, const struct zn_policy_entry *e,
    struct zn_err *err)
{
	uint8_t ek[ZN_KEY_MAX], k[POL_KEY_MAX],
	    v[16 + ZN_POLICY_WHO_MAX + ZN_TXT_MAX + 1];
	char zone[ZN_NAME_MAX + 1], canon[ZN_POLICY_ENTRY_MAX];
	size_t eklen, klen, wl, rl, i;
	int64_t when;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key, val;
	int rc;

	if ((rc = zone_check(e->zone, zone, err)) != 0)
		return rc;
	if ((rc = parse_entry(e->entry, canon, ek, &eklen, err)) != 0)
		return rc;
	if (e->action != ZN_POLICY_ALLOW && e->action != ZN_POLICY_DENY)
		return zn_err_set(err, EINVAL, "action: want allow or deny");
	wl = strnlen(e->who, sizeof(e->who));
	rl = strnlen(e->reason, sizeof(e->reason));
	if (wl >= sizeof(e->who))
		return zn_err_set(err, EINVAL, "who: longer than %d bytes",
		    ZN_POLICY_WHO_MAX - 1);
	if (rl > ZN_TXT_MAX)
		return zn_err_set(err, EINVAL, "reason: longer than %d bytes",
		    ZN_TXT_MAX);
	for (i = 0; i < rl; i++)
		if ((unsigned char)e->reason[i] < 0x20 ||
		    (unsigned char)e->reason[i] == 0x7f)
			return zn_err_set(err, EINVAL,
			    "reason: control character at offset %zu", i);
	klen = make_key(k, zone, ek, eklen);
	when = e->when != 0 ? e->when : (int64_t)time(NULL);
	v[0] = POL_VERSION;
	v[1] = (uint8_t)e->action;
	zn_put32(v + 2,
	    e->action == ZN_POLICY_DENY && e->a == 0 ? ZN_DEFAULT_A : e->a);
	zn_put32(v + 6, (uint32_t)((uint64_t)when >> 32));
	zn_put32(v + 10, (uint32_t)when);
	v[14] = (uint8_t)wl;
	memcpy(v + 15, e->who, wl);
	v[15 + wl] = (uint8_t)rl;
	memcpy(v + 16 + wl, e->reason, rl);
	if ((rc = zn_policy_dbi(db, true, &dbi)) != 0)
		return zn_err_set(err, -rc, "policy: cannot open the store: %s",
		    strerror(-rc));
	if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		return fail(err, rc, "begin");
	key = (MDB_val){ klen, k };
	val = (MDB_val){ 16 + wl + rl, v };
	if ((rc = mdb_put(txn, dbi, &key, &val, 0)) != 0 ||
	    (rc = bump_gen(txn, db)) != 0) {
		mdb_txn_abort(txn);
		return fail(err, rc, "write");
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(err, rc, "commit");
	return 0;
}

int
zn_policy_remove(struct zn_db *db, const char *zone, const char *text,
    int action, struct zn_policy_entry *old, struct zn_err *err)
{
	uint8_t ek[ZN_KEY_MAX], k[POL_KEY_MAX];
	char zn[ZN_NAME_MAX + 1], canon[ZN_POLICY_ENTRY_MAX];
	struct zn_policy_entry cur;
	size_t eklen, klen;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key, val;
	int rc;

	if ((rc = zone_check(zone, zn, err)) != 0)
		return rc;
	if ((rc = parse_entry(text, canon, ek, &eklen, err)) != 0)
		return rc;
	if ((rc = zn_policy_dbi(db, true, &dbi)) != 0)
		return zn_err_set(err, -rc, "policy: cannot open the store: %s",
		    strerror(-rc));
	klen = make_key(k, zn, ek, eklen);
	if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		return fail(err, rc, "begin");
	key = (MDB_val){ klen, k };
	rc = mdb_get(txn, dbi, &key, &val);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return zn_err_set(err, ENOENT,
		    "zone %s has no local policy entry for %s", zn, canon);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return fail(err, rc, "read");
	}
	if (decode(&key, &val, &cur) != 0) {
		mdb_txn_abort(txn);
		return zn_err_set(err, EIO, "policy: damaged entry for %s",
		    canon);
	}
	if (action != 0 && cur.action != action) {
		mdb_txn_abort(txn);
		return zn_err_set(err, ENOENT,
		    "zone %s: %s is not %s but %s by local policy", zn, canon,
		    action == ZN_POLICY_ALLOW ? "allowed" : "denied",
		    cur.action == ZN_POLICY_ALLOW ? "allowed" : "denied");
	}
	if ((rc = mdb_del(txn, dbi, &key, NULL)) != 0 ||
	    (rc = bump_gen(txn, db)) != 0) {
		mdb_txn_abort(txn);
		return fail(err, rc, "delete");
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(err, rc, "commit");
	if (old != NULL)
		*old = cur;
	return 0;
}

/* Iterate in txn over zone's entries (zone NULL: all). */
static int
iter(MDB_txn *txn, MDB_dbi dbi, const char *zone, zn_policy_fn *fn, void *arg)
{
	uint8_t k[ZN_NAME_MAX + 1];
	size_t zl = zone != NULL ? strlen(zone) : 0;
	struct zn_policy_entry e;
	MDB_cursor *c;
	MDB_val key, val;
	int rc, urc = 0;

	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return zn_mdb_errno(rc);
	if (zone != NULL) {
		memcpy(k, zone, zl);
		k[zl] = 0;
		key = (MDB_val){ zl + 1, k };
		rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	} else
		rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
	for (; rc == 0; rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		if (zone != NULL &&
		    (key.mv_size <= zl + 1 || memcmp(key.mv_data, k, zl + 1)))
			break;
		if (decode(&key, &val, &e) != 0) {
			urc = -EIO;
			break;
		}
		if ((urc = fn(arg, &e)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (urc != 0)
		return urc;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : zn_mdb_errno(rc);
}

int
zn_policy_list(struct zn_db *db, const char *zone, zn_policy_fn *fn, void *arg,
    struct zn_err *err)
{
	char zn[ZN_NAME_MAX + 1];
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;

	if (zone != NULL && (rc = zone_check(zone, zn, err)) != 0)
		return rc;
	if ((rc = zn_policy_dbi(db, false, &dbi)) == -ENOENT)
		return 0;
	if (rc != 0)
		return zn_err_set(err, -rc, "policy: cannot open the store: %s",
		    strerror(-rc));
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return fail(err, rc, "begin");
	rc = iter(txn, dbi, zone != NULL ? zn : NULL, fn, arg);
	mdb_txn_abort(txn);
	if (rc == -EIO)
		return zn_err_set(err, EIO, "policy: damaged entry");
	if (rc != 0)
		return zn_err_set(err, -rc, "policy: %s", strerror(-rc));
	return 0;
}

/*
 * Views.
 */
struct loader {
	const struct zn_zone *zones;
	size_t n;
	struct zn_polset *ps;
};

static int
grow(struct zn_polent **a, size_t n)
{
	struct zn_polent *na;

	if (n == 0 || (n & (n - 1)) != 0)
		return 0; /* room left: sizes are powers of two */
	if ((na = reallocarray(*a, n * 2, sizeof(**a))) == NULL)
		return -ENOMEM;
	*a = na;
	return 0;
}

static int
load_one(void *arg, const struct zn_policy_entry *e)
{
	struct loader *l = arg;
	uint8_t ek[ZN_KEY_MAX];
	char canon[ZN_POLICY_ENTRY_MAX];
	struct zn_polset *ps = NULL;
	struct zn_polent *pe;
	size_t i, eklen;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->zones[i].name, e->zone) == 0) {
			ps = &l->ps[i];
			break;
		}
	if (ps == NULL)
		return 0; /* a zone not served */
	if (parse_entry(e->entry, canon, ek, &eklen, NULL) != 0)
		return -EIO;
	if (ek[0] == ZN_KEY_NAME) {
		if (ps->nm == NULL &&
		    (ps->nm = calloc(1, sizeof(*ps->nm))) == NULL)
			return -ENOMEM;
		if (grow(&ps->nm, ps->nnm) != 0)
			return -ENOMEM;
		pe = &ps->nm[ps->nnm];
		memset(pe, 0, sizeof(*pe));
		if ((pe->nkey = malloc(eklen)) == NULL)
			return -ENOMEM;
		memcpy(pe->nkey, ek, eklen);
		pe->nklen = eklen;
		pe->e = *e;
		ps->nnm++;
		if (ek[eklen - 1] == ZN_NAME_WILD) {
			unsigned depth = 0;

			for (i = 1; i < eklen - 1; i++)
				depth += ek[i] == 0;
			if (depth < 128)
				ps->wild_depths[depth / 64] |= 1ull
				    << (depth % 64);
		}
		return 0;
	}
	if (ps->ip == NULL && (ps->ip = calloc(1, sizeof(*ps->ip))) == NULL)
		return -ENOMEM;
	if (grow(&ps->ip, ps->nip) != 0)
		return -ENOMEM;
	pe = &ps->ip[ps->nip];
	memset(pe, 0, sizeof(*pe));
	pe->e = *e;
	if (ek[0] == ZN_KEY_IP4) {
		pe->lo[10] = pe->lo[11] = 0xff;
		memcpy(pe->lo + 12, ek + 1, 4);
		pe->plen = 96u + ek[5];
	} else {
		memcpy(pe->lo, ek + 1, 16);
		pe->plen = ek[17];
	}
	memcpy(pe->hi, pe->lo, 16);
	for (i = pe->plen; i < 128; i++)
		pe->hi[i / 8] |= 1u << (7 - i % 8);
	ps->nip++;
	return 0;
}

static int
cmp_ip(const void *a, const void *b)
{
	const struct zn_polent *x = a, *y = b;
	int c = memcmp(x->lo, y->lo, 16);

	return c != 0 ? c : (int)x->plen - (int)y->plen;
}

static int
key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c != 0)
		return c;
	return al < bl ? -1 : al > bl;
}

static int
cmp_nm(const void *a, const void *b)
{
	const struct zn_polent *x = a, *y = b;

	return key_cmp(x->nkey, x->nklen, y->nkey, y->nklen);
}

void
zn_policy_free(struct zn_polset *ps, size_t n)
{
	size_t i, j;

	if (ps == NULL)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < ps[i].nnm; j++)
			free(ps[i].nm[j].nkey);
		free(ps[i].nm);
		free(ps[i].ip);
		free(ps[i].maxhi);
	}
	free(ps);
}

int
zn_policy_load(MDB_txn *txn, struct zn_db *db, const struct zn_zone *zones,
    size_t n, struct zn_polset **out, struct zn_err *err)
{
	struct loader l = { zones, n, NULL };
	MDB_dbi dbi;
	size_t i, j;
	bool any = false;
	int rc;

	*out = NULL;
	if ((rc = zn_policy_dbi(db, false, &dbi)) == -ENOENT || n == 0)
		return 0;
	if (rc != 0)
		return zn_err_set(err, -rc, "policy: cannot open the store: %s",
		    strerror(-rc));
	if ((l.ps = calloc(n, sizeof(*l.ps))) == NULL)
		return zn_err_set(err, ENOMEM, "out of memory");
	rc = iter(txn, dbi, NULL, load_one, &l);
	if (rc == -EINVAL) {
		/* the store was created after txn began: the caller renews
		 * the transaction and loads again */
		zn_policy_free(l.ps, n);
		return -EAGAIN;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		struct zn_polset *ps = &l.ps[i];

		if (ps->nip + ps->nnm > 0)
			any = true;
		if (ps->nnm > 0)
			qsort(ps->nm, ps->nnm, sizeof(*ps->nm), cmp_nm);
		if (ps->nip == 0)
			continue;
		qsort(ps->ip, ps->nip, sizeof(*ps->ip), cmp_ip);
		if ((ps->maxhi = calloc(ps->nip, 16)) == NULL) {
			rc = -ENOMEM;
			break;
		}
		for (j = 0; j < ps->nip; j++) {
			const uint8_t *prev = j ? ps->maxhi[j - 1] : NULL;

			memcpy(ps->maxhi[j],
			    prev && memcmp(prev, ps->ip[j].hi, 16) > 0 ?
			        prev :
			        ps->ip[j].hi,
			    16);
		}
	}
	if (rc != 0 || !any) {
		zn_policy_free(l.ps, n);
		if (rc == 0)
			return 0;
		return zn_err_set(err, -rc, "policy: %s",
		    rc == -EIO ? "damaged entry" : strerror(-rc));
	}
	*out = l.ps;
	return 0;
}

/*
 * Matching.
 */

/* The key labels [first, first + n) of q as a name key + kind; or 0. */
static size_t
qkey(const struct zn_qname *q, unsigned first, unsigned n, uint8_t kind,
    uint8_t *k)
{
	size_t len = 1;
	unsigned i;

	k[0] = ZN_KEY_NAME;
	for (i = first + n; i-- > first;) {
		const uint8_t *l = q->buf + q->off[i];

		if (memchr(l, 0, q->len[i]) != NULL ||
		    len + q->len[i] + 2 > ZN_KEY_MAX)
			return 0;
		memcpy(k + len, l, q->len[i]);
		len += q->len[i];
		k[len++] = 0;
	}
	k[len++] = kind;
	return len;
}

static const struct zn_polent *
find_name(const struct zn_polset *ps, const uint8_t *k, size_t klen)
{
	size_t lo = 0, hi = ps->nnm;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(ps->nm[mid].nkey, ps->nm[mid].nklen, k, klen);

		if (c == 0)
			return &ps->nm[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Allow anywhere wins; else the most specific deny. */
static const struct zn_polent *
better(const struct zn_polent *cur, const struct zn_polent *cand)
{
	if (cur == NULL)
		return cand;
	if (cur->e.action == ZN_POLICY_ALLOW)
		return cur;
	if (cand->e.action == ZN_POLICY_ALLOW)
		return cand;
	return cur;
}

static const struct zn_polent *
match_ip(const struct zn_polset *ps, const uint8_t *a)
{
	const struct zn_polent *best = NULL;
	size_t lo = 0, hi = ps->nip, j;

	/* the first entry with lo > a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(ps->ip[mid].lo, a, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (j = lo; j-- > 0 && memcmp(ps->maxhi[j], a, 16) >= 0;) {
		const struct zn_polent *pe = &ps->ip[j];

		if (memcmp(pe->hi, a, 16) < 0)
			continue;
		if (pe->e.action == ZN_POLICY_ALLOW)
			return pe;
		if (best == NULL || pe->plen > best->plen)
			best = pe;
	}
	return best;
}

/* The key as an address (v4-mapped for IPv4): true if it is one. */
static bool
key_addr(const struct zn_qname *q, unsigned n, uint8_t *a)
{
	if (n == 4)
		return zn_rev_addr(q, n,
		           ZN_REV_IP4 | ZN_REV_FULL | ZN_REV_MAPPED, a) == 0;
	return zn_rev_addr(q, n, ZN_REV_IP6 | ZN_REV_FULL, a) == 0;
}

const struct zn_policy_entry *
zn_polset_match(const struct zn_polset *ps, const struct zn_qname *q,
    unsigned nkey)
{
	const struct zn_polent *best = NULL, *pe;
	uint8_t a[16], k[ZN_KEY_MAX];
	size_t kl;
	unsigned m;

	if (ps == NULL || nkey == 0 || nkey > q->nlabels)
		return NULL;
	if (ps->nip > 0 && key_addr(q, nkey, a))
		best = match_ip(ps, a);
	if (ps->nnm == 0 || (best != NULL && best->e.action == ZN_POLICY_ALLOW))
		return best != NULL ? &best->e : NULL;
	if ((kl = qkey(q, 0, nkey, ZN_NAME_EXACT, k)) > 0 &&
	    (pe = find_name(ps, k, kl)) != NULL) {
		best = better(best, pe);
		if (best->e.action == ZN_POLICY_ALLOW)
			return &best->e;
	}
	/* wildcards, longest first: the first allow wins at once */
	for (m = nkey - 1; m > 0; m--) {
		if (m >= 128 || !(ps->wild_depths[m / 64] >> (m % 64) & 1))
			continue;
		if ((kl = qkey(q, nkey - m, m, ZN_NAME_WILD, k)) == 0)
			continue;
		if ((pe = find_name(ps, k, kl)) == NULL)
			continue;
		best = better(best, pe);
		if (best->e.action == ZN_POLICY_ALLOW)
			break;
	}
	return best != NULL ? &best->e : NULL;
}
