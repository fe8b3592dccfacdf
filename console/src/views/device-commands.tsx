import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import type { CommandStatus } from '../../../src/generated/graphql/types';
import { COMMAND_NAME_PATTERN, DEFAULT_TIMEOUT_SECONDS, MAX_COMMAND_JSON_BYTES, MAX_TIMEOUT_SECONDS } from '../../../src/contracts/device-control-limits';
import {
  CANCEL_COMMAND,
  COMMAND_UPDATED,
  COMMANDS_QUERY,
  SEND_COMMAND,
  type CancelCommandResult,
  type Command,
  type CommandsResult,
  type CommandUpdatedResult,
  type SendCommandResult,
} from '../api/command-documents';
import { plainMessage } from '../api/errors';
import { checkJson, formatBytes, prettyJson } from '../components/json-text';
import { relativeTime, useNow } from '../components/live';
import { useLiveSubscription, useRereadOnRestart } from '../components/use-live-subscription';
import { ErrorState, LoadingState } from '../components/states';
import { useSession } from '../session-context';

/** Commands a page of history holds. */
const PAGE_SIZE = 10;
/** Statuses that still move: the page keeps listening for them. */
const FINAL: ReadonlySet<CommandStatus> = new Set(['SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELED']);
/** A transition only moves forward, so of two copies of a command the one further along wins. */
const ORDER: Record<CommandStatus, number> = { CREATED: 0, IN_PROGRESS: 1, SUCCEEDED: 2, FAILED: 2, REJECTED: 2, TIMED_OUT: 2, CANCELED: 2 };

function newer(a: Command | undefined, b: Command): Command {
  return a && ORDER[a.status] > ORDER[b.status] ? a : b;
}

/**
 * The device's commands: admins send one (name, JSON payload checked before sending, timeout)
 * and see its status move live over commandUpdated; everyone reads the history, newest first,
 * a page at a time.
 */
