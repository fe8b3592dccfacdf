import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useClient, useQuery } from 'urql';
import { Link, useLocation, useSearch } from 'wouter';
import type { DeviceStatus } from '../../../src/generated/graphql/types';
import { DEVICES_QUERY, type Device, type DevicesResult } from '../api/documents';
import { plainMessage } from '../api/errors';
import { relativeTime, useNow } from '../components/live';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { STATUSES, StatusBadge } from '../components/status-badge';
import { useLiveDevices } from '../components/use-live-devices';
import { useRereadOnRestart } from '../components/use-live-subscription';
import { useSession } from '../session-context';
import { LiveIndicator } from './overview-page';

/** Rows per page: one screen on a laptop, a short scroll on a phone. */
export const PAGE_SIZE = 50;
/** Devices fetched per request while searching by name. */
const SEARCH_PAGE_SIZE = 100;

interface Filters {
  status?: DeviceStatus | undefined;
  type?: string | undefined;
  q?: string | undefined;
}

function filtersFrom(search: string): Filters {
  const params = new URLSearchParams(search);
  const status = params.get('status');
  return {
    status: STATUSES.includes(status as DeviceStatus) ? (status as DeviceStatus) : undefined,
    type: params.get('type') || undefined,
    q: params.get('q') || undefined,
  };
}

function searchOf(filters: Filters): string {
  const params = new URLSearchParams();
  if (filters.status) params.set('status', filters.status);
  if (filters.type) params.set('type', filters.type);
  if (filters.q) params.set('q', filters.q);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The device list: filters and search in the URL, cursor pages, live status and last seen. */
export function DeviceListPage() {
  const search = useSearch();
  const [, navigate] = useLocation();
  const filters = useMemo(() => filtersFrom(search), [search]);
  const live = useLiveDevices();
  const { admin } = useSession();

  const setFilters = (next: Filters) => navigate(`/devices${searchOf(next)}`, { replace: true });

  return (
    <main className="page" id="main">
      <div className="page-head">
        <h1>Devices</h1>
        <LiveIndicator failed={live.failed} />
        {admin && (
          <Link href="/devices/new" className="button button-primary">
            Create device
          </Link>
        )}
      </div>
      <FilterBar filters={filters} onChange={setFilters} />
      {filters.q ? <NameSearchResults filters={filters} live={live} /> : <PagedDevices key={search} filters={filters} live={live} />}
    </main>
  );
}

function FilterBar({ filters, onChange }: { filters: Filters; onChange: (filters: Filters) => void }) {
  const [q, setQ] = useState(filters.q ?? '');
  const [type, setType] = useState(filters.type ?? '');
  useEffect(() => setQ(filters.q ?? ''), [filters.q]);
  useEffect(() => setType(filters.type ?? ''), [filters.type]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onChange({ ...filters, q: q.trim() || undefined, type: type.trim() || undefined });
  };
  return (
    <form className="filters" role="search" aria-label="Filter devices" onSubmit={submit}>
      <label className="field field-inline">
        <span>Name contains</span>
        <input type="search" name="q" value={q} onChange={(e) => setQ(e.target.value)} placeholder="e.g. kitchen" />
      </label>
      <label className="field field-inline">
        <span>Status</span>
        <select value={filters.status ?? ''} onChange={(e) => onChange({ ...filters, status: (e.target.value || undefined) as DeviceStatus | undefined })}>
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.toLowerCase()}
            </option>
          ))}
        </select>
      </label>
      <label className="field field-inline">
        <span>Type</span>
        <input name="type" value={type} onChange={(e) => setType(e.target.value)} placeholder="any type" pattern="[a-z0-9_\-]{1,64}" title="[a-z0-9_-], up to 64 characters" />
      </label>
      <button type="submit" className="button">
        Apply
      </button>
      {(filters.q || filters.status || filters.type) && (
        <button type="button" className="button button-quiet" onClick={() => onChange({})}>
          Clear filters
        </button>
      )}
    </form>
  );
}

function PagedDevices({ filters, live }: { filters: Filters; live: ReturnType<typeof useLiveDevices> }) {
  // Cursor pagination: the tokens of the pages seen so far, so Previous needs no offset.
  const [tokens, setTokens] = useState<Array<string | undefined>>([undefined]);
  const page = tokens.length - 1;
  const filter = filters.status || filters.type ? { ...(filters.status && { status: filters.status }), ...(filters.type && { type: filters.type }) } : undefined;
  const [{ data, fetching, error }, refetch] = useQuery<DevicesResult>({
    query: DEVICES_QUERY,
    variables: { limit: PAGE_SIZE, nextToken: tokens[page] ?? null, filter: filter ?? null },
    requestPolicy: 'cache-and-network',
    // Read once the live feed listens: a change between the read and the subscription would be lost.
    pause: !live.ready,
  });
  useRereadOnRestart(live.subscriptions, () => refetch({ requestPolicy: 'network-only' }));
  const connection = data?.devices;
  const newOnes = [...live.created].filter((id) => !connection?.items.some((d) => d.id === id)).length;

  if (error && !connection) return <ErrorState message={plainMessage(error)} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!connection) return <LoadingState label="Loading devices" rows={8} />;
  const filtered = Boolean(filter);
  if (connection.items.length === 0 && page === 0) {
    return filtered ? (
      <EmptyState title="No devices match these filters">
        <p>Try another status or type, or clear the filters.</p>
      </EmptyState>
    ) : (
      <NoDevicesYet />
    );
  }
  const first = page * PAGE_SIZE + 1;
  return (
    <>
      {newOnes > 0 && (
        <p className="notice" role="status">
          {newOnes} device{newOnes === 1 ? '' : 's'} added since this page loaded.{' '}
          <button type="button" className="button button-quiet" onClick={() => (setTokens([undefined]), refetch({ requestPolicy: 'network-only' }))}>
            Show from the start
          </button>
        </p>
      )}
      <DeviceTable devices={connection.items} live={live} busy={fetching} />
      <nav className="pager" aria-label="Pages">
        <button type="button" className="button" disabled={page === 0} onClick={() => setTokens(tokens.slice(0, -1))}>
          Previous
        </button>
        <span className="pager-info" role="status">
          {first.toLocaleString()}–{(first + connection.items.length - 1).toLocaleString()}
          {typeof connection.total === 'number' && ` of ${connection.total.toLocaleString()}`}
        </span>
        <button type="button" className="button" disabled={!connection.nextToken} onClick={() => setTokens([...tokens, connection.nextToken ?? undefined])}>
          Next
        </button>
      </nav>
    </>
  );
}

