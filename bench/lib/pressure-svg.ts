/**
 * A small SVG line chart for the pressure scenario's plots: one panel per measure (throughput,
 * pickup p99), one polyline per system, axes with a few ticks, a legend, and vertical markers
 * (e.g. "release"). No plotting dependency: the figures are few and the format is plain.
 */

export interface Series {
  name: string;
  /** [x, y] points; NaN y values break the line. */
  points: [number, number][];
}

export interface Panel {
  title: string;
  unit: string;
  series: Series[];
  /** Log scale for y (latencies span orders of magnitude). */
  log?: boolean;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
const W = 760;
const PANEL_H = 220;
const M = { left: 70, right: 150, top: 30, bottom: 40 };

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

export function lineChart(
  title: string,
  xLabel: string,
  panels: Panel[],
  markers: { x: number; label: string }[] = [],
): string {
  const height = panels.length * (PANEL_H + M.top + M.bottom) + 30;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const color = (name: string) => COLORS[names.indexOf(name) % COLORS.length] as string;
  // One x range for every panel, so markers and seconds line up.
  const xs = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x))).filter(Number.isFinite);
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(1, ...xs, ...markers.map((m) => m.x));
  panels.forEach((panel, i) => {
    const top = 30 + i * (PANEL_H + M.top + M.bottom) + M.top;
    const left = M.left;
    const width = W - M.left - M.right;
    const pts = panel.series
      .flatMap((s) => s.points)
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const log = panel.log === true;
    const ys = pts.map(([, y]) => (log ? Math.max(y, 0.1) : y));
    const yMin = log ? 10 ** Math.floor(Math.log10(Math.min(1, ...ys))) : 0;
    const yMax = log ? 10 ** Math.ceil(Math.log10(Math.max(10, ...ys))) : Math.max(1, ...ys) * 1.05;
    const sx = (x: number) => left + ((x - xMin) / (xMax - xMin || 1)) * width;
    const sy = (y: number) => {
      const f = log
        ? (Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin) || 1)
        : (y - yMin) / (yMax - yMin || 1);
      return top + PANEL_H - f * PANEL_H;
    };
    out.push(
      `<text x="${left}" y="${top - 8}" font-weight="bold">${esc(panel.title)} (${esc(panel.unit)}${log ? ", log scale" : ""})</text>`,
      `<rect x="${left}" y="${top}" width="${width}" height="${PANEL_H}" fill="none" stroke="#999"/>`,
    );
    const yTicks = log
      ? Array.from({ length: Math.round(Math.log10(yMax / yMin)) + 1 }, (_, k) => yMin * 10 ** k)
      : ticks(yMin, yMax);
    for (const v of yTicks) {
      const y = sy(v);
      out.push(
        `<line x1="${left}" x2="${left + width}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eee"/>`,
        `<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`,
      );
    }
    for (const v of ticks(xMin, xMax, 8)) {
      const x = sx(v);
      out.push(
        `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top + PANEL_H}" y2="${top + PANEL_H + 4}" stroke="#999"/>`,
        `<text x="${x.toFixed(1)}" y="${top + PANEL_H + 16}" text-anchor="middle">${fmt(v)}</text>`,
      );
    }
    out.push(
      `<text x="${left + width / 2}" y="${top + PANEL_H + 32}" text-anchor="middle">${esc(xLabel)}</text>`,
    );
    for (const m of markers) {
      const x = sx(m.x);
      out.push(
        `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top}" y2="${top + PANEL_H}" stroke="#888" stroke-dasharray="4 3"/>`,
        `<text x="${(x + 3).toFixed(1)}" y="${top + 12}" fill="#666">${esc(m.label)}</text>`,
      );
    }
    for (const s of panel.series) {
      // NaN breaks the line into segments.
      let seg: string[] = [];
      const flush = () => {
        if (seg.length > 1)
          out.push(
            `<polyline fill="none" stroke="${color(s.name)}" stroke-width="1.5" points="${seg.join(" ")}"/>`,
          );
        else if (seg.length === 1) {
          const [x, y] = (seg[0] as string).split(",");
          out.push(`<circle cx="${x}" cy="${y}" r="2" fill="${color(s.name)}"/>`);
        }
        seg = [];
      };
      for (const [x, y] of s.points) {
        if (!Number.isFinite(x) || !Number.isFinite(y)) flush();
        else seg.push(`${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
      }
      flush();
    }
    names.forEach((name, k) => {
      const y = top + 14 + k * 16;
      out.push(
        `<line x1="${left + width + 12}" x2="${left + width + 32}" y1="${y - 4}" y2="${y - 4}" stroke="${color(name)}" stroke-width="2"/>`,
        `<text x="${left + width + 36}" y="${y}">${esc(name)}</text>`,
      );
    });
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
