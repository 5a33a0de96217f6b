/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Zone specs as rbldnsd takes them on its command line:
 * "zone:type:file[,file...]"; an empty zone is the global acl.  And the
 * identities of their files, which tell whether a file must be read again.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zones.h"

int
zn_spec_parse(const char *arg, struct zn_spec *spec, struct zn_err *err)
{
	const char *c1, *c2, *p;
	size_t zl, i;
	char tname[32];

	memset(spec, 0, sizeof(*spec));
	if ((c1 = strchr(arg, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL)
		return zn_err_set(err, EINVAL,
		    "%s: zone spec is not zone:type:file[,file...]", arg);
	if ((size_t)(c2 - c1 - 1) >= sizeof(tname))
		return zn_err_set(err, EINVAL, "%s: unknown dataset type", arg);
	memcpy(tname, c1 + 1, c2 - c1 - 1);
	tname[c2 - c1 - 1] = '\0';
	if (zn_type_parse(tname, &spec->type) != 0)
		return zn_err_set(err, EINVAL, "%s: unknown dataset type '%s'",
		    arg, tname);
	zl = c1 - arg;
	if (zl > 0 && arg[zl - 1] == '.')
		zl--;
	if (zl > ZN_NAME_MAX)
		return zn_err_set(err, EINVAL, "%s: zone name too long", arg);
	if (zl == 0 && spec->type != ZN_ACL)
		return zn_err_set(err, EINVAL,
		    "%s: only an acl dataset can be global (empty zone)", arg);
	if (c2[1] == '\0')
		return zn_err_set(err, EINVAL, "%s: no file given", arg);
	if ((spec->zone = strndup(arg, zl)) == NULL ||
	    (spec->files = strdup(c2 + 1)) == NULL)
		goto out_nomem;
	for (i = 0; i < zl; i++) {
		char ch = spec->zone[i];

		if (ch >= 'A' && ch <= 'Z')
			spec->zone[i] = ch + 32;
		if (ch == '.' && (i == 0 || spec->zone[i - 1] == '.')) {
			zn_spec_cleanup(spec);
			return zn_err_set(err, EINVAL,
			    "%s: zone name has an empty label", arg);
		}
	}
	spec->nfiles = 1;
	for (p = spec->files; *p != '\0'; p++)
		spec->nfiles += *p == ',';
	if ((spec->filev = calloc(spec->nfiles, sizeof(char *))) == NULL)
		goto out_nomem;
	for (i = 0, p = spec->files; i < spec->nfiles; i++) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0) {
			zn_spec_cleanup(spec);
			return zn_err_set(err, EINVAL, "%s: empty file name",
			    arg);
		}
		if ((spec->filev[i] = strndup(p, n)) == NULL)
			goto out_nomem;
		p += n + 1;
	}
	return 0;

out_nomem:
	zn_spec_cleanup(spec);
	return zn_err_set(err, ENOMEM, "out of memory");
}

int
zn_fileid_stat(const char *path, struct zn_fileid *id)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -errno;
	id->size = st.st_size;
	id->mtime_ns =
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	id->ino = st.st_ino;
	id->dev = st.st_dev;
	return 0;
}

bool
zn_fileid_equal(const struct zn_fileid *a, const struct zn_fileid *b)
{
	return a->size == b->size && a->mtime_ns == b->mtime_ns &&
	    a->ino == b->ino && a->dev == b->dev;
}

int
zn_spec_stat(struct zn_spec *spec, struct zn_err *err)
{
	struct zn_fileid *ids;
	size_t i;
	int rc;

	free(spec->ids);
	spec->ids = NULL;
	if ((ids = calloc(spec->nfiles ? spec->nfiles : 1, sizeof(*ids))) ==
	    NULL)
		return zn_err_set(err, ENOMEM, "out of memory");
	for (i = 0; i < spec->nfiles; i++)
		if ((rc = zn_fileid_stat(spec->filev[i], &ids[i])) != 0) {
			free(ids);
			return zn_err_set(err, -rc, "%s: %s", spec->filev[i],
			    strerror(-rc));
		}
	spec->ids = ids;
	return 0;
}

void
zn_spec_cleanup(struct zn_spec *spec)
{
	size_t i;

	if (spec->filev != NULL)
		for (i = 0; i < spec->nfiles; i++)
			free(spec->filev[i]);
	free(spec->filev);
	free(spec->ids);
	free(spec->zone);
	free(spec->files);
	memset(spec, 0, sizeof(*spec));
}

/* The earlier spec whose dataset spec i shares, or i; see zones.h. */
static size_t
shared_with(const struct zn_spec *specs, struct zn_dataset *const *ds, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (ds[j] != NULL && specs[j].type == specs[i].type &&
		    strcmp(specs[j].files, specs[i].files) == 0)
			return j;
	return i;
}

int
zn_specs_load(const struct zn_spec *specs, size_t n, const bool *want,
    const struct zn_parse_opts *opts, struct zn_dataset **ds,
    void (*loaded)(void *ctx, size_t i, const struct zn_dataset *ds), void *ctx,
    struct zn_err *err)
{
	size_t i, j;
	int rc;

	for (i = 0; i < n; i++)
		ds[i] = NULL;
	for (i = 0; i < n; i++) {
		if (want != NULL && !want[i])
			continue;
		if ((j = shared_with(specs, ds, i)) < i) {
			ds[i] = ds[j];
			continue;
		}
		rc = zn_dataset_load(specs[i].type,
		    (const char *const *)specs[i].filev, specs[i].nfiles, opts,
		    &ds[i], err);
		if (rc != 0) {
			ds[i] = NULL;
			zn_specs_free(ds, n);
			return rc;
		}
		if (loaded != NULL)
			loaded(ctx, i, ds[i]);
	}
	return 0;
}

void
zn_specs_free(struct zn_dataset **ds, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (ds[i] == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (ds[j] == ds[i])
				break;
		if (j == i)
			zn_dataset_free(ds[i]);
	}
	/* only now: the loop above compares with the earlier pointers */
	for (i = 0; i < n; i++)
		ds[i] = NULL;
}

/*
 * A size in bytes: digits with an optional k, m or g suffix (powers of
 * 1024), at most 64g; see zones.h.
 */
int
zn_parse_size(const char *v, size_t *out)
{
	unsigned long long n = 0, mul = 1;
	const char *s = v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	while (isdigit((unsigned char)*s)) {
		n = n * 10 + (unsigned long long)(*s++ - '0');
		if (n > (1ULL << 36))
			return -ERANGE;
	}
	switch (tolower((unsigned char)*s)) {
	case '\0':
		break;
	case 'k':
		mul = 1ULL << 10;
		s++;
		break;
	case 'm':
		mul = 1ULL << 20;
		s++;
		break;
	case 'g':
		mul = 1ULL << 30;
		s++;
		break;
	default:
		return -EINVAL;
	}
	if (*s != '\0')
		return -EINVAL;
	if (n * mul > (1ULL << 36) || n * mul > SIZE_MAX)
		return -ERANGE;
	*out = (size_t)(n * mul);
	return 0;
}
