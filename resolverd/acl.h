/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Client access lists: an ordered list of "action CIDR" rules, the first
 * that matches the client decides (allow, refuse: answer REFUSED, drop:
 * no answer).  The server's list is checked before anything is parsed,
 * a zone's after the query matched that zone.  Without rules a list
 * allows loopback and private addresses and refuses the rest.
 */
#ifndef RESOLVERD_ACL_H
#define RESOLVERD_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum acl_action {
	ACL_ALLOW = 0,
	ACL_REFUSE,
	ACL_DROP
};

struct acl_rule {
	uint8_t fam; /* 4 or 16: address length */
	uint8_t plen; /* prefix length in bits */
	uint8_t action; /* enum acl_action */
	uint8_t addr[16]; /* masked */
};

struct acl {
	struct acl_rule *r;
	size_t n;
	uint8_t nomatch; /* enum acl_action when no rule matches */
};

/*
 * Append the rules of "allow|refuse|drop CIDR [CIDR...]" (an address
 * without a length is a host; "any" is 0.0.0.0/0 and ::/0).  0, or -1
 * with err filled.
 */
int acl_parse(struct acl *a, const char *line, char *err, size_t errlen);
/* The default: loopback and private ranges allowed, the rest refused. */
int acl_set_default(struct acl *a);
/* Deep copy; 0 or -1 (out of memory). */
int acl_copy(struct acl *dst, const struct acl *src);
void acl_clear(struct acl *a);
/* Decide for client (4 or 16 bytes). */
enum acl_action acl_match(const struct acl *a, const uint8_t *client,
    size_t clen);
const char *acl_action_name(enum acl_action act);

#endif /* RESOLVERD_ACL_H */
