/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "control.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"

#define CONN_MAX 32
#define CONN_TIMEOUT 5 /* seconds to send a request */

struct conn {
	LIST_ENTRY(conn) entry;
	struct control *c;
	struct bufferevent *bev;
	uid_t uid;
	bool has_uid;
	bool done; /* answered: the rest of the input is discarded */
	bool eof; /* the client finished sending */
};

struct control {
	char *path;
	int fd;
	struct evconnlistener *el;
	struct acct *acct;
	struct zn_db *db;
	struct control_ops ops;
	/* "zones": the daemon's report (http.c), or NULL: write_zones */
	void (*zones_fn)(void *arg, FILE *f, bool json);
	void *zones_arg;
	LIST_HEAD(, conn) conns;
	unsigned nconn;
};

static int bad(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
bad(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/*
 * Local policy and explain.
 */

/* Is tok one of the policy commands?  Sets req->cmd if so. */
static bool
policy_cmd(const char *tok, struct control_req *req)
{
	static const struct {
		const char *name;
		enum control_cmd cmd;
		int action;
		bool remove;
	} cmds[] = {
		{ "allow", CTL_POLICY_SET, ZN_POLICY_ALLOW, false },
		{ "deny", CTL_POLICY_SET, ZN_POLICY_DENY, false },
		{ "unallow", CTL_POLICY_SET, ZN_POLICY_ALLOW, true },
		{ "undeny", CTL_POLICY_SET, ZN_POLICY_DENY, true },
		{ "policy", CTL_POLICY, 0, false },
		{ "explain", CTL_EXPLAIN, 0, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(tok, cmds[i].name) == 0) {
			req->cmd = cmds[i].cmd;
			req->pol.action = cmds[i].action;
			req->pol.remove = cmds[i].remove;
			req->changes = req->cmd == CTL_POLICY_SET;
			return true;
		}
	return false;
}

/* Percent-decode tok into out[size]: 0, or -1 if malformed or too long
 * or if it decodes to a control character. */
static int
pct_decode(const char *tok, char *out, size_t size)
{
	size_t n = 0;

	for (; *tok != '\0'; tok++) {
		unsigned v = (unsigned char)*tok;

		if (*tok == '%') {
			unsigned hi, lo;

			if (sscanf(tok + 1, "%1x%1x", &hi, &lo) != 2)
				return -1;
			v = hi << 4 | lo;
			tok += 2;
		}
		if (v < 0x20 || v == 0x7f || n + 1 >= size)
			return -1;
		out[n++] = (char)v;
	}
	out[n] = '\0';
	return 0;
}

static int
policy_parse(struct control_req *req, char **save, char *err, size_t errlen)
{
	const char *cmd = req->cmd == CTL_EXPLAIN ? "explain" :
	    req->cmd == CTL_POLICY                ? "policy" :
	                                            "allow/deny";
	char buf[CONTROL_LINE_MAX + 1], *tok;
	size_t npos = 0;
	int opt = 0; /* 1 --reason, 2 --value, 3 --client */

	while ((tok = strtok_r(NULL, " \t", save)) != NULL) {
		if (opt == 0 && strcmp(tok, "--json") == 0) {
			req->json = true;
			continue;
		}
		if (opt == 0 && strncmp(tok, "--", 2) == 0) {
			if (req->cmd == CTL_POLICY_SET && !req->pol.remove &&
			    strcmp(tok, "--reason") == 0)
				opt = 1;
			else if (req->cmd == CTL_POLICY_SET &&
			    !req->pol.remove && strcmp(tok, "--value") == 0)
				opt = 2;
			else if (req->cmd == CTL_EXPLAIN &&
			    strcmp(tok, "--client") == 0)
				opt = 3;
			else
				return bad(err, errlen, 400,
				    "%s: unknown option \"%.32s\"", cmd, tok);
			continue;
		}
		if (pct_decode(tok, buf, sizeof(buf)) != 0)
			return bad(err, errlen, 400,
			    "%s: argument \"%.64s\": bad %%-escape or control "
			    "character",
			    cmd, tok);
		if (opt == 1) {
			if (strlen(buf) > ZN_TXT_MAX)
				return bad(err, errlen, 400,
				    "reason: longer than %d bytes", ZN_TXT_MAX);
			memcpy(req->pol.reason, buf, strlen(buf) + 1);
		} else if (opt == 2) {
			if (zn_parse_a(buf, strlen(buf), &req->pol.a) != 0 ||
			    req->pol.a == 0)
				return bad(err, errlen, 400,
				    "value \"%.64s\": want an IPv4 address "
				    "such as 127.0.0.2",
				    buf);
		} else if (opt == 3) {
			if (inet_pton(AF_INET, buf, req->pol.client) == 1)
				req->pol.clen = 4;
			else if (inet_pton(AF_INET6, buf, req->pol.client) == 1)
				req->pol.clen = 16;
			else
				return bad(err, errlen, 400,
				    "client \"%.64s\": not an IPv4 or IPv6 "
				    "address",
				    buf);
			req->pol.has_client = true;
		} else if (npos == 0 && req->cmd != CTL_EXPLAIN) {
			if (strlen(buf) > ZN_NAME_MAX)
				return bad(err, errlen, 400,
				    "zone \"%.64s\": too long", buf);
			memcpy(req->pol.zone, buf, strlen(buf) + 1);
			npos++;
		} else if ((npos == 1 && req->cmd == CTL_POLICY_SET) ||
		    (npos == 0 && req->cmd == CTL_EXPLAIN)) {
			if (strlen(buf) >= sizeof(req->pol.entry))
				return bad(err, errlen, 400,
				    "%s \"%.64s\": too long",
				    req->cmd == CTL_EXPLAIN ? "name" : "entry",
				    buf);
			memcpy(req->pol.entry, buf, strlen(buf) + 1);
			npos++;
		} else
			return bad(err, errlen, 400,
			    "%s: unexpected argument \"%.64s\"", cmd, tok);
		opt = 0;
	}
	if (opt != 0)
		return bad(err, errlen, 400, "%s needs a value",
		    opt == 1     ? "--reason" :
		        opt == 2 ? "--value" :
		                   "--client");
	if (req->cmd == CTL_POLICY_SET && npos < 2)
		return bad(err, errlen, 400,
		    "usage: allow|deny|unallow|undeny ZONE ENTRY [--reason "
		    "TEXT] [--value A]");
	if (req->cmd == CTL_EXPLAIN && npos < 1)
		return bad(err, errlen, 400,
		    "usage: explain NAME [--client ADDR]");
	if (req->cmd == CTL_POLICY_SET && req->pol.remove == false &&
	    req->pol.action == ZN_POLICY_ALLOW && req->pol.a != 0)
		return bad(err, errlen, 400,
		    "allow: --value is for deny (an allowed entry is never "
		    "listed)");
	return 0;
}

int
control_parse(const char *line, size_t len, struct control_req *req, char *err,
    size_t errlen)
{
	char buf[CONTROL_LINE_MAX + 1], *tok, *save = NULL, *end;
	size_t i, plen = strlen(CONTROL_PROTO);
	bool want_n = false, want_by = false, have_what = false;

	memset(req, 0, sizeof(*req));
	req->n = 10;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CONTROL_LINE_MAX)
		return bad(err, errlen, 413, "request longer than %d bytes",
		    CONTROL_LINE_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 ||
		    (unsigned char)line[i] > 0x7e) {
			if (line[i] == '\t')
				continue;
			return bad(err, errlen, 400,
			    "bad request: byte 0x%02x at offset %zu; want "
			    "\"" CONTROL_PROTO " <command> [args]\"",
			    (unsigned char)line[i], i);
		}
	memcpy(buf, line, len);
	buf[len] = '\0';
	tok = strtok_r(buf, " \t", &save);
	if (tok == NULL)
		return bad(err, errlen, 400,
		    "bad request: empty; want \"" CONTROL_PROTO
		    " <command> [args]\"");
	if (strncmp(tok, "RDCTL", 5) == 0 && strcmp(tok, CONTROL_PROTO) != 0)
		return bad(err, errlen, 505,
		    "protocol version %.16s not supported; this daemon speaks "
		    "%s",
		    tok, CONTROL_PROTO);
	if (strlen(tok) != plen || strcmp(tok, CONTROL_PROTO) != 0)
		return bad(err, errlen, 400,
		    "bad request: want \"" CONTROL_PROTO " <command> [args]\"");
	if ((tok = strtok_r(NULL, " \t", &save)) == NULL)
		return bad(err, errlen, 400, "bad request: no command");
	if (strcmp(tok, "ping") == 0)
		req->cmd = CTL_PING;
	else if (strcmp(tok, "stats") == 0)
		req->cmd = CTL_STATS;
	else if (strcmp(tok, "top") == 0)
		req->cmd = CTL_TOP;
	else if (strcmp(tok, "zones") == 0)
		req->cmd = CTL_ZONES;
	else if (strcmp(tok, "reload") == 0)
		req->cmd = CTL_RELOAD;
	else if (strcmp(tok, "flush-stats") == 0)
		req->cmd = CTL_FLUSH_STATS;
	else if (strcmp(tok, "save") == 0)
		req->cmd = CTL_SAVE;
	else if (policy_cmd(tok, req))
		return policy_parse(req, &save, err, errlen);
	else
		return bad(err, errlen, 404,
		    "unknown command \"%.64s\"; commands: ping stats top zones "
		    "reload flush-stats save allow deny unallow undeny policy "
		    "explain",
		    tok);
	req->changes = req->cmd == CTL_RELOAD || req->cmd == CTL_FLUSH_STATS ||
	    req->cmd == CTL_SAVE;
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		if (want_n) {
			unsigned long n;

			errno = 0;
			n = strtoul(tok, &end, 10);
			if (*tok < '0' || *tok > '9' || *end != '\0' ||
			    errno != 0 || n == 0 || n > 100000)
				return bad(err, errlen, 400,
				    "-n %.32s: want a number from 1 to 100000",
				    tok);
			req->n = n;
			want_n = false;
		} else if (want_by) {
			if (strcmp(tok, "queries") == 0)
				req->by = ACCT_BY_QUERIES;
			else if (strcmp(tok, "listed") == 0)
				req->by = ACCT_BY_LISTED;
			else if (strcmp(tok, "refused") == 0)
				req->by = ACCT_BY_REFUSED;
			else
				return bad(err, errlen, 400,
				    "--by %.32s: want queries, listed or "
				    "refused",
				    tok);
			want_by = false;
		} else if (strcmp(tok, "--json") == 0)
			req->json = true;
		else if (req->cmd == CTL_TOP && strcmp(tok, "-n") == 0)
			want_n = true;
		else if (req->cmd == CTL_TOP && strcmp(tok, "--by") == 0)
			want_by = true;
		else if (req->cmd == CTL_TOP && !have_what &&
		    (strcmp(tok, "clients") == 0 || strcmp(tok, "zones") == 0 ||
		        strcmp(tok, "names") == 0)) {
			req->zones = strcmp(tok, "zones") == 0;
			req->names = strcmp(tok, "names") == 0;
			have_what = true;
		} else if (req->cmd == CTL_TOP && !have_what && *tok >= '0' &&
		    *tok <= '9') {
			/* "top 5" */
			req->n = strtoul(tok, &end, 10);
			if (*end != '\0' || req->n == 0 || req->n > 100000)
				return bad(err, errlen, 400,
				    "top %.32s: want a number from 1 to 100000",
				    tok);
		} else
			return bad(err, errlen, 400,
			    "%s: unexpected argument \"%.64s\"",
			    req->cmd == CTL_TOP ? "top" : "command", tok);
	}
	if (want_n || want_by)
		return bad(err, errlen, 400, "%s needs a value",
		    want_n ? "-n" : "--by");
	return 0;
}

static void
conn_free(struct conn *k)
{
	LIST_REMOVE(k, entry);
	k->c->nconn--;
	bufferevent_free(k->bev);
	free(k);
}

static bool
is_admin(struct control *c, uid_t uid)
{
	struct acct_params *p;
	bool ok = uid == 0;
	size_t i;

	if (ok)
		return true;
	p = acct_params_get(c->acct);
	for (i = 0; i < p->nadmins; i++)
		if (p->admins[i] == uid)
			ok = true;
	acct_params_unref(p);
	return ok;
}

static void
write_zones(struct control *c, FILE *f, bool json)
{
	const struct zn_zone *z;
	struct zn_view *v;
	struct zn_err zerr;
	size_t n, i;

	if (zn_view_open(c->db, &v, &zerr) != 0) {
		fprintf(f,
		    json ? "{\"error\":\"database\"}\n" : "database: %s\n",
		    zerr.msg);
		return;
	}
	if (zn_view_refresh(v, &zerr) < 0) {
		zn_view_close(v);
		fprintf(f,
		    json ? "{\"error\":\"database\"}\n" : "database: %s\n",
		    zerr.msg);
		return;
	}
	z = zn_view_zones(v, &n);
	if (json)
		fprintf(f, "{\"generation\":%llu,\"zones\":[",
		    (unsigned long long)zn_view_generation(v));
	else
		fprintf(f, "%-40s %8s %6s %6s %12s %12s\n", "zone", "datasets",
		    "acl", "ip4/6", "queries", "listed");
	for (i = 0; i < n; i++) {
		struct acct_counters ac;

		memset(&ac, 0, sizeof(ac));
		acct_zone_counters(c->acct, z[i].name, &ac);
		if (json) {
			fprintf(f,
			    "%s{\"zone\":\"%s\",\"datasets\":%zu,\"acl\":%s,"
			    "\"ip4\":%s,\"ip6\":%s,\"queries\":%llu,"
			    "\"listed\":%llu}",
			    i ? "," : "", z[i].name, z[i].nrefs,
			    z[i].acl ? "true" : "false",
			    z[i].has_ip4 ? "true" : "false",
			    z[i].has_ip6 ? "true" : "false",
			    (unsigned long long)ac.v[AC_Q],
			    (unsigned long long)ac.v[AC_LISTED]);
		} else
			fprintf(f, "%-40s %8zu %6s %3s/%-2s %12llu %12llu\n",
			    z[i].name[0] ? z[i].name : ".", z[i].nrefs,
			    z[i].acl ? "yes" : "no", z[i].has_ip4 ? "4" : "-",
			    z[i].has_ip6 ? "6" : "-",
			    (unsigned long long)ac.v[AC_Q],
			    (unsigned long long)ac.v[AC_LISTED]);
	}
	if (json)
		fputs("]}\n", f);
	zn_view_close(v);
}

static void
a_text(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
	    a & 255);
}

