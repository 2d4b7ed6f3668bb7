// Signals sent to a foreground `run` or `exec` are passed on to the container's process.
// The process runs as soon as the enter stage reports it ready, before the host could react, so
// the handlers are installed before anything is spawned; a signal that arrives before the pid
// is known waits for it (runc's signal channel buffers them the same way). Without this a
// SIGTERM in that window would kill tsrun and orphan the container.

const FORWARDED = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGCONT", "SIGALRM", "SIGPIPE"] as const;

export class SignalForwarder {
  private pid = 0;
  private readonly pending: string[] = [];
  private readonly handlers = FORWARDED.map((sig) => {
    const h = () => (this.pid ? this.send(sig) : this.pending.push(sig));
    process.on(sig, h);
    return [sig, h] as const;
  });

  /** From now on signals go to pid; those that came earlier are delivered first. */
  target(pid: number): void {
    this.pid = pid;
    for (const sig of this.pending.splice(0)) this.send(sig);
  }

  close(): void {
    for (const [sig, h] of this.handlers) process.off(sig, h);
  }

  private send(sig: string): void {
    try {
      process.kill(this.pid, sig);
    } catch {
      // already gone
    }
  }
}
