/**
 * The console end to end, in Debian's Chromium against `iotctl local`: sign-in, the fleet
 * overview, creating a device, the live device list and detail page fed by a real MQTT device,
 * version conflicts, the viewer's read-only console and the API refusing a forced write, and an
 * expired session returning to the same page. Every view is photographed at 1280x800 and 390x844.
 */
import type { Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  changeBetweenReadAndSubscription,
  FLOW_TIMEOUT_MS,
  graphql,
  type LocalPlatformProcess,
  newPage,
  provisionDevice,
  publishTelemetry,
  screenshot,
  signIn,
  useConsoleSuite,
  WAIT,
  waitForReading,
  watchDeviceChanges,
} from './harness.js';

describe('web console in Chromium', () => {
  let platform: LocalPlatformProcess;
  let browser: Browser;
  let adminToken: string;

  useConsoleSuite((suite) => ({ platform, browser, adminToken } = suite));

  it('shows the sign-in page and, for an empty fleet, designed empty states', async () => {
    for (const viewport of ['desktop', 'phone'] as const) {
      const { context, page } = await newPage(browser, viewport);
      await page.goto(platform.consoleUrl);
      await page.getByLabel('User name').waitFor(WAIT);
      await screenshot(page, '01-sign-in');
      await signIn(page, platform.consoleUrl, `empty-${viewport}`, 'admin');
      await page.getByRole('heading', { name: 'No devices yet' }).waitFor(WAIT);
      await screenshot(page, '02-overview-empty');
      await context.close();
    }
  }, FLOW_TIMEOUT_MS);

  it('lets an admin create a device and see it in the list', async () => {
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.getByRole('link', { name: 'Create device' }).first().click();
    await page.getByRole('heading', { name: 'Create device' }).waitFor(WAIT);
    await page.getByLabel('Name', { exact: true }).fill('Boiler room sensor');
    await page.getByLabel('Type', { exact: true }).fill('thermostat');
    await expect(page.getByTestId('provision-command').textContent()).resolves.toBe(
      'npm run -s iotctl -- device create \'Boiler room sensor\' --type thermostat --out ./devices/boiler-room-sensor',
    );
    await page.getByRole('button', { name: 'Add metadata' }).click();
    await page.getByLabel('Metadata key 1').fill('site');
    await page.getByLabel('Metadata value 1').fill('north');
    await screenshot(page, '03-create-device');
    await page.getByRole('button', { name: 'Create device' }).click();
    await page.getByText('is registered').waitFor(WAIT);
    await page.getByRole('main').getByRole('link', { name: 'Device list' }).click();
    await page.getByRole('link', { name: 'Boiler room sensor' }).waitFor(WAIT);
    await screenshot(page, '04-device-list');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '04-device-list');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Create device' }).first().click();
    await page.getByRole('heading', { name: 'Create device' }).waitFor(WAIT);
    await screenshot(page, '03-create-device');
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('updates the reading live on the detail page as a real MQTT device publishes, and charts it', async () => {
    // Prepare: a device with its certificate, as an operator provisions it.
    const bundle = await provisionDevice(platform, 'Greenhouse probe');
    const id = bundle.manifest.thingName;
    await publishTelemetry(platform, bundle, { temperature: 18.5, humidity: 40 }, 1);
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    await page.getByRole('link', { name: 'Greenhouse probe' }).click();
    await expect.poll(() => page.getByTestId('reading-temperature').textContent(), WAIT).toBe('18.5');

    // Act: the device publishes again while the page is open.
    await publishTelemetry(platform, bundle, { temperature: 23.25, humidity: 41 }, 2);

    // Assess: the reading changes without a reload, and the chart holds both points.
    await expect.poll(() => page.getByTestId('reading-temperature').textContent(), WAIT).toBe('23.25');
    const chart = page.getByRole('img', { name: /^temperature over the last hour/ });
    await expect.poll(async () => Number(await chart.getAttribute('data-points')), WAIT).toBeGreaterThanOrEqual(2);
    await expect(chart.locator('canvas').count()).resolves.toBe(1);
    await screenshot(page, '05-device-detail');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '05-device-detail');
    expect(page.url()).toBe(`${platform.consoleUrl}/devices/${id}`);
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('shows a reading that lands between the device page’s read and its subscription, without another reading', async () => {
    // Prepare: a device without readings, and a Node subscriber that tells when its change went out.
    const bundle = await provisionDevice(platform, 'Race probe');
    const id = bundle.manifest.thingName;
    const watch = await watchDeviceChanges(platform, adminToken, id);
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    const { changed } = await changeBetweenReadAndSubscription(page, { read: 'Device', subscription: 'DeviceUpdated' }, async () => {
      await publishTelemetry(platform, bundle, { temperature: 7.5 }, 1);
      await watch.waitFor((c) => c.device.readings.some((r: { metric: string; numberValue?: number }) => r.metric === 'temperature' && r.numberValue === 7.5));
    });

    // Act: open the page; its read is answered before the reading and reaches it after.
    await page.goto(`${platform.consoleUrl}/devices/${id}`);
    await changed;

    // Assess: the reading shows, though the read missed it and no other change follows.
    await expect.poll(() => page.getByTestId('reading-temperature').textContent(), WAIT).toBe('7.5');
    await watch.close();
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('shows a rename that lands between the device list’s read and its subscription, without another change', async () => {
    // Prepare
    const created = await graphql(platform, adminToken, 'mutation($input: CreateDeviceInput!) { createDevice(input: $input) { id version } }', { input: { name: 'Before the rename', type: 'thermostat' } });
    expect(created.errors).toBeUndefined();
    const { id, version } = created.data.createDevice as { id: string; version: number };
    const watch = await watchDeviceChanges(platform, adminToken, id);
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    const { changed } = await changeBetweenReadAndSubscription(page, { read: 'Devices', subscription: 'DeviceUpdated' }, async () => {
      const renamed = await graphql(platform, adminToken, 'mutation($input: UpdateDeviceInput!) { updateDevice(input: $input) { id } }', { input: { id, name: 'After the rename', expectedVersion: version } });
      expect(renamed.errors).toBeUndefined();
      await watch.waitFor((c) => c.device.name === 'After the rename');
    });

    // Act
    await page.goto(`${platform.consoleUrl}/devices`);
    await changed;

    // Assess
    await page.getByRole('link', { name: 'After the rename' }).waitFor(WAIT);
    await watch.close();
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('draws ranges over 6 hours from rollups: an average per minute with its minimum-maximum band', async () => {
    // Prepare: three readings of one minute, published by the device over MQTT.
    const bundle = await provisionDevice(platform, 'Rollup probe', 'probe');
    const id = bundle.manifest.thingName;
    for (const [seq, temperature] of [[1, 10], [2, 20], [3, 60]] as const) await publishTelemetry(platform, bundle, { temperature }, seq);
    await waitForReading(platform, adminToken, id, 'temperature', 60);
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.goto(`${platform.consoleUrl}/devices/${id}`);
    await expect.poll(() => page.getByTestId('reading-temperature').textContent(), WAIT).toBe('60');

    // Act
    await page.getByLabel('Range').selectOption('24h');

    // Assess: the chart reads MINUTE buckets and draws the band; the caption says so.
    const chart = page.getByRole('img', { name: /^temperature over the last 24 hours: \d+ buckets? \(per minute\)/ });
    await expect.poll(async () => chart.getAttribute('data-banded'), WAIT).toBe('true');
    await expect.poll(async () => Number(await chart.getAttribute('data-points')), WAIT).toBeGreaterThanOrEqual(1);
    await page.getByText(/average per minute with its minimum-maximum band/).waitFor(WAIT);
    await screenshot(page, '27-chart-rollups');
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('shows an ACTIVE alarm live when a reading crosses its threshold, and acknowledging it from the page is reflected', async () => {
    // Prepare: a device and a rule that fires on its first reading above 30.
    const bundle = await provisionDevice(platform, 'Freezer', 'freezer');
    const id = bundle.manifest.thingName;
    const rule = await graphql(platform, adminToken, 'mutation($input: AlarmRuleInput!) { createAlarmRule(input: $input) { id } }', {
      input: { name: 'too-warm', severity: 'HIGH', target: { kind: 'DEVICE', deviceId: id }, condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, consecutive: 1 } },
    });
    expect(rule.errors).toBeUndefined();
    await publishTelemetry(platform, bundle, { temperature: 20 }, 1);
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.goto(`${platform.consoleUrl}/devices/${id}`);
    await page.getByRole('heading', { name: 'Alarms' }).waitFor(WAIT);

    // Act: the reading crosses the threshold while the page is open.
    await publishTelemetry(platform, bundle, { temperature: 35 }, 2);

    // Assess: ACTIVE without a reload; acknowledged from the page with a note.
    await expect.poll(() => page.getByTestId('alarm-state-too-warm').textContent(), WAIT).toBe('active');
    await screenshot(page, '12-device-alarm-active');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '12-device-alarm-active');
    await page.getByLabel('Note').fill('door was open');
    await page.getByRole('button', { name: 'Acknowledge too-warm' }).click();
    await expect.poll(() => page.getByTestId('alarm-state-too-warm').textContent(), WAIT).toBe('acknowledged');
    await page.getByText('“door was open”').waitFor(WAIT);
    const stored = await graphql(platform, adminToken, 'query($id: ID!) { alarms(filter: {deviceId: $id}) { items { state lastTransition { note actor } } } }', { id });
    expect(stored.data.alarms.items).toEqual([{ state: 'ACKNOWLEDGED', lastTransition: { note: 'door was open', actor: 'alice' } }]);
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('updates last seen in the device list live as a device publishes telemetry', async () => {
    const bundle = await provisionDevice(platform, 'Corridor beacon', 'beacon');
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.goto(`${platform.consoleUrl}/devices?type=beacon`);
    const lastSeen = page.locator(`tr[data-device-id="${bundle.manifest.thingName}"] td[data-label="Last seen"]`);
    await expect.poll(() => lastSeen.textContent(), WAIT).toBe('never');

    await publishTelemetry(platform, bundle, { rssi: -60 }, 1);

    await expect.poll(() => lastSeen.textContent(), WAIT).toMatch(/^(just now|\d+ s ago)$/);
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('shows the fleet overview with live totals', async () => {
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    const total = page.getByTestId('tile-devices');
    await total.waitFor(WAIT);
    const before = Number(await total.textContent());
    // A device registered through the API while the overview is open.
    const created = await graphql(platform, adminToken, 'mutation { createDevice(input: {name: "Live counter", type: "meter"}) { id } }');
    expect(created.errors).toBeUndefined();
    await expect.poll(async () => Number(await total.textContent()), WAIT).toBe(before + 1);
    await screenshot(page, '06-overview');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '06-overview');
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('asks to reload or overwrite when someone else changed the device meanwhile', async () => {
    const created = await graphql(platform, adminToken, 'mutation { createDevice(input: {name: "Shared pump", type: "pump"}) { id version } }');
    const id = created.data.createDevice.id as string;
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.goto(`${platform.consoleUrl}/devices/${id}`);
    await page.getByRole('button', { name: 'Edit device' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Shared pump (alice)');

    // Someone else saves first.
    const other = await graphql(platform, adminToken, 'mutation($id: ID!) { updateDevice(input: {id: $id, name: "Shared pump (bob)"}) { version } }', { id });
    expect(other.errors).toBeUndefined();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Changed by someone else').waitFor(WAIT);
    await screenshot(page, '07-edit-conflict');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '07-edit-conflict');

    await page.getByRole('button', { name: 'Overwrite' }).click();
    await page.getByText(/^Saved \(version \d+\)\.$/).waitFor(WAIT);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent(), WAIT).toBe('Shared pump (alice)');
    const stored = await graphql(platform, adminToken, 'query($id: ID!) { device(id: $id) { name version } }', { id });
    expect(stored.data.device).toEqual({ name: 'Shared pump (alice)', version: 3 });
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('gives a viewer no write controls, and the API refuses a write forced from the page', async () => {
    const created = await graphql(platform, adminToken, 'mutation { createDevice(input: {name: "Viewer visible", type: "meter"}) { id } }');
    const id = created.data.createDevice.id as string;
    for (const viewport of ['desktop', 'phone'] as const) {
      const { context, page } = await newPage(browser, viewport);
      await signIn(page, platform.consoleUrl, `victor-${viewport}`, 'viewer');
      await page.goto(`${platform.consoleUrl}/devices`);
      await page.getByRole('link', { name: 'Viewer visible' }).waitFor(WAIT);
      await screenshot(page, '08-viewer-device-list');
      await page.goto(`${platform.consoleUrl}/devices/${id}`);
      await page.getByRole('heading', { name: 'Viewer visible' }).waitFor(WAIT);
      // The commands and twin sections are there to read.
      await page.getByText('No command was sent to this device yet.').waitFor(WAIT);
      await page.getByTestId('twin-desired').waitFor(WAIT);
      await screenshot(page, '09-viewer-device-detail');

      // Assess: nothing on the page writes.
      await expect(page.getByRole('link', { name: 'Create device' }).count()).resolves.toBe(0);
      await expect(page.getByRole('button', { name: /Edit|Delete|Save|Send|Cancel|Acknowledge|Snooze/ }).count()).resolves.toBe(0);
      await expect(page.locator('input, textarea').count()).resolves.toBe(0);
      // The one select left picks the chart's range: reading, not writing.
      await expect(page.getByRole('combobox').count()).resolves.toBe(1);
      await expect(page.getByRole('combobox', { name: 'Range' }).count()).resolves.toBe(1);

      // Act: force mutations with the viewer's own session token: a delete, a command, a desired state.
      // The page's own session token, read the way a person with dev tools could.
      const forced: Array<{ errors: Array<{ errorType: string }> }> = await page.evaluate(async (deviceId) => {
        const token = Object.values((globalThis as unknown as { sessionStorage: Record<string, string> }).sessionStorage)[0];
        const post = async (query: string) => {
          const response = await fetch('/graphql', {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: String(token) },
            body: JSON.stringify({ query, variables: { id: deviceId } }),
          });
          return (await response.json()) as { errors: Array<{ errorType: string }> };
        };
        return Promise.all([
          post('mutation($id: ID!) { deleteDevice(id: $id) { id } }'),
          post('mutation($id: ID!) { sendCommand(input: {deviceId: $id, name: "reboot"}) { id } }'),
          post('mutation($id: ID!) { updateDesiredState(deviceId: $id, patch: "{\\"on\\":true}") { version } }'),
        ]);
      }, id);
      expect(forced.map((f) => f.errors[0]!.errorType)).toEqual(['Unauthorized', 'Unauthorized', 'Unauthorized']);
      await context.close();
    }
    const still = await graphql(platform, adminToken, 'query($id: ID!) { device(id: $id) { id twinVersion } commands(deviceId: $id) { items { id } } }', { id });
    expect(still.data).toEqual({ device: { id, twinVersion: null }, commands: { items: [] } });
  }, FLOW_TIMEOUT_MS);

  it('returns an expired session to sign-in and, after signing in again, to the same page', async () => {
    const { context, page } = await newPage(browser, 'desktop');
    // ?session=SECONDS asks the local issuer for a short session.
    // No wait for the list in between: on a loaded machine the short session can end before it draws,
    // and what matters is that the expiry returns to sign-in on the same page.
    await page.goto(`${platform.consoleUrl}/devices?status=ONLINE&session=10`);
    await page.getByLabel('User name').fill('shortlived');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByText('Your session expired').waitFor(WAIT);
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/devices?status=ONLINE&session=10');
    await screenshot(page, '10-session-expired');

    await page.getByLabel('User name').fill('shortlived');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Devices', level: 1 }).waitFor(WAIT);
    await expect(page.getByLabel('Status').inputValue()).resolves.toBe('ONLINE');
    await context.close();
  }, FLOW_TIMEOUT_MS);

  it('filters by status and finds devices by name, with a designed empty result', async () => {
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.goto(`${platform.consoleUrl}/devices`);
    await page.getByLabel('Name contains').fill('greenhouse');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('link', { name: 'Greenhouse probe' }).waitFor(WAIT);
    await expect(page.locator('tbody tr').count()).resolves.toBe(1);
    await page.getByLabel('Status').selectOption('MAINTENANCE');
    await page.getByRole('heading', { name: /No device name contains/ }).waitFor(WAIT);
    await screenshot(page, '11-device-list-no-match');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '11-device-list-no-match');
    await context.close();
  }, FLOW_TIMEOUT_MS);
});
