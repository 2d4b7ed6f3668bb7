// tsrun's native stages: the only code that runs between clone and exec. It holds no policy;
// the host and `tsrun init` (TypeScript) decide, this program carries out the plan it is given.
// See native/README.md and runtime/sys/protocol.ts (the protocol and its diagram).
//
//   helper enter <sync fd>     join/create namespaces, id-map handshake, fork, exec the next stage
//   helper init <plan fd>      drop privileges, wait on the exec fifo, seccomp, execve the process
//   helper userns <sync fd>    hold a user namespace while the host maps it (idmapped mounts)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <termios.h>

#include "protocol.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

static int sync_fd = -1;

// ── the sync channel ────────────────────────────────────────────────────────────────────────

// One send() per frame, so frames from stages sharing the socket never interleave; MSG_NOSIGNAL
// because a SIGPIPE disposition would otherwise have to be changed, and it survives execve.
static void put_frame(uint32_t type, const void *data, uint32_t len) {
  char buf[FRAME_HEADER + 4096];
  if (len > sizeof(buf) - FRAME_HEADER) len = sizeof(buf) - FRAME_HEADER;
  memcpy(buf, &type, 4);
  memcpy(buf + 4, &len, 4);
  if (len) memcpy(buf + FRAME_HEADER, data, len);
  if (sync_fd >= 0) send(sync_fd, buf, FRAME_HEADER + len, MSG_NOSIGNAL);
}

// data and one fd (SCM_RIGHTS) in a single sendmsg: -1 with errno on failure.
static int send_with_fd(int sock, const void *data, size_t len, int fd) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof(cbuf));
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

// A frame with an fd attached, as one message like every frame.
static int put_frame_fd(uint32_t type, const void *data, uint32_t len, int fd) {
  char buf[FRAME_HEADER + 64];
  if (len > sizeof(buf) - FRAME_HEADER) len = sizeof(buf) - FRAME_HEADER;
  memcpy(buf, &type, 4);
  memcpy(buf + 4, &len, 4);
  if (len) memcpy(buf + FRAME_HEADER, data, len);
  return send_with_fd(sync_fd, buf, FRAME_HEADER + len, fd);
}

// Once `start` has released the process, a failure goes back through the exec fifo instead.
static int fifo_report = -1;

static void __attribute__((noreturn, format(printf, 2, 3))) die(int err, const char *fmt, ...) {
  char msg[4096];
  va_list ap;
  msg[0] = FIFO_FAILED;
  memcpy(msg + 1, &err, 4);
  va_start(ap, fmt);
  int n = vsnprintf(msg + 5, sizeof(msg) - 5, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if (n > (int)sizeof(msg) - 6) n = sizeof(msg) - 6;
  if (fifo_report >= 0) {
    if (write(fifo_report, msg, 5 + n) < 0) {}
  } else {
    put_frame(MSG_ERROR, msg + 1, 4 + n);
  }
  _exit(1);
}

static int read_full(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += n;
  }
  return 0;
}

// The host going away mid-handshake ends the stage quietly: there is nobody left to report to.
static uint8_t *get_frame(uint32_t want, uint32_t *len) {
  uint32_t head[2];
  if (read_full(sync_fd, head, sizeof(head)) < 0) _exit(1);
  if (head[0] != want) die(EPROTO, "protocol: expected message %u, got %u", want, head[0]);
  uint8_t *data = malloc(head[1] + 1);
  if (!data) die(ENOMEM, "malloc");
  if (head[1] && read_full(sync_fd, data, head[1]) < 0) _exit(1);
  data[head[1]] = 0;
  *len = head[1];
  return data;
}

// ── plan records ────────────────────────────────────────────────────────────────────────────

struct rec {
  uint16_t tag;
  uint32_t len;
  const uint8_t *data;
};

static int next_rec(const uint8_t **p, const uint8_t *end, struct rec *r) {
  if (end - *p < RECORD_HEADER) return 0;
  memcpy(&r->tag, *p, 2);
  memcpy(&r->len, *p + 4, 4);
  if (r->len > (size_t)(end - *p - RECORD_HEADER)) die(EINVAL, "plan: record %u overruns the plan", r->tag);
  r->data = *p + RECORD_HEADER;
  *p += RECORD_HEADER + r->len;
  return 1;
}

static uint32_t rec_u32(const struct rec *r, unsigned i) {
  uint32_t v;
  if (r->len < 4 * (i + 1)) die(EINVAL, "plan: record %u too short", r->tag);
  memcpy(&v, r->data + 4 * i, 4);
  return v;
}

