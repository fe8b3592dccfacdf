// @vitest-environment happy-dom
/**
 * The commands and twin sections of the device page, the alarms page and the rule editor in
 * happy-dom against the real local GraphQL server (ephemeral platform): what the forms refuse
 * before sending, what the API refuses shown in plain words, and the viewer's read-only pages.
 */
import { randomUUID } from 'node:crypto';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, inject, it } from 'vitest';
import { AppSyncCommandPublisher } from '../../../src/adapters/appsync/appsync-command-publisher';
import type { Command } from '../../../src/commands/command';
import { checkJson } from '../../../console/src/components/json-text';
import { firstNullPath, mergePatchBetween } from '../../../console/src/components/merge-patch';
import { cleanUpAfterEach, renderConsoleAs } from './local-console';
import './provided-context';

/** Generous: the component tests share two cores with the platform and each other. */
const SLOW = { timeout: 15_000 };

describe('device control and alarm views', () => {
  const api = inject('consoleApi');
  const deviceId = api.deviceId;

  cleanUpAfterEach();

  const renderAs = renderConsoleAs;

  it('checks a command before sending it, sends it, and lets an admin cancel it while the device is offline', async () => {
    renderAs(api.adminToken, `/devices/${deviceId}`);
    const form = await screen.findByRole('form', { name: 'Send a command' }, SLOW);
    const send = within(form).getByRole('button', { name: 'Send command' }) as HTMLButtonElement;
    fireEvent.change(within(form).getByLabelText('Payload (JSON)'), { target: { value: '{\n  "delay": 5,\n}' } });
    expect(within(form).getByRole('alert').textContent).toMatch(/^Not valid JSON at line 3, column 1/);
    expect(send.disabled).toBe(true);
    fireEvent.change(within(form).getByLabelText('Payload (JSON)'), { target: { value: JSON.stringify({ blob: 'x'.repeat(33_000) }) } });
    expect(within(form).getByRole('alert').textContent).toBe('Too large: 32.2 KB of at most 32.0 KB');

    fireEvent.change(within(form).getByLabelText('Payload (JSON)'), { target: { value: '{"delay": 5}' } });
    fireEvent.change(within(form).getByLabelText('Command name'), { target: { value: 'Reboot!' } });
    fireEvent.click(send);
    expect(await within(form).findByText('Lower-case letters, digits, _ and -, 1 to 64 characters')).toBeTruthy();

    fireEvent.change(within(form).getByLabelText('Command name'), { target: { value: 'reboot' } });
    fireEvent.click(send);
    // Offline device: the command waits, CREATED, and may be canceled.
    const cancel = await screen.findByRole('button', { name: 'Cancel reboot' }, SLOW);
    const row = cancel.closest('li')!;
    expect(row.querySelector('[data-testid^="command-status-"]')!.textContent).toBe('created');
    fireEvent.click(cancel);
    await waitFor(() => expect(row.querySelector('[data-testid^="command-status-"]')!.textContent).toBe('canceled'), SLOW);
  });

  it('ignores a command transition delivered again after a newer one', async () => {
    // Prepare: a command the page saw created and canceled, live.
    renderAs(api.adminToken, `/devices/${deviceId}`);
    const form = await screen.findByRole('form', { name: 'Send a command' }, SLOW);
    fireEvent.change(within(form).getByLabelText('Command name'), { target: { value: 'recalibrate' } });
    fireEvent.change(within(form).getByLabelText('Payload (JSON)'), { target: { value: '{}' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Send command' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Cancel recalibrate' }, SLOW));
    const row = (await screen.findByText('recalibrate', { selector: 'strong' }, SLOW)).closest('li')!;
    const status = () => row.querySelector('[data-testid^="command-status-"]')!.textContent;
    await waitFor(() => expect(status()).toBe('canceled'), SLOW);
    const reason = row.querySelector('.command-reason')?.textContent;
    const now = new Date().toISOString();
    const copy: Command = {
      id: row.getAttribute('data-command-id')!,
      deviceId,
      name: 'recalibrate',
      payload: {},
      timeoutSeconds: 30,
      expiresAt: now,
      status: 'CANCELED',
      statusReason: 'an older copy',
      createdBy: 'alice',
      createdAt: now,
      completedAt: now,
      version: 2,
    };
    const publisher = new AppSyncCommandPublisher({ url: api.graphqlUrl, region: 'us-east-1', credentials: api.iamCredentials });

    // Act: the feed delivers an older transition of it again (at least once), then a new command.
    await publisher.publish({ command: copy, previousStatus: 'CREATED', changedAt: now, sequence: '1'.padStart(48, '0') });
    await publisher.publish({ command: { ...copy, id: randomUUID(), name: 'marker', status: 'CREATED', statusReason: undefined, completedAt: undefined }, changedAt: now, sequence: '1'.padStart(48, '0') });

    // Assess: the page got both, in order, and kept the newer transition of the first.
    await screen.findByText('marker', { selector: 'strong' }, SLOW);
    expect(status()).toBe('canceled');
    expect(row.querySelector('.command-reason')?.textContent).toBe(reason);
    expect(row.textContent).not.toContain('an older copy');
  });

  it('refuses a desired state that is not an object, holds a null, or is too large, and saves a valid one', async () => {
    renderAs(api.adminToken, `/devices/${deviceId}`);
    fireEvent.click(await screen.findByRole('button', { name: 'Edit desired state' }, SLOW));
    const editor = screen.getByLabelText('Desired state (JSON object)');
    const save = screen.getByRole('button', { name: 'Save desired state' }) as HTMLButtonElement;
    fireEvent.change(editor, { target: { value: '"on"' } });
    expect(screen.getByText('Must be a JSON object ({ ... })')).toBeTruthy();
    fireEvent.change(editor, { target: { value: '{"light": {"level": null}}' } });
    expect(screen.getByText('light.level is null: leave the key out to remove it')).toBeTruthy();
    fireEvent.change(editor, { target: { value: JSON.stringify({ blob: 'x'.repeat(66_000) }) } });
    expect(screen.getByText('Too large: 64.5 KB of at most 64.0 KB')).toBeTruthy();
    expect(save.disabled).toBe(true);

    fireEvent.change(editor, { target: { value: '{"light": {"level": 40}}' } });
    fireEvent.click(save);
    expect(await screen.findByText(/^Saved \(twin version \d+\)\. The device gets the delta\.$/, undefined, SLOW)).toBeTruthy();
    // The device has not reported it: all of it is delta.
    expect(JSON.parse(screen.getByTestId('twin-delta').textContent!)).toEqual({ light: { level: 40 } });
  });

  it('gives a viewer commands, twin and alarm rules to read without a single write control', async () => {
    renderAs(api.viewerToken, `/devices/${deviceId}`);
    expect(await screen.findByRole('heading', { name: 'Commands' }, SLOW)).toBeTruthy();
    await screen.findByTestId('twin-desired', undefined, SLOW);
    expect(screen.queryByRole('form', { name: 'Send a command' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Edit|Save|Send|Cancel/ })).toBeNull();
    expect(document.querySelectorAll('input, textarea').length).toBe(0);
  });

  it('shows the API’s refusal of an alarm rule as a sentence naming the field', async () => {
    renderAs(api.adminToken, '/alarms/rules');
    fireEvent.click(await screen.findByRole('button', { name: 'New rule' }, SLOW));
    fireEvent.change(screen.getByLabelText('Rule name'), { target: { value: 'component-rule' } });
    fireEvent.change(screen.getByLabelText('Metric'), { target: { value: 'temperature' } });
    fireEvent.change(screen.getByLabelText('Threshold'), { target: { value: '30' } });
    fireEvent.click(screen.getByLabelText(/Latches until acknowledged/));
    fireEvent.click(screen.getByLabelText(/Needs acknowledgement/));
    fireEvent.click(screen.getByRole('button', { name: 'Create rule' }));
    expect((await screen.findByRole('alert', undefined, SLOW)).textContent).toBe(
      'The request was not valid: latch needs ackRequired: a latched alarm is only released by an acknowledgement',
    );
    for (const input of document.querySelectorAll('input, select')) {
      expect(input.closest('label') ?? document.querySelector(`label[for="${input.id}"]`) ?? input.getAttribute('aria-label'), input.outerHTML).toBeTruthy();
    }
  });

  it('keeps the alarm filters in the URL and says when nothing matches', async () => {
    renderAs(api.adminToken, '/alarms?state=LATCHED&severity=INFO');
    expect(await screen.findByRole('heading', { name: 'No alarm matches these filters' }, SLOW)).toBeTruthy();
    expect((screen.getByLabelText('State') as HTMLSelectElement).value).toBe('LATCHED');
    fireEvent.change(screen.getByLabelText('Severity'), { target: { value: '' } });
    await waitFor(() => expect(window.location.search).toBe('?state=LATCHED'));
  });
});

