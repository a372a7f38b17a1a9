// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * backend.c - print the backend pidshim selects in this process, as the
 * library itself decides it: `pidshim emulate 5.3 -- backend` prints
 * "pidfd-poll".  Used by check-personalities for the matrix table.  On
 * failure prints "error:-ERRNO (message)" and exits 1.
 */
#include <stdio.h>
#include <string.h>

#include "pidshim.h"

int main(void)
{
	int b = pidshim_backend();

	if (b < 0) {
		printf("error:%d (%s)\n", b, strerror(-b));
		return 1;
	}
	printf("%s\n", pidshim_backend_name(b));
	return 0;
}
