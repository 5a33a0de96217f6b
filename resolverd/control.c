/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "control.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
	else
		return bad(err, errlen, 404,
		    "unknown command \"%.64s\"; commands: ping stats top zones "
		    "reload flush-stats save",
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
		    (strcmp(tok, "clients") == 0 ||
		        strcmp(tok, "zones") == 0)) {
			req->zones = strcmp(tok, "zones") == 0;
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
	if (req.changes && (!k->has_uid || !is_admin(c, k->uid))) {
		evbuffer_add_printf(out,
		    "ERR 403 not allowed: this command changes the daemon; "
		    "only root and control-admin users may (you are uid "
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
		acct_write_top(c->acct, f, req.json, req.zones, req.n, req.by);
		break;
	case CTL_ZONES:
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
