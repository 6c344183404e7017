// Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): where the self time went, by function and by package.
//
// `npx tsx bench/profile-summary.ts FILE.cpuprofile [top]` prints it; bench/run.ts calls it after a profiled run.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
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
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
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
  }
  // Percentages are of busy time: idle time says nothing about what to make faster.
  const busyMs = (total - idle) / 1000;
  return { totalMs: Math.round(total / 1000), idleMs: Math.round(idle / 1000), topFunctions: ranked(byFunction, busyMs, top), byArea: ranked(byArea, busyMs, 15) };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const lines = [`busy ${summary.totalMs - summary.idleMs} ms of ${summary.totalMs} ms profiled (idle ${summary.idleMs} ms)`, '', 'self time by area:'];
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