struct pol_out {
	FILE *f;
	bool json;
	size_t n;
};

static int
policy_row(void *arg, const struct zn_policy_entry *e)
{
	struct pol_out *o = arg;
	char when[32], a[16];

	zn_time_iso(e->when, when, sizeof(when));
	a_text(e->a, a);
	if (o->json) {
		fprintf(o->f, "%s{\"zone\":", o->n ? "," : "");
		zn_json_str(o->f, e->zone);
		fprintf(o->f, ",\"action\":\"%s\",\"entry\":",
		    zn_policy_action_name(e->action));
		zn_json_str(o->f, e->entry);
		if (e->action == ZN_POLICY_DENY)
			fprintf(o->f, ",\"value\":\"%s\"", a);
		fputs(",\"who\":", o->f);
		zn_json_str(o->f, e->who);
		fprintf(o->f, ",\"when\":%lld,\"reason\":", (long long)e->when);
		zn_json_str(o->f, e->reason);
		fputc('}', o->f);
	} else
		fprintf(o->f, "%-24s %-6s %-30s %-15s %-12s %-20s %s\n",
		    e->zone, zn_policy_action_name(e->action), e->entry,
		    e->action == ZN_POLICY_DENY ? a : "-", e->who, when,
		    e->reason);
	o->n++;
	return 0;
}

