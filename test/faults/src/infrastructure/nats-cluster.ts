import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { isListening } from '@cloudbus/test/brokers';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

import { sleep } from './timing.js';

/** Options of {@link NatsCluster.start}. */
export interface NatsClusterOptions {
  /** Client port of the first node; the others follow. @default 14222 */
  readonly clientPort?: number;
  /** Cluster (route) port of the first node; the others follow. @default 16222 */
  readonly clusterPort?: number;
  /** @default 3 */
  readonly size?: number;
}

interface Node {
  readonly name: string;
  readonly clientPort: number;
  readonly clusterPort: number;
  readonly storeDir: string;
  process: ChildProcess | undefined;
}

/**
 * A local NATS JetStream cluster of separate `nats-server` processes on loopback, with their
 * stores in a temporary folder: for the replication case, which a single server cannot prove.
 * Only processes this class started are ever signalled.
 */
export class NatsCluster {
  readonly #nodes: Node[];
  readonly #dir: string;

  private constructor(options: NatsClusterOptions) {
    const size = options.size ?? 3;
    const clientPort = options.clientPort ?? 14222;
    const clusterPort = options.clusterPort ?? 16222;
    this.#dir = mkdtempSync(join(tmpdir(), 'cloudbus-nats-cluster-'));
    this.#nodes = Array.from({ length: size }, (_, i) => ({
      name: `n${i + 1}`,
      clientPort: clientPort + i,
      clusterPort: clusterPort + i,
      storeDir: join(this.#dir, `n${i + 1}`),
      process: undefined,
    }));
  }

  /** Starts every node and waits until JetStream answers with a meta leader. */
  static async start(options: NatsClusterOptions = {}): Promise<NatsCluster> {
    const cluster = new NatsCluster(options);
    try {
      for (const node of cluster.#nodes) cluster.#spawn(node);
      await cluster.#ready();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Client URLs of every node, comma-separated (what the transport's `url` accepts). */
  get url(): string {
    return this.#nodes.map((node) => `nats://127.0.0.1:${node.clientPort}`).join(',');
  }

  /** Node names. */
  get names(): string[] {
    return this.#nodes.map((node) => node.name);
  }

  /** The node currently leading `stream`'s replica group. */
  async leaderOf(stream: string): Promise<string | undefined> {
    const nc = await connect({ servers: this.url.split(',') });
    try {
      const jsm = await jetstreamManager(nc);
      return (await jsm.streams.info(stream)).cluster?.leader;
    } finally {
      await nc.close();
    }
  }

  /** Waits until `stream` has a leader and every replica is current (after a node came back). */
  async waitHealthy(stream: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const nc = await connect({ servers: this.url.split(',') });
        try {
          const jsm = await jetstreamManager(nc);
          const cluster = (await jsm.streams.info(stream)).cluster;
          if (cluster?.leader !== undefined && (cluster.replicas ?? []).every((replica) => replica.current && !replica.offline)) return;
        } finally {
          await nc.close();
        }
      } catch {
        // not answering yet
      }
      if (Date.now() > deadline) throw new Error(`stream ${stream} not healthy within ${timeoutMs} ms`);
      await sleep(500);
    }
  }

  /** How many replicas `stream` has. */
  async replicasOf(stream: string): Promise<number> {
    const nc = await connect({ servers: this.url.split(',') });
    try {
      const jsm = await jetstreamManager(nc);
      return (await jsm.streams.info(stream)).config.num_replicas;
    } finally {
      await nc.close();
    }
  }

  /** SIGKILLs one node and waits for it to be gone. */
  async kill(name: string): Promise<void> {
    const node = this.#node(name);
    const child = node.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    node.process = undefined;
  }

  /** Starts a killed node again, on its own store, and waits until it serves clients. */
  async restart(name: string): Promise<void> {
    const node = this.#node(name);
    if (node.process === undefined) this.#spawn(node);
    await this.#listening(node);
  }

  /** Stops every node and deletes the stores. */
  async stop(): Promise<void> {
    await Promise.all(this.#nodes.map((node) => this.kill(node.name)));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #node(name: string): Node {
    const node = this.#nodes.find((candidate) => candidate.name === name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  #spawn(node: Node): void {
    const routes = this.#nodes.filter((other) => other !== node).map((other) => `nats://127.0.0.1:${other.clusterPort}`);
    node.process = spawn(
      'nats-server',
      [
        '-a', '127.0.0.1', '-p', String(node.clientPort), '-js', '-sd', node.storeDir, '--server_name', node.name,
        '--cluster_name', 'cloudbus-faults', '--cluster', `nats://127.0.0.1:${node.clusterPort}`, '--routes', routes.join(','),
      ],
      { stdio: 'ignore' },
    );
  }

  async #listening(node: Node): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!(await isListening('127.0.0.1', node.clientPort))) {
      if (Date.now() > deadline) throw new Error(`NATS node ${node.name} not listening on ${node.clientPort}`);
      await sleep(200);
    }
  }

  async #ready(): Promise<void> {
    for (const node of this.#nodes) await this.#listening(node);
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        const nc = await connect({ servers: this.url.split(',') });
        try {
          const jsm = await jetstreamManager(nc);
          const info = await jsm.getAccountInfo();
          if (info !== undefined) return;
        } finally {
          await nc.close();
        }
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`NATS cluster has no JetStream meta leader: ${String(error)}`);
      }
      await sleep(500);
    }
  }
}
