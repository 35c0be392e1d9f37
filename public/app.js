import { ApiError, deleteDocument, fetchFile, listDocuments, pauseDocument, resumeDocument, startDocument, uploadExhibit } from './js/api.js';
import { onUnauthorized, setToken, token, userOfToken } from './js/auth.js';
import { DocumentList } from './js/list.js';
import { LiveDocument } from './js/live.js';
import { DocumentView } from './js/render.js';
import * as fmt from './js/format.js';

const $ = (id) => document.getElementById(id);
const LOG_LIMIT = 50;
const EXHIBIT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const MODE_TEXT = {
  idle: 'Not connected',
  list: 'Up to date: the list is checked every 2 s',
  connecting: 'Connecting…',
  live: 'Live: updates are pushed by the server',
  polling: 'Live stream unavailable: checking every 2 s',
  offline: 'Server unreachable: retrying…',
  ended: 'Finished: no more updates',
};

const view = new DocumentView();
let current = null; // { threadId, live, state, metadataAt }

function setMode(mode) {
  const node = $('connection');
  node.dataset.mode = mode;
  node.textContent = MODE_TEXT[mode] ?? mode;
}

function announce(text) {
  $('announcer').textContent = text;
}

const list = new DocumentList({
  onOpen: (threadId) => navigate(threadId, { focus: true }),
  onDelete: (item) => void confirmDelete(item),
  onMode: setMode,
});

/** One of the three views: the sign-in form, the list (home) or one document. */
function showView(name) {
  $('signin').hidden = name !== 'signin';
  $('home').hidden = name !== 'home';
  $('document').hidden = name !== 'document';
}

function render() {
  if (current?.state) view.render(current.state, current);
}

const logKey = (l) => `${l.timestamp}|${l.level}|${l.agent}|${l.message}`;

/** Applies one stream event to the state; events carry absolute values, so applying one twice is harmless. */
function applyEvent(state, type, data) {
  switch (type) {
    case 'section': {
      const i = state.sections.findIndex((s) => s.section_id === data.section_id);
      if (i >= 0) state.sections[i] = data;
      else state.sections.push(data);
      break;
    }
    case 'exhibit': {
      state.exhibits = state.exhibits.filter((x) => x.exhibit_id !== data.exhibit_id);
      state.exhibits.push(data);
      break;
    }
    case 'log': {
      // A replay after a poll may repeat a line the poll already showed.
      if (!state.logs.some((l) => logKey(l) === logKey(data))) state.logs = [...state.logs, data].slice(-LOG_LIMIT);
      break;
    }
    case 'metadata':
      state.metadata = data;
      return true;
    case 'status':
      state.status = data.status;
      if (data.error_message) state.error_message = data.error_message;
      break;
  }
  return false;
}

const TEXT_POLL_MS = 2000;

/**
 * The stream ends when a document completes, yet its exhibits' text may still be being read: while one is,
 * the preview is read again every 2 s.
 */
function followPendingText(doc) {
  if (doc.textTimer || current !== doc || doc.live.mode !== 'ended') return;
  if (!doc.state?.exhibits.some((x) => x.text_status === 'pending')) return;
  doc.textTimer = setTimeout(() => {
    doc.textTimer = null;
    if (current === doc) void doc.live.refreshUnlessLive();
  }, TEXT_POLL_MS);
}

function stopDocument() {
  current?.live.stop();
  current = null;
}

function showHome({ focus = false } = {}) {
  stopDocument();
  showView('home');
  document.title = 'Your documents · Document Monitor';
  setMode('list');
  list.start();
  void list.reload();
  if (focus) $('list-title').focus();
}

