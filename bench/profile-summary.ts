// Summarises a V8 `.cpuprofile` (the bench's measured phases, or `node --cpu-prof`): where the self time went, by
// phase of a request, by package and by function.
//
// `npx tsx bench/profile-summary.ts FILE.cpuprofile [top]` prints it; bench/run.ts calls it after a profiled run.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Time the process was idle, waiting on I/O. */
  idleMs: number;
  topFunctions: SelfTime[];
  byArea: SelfTime[];
  /** By phase of a request's work (phaseOf), every phase listed. */
  byPhase: SelfTime[];
}

/**
 * The phases a request's CPU is told apart by, so the hub and the reference hub can be compared phase by phase.
 * Native frames without a script (`writev`, `(program)`) are the HTTP edge's socket work or V8's own.
 */
export const PHASES = [
  'HTTP edge (sockets, body, JSON out)',
  'GraphQL (parse, validate, execute)',
  'auth, limits, policies',
  'observability (logs, metrics, traces, explain)',
  'resolvers and loaders',
  'link store and cache',
  'upstream HTTP (undici, client)',
  'mapping (transforms, phones, dates)',
  'garbage collection',
  'module loading',
  'profiler (the measurement itself)',
  'other',
] as const;
export type Phase = (typeof PHASES)[number];