static void
policy_who(uid_t uid, char *who, size_t size)
{
	struct passwd pw, *pp = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pp) == 0 && pp != NULL)
		snprintf(who, size, "%s", pp->pw_name);
	else
		snprintf(who, size, "uid %ld", (long)uid);
}

static void
explain_write(FILE *f, bool json, const char *name, const struct zn_explain *ex)
{
	static const char *acls[] = { "ignore", "refuse", "empty", "pass",
		"listed" };
	char a[16], when[32];
	size_t i, j;

	if (json) {
		fputs("{\"name\":", f);
		zn_json_str(f, name);
		fputs(",\"zone\":", f);
		if (ex->zone_found)
			zn_json_str(f, ex->zone);
		else
			fputs("null", f);
		fputs(",\"key\":", f);
		zn_json_str(f, ex->key);
		fputs(",\"datasets\":[", f);
		for (i = 0; i < ex->nds; i++) {
			const struct zn_explain_ds *d = &ex->ds[i];

			fprintf(f, "%s{\"spec\":", i ? "," : "");
			zn_json_str(f, d->spec);
			fprintf(f, ",\"type\":\"%s\",\"subzone\":",
			    zn_type_name(d->type));
			zn_json_str(f, d->subzone);
			fputs(",\"match\":", f);
			if (d->matched)
				zn_json_str(f, d->match);
			else
				fputs("null", f);
			fprintf(f, ",\"excluded\":%s,\"values\":[",
			    d->excluded ? "true" : "false");
			for (j = 0; j < d->nval; j++) {
				a_text(d->a[j], a);
				fprintf(f,
				    "%s{\"a\":\"%s\",\"txt\":", j ? "," : "",
				    a);
				zn_json_str(f, d->txt[j]);
				fputc('}', f);
			}
			fputs("]}", f);
		}
		fputs("],\"feed\":", f);
		if (ex->feed)
			fprintf(f, "{\"serial\":%llu,\"synced\":%lld}",
			    (unsigned long long)ex->feed_serial,
			    (long long)ex->feed_synced);
		else
			fputs("null", f);
		fputs(",\"policy\":", f);
		if (ex->policy) {
			struct pol_out o = { f, true, 0 };

			policy_row(&o, &ex->pol);
		} else
			fputs("null", f);
		fputs(",\"acl\":", f);
		if (ex->client)
			fprintf(f, "\"%s\"",
			    ex->acl >= 0 && ex->acl <= ZN_ACL_LISTED ?
			        acls[ex->acl] :
			        "?");
		else
			fputs("null", f);
		fprintf(f, ",\"listed\":%s,\"a\":[",
		    ex->listed ? "true" : "false");
		for (j = 0; j < ex->ans.na; j++) {
			a_text(ex->ans.a[j], a);
			fprintf(f, "%s\"%s\"", j ? "," : "", a);
		}
		fputs("],\"txt\":[", f);
		for (j = 0; j < ex->ans.ntxt; j++) {
			char t[ZN_TXT_OUT_MAX + 1];

			memcpy(t, ex->ans.txt[j], ex->ans.tlen[j]);
			t[ex->ans.tlen[j]] = '\0';
			fputs(j ? "," : "", f);
			zn_json_str(f, t);
		}
		fputs("]}\n", f);
		return;
	}
	fprintf(f, "name      %s\n", name);
	if (!ex->zone_found) {
		fputs("zone      none: no zone served here holds the name\n",
		    f);
	} else {
		fprintf(f, "zone      %s (key \"%s\")\n", ex->zone, ex->key);
		for (i = 0; i < ex->nds; i++) {
			const struct zn_explain_ds *d = &ex->ds[i];

			fprintf(f, "dataset   %s%s%s\n", d->spec,
			    d->subzone[0] ? " subzone " : "", d->subzone);
			if (!d->matched) {
				fputs("  entry   none\n", f);
				continue;
			}
			if (d->excluded)
				fprintf(f,
				    "  entry   excluded by %s in dataset %s\n",
				    d->match, d->spec);
			else
				fprintf(f, "  entry   %s\n", d->match);
			for (j = 0; j < d->nval; j++) {
				a_text(d->a[j], a);
				fprintf(f, "  value   %s \"%s\"\n", a,
				    d->txt[j]);
			}
		}
		if (ex->feed) {
			zn_time_iso(ex->feed_synced, when, sizeof(when));
			fprintf(f, "feed      serial %llu, synced %s\n",
			    (unsigned long long)ex->feed_serial, when);
		}
		if (ex->policy) {
			zn_time_iso(ex->pol.when, when, sizeof(when));
			a_text(ex->pol.a, a);
			fprintf(f, "policy    %s %s%s%s by %s at %s: %s\n",
			    zn_policy_action_name(ex->pol.action),
			    ex->pol.entry,
			    ex->pol.action == ZN_POLICY_DENY ? " value " : "",
			    ex->pol.action == ZN_POLICY_DENY ? a : "",
			    ex->pol.who, when,
			    ex->pol.reason[0] ? ex->pol.reason : "(no reason)");
		} else
			fputs("policy    none\n", f);
	}
	if (ex->client)
		fprintf(f, "acl       %s\n",
		    ex->acl >= 0 && ex->acl <= ZN_ACL_LISTED ? acls[ex->acl] :
		                                               "?");
	if (!ex->listed) {
		fprintf(f, "answer    not listed%s\n",
		    ex->exists ? " (the name exists)" : "");
		return;
	}
	fputs("answer    listed:", f);
	for (j = 0; j < ex->ans.na; j++) {
		a_text(ex->ans.a[j], a);
		fprintf(f, " %s", a);
	}
	for (j = 0; j < ex->ans.ntxt; j++)
		fprintf(f, " \"%.*s\"", (int)ex->ans.tlen[j], ex->ans.txt[j]);
	fputc('\n', f);
}

