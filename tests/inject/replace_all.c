/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * inject-replace-all DBDIR ZONE:TYPE:FILE[,FILE...] ...
 *
 * What resolverd's import does with its configured zones: parse every
 * spec and write them with zn_db_replace_flags(ZN_REPLACE_ALL), which
 * also drops the zones the specs do not name.  No tool calls it, so the
 * failure-injection loop (inject_loop.py) runs it through this driver.
 * Exit 0 on success, 1 with a message on any failure, 2 on usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zones.h"

int
main(int argc, char **argv)
{
	struct zn_parse_opts opts = { 0 };
	struct zn_write_stats st;
	struct zn_spec *specs;
	struct zn_dataset **ds;
	struct zn_db *db = NULL;
	struct zn_err err;
	size_t n = 0, i;
	int rc = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: inject-replace-all DBDIR SPEC...\n");
		return 2;
	}
	n = (size_t)argc - 2;
	specs = calloc(n, sizeof(*specs));
	ds = calloc(n, sizeof(*ds));
	if (specs == NULL || ds == NULL) {
		fprintf(stderr, "inject-replace-all: %s\n", strerror(errno));
		n = 0;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (zn_spec_parse(argv[i + 2], &specs[i], &err) != 0) {
			fprintf(stderr, "inject-replace-all: %s\n", err.msg);
			goto out;
		}
	/* specs with the same type and files share one dataset, as in
	 * zonetool compile */
	if (zn_specs_load(specs, n, NULL, &opts, ds, NULL, NULL, &err) != 0) {
		fprintf(stderr, "inject-replace-all: %s\n", err.msg);
		goto out;
	}
	if (zn_db_open(argv[1], 0, 0, &db, &err) != 0) {
		fprintf(stderr, "inject-replace-all: %s\n", err.msg);
		goto out;
	}
	if (zn_db_replace_flags(db, specs, ds, n, ZN_REPLACE_ALL, &st, &err) !=
	    0) {
		fprintf(stderr, "inject-replace-all: %s: %s\n", argv[1],
		    err.msg);
		goto out;
	}
	printf("%zu puts, %zu dels, %zu zones dropped\n", st.puts, st.dels,
	    st.zones_dropped);
	rc = 0;
out:
	zn_db_close(db);
	/* zeroed specs and NULL datasets are safe to clean up */
	if (ds != NULL)
		zn_specs_free(ds, n);
	for (i = 0; i < n; i++)
		zn_spec_cleanup(&specs[i]);
	free(specs);
	free(ds);
	return rc;
}
