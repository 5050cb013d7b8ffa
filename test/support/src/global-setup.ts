import { resolveBrokers, type BrokerEndpoint } from './brokers.js';

let endpoints: BrokerEndpoint[] = [];

/** Vitest global setup: finds the brokers once per run and exports their URLs to the workers. */
export async function setup(): Promise<void> {
  endpoints = await resolveBrokers();
  const summary = endpoints.map((endpoint) => `${endpoint.kind} (${endpoint.origin})`).join(', ');
  console.log(`[cloudbus tests] brokers: ${summary || 'none found'}`);
}

export async function teardown(): Promise<void> {
  await Promise.all(endpoints.map((endpoint) => endpoint.stop()));
}