/*
 * allow, deny, unallow, undeny, policy, explain: 0 with the body in f,
 * or -1 with "code message" in err.
 */
static int
policy_handle(struct control *c, uid_t uid, const struct control_req *req,
    FILE *f, char *err, size_t errlen)
{
	struct zn_policy_entry e;
	struct zn_explain *ex;
	struct zn_view *v = NULL;
	struct zn_err zerr;
	struct pol_out o = { f, req->json, 0 };
	int rc;

	if (req->cmd == CTL_POLICY) {
		if (req->json)
			fputs("{\"entries\":[", f);
		else
			fprintf(f, "%-24s %-6s %-30s %-15s %-12s %-20s %s\n",
			    "zone", "action", "entry", "value", "who", "when",
			    "reason");
		rc = zn_policy_list(c->db,
		    req->pol.zone[0] != '\0' ? req->pol.zone : NULL, policy_row,
		    &o, &zerr);
		if (rc != 0) {
			snprintf(err, errlen, "%d %.480s",
			    rc == -EINVAL ? 400 : 500, zerr.msg);
			return -1;
		}
		if (req->json)
			fputs("]}\n", f);
		return 0;
	}
	if (req->cmd == CTL_EXPLAIN) {
		if ((ex = malloc(sizeof(*ex))) == NULL) {
			snprintf(err, errlen, "500 out of memory");
			return -1;
		}
		rc = zn_view_open(c->db, &v, &zerr);
		if (rc == 0 && (rc = zn_view_refresh(v, &zerr)) > 0)
			rc = 0;
		if (rc == 0)
			rc = zn_explain(v, c->db, req->pol.entry,
			    req->pol.has_client ? req->pol.client : NULL,
			    req->pol.clen, 0, ex, &zerr);
		if (rc == 0)
			explain_write(f, req->json, req->pol.entry, ex);
		else
			snprintf(err, errlen, "%d %.480s",
			    rc == -EINVAL ? 400 : 500, zerr.msg);
		if (v != NULL)
			zn_view_close(v);
		free(ex);
		return rc == 0 ? 0 : -1;
	}
	memset(&e, 0, sizeof(e));
	policy_who(uid, e.who, sizeof(e.who));
	if (req->pol.remove)
		rc = zn_policy_remove(c->db, req->pol.zone, req->pol.entry,
		    req->pol.action, &e, &zerr);
	else {
		snprintf(e.zone, sizeof(e.zone), "%s", req->pol.zone);
		snprintf(e.entry, sizeof(e.entry), "%s", req->pol.entry);
		snprintf(e.reason, sizeof(e.reason), "%s", req->pol.reason);
		e.action = req->pol.action;
		e.a = req->pol.a;
		rc = zn_policy_add(c->db, &e, &zerr);
	}
	if (rc != 0) {
		snprintf(err, errlen, "%d %.480s",
		    rc == -EINVAL     ? 400 :
		        rc == -ENOENT ? 404 :
		                        500,
		    zerr.msg);
		return -1;
	}
	log_info("control: uid %ld: %s%s %s %s%s%s", (long)uid,
	    req->pol.remove ? "un" : "", zn_policy_action_name(req->pol.action),
	    req->pol.zone, req->pol.entry, req->pol.reason[0] ? ": " : "",
	    req->pol.reason);
	if (req->json)
		fprintf(f, "{\"done\":true}\n");
	else
		fprintf(f, "%s%s %s in %s\n", req->pol.remove ? "un" : "",
		    req->pol.action == ZN_POLICY_ALLOW ? "allowed" : "denied",
		    req->pol.entry, req->pol.zone);
	return 0;
}

