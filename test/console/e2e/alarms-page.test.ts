/**
 * The console's alarms page and rule editor end to end, in Debian's Chromium against `iotctl
 * local` with a real MQTT.js device: an admin writes a rule (the API's refusal shown as a
 * sentence first), the device crosses the threshold and the alarm shows ACTIVE live on the
 * filtered list, acknowledging and snoozing with a note from the page are reflected and kept
 * in the alarm's history, and the rule is edited and deleted. Photographed at 1280x800 and 390x844.
 */
import type { Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  graphql,
  type LocalPlatformProcess,
  newPage,
  provisionDevice,
  publishTelemetry,
  screenshot,
  signIn,
  useConsoleSuite,
  WAIT,
} from './harness.js';

/** An alarm flow also waits on ingest batches and the alarm stream. */
const ALARM_FLOW_TIMEOUT_MS = 240_000;

describe('alarms page in Chromium', () => {
  let platform: LocalPlatformProcess;
  let browser: Browser;
  let adminToken: string;

  useConsoleSuite((suite) => ({ platform, browser, adminToken } = suite));

  it('shows designed empty states before any rule or alarm exists', async () => {
    for (const viewport of ['desktop', 'phone'] as const) {
      const { context, page } = await newPage(browser, viewport);
      await signIn(page, platform.consoleUrl, `empty-${viewport}`, 'admin');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alarms', exact: true }).click();
      await page.getByRole('heading', { name: 'No alarm ever left normal' }).waitFor(WAIT);
      await screenshot(page, '18-alarms-empty');
      await page.getByRole('link', { name: 'Alarm rules' }).click();
      await page.getByRole('heading', { name: 'No alarm rules yet' }).waitFor(WAIT);
      await screenshot(page, '19-alarm-rules-empty');
      await context.close();
    }
  }, ALARM_FLOW_TIMEOUT_MS);

  it('creates a rule from the page, shows the threshold crossing ACTIVE live, and acknowledges and snoozes it with notes', async () => {
    // Prepare: a device that has reported once, below the threshold.
    const bundle = await provisionDevice(platform, 'Boiler', 'boiler');
    const id = bundle.manifest.thingName;
    await publishTelemetry(platform, bundle, { temperature: 60 }, 1);
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.goto(`${platform.consoleUrl}/alarms/rules`);

    // Act 1: a rule the API refuses (clear threshold on the wrong side), then the fixed one.
    await page.getByRole('button', { name: 'New rule' }).click();
    await page.getByLabel('Rule name').fill('boiler-too-hot');
    await page.getByLabel('Severity').selectOption('CRITICAL');
    await page.getByLabel('Applies to').selectOption('DEVICE');
    await page.getByLabel('Device id').fill(id);
    await page.getByLabel('Metric', { exact: true }).fill('temperature');
    await page.getByLabel('Threshold', { exact: true }).fill('90');
    await page.getByLabel('Clears beyond (optional)').fill('95');
    await page.getByLabel('Or for readings (optional)').fill('1');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.getByText('The request was not valid: condition.clearThreshold (95) is on the wrong side: with > 90 it must be at most 90').waitFor(WAIT);
    await screenshot(page, '20-alarm-rule-refused');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '20-alarm-rule-refused');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByLabel('Clears beyond (optional)').fill('85');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.getByText('Created boiler-too-hot.').waitFor(WAIT);
    await page.locator('[data-rule-id]').filter({ hasText: 'boiler-too-hot' }).waitFor(WAIT);
    await screenshot(page, '21-alarm-rules');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '21-alarm-rules');
    await page.setViewportSize({ width: 1280, height: 800 });

    // Act 2: the alarms page, filtered to ACTIVE, is open when the device crosses the threshold.
    await page.goto(`${platform.consoleUrl}/alarms?state=ACTIVE`);
    await page.getByRole('heading', { name: 'No alarm matches these filters' }).waitFor(WAIT);
    await publishTelemetry(platform, bundle, { temperature: 97 }, 2);

    // Assess: ACTIVE without a reload.
    const state = page.getByTestId('alarm-state-boiler-too-hot');
    await expect.poll(() => state.textContent(), WAIT).toBe('active');
    await screenshot(page, '22-alarms-active');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '22-alarms-active');
    await page.setViewportSize({ width: 1280, height: 800 });

    // Act 3: acknowledge with a note; the ACTIVE filter no longer matches it.
    await page.goto(`${platform.consoleUrl}/alarms`);
    await page.getByLabel('Note').fill('burner throttled');
    await page.getByRole('button', { name: 'Acknowledge boiler-too-hot' }).click();
    await expect.poll(() => state.textContent(), WAIT).toBe('acknowledged');
    await page.getByText('“burner throttled”').first().waitFor(WAIT);

    // Act 4: snooze for an hour with a note.
    await page.getByLabel('Note').fill('maintenance until noon');
    await page.getByLabel('Snooze for').selectOption({ label: '1 hour' });
    await page.getByRole('button', { name: 'Snooze boiler-too-hot' }).click();
    await expect.poll(() => state.textContent(), WAIT).toBe('snooze disabled');

    // Assess: the history lists every transition with who did it and why.
    await page.getByRole('button', { name: 'History of boiler-too-hot' }).click();
    const history = page.getByRole('list', { name: 'History of boiler-too-hot' });
    await expect.poll(() => history.locator('li').count(), WAIT).toBe(3);
    await expect(history.locator('li').allTextContents()).resolves.toEqual([
      expect.stringMatching(/^#3 acknowledged → snooze disabled .* · snoozed for 3600 s · by alice · “maintenance until noon”$/),
      expect.stringMatching(/^#2 active → acknowledged .* · acknowledged · by alice · “burner throttled”$/),
      expect.stringMatching(/^#1 normal → active .* · temperature > 90/),
    ]);
    await screenshot(page, '23-alarm-history');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, '23-alarm-history');
    const stored = await graphql(platform, adminToken, 'query($id: ID!) { alarms(filter: {deviceId: $id}) { items { state lastTransition { note actor } } } }', { id });
    expect(stored.data.alarms.items).toEqual([{ state: 'SNOOZE_DISABLED', lastTransition: { note: 'maintenance until noon', actor: 'alice' } }]);
    await context.close();
  }, ALARM_FLOW_TIMEOUT_MS);

  it('edits a rule as a new version and deletes it', async () => {
    const created = await graphql(platform, adminToken, 'mutation($input: AlarmRuleInput!) { createAlarmRule(input: $input) { id } }', {
      input: { name: 'fleet-silent', severity: 'LOW', target: { kind: 'ALL' }, condition: { kind: 'NO_DATA', seconds: 3600 } },
    });
    const ruleId = created.data.createAlarmRule.id as string;
    const { context, page } = await newPage(browser, 'desktop');
    await signIn(page, platform.consoleUrl, 'alice', 'admin');
    await page.goto(`${platform.consoleUrl}/alarms/rules`);
    await page.getByRole('button', { name: 'Edit fleet-silent' }).click();
    await page.getByLabel('Seconds without data').fill('7200');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByText('Saved fleet-silent as version 2.').waitFor(WAIT);
    await page.locator(`[data-rule-id="${ruleId}"]`).getByText('no data for 7200 s').waitFor(WAIT);

    await page.getByRole('button', { name: 'Delete fleet-silent…' }).click();
    await page.getByRole('button', { name: 'Yes, delete fleet-silent' }).click();
    await page.getByText(/^Deleted fleet-silent/).waitFor(WAIT);
    await expect.poll(() => page.locator(`[data-rule-id="${ruleId}"]`).count(), WAIT).toBe(0);
    const stored = await graphql(platform, adminToken, 'query($id: ID!) { alarmRule(id: $id) { id } }', { id: ruleId });
    expect(stored.data.alarmRule).toBeNull();
    await context.close();
  }, ALARM_FLOW_TIMEOUT_MS);

  it('gives a viewer the alarms and rules without a single write control, and the API refuses a forced snooze', async () => {
    const bundle = await provisionDevice(platform, 'Chiller', 'chiller');
    const rule = await graphql(platform, adminToken, 'mutation($input: AlarmRuleInput!) { createAlarmRule(input: $input) { id } }', {
      input: { name: 'chiller-warm', severity: 'HIGH', target: { kind: 'DEVICE', deviceId: bundle.manifest.thingName }, condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 5, consecutive: 1 } },
    });
    expect(rule.errors).toBeUndefined();
    await publishTelemetry(platform, bundle, { temperature: 9 }, 1);
    for (const viewport of ['desktop', 'phone'] as const) {
      const { context, page } = await newPage(browser, viewport);
      await signIn(page, platform.consoleUrl, `victor-${viewport}`, 'viewer');
      await page.goto(`${platform.consoleUrl}/alarms?state=ACTIVE`);
      await expect.poll(() => page.getByTestId('alarm-state-chiller-warm').textContent(), WAIT).toBe('active');
      await screenshot(page, '24-viewer-alarms');
      // Assess: only the filters (reading, not writing) and the history toggles.
      await expect(page.getByRole('button', { name: /Acknowledge|Snooze/ }).count()).resolves.toBe(0);
      await expect(page.locator('input, textarea').count()).resolves.toBe(0);
      await expect(page.getByRole('combobox').count()).resolves.toBe(2);
      await page.getByRole('link', { name: 'View alarm rules' }).click();
      await page.locator('[data-rule-id]').filter({ hasText: 'chiller-warm' }).waitFor(WAIT);
      await screenshot(page, '25-viewer-alarm-rules');
      await expect(page.getByRole('button').filter({ hasNotText: 'Sign out' }).count()).resolves.toBe(0);

      // Act: force a snooze with the viewer's own session token.
      const alarmId = `${rule.data.createAlarmRule.id}.${bundle.manifest.thingName}`;
      const forced: { errors: Array<{ errorType: string }> } = await page.evaluate(async (target) => {
        const token = Object.values((globalThis as unknown as { sessionStorage: Record<string, string> }).sessionStorage)[0];
        const response = await fetch('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: String(token) },
          body: JSON.stringify({ query: 'mutation($id: ID!) { snoozeAlarm(id: $id, seconds: 60, note: "forced") { id } }', variables: { id: target } }),
        });
        return (await response.json()) as { errors: Array<{ errorType: string }> };
      }, alarmId);
      expect(forced.errors[0]!.errorType).toBe('Unauthorized');
      await context.close();
    }
  }, ALARM_FLOW_TIMEOUT_MS);
});
