import type { StoredState } from '../state/store';

/** The state document hooks receive on stdin (runtime-spec "State"). */
export function hookState(st: StoredState): Record<string, unknown> {
  return {
    ociVersion: st.ociVersion,
    id: st.id,
    status: 'creating',
    pid: st.pid ?? 0,
    bundle: st.bundle,
    annotations: st.annotations,
  };
}