static uint64_t rec_u64(const struct rec *r, unsigned i) {
  uint64_t v;
  if (r->len < 8 * (i + 1)) die(EINVAL, "plan: record %u too short", r->tag);
  memcpy(&v, r->data + 8 * i, 8);
  return v;
}

static char *rec_str(const struct rec *r, unsigned skip) {
  if (r->len <= skip || r->data[r->len - 1] != 0) die(EINVAL, "plan: record %u is not a string", r->tag);
  return (char *)r->data + skip;
}

struct strv {
  char **v;
  size_t n, cap;
};

static void strv_push(struct strv *s, char *str) {
  if (s->n + 2 > s->cap) {
    s->cap = s->cap ? 2 * s->cap : 16;
    s->v = realloc(s->v, s->cap * sizeof(char *));
    if (!s->v) die(ENOMEM, "malloc");
  }
  s->v[s->n++] = str;
  s->v[s->n] = NULL;
}

// ── enter stage ─────────────────────────────────────────────────────────────────────────────

static int wait_child(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 255;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

static int recv_fd(int sock) {
  char data[256], cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
  struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

static volatile sig_atomic_t winch = 1;
static void on_winch(int sig) { (void)sig; winch = 1; }

static int copy_some(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof(buf));
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : 0;
  for (ssize_t at = 0; at < n;) {
    ssize_t w = write(to, buf + at, n - at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    at += w;
  }
  return 1;
}

// A terminal in the foreground: the exec stage makes the pty inside the container and sends us
// its master; we copy our stdin to it and it to our stdout, in raw mode, following our window
// size, until the container's side is closed (read gives EIO once every slave fd is gone).
static void relay(int sock, pid_t child) {
  int master = recv_fd(sock);
  close(sock);
  if (master < 0) return; // the child failed before making the pty; its status says why
  struct termios saved;
  int tty = isatty(0) && tcgetattr(0, &saved) == 0;
  if (tty) {
    struct termios raw = saved;
    cfmakeraw(&raw);
    tcsetattr(0, TCSANOW, &raw);
  }
  struct sigaction sa = {.sa_handler = on_winch};
  sigaction(SIGWINCH, &sa, NULL);
  int in_open = 1;
  for (;;) {
    if (winch) {
      winch = 0;
      struct winsize ws;
      if (tty && ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
    }
    struct pollfd p[2] = {{.fd = master, .events = POLLIN}, {.fd = in_open ? 0 : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!copy_some(master, 1)) break;
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!copy_some(0, master)) in_open = 0;
    }
  }
  if (tty) tcsetattr(0, TCSANOW, &saved);
  close(master);
  (void)child;
}

// fork(), straight into the cgroup2 directory `cgroup_fd` when there is one (clone3
// CLONE_INTO_CGROUP, Linux 5.7): no migration afterwards, so no wait for the kernel's
// threadgroup lock. Where the kernel cannot (older, or no permission from inside a user
// namespace) this is a plain fork and *joined says so; the host then moves the child.
static pid_t fork_into_cgroup(int cgroup_fd, int ask, uint32_t *joined) {
  if (cgroup_fd >= 0) {
    struct {
      uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
    } args = {.flags = 0x200000000ULL /* CLONE_INTO_CGROUP */, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_fd};
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid >= 0) {
      if (pid > 0) *joined |= CHILD_JOINED_CGROUP2;
      return (pid_t)pid;
    }
    if (errno != ENOSYS && errno != E2BIG && errno != EINVAL && errno != EPERM && errno != EACCES && errno != ENOENT)
      die(errno, "fork into the container's cgroup");
    if (ask) {
      uint32_t len;
      put_frame(MSG_MOVE_ME, NULL, 0);
      free(get_frame(MSG_MOVED, &len));
      *joined |= CHILD_JOINED_CGROUP2;
    }
  }
  pid_t pid = fork();
  if (pid < 0) die(errno, "fork");
  return pid;
}

static int enter(void) {
  uint32_t len;
  const uint8_t *plan = get_frame(MSG_ENTER_PLAN, &len), *p = plan, *end = plan + len;
  struct rec r;
  struct { int type, fd; const char *path; } ns[32];
  int nns = 0, newuser = 0, stay = 0, become_root = -1, exec_fd = -1, relay_fd = -1, relay_child_fd = -1;
  int tasks[32], ntasks = 0, cgroup2_fd = -1, cgroup2_ask = 0;
  uint32_t unshare_flags = 0;
  const char *timens = NULL;
  struct strv argv = {0}, envp = {0};

  while (next_rec(&p, end, &r)) {
    switch (r.tag) {
    case ENTER_SETNS:
      if (nns == 32) die(E2BIG, "plan: too many namespaces");
      ns[nns].type = rec_u32(&r, 0);
      ns[nns].path = rec_str(&r, 4);
      // Open every path before joining anything: a joined mount namespace changes what the
      // remaining paths resolve to.
      ns[nns].fd = open(ns[nns].path, O_RDONLY | O_CLOEXEC);
      if (ns[nns].fd < 0) die(errno, "open namespace %s", ns[nns].path);
      nns++;
      break;
    case ENTER_NEWUSER: newuser = 1; break;
    case ENTER_UNSHARE: unshare_flags = rec_u32(&r, 0); break;
    case ENTER_TIMENS_OFFSETS: timens = rec_str(&r, 0); break;
    case ENTER_EXEC_FD: exec_fd = rec_u32(&r, 0); break;
    case ENTER_ARG: strv_push(&argv, rec_str(&r, 0)); break;
    case ENTER_ENV: strv_push(&envp, rec_str(&r, 0)); break;
    case ENTER_STAY: stay = 1; break;
    case ENTER_BECOME_ROOT: become_root = rec_u32(&r, 0); break;
    case ENTER_RELAY: relay_fd = rec_u32(&r, 0); relay_child_fd = rec_u32(&r, 1); break;
    case ENTER_CGROUP_TASKS:
      if (ntasks == 32) die(E2BIG, "plan: too many cgroup hierarchies");
      tasks[ntasks++] = rec_u32(&r, 0);
      break;
    case ENTER_CGROUP2: cgroup2_fd = rec_u32(&r, 0); cgroup2_ask = rec_u32(&r, 1); break;
    default: die(EINVAL, "plan: unknown enter record %u", r.tag);
    }
  }
  if (exec_fd < 0 || !argv.n) die(EINVAL, "plan: nothing to execute");
  if (!envp.v) strv_push(&envp, NULL);

  // The host ordered these (a user namespace first); we follow its order. A cgroup namespace
  // is joined by the child when it forks into a cgroup2 directory: with nsdelegate the kernel
  // refuses (ENOENT) a fork into a cgroup from inside a cgroup namespace whose root it is not
  // below, and ours is not yet.
  int cgroupns_fd = -1;
  for (int i = 0; i < nns; i++) {
    if (cgroup2_fd >= 0 && ns[i].type == CLONE_NEWCGROUP) {
      cgroupns_fd = ns[i].fd;
      continue;
    }
    if (setns(ns[i].fd, ns[i].type) < 0) die(errno, "setns %s", ns[i].path);
    close(ns[i].fd);
  }
  if (newuser) {
    if (unshare(CLONE_NEWUSER) < 0) die(errno, "unshare user namespace");
    put_frame(MSG_USERNS_READY, NULL, 0);
    free(get_frame(MSG_USERNS_MAPPED, &len));
  }
  if (unshare_flags && unshare(unshare_flags) < 0) die(errno, "unshare namespaces 0x%x", unshare_flags);
  // Offsets can only be written before any process enters the new time namespace.
  if (timens) {
    int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, timens, strlen(timens)) < 0) die(errno, "write /proc/self/timens_offsets");
    close(fd);
  }

  // The child's first frame (the exec stage's READY, or an error) shares the sync socket with
  // our CHILD_PID, which the host must read first; nothing orders two writers. So the child
  // waits on this socket, just before it execs, until CHILD_PID is out (measured without it: 4
  // of 480 concurrent execs had READY arrive first). A socket rather than a pipe: a child that
  // died first must not kill us with SIGPIPE (MSG_NOSIGNAL), and our death is its EOF.
  int order[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, order) < 0) die(errno, "socketpair");
  uint32_t joined = 0;
  pid_t pid = fork_into_cgroup(cgroup2_fd, cgroup2_ask, &joined);
  if (pid == 0) {
    close(order[1]);
    // Into the container's v1 cgroups before anything runs. A single-threaded process moving
    // itself ("0" to `tasks`) skips the kernel's global threadgroup lock, whose first taking
    // waits for an RCU grace period (~10 ms): the host writing our pid to cgroup.procs would.
    for (int i = 0; i < ntasks; i++)
      if (write(tasks[i], "0", 1) != 1) die(errno, "join the container's cgroup");
    for (int i = 0; i < ntasks; i++) close(tasks[i]);
    if (cgroup2_fd >= 0) close(cgroup2_fd);
    if (cgroupns_fd >= 0) {
      if (setns(cgroupns_fd, CLONE_NEWCGROUP) < 0) die(errno, "setns cgroup namespace");
      close(cgroupns_fd);
    }
    // A session of its own, as with runc: the caller's terminal signals (Ctrl-C) go to the
    // caller, which forwards them, not straight into the container.
    if (setsid() < 0) die(errno, "setsid");
    if (become_root >= 0) {
      if (become_root == 1 && setgroups(0, NULL) < 0) die(errno, "setgroups in the user namespace");
      if (setresgid(0, 0, 0) < 0) die(errno, "become gid 0 in the user namespace");
      if (setresuid(0, 0, 0) < 0) die(errno, "become uid 0 in the user namespace");
    }
    if (relay_fd >= 0) close(relay_fd);
    char go;
    ssize_t n;
    do n = read(order[0], &go, 1);
    while (n < 0 && errno == EINTR);
    // EOF: the parent died without reporting us; the host sees the channel close.
    if (n != 1) _exit(1);
    close(order[0]);
    syscall(SYS_execveat, exec_fd, "", argv.v, envp.v, AT_EMPTY_PATH);
    die(errno, "execveat %s", argv.v[0]);
  }
  for (int i = 0; i < ntasks; i++) close(tasks[i]);
  if (cgroup2_fd >= 0) close(cgroup2_fd);
  if (cgroupns_fd >= 0) close(cgroupns_fd);
  close(order[0]);
  uint32_t child[2] = {(uint32_t)pid, joined};
  // With a pidfd of it: taken while the child is ours and unreleased, it cannot have exited and
  // been reaped by a subreaper (conmon, containerd's shim) before anyone holds it. The host
  // passes it on for --pidfd-socket.
  long pidfd = syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) put_frame(MSG_CHILD_PID, child, sizeof(child));
  else {
    if (put_frame_fd(MSG_CHILD_PID, child, sizeof(child), (int)pidfd) < 0) die(errno, "report the child");
    close((int)pidfd);
  }
  // A child that already died (and said why on the sync socket) is no error of ours.
  if (send(order[1], "g", 1, MSG_NOSIGNAL) != 1 && errno != EPIPE && errno != ECONNRESET) die(errno, "release the child");
  close(order[1]);
  if (!stay) _exit(0);

  // Foreground: stay the child's parent so its status comes back to the host. The terminal's
  // job-control signals are for the container, which the host forwards them to; ignoring them
  // here (after the fork) keeps them out of the child.
  close(sync_fd);
  if (relay_child_fd >= 0) close(relay_child_fd);
  int sigs[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGHUP, SIGPIPE};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) signal(sigs[i], SIG_IGN);
  if (relay_fd >= 0) relay(relay_fd, pid);
  return wait_child(pid);
}