function openThread(threadId, { focus = false } = {}) {
  stopDocument();
  list.stop();
  $('open-error').textContent = '';
  $('thread-input').value = threadId;
  showView('document');
  view.reset(threadId);
  const doc = { threadId, state: null, metadataAt: performance.now(), live: null, textTimer: null };
  let lastStatus = null;
  const statusChanged = () => {
    if (doc.state && doc.state.status !== lastStatus) {
      if (lastStatus !== null) announce(`Status: ${fmt.status(doc.state.status)}`);
      lastStatus = doc.state.status;
    }
  };
  doc.live = new LiveDocument(threadId, {
    onSnapshot(preview) {
      doc.state = preview;
      doc.metadataAt = performance.now();
      statusChanged();
      render();
      followPendingText(doc);
    },
    onEvent(type, data) {
      if (!doc.state) return;
      if (applyEvent(doc.state, type, data)) doc.metadataAt = performance.now();
      statusChanged();
      render();
    },
    onMode: setMode,
    onEnd(reason) {
      followPendingText(doc);
      if (reason === 'deleted') {
        $('doc-error').textContent = 'This document was deleted.';
        $('pause-button').disabled = true;
        $('resume-button').disabled = true;
      }
    },
    onGone() {
      if (current !== doc) return;
      window.history.replaceState({}, '', '/');
      showHome();
      $('open-error').textContent = `Document ${threadId} was not found. It may have expired or been deleted.`;
    },
  });
  current = doc;
  doc.live.start();
  if (focus) $('doc-title').focus();
}

/** The open document lives in the URL (?thread=…) so a reload or a shared link reopens it. */
function navigate(threadId, options) {
  const url = new URL(window.location.href);
  if (url.searchParams.get('thread') !== threadId) {
    url.search = '';
    url.hash = '';
    url.searchParams.set('thread', threadId);
    window.history.pushState({ threadId }, '', url);
  }
  openThread(threadId, options);
}

function navigateHome() {
  if (window.location.search || window.location.hash) window.history.pushState({}, '', '/');
  showHome({ focus: true });
}

/** Shows what the URL names: a document, or the list. */
function route() {
  const threadId = new URL(window.location.href).searchParams.get('thread');
  if (threadId) openThread(threadId);
  else showHome();
}

// ---- Signing in -------------------------------------------------------------------------------------

/** The parts of the page that depend on being signed in. */
function applySignedIn() {
  const t = token();
  $('who').hidden = !t;
  $('who-name').textContent = t ? userOfToken(t) ?? 'a token without a user' : '';
  // Signed in, the server takes the user from the token: no user field to fill or filter by.
  $('user-id-field').hidden = !!t;
  $('user-id').required = !t;
  $('filter-user-field').hidden = !!t;
  list.showUser = !t;
}

/** The API answered 401: forget the token it refused and ask for one, saying why. */
function showSignin(reason) {
  list.stop();
  stopDocument();
  setToken(null);
  applySignedIn();
  setMode('idle');
  showView('signin');
  $('signin-reason').textContent = reason ? `Sign in to continue: ${reason}` : '';
  document.title = 'Sign in · Document Monitor';
  $('token-input').focus();
}

onUnauthorized((reason) => showSignin(reason));

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const value = $('token-input').value.trim().replace(/^Bearer\s+/i, '');
  if (!value) {
    $('signin-reason').textContent = 'Paste your access token.';
    $('token-input').focus();
    return;
  }
  setToken(value);
  try {
    // One cheap call checks the token before the page relies on it; a 401 brings this form back with the reason.
    await listDocuments({ limit: '1' });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) $('signin-reason').textContent = err.message;
    return;
  }
  $('token-input').value = '';
  $('signin-reason').textContent = '';
  applySignedIn();
  announce(`Signed in as ${userOfToken(value) ?? 'the token user'}`);
  route();
});

$('signout-button').addEventListener('click', () => {
  setToken(null);
  applySignedIn();
  announce('Signed out');
  // An API that needs a token answers the next call with 401, which brings the sign-in form.
  route();
});

// ---- The list ---------------------------------------------------------------------------------------

function readFilters() {
  const signedIn = !!token();
  const text = (id) => $(id).value.trim();
  const filters = {
    status: $('filter-status').value,
    document_type: $('filter-type').value,
    case_id: text('filter-case'),
    user_id: signedIn ? '' : text('filter-user'),
  };
  for (const [key, value] of Object.entries(filters)) if (!value) delete filters[key];
  return filters;
}