/* Answer one request into f (the body after "OK\n") or an error. */
static void
handle(struct conn *k, const char *line, size_t len, struct evbuffer *out)
{
	struct control *c = k->c;
	struct control_req req;
	char err[512], *body = NULL;
	size_t blen = 0;
	FILE *f;
	int code;

	if ((code = control_parse(line, len, &req, err, sizeof(err))) != 0) {
		evbuffer_add_printf(out, "ERR %d %s\n", code, err);
		return;
	}
	if (req.changes &&
	    (!k->has_uid ||
	        !(is_admin(c, k->uid) ||
	            (req.cmd == CTL_POLICY_SET && k->uid == geteuid())))) {
		evbuffer_add_printf(out,
		    "ERR 403 not allowed: this command changes the daemon; "
		    "only root and control-admin users may (and for the local "
		    "policy the daemon's user; you are uid "
		    "%ld)\n",
		    k->has_uid ? (long)k->uid : -1L);
		log_info("control: uid %ld may not run a changing command",
		    k->has_uid ? (long)k->uid : -1L);
		return;
	}
	if ((f = open_memstream(&body, &blen)) == NULL) {
		evbuffer_add_printf(out, "ERR 500 out of memory\n");
		return;
	}
	switch (req.cmd) {
	case CTL_PING:
		fprintf(f,
		    req.json ? "{\"version\":\"%s\"}\n" : "resolverd %s\n",
		    RD_VERSION);
		break;
	case CTL_STATS:
		acct_write_stats(c->acct, f, req.json);
		break;
	case CTL_TOP:
		if (req.names)
			acct_write_top_names(c->acct, f, req.json, req.n,
			    req.by);
		else
			acct_write_top(c->acct, f, req.json, req.zones, req.n,
			    req.by);
		break;
	case CTL_ZONES:
		if (c->zones_fn != NULL)
			c->zones_fn(c->zones_arg, f, req.json);
		else
			write_zones(c, f, req.json);
		break;
	case CTL_RELOAD:
		if (c->ops.reload == NULL ||
		    c->ops.reload(c->ops.arg, err, sizeof(err)) != 0) {
			fclose(f);
			free(body);
			evbuffer_add_printf(out, "ERR 500 reload failed: %s\n",
			    c->ops.reload == NULL ? "not supported" : err);
			return;
		}
		fputs(req.json ? "{\"reloaded\":true}\n" : "reloaded\n", f);
		break;
	case CTL_FLUSH_STATS:
		acct_reset(c->acct);
		log_info("control: uid %ld zeroed the counters", (long)k->uid);
		fputs(req.json ? "{\"flushed\":true}\n" : "counters zeroed\n",
		    f);
		break;
	case CTL_POLICY_SET:
	case CTL_POLICY:
	case CTL_EXPLAIN:
		if (policy_handle(c, k->uid, &req, f, err, sizeof(err)) != 0) {
			fclose(f);
			free(body);
			evbuffer_add_printf(out, "ERR %s\n", err);
			return;
		}
		break;
	case CTL_SAVE:
		if (acct_save(c->acct, err, sizeof(err)) != 0) {
			fclose(f);
			free(body);
			evbuffer_add_printf(out, "ERR 500 %s\n", err);
			return;
		}
		fputs(req.json ? "{\"saved\":true}\n" : "saved\n", f);
		break;
	}
	if (fclose(f) != 0) {
		free(body);
		evbuffer_add_printf(out, "ERR 500 out of memory\n");
		return;
	}
	evbuffer_add_printf(out, "OK\n");
	evbuffer_add(out, body, blen);
	free(body);
}

