import { useEffect, useId, useState } from 'react';
import { useClient, useMutation } from 'urql';
import { Link } from 'wouter';
import { ALARM_HISTORY_QUERY, SNOOZE_ALARM, type Alarm, type AlarmHistoryResult, type AlarmTransition } from '../api/alarm-documents';
import { ACKNOWLEDGE_ALARM, type AcknowledgeAlarmResult } from '../api/documents';
import { plainMessage } from '../api/errors';
import { useSession } from '../session-context';
import { relativeTime } from './live';

/** States an operator acknowledges: the alarm holds (ACTIVE) or held and latched. */
const ACKNOWLEDGEABLE = new Set(['ACTIVE', 'LATCHED']);
/** Snooze lengths offered (the API takes 1 s to a week). */
const SNOOZES = [
  { seconds: 900, label: '15 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 4 * 3600, label: '4 hours' },
  { seconds: 86_400, label: '1 day' },
  { seconds: 7 * 86_400, label: '1 week' },
] as const;

/** A state as words: "snooze disabled" rather than SNOOZE_DISABLED. */
export function stateWords(state: string): string {
  return state.replace('_', ' ').toLowerCase();
}

/**
 * One alarm: severity, rule, state, the last transition's reason and note; for admins,
 * acknowledge (ACTIVE or LATCHED) and snooze, each with a note; for everyone, its history.
 */
export function AlarmItem({ alarm, now, showDevice, onChanged }: { alarm: Alarm; now: number; showDevice?: boolean; onChanged: () => void }) {
  const { admin } = useSession();
  const ids = useId();
  const [note, setNote] = useState('');
  const [snooze, setSnooze] = useState<number>(SNOOZES[1].seconds);
  const [ack, acknowledge] = useMutation<AcknowledgeAlarmResult>(ACKNOWLEDGE_ALARM);
  const [snoozed, snoozeAlarm] = useMutation(SNOOZE_ALARM);
  const last = alarm.lastTransition;
  const error = ack.error ?? snoozed.error;
  const busy = ack.fetching || snoozed.fetching;
  const done = (result: { error?: unknown }) => {
    if (!result.error) {
      setNote('');
      onChanged();
    }
  };
  return (
    <li className="alarm" data-alarm-id={alarm.id}>
      <div className="alarm-head">
        <span className={`severity severity-${alarm.severity.toLowerCase()}`}>{alarm.severity.toLowerCase()}</span>
        <strong>{alarm.ruleName}</strong>
        {showDevice && (
          <Link href={`/devices/${alarm.deviceId}`} className="mono alarm-device">
            device {alarm.deviceId.slice(0, 8)}
          </Link>
        )}
        <span className={`alarm-state alarm-state-${alarm.state.toLowerCase()}`} data-testid={`alarm-state-${alarm.ruleName}`}>
          {stateWords(alarm.state)}
        </span>
        <time className="muted" dateTime={alarm.changedAt} title={alarm.changedAt}>
          {relativeTime(alarm.changedAt, now)}
        </time>
      </div>
      <p className="muted alarm-reason">
        {last.reason}
        {last.actor !== 'system' && ` · by ${last.actor}`}
        {last.note && ` · “${last.note}”`}
        {alarm.state === 'SNOOZE_DISABLED' && alarm.snoozeUntil && ` · until ${new Date(alarm.snoozeUntil).toLocaleString()}`}
      </p>
      {admin && alarm.state !== 'DISABLED' && (
        <form
          className="alarm-ack"
          aria-label={`Act on ${alarm.ruleName}`}
          onSubmit={(event) => {
            event.preventDefault();
            void acknowledge({ id: alarm.id, note: note.trim() || null }).then(done);
          }}
        >
          <label className="field field-inline alarm-note">
            <span>Note</span>
            <input value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} placeholder="what you did about it" />
          </label>
          {ACKNOWLEDGEABLE.has(alarm.state) && (
            <button type="submit" className="button" disabled={busy}>
              Acknowledge {alarm.ruleName}
            </button>
          )}
          <label className="field field-inline">
            <span>Snooze for</span>
            <select value={snooze} onChange={(e) => setSnooze(Number(e.target.value))} id={`${ids}-snooze`}>
              {SNOOZES.map((s) => (
                <option key={s.seconds} value={s.seconds}>
                  {s.label}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="button" disabled={busy} onClick={() => void snoozeAlarm({ id: alarm.id, seconds: snooze, note: note.trim() || null }).then(done)}>
            Snooze {alarm.ruleName}
          </button>
          {error && (
            <p className="form-error" role="alert">
              {plainMessage(error)}
            </p>
          )}
        </form>
      )}
      <AlarmHistory alarm={alarm} now={now} />
    </li>
  );
}

/** The alarm's transitions, newest first, loaded when opened and a page at a time. */
function AlarmHistory({ alarm, now }: { alarm: Alarm; now: number }) {
  const client = useClient();
  const [open, setOpen] = useState(false);
  const [history, setHistory] = useState<{ items: AlarmTransition[]; nextToken?: string | null; loading: boolean; error?: string; rev?: number }>({ items: [], loading: false });
  const listId = useId();

  async function load(nextToken?: string | null) {
    setHistory((h) => ({ ...h, loading: true, error: undefined }));
    const result = await client.query<AlarmHistoryResult>(ALARM_HISTORY_QUERY, { id: alarm.id, historyNextToken: nextToken ?? null }, { requestPolicy: 'network-only' }).toPromise();
    const page = result.data?.alarm?.history;
    if (!page) {
      setHistory((h) => ({ ...h, loading: false, error: result.error ? plainMessage(result.error) : 'This alarm has no history any more.' }));
      return;
    }
    setHistory((h) => ({ items: nextToken ? [...h.items, ...page.items] : page.items, nextToken: page.nextToken, loading: false, rev: alarm.rev }));
  }

  // Read again when the alarm moved on while the history is open.
  useEffect(() => {
    if (open && !history.loading && history.rev !== undefined && history.rev !== alarm.rev) void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- load reads the latest alarm itself
  }, [open, history.loading, history.rev, alarm.rev]);

  return (
    <div className="alarm-history">
      <button
        type="button"
        className="button button-quiet button-small"
        aria-expanded={open}
        aria-controls={listId}
        onClick={() => {
          const opening = !open;
          setOpen(opening);
          if (opening) void load();
        }}
      >
        {open ? 'Hide history' : 'History'}
        <span className="visually-hidden"> of {alarm.ruleName}</span>
      </button>
      {open && (
        <div id={listId}>
          {history.error && (
            <p className="form-error" role="alert">
              {history.error}
            </p>
          )}
          {history.loading && history.items.length === 0 && <p className="muted">Loading the history…</p>}
          {history.items.length > 0 && (
            <ol className="transitions" aria-label={`History of ${alarm.ruleName}`}>
              {history.items.map((t) => (
                <li key={t.rev}>
                  <span className="mono">#{t.rev}</span> {stateWords(t.from)} → <strong>{stateWords(t.to)}</strong>{' '}
                  <time className="muted" dateTime={t.at} title={t.at}>
                    {relativeTime(t.at, now)}
                  </time>
                  <span className="muted">
                    {' '}
                    · {t.reason}
                    {t.actor !== 'system' && ` · by ${t.actor}`}
                    {t.note && ` · “${t.note}”`}
                  </span>
                </li>
              ))}
            </ol>
          )}
          {history.nextToken && (
            <button type="button" className="button button-small" disabled={history.loading} onClick={() => void load(history.nextToken)}>
              Older transitions
            </button>
          )}
        </div>
      )}
    </div>
  );
}