// ── exec stage ──────────────────────────────────────────────────────────────────────────────

static void setup_console(int sock, unsigned rows, unsigned cols, int bind_console) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die(errno, "open /dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die(errno, "unlock pty");
  // TIOCGPTPEER opens the peer of this very master, with no path lookup to race.
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) die(errno, "open pty peer");
  struct statfs sfs;
  struct stat st;
  if (fstatfs(slave, &sfs) < 0 || sfs.f_type != DEVPTS_SUPER_MAGIC || fstat(slave, &st) < 0 || !S_ISCHR(st.st_mode))
    die(EXDEV, "pty peer is not on devpts");
  if (rows || cols) {
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (ioctl(master, TIOCSWINSZ, &ws) < 0) die(errno, "set console size");
  }
  unsigned ptn = 0;
  if (ioctl(master, TIOCGPTN, &ptn) < 0) die(errno, "get pty number");
  char name[64];
  int namelen = snprintf(name, sizeof(name), "/dev/pts/%u", ptn);
  if (send_with_fd(sock, name, namelen, master) < 0) die(errno, "send pty master to the console socket");
  close(master);
  close(sock);
  // /dev/console is the pty too (init made an empty file there for it).
  if (bind_console && mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0) die(errno, "bind %s onto /dev/console", name);
  if (getsid(0) != getpid() && setsid() < 0) die(errno, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die(errno, "make the pty the controlling terminal");
  for (int fd = 0; fd < 3; fd++)
    if (dup3(slave, fd, 0) < 0) die(errno, "dup pty onto fd %d", fd);
  if (slave > 2) close(slave);
}

