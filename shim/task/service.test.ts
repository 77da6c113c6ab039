// Tests of the Task service against a recording fake sandbox: state checks, errors and, above
// all, the order of events containerd relies on.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import t, { Test } from 'tap';
import { containerd } from '../gen/protos';
import type { Publisher, TaskEvent } from '../events';
import type { ExitInfo, SandboxControl } from '../sentry';
import { Code, TtrpcError } from '../ttrpc';
import type { FileServer } from '../gofer';
import { TaskService } from './service';

const T = containerd.task.v2;

/** FakeSandbox hands out pids and lets the test decide when each process exits. */
class FakeSandbox implements SandboxControl {
  nextPid = 100;
  readonly exits = new Map<number, (e: ExitInfo) => void>();
  readonly exited = new Map<number, ExitInfo>();
  readonly calls: string[] = [];
  startHook: (() => void) | undefined;
  failCreate: string | undefined;

  async createContainer(req: { containerId?: string | null }): Promise<{ pid: number }> {
    this.calls.push(`create ${req.containerId}`);
    if (this.failCreate) throw new TtrpcError(Code.INVALID_ARGUMENT, this.failCreate);
    return { pid: this.nextPid++ };
  }
  async goferDied(id: string): Promise<void> {
    this.calls.push(`gofer died ${id}`);
  }
  async startContainer(id: string): Promise<void> {
    this.calls.push(`start ${id}`);
    this.startHook?.();
  }
  async exec(req: { execId?: string | null }): Promise<{ pid: number }> {
    this.calls.push(`exec ${req.execId}`);
    return { pid: this.nextPid++ };
  }
  async signal(id: string, pid: number, sig: number, all: boolean): Promise<void> {
    this.calls.push(`signal ${id} ${pid} ${sig} ${all}`);
  }
  wait(_id: string, pid: number): Promise<ExitInfo> {
    const done = this.exited.get(pid);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => this.exits.set(pid, resolve));
  }
  exit(pid: number, exitStatus: number): void {
    const e = { exitStatus, exitedAt: new Date() };
    this.exited.set(pid, e);
    this.exits.get(pid)?.(e);
  }
  async processes(): Promise<{ pid: number; execId: string }[]> {
    return [{ pid: 100, execId: '' }, { pid: 101, execId: 'e1' }];
  }
  async resizePty(): Promise<void> {}
  async closeStdin(): Promise<void> {}
  async destroyContainer(id: string): Promise<void> {
    this.calls.push(`destroy ${id}`);
  }
  async pause(id: string): Promise<void> {
    this.calls.push(`pause ${id}`);
  }
  async resume(id: string): Promise<void> {
    this.calls.push(`resume ${id}`);
  }
}

class RecordingPublisher implements Publisher {
  readonly events: TaskEvent[] = [];
  publish(e: TaskEvent): void {
    this.events.push(e);
  }
  async drain(): Promise<void> {}
  close(): void {}
  topics(): string[] {
    return this.events.map((e) => `${e.topic}${'execId' in e.msg && e.msg.execId ? ':' + e.msg.execId : ''}${e.type === 'TaskExit' ? ':' + e.msg.id : ''}`);
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** FakeGofers records the gofers the service starts and stops. */
class FakeGofers {
  readonly log: string[] = [];
  async start(id: string): Promise<{ gofer: FileServer; fds: number[] }> {
    this.log.push(`start ${id}`);
    return { gofer: { stop: async (now?: boolean) => void this.log.push(`stop ${id}${now ? ' now' : ''}`), onDied: () => undefined, ioUring: false }, fds: [] };
  }
}

function setup(t: Test): { svc: TaskService; sb: FakeSandbox; pub: RecordingPublisher; bundle: string; call: (m: string, req: Uint8Array) => Promise<Buffer>; gofers: FakeGofers } {
  const bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-ts-svc-'));
  fs.mkdirSync(path.join(bundle, 'rootfs'));
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ root: { path: 'rootfs' }, process: { args: ['sh'], cwd: '/' } }));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const sb = new FakeSandbox();
  const pub = new RecordingPublisher();
  const gofers = new FakeGofers();
  const svc = new TaskService({ namespace: 'ns', publisher: pub, sentry: () => sb, onEmpty: () => undefined, startGofer: (id) => gofers.start(id) });
  const h = svc.handlers();
  const call = async (m: string, req: Uint8Array): Promise<Buffer> => Buffer.from(await h[m](Buffer.from(req), {} as never));
  return { svc, sb, pub, bundle, call, gofers };
}

