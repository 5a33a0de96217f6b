/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The query log (rbldnsd -l, config "query-log"): one line per answered
 * query in rbldnsd's format
 *
 *   UNIXTIME CLIENT-IP QNAME QTYPE QCLASS: RCODE/ANCOUNT/REPLYBYTES
 *
 * with the qname escaped.  Every worker writes through one buffered FILE
 * under a mutex; the main thread flushes it once a second and reopens it
 * on SIGHUP.
 */
#ifndef RESOLVERD_QLOG_H
#define RESOLVERD_QLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "query.h"

struct qlog;

struct qlog *qlog_new(void);
/* Closes the file; qlog_free(NULL) is a no-op. */
void qlog_free(struct qlog *q);

/*
 * (Re)open path ("-" is stdout; NULL closes the log).  The new file is
 * opened before the old one is closed, so a failure keeps the old log.
 * unbuffered: flush after every line (rbldnsd "-l +file").  0 or -errno.
 */
int qlog_open(struct qlog *q, const char *path, bool unbuffered);
/* True when a log is open (a cheap check for the hot path). */
bool qlog_enabled(const struct qlog *q);
/* Log one answered query; client is 4 or 16 bytes. */
void qlog_write(struct qlog *q, time_t now, const uint8_t *client, size_t clen,
    const struct query_info *info, size_t replylen);
void qlog_flush(struct qlog *q);

/* Names for the log: "TXT", "TYPE65280"; "IN", "CLASS9"; "NXDOMAIN". */
const char *qlog_type_name(unsigned t, char *buf, size_t size);
const char *qlog_class_name(unsigned c, char *buf, size_t size);
const char *qlog_rcode_name(int rc, char *buf, size_t size);

#endif /* RESOLVERD_QLOG_H */
