/**
 * Lifecycle events as a standalone SVG picture: one row per worker, its life as a pale band, its
 * tasks as bars, markers where it was spawned and where (and why) it ended, a time axis and a
 * legend. Plain string building, so it works anywhere: write it to a file, inline it in HTML.
 */
import type { WorkerEvent } from '../engine/events.js';
import { buildTimeline, type ExitMark, type Timeline, type TimelineOptions, type WorkerTimeline } from './timeline.js';

/** How to draw the timeline. */
export interface TimelineSvgOptions extends TimelineOptions {
  /** Total width in pixels; default 1000 (at least 400). */
  readonly width?: number;
  /** The heading; default `rxpool timeline`. */
  readonly title?: string;
}

const COLORS = {
  text: '#1f2933',
  muted: '#6b7785',
  grid: '#e4e7eb',
  axis: '#9aa5b1',
  stripe: '#f7f8fa',
  band: '#e3e8ee',
  hatch: '#b8c3cf',
  ok: '#3b7dd8',
  failed: '#e5484d',
  unfinished: '#f5a524',
  spawn: '#2f9e44',
  crash: '#d62828',
  timeout: '#e8590c',
  idle: '#7b8794',
  recycled: '#8e44ad',
  other: '#52606d',
  strayError: '#f08c00',
} as const;

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Helvetica, Arial, sans-serif";
const PAD = 16;
const HEADER = 46;
const ROW = 28;
const BAR = 14;
const BAND = 20;
const AXIS = 30;
const LEGEND_ROW = 20;

/** An SVG document (a string starting with `<svg`) picturing the events; unknown event types are skipped. */
export function renderTimelineSvg(events: readonly WorkerEvent[], options: TimelineSvgOptions = {}): string {
  return timelineToSvg(buildTimeline(events, options), options);
}