function applyFilters() {
  for (const input of [$('filter-case'), $('filter-user')]) {
    if (input.value.trim() && !ID.test(input.value.trim())) {
      $('list-error').textContent = `${input.labels[0].textContent}: enter 1–128 letters, digits or . _ : @ -`;
      input.focus();
      return;
    }
  }
  $('list-error').textContent = '';
  list.setFilters(readFilters());
}

$('list-filters').addEventListener('submit', (event) => {
  event.preventDefault();
  applyFilters();
});
$('filter-status').addEventListener('change', applyFilters);
$('filter-type').addEventListener('change', applyFilters);
$('empty-clear').addEventListener('click', () => {
  $('list-filters').reset();
  applyFilters();
});
$('older-button').addEventListener('click', () => list.older());
$('newer-button').addEventListener('click', () => list.newer());

function focusStart(event) {
  event?.preventDefault();
  $('case-id').scrollIntoView({ block: 'center' });
  $('case-id').focus();
}
$('new-link').addEventListener('click', focusStart);
$('empty-start').addEventListener('click', focusStart);

for (const link of [$('home-link'), $('back-link')]) {
  link.addEventListener('click', (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigateHome();
  });
}

/** Asks before deleting; the dialog says what goes. */
async function confirmDelete(item) {
  const dialog = $('confirm-delete');
  const type = fmt.documentType(item.document_type);
  $('confirm-text').textContent =
    `The ${type.toLowerCase()} for case ${item.case_id}, started ${fmt.dateTime(item.created_at)}, is removed with its ` +
    'exhibits and PDF. This cannot be undone.';
  dialog.returnValue = '';
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener('close', resolve, { once: true }));
  if (dialog.returnValue !== 'delete') return;
  const error = current ? $('action-error') : $('list-error');
  try {
    await deleteDocument(item.thread_id);
    announce(`Deleted the ${type.toLowerCase()} for case ${item.case_id}`);
  } catch (err) {
    // Already gone is what was asked for.
    if (!(err instanceof ApiError && err.status === 404)) {
      error.textContent = `Could not delete: ${err instanceof ApiError ? err.message : 'unexpected error'}`;
      return;
    }
  }
  if (current?.threadId === item.thread_id) navigateHome();
  else {
    await list.reload();
    $('list-title').focus();
  }
}

$('delete-button').addEventListener('click', () => {
  const state = current?.state;
  if (state) void confirmDelete({ thread_id: current.threadId, document_type: state.document_type, case_id: state.case_id, created_at: state.created_at });
});

// ---- Starting and opening ---------------------------------------------------------------------------

function lines(value) {
  return value
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

function startBody(form) {
  const data = new FormData(form);
  const text = (name) => String(data.get(name) ?? '').trim();
  const facts = {};
  if (text('beneficiary_name')) facts.beneficiary_name = text('beneficiary_name');
  if (text('field')) facts.field = text('field');
  for (const name of ['awards', 'memberships', 'publications']) {
    const items = lines(String(data.get(name) ?? ''));
    if (items.length) facts[name] = items;
  }
  const body = { case_id: text('case_id'), document_type: text('document_type') || 'petition' };
  // Signed in, the server takes the user from the token.
  if (!token()) body.user_id = text('user_id');
  if (Object.keys(facts).length) body.case_facts = facts;
  return body;
}

async function busy(button, action) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } finally {
    button.removeAttribute('aria-busy');
    button.disabled = false;
  }
}

$('start-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const error = $('start-error');
  error.textContent = '';
  for (const input of [$('case-id'), $('user-id')]) {
    if (input.required && !input.checkValidity()) {
      error.textContent = `${input.labels[0].textContent}: enter 1–128 letters, digits or . _ : @ -`;
      input.focus();
      return;
    }
  }
  await busy($('start-button'), async () => {
    try {
      const started = await startDocument(startBody(form));
      navigate(started.thread_id, { focus: true });
    } catch (err) {
      error.textContent = `Could not start: ${err instanceof ApiError ? err.message : 'unexpected error'}`;
    }
  });
});

