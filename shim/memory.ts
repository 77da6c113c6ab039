// Gives memory back when the shim goes idle. A serving shim lives as long as its pod and spends
// nearly all of that time waiting; what start-up and bursts of requests left behind (a young
// generation grown to its maximum, freed malloc pages) would otherwise stay resident for the
// pod's whole life, once per pod on the node.
import { native } from './native';

/** IDLE_MS is how long the shim must have been quiet before it reclaims. */
export const IDLE_MS = 2000;

// Reclaiming again is only worth its few milliseconds of CPU when the resident size grew by at
// least this much since the last time (so a kubelet polling Stats does not cost a GC a poll).
const GROWTH_BYTES = 256 * 1024;

/** IdleReclaimer calls native.reclaimMemory once activity has stopped for IDLE_MS. */
export class IdleReclaimer {
  private timer: NodeJS.Timeout | undefined;
  private residentAfterLast = 0;

  constructor(
    private readonly reclaim: () => void = native.reclaimMemory,
    private readonly resident: () => number = () => process.memoryUsage.rss(),
    private readonly idleMs = IDLE_MS,
  ) {}

  /** touch records activity: the reclaim waits until IDLE_MS after the last touch. */
  touch(): void {
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => this.run(), this.idleMs);
    this.timer.unref(); // never what keeps the shim alive
  }

  /** track wraps request handlers so that each finished request counts as activity. */
  track<A extends unknown[], R>(handlers: Record<string, (...args: A) => Promise<R>>): Record<string, (...args: A) => Promise<R>> {
    const out: Record<string, (...args: A) => Promise<R>> = {};
    for (const [name, fn] of Object.entries(handlers)) {
      out[name] = (...args: A) => fn(...args).finally(() => this.touch());
    }
    return out;
  }

  private run(): void {
    this.timer = undefined;
    if (this.residentAfterLast > 0 && this.resident() < this.residentAfterLast + GROWTH_BYTES) return;
    this.reclaim();
    this.residentAfterLast = this.resident();
  }
}
