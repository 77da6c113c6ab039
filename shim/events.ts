// Publishes task events to containerd in order: one queue, one ttrpc connection to TTRPC_ADDRESS
// (containerd.services.events.ttrpc.v1.Events/Forward), retried with back-off, drained at exit.
import * as net from 'net';
import { containerd, google } from './gen/protos';
import { log } from './log';
import { Client } from './ttrpc';

const ev = containerd.events;
const Forward = containerd.services.events.ttrpc.v1.ForwardRequest;

/** TaskEvent is one event message with its topic; encode() gives the protobuf bytes. */
export type TaskEvent =
  | { topic: '/tasks/create'; type: 'TaskCreate'; msg: containerd.events.ITaskCreate }
  | { topic: '/tasks/start'; type: 'TaskStart'; msg: containerd.events.ITaskStart }
  | { topic: '/tasks/exit'; type: 'TaskExit'; msg: containerd.events.ITaskExit }
  | { topic: '/tasks/delete'; type: 'TaskDelete'; msg: containerd.events.ITaskDelete }
  | { topic: '/tasks/exec-added'; type: 'TaskExecAdded'; msg: containerd.events.ITaskExecAdded }
  | { topic: '/tasks/exec-started'; type: 'TaskExecStarted'; msg: containerd.events.ITaskExecStarted }
  | { topic: '/tasks/paused'; type: 'TaskPaused'; msg: containerd.events.ITaskPaused }
  | { topic: '/tasks/resumed'; type: 'TaskResumed'; msg: containerd.events.ITaskResumed }
  | { topic: '/tasks/oom'; type: 'TaskOOM'; msg: containerd.events.ITaskOOM };

/** encodeEvent serializes an event's message with its generated type. */
export function encodeEvent(e: TaskEvent): Uint8Array {
  const type = ev[e.type] as unknown as { encode(m: unknown): { finish(): Uint8Array } };
  return type.encode(e.msg).finish();
}

/** timestamp converts a Date into a protobuf Timestamp. */
export function timestamp(d: Date): google.protobuf.ITimestamp {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

/** Publisher is the ordered event queue toward containerd. */
export interface Publisher {
  publish(e: TaskEvent): void;
  /** drain resolves when the queue is empty or after ms. */
  drain(ms: number): Promise<void>;
  close(): void;
}

interface Queued {
  event: TaskEvent;
  at: Date;
  attempts: number;
}

/** TtrpcPublisher forwards events over ttrpc, like containerd's own shims in 1.6. */
export class TtrpcPublisher implements Publisher {
  private readonly queue: Queued[] = [];
  private client: Client | undefined;
  private running = false;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(private readonly address: string, private readonly namespace: string) {}

  publish(event: TaskEvent): void {
    if (this.closed) return;
    this.queue.push({ event, at: new Date(), attempts: 0 });
    log.debug('publish', { topic: event.topic });
    void this.pump();
  }

  private connect(): Client {
    if (this.client) return this.client;
    const socket = net.connect(this.address.replace(/^unix:\/\//, ''));
    socket.on('error', () => undefined); // a failed call reports it; the queue retries
    const client = new Client(socket);
    client.once('close', () => {
      if (this.client === client) this.client = undefined;
    });
    this.client = client;
    return client;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    while (this.queue.length > 0 && !this.closed) {
      const q = this.queue[0];
      const req = Forward.encode({
        envelope: {
          timestamp: timestamp(q.at),
          namespace: this.namespace,
          topic: q.event.topic,
          event: { typeUrl: `containerd.events.${q.event.type}`, value: encodeEvent(q.event) },
        },
      }).finish();
      try {
        await this.connect().call('containerd.services.events.ttrpc.v1.Events', 'Forward', req, { timeoutMs: 5000 });
        this.queue.shift();
      } catch (err) {
        q.attempts++;
        log.warn('publishing event failed', { topic: q.event.topic, attempt: q.attempts, error: (err as Error).message });
        if (q.attempts >= 5) {
          log.error('dropping event after 5 attempts', { topic: q.event.topic });
          this.queue.shift();
        } else {
          await new Promise((r) => setTimeout(r, 1000 * q.attempts));
        }
      }
    }
    this.running = false;
    for (const f of this.idle.splice(0)) f();
  }

  drain(ms: number): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.closed = true;
    this.client?.close();
    for (const f of this.idle.splice(0)) f();
  }
}
