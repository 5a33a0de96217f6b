/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The upstream thread and the workers' side of it; see upstream.h.
 *
 * Ownership: a worker allocates a request for a miss and queues it; from
 * then on the upstream thread owns it: it joins a pending query (one per
 * question in flight) as a waiter, and once the question is answered,
 * failed or the thread stops, it is rendered into a "done" item queued on
 * the worker's box (the worker frees that) and freed.  A pending query
 * holds a reference to the zone table it started with, so a reload never
 * pulls the servers from under it.
 *
 * Nothing here logs a query name asked upstream: with a rewrite it holds
 * the key.  Messages name the zone as configured and the server.
 */
#include "config.h"

#include "upstream.h"

#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "cache.h"
#include "log.h"
#include "rewrite.h"

#define PENDING_MAX 4096 /* questions in flight */
#define WAITERS_MAX 1024 /* clients waiting for one question */
#define QUEUE_MAX 16384 /* requests not yet taken by the thread */
#define PBUCKETS 1024 /* pending queries' hash buckets */
#define BACKOFF_MAX_MS 60000
#define LOG_EVERY_MS 60000
#define T_A 1
#define T_ANY 255
#define RC_SERVFAIL 2
#define RC_NXDOMAIN 3
#define RC_FORMERR 1

/* Counters, in the order of upstream_stats_write. */
enum ucount {
	C_HITS, /* answered from the cache by a worker */
	C_MISSES, /* handed to the upstream thread */
	C_COALESCED, /* joined a question already in flight */
	C_SENT_UDP,
	C_SENT_TCP,
	C_ANSWERS, /* usable answers */
	C_TIMEOUTS,
	C_UNREACHABLE, /* ICMP errors, refused TCP connections */
	C_WRONG_SOURCE, /* UDP from another address or port */
	C_SHORT,
	C_NOTANSWER,
	C_BADID,
	C_BADQUESTION,
	C_MALFORMED,
	C_RCODE,
	C_FOREIGN, /* answers about other names */
	C_FOREIGN_RRS, /* records left out: other names or types */
	C_SECRET_RRS, /* records left out: they held the key */
	C_ERRCODES,
	C_STALE, /* stale answers given */
	C_SERVFAIL, /* SERVFAIL given */
	C_OVERLOAD, /* refused: too much in flight */
	C_NCOUNT,
};

static const char *const count_names[C_NCOUNT] = {
	"hits",
	"misses",
	"coalesced",
	"sent-udp",
	"sent-tcp",
	"answers",
	"timeouts",
	"unreachable",
	"wrong-source",
	"short",
	"not-answer",
	"bad-id",
	"bad-question",
	"malformed",
	"bad-rcode",
	"foreign",
	"foreign-rrs",
	"secret-rrs",
	"error-codes",
	"stale",
	"servfail",
	"overload",
};

struct userver {
	struct cfg_addr a;
	unsigned fails; /* in a row */
	uint64_t down_until; /* ms: skipped before this */
	uint64_t last_log;
};

struct uzone {
	char name[ZN_NAME_MAX + 1];
	char *rewrite;
	struct rw_zone rz; /* points into this struct */
	struct cfg_net4 errcodes[CFG_ERRCODES_MAX];
	struct userver srv[CFG_UPSTREAM_MAX];
	size_t nsrv;
	uint32_t stale;
	bool servfail_policy;
	uint64_t last_errlog;
	uint64_t nerr;
};

struct ztable {
	unsigned refs;
	size_t n;
	struct uzone *z;
};

enum req_kind {
	REQ_QUERY,
	REQ_RECONF,
};

/* A client waiting for an upstream answer (or a reconfiguration). */
struct ureq {
	struct ureq *next;
	enum req_kind kind;
	struct ztable *zt; /* REQ_RECONF */
	struct upstream_box *box;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint64_t conn;
	uint8_t addr[16];
	size_t alen;
	size_t qlen;
	struct rw_client c;
	char zone[ZN_NAME_MAX + 1];
	unsigned nkey;
	uint16_t qtype;
	uint8_t key[CACHE_KEY_MAX];
	size_t klen;
	struct query_info info;
};

struct udone {
	struct udone *next;
	struct upstream_done d;
	uint8_t ans[];
};

struct upstream_box {
	struct upstream *u;
	int fd; /* eventfd */
	struct event *ev;
	pthread_mutex_t lock;
	struct udone *head, **tail;
	upstream_deliver_fn fn;
	void *arg;
};

/* One question in flight. */
struct pend {
	struct pend *hnext;
	struct upstream *u;
	struct ztable *zt;
	struct uzone *z;
	uint64_t hash;
	uint8_t key[CACHE_KEY_MAX];
	size_t klen;
	struct rw_question q;
	struct ureq *waiters;
	unsigned nwaiters;
	unsigned order[CFG_UPSTREAM_MAX];
	unsigned norder, tries, maxtries, cur;
	bool edns, tcp;
	uint16_t id;
	int fd;
	struct event *ev_io, *ev_timer;
	struct bufferevent *bev;
	uint8_t qbuf[RW_QUESTION_MAX + 16];
	size_t qlen;
	uint64_t t_sent; /* us, monotonic: the attempt started */
};

