/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* Logging state: the one place the daemon keeps file-static state. */
static int log_foreground = 1;
static int log_verbose;
static const char *log_ident = "resolverd";

void
log_init(const char *ident, int foreground, int verbose, int facility)
{
	log_ident = ident;
	log_foreground = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY,
		    facility ? facility : LOG_DAEMON);
}

void
log_syslog_connect(const char *ident, int facility)
{
	openlog(ident, LOG_PID | LOG_NDELAY, facility ? facility : LOG_DAEMON);
}

static void vlog(int pri, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vlog_errno(int pri, int saved, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
vlog(int pri, const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_foreground) {
		/* one write per line, so threads do not interleave */
		fprintf(stderr, "%s: %s\n", log_ident, buf);
		fflush(stderr);
	} else
		syslog(pri, "%s", buf);
}

static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_foreground) {
		fprintf(stderr, "%s: %s: %s\n", log_ident, buf,
		    strerror(saved));
		fflush(stderr);
	} else
		syslog(pri, "%s: %s", buf, strerror(saved));
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

char *
log_escape(const void *in, size_t len, char *out, size_t size)
{
	const unsigned char *p = in;
	size_t i, o = 0;

	if (size == 0)
		return out;
	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c > ' ' && c < 0x7f && c != '\\') {
			if (o + 1 >= size)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= size)
				break;
			snprintf(out + o, 5, "\\%03u", c);
			o += 4;
		}
	}
	out[o] = '\0';
	return out;
}