export function DeviceCommands({ deviceId }: { deviceId: string }) {
  const client = useClient();
  // Pages after the first, loaded on request, and every command seen live or sent from here.
  const [older, setOlder] = useState<{ items: Command[]; nextToken: string | null | undefined; loading: boolean; error?: string }>({ items: [], nextToken: undefined, loading: false });
  const [live, setLive] = useState<Record<string, Command>>({});
  // The sequence of the last transition applied per command: delivery is at least once, and a
  // transition delivered again after a newer one (a late answer, say) must not undo it.
  const applied = useRef({ deviceId, sequences: new Map<string, string>() });
  const subscription = useLiveSubscription<CommandUpdatedResult>({ query: COMMAND_UPDATED, variables: { deviceId } }, (result) => {
    const update = result.commandUpdated;
    if (applied.current.deviceId !== deviceId) applied.current = { deviceId, sequences: new Map() };
    if (!update || !(update.sequence > (applied.current.sequences.get(update.id) ?? ''))) return;
    applied.current.sequences.set(update.id, update.sequence);
    setLive((previous) => ({ ...previous, [update.id]: newer(previous[update.id], update.command) }));
  });
  // Read once the feed listens, so a status change between the read and the subscription is not lost.
  const [{ data, error, fetching }, refetch] = useQuery<CommandsResult>({ query: COMMANDS_QUERY, variables: { deviceId, limit: PAGE_SIZE }, requestPolicy: 'cache-and-network', pause: !subscription.ready });
  useRereadOnRestart([subscription], () => refetch({ requestPolicy: 'network-only' }));
  useEffect(() => {
    setOlder({ items: [], nextToken: undefined, loading: false });
    setLive({});
  }, [deviceId]);

  const firstPage = data?.commands;
  const commands = useMemo(() => {
    if (!firstPage) return undefined;
    const byId = new Map<string, Command>();
    for (const c of [...firstPage.items, ...older.items]) byId.set(c.id, newer(byId.get(c.id), c));
    // Commands sent or first heard of after the page loaded go on top.
    const fresh = Object.values(live).filter((c) => !byId.has(c.id)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return [...fresh, ...[...byId.values()].map((c) => (live[c.id] ? newer(live[c.id], c) : c))];
  }, [firstPage, older.items, live]);
  const nextToken = older.nextToken === undefined ? firstPage?.nextToken : older.nextToken;

  async function loadOlder() {
    if (!nextToken) return;
    setOlder((o) => ({ ...o, loading: true, error: undefined }));
    const page = await client.query<CommandsResult>(COMMANDS_QUERY, { deviceId, limit: PAGE_SIZE, nextToken }, { requestPolicy: 'network-only' }).toPromise();
    if (page.error || !page.data) {
      setOlder((o) => ({ ...o, loading: false, error: page.error ? plainMessage(page.error) : 'No answer' }));
      return;
    }
    setOlder((o) => ({ items: [...o.items, ...page.data!.commands.items], nextToken: page.data!.commands.nextToken ?? null, loading: false }));
  }

  return (
    <section className="card" aria-labelledby="commands">
      <h2 id="commands">Commands</h2>
      <SendCommandForm deviceId={deviceId} onSent={(command) => setLive((previous) => ({ ...previous, [command.id]: newer(previous[command.id], command) }))} />
      <h3 className="subhead">History</h3>
      {error && !commands && <ErrorState message={plainMessage(error)} onRetry={() => refetch({ requestPolicy: 'network-only' })} />}
      {!error && !commands && (fetching || !subscription.ready) && <LoadingState label="Loading commands" rows={2} />}
      {commands && commands.length === 0 && <p className="muted">No command was sent to this device yet.</p>}
      {commands && commands.length > 0 && <CommandHistory commands={commands} />}
      {older.error && (
        <p className="form-error" role="alert">
          {older.error}
        </p>
      )}
      {nextToken && (
        <p className="actions">
          <button type="button" className="button" disabled={older.loading} onClick={() => void loadOlder()}>
            {older.loading ? 'Loading older commands…' : 'Older commands'}
          </button>
        </p>
      )}
    </section>
  );
}

function CommandHistory({ commands }: { commands: Command[] }) {
  const now = useNow(5000);
  return (
    <ul className="commands" aria-live="polite">
      {commands.map((command) => (
        <CommandRow key={command.id} command={command} now={now} />
      ))}
    </ul>
  );
}

function CommandRow({ command, now }: { command: Command; now: number }) {
  const { admin } = useSession();
  const [{ fetching, error }, cancel] = useMutation<CancelCommandResult>(CANCEL_COMMAND);
  const answer = command.result ? prettyJson(command.result) : undefined;
  return (
    <li className="command-row" data-command-id={command.id}>
      <div className="command-head">
        <strong className="mono">{command.name}</strong>
        <span className={`command-status command-status-${command.status.toLowerCase()}`} data-testid={`command-status-${command.id}`}>
          {command.status.replace('_', ' ').toLowerCase()}
        </span>
        {!FINAL.has(command.status) && <span className="visually-hidden">waiting for the device</span>}
        <time className="muted" dateTime={command.createdAt} title={command.createdAt}>
          {relativeTime(command.createdAt, now)}
        </time>
        <span className="muted">by {command.createdBy}</span>
        {admin && command.status === 'CREATED' && (
          <button type="button" className="button button-quiet button-small" disabled={fetching} onClick={() => void cancel({ id: command.id })}>
            Cancel {command.name}
          </button>
        )}
      </div>
      <details className="command-details">
        <summary>Payload{answer !== undefined ? ' and result' : ''}</summary>
        <pre className="json">{prettyJson(command.payload)}</pre>
        {answer !== undefined && <pre className="json" data-testid={`command-result-${command.id}`}>{answer}</pre>}
      </details>
      {command.statusReason && <p className="muted command-reason">{command.statusReason}</p>}
      {command.lateAnswer != null && <p className="muted command-reason">A late answer came after the final status and changed nothing.</p>}
      {error && (
        <p className="form-error" role="alert">
          {plainMessage(error)}
        </p>
      )}
    </li>
  );
}

function SendCommandForm({ deviceId, onSent }: { deviceId: string; onSent: (command: Command) => void }) {
  const { admin } = useSession();
  const ids = useId();
  const [name, setName] = useState('');
  const [payload, setPayload] = useState('{}');
  const [timeout, setTimeoutSeconds] = useState(String(DEFAULT_TIMEOUT_SECONDS));
  const [touched, setTouched] = useState(false);
  const [{ fetching, error }, send] = useMutation<SendCommandResult>(SEND_COMMAND);
  const [sent, setSent] = useState<string | undefined>();
  if (!admin) return null;

  const nameProblem = COMMAND_NAME_PATTERN.test(name) ? undefined : 'Lower-case letters, digits, _ and -, 1 to 64 characters';
  const checked = checkJson(payload, { maxBytes: MAX_COMMAND_JSON_BYTES });
  const seconds = Number(timeout);
  const timeoutProblem = Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_TIMEOUT_SECONDS ? undefined : `A whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS.toLocaleString()}`;
  const valid = !nameProblem && checked.ok && !timeoutProblem;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTouched(true);
    setSent(undefined);
    if (!valid) return;
    const result = await send({ input: { deviceId, name, payload: JSON.stringify(checked.value), timeoutSeconds: seconds } });
    if (result.data) {
      onSent(result.data.sendCommand);
      setSent(`Sent ${result.data.sendCommand.name}. Its status below changes as the device answers.`);
    }
  }

  return (
    <form className="form command-form" onSubmit={(e) => void submit(e)} noValidate aria-label="Send a command">
      <div className="command-fields">
        <div className="field">
          <label htmlFor={`${ids}-name-input`}>Command name</label>
          <input id={`${ids}-name-input`} value={name} maxLength={64} onChange={(e) => setName(e.target.value)} placeholder="reboot" aria-invalid={touched && Boolean(nameProblem)} aria-describedby={`${ids}-name`} autoComplete="off" />
          <small id={`${ids}-name`} className={touched && nameProblem ? 'field-error' : 'help'}>
            {touched && nameProblem ? nameProblem : 'For example reboot or set-mode'}
          </small>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-timeout-input`}>Timeout (seconds)</label>
          <input id={`${ids}-timeout-input`} type="number" min={1} max={MAX_TIMEOUT_SECONDS} inputMode="numeric" value={timeout} onChange={(e) => setTimeoutSeconds(e.target.value)} aria-invalid={Boolean(timeoutProblem)} aria-describedby={`${ids}-timeout`} />
          <small id={`${ids}-timeout`} className={timeoutProblem ? 'field-error' : 'help'}>
            {timeoutProblem ?? 'How long the device has to answer once it got the command'}
          </small>
        </div>
      </div>
      <div className="field">
        <label htmlFor={`${ids}-payload-input`}>Payload (JSON)</label>
        <textarea id={`${ids}-payload-input`} className="json-input" rows={4} spellCheck={false} value={payload} onChange={(e) => setPayload(e.target.value)} aria-invalid={!checked.ok} aria-describedby={`${ids}-payload`} />
        <small id={`${ids}-payload`} className={checked.ok ? 'help' : 'field-error'} role={checked.ok ? undefined : 'alert'}>
          {checked.ok ? `${formatBytes(checked.bytes)} of ${formatBytes(MAX_COMMAND_JSON_BYTES)}` : checked.message}
        </small>
      </div>
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={fetching || !checked.ok || (touched && !valid)}>
          Send command
        </button>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {plainMessage(error)}
        </p>
      )}
      {sent && !error && (
        <p className="notice" role="status">
          {sent}
        </p>
      )}
    </form>
  );
}
