import { useQuery } from 'urql';
import { Link } from 'wouter';
import { ALARM_UPDATED, DEVICE_UPDATED, STATS_QUERY, type AlarmUpdatedResult, type DeviceUpdatedResult, type StatsResult } from '../api/documents';
import { plainMessage } from '../api/errors';
import { useThrottled } from '../components/live';
import { useLiveSubscription, useRereadOnRestart } from '../components/use-live-subscription';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { STATUSES, StatusBadge } from '../components/status-badge';
import { useSession } from '../session-context';

/** The fleet at a glance: totals, by status and by type, refreshed as devices change. */
export function OverviewPage() {
  const { admin } = useSession();
  // Any device change may move a counter; the counters are re-read at most once a second.
  const refresh = useThrottled(() => refetch({ requestPolicy: 'network-only' }), 1000);
  const devices = useLiveSubscription<DeviceUpdatedResult>({ query: DEVICE_UPDATED, variables: {} }, () => refresh());
  // An alarm transition moves the active-alarm counters.
  const alarms = useLiveSubscription<AlarmUpdatedResult>({ query: ALARM_UPDATED, variables: {} }, () => refresh());
  const liveError = devices.error;
  // Read once both feeds listen, so a change between the read and the subscriptions is not lost.
  const [{ data, fetching, error }, refetch] = useQuery<StatsResult>({ query: STATS_QUERY, requestPolicy: 'cache-and-network', pause: !(devices.ready && alarms.ready) });
  useRereadOnRestart([devices, alarms], refresh);

  const stats = data?.stats;
  const count = (status: string) => stats?.byStatus.find((s) => s.status === status)?.count ?? 0;
  return (
    <main className="page" id="main">
      <div className="page-head">
        <h1>Fleet overview</h1>
        <LiveIndicator failed={Boolean(liveError)} />
      </div>
      {error && !stats && <ErrorState message={plainMessage(error)} onRetry={() => refetch({ requestPolicy: 'network-only' })} />}
      {(fetching || !devices.ready || !alarms.ready) && !stats && !error && <LoadingState label="Loading fleet figures" rows={4} />}
      {stats && stats.total === 0 && (
        <EmptyState title="No devices yet">
          <p>Devices appear here as soon as they are registered.</p>
          {admin && (
            <p>
              <Link href="/devices/new">Create the first device</Link>
            </p>
          )}
        </EmptyState>
      )}
      {stats && stats.total > 0 && (
        <>
          <section className="tiles" aria-label="Totals">
            <Tile label="Devices" value={stats.total} href="/devices" />
            <Tile label="Online" value={stats.online} href="/devices?status=ONLINE" detail={`${Math.round((stats.online / stats.total) * 100)} % of the fleet`} />
            <Tile label="Errors" value={count('ERROR')} href="/devices?status=ERROR" tone={count('ERROR') > 0 ? 'bad' : undefined} />
            <Tile label="Maintenance" value={count('MAINTENANCE')} href="/devices?status=MAINTENANCE" />
          </section>
          <section className="card" aria-labelledby="active-alarms">
            <div className="section-head">
              <h2 id="active-alarms">Active alarms</h2>
              <Link href="/alarms?state=ACTIVE">All active alarms</Link>
            </div>
            <ul className="severities">
              {stats.activeAlarms.map((s) => (
                <li key={s.severity} className={`severity-count${s.count > 0 ? ' severity-count-on' : ''}`}>
                  <span className={`severity severity-${s.severity.toLowerCase()}`}>{s.severity.toLowerCase()}</span>
                  <span className="severity-value" data-testid={`active-alarms-${s.severity.toLowerCase()}`}>
                    {s.count.toLocaleString()}
                  </span>
                </li>
              ))}
            </ul>
          </section>
          <div className="columns">
            <section className="card" aria-labelledby="by-status">
              <h2 id="by-status">By status</h2>
              <ul className="bars">
                {STATUSES.map((status) => (
                  <li key={status}>
                    <Link href={`/devices?status=${status}`} className="bar-row">
                      <StatusBadge status={status} />
                      <span className="bar" aria-hidden="true">
                        <span className={`bar-fill status-fill-${status.toLowerCase()}`} style={{ width: `${(count(status) / stats.total) * 100}%` }} />
                      </span>
                      <span className="bar-value">{count(status).toLocaleString()}</span>
                    </Link>
                  </li>
                ))}
              </ul>
            </section>
            <section className="card" aria-labelledby="by-type">
              <h2 id="by-type">By type</h2>
              {stats.byType.length === 0 ? (
                <p className="muted">No types counted yet.</p>
              ) : (
                <table className="table compact">
                  <thead>
                    <tr>
                      <th scope="col">Type</th>
                      <th scope="col" className="num">
                        Devices
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...stats.byType]
                      .sort((a, b) => b.count - a.count)
                      .map((t) => (
                        <tr key={t.type}>
                          <td>
                            <Link href={`/devices?type=${encodeURIComponent(t.type)}`}>{t.type}</Link>
                          </td>
                          <td className="num">{t.count.toLocaleString()}</td>
                        </tr>
                      ))}
                  </tbody>
                </table>
              )}
            </section>
          </div>
        </>
      )}
    </main>
  );
}

function Tile({ label, value, href, detail, tone }: { label: string; value: number; href: string; detail?: string; tone?: 'bad' | undefined }) {
  return (
    <Link href={href} className={`tile${tone ? ` tile-${tone}` : ''}`}>
      <span className="tile-label">{label}</span>
      <span className="tile-value" data-testid={`tile-${label.toLowerCase()}`}>
        {value.toLocaleString()}
      </span>
      {detail && <span className="tile-detail">{detail}</span>}
    </Link>
  );
}

/** Whether live updates are flowing. */
export function LiveIndicator({ failed }: { failed: boolean }) {
  return failed ? (
    <span className="live live-off" role="status">
      Live updates unavailable: reload to try again
    </span>
  ) : (
    <span className="live" role="status" aria-label="Live: updates as devices change">
      Live
    </span>
  );
}