/*
 * The answer is out: close once the client is done sending too, so that
 * unread input (an overlong line) does not turn the close into a reset
 * that could destroy the answer in flight.
 */
static void
conn_finish(struct conn *k)
{
	if (k->eof) {
		conn_free(k);
		return;
	}
	shutdown(bufferevent_getfd(k->bev), SHUT_WR);
}

static void
conn_on_write(struct bufferevent *bev, void *arg)
{
	struct conn *k = arg;

	(void)bev;
	if (k->done)
		conn_finish(k);
}

static void
conn_on_read(struct bufferevent *bev, void *arg)
{
	struct conn *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	struct evbuffer_ptr nl;
	char line[CONTROL_LINE_MAX + 2];
	size_t len;

	if (k->done) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	nl = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (nl.pos < 0) {
		if (evbuffer_get_length(in) <= CONTROL_LINE_MAX)
			return; /* wait for the rest */
		evbuffer_add_printf(out,
		    "ERR 413 request longer than %d bytes\n", CONTROL_LINE_MAX);
	} else if ((size_t)nl.pos > CONTROL_LINE_MAX + 1) {
		evbuffer_add_printf(out,
		    "ERR 413 request longer than %d bytes\n", CONTROL_LINE_MAX);
	} else {
		len = (size_t)nl.pos;
		evbuffer_remove(in, line, len);
		line[len] = '\0';
		handle(k, line, len, out);
	}
	k->done = true;
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(out) == 0)
		conn_finish(k);
}

