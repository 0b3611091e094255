// A result shown four ways: a sortable table, a time-series chart (when the operation's YAML
// names its time, value and series columns), the raw JSON, and the request as a masked curl line.
// An answer given as bytes (the service's {"$binary": ...} shape) is offered as a download.
import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';

// The bytes of an answer in the service's documented shape: {$binary: {base64, size, content_type?}}.
export function binaryOf(data) {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return null;
  const keys = Object.keys(data);
  const inner = data.$binary;
  return keys.length === 1 && inner && typeof inner.base64 === 'string' ? inner : null;
}

const ENDINGS = {
  'application/vnd.apache.parquet': '.parquet', 'application/octet-stream': '.bin', 'application/json': '.json',
  'application/jsonl': '.jsonl', 'application/x-ndjson': '.ndjson', 'text/csv': '.csv', 'text/plain': '.txt',
  'application/zip': '.zip', 'application/gzip': '.gz', 'application/pdf': '.pdf', 'image/png': '.png',
  'image/jpeg': '.jpg',
};

// A file name for bytes an operation gave: its id, and an ending from their media type.
export function fileName(stem, contentType) {
  const kind = (contentType || '').split(';')[0].trim().toLowerCase();
  return `${stem || 'answer'}${ENDINGS[kind] || '.bin'}`;
}

function bytesOf(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  return bytes;
}

const SHOWN_BASE64 = 2000;

// The result for the JSON tab: base64 past a screenful is shortened (the download has it whole).
function forDisplay(result) {
  const binary = binaryOf(result?.data);
  if (!binary || binary.base64.length <= SHOWN_BASE64) return result;
  const rest = binary.base64.length - SHOWN_BASE64;
  return { ...result, data: { $binary: { ...binary, base64: `${binary.base64.slice(0, SHOWN_BASE64)}… (${rest} more characters: shortened here, whole in the download)` } } };
}

function BinaryAnswer({ binary, stem }) {
  const type = binary.content_type || 'application/octet-stream';
  const url = useMemo(() => URL.createObjectURL(new Blob([bytesOf(binary.base64)], { type })), [binary, type]);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);
  const name = fileName(stem, binary.content_type);
  return (
    <div className="binary" data-size={binary.size} data-content-type={type}>
      <p>
        The answer is a file of {binary.size.toLocaleString('en')} bytes ({type}); it is not shown as rows.
      </p>
      <a className="button primary download" href={url} download={name}>Download {name}</a>
    </div>
  );
}

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
    // The first and last instants drawn, to check against the table's UTC times.
    box.current.dataset.first = new Date(times[0] * 1000).toISOString();
    box.current.dataset.last = new Date(times[times.length - 1] * 1000).toISOString();
    const plot = new uPlot({
      width,
      height: 300,
      // Axis and legend in UTC, as the times the table shows (and InfluxDB writes) are, in
      // whatever zone the browser is.
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
      scales: { x: { time: true } },
      series: [{}, ...lines.map((l, i) => ({
        label: l.label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true, points: { size: 6 },
      }))],
      axes: [{ label: 'time (UTC)' }, {}],
    }, data, box.current);
    box.current.dataset.lines = String(lines.length);
    return () => plot.destroy();
  }, [lines]);
  return <div className="chart" ref={box} />;
}

export function Results({ outcome, operation, runs }) {
  const [view, setView] = useState('table');
  const binary = binaryOf(outcome?.result?.data);
  const rows = useMemo(() => (outcome?.result && !binaryOf(outcome.result.data) ? rowsOf(outcome.result.data) : []),
    [outcome]);
  const chart = operation?.result?.chart;
  const lines = useMemo(() => (chart ? seriesOf(rows, chart) : []), [rows, chart]);
  useEffect(() => { setView(binary ? 'file' : lines.length ? 'chart' : 'table'); }, [lines, binary]);
  if (!outcome) return null;
  const { result, error, curl } = outcome;
  const truncated = result && (result.meta?.truncated || result.data?.truncated);
  const views = [binary ? ['file', 'File'] : ['table', 'Table'], ...(lines.length ? [['chart', 'Chart']] : []),
    ['json', 'JSON'], ['request', 'Request']];
  const stem = operation?.id || result?.meta?.operation;
  return (
    <section className="card results" data-runs={runs}>
      <h2>Result</h2>
      {error && <ErrorBox error={error} />}
      {result && (
        <p className="summary">
          <span className="pill ok">HTTP {result.status}</span>
          {binary
            ? <span className="count binary-summary">binary answer, {binary.size.toLocaleString('en')} bytes, {binary.content_type || 'no content type'}</span>
            : <span className="count">{rows.length} {rows.length === 1 ? 'row' : 'rows'}</span>}
          {result.meta?.elapsed_ms !== undefined && <span className="muted">{result.meta.elapsed_ms} ms</span>}
          {truncated && <span className="pill warn truncated">truncated: a limit cut the answer</span>}
        </p>
      )}
      <div className="tabs">
        {views.map(([id, title]) => (
          <button type="button" key={id} className={view === id ? 'tab active' : 'tab'} onClick={() => setView(id)}>{title}</button>
        ))}
      </div>
      {view === 'table' && result && !binary && <Table rows={rows} />}
      {view === 'file' && binary && <BinaryAnswer binary={binary} stem={stem} />}
      {view === 'chart' && lines.length > 0 && <Chart lines={lines} />}
      {view === 'json' && <pre className="json">{JSON.stringify(forDisplay(result) ?? { error }, null, 2)}</pre>}
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
