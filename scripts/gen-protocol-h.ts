// Writes native/build/protocol.h from runtime/sys/protocol.ts, the single source of the protocol.
import { ChildJoined, Enter, Exec, FIFO_FAILED, FIFO_OK, FRAME_HEADER, Msg, NativeOp, RECORD_HEADER, SeccompWhen } from "../runtime/sys/protocol.ts";

const lines = ["/* Generated from runtime/sys/protocol.ts by scripts/gen-protocol-h.ts. Do not edit. */", "#pragma once"];
const group = (prefix: string, table: Record<string, number>) => {
  for (const [name, value] of Object.entries(table)) lines.push(`#define ${prefix}_${name} ${value}`);
};
group("MSG", Msg);
group("ENTER", Enter);
group("EXEC", Exec);
group("SECCOMP_WHEN", SeccompWhen);
group("CHILD_JOINED", ChildJoined);
for (const [name, value] of Object.entries(NativeOp)) lines.push(`#define OP_${name} "${value}"`);
lines.push(`#define FIFO_OK ${FIFO_OK}`, `#define FIFO_FAILED ${FIFO_FAILED}`);
lines.push(`#define FRAME_HEADER ${FRAME_HEADER}`, `#define RECORD_HEADER ${RECORD_HEADER}`, "");
await Bun.write(process.argv[2] ?? "native/build/protocol.h", lines.join("\n"));
