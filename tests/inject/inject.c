/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Failure injection wrappers; see inject.h.  Linked with
 * -Wl,--wrap=SYMBOL for every symbol below, so inside this file the real
 * functions are only reached as __real_SYMBOL.
 */
#include "inject.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <lmdb.h>

/* The real functions (the names the objects reference: with
 * _FILE_OFFSET_BITS=64, open and fopen are open64 and fopen64). */
void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void *__real_reallocarray(void *, size_t, size_t);
void __real_free(void *);
char *__real_strdup(const char *);
char *__real_strndup(const char *, size_t);
int __real_mdb_put(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *, unsigned);
int __real_mdb_cursor_put(MDB_cursor *, MDB_val *, MDB_val *, unsigned);
int __real_mdb_del(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *);
int __real_mdb_cursor_del(MDB_cursor *, unsigned);
int __real_mdb_drop(MDB_txn *, MDB_dbi, int);
int __real_mdb_env_open(MDB_env *, const char *, unsigned, mdb_mode_t);
int __real_mdb_txn_begin(MDB_env *, MDB_txn *, unsigned, MDB_txn **);
int __real_mdb_dbi_open(MDB_txn *, const char *, unsigned, MDB_dbi *);
int __real_mdb_txn_commit(MDB_txn *);
int __real_open64(const char *, int, ...);
FILE *__real_fopen64(const char *, const char *);
int __real_mkdir(const char *, mode_t);
DIR *__real_opendir(const char *);
ssize_t __real_read(int, void *, size_t);
size_t __real_fread(void *, size_t, size_t, FILE *);
int __real_gzread(gzFile, voidp, unsigned);
ssize_t __real_write(int, const void *, size_t);
size_t __real_fwrite(const void *, size_t, size_t, FILE *);
int __real_fsync(int);
int __real_rename(const char *, const char *);
int __real_unlink(const char *);

/* The wrappers (declared for -Wmissing-prototypes). */
void *__wrap_malloc(size_t);
void *__wrap_calloc(size_t, size_t);
void *__wrap_realloc(void *, size_t);
void *__wrap_reallocarray(void *, size_t, size_t);
void __wrap_free(void *);
char *__wrap_strdup(const char *);
char *__wrap_strndup(const char *, size_t);
int __wrap_asprintf(char **, const char *, ...)
    __attribute__((format(printf, 2, 3)));
int __wrap_mdb_put(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *, unsigned);
int __wrap_mdb_cursor_put(MDB_cursor *, MDB_val *, MDB_val *, unsigned);
int __wrap_mdb_del(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *);
int __wrap_mdb_cursor_del(MDB_cursor *, unsigned);
int __wrap_mdb_drop(MDB_txn *, MDB_dbi, int);
int __wrap_mdb_env_open(MDB_env *, const char *, unsigned, mdb_mode_t);
int __wrap_mdb_txn_begin(MDB_env *, MDB_txn *, unsigned, MDB_txn **);
int __wrap_mdb_dbi_open(MDB_txn *, const char *, unsigned, MDB_dbi *);
int __wrap_mdb_txn_commit(MDB_txn *);
int __wrap_open64(const char *, int, ...);
FILE *__wrap_fopen64(const char *, const char *);
int __wrap_mkdir(const char *, mode_t);
DIR *__wrap_opendir(const char *);
ssize_t __wrap_read(int, void *, size_t);
size_t __wrap_fread(void *, size_t, size_t, FILE *);
int __wrap_gzread(gzFile, voidp, unsigned);
ssize_t __wrap_write(int, const void *, size_t);
size_t __wrap_fwrite(const void *, size_t, size_t, FILE *);
int __wrap_fsync(int);
int __wrap_rename(const char *, const char *);
int __wrap_unlink(const char *);

static const char *const class_names[INJ_NCLASSES] = {
	[INJ_ALLOC] = "alloc",
	[INJ_MDBPUT] = "mdbput",
	[INJ_MDBTXN] = "mdbtxn",
	[INJ_OPEN] = "open",
	[INJ_READ] = "read",
	[INJ_WRITE] = "write",
	[INJ_FSYNC] = "fsync",
	[INJ_RENAME] = "rename",
};

static atomic_flag lock = ATOMIC_FLAG_INIT;
static bool env_done;
static enum inject_class sel = INJ_ALLOC;
static uint64_t sel_n; /* 0: inject nothing */
static uint64_t calls[INJ_NCLASSES];
static bool failed;

