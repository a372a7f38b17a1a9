// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness: pidshim_exit_status() on arbitrary siginfo.  The
 * oracle below is written from wait(2)'s documented encoding, not from the
 * library: for every si_code the kernel produces and every si_status it
 * can carry, the status word must decode (WIFEXITED/WEXITSTATUS,
 * WIFSIGNALED/WTERMSIG/WCOREDUMP, WIFSTOPPED/WSTOPSIG, WIFCONTINUED) to
 * exactly what the siginfo says; for values no kernel produces the answer
 * is -EINVAL or a word of the same class; si_signo other than SIGCHLD and
 * unknown si_code give -EINVAL.  Any mismatch aborts with the input.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <pidshim.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int take_int(const uint8_t **d, size_t *n)
{
	uint32_t v = 0;

	for (int i = 0; i < 4 && *n; i++, (*d)++, (*n)--)
		v |= (uint32_t)**d << (8 * i);
	return (int)v;
}

static uint8_t take_byte(const uint8_t **d, size_t *n)
{
	uint8_t v = 0;

	if (*n) {
		v = **d;
		(*d)++;
		(*n)--;
	}
	return v;
}

static void fail(const siginfo_t *si, int got, const char *why)
{
	fprintf(stderr, "pidshim_exit_status(si_signo %d, si_code %d, si_status %d) = %d (%#x): %s\n",
		si->si_signo, si->si_code, si->si_status, got, (unsigned)got, why);
	abort();
}

/* The class a status word decodes to: 'e', 'k', 's', 'c' or '?'. */
static char class_of(int w)
{
	if (WIFEXITED(w))
		return 'e';
	if (WIFSIGNALED(w))
		return 'k';
	if (WIFSTOPPED(w))
		return 's';
	if (WIFCONTINUED(w))
		return 'c';
	return '?';
}

static void oracle(const siginfo_t *si, int w)
{
	static const int codes[] = { CLD_EXITED, CLD_KILLED, CLD_DUMPED,
				     CLD_STOPPED, CLD_TRAPPED, CLD_CONTINUED };
	int st = si->si_status, known = 0;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		known |= si->si_code == codes[i];
	if (si->si_signo != SIGCHLD || !known) {
		if (w != -EINVAL)
			fail(si, w, "want -EINVAL (not a SIGCHLD of a known kind)");
		return;
	}
	if (w < 0 && w != -EINVAL)
		fail(si, w, "the only error is -EINVAL");
	switch (si->si_code) {
	case CLD_EXITED:
		/* Exit codes are 0..255; the kernel keeps the low 8 bits. */
		if (st >= 0 && st <= 255 && (w < 0 || !WIFEXITED(w) || WEXITSTATUS(w) != st))
			fail(si, w, "want WIFEXITED with WEXITSTATUS == si_status");
		if (w >= 0 && (!WIFEXITED(w) || WEXITSTATUS(w) != (st & 0xff)))
			fail(si, w, "exit word does not carry si_status & 0xff");
		break;
	case CLD_KILLED:
	case CLD_DUMPED:
		if (st >= 1 && st <= SIGRTMAX &&
		    (w < 0 || !WIFSIGNALED(w) || WTERMSIG(w) != st ||
		     !!WCOREDUMP(w) != (si->si_code == CLD_DUMPED)))
			fail(si, w, "want WIFSIGNALED, WTERMSIG == si_status, WCOREDUMP iff CLD_DUMPED");
		if (w >= 0 && (class_of(w) != 'k' || !!WCOREDUMP(w) != (si->si_code == CLD_DUMPED)))
			fail(si, w, "a killed process must decode as signalled");
		break;
	case CLD_STOPPED:
	case CLD_TRAPPED:
		if (st >= 1 && st <= SIGRTMAX && (w < 0 || !WIFSTOPPED(w) || WSTOPSIG(w) != st))
			fail(si, w, "want WIFSTOPPED with WSTOPSIG == si_status");
		if (w >= 0 && (class_of(w) != 's' || WSTOPSIG(w) != (st & 0xff)))
			fail(si, w, "a stopped process must decode as stopped");
		break;
	case CLD_CONTINUED:
		if (w < 0 || !WIFCONTINUED(w) || WIFEXITED(w) || WIFSIGNALED(w) || WIFSTOPPED(w))
			fail(si, w, "want WIFCONTINUED only");
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int codes[] = { CLD_EXITED, CLD_KILLED, CLD_DUMPED,
				     CLD_STOPPED, CLD_TRAPPED, CLD_CONTINUED };
	struct pidshim_exit e;
	uint8_t sel;

	memset(&e, 0, sizeof(e));
	sel = take_byte(&data, &size);
	/* Mostly SIGCHLD with a real si_code, so the interesting paths get
	 * most of the executions; the rest is raw. */
	e.info.si_signo = (sel & 0x0f) ? SIGCHLD : take_int(&data, &size);
	sel >>= 4;
	e.info.si_code = sel < 12 ? codes[sel % 6] : take_int(&data, &size);
	e.info.si_status = size >= 4 ? take_int(&data, &size) : take_byte(&data, &size);
	e.info.si_pid = take_int(&data, &size);
	e.info.si_uid = (uid_t)take_int(&data, &size);
	oracle(&e.info, pidshim_exit_status(&e));
	if (pidshim_exit_status(NULL) != -EINVAL)
		abort();
	return 0;
}
