import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { sleep } from './timing.js';

const run = promisify(execFile);

/**
 * One quorum queue's Raft member on the local RabbitMQ node, as the node itself reports it.
 *
 * Why a fault case needs this: RabbitMQ keeps the map from a member's name to its data directory
 * (its Raft log) in `names.dets`, which it writes to disk lazily. A node killed with SIGKILL soon
 * after a quorum queue was declared can come back without that entry; recovery then starts the
 * member afresh under a new directory, with an empty log, as a follower that never elects itself
 * (rabbitmq-server#10070, #15725; seen here on 3.10.8 with Ra 2.2). The events the old member held,
 * which the broker had confirmed, stay in the orphaned directory, out of reach, and every consume
 * on the queue times out inside the broker.
 */
export interface QuorumMember {
  /** The queue's name. */
  readonly queue: string;
  /** The Ra server's internal name (`%2F_<queue>` for the default vhost). */
  readonly raName: string;
  /** `leader`, `follower`, `candidate`, `pre_vote`, ... or `noproc` when it is not running. */
  readonly raftState: string;
  /** The data directory the node has on record for the member. */
  readonly registered: string;
  /** Other data directories of a member of the same queue: left behind by a member started afresh. */
  readonly orphaned: readonly string[];
}

/** An Erlang binary literal of `text` (UTF-8, every byte spelled out: no quoting to get wrong). */
function erlangBinary(text: string): string {
  return `<<${[...Buffer.from(text, 'utf8')].join(',')}>>`;
}

/**
 * The quorum queues of the default vhost whose names begin with `prefix`, with their members'
 * state, read with `rabbitmqctl eval` from the local node (`node`, when not the default one).
 */
export async function quorumMembers(prefix: string, node?: string): Promise<QuorumMember[]> {
  const expression = `
    Prefix = ${erlangBinary(prefix)},
    #{data_dir := Dir} = ra_system:fetch(quorum_queues),
    {ok, Dirs} = file:list_dir(Dir),
    Queues = [Q || Q <- rabbit_amqqueue:list(),
                   amqqueue:get_type(Q) =:= rabbit_quorum_queue,
                   binary:longest_common_prefix([element(4, amqqueue:get_name(Q)), Prefix]) =:= byte_size(Prefix)],
    base64:encode(unicode:characters_to_binary([begin
      {Name, _} = amqqueue:get_pid(Q),
      State = case ets:lookup(ra_state, Name) of [T | _] -> element(2, T); [] -> noproc end,
      Registered = case ra_directory:uid_of(quorum_queues, Name) of undefined -> <<>>; U -> U end,
      Orphaned = [D || D <- Dirs, list_to_binary(D) =/= Registered,
                       case file:consult(filename:join([Dir, D, "config"])) of
                         {ok, [#{cluster_name := Name}]} -> true;
                         _ -> false
                       end],
      io_lib:format("~s\\t~s\\t~s\\t~s\\t~s~n",
                    [element(4, amqqueue:get_name(Q)), Name, State, Registered, lists:join(",", Orphaned)])
    end || Q <- Queues])).`;
  const { stdout } = await run('rabbitmqctl', [...(node === undefined ? [] : ['-n', node]), 'eval', expression], { timeout: 60_000 });
  // rabbitmqctl prints the returned term: a binary, base64 so that nothing in it needs unescaping.
  const match = /<<(?:"([A-Za-z0-9+/=]*)")?>>/.exec(stdout);
  if (match === null) throw new Error(`rabbitmqctl eval: unexpected output ${stdout}`);
  const text = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [queue = '', raName = '', raftState = '', registered = '', orphaned = ''] = line.split('\t');
      return { queue, raName, raftState, registered, orphaned: orphaned === '' ? [] : orphaned.split(',') };
    });
}

/** What became of a run's quorum queues after a restart. */
export interface QuorumRecovery {
  /** Members RabbitMQ started afresh after the restart (see {@link QuorumMember}); their queues hold none of the earlier events. */
  readonly replaced: readonly QuorumMember[];
}

/**
 * Waits after a restart until every quorum queue whose name begins with `prefix` has a leader,
 * and reports those whose member RabbitMQ started afresh instead: no leader `graceMs` after the
 * node answered, and a data directory of an earlier member of theirs, not among `seen` (orphans
 * already reported). A single-node member that recovered elects itself within a second or two; a
 * fresh one never does. Throws when a queue has no leader after `timeoutMs` for any other reason.
 *
 * Nothing is asked of the node before the restart on purpose: reading its name registry writes
 * out what the registry held back, and the fault would no longer happen.
 */
export async function awaitQuorumLeaders(
  prefix: string,
  seen: ReadonlySet<string>,
  { graceMs = 10_000, timeoutMs = 120_000 }: { graceMs?: number; timeoutMs?: number } = {},
): Promise<QuorumRecovery> {
  const started = Date.now();
  for (;;) {
    const members = await quorumMembers(prefix).catch(() => undefined);
    if (members !== undefined) {
      const waiting = members.filter((member) => member.raftState !== 'leader');
      if (waiting.length === 0) return { replaced: [] };
      const replaced = waiting.filter((member) => member.orphaned.some((dir) => !seen.has(dir)));
      if (replaced.length === waiting.length && Date.now() - started >= graceMs) return { replaced };
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`quorum queues of ${prefix} without a leader ${timeoutMs} ms after the restart: ${JSON.stringify(members)}`);
    }
    await sleep(1_000);
  }
}

/**
 * What an operator does about a member started afresh (see {@link QuorumMember}): makes it elect
 * itself, so that the queue serves again, without the events its orphaned log held.
 */
export async function electAfresh(member: QuorumMember): Promise<void> {
  await run('rabbitmqctl', ['eval', `ra:trigger_election({binary_to_atom(${erlangBinary(member.raName)}, utf8), node()}).`], { timeout: 60_000 });
}

/**
 * Deletes the orphaned data directories of `member` (see {@link QuorumMember}) on the node: the
 * node never does, and the broker is shared. Only directories whose `config` names this member's
 * queue are touched.
 */
export async function removeOrphaned(member: QuorumMember): Promise<void> {
  if (member.orphaned.length === 0) return;
  const expression = `
    #{data_dir := Dir} = ra_system:fetch(quorum_queues),
    Name = binary_to_atom(${erlangBinary(member.raName)}, utf8),
    [case file:consult(filename:join([Dir, D, "config"])) of
       {ok, [#{cluster_name := Name}]} -> file:del_dir_r(filename:join(Dir, D));
       _ -> skipped
     end || D <- [${member.orphaned.map((dir) => `binary_to_list(${erlangBinary(dir)})`).join(', ')}]].`;
  await run('rabbitmqctl', ['eval', expression], { timeout: 60_000 });
}