describe('device control helpers', () => {
  it('turns an edited document into the merge patch that produces it', () => {
    const before = { light: { on: true, level: 80 }, mode: 'eco', schedule: [1, 2] };
    const after = { light: { on: true, level: 40 }, schedule: [1, 2, 3], fan: { speed: 2 } };
    expect(mergePatchBetween(before, after)).toEqual({ mode: null, light: { level: 40 }, schedule: [1, 2, 3], fan: { speed: 2 } });
    expect(mergePatchBetween(before, before)).toEqual({});
  });

  it('finds the nulls a merge patch would read as removals, and not those inside arrays', () => {
    expect(firstNullPath({ a: { b: null } })).toBe('a.b');
    expect(firstNullPath({ a: [null] })).toBeUndefined();
  });

  it('checks JSON text as the API will: syntax with its position, object, size', () => {
    expect(checkJson('', { maxBytes: 10 })).toEqual({ ok: false, message: 'Enter a JSON value' });
    expect(checkJson('{"a":1}', { maxBytes: 10 })).toEqual({ ok: true, value: { a: 1 }, bytes: 7 });
    expect(checkJson('{"a":"é"}', { maxBytes: 9 })).toEqual({ ok: false, message: 'Too large: 10 bytes of at most 9 bytes' });
    expect(checkJson('[]', { maxBytes: 10, object: true })).toEqual({ ok: false, message: 'Must be a JSON object ({ ... })' });
  });
});
