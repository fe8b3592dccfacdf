import { useState, type FormEvent } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { Link } from 'wouter';
import type { AlarmConditionKind, AlarmRuleInput, AlarmSeverity, AlarmTargetKind, ComparisonOperator } from '../../../src/generated/graphql/types';
import { ALARM_RULES_QUERY, CREATE_ALARM_RULE, DELETE_ALARM_RULE, UPDATE_ALARM_RULE, type AlarmRule, type AlarmRulesResult } from '../api/alarm-documents';
import { errorTypeOf, plainMessage } from '../api/errors';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { useSession } from '../session-context';
import { SEVERITIES } from './alarms-page';

const OPERATORS: ReadonlyArray<[ComparisonOperator, string]> = [
  ['GT', '>'],
  ['GE', '≥'],
  ['LT', '<'],
  ['LE', '≤'],
  ['EQ', '='],
  ['NE', '≠'],
];

/** The form's fields as typed: text, so a half-typed number is not lost. */
interface Draft {
  name: string;
  description: string;
  severity: AlarmSeverity;
  targetKind: AlarmTargetKind;
  deviceId: string;
  deviceType: string;
  conditionKind: AlarmConditionKind;
  metric: string;
  operator: ComparisonOperator;
  threshold: string;
  clearThreshold: string;
  forSeconds: string;
  consecutive: string;
  seconds: string;
  latch: boolean;
  ackRequired: boolean;
  notify: boolean;
}

const EMPTY: Draft = {
  name: '',
  description: '',
  severity: 'MEDIUM',
  targetKind: 'ALL',
  deviceId: '',
  deviceType: '',
  conditionKind: 'THRESHOLD',
  metric: '',
  operator: 'GT',
  threshold: '',
  clearThreshold: '',
  forSeconds: '',
  consecutive: '',
  seconds: '',
  latch: false,
  ackRequired: true,
  notify: true,
};

const text = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n));

function draftOf(rule: AlarmRule): Draft {
  const c = rule.condition;
  return {
    name: rule.name,
    description: rule.description,
    severity: rule.severity,
    targetKind: rule.target.kind,
    deviceId: rule.target.deviceId ?? '',
    deviceType: rule.target.deviceType ?? '',
    conditionKind: c.kind,
    metric: c.metric ?? '',
    operator: c.operator ?? 'GT',
    threshold: text(c.threshold),
    clearThreshold: text(c.clearThreshold),
    forSeconds: text(c.forSeconds),
    consecutive: text(c.consecutive),
    seconds: text(c.seconds),
    latch: rule.latch,
    ackRequired: rule.ackRequired,
    notify: rule.notify,
  };
}

/** A number field: absent when empty; anything else goes to the API, which names what is wrong. */
const num = (value: string) => (value.trim() === '' ? undefined : Number(value));

/** The rule input the API takes; the API validates it (the console shows its words). */
export function ruleInputOf(d: Draft): AlarmRuleInput {
  const condition =
    d.conditionKind === 'THRESHOLD'
      ? {
          kind: d.conditionKind,
          metric: d.metric.trim(),
          operator: d.operator,
          threshold: num(d.threshold),
          clearThreshold: num(d.clearThreshold),
          forSeconds: num(d.forSeconds),
          consecutive: num(d.consecutive),
        }
      : { kind: d.conditionKind, seconds: num(d.seconds) };
  const target = d.targetKind === 'DEVICE' ? { kind: d.targetKind, deviceId: d.deviceId.trim() } : d.targetKind === 'DEVICE_TYPE' ? { kind: d.targetKind, deviceType: d.deviceType.trim() } : { kind: d.targetKind };
  const drop = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return {
    name: d.name.trim(),
    description: d.description.trim(),
    severity: d.severity,
    target,
    condition: drop(condition) as AlarmRuleInput['condition'],
    latch: d.latch,
    ackRequired: d.ackRequired,
    notify: d.notify,
  };
}

/** "temperature > 30 for 60 s", "no data for 300 s". */
function conditionWords(rule: AlarmRule): string {
  const c = rule.condition;
  if (c.kind === 'NO_DATA') return `no data for ${c.seconds} s`;
  const op = OPERATORS.find(([o]) => o === c.operator)?.[1] ?? c.operator;
  const during = c.forSeconds ? ` for ${c.forSeconds} s` : c.consecutive ? ` for ${c.consecutive} readings` : '';
  const clear = c.clearThreshold !== null && c.clearThreshold !== undefined ? `, clears beyond ${c.clearThreshold}` : '';
  return `${c.metric} ${op} ${c.threshold}${during}${clear}`;
}

function targetWords(rule: AlarmRule): string {
  if (rule.target.kind === 'DEVICE') return `device ${rule.target.deviceId}`;
  if (rule.target.kind === 'DEVICE_TYPE') return `every ${rule.target.deviceType}`;
  return 'every device';
}