/**
 * Name search. The API filters by status and type but not by name, so the console reads the
 * (filtered) fleet page by page and keeps the matches, stopping at one page of them.
 */
function NameSearchResults({ filters, live }: { filters: Filters; live: ReturnType<typeof useLiveDevices> }) {
  const client = useClient();
  const [state, setState] = useState<{ matches: Device[]; scanned: number; total?: number | null; done: boolean; error?: string; more?: string | null }>({
    matches: [],
    scanned: 0,
    done: false,
  });
  const [from, setFrom] = useState<string | null>(null);
  const needle = (filters.q ?? '').toLowerCase();

  useEffect(() => {
    if (!live.ready) return;
    let cancelled = false;
    const filter = filters.status || filters.type ? { ...(filters.status && { status: filters.status }), ...(filters.type && { type: filters.type }) } : null;
    (async () => {
      let token: string | null = from;
      const matches: Device[] = [];
      let scanned = 0;
      let total: number | null | undefined;
      do {
        const result = await client.query<DevicesResult>(DEVICES_QUERY, { limit: SEARCH_PAGE_SIZE, nextToken: token, filter }, { requestPolicy: 'network-only' }).toPromise();
        if (cancelled) return;
        if (result.error || !result.data) {
          setState({ matches, scanned, total, done: true, error: result.error ? plainMessage(result.error) : 'No answer' });
          return;
        }
        const page = result.data.devices;
        total = page.total;
        scanned += page.items.length;
        matches.push(...page.items.filter((d) => d.name.toLowerCase().includes(needle)));
        token = page.nextToken ?? null;
        setState({ matches: [...matches], scanned, total, done: false });
      } while (token && matches.length < PAGE_SIZE);
      setState({ matches, scanned, total, done: true, more: token });
    })();
    return () => {
      cancelled = true;
    };
  }, [client, needle, filters.status, filters.type, from, live.ready]);

  if (state.error) return <ErrorState message={state.error} onRetry={() => setFrom(from)} />;
  if (!state.done && state.matches.length === 0) {
    return <LoadingState label={`Searching names: ${state.scanned.toLocaleString()} devices read`} rows={4} />;
  }
  if (state.done && state.matches.length === 0) {
    return (
      <EmptyState title={`No device name contains “${filters.q}”`}>
        <p>Names are matched without regard to case. Check the spelling or clear the search.</p>
      </EmptyState>
    );
  }
  return (
    <>
      <p className="muted" role="status">
        {state.matches.length.toLocaleString()} match{state.matches.length === 1 ? '' : 'es'} in {state.scanned.toLocaleString()} devices read
        {typeof state.total === 'number' && ` of ${state.total.toLocaleString()}`}
        {!state.done && ' (still reading)'}
      </p>
      <DeviceTable devices={state.matches} live={live} busy={!state.done} />
      {state.done && state.more && (
        <nav className="pager" aria-label="Pages">
          <button type="button" className="button" onClick={() => setFrom(state.more ?? null)}>
            Search further
          </button>
        </nav>
      )}
    </>
  );
}

function NoDevicesYet() {
  const { admin } = useSession();
  return (
    <EmptyState title="No devices yet">
      <p>Devices appear here when they are registered, and update live as they connect and report.</p>
      {admin && (
        <p>
          <Link href="/devices/new">Create a device</Link>
        </p>
      )}
    </EmptyState>
  );
}

function DeviceTable({ devices, live, busy }: { devices: Device[]; live: ReturnType<typeof useLiveDevices>; busy: boolean }) {
  const now = useNow();
  return (
    <table className="table devices" aria-busy={busy}>
      <caption className="visually-hidden">Devices, live</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Type</th>
          <th scope="col">Status</th>
          <th scope="col">Last seen</th>
        </tr>
      </thead>
      <tbody>
        {devices.map((listed) => {
          const changed = live.changed.get(listed.id);
          // A change delivered before the read can be older than it; a newer one always wins.
          const change = changed && changed.device.version >= listed.version ? changed : undefined;
          const device = change?.device ?? listed;
          const seen = live.lastSeen.get(listed.id);
          const lastSeen = seen && !(device.lastSeen && device.lastSeen > seen) ? seen : device.lastSeen;
          return (
            <tr key={listed.id} className={change?.deleted ? 'deleted' : undefined} data-device-id={listed.id}>
              <td data-label="Name">
                {change?.deleted ? (
                  <s>{device.name}</s>
                ) : (
                  <Link href={`/devices/${device.id}`} className="device-link">
                    {device.name}
                  </Link>
                )}
              </td>
              <td data-label="Type">{device.type}</td>
              <td data-label="Status">{change?.deleted ? <span className="status status-deleted">deleted</span> : <StatusBadge status={device.status} />}</td>
              <td data-label="Last seen">
                <time dateTime={lastSeen ?? undefined} title={lastSeen ?? 'never'}>
                  {relativeTime(lastSeen, now)}
                </time>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
