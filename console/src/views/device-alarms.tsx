import { useQuery, useSubscription } from 'urql';
import { ALARM_UPDATED, DEVICE_ALARMS_QUERY, type AlarmUpdatedResult, type DeviceAlarmsResult } from '../api/documents';
import { plainMessage } from '../api/errors';
import { AlarmItem } from '../components/alarm-item';
import { useNow } from '../components/live';
import { ErrorState, LoadingState } from '../components/states';

/** The device's alarms, refreshed on every transition; admins acknowledge or snooze with a note. */
export function DeviceAlarms({ deviceId }: { deviceId: string }) {
  const [{ data, error }, refetch] = useQuery<DeviceAlarmsResult>({ query: DEVICE_ALARMS_QUERY, variables: { deviceId }, requestPolicy: 'cache-and-network' });
  useSubscription<AlarmUpdatedResult, null>({ query: ALARM_UPDATED, variables: { deviceId } }, () => {
    refetch({ requestPolicy: 'network-only' });
    return null;
  });
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
