// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * secure-probe - prints whether the kernel marked this exec AT_SECURE
 * (setuid/setgid) and which backend the library chose.  stress/run.sh runs
 * it plain and as a setuid/setgid copy with PIDSHIM_BACKEND forcing a
 * backend: the variable must work in the plain run and be ignored in the
 * privileged one (the library reads it with secure_getenv).  Printing
 * AT_SECURE proves the privileged run really was one, so the check cannot
 * pass because the filesystem was mounted nosuid.
 */
#include <stdio.h>
#include <sys/auxv.h>

#include <pidshim.h>

int main(void)
{
	int b = pidshim_backend();

	printf("secure=%lu backend=%s\n", getauxval(AT_SECURE),
	       b < 0 ? "error" : pidshim_backend_name(b));
	return 0;
}
