// docker/k8s/ikelab-load.yaml, schema-checked (no cluster and no network here, so no kubeconform): a strict model of
// the subset of v1 ConfigMap, v1 Secret and batch/v1 Job the manifest uses (an unknown or misspelt key fails; enums
// where Kubernetes has them), then cross-checks: every reference resolves, the pods run as non-root with no
// capability on a read-only root, the ConfigMap carries the docker `load` lab's load.sh and config template byte for
// byte (so CI's lab runs what the pods run), and the config, rendered the way load.sh renders it, is accepted by
// ikelab's own loader.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { parseConfig } from '../../src/config/load.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MANIFEST = join(ROOT, 'docker/k8s/ikelab-load.yaml');
const LAB = join(ROOT, 'docker/labs/load');

// ---- the schema: what Kubernetes accepts for the fields used here --------------------------------------------------

const dns1123Label = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a DNS-1123 label');
const dns1123Subdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'a DNS-1123 subdomain');
const labelKey = z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'a label key');
const labelValue = z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, 'a label value');
const labels = z.record(labelKey, labelValue);
/** resource.Quantity as written in manifests: 250m, 1, 0.5, 128Mi, 1G */
const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/, 'a quantity (250m, 128Mi)');
const configKey = z.string().regex(/^[-._a-zA-Z0-9]+$/, 'a ConfigMap/Secret key');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
const int32 = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

const objectMeta = z.strictObject({ name: dns1123Subdomain, namespace: dns1123Label.optional(), labels: labels.optional() });
const keyRef = z.strictObject({ name: dns1123Subdomain, key: configKey, optional: z.boolean().optional() });

const configMap = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('ConfigMap'),
  metadata: objectMeta,
  data: z.record(configKey, z.string()),
});
const secret = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Secret'),
  metadata: objectMeta,
  type: z.enum(['Opaque']),
  stringData: z.record(configKey, z.string()),
});

const envVar = z.strictObject({
  name: envName,
  value: z.string().optional(),
  valueFrom: z
    .strictObject({ configMapKeyRef: keyRef.optional(), secretKeyRef: keyRef.optional() })
    .refine((v) => (v.configMapKeyRef ? 1 : 0) + (v.secretKeyRef ? 1 : 0) === 1, 'exactly one source')
    .optional(),
});
const capability = z.string().regex(/^[A-Z_]+$/, 'a capability name (ALL, NET_ADMIN)');
const container = z.strictObject({
  name: dns1123Label,
  image: z.string().min(1),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
  command: z.array(z.string()).min(1),
  args: z.array(z.string()).optional(),
  env: z.array(envVar),
  securityContext: z.strictObject({
    allowPrivilegeEscalation: z.boolean(),
    readOnlyRootFilesystem: z.boolean(),
    runAsNonRoot: z.boolean().optional(),
    capabilities: z.strictObject({ drop: z.array(capability), add: z.array(capability).optional() }),
  }),
  resources: z.strictObject({
    requests: z.strictObject({ cpu: quantity, memory: quantity }),
    limits: z.strictObject({ cpu: quantity.optional(), memory: quantity }),
  }),
  volumeMounts: z.array(
    z.strictObject({
      name: dns1123Label,
      mountPath: z.string().startsWith('/'),
      readOnly: z.boolean().optional(),
      subPath: z.string().optional(),
    }),
  ),
});
const volume = z.strictObject({
  name: dns1123Label,
  configMap: z
    .strictObject({
      name: dns1123Subdomain,
      items: z.array(z.strictObject({ key: configKey, path: z.string().min(1) })).optional(),
      defaultMode: int32.max(0o777).optional(),
    })
    .optional(),
  emptyDir: z.strictObject({ medium: z.enum(['', 'Memory']).optional(), sizeLimit: quantity.optional() }).optional(),
});
const podSpec = z.strictObject({
  // a Job's pods may not use Always
  restartPolicy: z.enum(['Never', 'OnFailure']),
  automountServiceAccountToken: z.boolean().optional(),
  securityContext: z.strictObject({
    runAsNonRoot: z.boolean(),
    runAsUser: int32,
    runAsGroup: int32,
    fsGroup: int32.optional(),
    seccompProfile: z.strictObject({ type: z.enum(['RuntimeDefault', 'Localhost', 'Unconfined']) }),
    sysctls: z.array(z.strictObject({ name: z.string(), value: z.string() })).optional(),
  }),
  containers: z.array(container).min(1),
  volumes: z.array(volume),
});
const job = z.strictObject({
  apiVersion: z.literal('batch/v1'),
  kind: z.literal('Job'),
  metadata: objectMeta,
  spec: z.strictObject({
    completions: int32.min(1),
    parallelism: int32.min(1),
    completionMode: z.enum(['NonIndexed', 'Indexed']).optional(),
    backoffLimit: int32,
    activeDeadlineSeconds: int32.min(1).optional(),
    ttlSecondsAfterFinished: int32.optional(),
    template: z.strictObject({ metadata: z.strictObject({ labels }), spec: podSpec }),
  }),
});
const manifestDoc = z.discriminatedUnion('kind', [configMap, secret, job]);
type Doc = z.infer<typeof manifestDoc>;
type JobDoc = z.infer<typeof job>;