// With SECCOMP_FILTER_FLAG_NEW_LISTENER the kernel returns the notify fd: it goes to the host
// (SCM_RIGHTS on the sync socket), which hands it to the listener.
static void install_seccomp(const struct rec *r) {
  if (r->len < 8 || (r->len - 8) % sizeof(struct sock_filter)) die(EINVAL, "plan: bad seccomp program");
  struct sock_fprog prog = {
      .len = (unsigned short)((r->len - 8) / sizeof(struct sock_filter)),
      .filter = (struct sock_filter *)(r->data + 8),
  };
  uint32_t flags = rec_u32(r, 0);
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (fd < 0) die(errno, "install seccomp filter");
  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
    if (put_frame_fd(MSG_SECCOMP_FD, NULL, 0, (int)fd) < 0) die(errno, "send the seccomp notify fd");
    close((int)fd);
  }
}

static void set_caps(const uint64_t caps[5]) {
  // Drop from the bounding set while still uid 0 with CAP_SETPCAP effective.
  for (int cap = 0; cap < 64; cap++) {
    if (caps[0] & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break; // past the kernel's last capability
      die(errno, "drop capability %d from the bounding set", cap);
    }
  }
}

static void set_caps_final(const uint64_t caps[5]) {
  struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(caps[1] >> (32 * i));
    data[i].permitted = (uint32_t)(caps[2] >> (32 * i));
    data[i].inheritable = (uint32_t)(caps[3] >> (32 * i));
  }
  if (syscall(SYS_capset, &head, data) < 0) die(errno, "set capabilities");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) die(errno, "clear ambient capabilities");
  // An ambient capability needs to be permitted and inheritable; like runc, one that is not is
  // skipped (the host warns about it when it plans the process).
  for (int cap = 0; cap < 64; cap++)
    if ((caps[4] & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 && errno != EPERM)
      die(errno, "raise ambient capability %d", cap);
}

