// tsrunc as a library: `import { Runtime } from 'tsrunc'`.
export { Runtime } from './api/runtime';
export type { RuntimeOptions, CreateParams, RunParams, ExecParams, ContainerState, ContainerStatus } from './api/runtime';
export {
  UserError,
  ConfigError,
  ContainerNotFoundError,
  ContainerExistsError,
  ContainerStateError,
  ContainerBusyError,
  SysError,
} from './sys/errors';
export { Logger } from './util/log';
export type { Spec, Process, Resources } from './ocispec/oci';
