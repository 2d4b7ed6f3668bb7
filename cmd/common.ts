// What every command shares: the real kernel. (create's options: create_options.ts, so that
// the light commands do not import node:path, ~0.5 ms under Bun.)
import { LinuxSys } from "../runtime/sys/linux.ts";

export function host(): LinuxSys {
  return new LinuxSys();
}