struct upstream {
	pthread_t tid;
	bool running;
	struct event_base *base;
	struct event *ev_wake;
	int wake_fd;

	pthread_mutex_t lock; /* the queue and stopping */
	struct ureq *qhead, **qtail;
	size_t qlen;
	bool stopping;

	struct cache *cache;
	struct ztable *zt; /* the thread's, after upstream_start */
	struct pend *pb[PBUCKETS];
	size_t npend;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	_Atomic uint64_t cnt[C_NCOUNT];
	pthread_mutex_t hlock; /* the health table (upstream_health) */
	struct upstream_health health[UPSTREAM_HEALTH_MAX];
	size_t nhealth;

	struct rw_answer ans; /* scratch of the thread */
	uint8_t rbuf[65536];
	uint8_t out[65536];
};

static void pend_attempt(struct pend *p);

static void
count(struct upstream *u, enum ucount c, uint64_t n)
{
	atomic_fetch_add_explicit(&u->cnt[c], n, memory_order_relaxed);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/*
 * Zone tables.
 */

static void
ztable_unref(struct ztable *zt)
{
	size_t i;

	if (zt == NULL || --zt->refs > 0)
		return;
	for (i = 0; i < zt->n; i++)
		free(zt->z[i].rewrite);
	free(zt->z);
	free(zt);
}

static struct ztable *
ztable_new(const struct config *c)
{
	struct ztable *zt;
	size_t i;

	if ((zt = calloc(1, sizeof(*zt))) == NULL)
		return NULL;
	zt->refs = 1;
	if (c->nfzones > 0 &&
	    (zt->z = calloc(c->nfzones, sizeof(*zt->z))) == NULL) {
		free(zt);
		return NULL;
	}
	for (i = 0; i < c->nfzones; i++) {
		const struct cfg_fzone *f = &c->fzones[i];
		struct uzone *z = &zt->z[i];
		size_t j;

		zt->n++;
		snprintf(z->name, sizeof(z->name), "%s", f->name);
		if (f->rewrite != NULL &&
		    (z->rewrite = strdup(f->rewrite)) == NULL) {
			ztable_unref(zt);
			return NULL;
		}
		memcpy(z->errcodes, f->errcodes, sizeof(z->errcodes));
		for (j = 0; j < f->nupstream; j++)
			z->srv[j].a = f->upstream[j];
		z->nsrv = f->nupstream;
		z->stale = f->stale;
		z->servfail_policy = f->errpolicy_servfail;
		z->rz.name = z->name;
		z->rz.rewrite = z->rewrite;
		z->rz.errcodes = z->errcodes;
		z->rz.nerrcodes = f->nerrcodes;
		z->rz.ttl_min = f->ttl_min;
		z->rz.ttl_max = f->ttl_max;
		z->rz.neg_ttl = f->neg_ttl;
	}
	return zt;
}

/* Do two tables answer the same way (is the cache still right)? */
static bool
ztable_same(const struct ztable *a, const struct ztable *b)
{
	size_t i, j;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++) {
		const struct uzone *x = &a->z[i], *y = &b->z[i];

		if (strcmp(x->name, y->name) != 0 || x->nsrv != y->nsrv ||
		    (x->rewrite == NULL) != (y->rewrite == NULL) ||
		    (x->rewrite != NULL && strcmp(x->rewrite, y->rewrite)) ||
		    x->rz.nerrcodes != y->rz.nerrcodes ||
		    memcmp(x->errcodes, y->errcodes,
		        x->rz.nerrcodes * sizeof(x->errcodes[0])) != 0 ||
		    x->rz.ttl_min != y->rz.ttl_min ||
		    x->rz.ttl_max != y->rz.ttl_max ||
		    x->rz.neg_ttl != y->rz.neg_ttl)
			return false;
		for (j = 0; j < x->nsrv; j++)
			if (x->srv[j].a.len != y->srv[j].a.len ||
			    memcmp(&x->srv[j].a.ss, &y->srv[j].a.ss,
			        x->srv[j].a.len) != 0)
				return false;
	}
	return true;
}

static struct uzone *
ztable_find(struct ztable *zt, const char *name)
{
	size_t i;

	for (i = 0; i < zt->n; i++)
		if (strcmp(zt->z[i].name, name) == 0)
			return &zt->z[i];
	return NULL;
}

/*
 * Boxes: the way back to the workers.
 */

static void
box_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_box *b = arg;
	struct udone *d, *next;
	uint64_t v;

	(void)what;
	(void)!read(fd, &v, sizeof(v));
	pthread_mutex_lock(&b->lock);
	d = b->head;
	b->head = NULL;
	b->tail = &b->head;
	pthread_mutex_unlock(&b->lock);
	for (; d != NULL; d = next) {
		next = d->next;
		b->fn(b->arg, &d->d);
		free(d);
	}
}

