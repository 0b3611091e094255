// The reference host's page: data sources, queries, results. Everything it draws comes from the
// service: the forms from the manifests, the operations in their declared order, chart hints.
import { useCallback, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { api, ApiError, postStream } from './api.js';
import { ManifestForm, editableConnectionForm } from './forms.jsx';
import { ErrorBox, Results } from './results.jsx';

function useTypes() {
  const [types, setTypes] = useState([]);
  const [error, setError] = useState(null);
  const reload = useCallback(() => api.get('/api/data-source-types').then(setTypes, (e) => setError(e.error)), []);
  useEffect(() => {
    reload();
    window.addEventListener('focus', reload);
    return () => window.removeEventListener('focus', reload);
  }, [reload]);
  return { types, reload, error };
}

function StepList({ report }) {
  if (!report) return null;
  return (
    <div className="test-report">
      <p className={report.ok ? 'verdict ok' : 'verdict failed'}>{report.ok ? 'Connection OK' : 'Connection test failed'}</p>
      <ol className="steps">
        {report.steps.map((s) => (
          <li key={s.name} className={`step ${s.status.replace(' ', '-')}`} data-step={s.name} data-status={s.status}>
            <span className="status">{s.status}</span> <span className="title">{s.title}</span>
            {s.message && <span className="message">{s.message}</span>}
          </li>
        ))}
      </ol>
    </div>
  );
}

function SourceEditor({ types, editing, onSaved, onCancel }) {
  const [chosen, setTypeId] = useState(editing?.type || '');
  const typeId = chosen || types[0]?.id || ''; // the types may arrive after the editor opened
  const [name, setName] = useState(editing?.name || '');
  const [values, setValues] = useState(editing?.values || {});
  const [error, setError] = useState(null);
  const type = types.find((t) => t.id === typeId);
  if (!type) return <p className="muted">No data source type is hosted.</p>;
  const form = editableConnectionForm(type.connection, type.secret_fields, editing?.secrets);
  const save = async (formData) => {
    setError(null);
    try {
      const body = { name, type: typeId, values: formData };
      const saved = editing ? await api.put(`/api/data-sources/${editing.id}`, body) : await api.post('/api/data-sources', body);
      onSaved(saved);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      setError(e.error);
    }
  };
  return (
    <div className="card editor">
      <h2>{editing ? `Edit ${editing.name}` : 'Add a data source'}</h2>
      <label className="row">Type
        <select id="source-type" value={typeId} disabled={!!editing} onChange={(e) => { setTypeId(e.target.value); setValues({}); }}>
          {types.map((t) => <option key={t.id} value={t.id}>{t.title}</option>)}
        </select>
      </label>
      <label className="row">Name
        <input id="source-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="a name for this data source" />
      </label>
      {error?.by_field?.name && <p className="field-error">{error.by_field.name.join(' ')}</p>}
      <ManifestForm id="connection-form" form={form} formData={values} onChange={setValues} onSubmit={save} byField={error?.by_field}>
        <div className="buttons">
          <button type="submit" className="primary" id="save-source">Save</button>
          <button type="button" onClick={onCancel}>Cancel</button>
        </div>
      </ManifestForm>
      {error && !error.by_field && <ErrorBox error={error} />}
    </div>
  );
}

// The title of a connection field, from the connection form.
function fieldTitle(type, name) {
  return type?.connection?.schema?.properties?.[name]?.title || name;
}

// What Test connection found out of the server (such as its API), shown on the data source.
function Detected({ type, source }) {
  const found = Object.entries(source.detected || {});
  if (!found.length) return null;
  return (
    <div className="detected">
      {found.map(([k, v]) => <span key={k} className="pill ok" data-detected={k}>{fieldTitle(type, k)} {v}, found out by test</span>)}
    </div>
  );
}

// The operations a saved data source's server serves (the service decides from the manifest's
// needs and what a test found out); reloaded when the hosted types change (a new operation file).
function useAvailability(sourceId, revision, types) {
  const [listing, setListing] = useState(null);
  useEffect(() => {
    let current = true;
    setListing((l) => (l?.data_source === sourceId ? l : null));
    if (sourceId) {
      api.get(`/api/data-sources/${sourceId}/operations`).then((l) => { if (current) setListing(l); }, () => {});
    }
    return () => { current = false; };
  }, [sourceId, revision, types]);
  return listing?.data_source === sourceId ? listing : null;
}

function AvailabilityNote({ type, source, listing }) {
  if (!listing) return null;
  const hidden = listing.operations.filter((o) => !o.available);
  if (listing.undetermined.length) {
    const names = listing.undetermined.map((k) => fieldTitle(type, k)).join(', ');
    return (
      <p className="note availability" data-availability="undetermined">
        {names} not known yet: every operation is listed. Test this data source (Data sources) to list only those its server serves.
      </p>
    );
  }
  if (!hidden.length) return null;
  // The connection fields the hidden operations need, with the value this server has.
  const fields = [...new Set(hidden.flatMap((o) => Object.keys(o.needs)))];
  const server = fields.map((k) => {
    const found = listing.detected[k];
    return `${fieldTitle(type, k)} ${found ?? source?.values?.[k]}${found ? ' (found out by test)' : ''}`;
  }).join(', ');
  return (
    <p className="muted availability" data-availability="filtered" title={hidden.map((o) => `${o.title}: ${o.reason}`).join('\n')}>
      Listing the operations for {server}; {hidden.length} for another kind of server {hidden.length === 1 ? 'is' : 'are'} not listed.
    </p>
  );
}

function SourcesView({ types, sources, reloadSources }) {
  const [editing, setEditing] = useState(null); // null: list; {}: new; a saved source: edit
  const [reports, setReports] = useState({});
  const [error, setError] = useState(null);
  const test = async (source) => {
    setReports((r) => ({ ...r, [source.id]: { running: true } }));
    try {
      const report = await api.post(`/api/data-sources/${source.id}/test`);
      setReports((r) => ({ ...r, [source.id]: report }));
      reloadSources(); // what the test found out of the server (its API) is kept with it
    } catch (e) {
      setReports((r) => ({ ...r, [source.id]: null }));
      setError(e.error);
    }
  };
  const remove = async (source) => {
    if (!window.confirm(`Delete the data source ${source.name} and its saved queries?`)) return;
    try {
      await api.del(`/api/data-sources/${source.id}`);
      reloadSources();
    } catch (e) { setError(e.error); }
  };
  if (editing) {
    return (
      <SourceEditor
        types={types}
        editing={editing.id ? editing : null}
        onSaved={(saved) => { setEditing(null); reloadSources(); setReports((r) => ({ ...r, [saved.id]: undefined })); }}
        onCancel={() => setEditing(null)}
      />
    );
  }
  return (
    <div>
      <div className="toolbar">
        <button type="button" className="primary" id="add-source" onClick={() => setEditing({})}>Add a data source</button>
      </div>
      <ErrorBox error={error} />
      {sources.length === 0 && <p className="muted">No data source is saved yet.</p>}
      <ul className="sources">
        {sources.map((s) => {
          const type = types.find((t) => t.id === s.type);
          const report = reports[s.id];
          return (
            <li key={s.id} className="card source" data-source={s.name}>
              <div className="source-head">
                <div>
                  <strong className="name">{s.name}</strong> <span className="pill">{type?.title || s.type}</span>
                  <div className="muted values">
                    {Object.entries(s.values).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' · ')}
                    {Object.keys(s.secrets).map((k) => <span key={k} className="secret"> · {k}: configured</span>)}
                  </div>
                  <Detected type={type} source={s} />
                </div>
                <div className="buttons">
                  <button type="button" className="test" onClick={() => test(s)}>Test</button>
                  <button type="button" className="edit" onClick={() => setEditing(s)}>Edit</button>
                  <button type="button" className="delete danger" onClick={() => remove(s)}>Delete</button>
                </div>
              </div>
              {report?.running ? <p className="muted">testing…</p> : <StepList report={report} />}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function Progress({ figures }) {
  if (!figures) return null;
  const done = figures.records ?? 0;
  const total = figures.records_total ?? 0;
  const share = total ? Math.min(100, Math.round((100 * done) / total)) : 0;
  return (
    <div className="progress" data-share={share}>
      <div className="bar"><div className="fill" style={{ width: `${share}%` }} /></div>
      <span>{done} of {total} records sent</span>
    </div>
  );
}

function QueriesView({ types, sources, reloadTypes }) {
  const [sourceId, setSourceId] = useState(sources[0]?.id || '');
  const source = sources.find((s) => s.id === sourceId);
  const type = types.find((t) => t.id === source?.type);
  const [opId, setOpId] = useState('');
  const [params, setParams] = useState({});
  const [outcome, setOutcome] = useState(null);
  const [runs, setRuns] = useState(0); // how many runs ended: tests wait for it to change
  const [byField, setByField] = useState(null);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState(null);
  const [saved, setSaved] = useState([]);
  const [queryName, setQueryName] = useState('');
  const [message, setMessage] = useState(null);
  const listing = useAvailability(source?.id, source?.revision, types);
  const refused = new Set((listing?.operations || []).filter((o) => !o.available).map((o) => o.id));
  const operations = (type?.operations || []).filter((o) => !refused.has(o.id));
  const operation = operations.find((o) => o.id === opId);
  const reloadSaved = useCallback(() => api.get('/api/queries').then(setSaved, () => {}), []);
  useEffect(() => { reloadSaved(); }, [reloadSaved]);
  useEffect(() => { if (!source && sources[0]) setSourceId(sources[0].id); }, [sources, source]);
  useEffect(() => {
    // The form's values belong to the operation they were typed for: when the list no longer
    // offers it (another data source, or the server's API found out), both go.
    if (type && !operations.some((o) => o.id === opId)) { setOpId(operations[0]?.id || ''); setParams({}); }
  }, [type, opId, operations]);

  const run = async (formData, target) => {
    setBusy(true); setByField(null); setProgress(null); setMessage(null);
    const body = target ?? { data_source: sourceId, operation: opId, params: formData };
    let curl = null;
    try {
      curl = (await api.post('/api/render', body)).curl;
    } catch (e) { /* the run below reports the same problem */ }
    try {
      const path = target?.query ? `/api/queries/${target.query}/run` : '/api/run';
      const last = await postStream(path, { ...body, progress: true }, (record) => {
        if (record.progress) setProgress(record.progress);
      });
      if (last.error) {
        setOutcome({ error: last.error, curl });
        setByField(last.error.by_field || null);
      } else {
        setOutcome({ result: last.result, curl });
      }
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      setOutcome({ error: e.error, curl });
      setByField(e.error.by_field || null);
    } finally {
      setBusy(false);
      setRuns((n) => n + 1);
    }
  };
  const save = async () => {
    setMessage(null);
    try {
      await api.post('/api/queries', { name: queryName, data_source: sourceId, operation: opId, params });
      setMessage({ ok: true, text: `Saved as ${queryName}` });
      reloadSaved();
    } catch (e) {
      setMessage({ ok: false, text: e.error.message });
      setByField(e.error.by_field || null);
    }
  };
  const open = (q) => {
    setSourceId(q.data_source); setOpId(q.operation); setParams(q.params); setQueryName(q.name);
  };
  const rerun = (q) => {
    open(q);
    run(q.params, { data_source: q.data_source, operation: q.operation, params: q.params, query: q.id });
  };
  const remove = async (q) => {
    await api.del(`/api/queries/${q.id}`).catch((e) => setMessage({ ok: false, text: e.error.message }));
    reloadSaved();
  };
  if (!sources.length) return <p className="muted">Save a data source first (Data sources).</p>;
  return (
    <div className="queries">
      <div className="columns">
        <div className="card query-editor">
          <h2>Query</h2>
          <label className="row">Data source
            <select id="query-source" value={sourceId} onChange={(e) => { setSourceId(e.target.value); setParams({}); }}>
              {sources.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
            </select>
          </label>
          <label className="row">Operation
            <select id="query-operation" value={opId} onFocus={reloadTypes} data-listed={listing ? 'checked' : 'all'}
                    onChange={(e) => { setOpId(e.target.value); setParams({}); setOutcome(null); }}>
              {operations.map((o) => <option key={o.id} value={o.id}>{o.title}</option>)}
            </select>
          </label>
          <AvailabilityNote type={type} source={source} listing={listing} />
          {operation && (
            <ManifestForm key={`${sourceId}/${opId}`} id="operation-form" form={operation.form} formData={params}
                          onChange={setParams} onSubmit={(data) => run(data)} byField={byField}>
              <div className="buttons">
                <button type="submit" className="primary" id="run" disabled={busy}>{busy ? 'Running…' : 'Run'}</button>
                <input id="query-name" value={queryName} onChange={(e) => setQueryName(e.target.value)} placeholder="name to save it under" />
                <button type="button" id="save-query" onClick={save} disabled={!queryName.trim()}>Save query</button>
              </div>
            </ManifestForm>
          )}
          {message && <p className={message.ok ? 'note ok' : 'note failed'}>{message.text}</p>}
          <Progress figures={busy ? progress : null} />
        </div>
        <div className="card saved">
          <h2>Saved queries</h2>
          {saved.length === 0 && <p className="muted">None yet.</p>}
          <ul className="saved-queries">
            {saved.map((q) => (
              <li key={q.id} data-query={q.name}>
                <button type="button" className="link open" onClick={() => open(q)}>{q.name}</button>
                <span className="muted"> {q.operation}</span>
                <span className="buttons">
                  <button type="button" className="rerun" onClick={() => rerun(q)}>Run</button>
                  <button type="button" className="delete danger" onClick={() => remove(q)}>Delete</button>
                </span>
              </li>
            ))}
          </ul>
        </div>
      </div>
      <Results outcome={outcome} operation={operation} runs={runs} />
    </div>
  );
}

function App() {
  const { types, reload: reloadTypes, error } = useTypes();
  const [sources, setSources] = useState([]);
  const [view, setView] = useState('sources');
  const reloadSources = useCallback(() => api.get('/api/data-sources').then(setSources, () => {}), []);
  useEffect(() => { reloadSources(); }, [reloadSources]);
  return (
    <>
      <header>
        <h1>influx-connector</h1>
        <nav>
          <button type="button" id="nav-sources" className={view === 'sources' ? 'tab active' : 'tab'} onClick={() => setView('sources')}>Data sources</button>
          <button type="button" id="nav-queries" className={view === 'queries' ? 'tab active' : 'tab'} onClick={() => { reloadTypes(); setView('queries'); }}>Queries</button>
        </nav>
      </header>
      <main>
        <ErrorBox error={error} />
        {view === 'sources'
          ? <SourcesView types={types} sources={sources} reloadSources={reloadSources} />
          : <QueriesView types={types} sources={sources} reloadTypes={reloadTypes} />}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')).render(<App />);