/** Alarm rules: everyone reads them; admins create, edit (with version-conflict handling) and delete. */
export default function AlarmRulesPage() {
  const { admin } = useSession();
  const [{ data, error, fetching }, refetch] = useQuery<AlarmRulesResult>({ query: ALARM_RULES_QUERY, requestPolicy: 'cache-and-network' });
  const [editing, setEditing] = useState<AlarmRule | 'new' | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const rules = data?.alarmRules;
  return (
    <main className="page" id="main">
      <p className="breadcrumb">
        <Link href="/alarms">← Alarms</Link>
      </p>
      <div className="page-head">
        <h1>Alarm rules</h1>
        {admin && !editing && (
          <button type="button" className="button button-primary" onClick={() => (setEditing('new'), setNotice(undefined))}>
            New rule
          </button>
        )}
      </div>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {admin && editing && (
        <RuleForm
          key={editing === 'new' ? 'new' : `${editing.id}@${editing.version}`}
          rule={editing === 'new' ? undefined : editing}
          onDone={(message) => {
            setEditing(undefined);
            setNotice(message);
            reload();
          }}
          onCancel={() => {
            setEditing(undefined);
            reload();
          }}
        />
      )}
      {error && !rules && <ErrorState message={plainMessage(error)} onRetry={reload} />}
      {!error && !rules && fetching && <LoadingState label="Loading alarm rules" rows={3} />}
      {rules && rules.length === 0 && (
        <EmptyState title="No alarm rules yet">
          <p>{admin ? 'Create one: it watches a metric of one device, a device type or the whole fleet.' : 'An admin creates them.'}</p>
        </EmptyState>
      )}
      {rules && rules.length > 0 && (
        <ul className="rules" aria-label="Alarm rules">
          {rules.map((rule) => (
            <RuleRow
              key={rule.id}
              rule={rule}
              onEdit={() => (setEditing(rule), setNotice(undefined))}
              onDeleted={() => {
                setNotice(`Deleted ${rule.name}; its alarms are gone, their history stays.`);
                reload();
              }}
            />
          ))}
        </ul>
      )}
    </main>
  );
}

function RuleRow({ rule, onEdit, onDeleted }: { rule: AlarmRule; onEdit: () => void; onDeleted: () => void }) {
  const { admin } = useSession();
  const [confirming, setConfirming] = useState(false);
  const [{ fetching, error }, remove] = useMutation(DELETE_ALARM_RULE);
  return (
    <li className="rule card" data-rule-id={rule.id}>
      <div className="alarm-head">
        <span className={`severity severity-${rule.severity.toLowerCase()}`}>{rule.severity.toLowerCase()}</span>
        <strong>{rule.name}</strong>
        <span className="muted">version {rule.version}</span>
      </div>
      <p className="alarm-reason">
        {conditionWords(rule)} · {targetWords(rule)}
        {rule.latch && ' · latches'}
        {!rule.ackRequired && ' · no acknowledgement'}
        {!rule.notify && ' · no notifications'}
      </p>
      {rule.description && <p className="muted alarm-reason">{rule.description}</p>}
      {admin && (
        <div className="actions">
          <button type="button" className="button button-small" onClick={onEdit}>
            Edit {rule.name}
          </button>
          {confirming ? (
            <>
              <button
                type="button"
                className="button button-small button-danger"
                disabled={fetching}
                onClick={async () => {
                  const result = await remove({ id: rule.id });
                  if (!result.error) onDeleted();
                }}
              >
                Yes, delete {rule.name}
              </button>
              <button type="button" className="button button-small" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </>
          ) : (
            <button type="button" className="button button-small button-danger" onClick={() => setConfirming(true)}>
              Delete {rule.name}…
            </button>
          )}
        </div>
      )}
      {error && (
        <p className="form-error" role="alert">
          {plainMessage(error)}
        </p>
      )}
    </li>
  );
}

