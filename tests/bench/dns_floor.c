/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns_floor: the cheapest DNS server there can be, for bench_dns.py.  It
 * answers every query NXDOMAIN with the question echoed and nothing else
 * (no lookup, no SOA, no EDNS, no accounting), so the CPU it spends per
 * query is what the kernel's UDP path and the system calls cost on this
 * machine: the floor under any real server's cost per query, and so a
 * ceiling on how much faster than rbldnsd any server can be here.
 *
 *   dns_floor -p PORT [-b ADDR] [-1]
 *
 * By default it reads and answers in batches of up to 64 with recvmmsg and
 * sendmmsg, as resolverd does; -1 uses one recvfrom and one sendto per
 * query, as rbldnsd does.  IPv4 only; stops on SIGTERM or SIGINT.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 64
#define PKT 512

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * Turn the query in buf[0..len) into an NXDOMAIN answer in place: header
 * and question kept, anything after the question cut.  Returns the
 * answer's length, or 0 to drop (not a one-question query).
 */
static size_t
floor_answer(uint8_t *buf, size_t len)
{
	size_t off = 12;

	if (len < 12 || (buf[2] & 0x80) != 0 || buf[4] != 0 || buf[5] != 1)
		return 0;
	while (off < len && buf[off] != 0) {
		if (buf[off] > 63)
			return 0;
		off += (size_t)buf[off] + 1;
	}
	off += 5; /* the root label, QTYPE, QCLASS */
	if (off > len)
		return 0;
	buf[2] = (uint8_t)((buf[2] & 0x79) | 0x84); /* QR, AA, keep RD */
	buf[3] = 3; /* NXDOMAIN */
	memset(buf + 6, 0, 6); /* no AN, NS, AR */
	return off;
}

static void
serve_batched(int fd)
{
	static uint8_t bufs[BATCH][PKT];
	struct sockaddr_in from[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr in[BATCH], out[BATCH];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int i, n, m, r;
	size_t alen;

	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		memset(&in[i], 0, sizeof(in[i]));
		in[i].msg_hdr.msg_iov = &iov[i];
		in[i].msg_hdr.msg_iovlen = 1;
		in[i].msg_hdr.msg_name = &from[i];
	}
	while (!stop) {
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_len = PKT;
			in[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, in, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				perror("dns_floor: recvmmsg");
				return;
			}
			(void)poll(&pfd, 1, 200);
			continue;
		}
		for (i = m = 0; i < n; i++) {
			alen = floor_answer(bufs[i], in[i].msg_len);
			if (alen == 0)
				continue;
			iov[i].iov_len = alen;
			out[m].msg_hdr = in[i].msg_hdr;
			out[m].msg_hdr.msg_iov = &iov[i];
			out[m].msg_len = 0;
			m++;
		}
		for (i = 0; i < m; i += r)
			if ((r = sendmmsg(fd, out + i, (unsigned)(m - i), 0)) <=
			    0)
				break;
	}
}

static void
serve_single(int fd)
{
	uint8_t buf[PKT];
	struct sockaddr_in from;
	socklen_t flen;
	ssize_t n;
	size_t alen;

	while (!stop) {
		flen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
		    &flen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("dns_floor: recvfrom");
			return;
		}
		if ((alen = floor_answer(buf, (size_t)n)) != 0)
			(void)sendto(fd, buf, alen, 0, (struct sockaddr *)&from,
			    flen);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sigaction act = { .sa_handler = on_signal };
	const char *addr = "127.0.0.1";
	bool single = false;
	long port = 0;
	int c, fd, rcvbuf = 1 << 20; /* as resolverd */

	while ((c = getopt(argc, argv, "1b:p:")) != -1) {
		switch (c) {
		case '1':
			single = true;
			break;
		case 'b':
			addr = optarg;
			break;
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr,
			    "usage: dns_floor -p PORT [-b ADDR] "
			    "[-1]\n");
			return 2;
		}
	}
	if (port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr,
		    "dns_floor: need -p PORT (1..65535) and an "
		    "IPv4 -b ADDR\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)port);
	/* no SA_RESTART: a signal ends a blocking recvfrom */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) <
	        0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("dns_floor: socket/bind");
		return 1;
	}
	if (single)
		serve_single(fd);
	else
		serve_batched(fd);
	close(fd);
	return 0;
}