/** Renders a built timeline as SVG. */
export function timelineToSvg(timeline: Timeline, options: TimelineSvgOptions = {}): string {
  const width = Math.max(400, Math.round(options.width ?? 1000));
  const title = options.title ?? 'rxpool timeline';
  const { workers } = timeline;
  const labels = workers.map(rowLabel);
  const labelWidth = Math.max(96, ...labels.map((label) => textWidth(label, 12))) + 14;
  const x0 = PAD + labelWidth;
  // A gutter on the right keeps the exit labels of late exits clear of the bars.
  const exitLabels = workers.map((worker) => textWidth(worker.exit?.label ?? 'running', 11) + 14);
  const gutter = Math.min(Math.max(0, ...exitLabels), width / 4);
  const x1 = width - PAD - gutter;
  const span = Math.max(timeline.end - timeline.start, 1e-3);
  const x = (time: number): number => x0 + ((time - timeline.start) / span) * (x1 - x0);
  const rowsTop = HEADER;
  const rowsBottom = rowsTop + Math.max(workers.length, 1) * ROW;

  const body: string[] = [];
  const tasks = workers.reduce((sum, worker) => sum + worker.tasks.length, 0);
  const failed = workers.reduce(
    (sum, worker) => sum + worker.tasks.filter((task) => task.status === 'failed').length,
    0,
  );
  const summary = `${plural(workers.length, 'worker')} · ${plural(tasks, 'task')}${failed ? ` (${failed} failed)` : ''} · ${formatMs(timeline.end - timeline.start)}`;
  body.push(
    text(PAD, 24, title, { size: 15, weight: 600 }),
    text(width - PAD, 24, workers.length ? summary : 'no events', { size: 12, fill: COLORS.muted, anchor: 'end' }),
  );

  // Stripes, then the grid, then the rows, each painting over the last.
  for (let index = 1; index < workers.length; index += 2) {
    body.push(rect(PAD, rowsTop + index * ROW, width - 2 * PAD, ROW, COLORS.stripe));
  }
  const ticks = workers.length ? axisTicks(span, x1 - x0) : [];
  for (const tick of ticks) {
    const tx = x(timeline.start + tick);
    body.push(line(tx, rowsTop, tx, rowsBottom, COLORS.grid, 1));
  }

  workers.forEach((worker, index) => {
    const top = rowsTop + index * ROW;
    body.push(renderRow(worker, labels[index] ?? '', top, { x, x0, right: width - PAD }));
  });

  if (workers.length) {
    // Axis along the bottom of the rows.
    body.push(line(x0, rowsBottom, x1, rowsBottom, COLORS.axis, 1));
    for (const tick of ticks) {
      const tx = x(timeline.start + tick);
      body.push(line(tx, rowsBottom, tx, rowsBottom + 5, COLORS.axis, 1));
      body.push(text(tx, rowsBottom + 18, formatTick(tick, ticks), { size: 11, fill: COLORS.muted, anchor: 'middle' }));
    }
  }

  const legend = legendItems(timeline);
  const legendTop = rowsBottom + AXIS + 6;
  const { markup, height: legendHeight } = renderLegend(legend, PAD, legendTop, width - 2 * PAD);
  if (workers.length) body.push(markup);
  const height = Math.ceil(workers.length ? legendTop + legendHeight + PAD : rowsBottom + PAD);

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${escapeXml(FONT)}">`,
    `<title>${escapeXml(title)}</title>`,
    '<defs><pattern id="rxpool-timeline-hatch" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
      `<rect width="5" height="5" fill="${COLORS.band}"/><rect width="2" height="5" fill="${COLORS.hatch}"/></pattern></defs>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

interface Scale {
  x: (time: number) => number;
  x0: number;
  /** The right edge of the picture's content, past the gutter. */
  right: number;
}

function renderRow(worker: WorkerTimeline, label: string, top: number, scale: Scale): string {
  const { x, x0, right } = scale;
  const mid = top + ROW / 2;
  const out: string[] = [`<g class="worker" data-worker-id="${worker.workerId}">`];
  out.push(text(x0 - 12, mid + 4, label, { size: 12, anchor: 'end' }));

  // The worker's life as a pale band; its start-up (spawned → ready) hatched.
  const bandStart = x(worker.start);
  const bandEnd = Math.max(x(worker.end), bandStart + 1);
  out.push(
    rect(bandStart, mid - BAND / 2, bandEnd - bandStart, BAND, COLORS.band, {
      rx: 3,
      title: `${label}: ${formatMs(worker.end - worker.start)}${worker.exit ? `, ended: ${worker.exit.label}` : ', still running'}`,
    }),
  );
  if (worker.spawned !== undefined && worker.ready !== undefined && worker.ready > worker.spawned) {
    const from = x(worker.spawned);
    out.push(
      rect(from, mid - BAND / 2, Math.max(x(worker.ready) - from, 1), BAND, 'url(#rxpool-timeline-hatch)', {
        rx: 3,
        title: `starting: ${formatMs(worker.ready - worker.spawned)}`,
      }),
    );
  }

  for (const task of worker.tasks) {
    const left = x(task.start);
    const raw = x(task.end) - left;
    // A hairline gap keeps back-to-back tasks apart; narrow ones still get a visible pixel.
    const w = Math.max(1, raw > 3 ? raw - 1 : raw);
    const name = task.functionName ? `task ${task.taskId} · ${task.functionName}` : `task ${task.taskId}`;
    const tip = `${name}: ${formatMs(task.end - task.start)}, ${task.status}${task.error ? `\n${task.error}` : ''}`;
    const fill = COLORS[task.status];
    out.push(rect(left, mid - BAR / 2, w, BAR, fill, { rx: w > 4 ? 2 : 0, title: tip, cls: `task ${task.status}` }));
    const inner = task.functionName ?? `#${task.taskId}`;
    if (w > textWidth(inner, 10) + 8) {
      out.push(text(left + w / 2, mid + 3.5, inner, { size: 10, fill: '#ffffff', anchor: 'middle', events: false }));
    }
  }

  if (worker.spawned !== undefined) {
    out.push(
      `<circle cx="${num(x(worker.spawned))}" cy="${num(mid)}" r="4" fill="${COLORS.spawn}" stroke="#ffffff" stroke-width="1.5"><title>spawned${worker.pid === undefined ? '' : ` (pid ${worker.pid})`}</title></circle>`,
    );
  }
  for (const stray of worker.errors) {
    const ex = x(stray.time);
    const bottom = mid + BAND / 2 + 1;
    out.push(
      `<path d="M${num(ex)} ${num(bottom - 6)}L${num(ex + 4)} ${num(bottom + 1)}L${num(ex - 4)} ${num(bottom + 1)}Z" fill="${COLORS.strayError}" stroke="#ffffff" stroke-width="1"><title>${escapeXml(`worker error${stray.taskId === null ? '' : ` from task ${stray.taskId}`}: ${stray.error}`)}</title></path>`,
    );
  }
  if (worker.exit) out.push(exitMarker(worker.exit, x(worker.exit.time), mid, right));
  else out.push(text(bandEnd + 8, mid + 4, 'running', { size: 11, fill: COLORS.muted, italic: true }));
  out.push('</g>');
  return out.join('\n');
}

