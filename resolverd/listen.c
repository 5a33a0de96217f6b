/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "listen.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "acct.h"
#include "log.h"
#include "upstream.h"

#define UDP_ROUNDS 8 /* batches per readiness event, then let others in */
#define TCP_IN_MAX (2 + LISTEN_QUERY_MAX) * 4
#define TCP_OUT_MAX (256 * 1024) /* stop reading until the client reads */
#define ERR_LOG_EVERY 10 /* seconds between repeated error messages */

struct worker;

struct udp_sock {
	struct worker *w;
	int fd;
	struct event *ev;
};

struct tcp_conn {
	LIST_ENTRY(tcp_conn) entry;
	struct worker *w;
	struct bufferevent *bev;
	uint8_t client[16];
	size_t clen;
	bool closing;
	uint64_t id; /* for answers from upstream.c */
	unsigned forwarded; /* answers upstream.c still owes */
};

struct worker {
	struct listen *l;
	unsigned idx;
	pthread_t tid;
	bool running;
	struct event_base *base;
	struct event *ev_stop, *ev_tick;
	struct zn_view *view; /* a snapshot only while answering */
	unsigned cfg_gen;
	struct query_cfg qc;
	char version[256];
	struct udp_sock *udp;
	struct evconnlistener **tcpl;
	LIST_HEAD(, tcp_conn) conns;
	unsigned nconn;
	struct stats_local st;
	struct acct_worker *acct; /* NULL: no accounting, ACLs, limits */
	struct upstream_box *box; /* answers from upstream.c */
	struct query_fwd fwd[QUERY_FWD_MAX]; /* w->qc.fwd */
	uint64_t next_conn;
	time_t now;
	time_t last_err;

	/* fixed buffers: nothing is allocated per UDP packet */
	struct mmsghdr in[LISTEN_BATCH], out[LISTEN_BATCH];
	struct iovec iin[LISTEN_BATCH], iout[LISTEN_BATCH];
	struct sockaddr_storage from[LISTEN_BATCH];
	uint8_t rbuf[LISTEN_BATCH][LISTEN_QUERY_MAX];
	uint8_t abuf[LISTEN_BATCH][CFG_EDNS_MAX];
	uint8_t tcp_q[LISTEN_QUERY_MAX];
	uint8_t tcp_a[2 + QUERY_MAX_TCP];
};

struct listen {
	size_t naddr;
	unsigned nthreads;
	int *udpfd; /* [thread * naddr + addr] */
	int *tcpfd;
	int stop_pipe[2];
	struct worker **w;

	pthread_mutex_t lock; /* the fields below */
	pthread_cond_t cond;
	unsigned nready, nfailed;
	struct query_cfg qc;
	char version[256];
	bool has_version;
	atomic_uint cfg_gen;

	struct zn_db *db;
	struct qlog *qlog;
	struct stats *stats;
	struct acct *acct;
	struct upstream *up;
	struct query_fwd fwd[QUERY_FWD_MAX]; /* l->qc.fwd, under lock */
};

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -code;
}

static int
open_socket(const struct cfg_addr *a, int type, char *err, size_t errlen)
{
	int fd, one = 1, rcvbuf = 1 << 20;

	fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return seterr(err, errlen, errno, "socket %s: %s", a->text,
		    strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    (a->ss.ss_family == AF_INET6 &&
	        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) ==
	            -1)) {
		int e = errno;

		close(fd);
		return seterr(err, errlen, e, "setsockopt %s: %s", a->text,
		    strerror(e));
	}
	if (type == SOCK_DGRAM)
		/* best effort: a burst waits in the buffer, not on the wire */
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		int e = errno;

		close(fd);
		return seterr(err, errlen, e, "bind %s %s: %s",
		    type == SOCK_DGRAM ? "udp" : "tcp", a->text, strerror(e));
	}
	if (type == SOCK_STREAM && listen(fd, 128) == -1) {
		int e = errno;

		close(fd);
		return seterr(err, errlen, e, "listen tcp %s: %s", a->text,
		    strerror(e));
	}
	return fd;
}

static void
close_fds(struct listen *l)
{
	size_t i, n = (size_t)l->nthreads * l->naddr;

	for (i = 0; i < n; i++) {
		if (l->udpfd != NULL && l->udpfd[i] >= 0)
			close(l->udpfd[i]);
		if (l->tcpfd != NULL && l->tcpfd[i] >= 0)
			close(l->tcpfd[i]);
		if (l->udpfd != NULL)
			l->udpfd[i] = -1;
		if (l->tcpfd != NULL)
			l->tcpfd[i] = -1;
	}
}

