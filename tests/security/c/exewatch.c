// exewatch: the CVE-2019-5736 attacker, run inside a container with every capability. It scans
// /proc of its pid namespace in a tight loop and, for every new executable it sees a process
// run, keeps an fd of /proc/<pid>/exe. When STOP appears (all runtime processes are gone by
// then, so "text file busy" no longer protects anything) it tries to get write access to each
// through /proc/self/fd/N. Nothing is written but the first byte of a memfd, put back as it was.
//
//   exewatch LOG STOP      lines: "ready", "seen …" as it goes, "final …" per executable, "done"
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif

struct entry {
  int pid, fd, seals, wnow;
  dev_t dev;
  ino_t ino;
  char link[256], cmd[256];
};

static struct entry e[900];
static int n;
static FILE *logf;
static dev_t own_dev[2];
static ino_t own_ino[2];

static const char *en(int x) {
  if (x == 0) return "0";
  const char *s = strerrorname_np(x);
  return s ? s : "E?";
}

static void clean(char *s) {
  for (; *s; s++)
    if (*s == ' ' || *s == '\n') *s = '_';
}

static int reopen_write(int fd) {
  char self[64];
  snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
  int w = open(self, O_WRONLY | O_CLOEXEC);
  if (w < 0) return errno;
  close(w);
  return 0;
}

static void look(int pid) {
  char p[64];
  snprintf(p, sizeof(p), "/proc/%d/exe", pid);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    close(fd);
    return;
  }
  // The same pid runs several programs in turn (execve), and a runtime may re-execute the same
  // file with other arguments: an entry per pid, file and command line.
  char cmd[256];
  snprintf(p, sizeof(p), "/proc/%d/cmdline", pid);
  int c = open(p, O_RDONLY | O_CLOEXEC);
  ssize_t r = c >= 0 ? read(c, cmd, sizeof(cmd) - 1) : 0;
  if (c >= 0) close(c);
  cmd[r > 0 ? r : 0] = 0;
  for (ssize_t i = 0; i < r; i++)
    if (!cmd[i]) cmd[i] = ' ';
  clean(cmd);
  int dup = 0;
  for (int i = 0; i < n; i++) {
    if (e[i].dev == st.st_dev && e[i].ino == st.st_ino) {
      dup = 1;
      if (e[i].pid == pid && !strcmp(e[i].cmd, cmd)) {
        close(fd);
        return;
      }
    }
  }
  if (n == (int)(sizeof(e) / sizeof(e[0]))) {
    close(fd);
    return;
  }
  struct entry *x = &e[n++];
  x->pid = pid;
  x->dev = st.st_dev;
  x->ino = st.st_ino;
  // The link of the fd we hold, not of /proc/<pid>/exe again: the process may have executed
  // something else in between.
  snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
  r = readlink(p, x->link, sizeof(x->link) - 1);
  x->link[r > 0 ? r : 0] = 0;
  clean(x->link);
  memcpy(x->cmd, cmd, sizeof(cmd));
  x->seals = fcntl(fd, F_GET_SEALS);
  if (x->seals < 0) x->seals = -errno;
  x->wnow = reopen_write(fd);
  // One held fd per distinct file is enough for the later attempt.
  if (dup) {
    close(fd);
    x->fd = -1;
  } else {
    x->fd = fd;
  }
  fprintf(logf, "seen pid=%d link=%s cmd=%s seals=%d wnow=%s\n", pid, x->link, x->cmd, x->seals, en(x->wnow));
  fflush(logf);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: exewatch LOG STOP\n");
    return 2;
  }
  logf = fopen(argv[1], "a");
  if (!logf) return 1;
  struct stat st;
  if (stat("/proc/self/exe", &st) == 0) own_dev[0] = st.st_dev, own_ino[0] = st.st_ino;
  if (stat("/bin/busybox", &st) == 0) own_dev[1] = st.st_dev, own_ino[1] = st.st_ino;
  int self = getpid();
  for (int round = 0; access(argv[2], F_OK) != 0; round++) {
    DIR *d = opendir("/proc");
    if (!d) return 1;
    struct dirent *de;
    while ((de = readdir(d))) {
      int pid = atoi(de->d_name);
      if (pid > 0 && pid != self) look(pid);
    }
    closedir(d);
    if (round == 0) {
      fprintf(logf, "ready\n");
      fflush(logf);
    }
    sched_yield();
  }
  for (int i = 0; i < n; i++) {
    struct entry *x = &e[i];
    int own = 0;
    for (int k = 0; k < 2; k++)
      if (x->dev == own_dev[k] && x->ino == own_ino[k]) own = 1;
    int wlater = -1, wbyte = -1;
    int fd = x->fd;
    for (int k = 0; fd < 0 && k < n; k++)
      if (e[k].fd >= 0 && e[k].dev == x->dev && e[k].ino == x->ino) fd = e[k].fd;
    if (fd >= 0) {
      wlater = reopen_write(fd);
      if (!strncmp(x->link, "/memfd:", 7) || x->seals >= 0) {
        // A memfd opens for writing once nothing executes it; its seal must refuse the write.
        char self_fd[64], b;
        snprintf(self_fd, sizeof(self_fd), "/proc/self/fd/%d", fd);
        int w = open(self_fd, O_WRONLY | O_CLOEXEC);
        wbyte = w < 0 ? errno : 0;
        if (w >= 0) {
          if (pread(fd, &b, 1, 0) != 1) wbyte = errno ? errno : EIO;
          else if (pwrite(w, &b, 1, 0) != 1) wbyte = errno;
          close(w);
        }
      }
    }
    fprintf(logf, "final pid=%d link=%s cmd=%s dev=%lu ino=%lu own=%d seals=%d wnow=%s wlater=%s wbyte=%s\n", x->pid, x->link, x->cmd,
            (unsigned long)x->dev, (unsigned long)x->ino, own, x->seals, en(x->wnow), wlater < 0 ? "-" : en(wlater), wbyte < 0 ? "-" : en(wbyte));
  }
  fprintf(logf, "done\n");
  fclose(logf);
  return 0;
}
