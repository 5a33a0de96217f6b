/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "zones.h"

/*
 * Fill err (if not NULL) with a printf-style message and return -code.
 * The message is truncated to fit err->msg.
 */
int
zn_err_set(struct zn_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}
