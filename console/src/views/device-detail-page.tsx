import { useEffect, useMemo, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link, useLocation } from 'wouter';
import type { Reading } from '../../../src/generated/graphql/types';
import { DELETE_DEVICE, DEVICE_QUERY, DEVICE_UPDATED, type Device, type DeviceResult, type DeviceUpdatedResult } from '../api/documents';
import { plainMessage } from '../api/errors';
import { relativeTime, useNow } from '../components/live';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { StatusBadge } from '../components/status-badge';
import { TelemetryChart, type Series } from '../components/telemetry-chart';
import { useLiveSubscription, useRereadOnRestart } from '../components/use-live-subscription';
import { RANGES, RESOLUTION_WORDS, useTelemetry, withLivePoint, type RangeId } from '../components/use-telemetry';
import { useSession } from '../session-context';
import { DeviceAlarms } from './device-alarms';
import { DeviceCommands } from './device-commands';
import { DeviceEditor } from './device-editor';
import { DeviceTwin } from './device-twin';
import { LiveIndicator } from './overview-page';

/** One device: registry record (editable by admins), live readings, a chart per metric, its alarms, commands and twin. */
export function DeviceDetailPage({ id }: { id: string }) {
  const [live, setLive] = useState<{ device: Device; deleted: boolean } | undefined>();
  // Live points per metric, added to the charts as readings arrive.
  const [livePoints, setLivePoints] = useState<Record<string, Array<[number, number]>>>({});
  // The sequence of the last change applied: delivery is at least once, and a redelivered or
  // overtaken change must not undo a newer one.
  const applied = useRef({ id, sequence: '' });
  // Subscribe first and read once the subscription listens: a change between the two is then
  // both in the read or after it, and on the subscription.
  const subscription = useLiveSubscription<DeviceUpdatedResult>({ query: DEVICE_UPDATED, variables: { id } }, (result) => {
    const change = result.deviceUpdated;
    if (applied.current.id !== id) applied.current = { id, sequence: '' };
    if (change && change.sequence > applied.current.sequence) {
      applied.current.sequence = change.sequence;
      // Changes can overtake each other (a save's answer, the feed): keep the highest version.
      setLive((previous) => (previous && previous.device.version > change.device.version ? previous : { device: change.device, deleted: change.changeType === 'DELETED' }));
      const seen = change.device.lastSeen ? Date.parse(change.device.lastSeen) / 1000 : undefined;
      if (seen !== undefined) {
        setLivePoints((previous) => {
          const next = { ...previous };
          for (const r of change.device.readings) {
            if (typeof r.numberValue === 'number') next[r.metric] = [...(next[r.metric] ?? []), [seen, r.numberValue]];
          }
          return next;
        });
      }
    }
  });
  const liveError = subscription.error;
  const [{ data, fetching, error }, refetch] = useQuery<DeviceResult>({ query: DEVICE_QUERY, variables: { id }, requestPolicy: 'cache-and-network', pause: !subscription.ready });
  useRereadOnRestart([subscription], () => refetch({ requestPolicy: 'network-only' }));
  useEffect(() => {
    setLive(undefined);
    setLivePoints({});
  }, [id]);

  const queried = data?.device ?? undefined;
  // Whichever is newer: a refetch after an edit, or the last live change.
  const device = live && (!queried || live.device.version >= queried.version) ? live.device : queried;

  if (error && !data) return <Page><ErrorState message={plainMessage(error)} onRetry={() => refetch({ requestPolicy: 'network-only' })} /></Page>;
  if (!data && (fetching || !subscription.ready)) return <Page><LoadingState label="Loading the device" rows={6} /></Page>;
  if (!device || live?.deleted) {
    return (
      <Page>
        <EmptyState title={live?.deleted ? 'This device was deleted' : 'There is no device with this id'}>
          <p>
            <Link href="/devices">Back to the device list</Link>
          </p>
        </EmptyState>
      </Page>
    );
  }
  return (
    <Page>
      <div className="page-head">
        <h1>{device.name}</h1>
        <StatusBadge status={device.status} />
        <LiveIndicator failed={Boolean(liveError)} />
      </div>
      <nav aria-label="On this page" className="page-nav">
        {SECTIONS.map(([anchor, words]) => (
          <a key={anchor} href={`#${anchor}`}>
            {words}
          </a>
        ))}
      </nav>
      <DeviceFacts device={device} />
      <Readings readings={device.readings} />
      <DeviceAlarms deviceId={device.id} />
      <Charts device={device} livePoints={livePoints} />
      <DeviceCommands deviceId={device.id} />
      <DeviceTwin deviceId={device.id} twinVersion={device.twinVersion} />
      <DeviceEditor device={device} onReload={() => refetch({ requestPolicy: 'network-only' })} onSaved={(saved) => setLive({ device: saved, deleted: false })} />
      <DeleteDevice device={device} />
    </Page>
  );
}

