// latency: nanoseconds per system call in a tight loop, for bench/seccomp_latency.ts.
//   latency CALLS      one line per kind: "<kind> ns=<per call>"
// getpid and read(-1) are allowed whatever their arguments (the kernel's seccomp action cache
// can skip the filter for them); personality(0xffffffff) is allowed only for some arguments (the
// filter runs every time); kcmp is denied (the filter runs, the errno comes back).
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static void measure(const char *kind, long nr, long a0, long a1, long a2, long n) {
  for (long i = 0; i < n / 20; i++) syscall(nr, a0, a1, a2, 0, 0);
  double t0 = now();
  for (long i = 0; i < n; i++) syscall(nr, a0, a1, a2, 0, 0);
  double t1 = now();
  printf("%s ns=%.2f\n", kind, (t1 - t0) / n);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 5000000;
  static char buf[16];
  measure("getpid", SYS_getpid, 0, 0, 0, n);
  measure("read", SYS_read, -1, (long)buf, 1, n);
  measure("personality", SYS_personality, 0xffffffffL, 0, 0, n);
  measure("denied", SYS_kcmp, 999999, 999999, 0, n);
  return 0;
}
