import { useMemo, useState } from 'react';
import { useClient, useQuery } from 'urql';
import { Link, useLocation, useSearch } from 'wouter';
import type { AlarmSeverity, AlarmState } from '../../../src/generated/graphql/types';
import { ALARMS_QUERY, type Alarm, type AlarmsResult } from '../api/alarm-documents';
import { ALARM_UPDATED, type AlarmUpdatedResult } from '../api/documents';
import { plainMessage } from '../api/errors';
import { AlarmItem, stateWords } from '../components/alarm-item';
import { useNow, useThrottled } from '../components/live';
import { useLiveSubscription, useRereadOnRestart } from '../components/use-live-subscription';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { useSession } from '../session-context';
import { LiveIndicator } from './overview-page';

/** Alarms a page holds. */
const PAGE_SIZE = 25;
export const ALARM_STATES: readonly AlarmState[] = ['ACTIVE', 'ACKNOWLEDGED', 'LATCHED', 'SNOOZE_DISABLED', 'DISABLED', 'NORMAL'];
export const SEVERITIES: readonly AlarmSeverity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'];

interface Filters {
  state?: AlarmState | undefined;
  severity?: AlarmSeverity | undefined;
}

function filtersFrom(search: string): Filters {
  const params = new URLSearchParams(search);
  const state = params.get('state') as AlarmState | null;
  const severity = params.get('severity') as AlarmSeverity | null;
  return { state: state && ALARM_STATES.includes(state) ? state : undefined, severity: severity && SEVERITIES.includes(severity) ? severity : undefined };
}

function searchOf(filters: Filters): string {
  const params = new URLSearchParams();
  if (filters.state) params.set('state', filters.state);
  if (filters.severity) params.set('severity', filters.severity);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * Every alarm of the fleet, most recently changed first, filtered by state and severity (kept
 * in the URL), refreshed live on each transition; admins acknowledge or snooze with a note.
 */
export default function AlarmsPage() {
  const search = useSearch();
  const [, navigate] = useLocation();
  const filters = useMemo(() => filtersFrom(search), [search]);
  const { admin } = useSession();
  const setFilters = (next: Filters) => navigate(`/alarms${searchOf(next)}`, { replace: true });
  return (
    <main className="page" id="main">
      <div className="page-head">
        <h1>Alarms</h1>
        <Link href="/alarms/rules" className="button">
          {admin ? 'Alarm rules' : 'View alarm rules'}
        </Link>
      </div>
      <form className="filters" aria-label="Filter alarms" onSubmit={(e) => e.preventDefault()}>
        <label className="field">
          <span>State</span>
          <select value={filters.state ?? ''} onChange={(e) => setFilters({ ...filters, state: (e.target.value || undefined) as AlarmState | undefined })}>
            <option value="">Any state</option>
            {ALARM_STATES.map((s) => (
              <option key={s} value={s}>
                {stateWords(s)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Severity</span>
          <select value={filters.severity ?? ''} onChange={(e) => setFilters({ ...filters, severity: (e.target.value || undefined) as AlarmSeverity | undefined })}>
            <option value="">Any severity</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
      </form>
      <AlarmList key={search} filters={filters} />
    </main>
  );
}

function AlarmList({ filters }: { filters: Filters }) {
  const client = useClient();
  const filter = { ...(filters.state && { state: filters.state }), ...(filters.severity && { severity: filters.severity }) };
  const [more, setMore] = useState<{ items: Alarm[]; nextToken?: string | null; loading: boolean; error?: string }>({ items: [], loading: false });
  const refresh = useThrottled(() => {
    // A transition can move an alarm in or out of the filter: read the pages shown again.
    setMore({ items: [], loading: false });
    refetch({ requestPolicy: 'network-only' });
  }, 1000);
  const live = useLiveSubscription<AlarmUpdatedResult>({ query: ALARM_UPDATED, variables: {} }, () => refresh());
  const liveError = live.error;
  // Read once the feed listens, so a transition between the read and the subscription is not lost.
  const [{ data, error, fetching }, refetch] = useQuery<AlarmsResult>({ query: ALARMS_QUERY, variables: { filter, limit: PAGE_SIZE }, requestPolicy: 'cache-and-network', pause: !live.ready });
  useRereadOnRestart([live], refresh);
  const now = useNow();
  const first = data?.alarms;
  const alarms = first && [...first.items, ...more.items.filter((a) => !first.items.some((b) => b.id === a.id))];
  const nextToken = more.nextToken === undefined ? first?.nextToken : more.nextToken;

  async function loadMore() {
    setMore((m) => ({ ...m, loading: true, error: undefined }));
    const page = await client.query<AlarmsResult>(ALARMS_QUERY, { filter, limit: PAGE_SIZE, nextToken }, { requestPolicy: 'network-only' }).toPromise();
    if (!page.data) {
      setMore((m) => ({ ...m, loading: false, error: page.error ? plainMessage(page.error) : 'No answer' }));
      return;
    }
    setMore((m) => ({ items: [...m.items, ...page.data!.alarms.items], nextToken: page.data!.alarms.nextToken ?? null, loading: false }));
  }

  const described = [filters.state && stateWords(filters.state), filters.severity && filters.severity.toLowerCase()].filter(Boolean).join(', ');
  return (
    <section aria-labelledby="alarm-list" className="card">
      <div className="section-head">
        <h2 id="alarm-list">{described ? `Alarms: ${described}` : 'All alarms'}</h2>
        <LiveIndicator failed={Boolean(liveError)} />
      </div>
      {error && !alarms && <ErrorState message={plainMessage(error)} onRetry={() => refetch({ requestPolicy: 'network-only' })} />}
      {!error && !alarms && (fetching || !live.ready) && <LoadingState label="Loading alarms" rows={3} />}
      {alarms && alarms.length === 0 && (
        <EmptyState title={described ? 'No alarm matches these filters' : 'No alarm ever left normal'}>
          <p>{described ? 'Alarms appear here live as soon as one does.' : 'Alarms appear here live when a rule’s condition holds for a device.'}</p>
        </EmptyState>
      )}
      {alarms && alarms.length > 0 && (
        <ul className="alarms" aria-live="polite">
          {alarms.map((alarm) => (
            <AlarmItem key={alarm.id} alarm={alarm} now={now} showDevice onChanged={refresh} />
          ))}
        </ul>
      )}
      {more.error && (
        <p className="form-error" role="alert">
          {more.error}
        </p>
      )}
      {nextToken && (
        <p className="actions">
          <button type="button" className="button" disabled={more.loading} onClick={() => void loadMore()}>
            {more.loading ? 'Loading more alarms…' : 'More alarms'}
          </button>
        </p>
      )}
    </section>
  );
}
