/* Kernel test harness: loads a seccomp filter and makes one syscall.
 *
 *   harness <filter.bin> <flags|-> <64|32> <nr|-> [arg]...
 *
 * flags "-" loads nothing. After PR_SET_NO_NEW_PRIVS and seccomp(SECCOMP_SET_MODE_FILTER, flags),
 * calls syscall nr with up to six arguments (abi 32: through int $0x80, three arguments) and
 * prints "<return value> <errno>" with write(2), then _exit(0): after the filter is in, only the
 * syscall under test, write and exit_group run. nr "-" prints the seccomp() return value (the
 * listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER) instead. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static long int80(long nr, unsigned long a, unsigned long b, unsigned long c) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10", "r11");
  return ret;
}

int main(int argc, char **argv) {
  static struct sock_filter insns[4096];
  unsigned long a[6] = {0};
  char out[64];
  long r = 0, fd = 0;
  int e = 0;
  if (argc < 5) return 2;
  for (int i = 5; i < argc && i < 11; i++) a[i - 5] = strtoull(argv[i], NULL, 0);
  if (strcmp(argv[2], "-")) {
    int f = open(argv[1], O_RDONLY);
    if (f < 0) { perror("open"); return 2; }
    ssize_t n = read(f, insns, sizeof insns);
    close(f);
    if (n <= 0 || n % 8) { fprintf(stderr, "bad filter size %zd\n", n); return 2; }
    struct sock_fprog prog = { .len = (unsigned short)(n / 8), .filter = insns };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) { perror("prctl"); return 2; }
    fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, strtoul(argv[2], NULL, 0), &prog);
    if (fd < 0) { perror("seccomp"); return 3; }
  }
  if (!strcmp(argv[4], "-")) {
    r = fd;
  } else if (!strcmp(argv[3], "32")) {
    r = int80(strtol(argv[4], NULL, 0), a[0], a[1], a[2]);
  } else {
    r = syscall(strtol(argv[4], NULL, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
    e = r == -1 ? errno : 0;
  }
  int len = snprintf(out, sizeof out, "%ld %d\n", r, e);
  if (write(1, out, len) != len) _exit(4);
  _exit(0);
}
