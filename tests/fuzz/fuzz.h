/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared by the fuzz targets (fuzz_<target>.c) and the corpus replay
 * driver (replay.c).  Each target defines LLVMFuzzerTestOneInput and sets
 * itself up on its first call, so the same object links with libFuzzer or
 * with replay.c.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An invariant of the code under test: abort with a message (libFuzzer
 * and replay both report the abort as a crash and keep the input).  Not
 * assert(): it must hold in release builds too.
 */
#define FUZZ_CHECK(cond)                                                 \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #cond);                  \
			abort();                                         \
		}                                                        \
	} while (0)

/* Setup failures (not findings): print and exit. */
#define FUZZ_SETUP(cond, msg)                                       \
	do {                                                        \
		if (!(cond)) {                                      \
			fprintf(stderr, "fuzz setup: %s\n", (msg)); \
			exit(1);                                    \
		}                                                   \
	} while (0)

#endif /* FUZZ_H */