static void
conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *k = arg;

	if ((what & BEV_EVENT_EOF) && k->done &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		k->eof = true; /* free once the answer is out */
		bufferevent_disable(bev, EV_READ);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !k->done) {
		/* a request without its newline: answer what came */
		struct evbuffer *in = bufferevent_get_input(bev);
		size_t len = evbuffer_get_length(in);

		if (len > 0 && len <= CONTROL_LINE_MAX) {
			char line[CONTROL_LINE_MAX + 1];

			evbuffer_remove(in, line, len);
			line[len] = '\0';
			handle(k, line, len, bufferevent_get_output(bev));
			k->done = true;
			k->eof = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
	}
	conn_free(k);
}

static void
on_accept(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct control *c = arg;
	struct timeval tv = { CONN_TIMEOUT, 0 };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct conn *k;

	(void)el;
	(void)sa;
	(void)salen;
	if (c->nconn >= CONN_MAX || (k = calloc(1, sizeof(*k))) == NULL) {
		close(fd);
		return;
	}
	k->c = c;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		k->uid = cred.uid;
		k->has_uid = true;
	}
	k->bev = bufferevent_socket_new(evconnlistener_get_base(c->el), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (k->bev == NULL) {
		free(k);
		close(fd);
		return;
	}
	LIST_INSERT_HEAD(&c->conns, k, entry);
	c->nconn++;
	bufferevent_setcb(k->bev, conn_on_read, conn_on_write, conn_on_event,
	    k);
	bufferevent_setwatermark(k->bev, EV_READ, 0, CONTROL_LINE_MAX * 2);
	bufferevent_set_timeouts(k->bev, &tv, &tv);
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
}

