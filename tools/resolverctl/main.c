/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * resolverctl: talk to resolverd's control socket (resolverd/control.h).
 *
 *   resolverctl [-s SOCKET] [--json] stats
 *   resolverctl [-s SOCKET] [--json] top [clients|zones|names] [-n N]
 *               [--by queries|listed|refused]
 *   resolverctl [-s SOCKET] [--json] zones
 *   resolverctl [-s SOCKET] reload | flush-stats | save | ping
 *   resolverctl [-s SOCKET] allow|deny|unallow|undeny ZONE ENTRY
 *               [--reason TEXT] [--value A]
 *   resolverctl [-s SOCKET] [--json] policy [ZONE]
 *   resolverctl [-s SOCKET] [--json] explain NAME [--client ADDR]
 *   resolverctl -D DATABASE [--json] stats      (the daemon may be down:
 *                                                 the stored counters)
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acct.h"
#include "control.h"
#include "zones.h"

#define DEFAULT_SOCKET RD_RUNDIR "/resolverd.sock"
#define TIMEOUT_MS 10000

static void
usage(void)
{
	fprintf(stderr,
	    "usage: resolverctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
	    "       resolverctl -D DATABASE [--json] stats\n"
	    "commands:\n"
	    "  stats                     totals, per zone, clients\n"
	    "  top [clients|zones|names] [-n N] [--by queries|listed|refused]\n"
	    "  zones                     the zones served: state, serial,\n"
	    "                            entries, age, last sync, expiry\n"
	    "  reload                    re-read the configuration (root)\n"
	    "  flush-stats               zero the counters (root)\n"
	    "  save                      store the counters now (root)\n"
	    "  ping                      is the daemon there?\n"
	    "  allow|deny ZONE ENTRY [--reason TEXT] [--value A]\n"
	    "                            local policy for an address, CIDR,\n"
	    "                            name or *.name (root)\n"
	    "  unallow|undeny ZONE ENTRY remove a policy entry (root)\n"
	    "  policy [ZONE]             the local policy entries\n"
	    "  explain NAME [--client ADDR]\n"
	    "                            which zone, dataset, entry, value,\n"
	    "                            feed serial and policy answer NAME\n"
	    "socket: %s by default\n",
	    DEFAULT_SOCKET);
	exit(2);
}

static int
count_clients(void *arg, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	(void)val;
	(void)vlen;
	if (klen > 0 && *(const char *)key == 'c')
		(*(size_t *)arg)++;
	return 0;
}

/* The stored counters, read from the database directly. */
static int
offline_stats(const char *dir, bool json)
{
	struct zn_db *db;
	struct zn_err zerr;
	struct acct_params *p;
	struct acct *a;
	char err[512];

	if (zn_db_open(dir, ZN_DB_RDONLY, 0, &db, &zerr) != 0) {
		fprintf(stderr, "resolverctl: %s\n", zerr.msg);
		return 1;
	}
	if ((p = acct_params_new(true)) == NULL) {
		fprintf(stderr, "resolverctl: out of memory\n");
		return 1;
	}
	/* room for every stored client, no more */
	p->max_clients = 0;
	if (zn_kv_iter(db, "acct", count_clients, &p->max_clients, &zerr) !=
	    0) {
		fprintf(stderr, "resolverctl: %s\n", zerr.msg);
		acct_params_unref(p);
		zn_db_close(db);
		return 1;
	}
	if (p->max_clients == 0)
		p->max_clients = 1;
	a = acct_new(p, db, err, sizeof(err));
	acct_params_unref(p);
	if (a == NULL) {
		fprintf(stderr, "resolverctl: %s\n", err);
		zn_db_close(db);
		return 1;
	}
	acct_write_stats(a, stdout, json);
	acct_free(a);
	zn_db_close(db);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Arguments travel percent-encoded where they hold a blank or a '%'
 * (a reason text with spaces is one argument). */
static size_t
pct_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == ' ' || *s == '\t' || *s == '%' ? 3 : 1;
	return n;
}

