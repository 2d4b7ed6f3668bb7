// The command table: names, usage, flags and a lazy loader for each command's module, so a
// command imports only what it needs (startup is the budget: `state` and `kill` stay light).
import type { Flag, Values } from "./args.ts";

export interface Globals {
  root: string;
  log?: string;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
  rootless: string;
}

export interface Context {
  globals: Globals;
  values: Values;
  args: string[];
}

export interface Command {
  name: string;
  usage: string;
  summary: string;
  flags: Flag[];
  /** Exact number of positional args, or [min, max]. */
  args: number | [number, number];
  hidden?: boolean;
  load(): Promise<{ run(ctx: Context): Promise<number> }>;
}

const createFlags: Flag[] = [
  { name: "bundle", alias: "b", type: "string", value: "DIR", help: "path to the bundle directory (default: the current directory)" },
  { name: "console-socket", type: "string", value: "PATH", help: "unix socket that receives the pty master when process.terminal is true" },
  { name: "pidfd-socket", type: "string", value: "PATH", help: "unix socket that receives a pidfd of the container's process" },
  { name: "pid-file", type: "string", value: "PATH", help: "file to write the container process's pid to" },
  { name: "no-pivot", type: "bool", help: "use MS_MOVE and chroot instead of pivot_root (weaker; for ramdisk roots)" },
  { name: "no-new-keyring", type: "bool", help: "keep the caller's session keyring instead of a new one" },
  { name: "preserve-fds", type: "int", value: "N", help: "pass N more fds (3, 4, …) into the container" },
];

