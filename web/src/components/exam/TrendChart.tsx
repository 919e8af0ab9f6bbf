/** A point of the trend: when, the score in percent, and whether it passed. */
export interface TrendPoint {
  at: string;
  percent: number;
  label: string;
}

/** Exam scores over time as a plain SVG line chart with the pass mark as a dashed line. */
export function TrendChart({ points, passPercent }: { points: TrendPoint[]; passPercent: number }) {
  const w = 640;
  const h = 220;
  const pad = { l: 40, r: 16, t: 12, b: 28 };
  const x = (i: number) => pad.l + (points.length <= 1 ? (w - pad.l - pad.r) / 2 : (i * (w - pad.l - pad.r)) / (points.length - 1));
  const y = (p: number) => pad.t + ((100 - p) * (h - pad.t - pad.b)) / 100;
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.percent).toFixed(1)}`).join(' ');
  return (
    <svg
      className="trend-chart"
      viewBox={`0 0 ${w} ${h}`}
      role="img"
      aria-label={`Exam scores over time: ${points.map((p) => `${p.percent} %`).join(', ')}; pass mark ${passPercent} %`}
    >
      {[0, 25, 50, 75, 100].map((g) => (
        <g key={g}>
          <line x1={pad.l} x2={w - pad.r} y1={y(g)} y2={y(g)} className="trend-grid" />
          <text x={pad.l - 6} y={y(g) + 4} textAnchor="end" className="trend-axis">
            {g}
          </text>
        </g>
      ))}
      <line x1={pad.l} x2={w - pad.r} y1={y(passPercent)} y2={y(passPercent)} className="trend-pass" />
      <text x={w - pad.r} y={y(passPercent) - 4} textAnchor="end" className="trend-axis">
        pass {passPercent} %
      </text>
      <path d={path} className="trend-line" fill="none" />
      {points.map((p, i) => (
        <g key={`${p.at}-${i}`}>
          <circle cx={x(i)} cy={y(p.percent)} r={4} className={p.percent >= passPercent ? 'trend-dot-pass' : 'trend-dot-fail'}>
            <title>{`${p.label}: ${p.percent} % (${new Date(p.at).toLocaleString()})`}</title>
          </circle>
          <text x={x(i)} y={h - 8} textAnchor="middle" className="trend-axis">
            {new Date(p.at).toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}
          </text>
        </g>
      ))}
    </svg>
  );
}
