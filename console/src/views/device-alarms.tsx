import { useQuery } from 'urql';
import { ALARM_UPDATED, DEVICE_ALARMS_QUERY, type AlarmUpdatedResult, type DeviceAlarmsResult } from '../api/documents';
import { plainMessage } from '../api/errors';
import { AlarmItem } from '../components/alarm-item';
import { useNow } from '../components/live';
import { ErrorState, LoadingState } from '../components/states';
import { useLiveSubscription, useRereadOnRestart } from '../components/use-live-subscription';

/** The device's alarms, refreshed on every transition; admins acknowledge or snooze with a note. */
export function DeviceAlarms({ deviceId }: { deviceId: string }) {
  const reread = () => refetch({ requestPolicy: 'network-only' });
  const live = useLiveSubscription<AlarmUpdatedResult>({ query: ALARM_UPDATED, variables: { deviceId } }, reread);
  // Read once the feed listens, so a transition between the read and the subscription is not lost.
  const [{ data, error }, refetch] = useQuery<DeviceAlarmsResult>({ query: DEVICE_ALARMS_QUERY, variables: { deviceId }, requestPolicy: 'cache-and-network', pause: !live.ready });
  useRereadOnRestart([live], reread);
  const now = useNow();
  const alarms = data?.alarms.items;
  return (
    <section className="card" aria-labelledby="alarms">
      <h2 id="alarms">Alarms</h2>
      {error && !alarms && <ErrorState message={plainMessage(error)} onRetry={() => refetch({ requestPolicy: 'network-only' })} />}
      {!error && !alarms && <LoadingState label="Loading alarms" rows={1} />}
      {alarms && alarms.length === 0 && <p className="muted">No alarm of this device ever left normal.</p>}
      {alarms && alarms.length > 0 && (
        <ul className="alarms" aria-live="polite">
          {alarms.map((alarm) => (
            <AlarmItem key={alarm.id} alarm={alarm} now={now} onChanged={() => refetch({ requestPolicy: 'network-only' })} />
          ))}
        </ul>
      )}
    </section>
  );
}
