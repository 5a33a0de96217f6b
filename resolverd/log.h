/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Daemon logging, after OpenBSD's log.c: to stderr in the foreground, to
 * syslog otherwise.  The only file-static state of the daemon lives in
 * log.c.  Safe to call from any thread (stderr and syslog(3) each write
 * one line per call).
 */
#ifndef RESOLVERD_LOG_H
#define RESOLVERD_LOG_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Start logging as ident: to stderr when foreground is set (with every
 * debug message when verbose is set), else to syslog facility
 * (LOG_DAEMON when 0).  May be called again to switch.
 */
void log_init(const char *ident, int foreground, int verbose, int facility);
/*
 * Connect to syslog now but keep logging where we do: called before a
 * chroot, so that syslog still works from inside it once log_init
 * switches to it.
 */
void log_syslog_connect(const char *ident, int facility);
/* Log at warning level with ": strerror(errno)" appended; keeps errno. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at warning level. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logged only when verbose. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log with strerror(errno) and exit(1).  Startup and broken invariants only. */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Escape untrusted bytes for a log line: printable ASCII except '\\' and
 * ' ' is copied, everything else becomes \DDD (decimal, as in DNS
 * presentation format).  Writes a NUL-terminated string of at most size
 * bytes to out, cutting at a whole escape; returns out.
 */
char *log_escape(const void *in, size_t len, char *out, size_t size);

#endif /* RESOLVERD_LOG_H */
