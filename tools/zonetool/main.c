/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "zonetool: not built yet\n");
	return 2;
}
