import { useEffect, useId, useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { MAX_TWIN_DOCUMENT_BYTES } from '../../../src/contracts/device-control-limits';
import { errorTypeOf, plainMessage } from '../api/errors';
import { TWIN_QUERY, UPDATE_DESIRED_STATE, type Twin, type TwinResult, type UpdateDesiredStateResult } from '../api/twin-documents';
import { checkJson, formatBytes, fromAwsJson, prettyJson } from '../components/json-text';
import { firstNullPath, isJsonObject, mergePatchBetween, type JsonObject } from '../components/merge-patch';
import { ErrorState, LoadingState } from '../components/states';
import { useSession } from '../session-context';

function parsed(awsJson: unknown): JsonObject {
  const value = fromAwsJson(awsJson);
  return isJsonObject(value) ? value : {};
}

/**
 * The device twin: reported state and the delta (desired keys the device has not matched yet)
 * beside the desired document, which admins edit as JSON. A save sends the difference as a
 * merge patch with the version the editor was loaded at, so someone else's change meanwhile is
 * never silently overwritten. `twinVersion` comes from the device's live updates: when it moves
 * past what is shown, the twin is read again.
 */
export function DeviceTwin({ deviceId, twinVersion }: { deviceId: string; twinVersion: number | null | undefined }) {
  const [{ data, error, fetching }, refetch] = useQuery<TwinResult>({ query: TWIN_QUERY, variables: { id: deviceId }, requestPolicy: 'cache-and-network' });
  const [saved, setSaved] = useState<Twin | undefined>();
  const queried = data?.device?.twin ?? undefined;
  const twin = saved && (!queried || saved.version >= queried.version) ? saved : queried;
  const shown = twin?.version ?? 0;

  useEffect(() => {
    if (typeof twinVersion === 'number' && twinVersion > shown && !fetching) refetch({ requestPolicy: 'network-only' });
  }, [twinVersion, shown, fetching, refetch]);
  useEffect(() => setSaved(undefined), [deviceId]);

  return (
    <section className="card" aria-labelledby="twin">
      <div className="section-head">
        <h2 id="twin">Twin</h2>
        {twin && (
          <span className="muted" data-testid="twin-version">
            version {twin.version}
          </span>
        )}
      </div>
      {error && !twin && <ErrorState message={plainMessage(error)} onRetry={() => refetch({ requestPolicy: 'network-only' })} />}
      {!error && !twin && <LoadingState label="Loading the twin" rows={3} />}
      {twin && (
        <div className="twin">
          <DesiredState deviceId={deviceId} twin={twin} onSaved={setSaved} onReload={() => refetch({ requestPolicy: 'network-only' })} />
          <div className="twin-column">
            <h3 className="subhead">Reported</h3>
            <pre className="json" data-testid="twin-reported" aria-label="Reported state">
              {prettyJson(twin.reported)}
            </pre>
          </div>
          <div className="twin-column">
            <h3 className="subhead">Delta</h3>
            {Object.keys(parsed(twin.delta)).length === 0 ? (
              <p className="muted" data-testid="twin-delta-empty">
                None: the device reports every desired value.
              </p>
            ) : (
              <pre className="json json-delta" data-testid="twin-delta" aria-label="Delta: desired values the device has not reported yet">
                {prettyJson(twin.delta)}
              </pre>
            )}
          </div>
        </div>
      )}
    </section>
  );
}

function DesiredState({ deviceId, twin, onSaved, onReload }: { deviceId: string; twin: Twin; onSaved: (twin: Twin) => void; onReload: () => void }) {
  const { admin } = useSession();
  const client = useClient();
  const ids = useId();
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(() => prettyJson(twin.desired));
  // The version and document the draft was started from: the base of both the patch and the check.
  const [base, setBase] = useState({ version: twin.version, desired: twin.desired });
  const [conflict, setConflict] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>();
  const [{ fetching }, update] = useMutation<UpdateDesiredStateResult>(UPDATE_DESIRED_STATE);

  useEffect(() => {
    if (!editing) {
      setText(prettyJson(twin.desired));
      setBase({ version: twin.version, desired: twin.desired });
    }
  }, [twin, editing]);

  if (!admin || !editing) {
    return (
      <div className="twin-column">
        <div className="section-head">
          <h3 className="subhead">Desired</h3>
          {admin && (
            <button type="button" className="button button-small" onClick={() => (setEditing(true), setMessage(undefined))}>
              Edit desired state
            </button>
          )}
        </div>
        <pre className="json" data-testid="twin-desired" aria-label="Desired state">
          {prettyJson(twin.desired)}
        </pre>
        {message && (
          <p className={message.kind === 'ok' ? 'notice' : 'form-error'} role="status">
            {message.text}
          </p>
        )}
      </div>
    );
  }

  const checked = checkJson(text, { maxBytes: MAX_TWIN_DOCUMENT_BYTES, object: true });
  const nullAt = checked.ok ? firstNullPath(checked.value) : undefined;
  const problem = !checked.ok ? checked.message : nullAt ? `${nullAt} is null: leave the key out to remove it` : undefined;

  async function save(from: { version: number; desired: unknown }) {
    if (!checked.ok || problem) return;
    setMessage(undefined);
    const patch = mergePatchBetween(parsed(from.desired), checked.value as JsonObject);
    const result = await update({ deviceId, patch: JSON.stringify(patch), expectedVersion: from.version });
    if (result.error) {
      if (errorTypeOf(result.error) === 'Conflict') setConflict(true);
      else setMessage({ kind: 'error', text: plainMessage(result.error) });
      return;
    }
    setConflict(false);
    setEditing(false);
    if (result.data) onSaved(result.data.updateDesiredState);
    setMessage({ kind: 'ok', text: `Saved (twin version ${result.data?.updateDesiredState.version}). The device gets the delta.` });
  }

  async function overwrite() {
    // The patch is computed against the desired state that is there now, so the saved document
    // is exactly the one in the editor, and a third change in between is still caught.
    const latest = await client.query<TwinResult>(TWIN_QUERY, { id: deviceId }, { requestPolicy: 'network-only' }).toPromise();
    const now = latest.data?.device?.twin;
    if (!now) {
      setMessage({ kind: 'error', text: latest.error ? plainMessage(latest.error) : 'The device no longer exists.' });
      return;
    }
    setBase({ version: now.version, desired: now.desired });
    await save({ version: now.version, desired: now.desired });
  }

  return (
    <form
      className="twin-column form"
      aria-label="Desired state"
      onSubmit={(event) => {
        event.preventDefault();
        void save(base);
      }}
    >
      <h3 className="subhead">Desired</h3>
      <div className="field">
        <label htmlFor={`${ids}-desired-input`}>Desired state (JSON object)</label>
        <textarea id={`${ids}-desired-input`} className="json-input" rows={10} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} aria-invalid={Boolean(problem)} aria-describedby={`${ids}-desired`} />
        <small id={`${ids}-desired`} className={problem ? 'field-error' : 'help'} role={problem ? 'alert' : undefined}>
          {problem ?? `${formatBytes(checked.ok ? checked.bytes : 0)} of ${formatBytes(MAX_TWIN_DOCUMENT_BYTES)}; edited from version ${base.version}`}
        </small>
      </div>
      {conflict ? (
        <div className="conflict" role="alert">
          <p>
            <strong>Changed by someone else</strong> since you started editing (version {base.version}). Reload to see their desired state (your edits are lost), or overwrite it with yours.
          </p>
          <div className="actions">
            <button
              type="button"
              className="button"
              onClick={() => {
                setConflict(false);
                setEditing(false);
                onReload();
              }}
            >
              Reload
            </button>
            <button type="button" className="button button-danger" disabled={fetching} onClick={() => void overwrite()}>
              Overwrite
            </button>
          </div>
        </div>
      ) : (
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={fetching || Boolean(problem)}>
            Save desired state
          </button>
          <button type="button" className="button" onClick={() => (setEditing(false), setConflict(false))}>
            Cancel
          </button>
        </div>
      )}
      {message && (
        <p className="form-error" role="alert">
          {message.text}
        </p>
      )}
    </form>
  );
}
