/**
 * Retires the credentials of a deleted device: its certificate can never connect again and
 * nothing stays attached to it. Called by the change feed on DELETED, at least once per
 * deletion, so every implementation is idempotent.
 */
export interface CredentialRetirer {
  /** Retires `certificateId`, bound to the thing `thingName` (the device id). */
  retire(thingName: string, certificateId: string): Promise<void>;
}
