// A result shown four ways: a sortable table, a time-series chart (when the operation's YAML
// names its time, value and series columns), the raw JSON, and the request as a masked curl line.
import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';

// The rows of a result: a list of objects, the first list of objects inside an object, or the
// object itself as one row.
export function rowsOf(data) {
  if (Array.isArray(data)) return data.map((r) => (r && typeof r === 'object' && !Array.isArray(r) ? r : { value: r }));
  if (data && typeof data === 'object') {
    for (const value of Object.values(data)) {
      if (Array.isArray(value) && value.length && typeof value[0] === 'object') return value;
    }
    return [data];
  }
  return data === null || data === undefined ? [] : [{ value: data }];
}

function cell(value) {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function compare(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return cell(a).localeCompare(cell(b), undefined, { numeric: true });
}

export function Table({ rows }) {
  const [sort, setSort] = useState(null);
  const columns = useMemo(() => {
    const seen = new Set();
    rows.slice(0, 1000).forEach((r) => Object.keys(r).forEach((k) => seen.add(k)));
    return [...seen];
  }, [rows]);
  const sorted = useMemo(() => {
    if (!sort) return rows;
    const out = [...rows].sort((a, b) => compare(a[sort.column], b[sort.column]));
    return sort.descending ? out.reverse() : out;
  }, [rows, sort]);
  const shown = sorted.slice(0, 2000);
  const toggle = (column) => setSort((s) => ({ column, descending: s?.column === column ? !s.descending : false }));
  return (
    <div className="table-wrap">
      <table className="rows" data-rows={rows.length}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} onClick={() => toggle(c)} className={sort?.column === c ? 'sorted' : ''} title="sort">
                {c}{sort?.column === c ? (sort.descending ? ' ▼' : ' ▲') : ''}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((r, i) => (
            <tr key={i}>{columns.map((c) => <td key={c}>{cell(r[c])}</td>)}</tr>
          ))}
        </tbody>
      </table>
      {rows.length > shown.length && <p className="note">showing the first {shown.length} of {rows.length} rows</p>}
    </div>
  );
}

const PALETTE = ['#2f6fdf', '#e0582b', '#1f9e6e', '#a241c7', '#c79a1a', '#d6336c', '#0f8ca8', '#6b7280'];

// A time cell as seconds: epoch milliseconds, or RFC 3339 text; text without a zone (as
// InfluxDB 3's SQL answers give it) is UTC, not the browser's local time.
function secondsOf(when) {
  if (typeof when === 'number') return when / 1000;
  if (typeof when !== 'string') return NaN;
  const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(when) || !/T\d/.test(when) ? when : `${when}Z`;
  return Date.parse(zoned) / 1000;
}

// Lines by series: [{label, points: [[seconds, value], ...]}], from the chart hint. The hint
// names one value column ('value', its lines told apart by the 'series' columns), or asks for
// every column of numbers ('values: numbers': a line per column and per combination of the
// text columns, for answers whose columns are the query's own, such as SQL).
export function seriesOf(rows, chart) {
  const groups = new Map();
  const skip = new Set([chart.time, chart.value, ...(chart.series || []), ...(chart.label_skip || [])]);
  const add = (key, label, seconds, value) => {
    if (!groups.has(key)) groups.set(key, { label: label || `series ${groups.size + 1}`, points: [] });
    groups.get(key).points.push([seconds, value]);
  };
  for (const row of rows) {
    const seconds = secondsOf(row[chart.time]);
    if (Number.isNaN(seconds)) continue;
    if (chart.values === 'numbers') {
      const text = Object.entries(row).filter(([k, v]) => k !== chart.time && typeof v === 'string');
      const named = text.filter(([k]) => !skip.has(k)).map(([k, v]) => `${k}=${v}`).join(' ');
      for (const [column, value] of Object.entries(row)) {
        if (column === chart.time || typeof value !== 'number') continue;
        add(JSON.stringify([column, ...text]), named ? `${named} ${column}` : column, seconds, value);
      }
      continue;
    }
    const value = row[chart.value];
    if (typeof value !== 'number') continue;
    const label = Object.entries(row).filter(([k]) => !skip.has(k)).map(([k, v]) => `${k}=${cell(v)}`).join(' ');
    add(JSON.stringify((chart.series || []).map((c) => row[c])), label, seconds, value);
  }
  return [...groups.values()];
}

export function Chart({ lines }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current || !lines.length) return undefined;
    const times = [...new Set(lines.flatMap((l) => l.points.map((p) => p[0])))].sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const data = [times, ...lines.map((l) => {
      const ys = new Array(times.length).fill(null);
      l.points.forEach(([t, v]) => { ys[index.get(t)] = v; });
      return ys;
    })];
    const width = Math.max(320, box.current.clientWidth - 8);
    const plot = new uPlot({
      width,
      height: 300,
      scales: { x: { time: true } },
      series: [{}, ...lines.map((l, i) => ({
        label: l.label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true, points: { size: 6 },
      }))],
      axes: [{}, {}],
    }, data, box.current);
    box.current.dataset.lines = String(lines.length);
    return () => plot.destroy();
  }, [lines]);
  return <div className="chart" ref={box} />;
}

export function Results({ outcome, operation, runs }) {
  const [view, setView] = useState('table');
  const rows = useMemo(() => (outcome?.result ? rowsOf(outcome.result.data) : []), [outcome]);
  const chart = operation?.result?.chart;
  const lines = useMemo(() => (chart ? seriesOf(rows, chart) : []), [rows, chart]);
  useEffect(() => { setView(lines.length ? 'chart' : 'table'); }, [lines]);
  if (!outcome) return null;
  const { result, error, curl } = outcome;
  const truncated = result && (result.meta?.truncated || result.data?.truncated);
  const views = [['table', 'Table'], ...(lines.length ? [['chart', 'Chart']] : []), ['json', 'JSON'], ['request', 'Request']];
  return (
    <section className="card results" data-runs={runs}>
      <h2>Result</h2>
      {error && <ErrorBox error={error} />}
      {result && (
        <p className="summary">
          <span className="pill ok">HTTP {result.status}</span>
          <span className="count">{rows.length} {rows.length === 1 ? 'row' : 'rows'}</span>
          {result.meta?.elapsed_ms !== undefined && <span className="muted">{result.meta.elapsed_ms} ms</span>}
          {truncated && <span className="pill warn truncated">truncated: a limit cut the answer</span>}
        </p>
      )}
      <div className="tabs">
        {views.map(([id, title]) => (
          <button type="button" key={id} className={view === id ? 'tab active' : 'tab'} onClick={() => setView(id)}>{title}</button>
        ))}
      </div>
      {view === 'table' && result && <Table rows={rows} />}
      {view === 'chart' && lines.length > 0 && <Chart lines={lines} />}
      {view === 'json' && <pre className="json">{JSON.stringify(result ?? { error }, null, 2)}</pre>}
      {view === 'request' && <pre className="curl">{curl || '(no request)'}</pre>}
    </section>
  );
}

export function ErrorBox({ error }) {
  if (!error) return null;
  const up = error.upstream;
  return (
    <div className="error" role="alert">
      <strong>Error {error.status ? `(HTTP ${error.status})` : ''} {error.code}</strong>
      <div className="message">{error.message}</div>
      {up && <div className="upstream">server answered HTTP {up.status}{up.code ? ` [${up.code}]` : ''}: {up.message}</div>}
    </div>
  );
}
