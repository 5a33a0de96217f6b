/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target "control": the control socket's request parser
 * (control_parse, resolverd/control.c; protocol in control.h).
 *
 * Input: a request line as a client sends it, without the newline (a
 * trailing "\r" is allowed, as the daemon allows it).  The seeds are the
 * requests resolverctl sends and the e2e tests make (mkseeds.py).
 *
 * Checked after each input: the parse is deterministic (the same line
 * twice gives the same struct, the line with "\r" added the same result);
 * a refusal has one of the documented codes (400, 404, 413, 505) and a
 * non-empty message that fits and is cut cleanly into a small buffer; an
 * accepted request names a known command, has 1 <= n <= 100000, a known
 * --by, every string NUL-terminated inside its field and free of control
 * characters, "changes" set exactly for the commands that change state,
 * client address lengths 0, 4 or 16, and its first token is RDCTL1.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "control.h"
#include "fuzz.h"

static void
check_str(const char *s, size_t size)
{
	const char *e = memchr(s, '\0', size);
	const char *p;

	FUZZ_CHECK(e != NULL);
	for (p = s; p < e; p++)
		FUZZ_CHECK(
		    (unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
}

static void
check_req(const struct control_req *r, const char *line, size_t len)
{
	FUZZ_CHECK(len >= strlen(CONTROL_PROTO) &&
	    memcmp(line + strspn(line, " \t"), CONTROL_PROTO,
	        strlen(CONTROL_PROTO)) == 0);
	FUZZ_CHECK(r->cmd >= CTL_PING && r->cmd <= CTL_EXPLAIN);
	FUZZ_CHECK(r->n >= 1 && r->n <= 100000);
	FUZZ_CHECK(r->by == ACCT_BY_QUERIES || r->by == ACCT_BY_LISTED ||
	    r->by == ACCT_BY_REFUSED);
	FUZZ_CHECK(r->changes ==
	    (r->cmd == CTL_RELOAD || r->cmd == CTL_FLUSH_STATS ||
	        r->cmd == CTL_SAVE || r->cmd == CTL_POLICY_SET));
	if (r->cmd != CTL_TOP)
		FUZZ_CHECK(!r->zones && r->n == 10);
	check_str(r->pol.zone, sizeof(r->pol.zone));
	check_str(r->pol.entry, sizeof(r->pol.entry));
	check_str(r->pol.reason, sizeof(r->pol.reason));
	FUZZ_CHECK(strlen(r->pol.zone) <= ZN_NAME_MAX);
	FUZZ_CHECK(strlen(r->pol.reason) <= ZN_TXT_MAX);
	switch (r->cmd) {
	case CTL_POLICY_SET:
		FUZZ_CHECK(r->pol.zone[0] != '\0' && r->pol.entry[0] != '\0');
		FUZZ_CHECK(r->pol.action == ZN_POLICY_ALLOW ||
		    r->pol.action == ZN_POLICY_DENY);
		if (r->pol.action == ZN_POLICY_ALLOW || r->pol.remove)
			FUZZ_CHECK(r->pol.a == 0);
		if (r->pol.remove)
			FUZZ_CHECK(r->pol.reason[0] == '\0');
		FUZZ_CHECK(!r->pol.has_client);
		break;
	case CTL_EXPLAIN:
		FUZZ_CHECK(r->pol.entry[0] != '\0' && r->pol.zone[0] == '\0');
		FUZZ_CHECK(r->pol.a == 0 && r->pol.reason[0] == '\0');
		break;
	case CTL_POLICY:
		FUZZ_CHECK(r->pol.entry[0] == '\0' && !r->pol.has_client);
		break;
	default:
		FUZZ_CHECK(r->pol.zone[0] == '\0' && r->pol.entry[0] == '\0' &&
		    r->pol.reason[0] == '\0' && r->pol.a == 0 &&
		    !r->pol.has_client);
	}
	FUZZ_CHECK(r->pol.has_client ? (r->pol.clen == 4 || r->pol.clen == 16) :
	                               r->pol.clen == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_req r1, r2;
	char err1[512], err2[512], small[12], *line;
	int rc, rc2;

	/* an exact-size copy plus room for "\r" and a NUL the parser must
	 * not need (ASan still sees a read past len + 1) */
	if ((line = malloc(size + 2)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';

	memset(err1, 0x55, sizeof(err1));
	memset(&r1, 0xa5, sizeof(r1));
	rc = control_parse(line, size, &r1, err1, sizeof(err1));
	if (rc == 0) {
		check_req(&r1, line, size);
	} else {
		FUZZ_CHECK(rc == 400 || rc == 404 || rc == 413 || rc == 505);
		FUZZ_CHECK(memchr(err1, '\0', sizeof(err1)) != NULL);
		FUZZ_CHECK(err1[0] != '\0');
		/* the same message cut short, never overflowing */
		memset(small, 0x55, sizeof(small));
		rc2 = control_parse(line, size, &r2, small, sizeof(small));
		FUZZ_CHECK(rc2 == rc);
		FUZZ_CHECK(small[sizeof(small) - 1] == '\0');
		FUZZ_CHECK(strncmp(small, err1, sizeof(small) - 1) == 0);
	}

	/* deterministic, padding included (the parser zeroes the struct) */
	memset(&r2, 0x5a, sizeof(r2));
	memset(err2, 0, sizeof(err2));
	rc2 = control_parse(line, size, &r2, err2, sizeof(err2));
	FUZZ_CHECK(rc2 == rc);
	if (rc == 0)
		FUZZ_CHECK(memcmp(&r1, &r2, sizeof(r1)) == 0);
	else
		FUZZ_CHECK(strcmp(err1, err2) == 0);

	/* a CRLF line ends the same way, unless it already ends in "\r" */
	if (size == 0 || line[size - 1] != '\r') {
		line[size] = '\r';
		line[size + 1] = '\0';
		memset(&r2, 0x5a, sizeof(r2));
		rc2 = control_parse(line, size + 1, &r2, err2, sizeof(err2));
		FUZZ_CHECK(rc2 == rc);
		if (rc == 0)
			FUZZ_CHECK(memcmp(&r1, &r2, sizeof(r1)) == 0);
	}
	free(line);
	return 0;
}