/** Jump links to the page's sections (their headings' ids): a long page, one Tab away from each part. */
const SECTIONS = [
  ['readings', 'Readings'],
  ['alarms', 'Alarms'],
  ['charts', 'Telemetry'],
  ['commands', 'Commands'],
  ['twin', 'Twin'],
  ['registry', 'Metadata'],
] as const;

function Page({ children }: { children: React.ReactNode }) {
  return (
    <main className="page" id="main">
      <p className="breadcrumb">
        <Link href="/devices">← Devices</Link>
      </p>
      {children}
    </main>
  );
}

function DeviceFacts({ device }: { device: Device }) {
  const now = useNow(5000);
  return (
    <dl className="facts card">
      <div>
        <dt>Last seen</dt>
        <dd>
          <time dateTime={device.lastSeen ?? undefined} data-testid="last-seen" title={device.lastSeen ?? 'never'}>
            {relativeTime(device.lastSeen, now)}
          </time>
        </dd>
      </div>
      <div>
        <dt>Type</dt>
        <dd>{device.type}</dd>
      </div>
      <div>
        <dt>Id (thing name)</dt>
        <dd className="mono">{device.id}</dd>
      </div>
      <div>
        <dt>Version</dt>
        <dd>{device.version}</dd>
      </div>
      <div>
        <dt>Created</dt>
        <dd>{new Date(device.createdAt).toLocaleString()}</dd>
      </div>
    </dl>
  );
}

function formatReading(r: Reading): string {
  if (typeof r.numberValue === 'number') return r.numberValue.toLocaleString(undefined, { maximumFractionDigits: 3 });
  if (typeof r.booleanValue === 'boolean') return r.booleanValue ? 'true' : 'false';
  return r.stringValue ?? '—';
}

