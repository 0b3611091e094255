// Calls to the service. The access key travels in an HttpOnly cookie the first visit set, so
// this code never holds it; every error comes back as {status, code, message, by_field?, upstream?}.

export class ApiError extends Error {
  constructor(error) {
    super(error.message || 'request failed');
    this.error = error;
  }
}

async function send(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError({ status: 0, code: 'network_error', message: `the service did not answer: ${e.message}` });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let payload;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch (e) {
    throw new ApiError({ status: response.status, code: 'bad_answer', message: text.slice(0, 200) });
  }
  if (!response.ok) throw new ApiError(payload?.error || { status: response.status, code: 'error', message: text });
  return payload;
}

export const api = {
  get: (path) => send('GET', path),
  post: (path, body) => send('POST', path, body ?? {}),
  put: (path, body) => send('PUT', path, body),
  del: (path) => send('DELETE', path),
};

// POST that answers NDJSON: calls onRecord for each line as it arrives; returns the last record.
export async function postStream(path, body, onRecord) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError({ status: 0, code: 'network_error', message: `the service did not answer: ${e.message}` });
  }
  if (!response.ok) {
    const text = await response.text();
    let payload = null;
    try { payload = JSON.parse(text); } catch (e) { /* not JSON: quoted below */ }
    throw new ApiError(payload?.error || { status: response.status, code: 'error', message: text.slice(0, 200) });
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let last = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffered += decoder.decode(value, { stream: true });
    let at;
    while ((at = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      if (line.trim()) {
        last = JSON.parse(line);
        onRecord(last);
      }
    }
    if (done) break;
  }
  if (last === null) throw new ApiError({ status: 0, code: 'cut_off', message: 'the answer ended before its last record' });
  return last;
}
