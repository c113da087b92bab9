// The Pillion sidecar container as `pillion inject` adds it to a pod, kept in this one place so
// the manifests shipped in deploy/ can be checked against the same shape. Typed with
// kubernetes-types, so a field Kubernetes does not know fails the type check.
import type { Container, Volume } from 'kubernetes-types/core/v1.js';

export const SIDECAR_NAME = 'pillion';
/** Pillion's HTTPS port in the pod (ingress.listen's default). */
export const HTTPS_PORT = 8443;
/** The probe listener: /healthz, /readyz and /metrics only. */
export const PROBE_PORT = 14020;
export const STATE_DIR = '/var/lib/pillion';
export const CONFIG_DIR = '/etc/pillion';
export const CONFIG_FILE = `${CONFIG_DIR}/pillion.yaml`;
export const STATE_VOLUME = 'pillion-state';
export const CONFIG_VOLUME = 'pillion-config';

export interface SidecarOptions {
  image: string;
  /** The app's plain HTTP port on localhost, which Pillion proxies to (attach mode). */
  appPort: number;
  /** The ConfigMap holding `pillion.yaml`. */
  configMap: string;
  /** Native sidecar (an init container with restartPolicy Always, Kubernetes >= 1.29). */
  native: boolean;
}

/** The sidecar container: Pillion attached to the app on localhost, serving HTTPS on 8443. */
export function pillionContainer(o: SidecarOptions): Container {
  const probe = (path: string) => ({ httpGet: { path, port: 'pillion-probes' } });
  return {
    name: SIDECAR_NAME,
    image: o.image,
    // Native form: started before the app containers and stopped after them; a Job completes.
    ...(o.native ? { restartPolicy: 'Always' } : {}),
    args: [
      'run',
      '--config',
      CONFIG_FILE,
      '--app-port',
      String(o.appPort),
      '--probes',
      `0.0.0.0:${PROBE_PORT}`,
    ],
    env: [{ name: 'PILLION_STATE_DIR', value: STATE_DIR }],
    ports: [
      { name: 'https', containerPort: HTTPS_PORT, protocol: 'TCP' },
      { name: 'pillion-probes', containerPort: PROBE_PORT, protocol: 'TCP' },
    ],
    // Up to 30 s to start; then ready while it serves, restarted if it stops answering.
    startupProbe: { ...probe('/healthz'), periodSeconds: 1, failureThreshold: 30 },
    readinessProbe: { ...probe('/readyz'), periodSeconds: 5 },
    livenessProbe: { ...probe('/healthz'), periodSeconds: 10, failureThreshold: 3 },
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
    resources: {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '1', memory: '256Mi' },
    },
    volumeMounts: [
      { name: STATE_VOLUME, mountPath: STATE_DIR },
      { name: CONFIG_VOLUME, mountPath: CONFIG_DIR, readOnly: true },
    ],
  };
}

/** The pod volumes the sidecar mounts: its state directory and the config ConfigMap. */
export function pillionVolumes(o: Pick<SidecarOptions, 'configMap'>): Volume[] {
  return [
    { name: STATE_VOLUME, emptyDir: {} },
    { name: CONFIG_VOLUME, configMap: { name: o.configMap } },
  ];
}
