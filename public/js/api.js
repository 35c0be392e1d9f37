// Thin wrappers over the HTTP API. Every failure becomes an ApiError carrying the server's {detail, code}.

export class ApiError extends Error {
  constructor(detail, { status = 0, code = 'NETWORK_ERROR' } = {}) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

async function errorFrom(res) {
  try {
    const body = await res.json();
    if (body && typeof body.detail === 'string') return new ApiError(body.detail, { status: res.status, code: body.code });
  } catch {
    // Not JSON (a proxy's error page): fall through to a generic message.
  }
  return new ApiError(`The server answered ${res.status} ${res.statusText}`.trim(), { status: res.status, code: 'HTTP_ERROR' });
}

async function call(url, init) {
  let res;
  try {
    res = await fetch(url, init);
  } catch {
    throw new ApiError('The server cannot be reached. Check your connection; the page keeps retrying.');
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}

const postJson = (url, body) =>
  call(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then((res) => res.json());

const id = (threadId) => encodeURIComponent(threadId);

export const startDocument = (body) => postJson('/api/generate-petition', body);
export const pauseDocument = (threadId) => postJson(`/api/pause/${id(threadId)}`);
export const resumeDocument = (threadId) => postJson(`/api/resume/${id(threadId)}`);
export const pdfUrl = (threadId) => `/api/download-petition-pdf/${id(threadId)}`;
export const eventsUrl = (threadId) => `/api/document/events/${id(threadId)}`;

/** The preview; the browser revalidates with the ETag, so an unchanged document costs a 304. */
export const fetchPreview = (threadId) =>
  call(`/api/document/preview/${id(threadId)}`, { cache: 'no-cache', headers: { Accept: 'application/json' } }).then((res) =>
    res.json(),
  );

/**
 * Uploads one exhibit with XMLHttpRequest, the only browser API that reports upload progress.
 * Resolves with the API's answer; rejects with an ApiError built from the {detail, code} body.
 */
export function uploadExhibit(threadId, exhibitId, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/upload-exhibit/${id(threadId)}`);
    xhr.responseType = 'text';
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100);
        resolve(body);
      } else if (body && typeof body.detail === 'string') {
        reject(new ApiError(body.detail, { status: xhr.status, code: body.code }));
      } else {
        reject(new ApiError(`The server answered ${xhr.status}`, { status: xhr.status, code: 'HTTP_ERROR' }));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError('The upload failed: the server cannot be reached.')));
    xhr.addEventListener('abort', () => reject(new ApiError('The upload was cancelled.', { code: 'ABORTED' })));
    const form = new FormData();
    // The id goes first so the server can check it before it reads the file.
    form.append('exhibit_id', exhibitId);
    form.append('file', file, file.name);
    xhr.send(form);
  });
}
