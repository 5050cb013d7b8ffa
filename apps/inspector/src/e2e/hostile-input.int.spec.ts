import { brokerUrl } from '@cloudbus/test/brokers';
import type { Page, WebSocketRoute } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';

import { loadProfiles } from '../backend/connection-profiles.js';
import { tapped } from '../backend/test-messages.js';
import { CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_META } from '../shared/content-security-policy.js';
import { canRunBrowser, startInspector, type InspectorHarness } from './inspector-harness.js';

/**
 * Passes the page's WebSocket through, letting `edit` change each reply of the backend to a
 * request named `name` (keyed by the request's params).
 */
async function editReplies(page: Page, name: string, edit: (params: Record<string, unknown>, result: Record<string, unknown>) => void): Promise<void> {
  await page.routeWebSocket(/\/ws$/, (ws: WebSocketRoute) => {
    const server = ws.connectToServer();
    const asked = new Map<number, Record<string, unknown>>();
    ws.onMessage((message) => {
      const request = JSON.parse(String(message)) as { requestId: number; name: string; params: Record<string, unknown> };
      if (request.name === name) asked.set(request.requestId, request.params);
      server.send(message);
    });
    server.onMessage((message) => {
      const parsed = JSON.parse(String(message)) as { kind: string; requestId?: number; result?: Record<string, unknown> };
      const params = parsed.kind === 'reply' ? asked.get(parsed.requestId!) : undefined;
      if (params !== undefined && parsed.result !== undefined) {
        edit(params, parsed.result);
        ws.send(JSON.stringify(parsed));
      } else ws.send(message);
    });
  });
}

describe.skipIf(!canRunBrowser)('the inspector in a browser, facing hostile input', () => {
  let inspector: InspectorHarness | undefined;
  afterEach(async () => {
    await inspector?.close();
    inspector = undefined;
  });

  it('shows a flow whose times no Date can hold, and keeps a view that breaks inside its own boundary', async () => {
    inspector = await startInspector([], {
      beforeLoad: (page) =>
        editReplies(page, 'flow.get', (params, flow) => {
          const step = { kind: 'handler-failed', time: 1e300, eventId: 'e-1', eventType: 'com.example.t', attempt: 1, durationMs: 1, error: 'boom' };
          if (params['correlationId'] === 'c-time') flow['lanes'] = [{ handler: 'shop.Sms', outcome: 'failed', steps: [step] }];
          if (params['correlationId'] === 'c-broken') flow['lanes'] = [{ handler: 'shop.Sms', outcome: 'failed', steps: null }];
        }),
    });
    const { page, backend } = inspector;
    backend.capture.add('p', tapped({ id: 'e-1', type: 'com.example.t', correlationid: 'c-time' }));
    backend.capture.add('p', tapped({ id: 'e-2', type: 'com.example.t', correlationid: 'c-broken' }));
    await expect.poll(() => page.locator('[data-testid="event-row"]').count(), { timeout: 20_000 }).toBe(2);

    await page.locator('[data-testid="tab-flow"]').click();
    await page.locator('[data-testid="flow-correlation"]').fill('c-time');
    await expect.poll(() => page.locator('[data-testid="lane-step"]').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.locator('[data-testid="lane-step"]').getAttribute('title')).toBe('—');

    await page.locator('[data-testid="flow-correlation"]').fill('c-broken');
    await expect.poll(() => page.locator('[data-testid="view-error"]').count(), { timeout: 20_000 }).toBe(1);
    // The rest of the inspector still works.
    await expect.poll(() => page.locator('[data-testid="total"]').textContent(), { timeout: 20_000 }).toContain('2 captured');
    await page.locator('[data-testid="tab-live"]').click();
    await expect.poll(() => page.locator('[data-testid="event-row"]').count(), { timeout: 20_000 }).toBe(2);
    await page.locator('[data-testid="tab-flow"]').click();
    await page.locator('[data-testid="flow-correlation"]').fill('c-time');
    await expect.poll(() => page.locator('[data-testid="lane-step"]').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.locator('[data-testid="view-error"]').count()).toBe(0);
  });

  it('serves one Content Security Policy: the meta tag is the header less its header-only directive', async () => {
    inspector = await startInspector([]);
    const response = await inspector.page.request.get(inspector.page.url());
    expect(response.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(await inspector.page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toBe(CONTENT_SECURITY_POLICY_META);
  });

  const rabbit = brokerUrl('rabbitmq');
  it.skipIf(!rabbit)('never shows or sends the password given in --url: profiles, ticks, header tooltip, export', async () => {
    const secret = 'Sup3r-S3cret-pw';
    const local = new URL(rabbit!);
    const { profiles, passwords } = loadProfiles(['--broker', 'rabbitmq', '--url', `amqp://guest:${secret}@${local.host}`], {});
    const frames: string[] = [];
    inspector = await startInspector(profiles, {
      passwords,
      expectOpen: false,
      beforeLoad: async (page) => {
        page.on('websocket', (ws) => ws.on('framereceived', (frame) => frames.push(String(frame.payload))));
      },
    });
    const { page } = inspector;
    // The wrong password is refused by the broker: the profile shows failed, with its reason.
    await expect.poll(() => page.locator('[data-testid="profile"]').getAttribute('data-state')).toBe('failed');
    await page.locator('[data-testid="export"]').click();
    await expect.poll(() => frames.some((frame) => frame.includes('"events"') && frame.includes('"reply"'))).toBe(true);
    const title = await page.locator('[data-testid="profile"]').getAttribute('title');
    expect(title).not.toContain(secret);
    expect(await page.content()).not.toContain(secret);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.filter((frame) => frame.includes(secret))).toEqual([]);
    expect(frames.some((frame) => frame.includes(`amqp://guest@${local.host}`))).toBe(true);
  });
});