// Finds args[0] the way runc's Go LookPath does: a name with a slash is used as is, otherwise
// the first PATH entry (from the process env) holding a non-directory with an x bit wins.
static char *lookup(const char *name, char **envp) {
  struct stat st;
  if (strchr(name, '/')) {
    if (stat(name, &st) < 0) die(errno, OP_LOOKUP " %s", name);
    if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) die(EACCES, OP_LOOKUP " %s", name);
    return (char *)name;
  }
  const char *path = "";
  for (char **e = envp; e && *e; e++)
    if (!strncmp(*e, "PATH=", 5)) path = *e + 5;
  size_t nlen = strlen(name);
  while (*path) {
    const char *colon = strchrnul(path, ':');
    size_t dlen = colon - path;
    char *full = malloc(dlen + nlen + 3);
    if (!full) die(ENOMEM, "malloc");
    if (dlen) memcpy(full, path, dlen); else full[dlen++] = '.';
    full[dlen] = '/';
    memcpy(full + dlen + 1, name, nlen + 1);
    if (stat(full, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111)) return full;
    free(full);
    path = *colon ? colon + 1 : colon;
  }
  die(ENOENT, OP_LOOKUP " %s", name);
}

// close_range(CLOSE_RANGE_CLOEXEC) arrived in Linux 5.11; before that, walk the open fds.
static void cloexec_from(int first) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) die(errno, "list open fds");
  struct dirent *e;
  while ((e = readdir(d))) {
    int fd = atoi(e->d_name);
    if (fd >= first && fd != dirfd(d)) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  closedir(d);
}

// chdir to the process's cwd; with `must`, a failure is fatal, otherwise it is reported.
static int enter_cwd(const char *cwd, int must) {
  if (chdir(cwd) < 0) {
    if (!must && (errno == EACCES || errno == EPERM)) return -1;
    die(errno, "chdir to cwd %s", cwd);
  }
  // CVE-2024-21626: a cwd reached through a leaked fd lies outside the root; getcwd() then
  // fails (glibc turns the kernel's "(unreachable)" into ENOENT).
  char buf[4096];
  errno = 0;
  if (!getcwd(buf, sizeof(buf)) || buf[0] != '/') die(errno ? errno : ENOENT, OP_CWD_UNREACHABLE " %s", cwd);
  return 0;
}