/** Which shape and colour an exit gets. */
function exitStyle(exit: ExitMark): { shape: 'cross' | 'bar' | 'diamond'; color: string; legend: string } {
  if (exit.crash) return { shape: 'cross', color: COLORS.crash, legend: 'crash' };
  switch (exit.reason) {
    case 'timeout':
      return { shape: 'cross', color: COLORS.timeout, legend: 'timeout' };
    case 'idle':
      return { shape: 'bar', color: COLORS.idle, legend: 'idle exit' };
    case 'recycled':
      return { shape: 'diamond', color: COLORS.recycled, legend: 'recycled' };
    default:
      return { shape: 'bar', color: COLORS.other, legend: `${exit.reason} exit` };
  }
}

function exitMarker(exit: ExitMark, ex: number, mid: number, right: number): string {
  const style = exitStyle(exit);
  const tip = [`exit: ${exit.label}`, exit.error, exit.stderr.trim().split('\n').slice(-3).join('\n')]
    .filter(Boolean)
    .join('\n');
  const shape = markerShape(style.shape, ex, mid, style.color);
  // The label goes in the free space after the exit, or before it when that would overflow.
  const width = textWidth(exit.label, 11);
  const after = ex + 10 + width <= right;
  const label = text(after ? ex + 10 : ex - 10, mid + 4, exit.label, {
    size: 11,
    fill: style.color,
    weight: exit.crash ? 600 : 400,
    anchor: after ? 'start' : 'end',
    halo: true,
  });
  return `<g class="exit ${escapeXml(exit.reason)}"><title>${escapeXml(tip)}</title>${shape}${label}</g>`;
}

function markerShape(shape: 'cross' | 'bar' | 'diamond', cx: number, cy: number, color: string): string {
  switch (shape) {
    case 'cross': {
      const r = 4.5;
      const d = `M${num(cx - r)} ${num(cy - r)}L${num(cx + r)} ${num(cy + r)}M${num(cx + r)} ${num(cy - r)}L${num(cx - r)} ${num(cy + r)}`;
      // A white outline underneath keeps the cross legible on top of a bar.
      return `<path d="${d}" stroke="#ffffff" stroke-width="5" stroke-linecap="round"/><path d="${d}" stroke="${color}" stroke-width="2.4" stroke-linecap="round"/>`;
    }
    case 'diamond': {
      const r = 5.5;
      return `<path d="M${num(cx)} ${num(cy - r)}L${num(cx + r)} ${num(cy)}L${num(cx)} ${num(cy + r)}L${num(cx - r)} ${num(cy)}Z" fill="${color}" stroke="#ffffff" stroke-width="1.5"/>`;
    }
    case 'bar':
      return `<rect x="${num(cx - 1.5)}" y="${num(cy - BAND / 2 - 2)}" width="3" height="${BAND + 4}" rx="1" fill="${color}"/>`;
  }
}

interface LegendItem {
  readonly label: string;
  readonly swatch: (x: number, cy: number) => string;
}

/** Task colours and the band always; markers only when they appear, to keep the legend small. */
function legendItems(timeline: Timeline): LegendItem[] {
  const box =
    (fill: string) =>
    (x: number, cy: number): string =>
      rect(x, cy - 5, 14, 10, fill, { rx: 2 });
  const items: LegendItem[] = [
    { label: 'task ok', swatch: box(COLORS.ok) },
    { label: 'task failed', swatch: box(COLORS.failed) },
  ];
  const all = timeline.workers;
  if (all.some((w) => w.tasks.some((task) => task.status === 'unfinished'))) {
    items.push({ label: 'task unfinished', swatch: box(COLORS.unfinished) });
  }
  items.push({ label: 'worker alive', swatch: box(COLORS.band) });
  if (all.some((w) => w.spawned !== undefined && w.ready !== undefined)) {
    items.push({ label: 'starting', swatch: box('url(#rxpool-timeline-hatch)') });
  }
  if (all.some((w) => w.spawned !== undefined)) {
    items.push({
      label: 'spawn',
      swatch: (x, cy) => `<circle cx="${num(x + 7)}" cy="${num(cy)}" r="4" fill="${COLORS.spawn}"/>`,
    });
  }
  const seen = new Map<string, ReturnType<typeof exitStyle>>();
  for (const worker of all) {
    if (!worker.exit) continue;
    const style = exitStyle(worker.exit);
    if (!seen.has(style.legend)) seen.set(style.legend, style);
  }
  for (const style of seen.values()) {
    items.push({
      label: style.legend,
      swatch: (x, cy) =>
        style.shape === 'bar'
          ? `<rect x="${num(x + 5.5)}" y="${num(cy - 7)}" width="3" height="14" rx="1" fill="${style.color}"/>`
          : markerShape(style.shape, x + 7, cy, style.color),
    });
  }
  if (all.some((w) => w.errors.length > 0)) {
    items.push({
      label: 'worker error',
      swatch: (x, cy) =>
        `<path d="M${num(x + 7)} ${num(cy - 5)}L${num(x + 11)} ${num(cy + 4)}L${num(x + 3)} ${num(cy + 4)}Z" fill="${COLORS.strayError}"/>`,
    });
  }
  return items;
}

