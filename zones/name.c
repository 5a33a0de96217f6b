/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "parse_int.h"
#include "zones.h"

static inline char
lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/*
 * Lower-case the ASCII letters of s[0..len) in place.
 */
void
zn_lower(char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		s[i] = lower(s[i]);
}

/*
 * Drop the empty labels of a presentation name in place, as rbldnsd's
 * dns_ptodn does: "c..d" is c.d, a leading dot or a trailing one goes.
 * Returns the new length.
 */
size_t
zn_name_squeeze(char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '.' && (o == 0 || s[o - 1] == '.'))
			continue;
		s[o++] = s[i];
	}
	if (o > 0 && s[o - 1] == '.')
		o--;
	return o;
}

/*
 * Encode a relative presentation name as revname (see zones.h): labels in
 * reverse order, lower-cased, each followed by 0x00.  The empty name is the
 * zone apex and encodes to nothing.  Returns the length, or -1 if the name
 * is longer than ZN_NAME_MAX, has an empty label or a label longer than 63
 * bytes, contains a NUL byte, or does not fit in size bytes.
 */
int
zn_revname(const char *name, size_t len, uint8_t *out, size_t size)
{
	size_t end, start, o, i;

	if (len == 0)
		return 0;
	if (len > ZN_NAME_MAX || len + 1 > size)
		return -1;
	o = 0;
	end = len;
	/* Walk the labels from the last one to the first. */
	for (;;) {
		start = end;
		while (start > 0 && name[start - 1] != '.')
			start--;
		if (start == end || end - start > 63)
			return -1;
		for (i = start; i < end; i++) {
			if (name[i] == '\0')
				return -1;
			out[o++] = (uint8_t)lower(name[i]);
		}
		out[o++] = 0;
		if (start == 0)
			break;
		end = start - 1;
	}
	return (int)o;
}

/*
 * Encode an absolute presentation name (trailing dot optional, "" or "."
 * is the root) as an uncompressed lower-case DNS wire name.  Returns the
 * length, or -1 if the name is invalid or does not fit in size bytes.
 */
int
zn_name_wire(const char *name, size_t len, uint8_t *out, size_t size)
{
	size_t i, start, o;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len > ZN_NAME_MAX - 1 || len + 2 > size)
		return -1;
	o = 0;
	start = 0;
	while (start < len) {
		i = start;
		while (i < len && name[i] != '.') {
			if (name[i] == '\0')
				return -1;
			i++;
		}
		if (i == start || i - start > 63)
			return -1;
		out[o++] = (uint8_t)(i - start);
		while (start < i)
			out[o++] = (uint8_t)lower(name[start++]);
		start = i + 1;
		if (i == len)
			break;
		if (start == len)
			return -1; /* "a..": an empty label at the end */
	}
	out[o++] = 0;
	return (int)o;
}

/*
 * Check a presentation name (trailing dot already removed): 0 if it is a
 * valid non-empty domain name, -EINVAL otherwise.
 */
int
zn_name_check(const char *name, size_t len)
{
	uint8_t tmp[ZN_NAME_MAX + 2];

	if (len == 0)
		return -EINVAL;
	if (zn_revname(name, len, tmp, sizeof(tmp)) < 0)
		return -EINVAL;
	return 0;
}
