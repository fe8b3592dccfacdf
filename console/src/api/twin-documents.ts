import type { Twin } from '../../../src/generated/graphql/types';

export type { Twin };

const TWIN_FIELDS = 'desired reported delta version updatedAt';

export const TWIN_QUERY = `query DeviceTwin($id: ID!) { device(id: $id) { id twinVersion twin { ${TWIN_FIELDS} } } }`;
export interface TwinResult {
  device: { id: string; twinVersion?: number | null; twin?: Twin | null } | null;
}

export const UPDATE_DESIRED_STATE = `mutation UpdateDesiredState($deviceId: ID!, $patch: AWSJSON!, $expectedVersion: Int) {
  updateDesiredState(deviceId: $deviceId, patch: $patch, expectedVersion: $expectedVersion) { ${TWIN_FIELDS} }
}`;
export interface UpdateDesiredStateResult {
  updateDesiredState: Twin;
}
