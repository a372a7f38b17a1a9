/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kabi.h - the pidfd kernel interface the CLI probes and filters, defined
 * here when the libc or kernel headers of the build machine are older than
 * the kernels pidshim runs on.  Syscall numbers are the generic ones
 * (asm-generic/unistd.h), shared by every architecture since 4.19 except
 * alpha and the mips ABIs' offsets.
 */
#ifndef PIDSHIM_CLI_KABI_H
#define PIDSHIM_CLI_KABI_H

#include <sys/syscall.h>

#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424 /* Linux 5.1 */
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434 /* Linux 5.3 */
#endif
#ifndef __NR_clone3
#define __NR_clone3 435 /* Linux 5.3 */
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438 /* Linux 5.6 */
#endif
#ifndef __NR_process_mrelease
#define __NR_process_mrelease 448 /* Linux 5.15 */
#endif

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal __NR_pidfd_send_signal
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open __NR_pidfd_open
#endif
#ifndef SYS_clone3
#define SYS_clone3 __NR_clone3
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd __NR_pidfd_getfd
#endif
#ifndef SYS_process_mrelease
#define SYS_process_mrelease __NR_process_mrelease
#endif

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000 /* Linux 5.2 */
#endif
#ifndef P_PIDFD
#define P_PIDFD 3 /* waitid idtype, Linux 5.4 */
#endif

#endif
