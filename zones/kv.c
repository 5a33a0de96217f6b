/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Opaque key/value stores beside the zone data (see zones.h, "Key/value
 * stores"): the daemon's accounting counters live here.  Each store is
 * its own LMDB database named "kv.<name>", so nothing else in libzones
 * ever sees it and a zone update never touches it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <lmdb.h>

#include "db_int.h"

static int
kv_name(const char *name, char *out, size_t size, struct zn_err *err)
{
	size_t i, n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n > 32)
		return zn_err_set(err, EINVAL,
		    "key/value store name: want 1 to 32 characters");
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)name[i]) &&
		    !isdigit((unsigned char)name[i]) && name[i] != '-')
			return zn_err_set(err, EINVAL,
			    "key/value store %s: only a-z, 0-9 and '-'", name);
	snprintf(out, size, "kv.%s", name);
	return 0;
}

static int
kv_fail(struct zn_err *err, const char *name, const char *what, int rc)
{
	return zn_err_set(err, -zn_mdb_errno(rc), "key/value store %s: %s: %s",
	    name, what, mdb_strerror(rc));
}

int
zn_kv_put(struct zn_db *db, const char *name, const struct zn_kv *kv, size_t n,
    bool replace, struct zn_err *err)
{
	char dbname[40];
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	size_t i;
	int rc;

	if ((rc = kv_name(name, dbname, sizeof(dbname), err)) != 0)
		return rc;
	if (db->flags & ZN_DB_RDONLY)
		return zn_err_set(err, EROFS, "key/value store %s: read-only",
		    name);
	if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		return kv_fail(err, name, "begin", rc);
	pthread_mutex_lock(&db->dbi_lock);
	rc = mdb_dbi_open(txn, dbname, MDB_CREATE, &dbi);
	pthread_mutex_unlock(&db->dbi_lock);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return kv_fail(err, name, "open", rc);
	}
	if (replace && (rc = mdb_drop(txn, dbi, 0)) != 0) {
		mdb_txn_abort(txn);
		return kv_fail(err, name, "clear", rc);
	}
	for (i = 0; i < n; i++) {
		if (kv[i].klen == 0 || kv[i].klen > ZN_KEY_MAX) {
			mdb_txn_abort(txn);
			return zn_err_set(err, EINVAL,
			    "key/value store %s: key %zu: bad length %zu", name,
			    i, kv[i].klen);
		}
		k.mv_data = (void *)(uintptr_t)kv[i].key;
		k.mv_size = kv[i].klen;
		v.mv_data = (void *)(uintptr_t)kv[i].val;
		v.mv_size = kv[i].vlen;
		if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0) {
			mdb_txn_abort(txn);
			return kv_fail(err, name, "put", rc);
		}
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return kv_fail(err, name, "commit", rc);
	return 0;
}

int
zn_kv_iter(struct zn_db *db, const char *name, zn_kv_fn *fn, void *arg,
    struct zn_err *err)
{
	char dbname[40];
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, urc = 0, op = MDB_FIRST;

	if ((rc = kv_name(name, dbname, sizeof(dbname), err)) != 0)
		return rc;
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return kv_fail(err, name, "begin", rc);
	pthread_mutex_lock(&db->dbi_lock);
	rc = mdb_dbi_open(txn, dbname, 0, &dbi);
	pthread_mutex_unlock(&db->dbi_lock);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return 0; /* never written: empty */
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return kv_fail(err, name, "open", rc);
	}
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return kv_fail(err, name, "cursor", rc);
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if ((urc = fn(arg, k.mv_data, k.mv_size, v.mv_data,
		         v.mv_size)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (urc != 0)
		return zn_err_set(err, urc < 0 ? -urc : EINVAL,
		    "key/value store %s: stopped by the caller: %s", name,
		    strerror(urc < 0 ? -urc : EINVAL));
	if (rc == MDB_NOTFOUND)
		return 0;
	return kv_fail(err, name, "read", rc);
}