$('open-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const threadId = $('thread-input').value.trim();
  if (!threadId) {
    $('open-error').textContent = 'Enter a thread id.';
    $('thread-input').focus();
    return;
  }
  navigate(threadId, { focus: true });
});

// ---- One document -----------------------------------------------------------------------------------

async function transition(action, button) {
  if (!current) return;
  const doc = current;
  $('action-error').textContent = '';
  $('pause-button').disabled = true;
  $('resume-button').disabled = true;
  try {
    const result = await action(doc.threadId);
    // The stream will confirm; showing the new status at once keeps the buttons honest meanwhile.
    if (doc.state && current === doc) doc.state.status = result.status;
    announce(result.message);
    void doc.live.refreshUnlessLive();
  } catch (err) {
    $('action-error').textContent = err instanceof ApiError ? err.message : 'Unexpected error';
  }
  render();
  if (!button.disabled) button.focus();
}

$('pause-button').addEventListener('click', (e) => transition(pauseDocument, e.currentTarget));
$('resume-button').addEventListener('click', (e) => transition(resumeDocument, e.currentTarget));

$('upload-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!current) return;
  const threadId = current.threadId;
  const error = $('upload-error');
  const message = $('upload-message');
  error.textContent = '';
  message.textContent = '';
  const exhibitId = $('exhibit-id').value.trim();
  const file = $('exhibit-file').files[0];
  if (!EXHIBIT_ID.test(exhibitId) || exhibitId.includes('..')) {
    error.textContent =
      'Exhibit id: 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit, without "..".';
    $('exhibit-id').focus();
    return;
  }
  if (!file) {
    error.textContent = 'Choose a file to upload.';
    $('exhibit-file').focus();
    return;
  }
  const row = $('upload-progress-row');
  const bar = $('upload-progress');
  const show = (pct) => {
    bar.value = pct;
    bar.textContent = `${pct}%`;
    $('upload-percent').textContent = `${pct}%`;
  };
  show(0);
  row.hidden = false;
  await busy($('upload-button'), async () => {
    try {
      const result = await uploadExhibit(threadId, exhibitId, file, show);
      message.textContent = `Uploaded ${result.filename} as exhibit ${result.exhibit_id}.`;
      $('upload-form').reset();
      if (current?.threadId === threadId) void current.live.refreshUnlessLive();
    } catch (err) {
      const code = err instanceof ApiError && err.code ? ` (${err.code})` : '';
      error.textContent = `Upload rejected: ${err instanceof ApiError ? err.message : 'unexpected error'}${code}`;
    } finally {
      row.hidden = true;
    }
  });
});

/**
 * Signed in, a plain link to the PDF, an exhibit or its text would be sent without the token: such a click
 * fetches the file with it. A file is saved under its name; a text is shown in a new tab, opened at once (a
 * tab opened after the fetch could be taken for a pop-up).
 */
document.addEventListener('click', async (event) => {
  const link = event.target instanceof Element ? event.target.closest('#pdf-link, .exhibit-link, .exhibit-text-link') : null;
  if (!link || !token() || event.button !== 0) return;
  event.preventDefault();
  const isText = link.classList.contains('exhibit-text-link');
  const name =
    link.id === 'pdf-link' && current?.state ? `${current.state.document_type}_${current.threadId}.pdf` : link.textContent.trim();
  const tab = isText ? window.open('', '_blank') : null;
  try {
    const url = URL.createObjectURL(await fetchFile(link.getAttribute('href')));
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    if (isText) {
      if (tab) tab.location.href = url;
      else window.location.href = url;
      return;
    }
    const save = document.createElement('a');
    save.href = url;
    save.download = name;
    document.body.append(save);
    save.click();
    save.remove();
  } catch (err) {
    tab?.close();
    const what = isText ? 'show the text' : `download ${name}`;
    $('action-error').textContent = `Could not ${what}: ${err instanceof ApiError ? err.message : 'unexpected error'}`;
  }
});

window.addEventListener('popstate', route);

// Elapsed time and the estimate keep moving between server updates.
setInterval(() => {
  if (current?.state?.status === 'generating') view.renderMetadata(current.state, current.metadataAt);
}, 1000);

applySignedIn();
route();