/** Kubernetes' safe sysctls (allowed without the kubelet's --allowed-unsafe-sysctls), as of 1.29. */
const SAFE_SYSCTLS = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
];

// ---- the checks ------------------------------------------------------------------------------------------------

/** Parses and schema-checks a manifest's text; the problems as `doc N (Kind): path: message`. */
function check(text: string): { docs: Doc[]; problems: string[] } {
  const problems: string[] = [];
  const docs: Doc[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    if ('errors' in d && d.errors.length) {
      problems.push(`doc ${i + 1}: YAML: ${d.errors[0]!.message}`);
      return;
    }
    const value = d.toJS() as { kind?: string } | null;
    if (value === null) return;
    const r = manifestDoc.safeParse(value);
    if (r.success) docs.push(r.data);
    else for (const issue of r.error.issues) problems.push(`doc ${i + 1} (${value.kind}): ${issue.path.join('.')}: ${issue.message}`);
  });
  return { docs, problems };
}

/** What must hold between the documents and for the pods' privileges. */
function crossCheck(docs: Doc[]): string[] {
  const problems: string[] = [];
  const configMaps = new Map(docs.flatMap((d) => (d.kind === 'ConfigMap' ? [[d.metadata.name, d.data] as const] : [])));
  const secrets = new Map(docs.flatMap((d) => (d.kind === 'Secret' ? [[d.metadata.name, d.stringData] as const] : [])));
  const jobs = docs.filter((d): d is JobDoc => d.kind === 'Job');
  if (jobs.length !== 1) problems.push(`expected one Job, found ${jobs.length}`);
  for (const j of jobs) {
    const where = `Job ${j.metadata.name}`;
    const pod = j.spec.template.spec;
    if (j.spec.completions !== j.spec.parallelism) problems.push(`${where}: completions != parallelism (each pod is one run, all at once)`);
    if (!pod.securityContext.runAsNonRoot || pod.securityContext.runAsUser === 0) problems.push(`${where}: pods must run as non-root`);
    for (const s of pod.securityContext.sysctls ?? [])
      if (!SAFE_SYSCTLS.includes(s.name)) problems.push(`${where}: sysctl ${s.name} is not a safe sysctl`);
    const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
    for (const v of pod.volumes) {
      if (!v.configMap === !v.emptyDir) problems.push(`${where}: volume ${v.name}: exactly one of configMap, emptyDir`);
      if (v.configMap) {
        const data = configMaps.get(v.configMap.name);
        if (!data) problems.push(`${where}: volume ${v.name}: no ConfigMap ${v.configMap.name}`);
        for (const it of v.configMap.items ?? [])
          if (data && !(it.key in data)) problems.push(`${where}: volume ${v.name}: ConfigMap has no key ${it.key}`);
      }
    }
    const mounted = new Set<string>();
    for (const c of pod.containers) {
      const at = `${where}: container ${c.name}`;
      const sc = c.securityContext;
      if (!sc.readOnlyRootFilesystem) problems.push(`${at}: root file system not read-only`);
      if (sc.allowPrivilegeEscalation) problems.push(`${at}: privilege escalation allowed`);
      if (!sc.capabilities.drop.includes('ALL') || sc.capabilities.add?.length) problems.push(`${at}: capabilities not all dropped`);
      for (const m of c.volumeMounts) {
        mounted.add(m.name);
        if (!volumes.has(m.name)) problems.push(`${at}: mounts unknown volume ${m.name}`);
      }
      for (const e of c.env) {
        const cm = e.valueFrom?.configMapKeyRef;
        const sk = e.valueFrom?.secretKeyRef;
        if (cm && !(cm.key in (configMaps.get(cm.name) ?? {})))
          problems.push(`${at}: env ${e.name}: no ConfigMap key ${cm.name}/${cm.key}`);
        if (sk && !(sk.key in (secrets.get(sk.name) ?? {}))) problems.push(`${at}: env ${e.name}: no Secret key ${sk.name}/${sk.key}`);
        if (e.value === undefined && !e.valueFrom) problems.push(`${at}: env ${e.name}: no value`);
      }
    }
    for (const v of pod.volumes) if (!mounted.has(v.name)) problems.push(`${where}: volume ${v.name} is never mounted`);
  }
  return problems;
}

