// seccomp_dump PID: writes the classic-BPF program of PID's (first) seccomp filter to stdout as
// struct sock_filter[] (PTRACE_SECCOMP_GET_FILTER; needs CAP_SYS_ADMIN). The process is
// stopped only for the moment it takes.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: seccomp_dump PID\n");
    return 2;
  }
  pid_t pid = atoi(argv[1]);
  if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0 || ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0) {
    perror("ptrace seize");
    return 1;
  }
  int status;
  if (waitpid(pid, &status, __WALL) < 0) {
    perror("waitpid");
    return 1;
  }
  // The most recently installed filter is index 0; the first installed is the last index.
  long n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, NULL);
  int rc = 0;
  if (n <= 0) {
    fprintf(stderr, "no filter: %s\n", n < 0 ? strerror(errno) : "0 instructions");
    rc = 1;
  } else {
    struct sock_filter *f = calloc(n, sizeof(*f));
    if (ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, f) != n) {
      perror("PTRACE_SECCOMP_GET_FILTER");
      rc = 1;
    } else if (fwrite(f, sizeof(*f), n, stdout) != (size_t)n) {
      rc = 1;
    }
  }
  ptrace(PTRACE_DETACH, pid, 0, 0);
  return rc;
}
