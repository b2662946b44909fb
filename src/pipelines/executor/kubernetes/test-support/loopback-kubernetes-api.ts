import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { ArtifactStore } from '../../../../storage/artifacts/artifact-store.js';
import { CONTAINERS, WORK_MOUNT } from '../job-manifest.js';
import { readStepIoSpec, stageIn, stageOut } from '../step-io.js';

/**
 * How the simulated kubelet treats a Job's pod: `run` really runs the containers (step-io in-process,
 * the step command as a local subprocess, the image ignored); the others reproduce a cluster's
 * failure statuses.
 */
export type LoopbackBehaviour = 'run' | 'image-pull-failure' | 'unschedulable' | 'evict-when-running';

type Obj = Record<string, any>;

interface PodState {
  pod: Obj;
  log: string[];
  logDone: boolean;
  listeners: Set<() => void>;
  child?: ChildProcess;
  dir?: string;
}

/**
 * A loopback Kubernetes API server for tests — NOT a cluster. It implements exactly the endpoints
 * the Kubernetes executor uses (Jobs: create, get, list by label, delete; Pods: list by label, log
 * with follow) over an in-memory store, with a simulated kubelet that moves pods through realistic
 * statuses (Pending → init running → Running → Succeeded/Failed; ErrImagePull; Unschedulable; Evicted).
 */
export class LoopbackKubernetesApi {
  readonly jobs = new Map<string, Obj>();
  readonly pods = new Map<string, PodState>();
  /** Every Job ever created, in order (tests count them). */
  readonly created: string[] = [];
  behaviour: (job: Obj) => LoopbackBehaviour = () => 'run';
  private server!: http.Server;
  private url = '';

  constructor(private readonly store: ArtifactStore) {}