static size_t
pct_encode(const char *s, char *out, size_t len)
{
	for (; *s != '\0'; s++)
		if (*s == ' ' || *s == '\t' || *s == '%')
			len += (size_t)sprintf(out + len, "%%%02X",
			    (unsigned char)*s);
		else
			out[len++] = *s;
	out[len] = '\0';
	return len;
}

static int
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *sock = DEFAULT_SOCKET, *dbdir = NULL;
	char req[CONTROL_LINE_MAX + 2], buf[65536], *resp = NULL;
	size_t rlen = 0, len;
	struct sockaddr_un sun;
	struct pollfd pfd;
	bool json = false;
	int i, fd, first;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "-D") == 0 && i + 1 < argc)
			dbdir = argv[++i];
		else if (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0)
			json = true;
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			usage();
		else
			break;
	}
	if (i >= argc)
		usage();
	first = i;
	if (dbdir != NULL) {
		bool other = false;

		for (i = first + 1; i < argc; i++)
			if (strcmp(argv[i], "--json") == 0 ||
			    strcmp(argv[i], "-j") == 0)
				json = true;
			else
				other = true;
		if (strcmp(argv[first], "stats") != 0 || other) {
			fprintf(stderr,
			    "resolverctl: -D: only \"stats\" works without the "
			    "daemon\n");
			return 2;
		}
		return offline_stats(dbdir, json);
	}
	len = (size_t)snprintf(req, sizeof(req), "%s", CONTROL_PROTO);
	for (i = first; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0) {
			json = true;
			continue;
		}
		if (strchr(argv[i], '\n') != NULL ||
		    len + 1 + pct_len(argv[i]) >= CONTROL_LINE_MAX) {
			fprintf(stderr, "resolverctl: request too long\n");
			return 2;
		}
		req[len++] = ' ';
		len = pct_encode(argv[i], req, len);
	}
	if (json)
		len +=
		    (size_t)snprintf(req + len, sizeof(req) - len, " --json");
	req[len++] = '\n';

	if (strlen(sock) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "resolverctl: %s: path too long\n", sock);
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock, strlen(sock));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr,
		    "resolverctl: %s: %s (is resolverd running with "
		    "control = %s?)\n",
		    sock, strerror(errno), sock);
		return 1;
	}
	if (send_all(fd, req, len) != 0) {
		fprintf(stderr, "resolverctl: %s: write: %s\n", sock,
		    strerror(errno));
		return 1;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n;
		char *nr;

		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, TIMEOUT_MS) == 0) {
			fprintf(stderr, "resolverctl: %s: no answer\n", sock);
			return 1;
		}
		if ((n = read(fd, buf, sizeof(buf))) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "resolverctl: %s: read: %s\n", sock,
			    strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		if ((nr = realloc(resp, rlen + (size_t)n + 1)) == NULL) {
			fprintf(stderr, "resolverctl: out of memory\n");
			return 1;
		}
		resp = nr;
		memcpy(resp + rlen, buf, (size_t)n);
		rlen += (size_t)n;
		resp[rlen] = '\0';
	}
	close(fd);
	if (resp == NULL) {
		fprintf(stderr, "resolverctl: %s: closed without an answer\n",
		    sock);
		return 1;
	}
	if (strncmp(resp, "OK\n", 3) == 0) {
		fwrite(resp + 3, 1, rlen - 3, stdout);
		free(resp);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (strncmp(resp, "ERR ", 4) == 0) {
		int rc = strncmp(resp + 4, "403", 3) == 0 ? 4 : 1;

		fprintf(stderr, "resolverctl: %s", resp + 4);
		free(resp);
		return rc;
	}
	fprintf(stderr, "resolverctl: unexpected answer: %.200s\n", resp);
	free(resp);
	return 1;
}