function renderLegend(items: readonly LegendItem[], left: number, top: number, width: number) {
  const out: string[] = ['<g class="legend">'];
  let cx = left;
  let cy = top + LEGEND_ROW / 2;
  for (const item of items) {
    const w = 14 + 6 + textWidth(item.label, 11) + 18;
    if (cx > left && cx + w > left + width) {
      cx = left;
      cy += LEGEND_ROW;
    }
    out.push(item.swatch(cx, cy), text(cx + 20, cy + 4, item.label, { size: 11, fill: COLORS.muted }));
    cx += w;
  }
  out.push('</g>');
  return { markup: out.join('\n'), height: cy - top + LEGEND_ROW / 2 };
}

/** Offsets (ms from the start) of round-numbered ticks, about one per 90 px. */
function axisTicks(span: number, pixels: number): number[] {
  const target = Math.max(2, Math.floor(pixels / 90));
  const rough = span / target;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= rough) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let k = 0; k * step <= span * (1 + 1e-9); k++) ticks.push(round(k * step, 9));
  return ticks;
}

/** Tick labels in ms, or in s once the steps reach whole seconds. */
function formatTick(value: number, ticks: readonly number[]): string {
  const step = (ticks[1] ?? 1) - (ticks[0] ?? 0);
  if (step >= 1000) return `${round(value / 1000, 3)} s`;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return `${value.toFixed(decimals)} ms`;
}

function formatMs(ms: number): string {
  if (ms >= 10_000) return `${round(ms / 1000, 1)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  if (ms >= 1) return `${round(ms, 1)} ms`;
  return `${round(ms, 3)} ms`;
}

function rowLabel(worker: WorkerTimeline): string {
  return `worker ${worker.workerId} · ${worker.pid === undefined ? 'no pid' : `pid ${worker.pid}`}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A rough width for layout: no font metrics in a string builder, so average glyph widths. */
function textWidth(value: string, size: number): number {
  return value.length * size * 0.58;
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

function num(value: number): string {
  return String(round(value, 2));
}

function rect(
  x: number,
  y: number,
  w: number,
  h: number,
  fill: string,
  extra: { rx?: number; title?: string; cls?: string } = {},
): string {
  const attrs = `x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}"${extra.rx ? ` rx="${extra.rx}"` : ''} fill="${fill}"${extra.cls ? ` class="${escapeXml(extra.cls)}"` : ''}`;
  return extra.title === undefined
    ? `<rect ${attrs}/>`
    : `<rect ${attrs}><title>${escapeXml(extra.title)}</title></rect>`;
}

function line(xa: number, ya: number, xb: number, yb: number, stroke: string, width: number): string {
  return `<line x1="${num(xa)}" y1="${num(ya)}" x2="${num(xb)}" y2="${num(yb)}" stroke="${stroke}" stroke-width="${width}"/>`;
}

function text(
  x: number,
  y: number,
  value: string,
  style: {
    size: number;
    fill?: string;
    weight?: number;
    anchor?: 'start' | 'middle' | 'end';
    halo?: boolean;
    italic?: boolean;
    events?: boolean;
  },
): string {
  const attrs = [
    `x="${num(x)}"`,
    `y="${num(y)}"`,
    `font-size="${style.size}"`,
    `fill="${style.fill ?? COLORS.text}"`,
    style.weight && style.weight !== 400 ? `font-weight="${style.weight}"` : '',
    style.anchor && style.anchor !== 'start' ? `text-anchor="${style.anchor}"` : '',
    style.italic ? 'font-style="italic"' : '',
    // A white outline under the glyphs keeps labels readable where they cross bars.
    style.halo ? 'stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"' : '',
    style.events === false ? 'pointer-events="none"' : '',
  ].filter(Boolean);
  return `<text ${attrs.join(' ')}>${escapeXml(value)}</text>`;
}

/** Escapes the five XML special characters, and drops control characters XML 1.0 forbids. */
export function escapeXml(value: string): string {
  return (
    value
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}
