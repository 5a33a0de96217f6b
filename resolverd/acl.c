/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "acl.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const private_nets[] = {
	"127.0.0.0/8",
	"10.0.0.0/8",
	"172.16.0.0/12",
	"192.168.0.0/16",
	"169.254.0.0/16",
	"::1/128",
	"fc00::/7",
	"fe80::/10",
};

const char *
acl_action_name(enum acl_action act)
{
	switch (act) {
	case ACL_ALLOW:
		return "allow";
	case ACL_REFUSE:
		return "refuse";
	case ACL_DROP:
		return "drop";
	}
	return "?";
}

static void
mask(uint8_t *a, size_t alen, unsigned plen)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		if (plen >= 8) {
			plen -= 8;
			continue;
		}
		a[i] &= (uint8_t)(0xff << (8 - plen));
		plen = 0;
	}
}

static int
add_rule(struct acl *a, const struct acl_rule *r)
{
	struct acl_rule *nr;

	if ((nr = reallocarray(a->r, a->n + 1, sizeof(*nr))) == NULL)
		return -1;
	a->r = nr;
	a->r[a->n++] = *r;
	return 0;
}

static int
parse_cidr(const char *s, struct acl_rule *r)
{
	char buf[64], *slash, *end;
	unsigned long plen;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(r->addr, 0, sizeof(r->addr));
	if (inet_pton(AF_INET, buf, r->addr) == 1)
		r->fam = 4;
	else if (inet_pton(AF_INET6, buf, r->addr) == 1)
		r->fam = 16;
	else
		return -1;
	plen = (unsigned long)r->fam * 8;
	if (slash != NULL) {
		errno = 0;
		plen = strtoul(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || errno != 0 ||
		    plen > (unsigned long)r->fam * 8)
			return -1;
	}
	r->plen = (uint8_t)plen;
	mask(r->addr, r->fam, r->plen);
	return 0;
}

int
acl_parse(struct acl *a, const char *line, char *err, size_t errlen)
{
	char buf[1024], *tok, *save = NULL;
	struct acl_rule r;
	int act, n = 0;

	if (strlen(line) >= sizeof(buf)) {
		snprintf(err, errlen, "acl: line too long");
		return -1;
	}
	strcpy(buf, line);
	if ((tok = strtok_r(buf, " \t,", &save)) == NULL) {
		snprintf(err, errlen,
		    "acl: empty; want allow|refuse|drop CIDR");
		return -1;
	}
	if (strcasecmp(tok, "allow") == 0)
		act = ACL_ALLOW;
	else if (strcasecmp(tok, "refuse") == 0)
		act = ACL_REFUSE;
	else if (strcasecmp(tok, "drop") == 0)
		act = ACL_DROP;
	else {
		snprintf(err, errlen,
		    "acl: %s: unknown action; want allow, refuse or drop", tok);
		return -1;
	}
	while ((tok = strtok_r(NULL, " \t,", &save)) != NULL) {
		memset(&r, 0, sizeof(r));
		r.action = (uint8_t)act;
		if (strcasecmp(tok, "any") == 0) {
			r.fam = 4;
			if (add_rule(a, &r) != 0)
				goto nomem;
			r.fam = 16;
		} else if (parse_cidr(tok, &r) != 0) {
			snprintf(err, errlen,
			    "acl: %s: not an IPv4 or IPv6 address or CIDR",
			    tok);
			return -1;
		}
		if (add_rule(a, &r) != 0)
			goto nomem;
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "acl: %s: no address given",
		    acl_action_name(act));
		return -1;
	}
	return 0;
nomem:
	snprintf(err, errlen, "acl: out of memory");
	return -1;
}

int
acl_set_default(struct acl *a)
{
	struct acl_rule r;
	size_t i;

	acl_clear(a);
	for (i = 0; i < sizeof(private_nets) / sizeof(private_nets[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.action = ACL_ALLOW;
		if (parse_cidr(private_nets[i], &r) != 0 ||
		    add_rule(a, &r) != 0)
			return -1;
	}
	a->nomatch = ACL_REFUSE;
	return 0;
}

int
acl_copy(struct acl *dst, const struct acl *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->nomatch = src->nomatch;
	if (src->n == 0)
		return 0;
	if ((dst->r = calloc(src->n, sizeof(*dst->r))) == NULL)
		return -1;
	memcpy(dst->r, src->r, src->n * sizeof(*dst->r));
	dst->n = src->n;
	return 0;
}

void
acl_clear(struct acl *a)
{
	free(a->r);
	a->r = NULL;
	a->n = 0;
}

static bool
prefix_match(const uint8_t *a, const uint8_t *net, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(a, net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

enum acl_action
acl_match(const struct acl *a, const uint8_t *client, size_t clen)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		const struct acl_rule *r = &a->r[i];

		if (r->fam == clen && prefix_match(client, r->addr, r->plen))
			return (enum acl_action)r->action;
	}
	return (enum acl_action)a->nomatch;
}
