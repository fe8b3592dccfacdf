/** Where the rotation sweep finds the rotations whose grace period has ended. */
export interface DueRotationSource {
  /**
   * The ids of the devices whose pending rotation's grace ended at or before `now`, a page at a
   * time, earliest grace end first. Eventually consistent: an id may belong to a rotation that
   * was finished, revoked or begun again meanwhile, so whoever finishes it re-checks the binding.
   */
  pages(now: Date, pageSize: number): AsyncIterable<readonly string[]>;
}