/* Live wrapped allocations: open addressing on the pointer, with
 * tombstones; the table itself uses the real allocator. */
#define TOMB ((void *)1)
struct slot {
	void *p;
	size_t size;
};
static struct slot *tab;
static size_t tab_cap, tab_used, tab_live, live_bytes;

static void
lock_take(void)
{
	while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
		;
}

static void
lock_drop(void)
{
	atomic_flag_clear_explicit(&lock, memory_order_release);
}

const char *
inject_class_name(enum inject_class c)
{
	return (unsigned)c < INJ_NCLASSES ? class_names[c] : NULL;
}

int
inject_class_parse(const char *name, enum inject_class *c)
{
	int i;

	for (i = 0; i < INJ_NCLASSES; i++)
		if (strcmp(name, class_names[i]) == 0) {
			*c = (enum inject_class)i;
			return 0;
		}
	return -1;
}

static void report(void);

/* Called with the lock held. */
static void
env_init(void)
{
	const char *s, *colon;
	char name[32], *end;
	size_t len;
	unsigned long long n;
	enum inject_class c;

	if (env_done)
		return;
	env_done = true;
	if (getenv("INJECT_REPORT") != NULL)
		atexit(report);
	if ((s = getenv("INJECT")) == NULL || *s == '\0')
		return;
	if ((colon = strchr(s, ':')) == NULL ||
	    (len = (size_t)(colon - s)) >= sizeof(name))
		goto bad;
	memcpy(name, s, len);
	name[len] = '\0';
	errno = 0;
	n = strtoull(colon + 1, &end, 10);
	if (inject_class_parse(name, &c) != 0 || errno != 0 || *end != '\0' ||
	    end == colon + 1 || n == 0)
		goto bad;
	sel = c;
	sel_n = n;
	return;
bad:
	/* A typo must not turn a failure test into a pass. */
	fprintf(stderr,
	    "inject: INJECT=%s: want CLASS:N (N >= 1), CLASS "
	    "one of alloc mdbput mdbtxn open read write fsync "
	    "rename\n",
	    s);
	_exit(3);
}

/* Read the environment before main, so the report is registered even
 * if nothing is called. */
__attribute__((constructor)) static void
inject_init(void)
{
	lock_take();
	env_init();
	lock_drop();
}

/* Count a call of class c; true if it must fail. */
static bool
hit(enum inject_class c)
{
	bool f;

	lock_take();
	env_init();
	calls[c]++;
	f = sel_n != 0 && c == sel && calls[c] == sel_n;
	if (f)
		failed = true;
	lock_drop();
	return f;
}

void
inject_set(enum inject_class c, uint64_t n)
{
	lock_take();
	env_done = true;
	sel = c;
	sel_n = n;
	memset(calls, 0, sizeof(calls));
	failed = false;
	lock_drop();
}

uint64_t
inject_calls(enum inject_class c)
{
	uint64_t n;

	lock_take();
	n = (unsigned)c < INJ_NCLASSES ? calls[c] : 0;
	lock_drop();
	return n;
}

bool
inject_failed(void)
{
	bool f;

	lock_take();
	f = failed;
	lock_drop();
	return f;
}

size_t
inject_live(size_t *bytes)
{
	size_t n;

	lock_take();
	n = tab_live;
	if (bytes != NULL)
		*bytes = live_bytes;
	lock_drop();
	return n;
}

static size_t
slot_of(const void *p, size_t cap)
{
	uintptr_t h = (uintptr_t)p;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 7) & (cap - 1);
}

/* Called with the lock held.  Returns false if the table cannot grow
 * (then the allocation is simply not tracked: a leak of it goes unseen
 * by the count, never a false leak). */
static bool
tab_grow(void)
{
	struct slot *nt;
	size_t ncap = tab_cap ? tab_cap * 2 : 1024, i, j;

	if (tab_live * 4 < tab_cap)
		ncap = tab_cap; /* mostly tombstones: rehash in place */
	if ((nt = __real_calloc(ncap, sizeof(*nt))) == NULL)
		return false;
	for (i = 0; i < tab_cap; i++) {
		if (tab[i].p == NULL || tab[i].p == TOMB)
			continue;
		for (j = slot_of(tab[i].p, ncap); nt[j].p != NULL;
		     j = (j + 1) & (ncap - 1))
			;
		nt[j] = tab[i];
	}
	__real_free(tab);
	tab = nt;
	tab_cap = ncap;
	tab_used = tab_live;
	return true;
}