function Readings({ readings }: { readings: Reading[] }) {
  return (
    <section className="card" aria-labelledby="readings">
      <h2 id="readings">Latest readings</h2>
      {readings.length === 0 ? (
        <p className="muted">No readings yet. They appear here live as soon as the device publishes telemetry.</p>
      ) : (
        <ul className="readings" aria-live="polite">
          {readings.map((r) => (
            <li key={r.metric} className="reading">
              <span className="reading-metric">{r.metric}</span>
              <span className="reading-value" data-testid={`reading-${r.metric}`}>
                {formatReading(r)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Charts({ device, livePoints }: { device: Device; livePoints: Record<string, Array<[number, number]>> }) {
  const [range, setRange] = useState<RangeId>('1h');
  const [reload, setReload] = useState(0);
  const metrics = device.readings.filter((r) => typeof r.numberValue === 'number').map((r) => r.metric);
  return (
    <section className="card" aria-labelledby="charts">
      <div className="section-head">
        <h2 id="charts">Telemetry</h2>
        <label className="field field-inline">
          <span>Range</span>
          <select value={range} onChange={(e) => setRange(e.target.value as RangeId)}>
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="button button-quiet" onClick={() => setReload((n) => n + 1)}>
          Reload
        </button>
      </div>
      {metrics.length === 0 ? (
        <p className="muted">No numeric metrics to chart yet.</p>
      ) : (
        metrics.map((metric) => <MetricChart key={metric} deviceId={device.id} metric={metric} range={range} reload={reload} live={livePoints[metric] ?? []} />)
      )}
    </section>
  );
}

function MetricChart({ deviceId, metric, range, reload, live }: { deviceId: string; metric: string; range: RangeId; reload: number; live: Array<[number, number]> }) {
  const telemetry = useTelemetry(deviceId, metric, range, reload);
  const series: Series | undefined = useMemo(() => {
    if (!telemetry.series) return undefined;
    let merged = telemetry.series;
    for (const [t, v] of live) if (t * 1000 >= telemetry.from) merged = withLivePoint(merged, t, v);
    return merged;
  }, [telemetry, live]);
  const { label: rangeName, resolution } = RANGES.find((r) => r.id === range)!;
  const rangeLabel = rangeName.toLowerCase();
  const count = series?.times.length ?? 0;
  const shown = resolution === 'RAW' ? plural(count, 'point') : `average ${RESOLUTION_WORDS[resolution]} with its minimum-maximum band, ${plural(count, 'bucket')}`;
  // The axis spans the range picked; live points may run a little past its end.
  const span = useMemo((): [number, number] | undefined => (telemetry.to ? [telemetry.from / 1000, telemetry.to / 1000] : undefined), [telemetry.from, telemetry.to]);
  return (
    <figure className="metric-chart">
      <figcaption>
        <strong>{metric}</strong>
        {series && <span className="muted"> · {shown}, {rangeLabel}{telemetry.truncated && ' (first 10,000 shown)'}</span>}
      </figcaption>
      {telemetry.error && <ErrorState title={`Could not load ${metric}`} message={telemetry.error} />}
      {!telemetry.error && !series && <LoadingState label={`Loading ${metric}`} rows={1} />}
      {series && series.times.length === 0 && <p className="muted chart-empty">No readings in this range.</p>}
      {series && series.times.length > 0 && (
        <TelemetryChart
          metric={metric}
          series={series}
          span={span}
          label={`${metric} over the ${rangeLabel}: ${resolution === 'RAW' ? plural(count, 'point') : `${plural(count, 'bucket')} (${RESOLUTION_WORDS[resolution]})`}, latest ${series.values[series.values.length - 1]}`}
        />
      )}
    </figure>
  );
}

/** "1 point", "2,500 points". */
function plural(n: number, word: string): string {
  return `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
}

function DeleteDevice({ device }: { device: Device }) {
  const { admin } = useSession();
  const [, navigate] = useLocation();
  const [confirming, setConfirming] = useState(false);
  const [{ fetching, error }, remove] = useMutation(DELETE_DEVICE);
  if (!admin) return null;
  return (
    <section className="card danger" aria-labelledby="delete">
      <h2 id="delete">Delete device</h2>
      <p>Removes the registry record. Revoke its certificate with <code>npm run -s iotctl -- device revoke {device.id}</code>.</p>
      {error && (
        <p className="form-error" role="alert">
          {plainMessage(error)}
        </p>
      )}
      {confirming ? (
        <div className="actions">
          <button
            type="button"
            className="button button-danger"
            disabled={fetching}
            onClick={async () => {
              const result = await remove({ id: device.id, expectedVersion: device.version });
              if (!result.error) navigate('/devices');
            }}
          >
            Yes, delete {device.name}
          </button>
          <button type="button" className="button" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </div>
      ) : (
        <button type="button" className="button button-danger" onClick={() => setConfirming(true)}>
          Delete…
        </button>
      )}
    </section>
  );
}