function RuleForm({ rule, onDone, onCancel }: { rule: AlarmRule | undefined; onDone: (message: string) => void; onCancel: () => void }) {
  const client = useClient();
  const [draft, setDraft] = useState<Draft>(() => (rule ? draftOf(rule) : EMPTY));
  const [base, setBase] = useState(rule?.version);
  const [conflict, setConflict] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const [created, create] = useMutation(CREATE_ALARM_RULE);
  const [updated, update] = useMutation(UPDATE_ALARM_RULE);
  const busy = created.fetching || updated.fetching;
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  async function save(expectedVersion: number | undefined) {
    setProblem(undefined);
    const input = ruleInputOf(draft);
    const result = rule ? await update({ id: rule.id, input, expectedVersion }) : await create({ input });
    if (result.error) {
      if (rule && errorTypeOf(result.error) === 'Conflict') setConflict(true);
      else setProblem(plainMessage(result.error));
      return;
    }
    onDone(rule ? `Saved ${input.name} as version ${(result.data as { updateAlarmRule: AlarmRule }).updateAlarmRule.version}.` : `Created ${input.name}.`);
  }

  async function overwrite() {
    const latest = await client.query<AlarmRulesResult>(ALARM_RULES_QUERY, {}, { requestPolicy: 'network-only' }).toPromise();
    const now = latest.data?.alarmRules.find((r) => r.id === rule?.id);
    if (!now) {
      setProblem(latest.error ? plainMessage(latest.error) : 'The rule no longer exists.');
      return;
    }
    setBase(now.version);
    setConflict(false);
    await save(now.version);
  }

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save(base);
  };

  return (
    <section className="card" aria-labelledby="rule-form">
      <h2 id="rule-form">{rule ? `Edit ${rule.name}` : 'New alarm rule'}</h2>
      <form className="form" onSubmit={submit}>
        <div className="rule-grid">
          <label className="field">
            <span>Rule name</span>
            <input value={draft.name} onChange={(e) => set({ name: e.target.value })} autoComplete="off" />
          </label>
          <label className="field">
            <span>Severity</span>
            <select value={draft.severity} onChange={(e) => set({ severity: e.target.value as AlarmSeverity })}>
              {SEVERITIES.map((s) => (
                <option key={s} value={s}>
                  {s.toLowerCase()}
                </option>
              ))}
            </select>
          </label>
          <label className="field rule-wide">
            <span>Description</span>
            <input value={draft.description} onChange={(e) => set({ description: e.target.value })} />
          </label>
          <label className="field">
            <span>Applies to</span>
            <select value={draft.targetKind} onChange={(e) => set({ targetKind: e.target.value as AlarmTargetKind })}>
              <option value="ALL">every device</option>
              <option value="DEVICE_TYPE">a device type</option>
              <option value="DEVICE">one device</option>
            </select>
          </label>
          {draft.targetKind === 'DEVICE' && (
            <label className="field">
              <span>Device id</span>
              <input value={draft.deviceId} onChange={(e) => set({ deviceId: e.target.value })} className="mono" />
            </label>
          )}
          {draft.targetKind === 'DEVICE_TYPE' && (
            <label className="field">
              <span>Device type</span>
              <input value={draft.deviceType} onChange={(e) => set({ deviceType: e.target.value })} />
            </label>
          )}
          <label className="field">
            <span>Condition</span>
            <select value={draft.conditionKind} onChange={(e) => set({ conditionKind: e.target.value as AlarmConditionKind })}>
              <option value="THRESHOLD">a metric crosses a threshold</option>
              <option value="NO_DATA">no data for a while</option>
            </select>
          </label>
          {draft.conditionKind === 'THRESHOLD' ? (
            <>
              <label className="field">
                <span>Metric</span>
                <input value={draft.metric} onChange={(e) => set({ metric: e.target.value })} placeholder="temperature" />
              </label>
              <label className="field">
                <span>Operator</span>
                <select value={draft.operator} onChange={(e) => set({ operator: e.target.value as ComparisonOperator })}>
                  {OPERATORS.map(([o, sign]) => (
                    <option key={o} value={o}>
                      {sign}
                    </option>
                  ))}
                </select>
              </label>
              <label className="field">
                <span>Threshold</span>
                <input inputMode="decimal" value={draft.threshold} onChange={(e) => set({ threshold: e.target.value })} />
              </label>
              <label className="field">
                <span>Clears beyond (optional)</span>
                <input inputMode="decimal" value={draft.clearThreshold} onChange={(e) => set({ clearThreshold: e.target.value })} />
              </label>
              <label className="field">
                <span>For seconds (optional)</span>
                <input inputMode="numeric" value={draft.forSeconds} onChange={(e) => set({ forSeconds: e.target.value })} />
              </label>
              <label className="field">
                <span>Or for readings (optional)</span>
                <input inputMode="numeric" value={draft.consecutive} onChange={(e) => set({ consecutive: e.target.value })} />
              </label>
            </>
          ) : (
            <label className="field">
              <span>Seconds without data</span>
              <input inputMode="numeric" value={draft.seconds} onChange={(e) => set({ seconds: e.target.value })} />
            </label>
          )}
        </div>
        <fieldset className="field rule-flags">
          <legend>Behaviour</legend>
          <label className="radio">
            <input type="checkbox" checked={draft.ackRequired} onChange={(e) => set({ ackRequired: e.target.checked })} /> Needs acknowledgement
          </label>
          <label className="radio">
            <input type="checkbox" checked={draft.latch} onChange={(e) => set({ latch: e.target.checked })} /> Latches until acknowledged
          </label>
          <label className="radio">
            <input type="checkbox" checked={draft.notify} onChange={(e) => set({ notify: e.target.checked })} /> Notify (EventBridge and SNS)
          </label>
        </fieldset>
        {problem && (
          <p className="form-error" role="alert">
            {problem}
          </p>
        )}
        {conflict ? (
          <div className="conflict" role="alert">
            <p>
              <strong>Changed by someone else</strong> since you opened it (version {base}). Reload to see their rule (your edits are lost), or overwrite it with yours.
            </p>
            <div className="actions">
              <button type="button" className="button" onClick={onCancel}>
                Reload
              </button>
              <button type="button" className="button button-danger" disabled={busy} onClick={() => void overwrite()}>
                Overwrite
              </button>
            </div>
          </div>
        ) : (
          <div className="actions">
            <button type="submit" className="button button-primary" disabled={busy}>
              {rule ? 'Save rule' : 'Create rule'}
            </button>
            <button type="button" className="button" onClick={onCancel}>
              Cancel
            </button>
          </div>
        )}
      </form>
    </section>
  );
}
