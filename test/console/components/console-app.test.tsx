// @vitest-environment happy-dom
/**
 * Console components in happy-dom against the real local GraphQL server (ephemeral platform):
 * the sign-in gate, the overview's figures, the device list, the detail page as admin and as
 * viewer, and error words. The session comes from an in-memory AuthProvider holding a token of
 * the platform's own issuer.
 */
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { CombinedError } from 'urql';
import { describe, expect, inject, it } from 'vitest';
import { ConsoleApp } from '../../../console/src/app';
import { isExpired, sessionFromToken } from '../../../console/src/auth/session';
import { plainMessage } from '../../../console/src/api/errors';
import { provisionCommand } from '../../../console/src/views/create-device-page';
import { InMemoryAuth } from './in-memory-auth';
import { cleanUpAfterEach, localConsoleConfig, renderConsoleAs } from './local-console';
import './provided-context';

describe('console components', () => {
  const api = inject('consoleApi');
  const config = localConsoleConfig();
  const deviceId = api.deviceId;

  cleanUpAfterEach();

  const renderAs = renderConsoleAs;

  it('shows the sign-in form, with labelled controls, when there is no session', async () => {
    render(<ConsoleApp config={config} auth={new InMemoryAuth(undefined)} />);
    expect(await screen.findByRole('heading', { name: 'IoT fleet console' })).toBeTruthy();
    // No LocalAuth here, so the Cognito variant renders: one labelled button.
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeTruthy();
  });

  it('shows the fleet totals and per-status counts from the API', async () => {
    renderAs(api.adminToken);
    // The counters are eventually consistent: wait for the change feed with a generous timeout, not the 1 s default.
    await waitFor(() => expect(screen.getByTestId('tile-devices').textContent).toBe('2'), { timeout: 15_000 });
    expect(screen.getByTestId('tile-maintenance').textContent).toBe('1');
    const byType = screen.getByRole('table');
    expect(within(byType).getByRole('link', { name: 'probe' }).getAttribute('href')).toBe('/devices?type=probe');
  });

  it('lists devices with links to their pages and a pager that knows the total', async () => {
    renderAs(api.adminToken, '/devices');
    const link = await screen.findByRole('link', { name: 'Component probe' });
    expect(link.getAttribute('href')).toBe(`/devices/${deviceId}`);
    expect(screen.getByRole('navigation', { name: 'Pages' }).textContent).toContain('1–2 of 2');
    expect((screen.getByRole('button', { name: 'Next' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('gives an admin the edit and delete controls, with every input labelled', async () => {
    renderAs(api.adminToken, `/devices/${deviceId}`);
    fireEvent.click(await screen.findByRole('button', { name: 'Edit device' }));
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('Component probe');
    expect((screen.getByLabelText('Metadata value 1') as HTMLInputElement).value).toBe('lab');
    for (const input of document.querySelectorAll('input, select')) {
      expect(input.closest('label') ?? document.querySelector(`label[for="${input.id}"]`) ?? input.getAttribute('aria-label'), input.outerHTML).toBeTruthy();
    }
    expect(screen.getByRole('button', { name: 'Delete…' })).toBeTruthy();
  });

  it('gives a viewer the same page without a single write control', async () => {
    renderAs(api.viewerToken, `/devices/${deviceId}`);
    expect(await screen.findByRole('heading', { name: 'Component probe' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: /Edit|Delete|Save/ })).toBeNull();
    expect(screen.queryByRole('link', { name: 'Create device' })).toBeNull();
    expect(screen.getByText('viewer')).toBeTruthy();
  });

  it('still loads every view where no real-time transport is given for AppSync, and says live updates are unavailable', async () => {
    window.history.replaceState(null, '', '/');
    render(<ConsoleApp config={{ ...config, realtimeProtocol: 'appsync' }} auth={new InMemoryAuth(sessionFromToken(api.adminToken))} />);
    // The counters are eventually consistent: wait for the change feed with a generous timeout, not the 1 s default.
    await waitFor(() => expect(screen.getByTestId('tile-devices').textContent).toBe('2'), { timeout: 15_000 });
    expect(await screen.findByText('Live updates unavailable: reload to try again')).toBeTruthy();
  });

  it('shows a designed empty state for a device id that does not exist', async () => {
    renderAs(api.adminToken, '/devices/7c9e6679-7425-40de-944b-e07fc1f90ae7');
    expect(await screen.findByRole('heading', { name: 'There is no device with this id' })).toBeTruthy();
  });

  it('signs out through the AuthProvider and returns to the sign-in page', async () => {
    const auth = renderAs(api.adminToken);
    fireEvent.click(await screen.findByRole('button', { name: 'Sign out' }));
    expect(await screen.findByText('You signed out.')).toBeTruthy();
    expect(auth.signedOut).toBe(1);
  });

  it('turns an expired token into the sign-in page with a notice, keeping the URL', async () => {
    renderAs(api.expiredToken, '/devices?status=ONLINE');
    expect(await screen.findByText(/Your session expired/)).toBeTruthy();
    expect(window.location.pathname + window.location.search).toBe('/devices?status=ONLINE');
  });
});

describe('console helpers', () => {
  it('puts AppSync error types into plain words, keeping validation details', () => {
    const error = (errorType: string, message = 'm') => new CombinedError({ graphQLErrors: [{ message, errorType } as never] });
    expect(plainMessage(error('Unauthorized'))).toBe('You are not allowed to do that. Your group may only read.');
    expect(plainMessage(error('Conflict'))).toBe('Someone else changed it since you loaded it.');
    expect(plainMessage(error('ValidationError', 'name: 1-128 characters'))).toBe('The request was not valid: name: 1-128 characters');
    expect(plainMessage(error('SomethingNew', 'raw words'))).toBe('raw words');
    expect(plainMessage(new CombinedError({ networkError: new Error('Failed to fetch') }))).toMatch(/cannot be reached/);
  });

  it('writes the exact provisioning command, quoting what the shell would split', () => {
    expect(provisionCommand('kitchen', 'thermostat', false)).toBe('npm run -s iotctl -- device create kitchen --type thermostat --out ./devices/kitchen');
    expect(provisionCommand("Bob's room", 'sensor', false)).toBe("npm run -s iotctl -- device create 'Bob'\\''s room' --type sensor --out ./devices/bob-s-room");
    expect(provisionCommand('k', 'sensor', true)).toContain('--target aws --policy-name "$IOT_DEVICE_POLICY_NAME"');
  });

  it('reads user, groups and expiry from a token and knows when it has expired', () => {
    const payload = Buffer.from(JSON.stringify({ 'cognito:username': 'ana', 'cognito:groups': ['viewer'], exp: 1000 })).toString('base64url');
    const session = sessionFromToken(`e30.${payload}.sig`);
    expect(session).toEqual({ token: `e30.${payload}.sig`, user: 'ana', groups: ['viewer'], expiresAt: 1_000_000 });
    expect(isExpired(session, 994_000)).toBe(false);
    expect(isExpired(session, 996_000)).toBe(true);
  });
});