const text = readFileSync(MANIFEST, 'utf8');
const parsed = check(text);
const jobDoc = () => parsed.docs.find((d): d is JobDoc => d.kind === 'Job')!;
const configData = () => parsed.docs.find((d) => d.kind === 'ConfigMap')!.data as Record<string, string>;
/** A copy of the manifest's text with one change, for the tests that prove a check can fail. */
const edited = (from: string, to: string) => {
  expect(text).toContain(from);
  return text.replace(from, to);
};

describe('docker/k8s/ikelab-load.yaml', () => {
  test('every document matches the schema of its kind (ConfigMap, Secret, Job)', () => {
    expect(parsed.problems).toEqual([]);
    expect(parsed.docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Job', 'Secret']);
  });

  test('cross-checks: references resolve, non-root, no capability, read-only root, one run per pod', () => {
    expect(crossCheck(parsed.docs)).toEqual([]);
    const pod = jobDoc().spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(pod.containers[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  test('what load.sh needs: its environment set, its writable paths mounted', () => {
    const c = jobDoc().spec.template.spec.containers[0]!;
    const script = configData()['load.sh']!;
    const required = [...script.matchAll(/^: "\$\{([A-Z_]+):\?/gm)].map((m) => m[1]);
    expect(required).toEqual(['IKELAB_HEADEND', 'IKELAB_PSK']);
    const env = c.env.map((e) => e.name);
    for (const name of required) expect(env).toContain(name);
    expect(c.command).toEqual(['sh', '/etc/ikelab/load.sh']);
    // a read-only root: the rendered config and summary go to /tmp, the control socket to /run/ikelab
    const mounts = c.volumeMounts.map((m) => m.mountPath);
    expect(mounts).toEqual(expect.arrayContaining(['/etc/ikelab', '/tmp', '/run/ikelab']));
    expect(script).toContain('config=/tmp/load-config.yaml');
    expect(configData()['ikelab.yaml']).toMatch(/control_socket: \/run\/ikelab\//);
  });

  test("the ConfigMap carries the docker load lab's load.sh and config template byte for byte", () => {
    expect(configData()['load.sh']).toBe(readFileSync(join(LAB, 'load.sh'), 'utf8'));
    expect(configData()['ikelab.yaml']).toBe(readFileSync(join(LAB, 'ikelab.yaml'), 'utf8'));
  });

  test("ikelab's loader accepts the config, as written and rendered by load.sh's own code", () => {
    const template = configData()['ikelab.yaml']!;
    expect(parseConfig(template, 'ikelab.yaml').connections.map((c) => c.name)).toEqual(['load']);
    // the render step of load.sh, run as it is, with an awkward key (YAML syntax characters and quotes)
    const render = /node -e '([^']+)' "\$template" "\$config"/.exec(configData()['load.sh']!)?.[1];
    expect(render).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'ikelab-k8s-'));
    try {
      const out = join(dir, 'ikelab.yaml');
      const psk = 'k: "e#y\' & \\ 1';
      execFileSync(process.execPath, ['-e', render!, join(LAB, 'ikelab.yaml'), out], {
        env: { ...process.env, HEADEND: '192.0.2.44', IKELAB_PSK: psk },
      });
      const cfg = parseConfig(readFileSync(out, 'utf8'), out);
      expect(cfg.connections[0]!.remoteAddrs).toEqual(['192.0.2.44']);
      expect(cfg.secrets.find((s) => s.name === 'ike-load')!.secret.toString()).toBe(psk);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the checks can fail: a misspelt key, an enum value Kubernetes refuses, a dangling reference, a capability', () => {
    expect(check(edited('restartPolicy: Never', 'restartpolicy: Never')).problems.join('\n')).toMatch(
      /doc 3 \(Job\): spec\.template\.spec: Unrecognized key: "restartpolicy"/,
    );
    expect(check(edited('restartPolicy: Never', 'restartPolicy: Always')).problems.join('\n')).toMatch(/restartPolicy: Invalid option/);
    expect(check(edited('imagePullPolicy: IfNotPresent', 'imagePullPolicy: Sometimes')).problems).toHaveLength(1);
    expect(check(edited('cpu: 250m', 'cpu: 250 millicores')).problems.join('\n')).toMatch(/requests\.cpu: a quantity/);
    const dangling = check(edited('key: timeout }', 'key: time-out }'));
    expect(dangling.problems).toEqual([]);
    expect(crossCheck(dangling.docs)).toEqual([
      'Job ikelab-load: container ikelab: env IKELAB_LOAD_TIMEOUT: no ConfigMap key ikelab-load/time-out',
    ]);
    const privileged = check(edited('drop: ["ALL"]', 'drop: ["ALL"]\n              add: ["NET_ADMIN"]'));
    expect(crossCheck(privileged.docs)).toEqual(['Job ikelab-load: container ikelab: capabilities not all dropped']);
    const writable = check(edited('readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'));
    expect(crossCheck(writable.docs)).toEqual(['Job ikelab-load: container ikelab: root file system not read-only']);
  });
});