struct upstream_box *
upstream_box_new(struct upstream *u, struct event_base *base,
    upstream_deliver_fn fn, void *arg)
{
	struct upstream_box *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->u = u;
	b->fn = fn;
	b->arg = arg;
	b->tail = &b->head;
	pthread_mutex_init(&b->lock, NULL);
	if ((b->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		pthread_mutex_destroy(&b->lock);
		free(b);
		return NULL;
	}
	b->ev = event_new(base, b->fd, EV_READ | EV_PERSIST, box_on_wake, b);
	if (b->ev == NULL || event_add(b->ev, NULL) != 0) {
		upstream_box_free(b);
		return NULL;
	}
	return b;
}

void
upstream_box_free(struct upstream_box *b)
{
	struct udone *d, *next;

	if (b == NULL)
		return;
	if (b->ev != NULL)
		event_free(b->ev);
	for (d = b->head; d != NULL; d = next) {
		next = d->next;
		free(d);
	}
	close(b->fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static void
box_push(struct upstream_box *b, struct udone *d)
{
	uint64_t one = 1;
	bool wake;

	d->next = NULL;
	pthread_mutex_lock(&b->lock);
	wake = b->head == NULL;
	*b->tail = d;
	b->tail = &d->next;
	pthread_mutex_unlock(&b->lock);
	if (wake)
		(void)!write(b->fd, &one, sizeof(one));
}

/*
 * Answers to clients.
 */

static void
fill_info(struct query_info *info, uint8_t rcode, uint16_t an, bool tc)
{
	info->rcode = rcode;
	info->ancount = an;
	info->truncated = tc;
	info->listed = an > 0 && rcode == 0 &&
	    (info->qtype == T_A || info->qtype == T_ANY);
	info->dropped = false;
}

/* Render an answer for r, hand it to its worker and free r. */
static void
deliver(struct upstream *u, struct ureq *r, uint8_t rcode, uint16_t an,
    uint16_t ns, const uint8_t *body, size_t blen, uint32_t age, bool stale)
{
	struct udone *d;
	size_t len;
	bool tc;

	len = rw_render(&r->c, rcode, an, ns, body, blen, age, stale, u->out,
	    sizeof(u->out), &tc);
	if (rcode == RC_SERVFAIL)
		count(u, C_SERVFAIL, 1);
	if (len == 0 || (d = malloc(sizeof(*d) + len)) == NULL) {
		free(r);
		return;
	}
	memcpy(d->ans, u->out, len);
	d->d.fd = r->fd;
	d->d.peer = r->peer;
	d->d.peerlen = r->peerlen;
	d->d.conn = r->conn;
	memcpy(d->d.addr, r->addr, sizeof(d->d.addr));
	d->d.alen = r->alen;
	d->d.qlen = r->qlen;
	d->d.info = r->info;
	fill_info(&d->d.info, rcode, tc ? 0 : an, tc);
	d->d.ans = d->ans;
	d->d.len = len;
	box_push(r->box, d);
	free(r);
}

static void
deliver_servfail(struct upstream *u, struct ureq *r)
{
	deliver(u, r, RC_SERVFAIL, 0, 0, NULL, 0, 0, false);
}

/* An answer from the cache for r; false on a miss. */
static bool
deliver_cached(struct upstream *u, struct ureq *r, bool stale_ok)
{
	static uint8_t body[CACHE_BODY_MAX];
	struct cache_hit h;
	enum cache_state st;

	st = cache_get(u->cache, r->key, r->klen, now_sec(), stale_ok, body,
	    sizeof(body), &h);
	if (st == CACHE_MISS)
		return false;
	if (st == CACHE_STALE)
		count(u, C_STALE, 1);
	deliver(u, r, h.rcode, h.an, h.ns, body, h.blen, h.ttl - h.left,
	    st == CACHE_STALE);
	return true;
}

/*
 * Pending queries.
 */

static uint64_t
pend_hash(const struct upstream *u, const uint8_t *key, size_t klen)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, key, klen, u->hkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

static struct pend *
pend_find(struct upstream *u, uint64_t h, const uint8_t *key, size_t klen)
{
	struct pend *p;

	for (p = u->pb[h % PBUCKETS]; p != NULL; p = p->hnext)
		if (p->hash == h && p->klen == klen &&
		    memcmp(p->key, key, klen) == 0)
			return p;
	return NULL;
}

/* Close the current attempt's socket, connection and timer. */
static void
pend_close(struct pend *p)
{
	if (p->ev_io != NULL) {
		event_free(p->ev_io);
		p->ev_io = NULL;
	}
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	if (p->bev != NULL) {
		bufferevent_free(p->bev);
		p->bev = NULL;
	}
	if (p->ev_timer != NULL)
		event_del(p->ev_timer);
}

/* Unlink and free p; its waiters must be gone. */
static void
pend_free(struct pend *p)
{
	struct upstream *u = p->u;
	struct pend **link;

	pend_close(p);
	if (p->ev_timer != NULL)
		event_free(p->ev_timer);
	for (link = &u->pb[p->hash % PBUCKETS]; *link != NULL;
	     link = &(*link)->hnext)
		if (*link == p) {
			*link = p->hnext;
			u->npend--;
			break;
		}
	ztable_unref(p->zt);
	free(p);
}

/* Give every waiter the same answer (body may be NULL), then free p. */
static void
pend_answer(struct pend *p, uint8_t rcode, uint16_t an, uint16_t ns,
    const uint8_t *body, size_t blen, bool stale)
{
	struct ureq *r, *next;

	for (r = p->waiters; r != NULL; r = next) {
		next = r->next;
		deliver(p->u, r, rcode, an, ns, body, blen, 0, stale);
	}
	p->waiters = NULL;
	pend_free(p);
}

/* Every server failed: a stale answer if the cache has one, else
 * SERVFAIL. */
static void
pend_fail(struct pend *p)
{
	struct upstream *u = p->u;
	struct ureq *r, *next;

	for (r = p->waiters; r != NULL; r = next) {
		next = r->next;
		if (p->z->stale == 0 || !deliver_cached(u, r, true))
			deliver_servfail(u, r);
	}
	p->waiters = NULL;
	pend_free(p);
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The entry of server text in zone (added if there is room) or NULL;
 * hlock held. */
static struct upstream_health *
health_get(struct upstream *u, const char *zone, const char *text)
{
	struct upstream_health *h;
	size_t i;

	for (i = 0; i < u->nhealth; i++)
		if (strcmp(u->health[i].zone, zone) == 0 &&
		    strcmp(u->health[i].server, text) == 0)
			return &u->health[i];
	if (u->nhealth == UPSTREAM_HEALTH_MAX)
		return NULL;
	h = &u->health[u->nhealth++];
	memset(h, 0, sizeof(*h));
	snprintf(h->zone, sizeof(h->zone), "%s", zone);
	snprintf(h->server, sizeof(h->server), "%s", text);
	h->up = true;
	return h;
}

/* Note an attempt's outcome for /metrics. */
static void
health_note(struct pend *p, bool ok)
{
	struct upstream *u = p->u;
	struct upstream_health *h;

	pthread_mutex_lock(&u->hlock);
	if ((h = health_get(u, p->z->name, p->z->srv[p->cur].a.text)) != NULL) {
		h->up = ok;
		if (ok) {
			h->answers++;
			h->rtt_us = now_us() - p->t_sent;
		} else
			h->failures++;
	}
	pthread_mutex_unlock(&u->hlock);
}

/* Every configured server gets an entry, so /metrics lists it. */
static void
health_config(struct upstream *u, const struct config *c)
{
	size_t i, j;

	pthread_mutex_lock(&u->hlock);
	for (i = 0; i < c->nfzones; i++)
		for (j = 0; j < c->fzones[i].nupstream; j++)
			(void)health_get(u, c->fzones[i].name,
			    c->fzones[i].upstream[j].text);
	pthread_mutex_unlock(&u->hlock);
}

size_t
upstream_health(struct upstream *u, struct upstream_health *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&u->hlock);
	n = u->nhealth < max ? u->nhealth : max;
	memcpy(out, u->health, n * sizeof(*out));
	pthread_mutex_unlock(&u->hlock);
	return n;
}

void
upstream_cache_stats(struct upstream *u, struct cache_stats *st)
{
	cache_get_stats(u->cache, st);
}

/* The server of the current attempt answered (whatever it said). */
static void
server_ok(struct pend *p)
{
	struct userver *s = &p->z->srv[p->cur];

	health_note(p, true);
	if (s->fails > 0)
		log_info("zone %s: upstream %s answers again", p->z->name,
		    s->a.text);
	s->fails = 0;
	s->down_until = 0;
}

/* The current attempt failed: back the server off, try the next. */
static void
attempt_failed(struct pend *p, const char *why)
{
	struct userver *s = &p->z->srv[p->cur];
	uint64_t now = now_ms(), backoff;
	unsigned shift = s->fails < 6 ? s->fails : 6;

	health_note(p, false);
	s->fails++;
	backoff = (uint64_t)1000 << shift;
	if (backoff > BACKOFF_MAX_MS)
		backoff = BACKOFF_MAX_MS;
	s->down_until = now + backoff;
	if (s->last_log == 0 || now - s->last_log >= LOG_EVERY_MS ||
	    s->fails == 1) {
		s->last_log = now;
		log_warnx("zone %s: upstream %s: %s; skipped for %llu ms",
		    p->z->name, s->a.text, why, (unsigned long long)backoff);
	}
	pend_close(p);
	pend_attempt(p);
}

static void
log_errcode(struct pend *p, uint32_t a)
{
	struct uzone *z = p->z;
	uint64_t now = now_ms();

	z->nerr++;
	if (z->last_errlog != 0 && now - z->last_errlog < LOG_EVERY_MS)
		return;
	z->last_errlog = now;
	log_warnx("zone %s: upstream %s answered error code %u.%u.%u.%u, "
	          "not a listing (%llu so far); answering %s",
	    z->name, z->srv[p->cur].a.text, a >> 24, a >> 16 & 0xff,
	    a >> 8 & 0xff, a & 0xff, (unsigned long long)z->nerr,
	    z->servfail_policy ? "SERVFAIL" : "NXDOMAIN");
}

static void start_tcp(struct pend *p);

/* A packet that may answer p; tcp when it came over TCP. */
static void
pend_packet(struct pend *p, const uint8_t *pkt, size_t len, bool tcp)
{
	struct upstream *u = p->u;
	struct rw_answer *a = &u->ans;
	static const enum ucount why_count[RW_WHY_NMAX] = {
		[RW_WHY_SHORT] = C_SHORT,
		[RW_WHY_NOTANSWER] = C_NOTANSWER,
		[RW_WHY_ID] = C_BADID,
		[RW_WHY_QUESTION] = C_BADQUESTION,
		[RW_WHY_MALFORMED] = C_MALFORMED,
		[RW_WHY_RCODE] = C_RCODE,
		[RW_WHY_FOREIGN] = C_FOREIGN,
	};

	switch (rw_answer(&p->z->rz, &p->q, p->id, pkt, len, a)) {
	case RW_IGNORE:
		if (a->why != RW_WHY_NONE)
			count(u, why_count[a->why], 1);
		if (tcp) /* a stream cannot skip a stray message */
			attempt_failed(p, rw_why_name(a->why));
		return;
	case RW_TRUNC:
		if (tcp) {
			count(u, C_MALFORMED, 1);
			attempt_failed(p, "TC set over TCP");
		} else
			start_tcp(p);
		return;
	case RW_FAIL:
		if (a->why != RW_WHY_NONE)
			count(u, why_count[a->why], 1);
		if (a->why == RW_WHY_RCODE && a->rcode == RC_FORMERR &&
		    p->edns && !tcp) {
			/* an old server: once more without EDNS */
			p->edns = false;
			pend_close(p);
			p->tries--;
			pend_attempt(p);
			return;
		}
		attempt_failed(p,
		    a->why == RW_WHY_RCODE ? "error rcode" :
		                             rw_why_name(a->why));
		return;
	case RW_ERRCODE:
		server_ok(p);
		count(u, C_ERRCODES, 1);
		log_errcode(p, a->errcode);
		pend_answer(p,
		    p->z->servfail_policy ? RC_SERVFAIL : RC_NXDOMAIN, 0, 0,
		    NULL, 0, false);
		return;
	case RW_OK:
		break;
	}
	server_ok(p);
	count(u, C_ANSWERS, 1);
	count(u, C_FOREIGN_RRS, a->foreign);
	count(u, C_SECRET_RRS, a->secret);
	if (a->ttl > 0 && a->blen <= CACHE_BODY_MAX)
		(void)cache_put(u->cache, p->key, p->klen, a->rcode, a->an,
		    a->ns, a->body, a->blen, a->ttl, p->z->stale, now_sec());
	pend_answer(p, a->rcode, a->an, a->ns, a->body, a->blen, false);
}

static bool
same_addr(const struct sockaddr_storage *a, socklen_t alen,
    const struct cfg_addr *b)
{
	if (a->ss_family != b->ss.ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
		                         *y = (const void *)&b->ss;

		return alen >= sizeof(*x) && x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
		                          *y = (const void *)&b->ss;

		return alen >= sizeof(*x) && x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

static void
on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct pend *p = arg;
	struct upstream *u = p->u;
	unsigned n;

	(void)what;
	for (n = 0; n < 64; n++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t r;

		r = recvfrom(fd, u->rbuf, sizeof(u->rbuf), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &flen);
		if (r == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			count(u, C_UNREACHABLE, 1);
			attempt_failed(p, strerror(errno));
			return;
		}
		if (!same_addr(&from, flen, &p->z->srv[p->cur].a)) {
			count(u, C_WRONG_SOURCE, 1);
			continue;
		}
		/* p may be gone after this: nothing more is read */
		pend_packet(p, u->rbuf, (size_t)r, false);
		return;
	}
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pend *p = arg;

	(void)fd;
	(void)what;
	count(p->u, C_TIMEOUTS, 1);
	attempt_failed(p, p->tcp ? "timeout over TCP" : "timeout");
}

static void
tcp_on_read(struct bufferevent *bev, void *arg)
{
	struct pend *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t lb[2];
	size_t n;

	if (evbuffer_copyout(in, lb, 2) != 2)
		return;
	n = (size_t)lb[0] << 8 | lb[1];
	if (evbuffer_get_length(in) < 2 + n)
		return;
	evbuffer_drain(in, 2);
	if (evbuffer_remove(in, p->u->rbuf, n) != (int)n) {
		attempt_failed(p, "TCP read");
		return;
	}
	pend_packet(p, p->u->rbuf, n, true);
}

static void
tcp_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct pend *p = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_ERROR)
		count(p->u, C_UNREACHABLE, 1);
	attempt_failed(p,
	    (what & BEV_EVENT_ERROR) ? "TCP connection failed" :
	                               "TCP connection closed");
}

/* The server said TC: ask it again over TCP. */
static void
start_tcp(struct pend *p)
{
	struct userver *s = &p->z->srv[p->cur];
	struct timeval tv = { UPSTREAM_TCP_TIMEOUT_MS / 1000,
		(UPSTREAM_TCP_TIMEOUT_MS % 1000) * 1000 };
	uint8_t lb[2];

	pend_close(p);
	p->tcp = true;
	p->id = (uint16_t)arc4random();
	p->qlen = rw_query(&p->q, p->id, false, p->qbuf, sizeof(p->qbuf));
	/* deferred callbacks: none runs inside a call made from here */
	p->bev = bufferevent_socket_new(p->u->base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (p->qlen == 0 || p->bev == NULL) {
		attempt_failed(p, "cannot open a TCP connection");
		return;
	}
	bufferevent_setcb(p->bev, tcp_on_read, NULL, tcp_on_event, p);
	bufferevent_setwatermark(p->bev, EV_READ, 0, 70000);
	lb[0] = (uint8_t)(p->qlen >> 8);
	lb[1] = (uint8_t)p->qlen;
	if (bufferevent_write(p->bev, lb, 2) != 0 ||
	    bufferevent_write(p->bev, p->qbuf, p->qlen) != 0 ||
	    bufferevent_enable(p->bev, EV_READ | EV_WRITE) != 0 ||
	    bufferevent_socket_connect(p->bev, (struct sockaddr *)&s->a.ss,
	        (int)s->a.len) != 0) {
		count(p->u, C_UNREACHABLE, 1);
		attempt_failed(p, "cannot connect over TCP");
		return;
	}
	count(p->u, C_SENT_TCP, 1);
	event_add(p->ev_timer, &tv);
}

/* Send p to its next server, or fail it when none is left. */
static void
pend_attempt(struct pend *p)
{
	struct userver *s;
	struct timeval tv = { UPSTREAM_UDP_TIMEOUT_MS / 1000,
		(UPSTREAM_UDP_TIMEOUT_MS % 1000) * 1000 };
	int one = 1;

	if (p->tries >= p->maxtries || p->norder == 0) {
		pend_fail(p);
		return;
	}
	p->cur = p->order[p->tries % p->norder];
	p->tries++;
	p->tcp = false;
	p->t_sent = now_us();
	s = &p->z->srv[p->cur];
	p->id = (uint16_t)arc4random();
	p->qlen = rw_query(&p->q, p->id, p->edns, p->qbuf, sizeof(p->qbuf));
	/* a fresh socket: the kernel picks a random source port */
	p->fd = socket(s->a.ss.ss_family,
	    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd == -1 || p->qlen == 0) {
		attempt_failed(p, "cannot open a UDP socket");
		return;
	}
	/* ICMP errors (nothing listens there) end the wait at once */
	if (s->a.ss.ss_family == AF_INET6)
		(void)setsockopt(p->fd, IPPROTO_IPV6, IPV6_RECVERR, &one,
		    sizeof(one));
	else
		(void)setsockopt(p->fd, IPPROTO_IP, IP_RECVERR, &one,
		    sizeof(one));
	p->ev_io =
	    event_new(p->u->base, p->fd, EV_READ | EV_PERSIST, on_udp, p);
	if (p->ev_io == NULL || event_add(p->ev_io, NULL) != 0 ||
	    sendto(p->fd, p->qbuf, p->qlen, 0, (struct sockaddr *)&s->a.ss,
	        s->a.len) != (ssize_t)p->qlen) {
		count(p->u, C_UNREACHABLE, 1);
		attempt_failed(p, "cannot send");
		return;
	}
	count(p->u, C_SENT_UDP, 1);
	event_add(p->ev_timer, &tv);
}

/* The order to try the servers in: those not backed off first, in the
 * config's order, then the others, soonest back first. */
static void
pend_order(struct pend *p)
{
	struct uzone *z = p->z;
	uint64_t now = now_ms();
	unsigned i, j, n = 0;

	for (i = 0; i < z->nsrv; i++)
		if (z->srv[i].down_until <= now)
			p->order[n++] = i;
	for (i = 0; i < z->nsrv; i++) {
		if (z->srv[i].down_until <= now)
			continue;
		for (j = n; j > 0 &&
		     z->srv[p->order[j - 1]].down_until >
		         z->srv[i].down_until &&
		     z->srv[p->order[j - 1]].down_until > now;
		     j--)
			p->order[j] = p->order[j - 1];
		p->order[j] = i;
		n++;
	}
	p->norder = n;
	/* one server: ask it twice */
	p->maxtries = n < 2 ? 2 * n : n;
}

/* Are all the zone's servers backed off? */
static bool
zone_down(const struct uzone *z)
{
	uint64_t now = now_ms();
	size_t i;

	for (i = 0; i < z->nsrv; i++)
		if (z->srv[i].down_until <= now)
			return false;
	return z->nsrv > 0;
}

/* A new request from a worker: cache, join, or a new pending query. */
static void
on_request(struct upstream *u, struct ureq *r)
{
	struct uzone *z;
	struct pend *p;
	uint64_t h;

	if (deliver_cached(u, r, false))
		return; /* answered while it waited in the queue */
	h = pend_hash(u, r->key, r->klen);
	if ((p = pend_find(u, h, r->key, r->klen)) != NULL) {
		if (p->nwaiters >= WAITERS_MAX) {
			count(u, C_OVERLOAD, 1);
			deliver_servfail(u, r);
			return;
		}
		count(u, C_COALESCED, 1);
		r->next = p->waiters;
		p->waiters = r;
		p->nwaiters++;
		return;
	}
	if ((z = ztable_find(u->zt, r->zone)) == NULL) {
		deliver_servfail(u, r); /* a zone a reload removed */
		return;
	}
	/* every server backed off: what is stale now rather than after
	 * the timeouts (RFC 8767's failure recheck); a server's backoff
	 * ending lets the next query through again */
	if (z->stale > 0 && zone_down(z) && deliver_cached(u, r, true))
		return;
	if (u->npend >= PENDING_MAX || (p = calloc(1, sizeof(*p))) == NULL) {
		count(u, C_OVERLOAD, 1);
		deliver_servfail(u, r);
		return;
	}
	p->u = u;
	p->fd = -1;
	p->zt = u->zt;
	p->zt->refs++;
	p->z = z;
	p->hash = h;
	memcpy(p->key, r->key, r->klen);
	p->klen = r->klen;
	p->edns = true;
	if (rw_question(&z->rz, r->c.q + 12, r->c.qend - 12 - 4, r->nkey,
	        r->qtype, &p->q) != 0 ||
	    (p->ev_timer = evtimer_new(u->base, on_timeout, p)) == NULL) {
		ztable_unref(p->zt);
		event_free(p->ev_timer);
		free(p);
		deliver_servfail(u, r);
		return;
	}
	r->next = NULL;
	p->waiters = r;
	p->nwaiters = 1;
	p->hnext = u->pb[h % PBUCKETS];
	u->pb[h % PBUCKETS] = p;
	u->npend++;
	pend_order(p);
	pend_attempt(p);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;
	struct ureq *r, *next;
	uint64_t v;

	(void)what;
	(void)!read(fd, &v, sizeof(v));
	pthread_mutex_lock(&u->lock);
	r = u->qhead;
	u->qhead = NULL;
	u->qtail = &u->qhead;
	u->qlen = 0;
	if (u->stopping)
		event_base_loopbreak(u->base);
	pthread_mutex_unlock(&u->lock);
	for (; r != NULL; r = next) {
		next = r->next;
		if (r->kind == REQ_RECONF) {
			if (!ztable_same(u->zt, r->zt))
				cache_flush(u->cache);
			ztable_unref(u->zt);
			u->zt = r->zt;
			free(r);
		} else
			on_request(u, r);
	}
}

static void *
upstream_main(void *arg)
{
	struct upstream *u = arg;

	if (event_base_dispatch(u->base) == -1)
		log_warnx("upstream: event loop failed");
	return NULL;
}

/* Queue r for the thread; false when it is stopping or overloaded. */
static bool
enqueue(struct upstream *u, struct ureq *r, bool force)
{
	uint64_t one = 1;
	bool wake;

	r->next = NULL;
	pthread_mutex_lock(&u->lock);
	if (u->stopping || (!force && u->qlen >= QUEUE_MAX)) {
		pthread_mutex_unlock(&u->lock);
		return false;
	}
	wake = u->qhead == NULL;
	*u->qtail = r;
	u->qtail = &r->next;
	u->qlen++;
	pthread_mutex_unlock(&u->lock);
	if (wake)
		(void)!write(u->wake_fd, &one, sizeof(one));
	return true;
}

/*
 * The public side.
 */

int
upstream_new(const struct config *c, struct upstream **out, char *err,
    size_t errlen)
{
	struct upstream *u;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errlen, "upstream: out of memory");
		return -ENOMEM;
	}
	u->wake_fd = -1;
	u->qtail = &u->qhead;
	pthread_mutex_init(&u->lock, NULL);
	pthread_mutex_init(&u->hlock, NULL);
	health_config(u, c);
	arc4random_buf(u->hkey, sizeof(u->hkey));
	if ((u->cache = cache_new(c->cache_size)) == NULL ||
	    (u->zt = ztable_new(c)) == NULL) {
		snprintf(err, errlen, "upstream: out of memory");
		upstream_free(u);
		return -ENOMEM;
	}
	if ((u->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (u->base = event_base_new()) == NULL ||
	    (u->ev_wake = event_new(u->base, u->wake_fd, EV_READ | EV_PERSIST,
	         on_wake, u)) == NULL ||
	    event_add(u->ev_wake, NULL) != 0) {
		snprintf(err, errlen, "upstream: cannot set up the event loop");
		upstream_free(u);
		return -ENOMEM;
	}
	*out = u;
	return 0;
}

int
upstream_start(struct upstream *u)
{
	int rc;

	if ((rc = pthread_create(&u->tid, NULL, upstream_main, u)) != 0)
		return -rc;
	u->running = true;
	return 0;
}

void
upstream_configure(struct upstream *u, const struct config *c)
{
	struct ureq *r;
	struct ztable *zt;

	health_config(u, c);
	if ((zt = ztable_new(c)) == NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL) {
		ztable_unref(zt);
		log_warnx("reload: upstream: out of memory; the forwarded "
		          "zones stay as they were");
		return;
	}
	r->kind = REQ_RECONF;
	r->zt = zt;
	if (!u->running) {
		if (!ztable_same(u->zt, zt))
			cache_flush(u->cache);
		ztable_unref(u->zt);
		u->zt = zt;
		free(r);
	} else if (!enqueue(u, r, true)) {
		ztable_unref(zt);
		free(r);
	}
}

void
upstream_stop(struct upstream *u)
{
	struct ureq *r, *next;
	size_t i;
	uint64_t one = 1;

	if (u == NULL)
		return;
	pthread_mutex_lock(&u->lock);
	u->stopping = true;
	pthread_mutex_unlock(&u->lock);
	if (u->running) {
		(void)!write(u->wake_fd, &one, sizeof(one));
		pthread_join(u->tid, NULL);
		u->running = false;
	}
	/* what is left gets no answer */
	for (r = u->qhead; r != NULL; r = next) {
		next = r->next;
		if (r->kind == REQ_RECONF)
			ztable_unref(r->zt);
		free(r);
	}
	u->qhead = NULL;
	u->qtail = &u->qhead;
	for (i = 0; i < PBUCKETS; i++)
		while (u->pb[i] != NULL) {
			struct pend *p = u->pb[i];

			for (r = p->waiters; r != NULL; r = next) {
				next = r->next;
				free(r);
			}
			p->waiters = NULL;
			pend_free(p);
		}
}

void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	upstream_stop(u);
	if (u->ev_wake != NULL)
		event_free(u->ev_wake);
	if (u->base != NULL)
		event_base_free(u->base);
	if (u->wake_fd != -1)
		close(u->wake_fd);
	ztable_unref(u->zt);
	cache_free(u->cache);
	pthread_mutex_destroy(&u->lock);
	pthread_mutex_destroy(&u->hlock);
	free(u);
}

/* The client's side of an answer, from its query. */
static void
client_of(const struct query_cfg *qc, const uint8_t *pkt,
    const struct query_info *info, struct rw_client *c)
{
	memcpy(c->q, pkt, info->fwd_qend);
	c->qend = info->fwd_qend;
	c->limit = info->fwd_limit;
	c->edns = info->fwd_edns;
	c->do_bit = info->fwd_do;
	c->edns_size = qc->edns_size;
}

size_t
upstream_query(struct upstream_box *b, const struct query_cfg *qc,
    const uint8_t *pkt, size_t len, struct query_info *info,
    const struct upstream_client *cl, uint8_t *out, size_t outsize)
{
	static _Thread_local uint8_t body[CACHE_BODY_MAX];
	static _Thread_local struct rw_client c;
	struct upstream *u = b != NULL ? b->u : NULL;
	uint8_t key[CACHE_KEY_MAX];
	struct cache_hit h;
	struct ureq *r;
	size_t klen, alen;
	enum cache_state st;
	bool tc;

	(void)len;
	if (info->fwd_qend < 12 + 1 + 4 || info->fwd_qend > RW_QUESTION_MAX ||
	    info->fwd_zone >= qc->nfwd)
		return 0; /* cannot happen: query_answer checked it */
	client_of(qc, pkt, info, &c);
	klen = rw_cache_key(pkt + 12, info->fwd_qend - 12 - 4, info->qtype, key,
	    sizeof(key));
	if (u != NULL && klen > 0) {
		st = cache_get(u->cache, key, klen, now_sec(), false, body,
		    sizeof(body), &h);
		if (st == CACHE_FRESH) {
			count(u, C_HITS, 1);
			alen = rw_render(&c, h.rcode, h.an, h.ns, body, h.blen,
			    h.ttl - h.left, false, out, outsize, &tc);
			fill_info(info, h.rcode, tc ? 0 : h.an, tc);
			info->cached = true;
			return alen;
		}
	}
	if (u == NULL || klen == 0 || (r = calloc(1, sizeof(*r))) == NULL)
		goto servfail;
	r->kind = REQ_QUERY;
	r->box = b;
	r->fd = cl->fd;
	if (cl->peer != NULL && cl->peerlen <= sizeof(r->peer)) {
		memcpy(&r->peer, cl->peer, cl->peerlen);
		r->peerlen = cl->peerlen;
	}
	r->conn = cl->conn;
	memcpy(r->addr, cl->addr, cl->alen <= 16 ? cl->alen : 16);
	r->alen = cl->alen;
	r->qlen = len;
	r->c = c;
	snprintf(r->zone, sizeof(r->zone), "%s", qc->fwd[info->fwd_zone].name);
	r->nkey = info->fwd_nkey;
	r->qtype = info->qtype;
	memcpy(r->key, key, klen);
	r->klen = klen;
	r->info = *info;
	if (enqueue(u, r, false)) {
		count(u, C_MISSES, 1);
		return 0;
	}
	free(r);
	count(u, C_OVERLOAD, 1);
servfail:
	if (u != NULL)
		count(u, C_SERVFAIL, 1);
	alen = rw_render(&c, RC_SERVFAIL, 0, 0, NULL, 0, 0, false, out, outsize,
	    &tc);
	fill_info(info, RC_SERVFAIL, 0, tc);
	return alen;
}

void
upstream_stats_write(struct upstream *u, FILE *f)
{
	struct cache_stats cs;
	size_t i;

	fprintf(f, "upstream:");
	for (i = 0; i < C_NCOUNT; i++)
		fprintf(f, " %s=%llu", count_names[i],
		    (unsigned long long)atomic_load_explicit(&u->cnt[i],
		        memory_order_relaxed));
	fprintf(f, "\n");
	cache_get_stats(u->cache, &cs);
	fprintf(f,
	    "cache: entries=%llu bytes=%llu max=%llu hits=%llu stale=%llu "
	    "misses=%llu inserts=%llu evictions=%llu expired=%llu\n",
	    (unsigned long long)cs.entries, (unsigned long long)cs.bytes,
	    (unsigned long long)cs.max_bytes, (unsigned long long)cs.hits,
	    (unsigned long long)cs.stale_hits, (unsigned long long)cs.misses,
	    (unsigned long long)cs.inserts, (unsigned long long)cs.evictions,
	    (unsigned long long)cs.expired);
}
