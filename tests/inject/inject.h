/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Failure injection by link-time wrapping (GNU ld --wrap=SYMBOL): the
 * objects linked into a test binary (libzones, the tools' own code) call
 * __wrap_malloc, __wrap_mdb_put, __wrap_rename, ... which count every call
 * per class and make call N of one selected class fail the way the real
 * function fails.  Shared libraries (libc's own allocations, LMDB, zlib,
 * libsodium) are not wrapped, so only the code under test sees failures.
 *
 * Classes and what a failed call does:
 *   alloc   malloc calloc realloc reallocarray strdup strndup asprintf
 *           -> NULL (-1 for asprintf), errno ENOMEM
 *   mdbput  mdb_put mdb_cursor_put mdb_del mdb_cursor_del mdb_drop
 *           -> MDB_MAP_FULL
 *   mdbtxn  mdb_env_open mdb_txn_begin mdb_dbi_open mdb_txn_commit
 *           -> EIO (MDB_DBS_FULL for mdb_dbi_open); a failed commit
 *              aborts the transaction first, as LMDB's does
 *   open    open fopen mkdir opendir -> errno EIO
 *   read    read fread gzread -> -1 (0 for fread), errno EIO
 *   write   write fwrite -> -1 (0 for fwrite), errno ENOSPC
 *   fsync   fsync -> -1, errno EIO
 *   rename  rename unlink -> -1, errno EIO
 *
 * From the environment, read once at the first wrapped call:
 *   INJECT=CLASS:N      fail the Nth call of CLASS (1-based)
 *   INJECT_REPORT=PATH  at exit, write one line per class to PATH:
 *                       "CLASS CALLS" then "failed 0|1" and
 *                       "live ALLOCATIONS BYTES" (wrapped allocations
 *                       never freed)
 */
#ifndef INJECT_H
#define INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum inject_class {
	INJ_ALLOC = 0,
	INJ_MDBPUT,
	INJ_MDBTXN,
	INJ_OPEN,
	INJ_READ,
	INJ_WRITE,
	INJ_FSYNC,
	INJ_RENAME,
	INJ_NCLASSES,
};

/* Fail the nth call (from now, 1-based) of class c; n 0: none.  Resets
 * the counters and the "failed" flag. */
void inject_set(enum inject_class c, uint64_t n);
/* Calls of class c since the last inject_set. */
uint64_t inject_calls(enum inject_class c);
/* Whether the selected call was reached (and failed). */
bool inject_failed(void);
/* Wrapped allocations not yet freed, and their bytes. */
size_t inject_live(size_t *bytes);
/* Class name, or NULL; parse a name: 0 or -1. */
const char *inject_class_name(enum inject_class c);
int inject_class_parse(const char *name, enum inject_class *c);

#endif /* INJECT_H */
