// --log and --log-format: text lines like logrus's, or JSON lines {"level","msg","time"} as
// containerd's shim and conmon read them (the last "error" line is the failure they report).
import { err } from "./out.ts";

export interface LogConfig {
  file?: string;
  format: "text" | "json";
  debug: boolean;
}

export const logConfig: LogConfig = { format: "text", debug: false };

export function log(level: "error" | "warning" | "info" | "debug", msg: string): void {
  if (!logConfig.file || (level === "debug" && !logConfig.debug)) return;
  const time = new Date().toISOString();
  const line =
    logConfig.format === "json" ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    // Loaded only when there is something to log: node:fs costs ~1 ms to import.
    (require("node:fs") as typeof import("node:fs")).appendFileSync(logConfig.file, line + "\n");
  } catch {
    // a log we cannot write must not hide the error itself
  }
}

export function debug(msg: string): void {
  log("debug", msg);
}

/** Like runc (logrus): to the --log file when there is one, to stderr otherwise. */
export function warn(msg: string): void {
  if (logConfig.file) log("warning", msg);
  else err(`tsrun: warning: ${msg}\n`);
}