static void
track(void *p, size_t size)
{
	size_t i;

	if (p == NULL)
		return;
	lock_take();
	if ((tab_used + 1) * 2 > tab_cap && !tab_grow()) {
		lock_drop();
		return;
	}
	for (i = slot_of(p, tab_cap); tab[i].p != NULL && tab[i].p != TOMB;
	     i = (i + 1) & (tab_cap - 1))
		;
	if (tab[i].p == NULL)
		tab_used++;
	tab[i].p = p;
	tab[i].size = size;
	tab_live++;
	live_bytes += size;
	lock_drop();
}

/* Forget p if it was tracked (pointers from unwrapped allocators, such
 * as libc's own, are not). */
static void
untrack(void *p)
{
	size_t i;

	if (p == NULL)
		return;
	lock_take();
	if (tab_cap != 0)
		for (i = slot_of(p, tab_cap); tab[i].p != NULL;
		     i = (i + 1) & (tab_cap - 1))
			if (tab[i].p == p) {
				tab[i].p = TOMB;
				tab_live--;
				live_bytes -= tab[i].size;
				break;
			}
	lock_drop();
}

static void
report(void)
{
	const char *path = getenv("INJECT_REPORT");
	char buf[1024];
	size_t len = 0;
	int fd, i;

	if (path == NULL)
		return;
	for (i = 0; i < INJ_NCLASSES; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "%s %llu\n", class_names[i], (unsigned long long)calls[i]);
	len += (size_t)snprintf(buf + len, sizeof(buf) - len,
	    "failed %d\nlive %zu %zu\n", failed ? 1 : 0, tab_live, live_bytes);
	fd =
	    __real_open64(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (__real_write(fd, buf, len) != (ssize_t)len)
		(void)__real_unlink(path); /* no report: the driver sees it */
	close(fd);
}

/* A failed fread or fwrite sets the stream's error indicator, so the
 * caller's ferror() sees it as it would a real failure (glibc). */
static void
set_ferror(FILE *f)
{
#ifdef _IO_ERR_SEEN
	f->_flags |= _IO_ERR_SEEN;
#else
	(void)f;
#endif
}

/* Allocation. */

void *
__wrap_malloc(size_t n)
{
	void *p;

	if (hit(INJ_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_malloc(n);
	track(p, n);
	return p;
}

void *
__wrap_calloc(size_t n, size_t size)
{
	void *p;

	if (hit(INJ_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_calloc(n, size);
	track(p, n * size);
	return p;
}

void *
__wrap_realloc(void *old, size_t n)
{
	void *p;

	if (hit(INJ_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_realloc(old, n);
	if (p != NULL || n == 0) {
		untrack(old);
		track(p, n);
	}
	return p;
}

void *
__wrap_reallocarray(void *old, size_t n, size_t size)
{
	void *p;

	if (hit(INJ_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_reallocarray(old, n, size);
	if (p != NULL) {
		untrack(old);
		track(p, n * size);
	}
	return p;
}

void
__wrap_free(void *p)
{
	untrack(p);
	__real_free(p);
}

char *
__wrap_strdup(const char *s)
{
	char *p;

	if (hit(INJ_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_strdup(s);
	track(p, p != NULL ? strlen(p) + 1 : 0);
	return p;
}

char *
__wrap_strndup(const char *s, size_t n)
{
	char *p;

	if (hit(INJ_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_strndup(s, n);
	track(p, p != NULL ? strlen(p) + 1 : 0);
	return p;
}

int
__wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (hit(INJ_ALLOC)) {
		errno = ENOMEM;
		return -1;
	}
	va_start(ap, fmt);
	r = vasprintf(out, fmt, ap);
	va_end(ap);
	if (r >= 0)
		track(*out, (size_t)r + 1);
	return r;
}

/* LMDB. */

int
__wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v,
    unsigned flags)
{
	if (hit(INJ_MDBPUT))
		return MDB_MAP_FULL;
	return __real_mdb_put(txn, dbi, k, v, flags);
}

int
__wrap_mdb_cursor_put(MDB_cursor *c, MDB_val *k, MDB_val *v, unsigned flags)
{
	if (hit(INJ_MDBPUT))
		return MDB_MAP_FULL;
	return __real_mdb_cursor_put(c, k, v, flags);
}

int
__wrap_mdb_del(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
	if (hit(INJ_MDBPUT))
		return MDB_MAP_FULL;
	return __real_mdb_del(txn, dbi, k, v);
}

int
__wrap_mdb_cursor_del(MDB_cursor *c, unsigned flags)
{
	if (hit(INJ_MDBPUT))
		return MDB_MAP_FULL;
	return __real_mdb_cursor_del(c, flags);
}

int
__wrap_mdb_drop(MDB_txn *txn, MDB_dbi dbi, int del)
{
	if (hit(INJ_MDBPUT))
		return MDB_MAP_FULL;
	return __real_mdb_drop(txn, dbi, del);
}

int
__wrap_mdb_env_open(MDB_env *env, const char *path, unsigned flags,
    mdb_mode_t mode)
{
	if (hit(INJ_MDBTXN))
		return EIO;
	return __real_mdb_env_open(env, path, flags, mode);
}

int
__wrap_mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned flags,
    MDB_txn **txn)
{
	if (hit(INJ_MDBTXN))
		return EIO;
	return __real_mdb_txn_begin(env, parent, flags, txn);
}

int
__wrap_mdb_dbi_open(MDB_txn *txn, const char *name, unsigned flags,
    MDB_dbi *dbi)
{
	if (hit(INJ_MDBTXN))
		return MDB_DBS_FULL;
	return __real_mdb_dbi_open(txn, name, flags, dbi);
}

int
__wrap_mdb_txn_commit(MDB_txn *txn)
{
	if (hit(INJ_MDBTXN)) {
		/* LMDB frees the transaction whether commit succeeds or not:
		 * the caller must not abort it again. */
		mdb_txn_abort(txn);
		return EIO;
	}
	return __real_mdb_txn_commit(txn);
}

/* Files. */

int
__wrap_open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (hit(INJ_OPEN)) {
		errno = EIO;
		return -1;
	}
	return __real_open64(path, flags, mode);
}

FILE *
__wrap_fopen64(const char *path, const char *mode)
{
	if (hit(INJ_OPEN)) {
		errno = EIO;
		return NULL;
	}
	return __real_fopen64(path, mode);
}

int
__wrap_mkdir(const char *path, mode_t mode)
{
	if (hit(INJ_OPEN)) {
		errno = EIO;
		return -1;
	}
	return __real_mkdir(path, mode);
}

DIR *
__wrap_opendir(const char *path)
{
	if (hit(INJ_OPEN)) {
		errno = EIO;
		return NULL;
	}
	return __real_opendir(path);
}

ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	if (hit(INJ_READ)) {
		errno = EIO;
		return -1;
	}
	return __real_read(fd, buf, n);
}

size_t
__wrap_fread(void *buf, size_t size, size_t n, FILE *f)
{
	if (hit(INJ_READ)) {
		errno = EIO;
		set_ferror(f);
		return 0;
	}
	return __real_fread(buf, size, n, f);
}

int
__wrap_gzread(gzFile gz, voidp buf, unsigned n)
{
	if (hit(INJ_READ)) {
		errno = EIO;
		return -1;
	}
	return __real_gzread(gz, buf, n);
}

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
	if (hit(INJ_WRITE)) {
		errno = ENOSPC;
		return -1;
	}
	return __real_write(fd, buf, n);
}

size_t
__wrap_fwrite(const void *buf, size_t size, size_t n, FILE *f)
{
	if (hit(INJ_WRITE)) {
		errno = ENOSPC;
		set_ferror(f);
		return 0;
	}
	return __real_fwrite(buf, size, n, f);
}

int
__wrap_fsync(int fd)
{
	if (hit(INJ_FSYNC)) {
		errno = EIO;
		return -1;
	}
	return __real_fsync(fd);
}

int
__wrap_rename(const char *from, const char *to)
{
	if (hit(INJ_RENAME)) {
		errno = EIO;
		return -1;
	}
	return __real_rename(from, to);
}

int
__wrap_unlink(const char *path)
{
	if (hit(INJ_RENAME)) {
		errno = EIO;
		return -1;
	}
	return __real_unlink(path);
}
