/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "qlog.h"

#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct qlog {
	pthread_mutex_t lock;
	FILE *f; /* NULL: off */
	bool is_stdout;
	bool unbuffered;
	atomic_bool on;
};

struct qlog *
qlog_new(void)
{
	struct qlog *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	atomic_init(&q->on, false);
	return q;
}

static void
close_file(FILE *f, bool is_stdout)
{
	if (f == NULL)
		return;
	if (is_stdout)
		fflush(f);
	else if (fclose(f) != 0)
		log_warn("query log: close");
}

void
qlog_free(struct qlog *q)
{
	if (q == NULL)
		return;
	close_file(q->f, q->is_stdout);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int
qlog_open(struct qlog *q, const char *path, bool unbuffered)
{
	FILE *nf = NULL, *of;
	bool ns = false, os;

	if (path != NULL && strcmp(path, "-") == 0) {
		nf = stdout;
		ns = true;
	} else if (path != NULL) {
		if ((nf = fopen(path, "ae")) == NULL)
			return -errno;
		setvbuf(nf, NULL, _IOFBF, 1 << 16);
	}
	pthread_mutex_lock(&q->lock);
	of = q->f;
	os = q->is_stdout;
	q->f = nf;
	q->is_stdout = ns;
	q->unbuffered = unbuffered;
	atomic_store(&q->on, nf != NULL);
	pthread_mutex_unlock(&q->lock);
	close_file(of, os);
	return 0;
}

bool
qlog_enabled(const struct qlog *q)
{
	return q != NULL && atomic_load_explicit(&q->on, memory_order_relaxed);
}

const char *
qlog_type_name(unsigned t, char *buf, size_t size)
{
	static const struct {
		unsigned t;
		const char *name;
	} tab[] = {
		{ 1, "A" },
		{ 2, "NS" },
		{ 5, "CNAME" },
		{ 6, "SOA" },
		{ 12, "PTR" },
		{ 13, "HINFO" },
		{ 15, "MX" },
		{ 16, "TXT" },
		{ 28, "AAAA" },
		{ 33, "SRV" },
		{ 35, "NAPTR" },
		{ 41, "OPT" },
		{ 43, "DS" },
		{ 46, "RRSIG" },
		{ 48, "DNSKEY" },
		{ 64, "SVCB" },
		{ 65, "HTTPS" },
		{ 99, "SPF" },
		{ 251, "IXFR" },
		{ 252, "AXFR" },
		{ 255, "ANY" },
		{ 257, "CAA" },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].t == t)
			return tab[i].name;
	snprintf(buf, size, "TYPE%u", t);
	return buf;
}

const char *
qlog_class_name(unsigned c, char *buf, size_t size)
{
	switch (c) {
	case 1:
		return "IN";
	case 3:
		return "CH";
	case 4:
		return "HS";
	case 255:
		return "ANY";
	}
	snprintf(buf, size, "CLASS%u", c);
	return buf;
}

const char *
qlog_rcode_name(int rc, char *buf, size_t size)
{
	static const char *const tab[] = { "NOERROR", "FORMERR", "SERVFAIL",
		"NXDOMAIN", "NOTIMP", "REFUSED" };

	if (rc >= 0 && rc < (int)(sizeof(tab) / sizeof(tab[0])))
		return tab[rc];
	if (rc == 16)
		return "BADVERS";
	snprintf(buf, size, "RCODE%d", rc);
	return buf;
}

void
qlog_write(struct qlog *q, time_t now, const uint8_t *client, size_t clen,
    const struct query_info *info, size_t replylen)
{
	char addr[INET6_ADDRSTRLEN], name[sizeof(info->qname) * 4 + 1];
	char tb[16], cb[16], rb[16];

	if (!qlog_enabled(q) || info->dropped)
		return;
	if (inet_ntop(clen == 4 ? AF_INET : AF_INET6, client, addr,
	        sizeof(addr)) == NULL)
		strcpy(addr, "?");
	log_escape(info->qname, strnlen(info->qname, sizeof(info->qname)), name,
	    sizeof(name));
	if (name[0] == '\0')
		strcpy(name, ".");
	pthread_mutex_lock(&q->lock);
	if (q->f != NULL) {
		fprintf(q->f, "%lld %s %s %s %s: %s/%u/%zu\n", (long long)now,
		    addr, name, qlog_type_name(info->qtype, tb, sizeof(tb)),
		    qlog_class_name(info->qclass, cb, sizeof(cb)),
		    qlog_rcode_name(info->rcode, rb, sizeof(rb)), info->ancount,
		    replylen);
		if (q->unbuffered)
			fflush(q->f);
	}
	pthread_mutex_unlock(&q->lock);
}

void
qlog_flush(struct qlog *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	if (q->f != NULL && fflush(q->f) != 0)
		log_warn("query log: write");
	pthread_mutex_unlock(&q->lock);
}
