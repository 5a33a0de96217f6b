/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf_ncpu: the default number of worker threads is the number of CPUs
 * this process may run on (taskset, cpusets, systemd CPUAffinity=), not
 * the number of CPUs online.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ncpu_affinity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
