/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf_ncpu: the default number of worker threads is the number of CPUs
 * this process may run on (taskset, cpusets, systemd CPUAffinity=), not
 * the number of CPUs online.
 *
 * compat_parse: one parse leaves nothing behind for the next (getopt's
 * scan position inside an option cluster of a freed argv), so parsing
 * twice in one process gives the answer of a fresh process.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compat.h"
#include "conf.h"

static void
test_ncpu_affinity(void **state)
{
	cpu_set_t all, one;
	int n, first;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	n = CPU_COUNT(&all);
	assert_true(n >= 1);
	assert_int_equal(conf_ncpu(),
	    n > CFG_THREADS_MAX ? CFG_THREADS_MAX : (unsigned)n);

	/* one CPU allowed: one thread, whatever the machine has online */
	for (first = 0; !CPU_ISSET(first, &all); first++)
		;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	assert_int_equal(conf_ncpu(), 1);
	assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);
	assert_int_equal(conf_ncpu(),
	    n > CFG_THREADS_MAX ? CFG_THREADS_MAX : (unsigned)n);
}

/* argv of n heap strings, each of its own size (so ASan sees a read of
 * one after it is freed); argv[0] is "rbldnsd". */
static char **
mkargv(int n, const char *const *args)
{
	char **argv;
	int i;

	assert_non_null(argv = calloc((size_t)n + 2, sizeof(*argv)));
	assert_non_null(argv[0] = strdup("rbldnsd"));
	for (i = 0; i < n; i++)
		assert_non_null(argv[i + 1] = strdup(args[i]));
	return argv;
}

static void
freeargv(char **argv)
{
	int i;

	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

static int
parse(int n, const char *const *args, struct config **c)
{
	char err[CFG_ERR_LEN], **argv = mkargv(n, args);
	int rc;

	*c = NULL;
	rc = compat_parse(n + 1, argv, c, err, sizeof(err));
	freeargv(argv);
	return rc;
}

static void
test_compat_reparse(void **state)
{
	/* stops inside the cluster "-nZq": getopt is left on the "q" */
	static const char *const half[] = { "-nZq", "-b", "127.0.0.1/53" };
	static const char *const plain[] = { "-b", "127.0.0.1/5353",
		"bl.test:ip4set:f" };
	/* fuzz-config's crash-94d0b375...: -d in a cluster, permuted
	 * options after the zone, no -b (binds nothing, dumps the zones) */
	static const char *const fuzzed[] = { "-quer\xa9\xaf\xaf\xaf\xaf\xaf-s",
		"-de", "bl.test:ip4set:fqqu\x9as-s", "-qquu" };
	struct config *c;
	int round;

	(void)state;
	for (round = 0; round < 2; round++) {
		assert_true(parse(3, half, &c) < 0);
		assert_null(c);
		assert_int_equal(parse(3, plain, &c), 0);
		assert_non_null(c);
		assert_false(c->quick);
		assert_false(c->foreground);
		assert_int_equal(c->nlisten, 1);
		assert_int_equal(c->nspecs, 1);
		conf_free(c);

		assert_int_equal(parse(4, fuzzed, &c), 0);
		assert_non_null(c);
		assert_true(c->dump && c->quick && c->host_bits_ok);
		assert_int_equal(c->nlisten, 0);
		assert_int_equal(c->nspecs, 1);
		assert_string_equal(c->user, "u");
		conf_free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ncpu_affinity),
		cmocka_unit_test(test_compat_reparse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
