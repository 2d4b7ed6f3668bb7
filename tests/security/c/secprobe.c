// secprobe: what a process inside a container can reach. Compiled (static) at test time and
// copied into the container's rootfs. Prints one line of key=value per thing it looks at; an
// errno is printed by name (0 = the call succeeded). It never writes data to anything but a
// memfd it found, and then only the byte that is already there.
//
//   secprobe exe PATH        open PATH (e.g. /proc/1/exe) read-only, then try to get write access
//   secprobe fds             this process's open fds (whitelist checks), its cwd and root
//   secprobe reach PID       what /proc/PID/{exe,cwd,root,fd/*} lead to, and whether a procfs
//                            reached through them lets us open sys/kernel/core_pattern for writing
//   secprobe wopen PATH...   open each PATH O_WRONLY (no data written)
//   secprobe cat PATH        print PATH relative to the cwd (or its errno)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif
#ifndef F_SEAL_WRITE
#define F_SEAL_WRITE 0x0008
#endif

static const char *en(int e) {
  if (e == 0) return "0";
  const char *n = strerrorname_np(e);
  return n ? n : "E?";
}

static void link_of(const char *path, char *out, size_t n) {
  ssize_t r = readlink(path, out, n - 1);
  if (r < 0) snprintf(out, n, "(%s)", en(errno));
  else out[r] = 0;
  for (char *c = out; *c; c++)
    if (*c == ' ') *c = '_';
}

// Write access to the file behind fd: reopen it O_WRONLY through /proc/self/fd (the
// CVE-2019-5736 move). For a memfd, also write its first byte back unchanged: a sealed one
// refuses (EPERM), an unsealed one takes it.
static void write_access(int fd, const char *link) {
  char self[64];
  snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
  int w = open(self, O_WRONLY | O_CLOEXEC);
  printf(" wopen=%s", en(w < 0 ? errno : 0));
  if (w >= 0 && !strncmp(link, "/memfd:", 7)) {
    char b;
    int e = 0;
    if (pread(fd, &b, 1, 0) != 1) e = errno ? errno : EIO;
    else if (pwrite(w, &b, 1, 0) != 1) e = errno;
    printf(" wbyte=%s", en(e));
  }
  if (w >= 0) close(w);
}

static int cmd_exe(const char *path) {
  char link[PATH_MAX];
  link_of(path, link, sizeof(link));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  printf("path=%s link=%s open=%s", path, link, en(fd < 0 ? errno : 0));
  if (fd >= 0) {
    int seals = fcntl(fd, F_GET_SEALS);
    printf(" seals=%d sealed_write=%d", seals < 0 ? -errno : seals, seals >= 0 && (seals & F_SEAL_WRITE) ? 1 : 0);
    write_access(fd, link);
  }
  printf("\n");
  return 0;
}

static int cmd_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) {
    printf("error=%s\n", en(errno));
    return 1;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd == dirfd(d)) continue;
    char p[64], link[PATH_MAX];
    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    link_of(p, link, sizeof(link));
    printf("fd=%d target=%s\n", fd, link);
  }
  closedir(d);
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd))) printf("cwd=%s\n", cwd);
  else printf("cwd=(%s)\n", en(errno));
  struct stat c, r;
  if (stat(".", &c) == 0 && stat("/", &r) == 0) printf("cwd_is_root=%d\n", c.st_dev == r.st_dev && c.st_ino == r.st_ino);
  return 0;
}

static void probe_proc(int dir, const char *what) {
  struct statfs s;
  if (fstatfs(dir, &s) == 0 && s.f_type == 0x9fa0 /* PROC_SUPER_MAGIC */) {
    int w = openat(dir, "sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC);
    printf(" procfs=1 core_pattern_wopen=%s", en(w < 0 ? errno : 0));
    if (w >= 0) close(w);
  }
  (void)what;
}

static int cmd_reach(const char *pid) {
  struct stat root;
  stat("/", &root);
  const char *names[] = {"exe", "cwd", "root"};
  char p[PATH_MAX], link[PATH_MAX];
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof(p), "/proc/%s/%s", pid, names[i]);
    link_of(p, link, sizeof(link));
    int fd = open(p, O_PATH | O_CLOEXEC);
    printf("entry=%s link=%s open=%s", names[i], link, en(fd < 0 ? errno : 0));
    if (fd >= 0) {
      struct stat st;
      fstat(fd, &st);
      if (S_ISDIR(st.st_mode)) {
        int dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        // The container's "/" is fine; anything else must not be a way out.
        printf(" dir=1 is_our_root=%d", st.st_dev == root.st_dev && st.st_ino == root.st_ino);
        if (dfd >= 0) {
          probe_proc(dfd, names[i]);
          close(dfd);
        }
      }
      close(fd);
    }
    if (i == 0) {
      int rfd = open(p, O_RDONLY | O_CLOEXEC);
      if (rfd >= 0) {
        int seals = fcntl(rfd, F_GET_SEALS);
        printf(" seals=%d", seals < 0 ? -errno : seals);
        write_access(rfd, link);
        close(rfd);
      }
    }
    printf("\n");
  }
  snprintf(p, sizeof(p), "/proc/%s/fd", pid);
  DIR *d = opendir(p);
  if (!d) {
    printf("entry=fd open=%s\n", en(errno));
    return 0;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(p, sizeof(p), "/proc/%s/fd/%s", pid, e->d_name);
    link_of(p, link, sizeof(link));
    int fd = open(p, O_PATH | O_CLOEXEC);
    printf("entry=fd/%s link=%s open=%s", e->d_name, link, en(fd < 0 ? errno : 0));
    if (fd >= 0) {
      struct stat st;
      fstat(fd, &st);
      if (S_ISDIR(st.st_mode)) {
        int dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        printf(" dir=1 is_our_root=%d", st.st_dev == root.st_dev && st.st_ino == root.st_ino);
        if (dfd >= 0) {
          probe_proc(dfd, e->d_name);
          close(dfd);
        }
      }
      close(fd);
    }
    printf("\n");
  }
  closedir(d);
  return 0;
}

static int cmd_wopen(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    int fd = open(argv[i], O_WRONLY | O_CLOEXEC);
    printf("path=%s wopen=%s\n", argv[i], en(fd < 0 ? errno : 0));
    if (fd >= 0) close(fd);
  }
  return 0;
}

static int cmd_cat(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    printf("cat=%s\n", en(errno));
    return 0;
  }
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  buf[n > 0 ? n : 0] = 0;
  printf("cat=0 content=%s", buf);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && !strcmp(argv[1], "exe")) return cmd_exe(argv[2]);
  if (argc == 2 && !strcmp(argv[1], "fds")) return cmd_fds();
  if (argc == 3 && !strcmp(argv[1], "reach")) return cmd_reach(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "wopen")) return cmd_wopen(argc - 2, argv + 2);
  if (argc == 3 && !strcmp(argv[1], "cat")) return cmd_cat(argv[2]);
  fprintf(stderr, "usage: secprobe exe PATH | fds | reach PID | wopen PATH... | cat PATH\n");
  return 2;
}