t.test('init exit comes after every exec exit, and exits after their start events', async (t) => {
  const { sb, pub, bundle, call } = setup(t);
  await call('Create', T.CreateTaskRequest.encode({ id: 'c1', bundle }).finish());
  await call('Start', T.StartRequest.encode({ id: 'c1' }).finish());
  const spec = { typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify({ args: ['true'], cwd: '/' })) };
  await call('Exec', T.ExecProcessRequest.encode({ id: 'c1', execId: 'e1', spec }).finish());
  await call('Start', T.StartRequest.encode({ id: 'c1', execId: 'e1' }).finish());
  const waitInit = call('Wait', T.WaitRequest.encode({ id: 'c1' }).finish());
  sb.exit(100, 0); // init dies first ...
  await tick();
  t.notOk(pub.topics().includes('/tasks/exit:c1'), 'init exit held while an exec lives');
  t.ok(sb.calls.includes('signal c1 0 9 true'), 'remaining execs are killed');
  sb.exit(101, 137); // ... then the kernel kills the exec
  await tick();
  t.same(pub.topics(), ['/tasks/create', '/tasks/start', '/tasks/exec-added:e1', '/tasks/exec-started:e1', '/tasks/exit:e1', '/tasks/exit:c1']);
  const w = T.WaitResponse.decode(await waitInit);
  t.equal(w.exitStatus, 0);
  const del = T.DeleteResponse.decode(await call('Delete', T.DeleteRequest.encode({ id: 'c1' }).finish()));
  t.equal(del.pid, 100);
  t.equal(pub.topics().at(-1), '/tasks/delete');
});

t.test('an exit during Start is published after the start event', async (t) => {
  const { sb, pub, bundle, call } = setup(t);
  await call('Create', T.CreateTaskRequest.encode({ id: 'c2', bundle }).finish());
  sb.startHook = () => sb.exit(100, 3);
  await call('Start', T.StartRequest.encode({ id: 'c2' }).finish());
  await tick();
  t.same(pub.topics(), ['/tasks/create', '/tasks/start', '/tasks/exit:c2']);
  const st = T.StateResponse.decode(await call('State', T.StateRequest.encode({ id: 'c2' }).finish()));
  t.equal(st.status, containerd.v1.types.Status.STOPPED);
  t.equal(st.exitStatus, 3);
});

t.test('errors carry codes and name the operation and state', async (t) => {
  const { sb, bundle, call } = setup(t);
  await t.rejects(call('State', T.StateRequest.encode({ id: 'nope' }).finish()), { code: Code.NOT_FOUND });
  await call('Create', T.CreateTaskRequest.encode({ id: 'c3', bundle }).finish());
  await t.rejects(call('Create', T.CreateTaskRequest.encode({ id: 'c3', bundle }).finish()), { code: Code.ALREADY_EXISTS });
  await call('Start', T.StartRequest.encode({ id: 'c3' }).finish());
  await t.rejects(call('Start', T.StartRequest.encode({ id: 'c3' }).finish()), { code: Code.FAILED_PRECONDITION, message: /cannot start process in running state/ });
  await t.rejects(call('Delete', T.DeleteRequest.encode({ id: 'c3' }).finish()), { code: Code.FAILED_PRECONDITION });
  sb.exit(100, 0);
  await tick();
  await t.rejects(call('Kill', T.KillRequest.encode({ id: 'c3', signal: 9 }).finish()), { code: Code.NOT_FOUND, message: /process already finished/ });
  await t.rejects(call('Pause', T.PauseRequest.encode({ id: 'c3' }).finish()), { code: Code.FAILED_PRECONDITION, message: /cannot pause a stopped container/ });
  await t.rejects(call('Checkpoint', T.CheckpointTaskRequest.encode({ id: 'c3' }).finish()), { code: Code.UNIMPLEMENTED });
});

