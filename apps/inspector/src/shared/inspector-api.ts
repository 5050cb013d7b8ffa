import type { RequestMessage } from './channel-contract.js';

/**
 * What the preload exposes to the renderer as `window.cloudbusInspector`: send a request, receive
 * ticks, store a password. Replies and ticks are `unknown`: the renderer validates them.
 */
export interface InspectorApi {
  request(message: RequestMessage): Promise<unknown>;
  onTick(listener: (tick: unknown) => void): () => void;
  savePassword(profileId: string, password: string): Promise<void>;
}