  /** Starts listening on 127.0.0.1 (an ephemeral port). */
  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** A KubeConfig pointing at this server. */
  kubeConfig(): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'loopback', server: this.url, skipTLSVerify: true }], users: [{ name: 'test', token: 'loopback' }], contexts: [{ name: 'loopback', cluster: 'loopback', user: 'test' }], currentContext: 'loopback' });
    return kc;
  }

  /** Stops the server and every simulated container. */
  async close(): Promise<void> {
    for (const name of [...this.jobs.keys()]) await this.deleteJob(name);
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const body = await new Promise<string>((r) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => r(b));
    });
    const send = (code: number, obj: Obj) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    const status = (code: number, reason: string, message: string) => send(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });
    const sel = parseSelector(url.searchParams.get('labelSelector'));
    let m: RegExpExecArray | null;
    if ((m = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/.exec(url.pathname))) {
      if (req.method === 'GET') return send(200, { kind: 'JobList', apiVersion: 'batch/v1', metadata: {}, items: [...this.jobs.values()].filter((j) => matches(j, sel)) });
      if (req.method === 'POST') {
        const job = JSON.parse(body) as Obj;
        const name = job.metadata.name as string;
        if (this.jobs.has(name)) return status(409, 'AlreadyExists', `jobs.batch "${name}" already exists`);
        job.metadata = { ...job.metadata, namespace: m[1], uid: `uid-${name}`, creationTimestamp: new Date().toISOString() };
        job.status = { active: 1 };
        this.jobs.set(name, job);
        this.created.push(name);
        this.startPod(job);
        return send(201, job);
      }
    }
    if ((m = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/.exec(url.pathname))) {
      const job = this.jobs.get(m[2]);
      if (!job) return status(404, 'NotFound', `jobs.batch "${m[2]}" not found`);
      if (req.method === 'GET') return send(200, job);
      if (req.method === 'DELETE') {
        await this.deleteJob(m[2]);
        return send(200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
      }
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname)) && req.method === 'GET') {
      return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [...this.pods.values()].map((p) => p.pod).filter((p) => matches(p, sel)) });
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname)) && req.method === 'GET') {
      const p = this.pods.get(m[2]);
      if (!p) return status(404, 'NotFound', `pods "${m[2]}" not found`);
      res.writeHead(200, { 'content-type': 'text/plain' });
      let sent = 0;
      const flush = () => {
        while (sent < p.log.length) res.write(`${p.log[sent++]}\n`);
        if (p.logDone || url.searchParams.get('follow') !== 'true') {
          p.listeners.delete(flush);
          res.end();
        }
      };
      p.listeners.add(flush);
      req.on('close', () => p.listeners.delete(flush));
      return flush();
    }
    status(404, 'NotFound', `the loopback API does not implement ${req.method} ${url.pathname}`);
  }

  private startPod(job: Obj): void {
    const name = `${job.metadata.name}-${Math.random().toString(36).slice(2, 7)}`;
    const labels = { ...job.spec.template.metadata.labels, 'job-name': job.metadata.name };
    const tmpl = job.spec.template.spec;
    const waiting = (c: Obj, reason: string, message?: string) => ({ name: c.name, image: c.image, ready: false, restartCount: 0, state: { waiting: { reason, message } } });
    const pod: Obj = {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name, namespace: job.metadata.namespace, labels, uid: `uid-${name}` },
      spec: tmpl,
      status: { phase: 'Pending', conditions: [], initContainerStatuses: tmpl.initContainers.map((c: Obj) => waiting(c, 'PodInitializing')), containerStatuses: tmpl.containers.map((c: Obj) => waiting(c, 'PodInitializing')) },
    };
    const state: PodState = { pod, log: [], logDone: false, listeners: new Set() };
    this.pods.set(name, state);
    const behaviour = this.behaviour(job);
    setImmediate(() => void this.kubelet(job, state, behaviour).catch((err: Error) => this.finish(job, state, 'Failed', err.message)));
  }

  private async kubelet(job: Obj, p: PodState, behaviour: LoopbackBehaviour): Promise<void> {
    const { pod } = p;
    const step = pod.status.containerStatuses.find((c: Obj) => c.name === CONTAINERS.step);
    if (behaviour === 'unschedulable') {
      pod.status.conditions = [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' }];
      return;
    }
    pod.status.conditions = [{ type: 'PodScheduled', status: 'True' }];
    if (behaviour === 'image-pull-failure') {
      step.state = { waiting: { reason: 'ErrImagePull', message: `failed to pull and unpack image "${step.image}": not found` } };
      await tick();
      step.state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${step.image}"` } };
      return;
    }
    // Runs the init container for real against the shared store, in a directory standing for the emptyDir.
    p.dir = await mkdtemp(path.join(os.tmpdir(), 'loopback-pod-'));
    const init = pod.status.initContainerStatuses[0];
    init.state = { running: { startedAt: new Date().toISOString() } };
    const ioEnv = Object.fromEntries(envOf(pod.spec.initContainers[0]));
    await stageIn(this.store, readStepIoSpec(ioEnv), p.dir);
    init.state = { terminated: { exitCode: 0, reason: 'Completed' } };
    pod.status.phase = 'Running';
    const main = pod.spec.containers.find((c: Obj) => c.name === CONTAINERS.step);
    const remap = (v: string) => v.split(WORK_MOUNT).join(p.dir);
    const env = Object.fromEntries(envOf(main).map(([k, v]) => [k, remap(v)]));
    const [cmd, ...args] = (main.command as string[]).map(remap);
    const child = spawn(cmd, args, { cwd: remap(main.workingDir), env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    p.child = child;
    step.state = { running: { startedAt: new Date().toISOString() } };
    const out = (chunk: Buffer) => {
      p.log.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
      for (const l of [...p.listeners]) l();
    };
    child.stdout!.on('data', out);
    child.stderr!.on('data', out);
    if (behaviour === 'evict-when-running') {
      await waitFor(() => p.log.length > 0 || child.exitCode !== null);
      killGroup(child);
      pod.status.reason = 'Evicted';
      pod.status.message = 'The node was low on resource: memory.';
      pod.status.conditions.push({ type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet' });
      return this.finish(job, p, 'Failed');
    }
    const code = await new Promise<number>((r) => child.on('close', (c, sig) => r(c ?? (sig ? 137 : 1))));
    step.state = { terminated: { exitCode: code, reason: code === 0 ? 'Completed' : 'Error' } };
    p.logDone = true;
    for (const l of [...p.listeners]) l();
    if (!this.jobs.has(job.metadata.name)) return;
    // The finishing container: waits for the exit file the wrapped command wrote, uploads after 0.
    await stageOut(this.store, readStepIoSpec(ioEnv), p.dir, 50);
    this.finish(job, p, code === 0 ? 'Succeeded' : 'Failed');
  }

  private finish(job: Obj, p: PodState, phase: 'Succeeded' | 'Failed', message?: string): void {
    if (!this.jobs.has(job.metadata.name)) return;
    p.pod.status.phase = phase;
    if (message) p.pod.status.message = message;
    p.logDone = true;
    for (const l of [...p.listeners]) l();
    job.status = phase === 'Succeeded' ? { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } : { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] };
  }

  private async deleteJob(name: string): Promise<void> {
    this.jobs.delete(name);
    for (const [podName, p] of this.pods) {
      if (p.pod.metadata.labels['job-name'] !== name) continue;
      if (p.child && p.child.exitCode === null) killGroup(p.child);
      p.logDone = true;
      for (const l of [...p.listeners]) l();
      this.pods.delete(podName);
      if (p.dir) await rm(p.dir, { recursive: true, force: true }).catch(() => {});
    }
  }
}

function envOf(container: Obj): [string, string][] {
  return ((container.env ?? []) as Obj[]).filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]);
}

function parseSelector(s: string | null): [string, string][] {
  return s ? s.split(',').map((kv) => kv.split('=', 2) as [string, string]) : [];
}

function matches(obj: Obj, sel: [string, string][]): boolean {
  return sel.every(([k, v]) => obj.metadata?.labels?.[k] === v);
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

const tick = () => new Promise((r) => setTimeout(r, 20));

async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await tick();
}