struct control *
control_open(const char *path, char *err, size_t errlen)
{
	struct control *c;
	struct sockaddr_un sun;
	struct stat st;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control %s: path too long", path);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	LIST_INIT(&c->conns);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	/* a socket left by a daemon that died: only a socket is removed */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen,
			    "control %s: exists and is not a socket", path);
			goto fail;
		}
		(void)unlink(path);
	}
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	         0)) == -1) {
		snprintf(err, errlen, "control %s: socket: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (bind(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0666) == -1 || listen(c->fd, 16) == -1) {
		snprintf(err, errlen, "control %s: %s", path, strerror(errno));
		close(c->fd);
		goto fail;
	}
	return c;
fail:
	free(c->path);
	free(c);
	return NULL;
}

int
control_start(struct control *c, struct event_base *base, struct acct *a,
    struct zn_db *db, const struct control_ops *ops)
{
	c->acct = a;
	c->db = db;
	c->ops = *ops;
	c->el = evconnlistener_new(base, on_accept, c, LEV_OPT_CLOSE_ON_FREE, 0,
	    c->fd);
	return c->el == NULL ? -1 : 0;
}

void
control_set_zones(struct control *c, void (*fn)(void *arg, FILE *f, bool json),
    void *arg)
{
	c->zones_fn = fn;
	c->zones_arg = arg;
}

void
control_close(struct control *c)
{
	struct conn *k;

	if (c == NULL)
		return;
	while ((k = LIST_FIRST(&c->conns)) != NULL)
		conn_free(k);
	if (c->el != NULL)
		evconnlistener_free(c->el);
	else
		close(c->fd);
	(void)unlink(c->path);
	free(c->path);
	free(c);
}
