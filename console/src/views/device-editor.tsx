import { useEffect, useState, type FormEvent } from 'react';
import { useClient, useMutation } from 'urql';
import type { DeviceStatus, KeyValue } from '../../../src/generated/graphql/types';
import { DEVICE_QUERY, UPDATE_DEVICE, type Device, type DeviceResult, type UpdateDeviceResult } from '../api/documents';
import { errorTypeOf, plainMessage } from '../api/errors';
import { STATUSES } from '../components/status-badge';
import { useSession } from '../session-context';

interface Draft {
  name: string;
  type: string;
  status: DeviceStatus;
  metadata: KeyValue[];
}

function draftOf(device: Device): Draft {
  return { name: device.name, type: device.type, status: device.status, metadata: device.metadata.map((m) => ({ key: m.key, value: m.value })) };
}

/**
 * The registry record: read-only for viewers; for admins a form that saves with the version it
 * was loaded at, so a change made meanwhile by someone else is never silently overwritten.
 */
export function DeviceEditor({ device, onReload, onSaved }: { device: Device; onReload: () => void; onSaved: (device: Device) => void }) {
  const { admin } = useSession();
  const client = useClient();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState<Draft>(() => draftOf(device));
  const [base, setBase] = useState(device.version);
  const [conflict, setConflict] = useState(false);
  const [message, setMessage] = useState<{ kind: 'error' | 'ok'; text: string } | undefined>();
  const [{ fetching }, update] = useMutation<UpdateDeviceResult>(UPDATE_DEVICE);

  useEffect(() => {
    if (!editing) {
      setDraft(draftOf(device));
      setBase(device.version);
    }
  }, [device, editing]);

  if (!admin || !editing) {
    return (
      <section className="card" aria-labelledby="registry">
        <div className="section-head">
          <h2 id="registry">Metadata</h2>
          {admin && (
            <button type="button" className="button" onClick={() => (setEditing(true), setMessage(undefined))}>
              Edit device
            </button>
          )}
        </div>
        {message && (
          <p className={message.kind === 'ok' ? 'notice' : 'form-error'} role="status">
            {message.text}
          </p>
        )}
        {device.metadata.length === 0 ? (
          <p className="muted">No metadata.</p>
        ) : (
          <dl className="metadata">
            {device.metadata.map((m) => (
              <div key={m.key}>
                <dt>{m.key}</dt>
                <dd>{m.value}</dd>
              </div>
            ))}
          </dl>
        )}
      </section>
    );
  }

  async function save(expectedVersion: number) {
    setMessage(undefined);
    const input = {
      id: device.id,
      name: draft.name.trim(),
      type: draft.type.trim(),
      status: draft.status,
      metadata: draft.metadata.filter((m) => m.key.trim() !== '').map((m) => ({ key: m.key.trim(), value: m.value })),
      expectedVersion,
    };
    const result = await update({ input });
    if (result.error) {
      if (errorTypeOf(result.error) === 'Conflict') setConflict(true);
      else setMessage({ kind: 'error', text: plainMessage(result.error) });
      return;
    }
    setConflict(false);
    setEditing(false);
    if (result.data) onSaved(result.data.updateDevice);
    setMessage({ kind: 'ok', text: `Saved (version ${result.data?.updateDevice.version}).` });
  }

  async function overwrite() {
    // Overwrite against the version that is there now, so a third change in between is still caught.
    const latest = await client.query<DeviceResult>(DEVICE_QUERY, { id: device.id }, { requestPolicy: 'network-only' }).toPromise();
    const version = latest.data?.device?.version;
    if (version === undefined) {
      setMessage({ kind: 'error', text: latest.error ? plainMessage(latest.error) : 'The device no longer exists.' });
      return;
    }
    setBase(version);
    await save(version);
  }

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save(base);
  };
  const setMeta = (i: number, patch: Partial<KeyValue>) => setDraft({ ...draft, metadata: draft.metadata.map((m, j) => (j === i ? { ...m, ...patch } : m)) });

  return (
    <section className="card" aria-labelledby="registry">
      <h2 id="registry">Edit device</h2>
      <form className="form" onSubmit={submit}>
        <label className="field">
          <span>Name</span>
          <input required maxLength={128} value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
        </label>
        <label className="field">
          <span>Type</span>
          <input required pattern="[a-z0-9_\-]{1,64}" title="[a-z0-9_-], up to 64 characters" value={draft.type} onChange={(e) => setDraft({ ...draft, type: e.target.value })} />
        </label>
        <label className="field">
          <span>Status</span>
          <select value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value as DeviceStatus })}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <MetadataRows metadata={draft.metadata} onChange={setMeta} onAdd={() => setDraft({ ...draft, metadata: [...draft.metadata, { key: '', value: '' }] })} onRemove={(i) => setDraft({ ...draft, metadata: draft.metadata.filter((_, j) => j !== i) })} />
        {conflict && (
          <div className="conflict" role="alert">
            <p>
              <strong>Changed by someone else</strong> since you started editing. Reload to see their version (your edits are discarded), or overwrite it with yours.
            </p>
            <div className="actions">
              <button type="button" className="button" onClick={() => (setConflict(false), setEditing(false), onReload())}>
                Reload
              </button>
              <button type="button" className="button button-danger" onClick={() => void overwrite()}>
                Overwrite
              </button>
            </div>
          </div>
        )}
        {message && (
          <p className="form-error" role="alert">
            {message.text}
          </p>
        )}
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={fetching}>
            {fetching ? 'Saving…' : 'Save'}
          </button>
          <button type="button" className="button" onClick={() => (setEditing(false), setConflict(false))}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

/** Key/value rows with labelled inputs and add/remove buttons. */
export function MetadataRows({ metadata, onChange, onAdd, onRemove }: { metadata: KeyValue[]; onChange: (i: number, patch: Partial<KeyValue>) => void; onAdd: () => void; onRemove: (i: number) => void }) {
  return (
    <fieldset className="field metadata-rows">
      <legend>Metadata</legend>
      {metadata.map((m, i) => (
        <div className="metadata-row" key={i}>
          <label className="field field-inline">
            <span>Key</span>
            <input maxLength={128} value={m.key} onChange={(e) => onChange(i, { key: e.target.value })} aria-label={`Metadata key ${i + 1}`} />
          </label>
          <label className="field field-inline">
            <span>Value</span>
            <input maxLength={1024} value={m.value} onChange={(e) => onChange(i, { value: e.target.value })} aria-label={`Metadata value ${i + 1}`} />
          </label>
          <button type="button" className="button button-quiet" onClick={() => onRemove(i)} aria-label={`Remove metadata ${m.key || i + 1}`}>
            Remove
          </button>
        </div>
      ))}
      {metadata.length < 50 && (
        <button type="button" className="button button-quiet" onClick={onAdd}>
          Add metadata
        </button>
      )}
    </fieldset>
  );
}
