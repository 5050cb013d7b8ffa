import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { isListening } from '@cloudbus/test/brokers';

import { sleep } from './timing.js';

const run = promisify(execFile);

/** Options of {@link RabbitMqCluster.start}. */
export interface RabbitMqClusterOptions {
  /** AMQP port of the first node; the others follow. @default 5681 */
  readonly amqpPort?: number;
  /** Erlang distribution port of the first node; the others follow. @default 25681 */
  readonly distPort?: number;
  /** @default 3 */
  readonly size?: number;
}

interface Node {
  /** Erlang node name, `cbf<i>_<run>@localhost`. */
  readonly name: string;
  readonly amqpPort: number;
  readonly distPort: number;
  readonly dir: string;
}

/**
 * A local RabbitMQ cluster of separate `rabbitmq-server` nodes on loopback (their own names,
 * ports, config and data under a temporary folder; the Erlang cookie of the local installation),
 * for the replication case a single node cannot prove. Quorum queues declared on it get one
 * member per node. Only nodes this class started are ever signalled.
 *
 * `rabbitmq-server` run as root switches to the `rabbitmq` user, so the folder is handed to that
 * user when it exists.
 */
export class RabbitMqCluster {
  readonly #nodes: Node[];
  readonly #dir: string;

  private constructor(options: RabbitMqClusterOptions) {
    const size = options.size ?? 3;
    const amqpPort = options.amqpPort ?? 5681;
    const distPort = options.distPort ?? 25681;
    const runId = Math.random().toString(36).slice(2, 6);
    this.#dir = mkdtempSync(join(tmpdir(), 'cloudbus-rabbitmq-cluster-'));
    this.#nodes = Array.from({ length: size }, (_, i) => ({
      name: `cbf${i + 1}_${runId}@localhost`,
      amqpPort: amqpPort + i,
      distPort: distPort + i,
      dir: join(this.#dir, `n${i + 1}`),
    }));
  }

  /** Whether `rabbitmq-server` and `rabbitmqctl` are installed here. */
  static async available(): Promise<boolean> {
    try {
      await run('which', ['rabbitmq-server', 'rabbitmqctl']);
      return true;
    } catch {
      return false;
    }
  }

  /** Starts every node, joins them into one cluster and waits until all run. */
  static async start(options: RabbitMqClusterOptions = {}): Promise<RabbitMqCluster> {
    const cluster = new RabbitMqCluster(options);
    for (const node of cluster.#nodes) {
      if (await isListening('127.0.0.1', node.amqpPort)) {
        rmSync(cluster.#dir, { recursive: true, force: true });
        throw new Error(`Port ${node.amqpPort} is taken: a node left over from an earlier run? (\`epmd -names\` lists them.)`);
      }
    }
    try {
      cluster.#prepare();
      for (const node of cluster.#nodes) await cluster.#spawn(node);
      for (const node of cluster.#nodes) await cluster.#awaitStartup(node);
      const [first, ...others] = cluster.#nodes;
      for (const node of others) {
        await ctl(node, 'stop_app');
        await ctl(node, 'join_cluster', first!.name);
        await ctl(node, 'start_app');
      }
      await cluster.#awaitRunning(cluster.#nodes.length);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Node names, `n1`, `n2`, ... (their index + 1). */
  get names(): string[] {
    return this.#nodes.map((_, i) => `n${i + 1}`);
  }

  /** The AMQP URL of one node (guest may log in from anywhere on this cluster). */
  urlOf(name: string): string {
    return `amqp://guest:guest@127.0.0.1:${this.#node(name).amqpPort}`;
  }

  /** The node (`n1`...) leading quorum queue `queue`, as the cluster reports it. */
  async leaderOf(queue: string): Promise<string | undefined> {
    for (const node of this.#nodes) {
      try {
        const { stdout } = await ctl(node, 'list_queues', 'name', 'leader', '--formatter', 'json', '--quiet');
        const rows = JSON.parse(stdout) as { name: string; leader?: string }[];
        const leader = rows.find((row) => row.name === queue)?.leader;
        const index = this.#nodes.findIndex((candidate) => candidate.name === leader);
        if (index >= 0) return `n${index + 1}`;
      } catch {
        // that node is not answering: ask the next
      }
    }
    return undefined;
  }

  /** Waits until `queue` has a leader and every node is running again. */
  async waitHealthy(queue: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.#awaitRunning(this.#nodes.length, timeoutMs);
    while ((await this.leaderOf(queue)) === undefined) {
      if (Date.now() > deadline) throw new Error(`quorum queue ${queue} has no leader within ${timeoutMs} ms`);
      await sleep(500);
    }
  }

  /** SIGKILLs one node's Erlang VM and waits for its AMQP port to close. */
  async kill(name: string): Promise<void> {
    const node = this.#node(name);
    const pid = this.#pid(node);
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return; // already gone
    }
    const deadline = Date.now() + 30_000;
    while (await isListening('127.0.0.1', node.amqpPort)) {
      if (Date.now() > deadline) throw new Error(`RabbitMQ node ${node.name} still listening after SIGKILL`);
      await sleep(100);
    }
  }

  /** Starts a killed node again on its own data; it rejoins the cluster by itself. */
  async restart(name: string): Promise<void> {
    const node = this.#node(name);
    await this.#spawn(node);
    await this.#awaitStartup(node);
  }

  /** Stops every node (SIGKILL: the data is deleted anyway) and deletes the folder. */
  async stop(): Promise<void> {
    for (const node of this.#nodes) {
      const pid = this.#pid(node);
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #node(name: string): Node {
    const index = this.names.indexOf(name);
    if (index < 0) throw new Error(`no node ${name}`);
    return this.#nodes[index]!;
  }

  #pid(node: Node): number | undefined {
    try {
      const pid = Number(readFileSync(join(node.dir, 'pid'), 'utf8').trim());
      return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  #prepare(): void {
    const owner = rabbitmqUser();
    const owned = (path: string): void => {
      if (owner !== undefined) chownSync(path, owner.uid, owner.gid);
    };
    owned(this.#dir);
    for (const node of this.#nodes) {
      mkdirSync(node.dir);
      owned(node.dir);
      const config = join(this.#dir, `${node.name}.conf`);
      writeFileSync(config, `listeners.tcp.local = 127.0.0.1:${node.amqpPort}\nloopback_users = none\n`);
      owned(config);
    }
  }

  async #spawn(node: Node): Promise<void> {
    await run('rabbitmq-server', ['-detached'], {
      env: {
        ...process.env,
        RABBITMQ_NODENAME: node.name,
        RABBITMQ_CONFIG_FILE: join(this.#dir, `${node.name}.conf`),
        RABBITMQ_DIST_PORT: String(node.distPort),
        RABBITMQ_MNESIA_BASE: join(node.dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(node.dir, 'log'),
        RABBITMQ_PID_FILE: join(node.dir, 'pid'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(this.#dir, 'enabled_plugins'),
      },
    });
  }

  async #awaitStartup(node: Node): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await ctl(node, 'await_startup', '--timeout', '30');
        if (await isListening('127.0.0.1', node.amqpPort)) return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`RabbitMQ node ${node.name} did not start: ${String(error)}`);
      }
      await sleep(500);
    }
  }

  async #awaitRunning(count: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const node of this.#nodes) {
        try {
          const { stdout } = await ctl(node, 'cluster_status', '--formatter', 'json');
          const status = JSON.parse(stdout) as { running_nodes?: string[] };
          if ((status.running_nodes ?? []).length >= count) return;
        } catch {
          // ask the next node
        }
      }
      if (Date.now() > deadline) throw new Error(`RabbitMQ cluster: ${count} nodes not running within ${timeoutMs} ms`);
      await sleep(1_000);
    }
  }
}

function ctl(node: Node, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('rabbitmqctl', ['-n', node.name, ...args], { timeout: 90_000 });
}

/** The `rabbitmq` system user, when this process runs as root and the user exists. */
function rabbitmqUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const stat = statSync('/var/lib/rabbitmq');
    return { uid: stat.uid, gid: stat.gid };
  } catch {
    return undefined;
  }
}
