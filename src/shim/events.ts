// Task events, forwarded to containerd over ttrpc (its TTRPC_ADDRESS, service
// containerd.services.events.ttrpc.v1.Events, method Forward), one at a time and in the order
// they happened: containerd's consumers (CRI above all) rely on TaskExit coming after TaskStart
// and before TaskDelete. A failed forward is retried after 1, 2, 3 and 4 s (containerd may be
// restarting), as containerd's own shims do, then logged and dropped.
import { timestamp, type Proto } from './proto';
import { TtrpcClient } from './ttrpc';

export const TOPICS = {
  'containerd.events.TaskCreate': '/tasks/create',
  'containerd.events.TaskStart': '/tasks/start',
  'containerd.events.TaskExit': '/tasks/exit',
  'containerd.events.TaskDelete': '/tasks/delete',
  'containerd.events.TaskExecAdded': '/tasks/exec-added',
  'containerd.events.TaskExecStarted': '/tasks/exec-started',
  'containerd.events.TaskOOM': '/tasks/oom',
  'containerd.events.TaskPaused': '/tasks/paused',
  'containerd.events.TaskResumed': '/tasks/resumed',
} as const;

export type EventType = keyof typeof TOPICS;

const ATTEMPTS = 5;

export class Publisher {
  private client?: TtrpcClient;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly proto: Proto,
    /** containerd's ttrpc socket; none: events are dropped (a shim started by hand) */
    private readonly address: string | undefined,
    private readonly log: (msg: string) => void,
  ) {}

  publish(namespace: string, type: EventType, event: Record<string, unknown>): void {
    const envelope = {
      timestamp: timestamp(),
      namespace,
      topic: TOPICS[type],
      event: this.proto.any(type, event),
    };
    this.queue = this.queue.then(() => this.forward(namespace, envelope));
  }

  /** Settles once every event published so far was forwarded (or given up on). */
  flush(): Promise<void> {
    return this.queue;
  }

  private async forward(namespace: string, envelope: Record<string, unknown>): Promise<void> {
    if (!this.address) return;
    const payload = this.proto.encode('containerd.services.events.ttrpc.v1.ForwardRequest', { envelope });
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        if (!this.client || this.client.closed) this.client = await TtrpcClient.connect(this.proto, this.address);
        await this.client.call('containerd.services.events.ttrpc.v1.Events', 'Forward', payload, {
          'containerd-namespace-ttrpc': namespace,
        });
        return;
      } catch (e) {
        this.client?.close();
        this.client = undefined;
        if (attempt === ATTEMPTS) this.log(`forwarding ${String(envelope.topic)} to containerd: ${(e as Error).message}`);
        else await new Promise((r) => setTimeout(r, attempt * 1000));
      }
    }
  }

  close(): void {
    this.client?.close();
  }
}
