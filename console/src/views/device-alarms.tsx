import { useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import {
  ACKNOWLEDGE_ALARM,
  ALARM_UPDATED,
  DEVICE_ALARMS_QUERY,
  type AcknowledgeAlarmResult,
  type Alarm,
  type AlarmUpdatedResult,
  type DeviceAlarmsResult,
} from '../api/documents';
import { plainMessage } from '../api/errors';
import { relativeTime, useNow } from '../components/live';
import { ErrorState, LoadingState } from '../components/states';
import { useSession } from '../session-context';

/** States an operator acknowledges: the alarm holds (ACTIVE) or held and latched. */
const ACKNOWLEDGEABLE = new Set(['ACTIVE', 'LATCHED']);

/** The device's alarms, refreshed on every transition; admins acknowledge with a note. */
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
            <AlarmRow key={alarm.id} alarm={alarm} now={now} onChanged={() => refetch({ requestPolicy: 'network-only' })} />
          ))}
        </ul>
      )}
    </section>
  );
}

function AlarmRow({ alarm, now, onChanged }: { alarm: Alarm; now: number; onChanged: () => void }) {
  const { admin } = useSession();
  const [note, setNote] = useState('');
  const [{ fetching, error }, acknowledge] = useMutation<AcknowledgeAlarmResult>(ACKNOWLEDGE_ALARM);
  const last = alarm.lastTransition;
  return (
    <li className="alarm" data-alarm-id={alarm.id}>
      <div className="alarm-head">
        <span className={`severity severity-${alarm.severity.toLowerCase()}`}>{alarm.severity.toLowerCase()}</span>
        <strong>{alarm.ruleName}</strong>
        <span className={`alarm-state alarm-state-${alarm.state.toLowerCase()}`} data-testid={`alarm-state-${alarm.ruleName}`}>
          {alarm.state.replace('_', ' ').toLowerCase()}
        </span>
        <time className="muted" dateTime={alarm.changedAt}>
          {relativeTime(alarm.changedAt, now)}
        </time>
      </div>
      <p className="muted alarm-reason">
        {last.reason}
        {last.actor !== 'system' && ` · by ${last.actor}`}
        {last.note && ` · “${last.note}”`}
      </p>
      {admin && ACKNOWLEDGEABLE.has(alarm.state) && (
        <form
          className="alarm-ack"
          onSubmit={async (event) => {
            event.preventDefault();
            const result = await acknowledge({ id: alarm.id, note: note.trim() || null });
            if (!result.error) {
              setNote('');
              onChanged();
            }
          }}
        >
          <label className="field field-inline">
            <span>Note</span>
            <input value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} placeholder="what you did about it" />
          </label>
          <button type="submit" className="button" disabled={fetching}>
            Acknowledge {alarm.ruleName}
          </button>
          {error && (
            <p className="form-error" role="alert">
              {plainMessage(error)}
            </p>
          )}
        </form>
      )}
    </li>
  );
}