static void set_exec_label(const struct rec *r) {
  int proc = rec_u32(r, 0);
  const char *lsm = rec_str(r, 4), *value = lsm + strlen(lsm) + 1;
  if (value >= (const char *)r->data + r->len) die(EINVAL, "plan: bad LSM record");
  // AppArmor's own directory first, the shared attr/exec (also SELinux's) after.
  char path[64];
  int fd = -1;
  if (!strcmp(lsm, "apparmor")) fd = openat(proc, "thread-self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    snprintf(path, sizeof(path), "thread-self/attr/exec");
    fd = openat(proc, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  struct statfs sfs;
  if (fd < 0) die(errno, "%s: open attr/exec", lsm);
  if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC) die(EXDEV, "%s: attr/exec is not on procfs", lsm);
  if (write(fd, value, strlen(value)) < 0) die(errno, "%s: set the label \"%s\"", lsm, value);
  close(fd);
}

// A startContainer hook: state on stdin, its stderr kept for the error, bounded by its timeout.
static void run_hook(const struct rec *r, const char *state) {
  uint32_t timeout = rec_u32(r, 0), argc = rec_u32(r, 1), envc = rec_u32(r, 2);
  struct strv args = {0}, env = {0};
  const char *p = (const char *)r->data + 12, *end = (const char *)r->data + r->len;
  const char *path = p;
  for (uint32_t i = 0; i < 1 + argc + envc; i++) {
    const char *nul = memchr(p, 0, end - p);
    if (!nul) die(EINVAL, "plan: bad hook record");
    if (i > 0 && i <= argc) strv_push(&args, (char *)p);
    if (i > argc) strv_push(&env, (char *)p);
    p = nul + 1;
  }
  if (!args.n) strv_push(&args, (char *)path);
  if (!env.v) strv_push(&env, NULL);
  int in[2], err[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) die(errno, "hook %s: pipe", path);
  pid_t pid = fork();
  if (pid < 0) die(errno, "hook %s: fork", path);
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (dup2(in[0], 0) < 0 || dup2(devnull >= 0 ? devnull : err[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(126);
    execve(path, args.v, env.v);
    _exit(127);
  }
  close(in[0]);
  close(err[1]);
  for (size_t at = 0, len = strlen(state); at < len;) {
    ssize_t n = write(in[1], state + at, len - at);
    if (n <= 0) break; // a hook that does not read its stdin is fine
    at += n;
  }
  close(in[1]);
  int pidfd = syscall(SYS_pidfd_open, pid, 0);
  char said[512] = "";
  size_t saidlen = 0;
  int done = 0, timed_out = 0;
  while (!done) {
    struct pollfd pf[2] = {{.fd = err[0], .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
    int n = poll(pf, 2, timeout ? (int)timeout * 1000 : -1);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      kill(pid, SIGKILL);
      timed_out = done = 1;
    }
    if (pf[0].revents) {
      char buf[512];
      ssize_t got = read(err[0], buf, sizeof(buf));
      if (got > 0) {
        size_t keep = got > (ssize_t)(sizeof(said) - 1) ? sizeof(said) - 1 : (size_t)got;
        if (saidlen + keep > sizeof(said) - 1) saidlen = 0;
        memcpy(said + saidlen, buf + got - keep, keep);
        saidlen += keep;
        said[saidlen] = 0;
      } else {
        pf[0].fd = -1;
        err[0] = -1;
      }
    }
    if (pf[1].revents || pidfd < 0) done = 1;
  }
  int status = wait_child(pid);
  if (timed_out) die(ETIMEDOUT, "hooks.startContainer %s: timed out after %u s", path, timeout);
  for (char *c = said; *c; c++)
    if (*c == '\n') *c = ' ';
  if (status) die(0, "hooks.startContainer %s: exited with status %d%s%s", path, status, saidlen ? ": " : "", said);
}

static int exec_stage(int plan_fd) {
  struct stat st;
  if (fstat(plan_fd, &st) < 0) die(errno, "stat plan");
  uint8_t *plan = malloc(st.st_size + 1);
  if (!plan || pread(plan_fd, plan, st.st_size, 0) != st.st_size) die(errno, "read plan");
  close(plan_fd);
  // While it waits for `start`, this process is pid 1 of the container: keep its fds and memory
  // out of reach of anything else in there. execve() resets it for the container process.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  const uint8_t *p = plan, *end = plan + st.st_size;
  struct rec r, seccomp = {0}, groups = {0};
  struct strv argv = {0}, envp = {0};
  const char *cwd = NULL;
  uid_t uid = 0;
  gid_t gid = 0;
  int have_caps = 0, nnp = 0, setsid_flag = 0, have_umask = 0;
  uint32_t seccomp_when = SECCOMP_WHEN_LATE;
  int fifo_fd = -1, proc_fd = -1, console_fd = -1, bind_console = 0;
  unsigned rows = 0, cols = 0, preserve = 0;
  struct rec rlimits[32], hooks[64], lsm[2], sched = {0}, mempolicy = {0}, affinity = {0};
  int nrlimits = 0, nhooks = 0, nlsm = 0, have_persona = 0, have_ioprio = 0;
  uint32_t persona = 0, ioprio = 0;
  const char *hook_state = "{}";
  mode_t mask = 022;
  uint64_t caps[5] = {0};

  while (next_rec(&p, end, &r)) {
    switch (r.tag) {
    case EXEC_ARG: strv_push(&argv, rec_str(&r, 0)); break;
    case EXEC_ENV: strv_push(&envp, rec_str(&r, 0)); break;
    case EXEC_CWD: cwd = rec_str(&r, 0); break;
    case EXEC_UID: uid = rec_u32(&r, 0); break;
    case EXEC_GID: gid = rec_u32(&r, 0); break;
    case EXEC_GROUPS: groups = r; groups.tag = 1; break;
    case EXEC_UMASK: mask = rec_u32(&r, 0); have_umask = 1; break;
    case EXEC_CAPS:
      for (int i = 0; i < 5; i++) caps[i] = rec_u64(&r, i);
      have_caps = 1;
      break;
    case EXEC_NO_NEW_PRIVS: nnp = 1; break;
    case EXEC_SECCOMP:
      seccomp = r;
      seccomp_when = rec_u32(&r, 1);
      break;
    case EXEC_FIFO: fifo_fd = rec_u32(&r, 0); proc_fd = rec_u32(&r, 1); break;
    case EXEC_PRESERVE_FDS: preserve = rec_u32(&r, 0); break;
    case EXEC_CONSOLE:
      console_fd = rec_u32(&r, 0);
      rows = rec_u32(&r, 1) >> 16;
      cols = rec_u32(&r, 1) & 0xffff;
      bind_console = rec_u32(&r, 2);
      break;
    case EXEC_SETSID: setsid_flag = 1; break;
    case EXEC_SYNC: sync_fd = rec_u32(&r, 0); break;
    case EXEC_RLIMIT:
      if (nrlimits == 32) die(E2BIG, "plan: too many rlimits");
      rlimits[nrlimits++] = r;
      break;
    case EXEC_HOOK:
      if (nhooks == 64) die(E2BIG, "plan: too many hooks");
      hooks[nhooks++] = r;
      break;
    case EXEC_HOOK_STATE: hook_state = rec_str(&r, 0); break;
    case EXEC_PERSONALITY: persona = rec_u32(&r, 0); have_persona = 1; break;
    case EXEC_IOPRIO: ioprio = rec_u32(&r, 0); have_ioprio = 1; break;
    case EXEC_SCHED: sched = r; break;
    case EXEC_MEMPOLICY: mempolicy = r; break;
    case EXEC_AFFINITY: affinity = r; break;
    case EXEC_LSM:
      if (nlsm == 2) die(E2BIG, "plan: too many LSM records");
      lsm[nlsm++] = r;
      break;
    default: die(EINVAL, "plan: unknown exec record %u", r.tag);
    }
  }
  if (!argv.n) die(EINVAL, "plan: no process args");
  if (!envp.v) strv_push(&envp, NULL);

  // While still root: lowering is always allowed, raising a hard limit needs CAP_SYS_RESOURCE.
  for (int i = 0; i < nrlimits; i++) {
    struct rlimit64 lim = {.rlim_cur = rec_u64(&rlimits[i], 1), .rlim_max = rec_u64(&rlimits[i], 2)};
    if (prlimit64(0, rec_u32(&rlimits[i], 0), &lim, NULL) < 0) die(errno, "rlimit %s", rec_str(&rlimits[i], 24));
  }
  // Process attributes that survive execve, set while still privileged (an RT policy or a
  // raised priority needs CAP_SYS_NICE).
  if (have_persona && personality(persona) < 0) die(errno, "process.personality");
  if (have_ioprio && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, ioprio) < 0) die(errno, "process.ioPriority");
  if (sched.len && syscall(SYS_sched_setattr, 0, sched.data, 0) < 0) die(errno, "process.scheduler");
  if (mempolicy.len) {
    unsigned long maxnode = (mempolicy.len - 4) * 8;
    if (syscall(SYS_set_mempolicy, rec_u32(&mempolicy, 0), maxnode ? (const void *)(mempolicy.data + 4) : NULL, maxnode) < 0)
      die(errno, "linux.memoryPolicy");
  }
  if (console_fd >= 0) setup_console(console_fd, rows, cols, bind_console);
  else if (setsid_flag && getsid(0) != getpid() && setsid() < 0) die(errno, "setsid");

  // Only stdio and the preserved fds reach the container (CVE-2024-21626); the rest (the plan,
  // sync socket, fifo, procfs handle and anything inherited) closes at execve. Done before any
  // seccomp filter, which need not allow these calls.
  for (unsigned fd = 3; fd < 3 + preserve; fd++) fcntl(fd, F_SETFD, 0);
  if (syscall(SYS_close_range, 3 + preserve, ~0U, CLOSE_RANGE_CLOEXEC) < 0) cloexec_from(3 + preserve);
  // A JS runtime puts its pipes in non-blocking mode; the flag lives in the shared open file
  // description, and a container process must never inherit it.
  for (int fd = 0; fd < 3; fd++) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }

  // The cwd is entered (and checked) while still privileged, so a filter that denies getcwd
  // cannot break the check; a cwd only the container's user may enter is retried after the
  // switch to that user (user namespaces), as runc does.
  int cwd_pending = cwd && enter_cwd(cwd, 0) < 0;

  // Without no_new_privs the filter needs CAP_SYS_ADMIN, so it goes in before the privileges
  // are dropped (the profile must then allow the calls that follow, as with runc).
  if (seccomp.len && seccomp_when == SECCOMP_WHEN_EARLY) install_seccomp(&seccomp);

  if (groups.tag) {
    size_t n = groups.len / 4;
    gid_t *list = calloc(n + 1, sizeof(gid_t));
    if (!list) die(ENOMEM, "malloc");
    for (size_t i = 0; i < n; i++) list[i] = rec_u32(&groups, i);
    if (setgroups(n, list) < 0) die(errno, "setgroups");
  }
  if (have_caps) set_caps(caps);
  // Keep the permitted set across the uid change; set_caps_final then sets exactly what was asked.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die(errno, "keep capabilities");
  if (setresgid(gid, gid, gid) < 0) die(errno, "setgid %u", gid);
  if (setresuid(uid, uid, uid) < 0) die(errno, "setuid %u", uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) die(errno, "reset keep capabilities");
  if (have_caps) set_caps_final(caps);
  if (have_umask) umask(mask);

  if (cwd_pending) enter_cwd(cwd, 1);
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die(errno, "set no_new_privs");

  char *path = lookup(argv.v[0], envp.v);

  if (seccomp.len && seccomp_when == SECCOMP_WHEN_BEFORE_READY) install_seccomp(&seccomp);
  int w = -1;
  if (fifo_fd >= 0) {
    put_frame(MSG_READY, NULL, 0);
    char link[64];
    snprintf(link, sizeof(link), "self/fd/%d", fifo_fd);
    // Opening a fifo for writing blocks until `start` opens it for reading; from then on,
    // `start` waits for our verdict there.
    w = openat(proc_fd, link, O_WRONLY | O_CLOEXEC);
    if (w < 0) die(errno, "open exec fifo");
    fifo_report = w;
  }
  for (int i = 0; i < nhooks; i++) run_hook(&hooks[i], hook_state);
  if (w >= 0) {
    // The write end stays open (O_CLOEXEC) through seccomp and execve: `start` sees it close
    // when the process is really executing, or reads the error if that fails.
    char ok = FIFO_OK;
    if (write(w, &ok, 1) != 1) die(errno, "write exec fifo");
  } else {
    put_frame(MSG_READY, NULL, 0);
  }
  if (affinity.len && sched_setaffinity(0, affinity.len, (const cpu_set_t *)affinity.data) < 0) die(errno, "process.execCPUAffinity.final");
  // LSM labels for the execve; the attr files are reached through a checked procfs handle, never
  // through the container's /proc (CVE-2019-16884).
  for (int i = 0; i < nlsm; i++) set_exec_label(&lsm[i]);
  if (seccomp.len && seccomp_when == SECCOMP_WHEN_LATE) install_seccomp(&seccomp);
  execve(path, argv.v, envp.v);
  die(errno, "execve %s", path);
}

// A user namespace that only holds id maps, for idmapped mounts: the host writes its maps and
// keeps an fd of it (/proc/<pid>/ns/user); this process lives until the host closes the socket.
static int userns_holder(void) {
  uint32_t len;
  if (unshare(CLONE_NEWUSER) < 0) die(errno, "unshare user namespace for an idmapped mount");
  put_frame(MSG_USERNS_READY, NULL, 0);
  free(get_frame(MSG_USERNS_MAPPED, &len));
  char c;
  while (read(sync_fd, &c, 1) > 0 || errno == EINTR) {}
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "enter")) {
    sync_fd = atoi(argv[2]);
    return enter();
  }
  if (argc == 3 && !strcmp(argv[1], "init")) return exec_stage(atoi(argv[2]));
  if (argc == 3 && !strcmp(argv[1], "userns")) {
    sync_fd = atoi(argv[2]);
    return userns_holder();
  }
  fprintf(stderr, "tsrun-helper: internal program of tsrun, not meant to be run by hand\n");
  return 2;
}