const PHASE_RULES: [RegExp, Phase][] = [
  [/\/node_modules\/(graphql|@apollo\/server\/dist\/esm\/(requestPipeline|utils|ApolloServer|externalTypes|plugin|cachePolicy|determineApolloConfig)|@graphql-tools|graphql-scalars)[/.]/, 'GraphQL (parse, validate, execute)'],
  [/\/node_modules\/(@apollo\/server|express|body-parser|raw-body|negotiator|cors|content-type|iconv-lite)\//, 'HTTP edge (sockets, body, JSON out)'],
  [/\/node_modules\/(pino|sonic-boom|prom-client|@opentelemetry|thread-stream|fast-redact|quick-format-unescaped)\//, 'observability (logs, metrics, traces, explain)'],
  [/\/node_modules\/(@escape\.tech|graphql-armor|jose)\//, 'auth, limits, policies'],
  [/\/node_modules\/(better-sqlite3|lru-cache|pg)\//, 'link store and cache'],
  [/\/node_modules\/(undici|cockatiel|p-limit)\//, 'upstream HTTP (undici, client)'],
  [/\/node_modules\/(libphonenumber-js|jsonpath-rfc9535)\//, 'mapping (transforms, phones, dates)'],
  [/\/node_modules\/dataloader\//, 'resolvers and loaders'],
  [/\/node_modules\/(tsx|esbuild|get-tsconfig)\//, 'module loading'],
  [/\/src\/observability\//, 'observability (logs, metrics, traces, explain)'],
  [/\/src\/(auth|server\/(limits|caller-limits|upstream-budget))[/.]/, 'auth, limits, policies'],
  // .ts from the sources, .js from the production build (dist/), which the bench runs by default.
  [/\/src\/sources\/(mapping|transforms|json-path|normalize)\.[jt]s|\/bench\/reference\/mapping\.ts/, 'mapping (transforms, phones, dates)'],
  [/\/src\/sources\//, 'upstream HTTP (undici, client)'],
  [/\/src\/identity\//, 'link store and cache'],
  [/\/(resolvers|src\/loaders|src\/customer|bench\/reference)\//, 'resolvers and loaders'],
  [/\/src\/server\//, 'HTTP edge (sockets, body, JSON out)'],
  [/^node:internal\/modules\//, 'module loading'],
  [/^node:(net|http|_http|internal\/http|internal\/streams|stream|internal\/stream_base|internal\/net|internal\/child_process|events|internal\/url|internal\/timers|timers|buffer|string_decoder|zlib)/, 'HTTP edge (sockets, body, JSON out)'],
];

/**
 * Which phase of a request a frame's self time belongs to (PHASES). A native frame (no script: SQLite's `all`, a
 * socket's `writev`) takes its phase from `callerUrl`, the nearest caller that has a script, when there is one.
 */
export function phaseOf(url: string, functionName: string, callerUrl = ''): Phase {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (url === '' && callerUrl.startsWith('node:inspector')) return 'profiler (the measurement itself)';
  if (url === '' && callerUrl !== '') return phaseOf(callerUrl, '');
  if (url === '') return /^(writev|writeString|writeUtf8String|writeLatin1String|writeBuffer|stringify|parse|JSONStringify)$/.test(functionName) ? 'HTTP edge (sockets, body, JSON out)' : 'other';
  for (const [rule, phase] of PHASE_RULES) if (rule.test(url)) return phase;
  return 'other';
}

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Which code a frame belongs to: a package, a folder of this project, node itself, or V8's own bookkeeping. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(PROJECT_ROOT)) {
    const relative = path.slice(PROJECT_ROOT.length).split('/');
    return relative.length > 2 ? `${relative[0]}/${relative[1]}` : relative[0]!;
  }
  return path;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (url === '') return functionName || '(anonymous)';
  const file = url.startsWith('node:') ? url : url.replace(/^file:\/\//, '').replace(PROJECT_ROOT, '').replace(/^.*\/node_modules\//, '');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

function ranked(totals: Map<string, number>, totalMs: number, top: number): SelfTime[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, micros]) => ({ name, ms: Math.round(micros / 100) / 10, percent: Math.round((micros / 1000 / totalMs) * 1000) / 10 }));
}

export function summariseProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const callerUrl = (id: number): string => {
    for (let at = parents.get(id); at !== undefined; at = parents.get(at)) {
      const url = nodes.get(at)!.callFrame.url;
      if (url !== '') return url;
    }
    return '';
  };
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  const byPhase = new Map<string, number>(PHASES.map((phase) => [phase, 0]));
  let idle = 0;
  let total = 0;
  for (const [id, micros] of selfMicros) {
    const node = nodes.get(id)!;
    total += micros;
    if (node.callFrame.functionName === '(idle)') {
      idle += micros;
      continue;
    }
    const name = frameName(node);
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + micros);
    const phase = phaseOf(node.callFrame.url, node.callFrame.functionName, node.callFrame.url === '' ? callerUrl(id) : '');
    byPhase.set(phase, byPhase.get(phase)! + micros);
  }
  // Percentages are of busy time: idle time says nothing about what to make faster.
  const busyMs = (total - idle) / 1000;
  return { totalMs: Math.round(total / 1000), idleMs: Math.round(idle / 1000), topFunctions: ranked(byFunction, busyMs, top), byArea: ranked(byArea, busyMs, 15), byPhase: ranked(byPhase, busyMs, PHASES.length) };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const lines = [`busy ${summary.totalMs - summary.idleMs} ms of ${summary.totalMs} ms profiled (idle ${summary.idleMs} ms)`, '', 'self time by phase:'];
  for (const phase of summary.byPhase) lines.push(`  ${phase.percent.toFixed(1).padStart(5)}%  ${String(phase.ms).padStart(8)} ms  ${phase.name}`);
  lines.push('', 'self time by area:');
  for (const area of summary.byArea) lines.push(`  ${area.percent.toFixed(1).padStart(5)}%  ${String(area.ms).padStart(8)} ms  ${area.name}`);
  lines.push('', 'top functions by self time:');
  for (const fn of summary.topFunctions) lines.push(`  ${fn.percent.toFixed(1).padStart(5)}%  ${String(fn.ms).padStart(8)} ms  ${fn.name}`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: tsx bench/profile-summary.ts FILE.cpuprofile [top]');
    process.exit(2);
  }
  console.log(formatProfileSummary(summariseProfile(file, top ? Number(top) : 25)));
}
