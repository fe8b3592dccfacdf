/**
 * The console's command and twin views end to end, in Debian's Chromium against `iotctl local`,
 * with a real MQTT.js client playing the device: a command sent from the page reaches the device
 * and its status turns SUCCEEDED live; a desired-state edit reaches the device as a delta, the
 * device reports it, and the delta clears on the page; a twin edited meanwhile by someone else
 * asks to reload or overwrite. Each view is photographed at 1280x800 and 390x844.
 */
import type { Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  connectSimulatedDevice,
  FLOW_TIMEOUT_MS,
  graphql,
  type LocalPlatformProcess,
  newPage,
  provisionDevice,
  screenshot,
  signIn,
  useConsoleSuite,
  WAIT,
} from './harness.js';

describe('device commands and twin in Chromium', () => {
  let platform: LocalPlatformProcess;
  let browser: Browser;
  let adminToken: string;

  useConsoleSuite((suite) => ({ platform, browser, adminToken } = suite));

  it('sends a command from the page to a real device and shows it SUCCEEDED live, with history pages', async () => {
    // Prepare: a device answering commands, and 10 older commands so the history has a second page.
    const bundle = await provisionDevice(platform, 'Valve controller', 'valve');
    const id = bundle.manifest.thingName;
    const device = await connectSimulatedDevice(platform, bundle);
    for (let i = 0; i < 10; i += 1) {
      const sent = await graphql(platform, adminToken, 'mutation($input: SendCommandInput!) { sendCommand(input: $input) { id } }', { input: { deviceId: id, name: `warmup-${i}` } });
      expect(sent.errors).toBeUndefined();
    }
    await expect.poll(() => device.commands.length, WAIT).toBe(10);
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.goto(`${platform.consoleUrl}/devices/${id}`);
    await page.getByRole('heading', { name: 'Commands' }).waitFor(WAIT);

    // Act 1: a payload that is not JSON is refused in the form, before anything is sent.
    await page.getByLabel('Command name').fill('open-valve');
    await page.getByLabel('Payload (JSON)').fill('{"percent": 40,}');
    await page.getByText(/^Not valid JSON at line 1/).waitFor(WAIT);
    await expect(page.getByRole('button', { name: 'Send command' }).isDisabled()).resolves.toBe(true);
    await screenshot(page, '13-command-invalid-payload');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '13-command-invalid-payload');
    await page.setViewportSize({ width: 1280, height: 800 });

    // Act 2: a valid command.
    await page.getByLabel('Payload (JSON)').fill('{"percent": 40}');
    await page.getByLabel('Timeout (seconds)').fill('30');
    await page.getByRole('button', { name: 'Send command' }).click();

    // Assess: the device got it, and the page shows SUCCEEDED without a reload.
    await expect.poll(() => device.commands.map((c) => c.name).at(-1), WAIT).toBe('open-valve');
    const sent = device.commands.at(-1)!;
    expect(sent.payload).toEqual({ percent: 40 });
    const status = page.getByTestId(`command-status-${sent.id}`);
    await expect.poll(() => status.textContent(), WAIT).toBe('succeeded');
    const stored = await graphql(platform, adminToken, 'query($id: ID!) { command(id: $id) { status timeoutSeconds result createdBy } }', { id: sent.id });
    expect(stored.data.command).toEqual({ status: 'SUCCEEDED', timeoutSeconds: 30, result: '{"handled":"open-valve"}', createdBy: 'alice' });
    await page.locator(`[data-command-id="${sent.id}"] summary`).click();
    await expect(page.getByTestId(`command-result-${sent.id}`).textContent()).resolves.toContain('"handled": "open-valve"');
    await screenshot(page, '14-device-commands');

    // Assess: 11 commands, 10 a page: the oldest comes with the second page.
    await expect(page.locator('[data-command-id]').count()).resolves.toBe(10);
    await page.getByRole('button', { name: 'Older commands' }).click();
    await expect.poll(() => page.locator('[data-command-id]').count(), WAIT).toBe(11);
    await expect(page.locator('[data-command-id]').last().locator('strong').textContent()).resolves.toBe('warmup-0');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '14-device-commands');
    await device.stop();
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('sends a desired-state edit to a real device, which reports it, and the delta clears on the page', async () => {
    // Prepare: a device that reports whatever delta it receives.
    const bundle = await provisionDevice(platform, 'Light strip', 'light');
    const id = bundle.manifest.thingName;
    const device = await connectSimulatedDevice(platform, bundle);
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.goto(`${platform.consoleUrl}/devices/${id}`);
    await page.getByRole('button', { name: 'Edit desired state' }).click();
    const editor = page.getByLabel('Desired state (JSON object)');

    // Act 1: what the API would refuse is refused in the editor: a typo, a non-object, too large.
    await editor.fill('{"light": {"on": true, "level": 80}');
    await page.getByText(/^Not valid JSON/).waitFor(WAIT);
    await editor.fill('[1, 2]');
    await page.getByText('Must be a JSON object ({ ... })').waitFor(WAIT);
    await editor.fill(JSON.stringify({ blob: 'x'.repeat(70_000) }));
    await page.getByText(/^Too large: 68\.\d KB of at most 64\.0 KB$/).waitFor(WAIT);
    await expect(page.getByRole('button', { name: 'Save desired state' }).isDisabled()).resolves.toBe(true);
    await editor.fill('{"light": {"on": true, "level": 80}}');
    await screenshot(page, '15-twin-editor');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '15-twin-editor');
    await page.setViewportSize({ width: 1280, height: 800 });

    // Act 2: save.
    await page.getByRole('button', { name: 'Save desired state' }).click();

    // Assess: the device got the delta and reported it; the page shows no delta any more and the reported state.
    await expect.poll(() => device.deltas.map((d) => d.delta), WAIT).toContainEqual({ light: { on: true, level: 80 } });
    await page.getByTestId('twin-delta-empty').waitFor(WAIT);
    await expect.poll(async () => JSON.parse((await page.getByTestId('twin-reported').textContent()) ?? '{}'), WAIT).toEqual({ light: { on: true, level: 80 } });
    const twin = await graphql(platform, adminToken, 'query($id: ID!) { device(id: $id) { twin { desired reported delta } } }', { id });
    expect(twin.data.device.twin).toEqual({ desired: '{"light":{"on":true,"level":80}}', reported: '{"light":{"on":true,"level":80}}', delta: '{}' });
    await screenshot(page, '16-twin-in-sync');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '16-twin-in-sync');
    await device.stop();
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('asks to reload or overwrite when the desired state changed meanwhile, and overwrites with the editor content', async () => {
    const created = await graphql(platform, adminToken, 'mutation { createDevice(input: {name: "Shared heater", type: "heater"}) { id } }');
    const id = created.data.createDevice.id as string;
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.goto(`${platform.consoleUrl}/devices/${id}`);
    await page.getByRole('button', { name: 'Edit desired state' }).click();
    await page.getByLabel('Desired state (JSON object)').fill('{"mode": "eco"}');

    // Someone else sets desired state first.
    const other = await graphql(platform, adminToken, 'mutation($id: ID!) { updateDesiredState(deviceId: $id, patch: "{\\"fan\\":2}") { version } }', { id });
    expect(other.errors).toBeUndefined();
    await page.getByRole('button', { name: 'Save desired state' }).click();
    await page.getByText('Changed by someone else').waitFor(WAIT);
    await screenshot(page, '17-twin-conflict');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '17-twin-conflict');

    await page.getByRole('button', { name: 'Overwrite' }).click();
    await page.getByText(/^Saved \(twin version \d+\)/).waitFor(WAIT);
    const twin = await graphql(platform, adminToken, 'query($id: ID!) { device(id: $id) { twin { desired } } }', { id });
    // The editor's document replaced the other writer's: fan is gone, mode is set.
    expect(JSON.parse(twin.data.device.twin.desired)).toEqual({ mode: 'eco' });
    await context.close();
  }, FLOW_TIMEOUT_MS);
});
