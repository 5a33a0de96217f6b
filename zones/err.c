/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "zones.h"

/*
 * Fill err (if not NULL) with a printf-style message and return -code.
 * The message is truncated to fit err->msg.  An argument may be err->msg
 * itself ("%s: %s", path, err->msg): the message is formatted into a
 * separate buffer first, as vsnprintf's source and destination must not
 * overlap.
 */
int
zn_err_set(struct zn_err *err, int code, const char *fmt, ...)
{
	char buf[sizeof(err->msg)];
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		memcpy(err->msg, buf, sizeof(buf));
	}
	return -code;
}