t.test('a failed create leaves nothing registered and names the container', async (t) => {
  const { sb, bundle, call } = setup(t);
  sb.failCreate = 'exec: "/nope": stat /nope: no such file or directory';
  await t.rejects(call('Create', T.CreateTaskRequest.encode({ id: 'c4', bundle }).finish()), {
    code: Code.INVALID_ARGUMENT,
    message: 'creating container c4: exec: "/nope": stat /nope: no such file or directory',
  });
  await t.rejects(call('State', T.StateRequest.encode({ id: 'c4' }).finish()), { code: Code.NOT_FOUND });
  t.notOk(fs.existsSync(path.join(bundle, 'init.pid')));
});

t.test('a missing rootfs is refused before the sandbox is asked', async (t) => {
  const { sb, bundle, call } = setup(t);
  fs.rmdirSync(path.join(bundle, 'rootfs'));
  await t.rejects(call('Create', T.CreateTaskRequest.encode({ id: 'c5', bundle }).finish()), { code: Code.INVALID_ARGUMENT, message: /creating container c5: rootfs ".*rootfs": no such file or directory/ });
  t.same(sb.calls, []);
});

t.test('Pids marks exec processes with their exec id', async (t) => {
  const { bundle, call } = setup(t);
  await call('Create', T.CreateTaskRequest.encode({ id: 'c6', bundle }).finish());
  const r = T.PidsResponse.decode(await call('Pids', T.PidsRequest.encode({ id: 'c6' }).finish()));
  t.equal(r.processes.length, 2);
  t.notOk(r.processes[0].info);
  t.equal(r.processes[1].info!.typeUrl, 'containerd.runc.v1.ProcessDetails');
  t.equal(containerd.runc.v1.ProcessDetails.decode(r.processes[1].info!.value!).execId, 'e1');
});

t.test('pause and resume: state, events, exec refused while paused', async (t) => {
  const { sb, pub, bundle, call } = setup(t);
  await call('Create', T.CreateTaskRequest.encode({ id: 'c7', bundle }).finish());
  await call('Start', T.StartRequest.encode({ id: 'c7' }).finish());
  await call('Pause', T.PauseRequest.encode({ id: 'c7' }).finish());
  await call('Pause', T.PauseRequest.encode({ id: 'c7' }).finish());
  let st = T.StateResponse.decode(await call('State', T.StateRequest.encode({ id: 'c7' }).finish()));
  t.equal(st.status, containerd.v1.types.Status.PAUSED);
  const spec = { typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify({ args: ['true'], cwd: '/' })) };
  await t.rejects(call('Exec', T.ExecProcessRequest.encode({ id: 'c7', execId: 'e', spec }).finish()), { code: Code.FAILED_PRECONDITION, message: /paused/ });
  await call('Resume', T.ResumeRequest.encode({ id: 'c7' }).finish());
  st = T.StateResponse.decode(await call('State', T.StateRequest.encode({ id: 'c7' }).finish()));
  t.equal(st.status, containerd.v1.types.Status.RUNNING);
  t.same(sb.calls.filter((x) => /^(pause|resume)/.test(x)), ['pause c7', 'resume c7'], 'the sandbox is asked once each');
  t.same(pub.topics().slice(2), ['/tasks/paused', '/tasks/resumed']);
});

t.test('a container\'s gofer starts before the sentry creates it and stops at delete, or at once when create fails', async (t) => {
  const { sb, bundle, call, gofers } = setup(t);
  await call('Create', T.CreateTaskRequest.encode({ id: 'c1', bundle }).finish());
  t.same(gofers.log, ['start c1'], 'started with the container');
  t.same(sb.calls, ['create c1'], 'the sentry was asked after the gofer ran');
  await call('Delete', T.DeleteRequest.encode({ id: 'c1' }).finish());
  t.same(gofers.log, ['start c1', 'stop c1'], 'stopped at delete');
  sb.failCreate = 'bad spec';
  await t.rejects(call('Create', T.CreateTaskRequest.encode({ id: 'c2', bundle }).finish()), /bad spec/);
  t.same(gofers.log.slice(2), ['start c2', 'stop c2 now'], 'a failed create stops its gofer at once');
});