export const COMMANDS: Command[] = [
  {
    name: "create",
    usage: "create [command options] <container-id>",
    summary: "create a container",
    flags: createFlags,
    args: 1,
    load: () => import("./create.ts"),
  },
  {
    name: "start",
    usage: "start <container-id>",
    summary: "start the process of a created container",
    flags: [],
    args: 1,
    load: () => import("./start.ts"),
  },
  {
    name: "run",
    usage: "run [command options] <container-id>",
    summary: "create and start a container, in the foreground unless --detach",
    flags: [
      ...createFlags,
      { name: "detach", alias: "d", type: "bool", help: "detach from the container's process" },
      { name: "keep", type: "bool", help: "keep the container's state after it exits" },
      { name: "no-subreaper", type: "bool", help: "runc compatibility", ignored: true },
    ],
    args: 1,
    load: () => import("./run.ts"),
  },
  {
    name: "exec",
    usage: "exec [command options] <container-id> <command> [args...]",
    summary: "run another process in a running container",
    flags: [
      { name: "process", alias: "p", type: "string", value: "FILE", help: "the process as a runtime-spec process JSON" },
      { name: "console-socket", type: "string", value: "PATH", help: "unix socket that receives the pty master (with --tty)" },
      { name: "pidfd-socket", type: "string", value: "PATH", help: "unix socket that receives a pidfd of the process" },
      { name: "cwd", type: "string", value: "DIR", help: "working directory inside the container" },
      { name: "env", alias: "e", type: "strings", value: "KEY=VALUE", help: "add an environment variable (repeatable)" },
      { name: "tty", alias: "t", type: "bool", help: "allocate a pseudo-terminal" },
      { name: "user", alias: "u", type: "string", value: "UID[:GID]", help: "run as this user" },
      { name: "additional-gids", alias: "g", type: "strings", value: "GID", help: "additional group (repeatable)" },
      { name: "process-label", type: "string", value: "LABEL", help: "SELinux label of the process" },
      { name: "apparmor", type: "string", value: "PROFILE", help: "AppArmor profile of the process" },
      { name: "no-new-privs", type: "bool", help: "set no_new_privs" },
      { name: "cap", alias: "c", type: "strings", value: "CAP", help: "add a capability (repeatable)" },
      { name: "preserve-fds", type: "int", value: "N", help: "pass N more fds (3, 4, …) into the process" },
      { name: "cgroup", type: "string", value: "PATH", help: "sub-cgroup of the container's to run the process in" },
      { name: "ignore-paused", type: "bool", help: "exec even into a paused container" },
      { name: "detach", alias: "d", type: "bool", help: "do not wait for the process" },
      { name: "pid-file", type: "string", value: "PATH", help: "file to write the process's pid to" },
    ],
    args: [1, Infinity],
    load: () => import("./exec.ts"),
  },
  {
    name: "state",
    usage: "state <container-id>",
    summary: "print the state of a container as JSON",
    flags: [],
    args: 1,
    load: () => import("./state.ts"),
  },
  {
    name: "kill",
    usage: "kill [command options] <container-id> [signal]",
    summary: "send a signal (default SIGTERM) to the container's process",
    flags: [{ name: "all", alias: "a", type: "bool", help: "send the signal to every process in the container's cgroup" }],
    args: [1, 2],
    load: () => import("./kill.ts"),
  },
  {
    name: "delete",
    usage: "delete [command options] <container-id>",
    summary: "delete a stopped container and what create made for it",
    flags: [{ name: "force", alias: "f", type: "bool", help: "kill the container first if it is still running" }],
    args: 1,
    load: () => import("./delete.ts"),
  },
  {
    name: "pause",
    usage: "pause <container-id>",
    summary: "freeze every process of the container",
    flags: [],
    args: 1,
    load: () => import("./pause.ts"),
  },
  {
    name: "resume",
    usage: "resume <container-id>",
    summary: "thaw a paused container",
    flags: [],
    args: 1,
    load: () => import("./resume.ts"),
  },
  {
    name: "ps",
    usage: "ps [command options] <container-id> [ps options]",
    summary: "list the container's processes",
    flags: [{ name: "format", alias: "f", type: "string", value: "table|json", help: "output format (default: table, from ps(1))" }],
    args: [1, Infinity],
    load: () => import("./ps.ts"),
  },
  {
    name: "events",
    usage: "events [command options] <container-id>",
    summary: "stream resource usage and OOM events as JSON lines",
    flags: [
      { name: "interval", type: "string", value: "DURATION", help: "time between stats (default: 5s)" },
      { name: "stats", type: "bool", help: "print the stats once and exit" },
    ],
    args: 1,
    load: () => import("./events.ts"),
  },
  {
    name: "update",
    usage: "update [command options] <container-id>",
    summary: "change the container's resource limits",
    flags: [
      { name: "resources", alias: "r", type: "string", value: "FILE", help: "linux.resources JSON from FILE (- for stdin)" },
      { name: "blkio-weight", type: "string", value: "N", help: "block IO weight (10-1000)" },
      { name: "cpu-period", type: "string", value: "US", help: "CPU CFS period" },
      { name: "cpu-quota", type: "string", value: "US", help: "CPU CFS quota" },
      { name: "cpu-share", type: "string", value: "N", help: "CPU shares" },
      { name: "cpu-rt-period", type: "string", value: "US", help: "realtime period" },
      { name: "cpu-rt-runtime", type: "string", value: "US", help: "realtime runtime" },
      { name: "cpuset-cpus", type: "string", value: "LIST", help: "CPUs to use" },
      { name: "cpuset-mems", type: "string", value: "LIST", help: "memory nodes to use" },
      { name: "kernel-memory", type: "string", value: "SIZE", help: "kernel memory limit", ignored: true },
      { name: "kernel-memory-tcp", type: "string", value: "SIZE", help: "kernel TCP memory limit", ignored: true },
      { name: "memory", type: "string", value: "SIZE", help: "memory limit" },
      { name: "memory-reservation", type: "string", value: "SIZE", help: "memory soft limit" },
      { name: "memory-swap", type: "string", value: "SIZE", help: "memory plus swap limit" },
      { name: "pids-limit", type: "string", value: "N", help: "maximum number of pids" },
      { name: "l3-cache-schema", type: "string", value: "SCHEMA", help: "Intel RDT L3 cache schema (refused: no RDT support)" },
      { name: "mem-bw-schema", type: "string", value: "SCHEMA", help: "Intel RDT memory bandwidth schema (refused: no RDT support)" },
    ],
    args: 1,
    load: () => import("./update.ts"),
  },
  {
    name: "list",
    usage: "list [command options]",
    summary: "list containers under --root",
    flags: [
      { name: "format", alias: "f", type: "string", value: "table|json", help: "output format (default: table)" },
      { name: "quiet", alias: "q", type: "bool", help: "print only the container ids" },
    ],
    args: 0,
    load: () => import("./list.ts"),
  },
  {
    name: "spec",
    usage: "spec [command options]",
    summary: "write a default config.json to the bundle",
    flags: [
      { name: "bundle", alias: "b", type: "string", value: "DIR", help: "where to write config.json (default: the current directory)" },
      { name: "rootless", type: "bool", help: "a config for a container run by an unprivileged user" },
    ],
    args: 0,
    load: () => import("./spec.ts"),
  },
  {
    name: "features",
    usage: "features",
    summary: "print what this runtime supports (runtime-spec features document)",
    flags: [],
    args: 0,
    load: () => import("./features.ts"),
  },
  {
    name: "init",
    usage: "init <sync-fd>",
    summary: "internal: the container side of create",
    flags: [],
    args: 1,
    hidden: true,
    load: () => import("./init.ts"),
  },
];

/** runc commands tsrun does not have: a clear error rather than "unknown command". */
export const NOT_YET = ["checkpoint", "restore"];
