/* Test oracle: builds a filter with the system's libseccomp the way runc does and writes the BPF
 * program to stdout. No libseccomp headers are needed: the few declarations are below.
 *
 * stdin, one command a line:
 *   default <action>                    seccomp_init(action) (runc: NewFilter(defaultAction))
 *   arch <token>                        seccomp_arch_add
 *   rule <action> <name> <n> [<arg> <op> <a> <b>]...   seccomp_rule_add_array on the native number
 *   name <name>                         a profile name whose rule runc drops (its action is the
 *                                       default): it still counts for "max"
 * stderr: "unknown <name>" for names libseccomp does not know (runc skips them),
 *         "max <token> <nr>" per architecture: the highest number a profile name resolves to there,
 *         as runc's -ENOSYS stub works it out (libcontainer/seccomp/patchbpf).
 * Exit 3 when libseccomp refuses a rule (runc would fail the container). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scmp_arg_cmp { unsigned int arg; int op; uint64_t datum_a; uint64_t datum_b; };
void *seccomp_init(uint32_t def_action);
int seccomp_arch_add(void *ctx, uint32_t arch_token);
uint32_t seccomp_arch_native(void);
int seccomp_syscall_resolve_name(const char *name);
int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name);
int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
int seccomp_attr_set(void *ctx, int attr, uint32_t value);
int seccomp_export_bpf(void *ctx, int fd);
#define SCMP_FLTATR_CTL_NNP 3
#define SCMP_FLTATR_CTL_OPTIMIZE 8

static uint32_t arches[8];
static int narches;
static char *names[4096];
static int nnames;

static void remember(const char *name) {
  for (int i = 0; i < nnames; i++) if (!strcmp(names[i], name)) return;
  if (nnames < 4096) names[nnames++] = strdup(name);
}

int main(void) {
  char line[8192];
  void *ctx = NULL;
  int rules = 0;
  arches[narches++] = seccomp_arch_native();
  while (fgets(line, sizeof line, stdin)) {
    char *save = NULL, *word = strtok_r(line, " \n", &save);
    if (!word) continue;
    if (!strcmp(word, "default")) {
      ctx = seccomp_init((uint32_t)strtoul(strtok_r(NULL, " \n", &save), NULL, 0));
      if (!ctx || seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) return 2;
    } else if (!strcmp(word, "arch")) {
      uint32_t token = (uint32_t)strtoul(strtok_r(NULL, " \n", &save), NULL, 0);
      int rc = seccomp_arch_add(ctx, token);
      if (rc && rc != -17 /* EEXIST: the native one */) { fprintf(stderr, "arch_add %d\n", rc); return 3; }
      if (!rc) arches[narches++] = token;
    } else if (!strcmp(word, "name")) {
      remember(strtok_r(NULL, " \n", &save));
    } else if (!strcmp(word, "rule")) {
      uint32_t action = (uint32_t)strtoul(strtok_r(NULL, " \n", &save), NULL, 0);
      const char *name = strtok_r(NULL, " \n", &save);
      unsigned n = (unsigned)strtoul(strtok_r(NULL, " \n", &save), NULL, 0);
      struct scmp_arg_cmp args[6];
      for (unsigned i = 0; i < n && i < 6; i++) {
        args[i].arg = (unsigned)strtoul(strtok_r(NULL, " \n", &save), NULL, 0);
        args[i].op = (int)strtol(strtok_r(NULL, " \n", &save), NULL, 0);
        args[i].datum_a = strtoull(strtok_r(NULL, " \n", &save), NULL, 0);
        args[i].datum_b = strtoull(strtok_r(NULL, " \n", &save), NULL, 0);
      }
      remember(name);
      int nr = seccomp_syscall_resolve_name(name);
      if (nr == -1) continue;
      int rc = seccomp_rule_add_array(ctx, action, nr, n, args);
      if (rc) { fprintf(stderr, "rule %s: %d\n", name, rc); return 3; }
      rules++;
    }
  }
  if (!ctx) return 2;
  if (rules > 32) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); /* as runc does */
  for (int i = 0; i < nnames; i++)
    if (seccomp_syscall_resolve_name(names[i]) == -1) fprintf(stderr, "unknown %s\n", names[i]);
  for (int a = 0; a < narches; a++) {
    long max = 0;
    for (int i = 0; i < nnames; i++) {
      int nr = seccomp_syscall_resolve_name_arch(arches[a], names[i]);
      if (nr > max) max = nr;
    }
    fprintf(stderr, "max 0x%x %ld\n", arches[a], max);
  }
  return seccomp_export_bpf(ctx, 1) ? 4 : 0;
}