int
listen_open(const struct cfg_addr *addrs, size_t naddrs, unsigned nthreads,
    struct listen **out, char *err, size_t errlen)
{
	struct listen *l;
	size_t i, n;
	unsigned t;
	int rc;

	if (naddrs == 0 || nthreads == 0)
		return seterr(err, errlen, EINVAL, "nothing to listen on");
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return seterr(err, errlen, ENOMEM, "out of memory");
	l->naddr = naddrs;
	l->nthreads = nthreads;
	l->stop_pipe[0] = l->stop_pipe[1] = -1;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	atomic_init(&l->cfg_gen, 0);
	n = (size_t)nthreads * naddrs;
	l->udpfd = calloc(n, sizeof(int));
	l->tcpfd = calloc(n, sizeof(int));
	l->w = calloc(nthreads, sizeof(*l->w));
	if (l->udpfd == NULL || l->tcpfd == NULL || l->w == NULL) {
		rc = seterr(err, errlen, ENOMEM, "out of memory");
		goto out_free;
	}
	for (i = 0; i < n; i++)
		l->udpfd[i] = l->tcpfd[i] = -1;
	for (t = 0; t < nthreads; t++)
		for (i = 0; i < naddrs; i++) {
			size_t k = (size_t)t * naddrs + i;

			if ((rc = open_socket(&addrs[i], SOCK_DGRAM, err,
			         errlen)) < 0)
				goto out_free;
			l->udpfd[k] = rc;
			if ((rc = open_socket(&addrs[i], SOCK_STREAM, err,
			         errlen)) < 0)
				goto out_free;
			l->tcpfd[k] = rc;
		}
	if (pipe2(l->stop_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		rc = seterr(err, errlen, errno, "pipe: %s", strerror(errno));
		goto out_free;
	}
	*out = l;
	return 0;

out_free:
	listen_close(l);
	return rc;
}

void
listen_set_cfg(struct listen *l, const struct query_cfg *qc)
{
	pthread_mutex_lock(&l->lock);
	l->qc = *qc;
	l->has_version = qc->version != NULL;
	snprintf(l->version, sizeof(l->version), "%s",
	    qc->version != NULL ? qc->version : "");
	l->qc.version = NULL;
	l->qc.nfwd = qc->nfwd < QUERY_FWD_MAX ? qc->nfwd : QUERY_FWD_MAX;
	if (l->qc.nfwd > 0)
		memcpy(l->fwd, qc->fwd, l->qc.nfwd * sizeof(l->fwd[0]));
	l->qc.fwd = NULL;
	atomic_fetch_add(&l->cfg_gen, 1);
	pthread_mutex_unlock(&l->lock);
}

/*
 * Pick up new parameters and take a fresh snapshot of the database: once
 * per batch.  worker_idle lets go of it when the batch is done.
 */
static void
worker_begin(struct worker *w)
{
	struct listen *l = w->l;
	unsigned gen = atomic_load_explicit(&l->cfg_gen, memory_order_acquire);
	struct zn_err err;
	int rc;

	if (gen != w->cfg_gen) {
		pthread_mutex_lock(&l->lock);
		w->qc = l->qc;
		memcpy(w->version, l->version, sizeof(w->version));
		w->qc.version = l->has_version ? w->version : NULL;
		memcpy(w->fwd, l->fwd, w->qc.nfwd * sizeof(w->fwd[0]));
		w->qc.fwd = w->fwd;
		w->cfg_gen = atomic_load(&l->cfg_gen);
		pthread_mutex_unlock(&l->lock);
	}
	w->now = time(NULL);
	w->qc.now = w->now; /* mirror+fallback: is the mirror expired */
	rc = zn_view_refresh(w->view, &err);
	if (rc == 1)
		stats_local_invalidate(&w->st);
	else if (rc < 0 && w->now - w->last_err >= ERR_LOG_EVERY) {
		w->last_err = w->now;
		log_warnx("worker %u: database: %s", w->idx, err.msg);
	}
}

/*
 * Nothing more to read: release the snapshot, so that an idle worker does
 * not keep LMDB from reusing the pages later writes free (the file would
 * grow with every import while this worker waits).  Cheap: the next
 * batch's renew costs what a reset + renew always did.
 */
static void
worker_idle(struct worker *w)
{
	zn_view_release(w->view);
	if (w->acct != NULL)
		acct_worker_idle(w->acct);
}

static size_t
client_addr(const struct sockaddr_storage *ss, uint8_t *out)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		memcpy(out, &s4->sin_addr, 4);
		return 4;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(out, s6->sin6_addr.s6_addr + 12, 4);
			return 4;
		}
		memcpy(out, &s6->sin6_addr, 16);
		return 16;
	}
	return 0;
}

