/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rbldnsd drop-in mode: recognise rbldnsd's command line and turn it into
 * a struct config, so a unit file that ran rbldnsd can run resolverd with
 * the same arguments.
 */
#ifndef RESOLVERD_COMPAT_H
#define RESOLVERD_COMPAT_H

#include <stdbool.h>
#include <stdio.h>

#include "conf.h"

#define COMPAT_LISTEN_MAX 20 /* rbldnsd's limit */

/*
 * True if argv looks like rbldnsd's: invoked as "rbldnsd", or any "-b"
 * option, or a positional zone spec "zone:type:file".
 */
bool compat_detect(int argc, char **argv);

/*
 * Parse rbldnsd's options and zone specs into a new config (*out).
 * Returns 0, 1 when -h printed the help to stdout (exit 0), or a
 * negative errno with err filled (a usage error, exit 2).
 */
int compat_parse(int argc, char **argv, struct config **out, char *err,
    size_t errlen);

/* rbldnsd-style help, listing the dataset types. */
void compat_usage(FILE *f);

/*
 * The state directory for the compiled database: $RESOLVERD_STATEDIR, else
 * the -w directory + "/.resolverd-db", else a directory under the
 * build-time state directory named after the listening addresses (so two
 * instances never share one).  Returns a string the caller frees, or NULL.
 */
char *compat_statedir(const struct config *c);

#endif /* RESOLVERD_COMPAT_H */
