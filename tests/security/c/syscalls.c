// syscalls: tries a list of system calls, each in a forked child (so a changed persona, a new
// namespace or a killing filter action stays there), and prints name=result: 0 for success,
// the errno's name, or SIG<n> when the child was killed. Arguments are chosen so that nothing
// happens even where the call is allowed and permitted (bad fds, missing paths, NULL buffers,
// read-only queries). x86_64.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

typedef long (*probe_fn)(void);

#define S(...) syscall(__VA_ARGS__)
static char buf[4096];

static long p_read(void) { return S(SYS_read, -1, buf, 1); }
static long p_write(void) { return S(SYS_write, -1, buf, 1); }
static long p_openat(void) { return S(SYS_openat, AT_FDCWD, "/nonexistent", O_RDONLY); }
static long p_close(void) { return S(SYS_close, -1); }
static long p_getpid(void) { return S(SYS_getpid) > 0 ? 0 : -1; }
static long p_gettid(void) { return S(SYS_gettid) > 0 ? 0 : -1; }
static long p_getuid(void) { return S(SYS_getuid) >= 0 ? 0 : -1; }
static long p_uname(void) { return S(SYS_uname, buf); }
static long p_getcwd(void) { return S(SYS_getcwd, buf, sizeof(buf)) > 0 ? 0 : -1; }
static long p_dup(void) { return S(SYS_dup, -1); }
static long p_pipe2(void) { int f[2]; return S(SYS_pipe2, f, O_CLOEXEC); }
static long p_mmap(void) { long a = S(SYS_mmap, 0, 4096, 3, 0x22, -1, 0); return a == -1 ? -1 : S(SYS_munmap, a, 4096); }
static long p_mprotect(void) { return S(SYS_mprotect, (void *)((uintptr_t)buf & ~4095UL), 0, 1); }
static long p_brk(void) { return S(SYS_brk, 0) > 0 ? 0 : -1; }
static long p_nanosleep(void) { struct timespec t = {0, 0}; return S(SYS_nanosleep, &t, NULL); }
static long p_clock_gettime(void) { struct timespec t; return S(SYS_clock_gettime, CLOCK_MONOTONIC, &t); }
static long p_getrandom(void) { return S(SYS_getrandom, buf, 8, 0) == 8 ? 0 : -1; }
static long p_fstat(void) { return S(SYS_fstat, -1, buf); }
static long p_newfstatat(void) { return S(SYS_newfstatat, AT_FDCWD, "/", buf, 0); }
static long p_statx(void) { return S(SYS_statx, AT_FDCWD, "/", 0, 0x7ff, buf); }
static long p_lseek(void) { return S(SYS_lseek, -1, 0, 0); }
static long p_ioctl(void) { return S(SYS_ioctl, -1, 0x5401, buf); }
static long p_fcntl(void) { return S(SYS_fcntl, -1, F_GETFD); }
static long p_socket_inet(void) { return S(SYS_socket, AF_INET, SOCK_STREAM, 0); }
static long p_socket_unix(void) { return S(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }
static long p_socketpair(void) { int f[2]; return S(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, f); }
static long p_socket_netlink_route(void) { return S(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE); }
static long p_socket_netlink_audit(void) { return S(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_AUDIT); }
static long p_socket_packet(void) { return S(SYS_socket, 17 /* AF_PACKET */, SOCK_RAW, 0); }
static long p_connect(void) { return S(SYS_connect, -1, NULL, 0); }
static long p_bind(void) { return S(SYS_bind, -1, NULL, 0); }
static long p_prctl_get_dumpable(void) { return S(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0) >= 0 ? 0 : -1; }
static long p_arch_prctl_get_fs(void) { unsigned long fs; return S(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &fs); }
static long p_rt_sigaction(void) { return S(SYS_rt_sigaction, SIGUSR1, NULL, buf, 8); }
static long p_rt_sigprocmask(void) { return S(SYS_rt_sigprocmask, SIG_BLOCK, NULL, buf, 8); }
static long p_sched_yield(void) { return S(SYS_sched_yield); }
static long p_prlimit64_get(void) { return S(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, buf); }
static long p_getdents64(void) { return S(SYS_getdents64, -1, buf, sizeof(buf)); }
static long p_epoll_create1(void) { return S(SYS_epoll_create1, 0); }
static long p_eventfd2(void) { return S(SYS_eventfd2, 0, 0); }
static long p_memfd_create(void) { return S(SYS_memfd_create, "x", 0); }
static long p_io_uring_setup(void) { return S(SYS_io_uring_setup, 0, NULL); }
static long p_userfaultfd(void) { return S(SYS_userfaultfd, 0); }
static long p_fork(void) {
  long pid = S(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(pid, NULL, 0);
  return pid > 0 ? 0 : -1;
}
static long clone_ns(unsigned long flags) {
  long pid = S(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(pid, NULL, 0);
  return pid > 0 ? 0 : -1;
}
static long p_clone_newns(void) { return clone_ns(CLONE_NEWNS); }
static long p_clone_newuser(void) { return clone_ns(CLONE_NEWUSER); }
static long p_clone_newnet(void) { return clone_ns(CLONE_NEWNET); }
static long p_clone_newpid(void) { return clone_ns(CLONE_NEWPID); }
static long p_clone_newuts(void) { return clone_ns(CLONE_NEWUTS); }
static long p_clone_newipc(void) { return clone_ns(CLONE_NEWIPC); }
static long p_clone_newcgroup(void) { return clone_ns(CLONE_NEWCGROUP); }
static long p_clone3(void) { return S(SYS_clone3, NULL, 0); }
static long p_unshare_newuser(void) { return S(SYS_unshare, CLONE_NEWUSER); }
static long p_unshare_newns(void) { return S(SYS_unshare, CLONE_NEWNS); }
static long p_unshare_newnet(void) { return S(SYS_unshare, CLONE_NEWNET); }
static long p_unshare_newtime(void) { return S(SYS_unshare, CLONE_NEWTIME); }
static long p_setns(void) { return S(SYS_setns, -1, 0); }
// No segments would unload a loaded kernel: too many segments and an unknown flag are refused.
static long p_kexec_load(void) { return S(SYS_kexec_load, 0, 1000, NULL, 0x80); }
static long p_kexec_file_load(void) { return S(SYS_kexec_file_load, -1, -1, 0, "", 0); }
static long p_init_module(void) { return S(SYS_init_module, NULL, 0, ""); }
static long p_finit_module(void) { return S(SYS_finit_module, -1, "", 0); }
static long p_delete_module(void) { return S(SYS_delete_module, "tsrun_no_such_module", 0); }
static long p_keyctl(void) { return S(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* SESSION */, 0); }
static long p_add_key(void) { return S(SYS_add_key, "user", NULL, NULL, 0, -3); }
static long p_request_key(void) { return S(SYS_request_key, "user", NULL, NULL, 0); }
static long p_bpf(void) { return S(SYS_bpf, -1, NULL, 0); }
static long p_perf_event_open(void) { return S(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long p_ptrace(void) { return S(SYS_ptrace, PTRACE_PEEKUSER, 999999, 0, 0); }
static long p_process_vm_readv(void) { return S(SYS_process_vm_readv, 999999, NULL, 0, NULL, 0, 0); }
static long p_kcmp(void) { return S(SYS_kcmp, 999999, 999999, 0, 0, 0); }
static long p_mount(void) { return S(SYS_mount, NULL, "/nonexistent", NULL, 0, NULL); }
static long p_umount2(void) { return S(SYS_umount2, "/nonexistent", 0); }
static long p_pivot_root(void) { return S(SYS_pivot_root, "/nonexistent", "/nonexistent"); }
static long p_open_tree(void) { return S(SYS_open_tree, -1, "", 0); }
static long p_fsopen(void) { return S(SYS_fsopen, "tsrun-no-such-fs", 0); }
static long p_move_mount(void) { return S(SYS_move_mount, -1, "", -1, "", 0); }
static long p_swapon(void) { return S(SYS_swapon, "/nonexistent", 0); }
static long p_swapoff(void) { return S(SYS_swapoff, "/nonexistent"); }
static long p_reboot(void) { return S(SYS_reboot, 0, 0, 0, NULL); }
static long p_sethostname(void) { return S(SYS_sethostname, NULL, 1); }
static long p_setdomainname(void) { return S(SYS_setdomainname, NULL, 1); }
static long p_chroot(void) { return S(SYS_chroot, "/nonexistent"); }
static long p_clock_settime(void) { return S(SYS_clock_settime, CLOCK_REALTIME, NULL); }
static long p_settimeofday(void) { return S(SYS_settimeofday, (void *)1, NULL); }
static long p_adjtimex(void) { return S(SYS_adjtimex, NULL); }
static long p_clock_adjtime(void) { return S(SYS_clock_adjtime, CLOCK_REALTIME, NULL); }
static long p_acct(void) { return S(SYS_acct, "/nonexistent"); }
static long p_quotactl(void) { return S(SYS_quotactl, 0, NULL, 0, NULL); }
static long p_syslog(void) { return S(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0); }
// Without a controlling terminal (a session of its own) there is nothing to hang up.
static long p_vhangup(void) { setsid(); return S(SYS_vhangup); }
static long p_iopl(void) { return S(SYS_iopl, 4); }
static long p_ioperm(void) { return S(SYS_ioperm, 0, 1, 1); }
static long p_modify_ldt(void) { return S(SYS_modify_ldt, 0, buf, 16); }
static long p_uselib(void) { return S(SYS_uselib, NULL); }
static long p_ustat(void) { return S(SYS_ustat, 0, NULL); }
static long p_sysfs(void) { return S(SYS_sysfs, 3, NULL, NULL) >= 0 ? 0 : -1; }
static long p_name_to_handle_at(void) { return S(SYS_name_to_handle_at, -1, "", NULL, NULL, 0); }
static long p_open_by_handle_at(void) { return S(SYS_open_by_handle_at, -1, NULL, 0); }
static long p_lookup_dcookie(void) { return S(SYS_lookup_dcookie, 0, NULL, 0); }
static long p_get_mempolicy(void) { return S(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0); }
static long p_set_mempolicy(void) { return S(SYS_set_mempolicy, 0, NULL, 0); }
static long p_mbind(void) { return S(SYS_mbind, NULL, 0, 0, NULL, 0, 0); }
static long p_move_pages(void) { return S(SYS_move_pages, 999999, 0, NULL, NULL, NULL, 0); }
static long p_migrate_pages(void) { return S(SYS_migrate_pages, 999999, 0, NULL, NULL); }
static long p_fanotify_init(void) { return S(SYS_fanotify_init, 0xffffffff, 0); }
static long p_pidfd_open(void) { return S(SYS_pidfd_open, getpid(), 0); }
static long p_pidfd_getfd(void) { return S(SYS_pidfd_getfd, -1, -1, 0); }
static long p_seccomp_avail(void) { unsigned a = 0x7fff0000U; return S(SYS_seccomp, 2 /* GET_ACTION_AVAIL */, 0, &a); }
static long p_landlock(void) { return S(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */) >= 0 ? 0 : -1; }
static long p_personality_linux(void) { return S(SYS_personality, PER_LINUX) >= 0 ? 0 : -1; }
static long p_personality_query(void) { return S(SYS_personality, 0xffffffff) >= 0 ? 0 : -1; }
static long p_personality_linux32(void) { return S(SYS_personality, PER_LINUX32) >= 0 ? 0 : -1; }
static long p_personality_uname26(void) { return S(SYS_personality, UNAME26) >= 0 ? 0 : -1; }
static long p_personality_addr_no_randomize(void) { return S(SYS_personality, ADDR_NO_RANDOMIZE) >= 0 ? 0 : -1; }
static long p_personality_bsd(void) { return S(SYS_personality, PER_BSD) >= 0 ? 0 : -1; }
static long p_setuid_self(void) { return S(SYS_setuid, getuid()); }
static long p_setgroups_empty(void) { return S(SYS_setgroups, 0, NULL); }
static long p_capset_query(void) { return S(SYS_capget, NULL, NULL); }
static long p_mknodat(void) { return S(SYS_mknodat, AT_FDCWD, "/nonexistent/x", 0020644, 0x103); }
static long p_sync_file_range(void) { return S(SYS_sync_file_range, -1, 0, 0, 0); }
static long p_cachestat(void) { return S(451, -1, NULL, NULL, 0); }
static long p_futex_waitv(void) { return S(449, NULL, 0, 0, NULL, 0); }
static long p_map_shadow_stack(void) { return S(453, 0, 0, 0); }
static long p_unknown_500(void) { return S(500); }

static const struct { const char *name; probe_fn fn; } probes[] = {
#define P(n) {#n, p_##n}
    P(read), P(write), P(openat), P(close), P(getpid), P(gettid), P(getuid), P(uname), P(getcwd), P(dup), P(pipe2), P(mmap),
    P(mprotect), P(brk), P(nanosleep), P(clock_gettime), P(getrandom), P(fstat), P(newfstatat), P(statx), P(lseek), P(ioctl),
    P(fcntl), P(socket_inet), P(socket_unix), P(socketpair), P(socket_netlink_route), P(socket_netlink_audit), P(socket_packet),
    P(connect), P(bind), P(prctl_get_dumpable), P(arch_prctl_get_fs), P(rt_sigaction), P(rt_sigprocmask), P(sched_yield),
    P(prlimit64_get), P(getdents64), P(epoll_create1), P(eventfd2), P(memfd_create), P(io_uring_setup), P(userfaultfd), P(fork),
    P(clone_newns), P(clone_newuser), P(clone_newnet), P(clone_newpid), P(clone_newuts), P(clone_newipc), P(clone_newcgroup),
    P(clone3), P(unshare_newuser), P(unshare_newns), P(unshare_newnet), P(unshare_newtime), P(setns), P(kexec_load),
    P(kexec_file_load), P(init_module), P(finit_module), P(delete_module), P(keyctl), P(add_key), P(request_key), P(bpf),
    P(perf_event_open), P(ptrace), P(process_vm_readv), P(kcmp), P(mount), P(umount2), P(pivot_root), P(open_tree), P(fsopen),
    P(move_mount), P(swapon), P(swapoff), P(reboot), P(sethostname), P(setdomainname), P(chroot), P(clock_settime),
    P(settimeofday), P(adjtimex), P(clock_adjtime), P(acct), P(quotactl), P(syslog), P(vhangup), P(iopl), P(ioperm),
    P(modify_ldt), P(uselib), P(ustat), P(sysfs), P(name_to_handle_at), P(open_by_handle_at), P(lookup_dcookie),
    P(get_mempolicy), P(set_mempolicy), P(mbind), P(move_pages), P(migrate_pages), P(fanotify_init), P(pidfd_open),
    P(pidfd_getfd), P(seccomp_avail), P(landlock), P(personality_linux), P(personality_query), P(personality_linux32),
    P(personality_uname26), P(personality_addr_no_randomize), P(personality_bsd), P(setuid_self), P(setgroups_empty),
    P(capset_query), P(mknodat), P(sync_file_range), P(cachestat), P(futex_waitv), P(map_shadow_stack), P(unknown_500),
#undef P
};

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
    pid_t pid = fork();
    if (pid < 0) {
      printf("%s=fork:%s\n", probes[i].name, strerrorname_np(errno));
      continue;
    }
    if (pid == 0) {
      errno = 0;
      long r = probes[i].fn();
      _exit(r < 0 ? (errno ? errno : 255) : 0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFSIGNALED(status)) printf("%s=SIG%d\n", probes[i].name, WTERMSIG(status));
    else if (WEXITSTATUS(status) == 0) printf("%s=0\n", probes[i].name);
    else {
      const char *n = strerrorname_np(WEXITSTATUS(status));
      printf("%s=%s\n", probes[i].name, n ? n : "E?");
    }
  }
  printf("done\n");
  return 0;
}