/* query_answer(), with acct.c's checks and counters when configured. */
static size_t
worker_answer(struct worker *w, const uint8_t *pkt, size_t len,
    const uint8_t *client, size_t clen, bool tcp, uint8_t *out, size_t outsize,
    struct query_info *info)
{
	if (w->acct != NULL)
		return acct_answer(w->acct, &w->qc, w->view, pkt, len, client,
		    clen, tcp, out, outsize, info);
	return query_answer(&w->qc, w->view, pkt, len, client, clen, tcp, out,
	    outsize, info);
}

static void
udp_send(struct worker *w, int fd, unsigned m)
{
	unsigned sent = 0, tries = 0;
	int r;

	while (sent < m && tries++ <= m) {
		r = sendmmsg(fd, w->out + sent, m - sent, 0);
		if (r > 0) {
			sent += (unsigned)r;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; /* socket buffer full: UDP may drop */
		if (w->now - w->last_err >= ERR_LOG_EVERY) {
			w->last_err = w->now;
			log_warn("worker %u: sendmmsg", w->idx);
		}
		sent++; /* skip the answer that failed */
	}
}

static void
udp_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sock *us = arg;
	struct worker *w = us->w;
	struct listen *l = w->l;
	struct query_info info;
	unsigned round, i, m;
	int n;

	(void)what;
	worker_begin(w);
	for (round = 0; round < UDP_ROUNDS; round++) {
		for (i = 0; i < LISTEN_BATCH; i++) {
			w->iin[i].iov_base = w->rbuf[i];
			w->iin[i].iov_len = sizeof(w->rbuf[i]);
			memset(&w->in[i], 0, sizeof(w->in[i]));
			w->in[i].msg_hdr.msg_name = &w->from[i];
			w->in[i].msg_hdr.msg_namelen = sizeof(w->from[i]);
			w->in[i].msg_hdr.msg_iov = &w->iin[i];
			w->in[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, w->in, LISTEN_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN &&
			    errno != EWOULDBLOCK && errno != EINTR &&
			    w->now - w->last_err >= ERR_LOG_EVERY) {
				w->last_err = w->now;
				log_warn("worker %u: recvmmsg", w->idx);
			}
			break;
		}
		for (i = 0, m = 0; i < (unsigned)n; i++) {
			uint8_t client[16];
			size_t clen, qlen = w->in[i].msg_len, alen = 0;

			clen = client_addr(&w->from[i], client);
			if (clen == 0 ||
			    (w->in[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    qlen > sizeof(w->rbuf[i])) {
				stats_local_count(&w->st, NULL, true, 0, qlen,
				    0);
				continue;
			}
			alen = worker_answer(w, w->rbuf[i], qlen, client, clen,
			    false, w->abuf[i], sizeof(w->abuf[i]), &info);
			if (alen == 0 && info.forward) {
				struct upstream_client cl = { fd, &w->from[i],
					w->in[i].msg_hdr.msg_namelen, 0, client,
					clen };

				/* a cache hit, or the answer comes later */
				alen = upstream_query(w->box, &w->qc,
				    w->rbuf[i], qlen, &info, &cl, w->abuf[i],
				    sizeof(w->abuf[i]));
				if (info.cached)
					acct_worker_cached(w->acct, alen);
				if (alen > 0 && w->acct != NULL &&
				    acct_worker_rrl(w->acct, client, clen,
				        w->abuf[i], &alen, w->abuf[i],
				        sizeof(w->abuf[i])) == NULL) {
					/* RRL: dropped, as a local answer */
					stats_local_count(&w->st, info.zone,
					    true, info.rcode, qlen, 0);
					continue;
				}
				if (alen == 0)
					continue; /* upstream_deliver counts it */
			}
			stats_local_count(&w->st, info.zone, alen == 0,
			    info.rcode, qlen, alen);
			if (alen == 0)
				continue;
			if (qlog_enabled(l->qlog))
				qlog_write(l->qlog, w->now, client, clen, &info,
				    alen);
			w->iout[m].iov_base = w->abuf[i];
			w->iout[m].iov_len = alen;
			memset(&w->out[m], 0, sizeof(w->out[m]));
			w->out[m].msg_hdr.msg_name = &w->from[i];
			w->out[m].msg_hdr.msg_namelen =
			    w->in[i].msg_hdr.msg_namelen;
			w->out[m].msg_hdr.msg_iov = &w->iout[m];
			w->out[m].msg_hdr.msg_iovlen = 1;
			m++;
		}
		if (m > 0)
			udp_send(w, fd, m);
		if (n < LISTEN_BATCH)
			break;
	}
	if (round < UDP_ROUNDS)
		worker_idle(w); /* the socket is drained */
}

static void
tcp_free(struct tcp_conn *c)
{
	LIST_REMOVE(c, entry);
	c->w->nconn--;
	bufferevent_free(c->bev);
	free(c);
}

static void tcp_on_read(struct bufferevent *bev, void *arg);

static void
tcp_on_write(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;

	/* the output drained (low watermark 0) */
	if (c->closing && c->forwarded == 0) {
		tcp_free(c);
		return;
	}
	if (!(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		tcp_on_read(bev, c);
	}
}

static void
tcp_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    (evbuffer_get_length(bufferevent_get_output(bev)) > 0 ||
	        c->forwarded > 0)) {
		/* half-close: send what we owe, then close */
		c->closing = true;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	tcp_free(c);
}

/* Answer the complete queries in c's input; c may be freed.  *begun is set
 * once the worker took a snapshot. */
static void
tcp_answer(struct bufferevent *bev, struct tcp_conn *c, bool *begun)
{
	struct worker *w = c->w;
	struct listen *l = w->l;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	struct query_info info;
	uint8_t lb[2];
	size_t qlen, alen;

	/* each pass consumes at least 14 bytes of a bounded buffer */
	for (;;) {
		if (evbuffer_get_length(out) > TCP_OUT_MAX) {
			/* the client does not read: wait for it */
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if (evbuffer_copyout(in, lb, 2) != 2)
			return;
		qlen = (size_t)lb[0] << 8 | lb[1];
		if (qlen < 12 || qlen > LISTEN_QUERY_MAX) {
			stats_local_count(&w->st, NULL, true, 0, qlen, 0);
			tcp_free(c);
			return;
		}
		if (evbuffer_get_length(in) < 2 + qlen)
			return;
		evbuffer_drain(in, 2);
		if (evbuffer_remove(in, w->tcp_q, qlen) != (int)qlen) {
			tcp_free(c);
			return;
		}
		if (!*begun) {
			worker_begin(w);
			*begun = true;
		}
		alen = worker_answer(w, w->tcp_q, qlen, c->client, c->clen,
		    true, w->tcp_a + 2, QUERY_MAX_TCP, &info);
		if (alen == 0 && info.forward) {
			struct upstream_client cl = { -1, NULL, 0, c->id,
				c->client, c->clen };

			alen = upstream_query(w->box, &w->qc, w->tcp_q, qlen,
			    &info, &cl, w->tcp_a + 2, QUERY_MAX_TCP);
			if (info.cached)
				acct_worker_cached(w->acct, alen);
			if (alen == 0) {
				c->forwarded++; /* upstream_deliver writes it */
				continue;
			}
		}
		stats_local_count(&w->st, info.zone, alen == 0, info.rcode,
		    qlen, alen);
		if (alen == 0)
			continue;
		if (qlog_enabled(l->qlog))
			qlog_write(l->qlog, w->now, c->client, c->clen, &info,
			    alen);
		w->tcp_a[0] = (uint8_t)(alen >> 8);
		w->tcp_a[1] = (uint8_t)alen;
		if (bufferevent_write(bev, w->tcp_a, alen + 2) != 0) {
			tcp_free(c);
			return;
		}
	}
}

static void
tcp_on_read(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;
	bool begun = false;

	tcp_answer(bev, c, &begun);
	if (begun)
		worker_idle(w);
}

static void
tcp_on_accept(struct evconnlistener *el, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct worker *w = arg;
	struct sockaddr_storage ss;
	struct tcp_conn *c;
	struct timeval idle = { LISTEN_TCP_IDLE, 0 };

	(void)el;
	memset(&ss, 0, sizeof(ss));
	if (salen > 0 && (size_t)salen <= sizeof(ss))
		memcpy(&ss, sa, (size_t)salen);
	if (w->nconn >= LISTEN_TCP_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->w = w;
	if ((c->clen = client_addr(&ss, c->client)) == 0) {
		free(c);
		close(fd);
		return;
	}
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->id = ++w->next_conn;
	LIST_INSERT_HEAD(&w->conns, c, entry);
	w->nconn++;
	bufferevent_setcb(c->bev, tcp_on_read, tcp_on_write, tcp_on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, TCP_IN_MAX);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* An answer from upstream.c for a query this worker forwarded. */
static void
upstream_deliver(void *arg, const struct upstream_done *d)
{
	struct worker *w = arg;
	struct listen *l = w->l;
	struct tcp_conn *c;

	w->now = time(NULL);
	if (d->conn == 0) {
		const uint8_t *ans = d->ans;
		size_t len = d->len;

		/* RRL first: what it drops is counted dropped and not
		 * logged, what it slips (TC=1) with the length sent */
		if (w->acct != NULL &&
		    (ans = acct_worker_rrl(w->acct, d->addr, d->alen, ans, &len,
		         w->tcp_a, sizeof(w->tcp_a))) == NULL) {
			stats_local_count(&w->st, NULL, true, d->info.rcode,
			    d->qlen, 0);
			return;
		}
		stats_local_count(&w->st, NULL, false, d->info.rcode, d->qlen,
		    len);
		if (qlog_enabled(l->qlog))
			qlog_write(l->qlog, w->now, d->addr, d->alen, &d->info,
			    len);
		if (sendto(d->fd, ans, len, 0,
		        (const struct sockaddr *)&d->peer, d->peerlen) == -1 &&
		    w->now - w->last_err >= ERR_LOG_EVERY) {
			w->last_err = w->now;
			log_warn("worker %u: sendto", w->idx);
		}
		return;
	}
	LIST_FOREACH(c, &w->conns, entry)
		if (c->id == d->conn)
			break;
	/* the client gone: dropped */
	stats_local_count(&w->st, NULL, c == NULL, d->info.rcode, d->qlen,
	    c == NULL ? 0 : d->len);
	if (c == NULL)
		return;
	if (qlog_enabled(l->qlog))
		qlog_write(l->qlog, w->now, d->addr, d->alen, &d->info, d->len);
	if (c->forwarded > 0)
		c->forwarded--;
	w->tcp_a[0] = (uint8_t)(d->len >> 8);
	w->tcp_a[1] = (uint8_t)d->len;
	memcpy(w->tcp_a + 2, d->ans, d->len);
	if (bufferevent_write(c->bev, w->tcp_a, d->len + 2) != 0)
		tcp_free(c);
	else if (c->closing && c->forwarded == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		tcp_free(c);
}

static void
worker_on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(w->base);
}

static void
worker_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	stats_local_flush(&w->st, w->l->stats);
	if (w->acct != NULL)
		acct_worker_flush(w->acct);
}

static void
worker_cleanup(struct worker *w)
{
	struct tcp_conn *c;
	size_t i;

	while ((c = LIST_FIRST(&w->conns)) != NULL)
		tcp_free(c);
	for (i = 0; i < w->l->naddr; i++) {
		if (w->udp != NULL && w->udp[i].ev != NULL)
			event_free(w->udp[i].ev);
		if (w->tcpl != NULL && w->tcpl[i] != NULL)
			evconnlistener_free(w->tcpl[i]);
	}
	free(w->udp);
	free(w->tcpl);
	if (w->ev_stop != NULL)
		event_free(w->ev_stop);
	if (w->ev_tick != NULL)
		event_free(w->ev_tick);
	if (w->st.global.q > 0)
		stats_local_flush(&w->st, w->l->stats);
	acct_worker_free(w->acct);
	upstream_box_free(w->box);
	zn_view_close(w->view);
	if (w->base != NULL)
		event_base_free(w->base);
}

static int
worker_setup(struct worker *w)
{
	struct listen *l = w->l;
	struct timeval sec = { 1, 0 };
	struct zn_err err;
	size_t i;
	int rc;

	if ((w->base = event_base_new()) == NULL) {
		log_warnx("worker %u: cannot create an event base", w->idx);
		return -ENOMEM;
	}
	if ((rc = zn_view_open(l->db, &w->view, &err)) != 0) {
		log_warnx("worker %u: database: %s", w->idx, err.msg);
		return rc;
	}
	if (l->acct != NULL && (w->acct = acct_worker_new(l->acct)) == NULL)
		return -ENOMEM;
	if (l->up != NULL &&
	    (w->box = upstream_box_new(l->up, w->base, upstream_deliver, w)) ==
	        NULL)
		return -ENOMEM;
	w->udp = calloc(l->naddr, sizeof(*w->udp));
	w->tcpl = calloc(l->naddr, sizeof(*w->tcpl));
	if (w->udp == NULL || w->tcpl == NULL)
		return -ENOMEM;
	for (i = 0; i < l->naddr; i++) {
		size_t k = (size_t)w->idx * l->naddr + i;

		w->udp[i].w = w;
		w->udp[i].fd = l->udpfd[k];
		w->udp[i].ev = event_new(w->base, l->udpfd[k],
		    EV_READ | EV_PERSIST, udp_on_read, &w->udp[i]);
		if (w->udp[i].ev == NULL || event_add(w->udp[i].ev, NULL) != 0)
			return -ENOMEM;
		/* already listening: backlog 0 means "do not listen()" */
		w->tcpl[i] = evconnlistener_new(w->base, tcp_on_accept, w, 0, 0,
		    l->tcpfd[k]);
		if (w->tcpl[i] == NULL)
			return -ENOMEM;
	}
	w->ev_stop = event_new(w->base, l->stop_pipe[0], EV_READ | EV_PERSIST,
	    worker_on_stop, w);
	w->ev_tick = event_new(w->base, -1, EV_PERSIST, worker_on_tick, w);
	if (w->ev_stop == NULL || w->ev_tick == NULL ||
	    event_add(w->ev_stop, NULL) != 0 ||
	    event_add(w->ev_tick, &sec) != 0)
		return -ENOMEM;
	worker_begin(w);
	worker_idle(w);
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct listen *l = w->l;
	int rc;

	rc = worker_setup(w);
	pthread_mutex_lock(&l->lock);
	if (rc == 0)
		l->nready++;
	else
		l->nfailed++;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	if (rc == 0 && event_base_dispatch(w->base) == -1)
		log_warnx("worker %u: event loop failed", w->idx);
	worker_cleanup(w);
	return NULL;
}

int
listen_start(struct listen *l, struct zn_db *db, struct qlog *qlog,
    struct stats *stats)
{
	sigset_t all, old;
	unsigned t;
	int rc = 0;

	l->db = db;
	l->qlog = qlog;
	l->stats = stats;
	/* signals are the main thread's business */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (t = 0; t < l->nthreads; t++) {
		struct worker *w = calloc(1, sizeof(*w));

		if (w == NULL) {
			rc = -ENOMEM;
			break;
		}
		w->l = l;
		w->idx = t;
		w->cfg_gen = UINT32_MAX;
		LIST_INIT(&w->conns);
		if ((rc = pthread_create(&w->tid, NULL, worker_main, w)) != 0) {
			free(w);
			rc = -rc;
			break;
		}
		w->running = true;
		l->w[t] = w;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_lock(&l->lock);
	while (l->nready + l->nfailed < t)
		pthread_cond_wait(&l->cond, &l->lock);
	if (rc == 0 && l->nfailed > 0)
		rc = -EIO;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void
listen_set_acct(struct listen *l, struct acct *a)
{
	l->acct = a;
}

void
listen_set_upstream(struct listen *l, struct upstream *u)
{
	l->up = u;
}

void
listen_close(struct listen *l)
{
	unsigned t;

	if (l == NULL)
		return;
	if (l->stop_pipe[1] >= 0) {
		close(l->stop_pipe[1]); /* EOF wakes every worker */
		l->stop_pipe[1] = -1;
	}
	for (t = 0; l->w != NULL && t < l->nthreads; t++) {
		if (l->w[t] == NULL)
			continue;
		if (l->w[t]->running)
			pthread_join(l->w[t]->tid, NULL);
		free(l->w[t]);
	}
	if (l->stop_pipe[0] >= 0)
		close(l->stop_pipe[0]);
	close_fds(l);
	free(l->w);
	free(l->udpfd);
	free(l->tcpfd);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
