/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control socket: a Unix stream socket, one request per connection.
 *
 *   request:  "RDCTL1 <command> [args...]\n"  (at most CONTROL_LINE_MAX
 *             bytes, printable ASCII)
 *   answer:   "OK\n" then the body, or "ERR <code> <message>\n"; then
 *             the daemon closes the connection.
 *
 * Commands (--json anywhere in the arguments: JSON body):
 *   ping                          "resolverd VERSION"
 *   stats                         totals, per zone, clients
 *   top [clients|zones|names] [-n N] [--by queries|listed|refused]
 *   zones                         zones served: serial, entries, age,
 *                                 last sync, expiry, state (http.h),
 *                                 queries and listed
 *   reload                        re-read the config (as SIGHUP)     *
 *   flush-stats                   zero every counter                 *
 *   save                          store the counters now             *
 *   allow|deny|unallow|undeny ZONE ENTRY [--reason TEXT] [--value A]
 *                                 local policy (zones.h)              *
 *   policy [ZONE]                 the local policy entries
 *   explain NAME [--client ADDR]  why NAME is answered as it is
 *   (arguments of these are percent-decoded: "%20" is a space)
 * (*) changes: only for root and the control-admin users (local policy
 * changes: also the daemon's own uid), by the connecting process's uid
 * (SO_PEERCRED).  Error codes: 400 bad request, 403 not allowed, 404
 * unknown command or no such policy entry, 413 line too long, 500 failed,
 * 505 protocol version not supported.
 */
#ifndef RESOLVERD_CONTROL_H
#define RESOLVERD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "acct.h"
#include "zones.h"

#define CONTROL_LINE_MAX 1024
#define CONTROL_PROTO "RDCTL1"

enum control_cmd {
	CTL_PING,
	CTL_STATS,
	CTL_TOP,
	CTL_ZONES,
	CTL_RELOAD,
	CTL_FLUSH_STATS,
	CTL_SAVE,
	CTL_POLICY_SET, /* allow, deny, unallow, undeny */
	CTL_POLICY,
	CTL_EXPLAIN,
};

struct control_req {
	enum control_cmd cmd;
	bool json;
	bool zones; /* top zones */
	bool names; /* top names */
	size_t n; /* top -n */
	enum acct_by by;
	bool changes; /* needs an admin */
	/* local policy and explain (CTL_POLICY_SET, CTL_POLICY, CTL_EXPLAIN) */
	struct {
		int action; /* ZN_POLICY_* */
		bool remove; /* unallow, undeny */
		char zone[ZN_NAME_MAX + 1]; /* policy: "" for all */
		char entry[ZN_POLICY_ENTRY_MAX]; /* explain: the name */
		char reason[ZN_TXT_MAX + 1];
		uint32_t a; /* --value; 0: the default */
		bool has_client;
		uint8_t client[16];
		size_t clen;
	} pol;
};

/*
 * Parse one request line (without the newline).  0, or the error code
 * with a message in err.  Pure: the fuzzers call it.
 */
int control_parse(const char *line, size_t len, struct control_req *req,
    char *err, size_t errlen);

struct event_base;
struct control;

/* What the daemon does for the control socket. */
struct control_ops {
	void *arg;
	/* reload the configuration; 0, or -1 with msg */
	int (*reload)(void *arg, char *msg, size_t msglen);
};

/*
 * Create the socket at path (replacing a stale one), mode 0666: reading
 * is for everybody, changes are checked per request.  Call before the
 * privileges go.  NULL with err filled.
 */
struct control *control_open(const char *path, char *err, size_t errlen);
/* Serve on base (the main loop): 0 or -1. */
int control_start(struct control *c, struct event_base *base, struct acct *a,
    struct zn_db *db, const struct control_ops *ops);
/* What answers "zones" (main.c: http.c's zone states); by default the
 * zones of the database with their counters. */
void control_set_zones(struct control *c,
    void (*fn)(void *arg, FILE *f, bool json), void *arg);
/* Close every connection, remove the socket.  NULL: no-op. */
void control_close(struct control *c);

#endif /* RESOLVERD_CONTROL_H */
