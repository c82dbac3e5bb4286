// CommentFlow dashboard: plain ES module, no framework. Every figure comes from the service's HTTP API; Chart.js
// (vendor/chart.umd.js, restored from npm by the build) draws the charts, each with a data table beside it.
const API = '/api/ml/comments';
const KEY = 'commentflow.apiKey';
const PAGES = ['overview', 'try', 'dataset', 'models'];
// Okabe–Ito: distinguishable with the common colour-vision deficiencies.
const COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

const $ = (id) => document.getElementById(id);
const status = (text, error = false) => {
  const s = $('status');
  s.textContent = text;
  s.className = error ? 'error' : '';
};

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)} %`);
const num = (x) => (x === null || x === undefined ? '–' : Number(x).toLocaleString('en'));

class ApiError extends Error {
  constructor(status, message, problem) {
    super(message);
    this.status = status;
    this.problem = problem; // the problem details as sent, when the answer was one
  }
}

// Sends the key kept for this tab; 401 asks for one, 403 says an admin key is needed. Problem details become the message.
async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  const key = sessionStorage.getItem(KEY);
  if (key) headers['X-Api-Key'] = key;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    options = { ...options, body: JSON.stringify(options.json) };
  }
  const response = await fetch(API + path, { ...options, headers });
  if (response.ok) return options.raw ? response : response.json();
  let message = `${response.status} ${response.statusText}`;
  let problem;
  try {
    problem = await response.json();
    const details = problem.errors ? Object.values(problem.errors).flat().join(' ') : problem.detail;
    message = [problem.title, details].filter(Boolean).join(': ') || message;
  } catch { /* not JSON: keep the status line */ }
  if (response.status === 401) {
    showKeyForm(key ? 'The API key was not accepted. Enter another.' : 'This service asks for an API key.');
    message = 'An API key is needed (401).';
  } else if (response.status === 403) {
    message = 'This needs an admin key (403): the key in use is not allowed to do it.';
  }
  throw new ApiError(response.status, message, problem);
}

function showKeyForm(reason) {
  $('key-reason').textContent = `${reason} It is kept in this browser tab only (sessionStorage).`;
  $('key-form').hidden = false;
  $('key-input').focus();
}

// ---- charts ---------------------------------------------------------------------------------------------------
const charts = {};

// Draws (or redraws) a chart and the table that says the same in text.
function draw(id, type, labels, datasets, options = {}) {
  const canvas = $(`chart-${id}`);
  charts[id]?.destroy();
  datasets.forEach((d, i) => {
    const color = d.color || COLORS[i % COLORS.length];
    d.backgroundColor ??= type === 'line' ? color : color;
    d.borderColor ??= color;
    delete d.color;
  });
  charts[id] = new window.Chart(canvas, {
    type,
    data: { labels, datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { legend: { display: datasets.length > 1 } },
      scales: { y: { beginAtZero: true, ...(options.y || {}) }, x: options.x || {} },
    },
  });
  const summary = labels.length === 0 ? 'no data yet' : datasets.map((d) => `${d.label}: ${labels.map((l, i) => `${l} ${d.data[i] ?? 0}`).join(', ')}`).join('; ');
  canvas.setAttribute('aria-label', `${$(canvas.getAttribute('aria-labelledby')).textContent}: ${summary}`);
  $(`table-${id}`).replaceChildren(labels.length === 0 ? el('p', {}, 'No data yet.') : el('table', {},
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, options.labelHeader || 'Value'), datasets.map((d) => el('th', { scope: 'col' }, d.label)))),
    el('tbody', {}, labels.map((l, i) => el('tr', {}, el('th', { scope: 'row' }, l), datasets.map((d) => el('td', {}, d.data[i] ?? 0)))))));
}

const MAX_BARS = 15;

// The largest values as bars; past MAX_BARS the rest are summed into one "(others)" bar, so a long tail stays readable.
function bars(id, counts, label, header) {
  let entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (entries.length > MAX_BARS) {
    const rest = entries.slice(MAX_BARS - 1);
    entries = [...entries.slice(0, MAX_BARS - 1), [`(${rest.length} others)`, rest.reduce((s, e) => s + e[1], 0)]];
  }
  draw(id, 'bar', entries.map((e) => e[0]), [{ label, data: entries.map((e) => e[1]) }], { labelHeader: header });
}

// ---- overview -------------------------------------------------------------------------------------------------
// The acceptance rate over every engine: (accepted + edited) / shown, as ml-stats defines it per engine.
function acceptance(stats) {
  const rows = Object.values(stats.feedback.by_engine || {});
  const shown = rows.reduce((s, r) => s + r.shown, 0);
  return shown === 0 ? null : rows.reduce((s, r) => s + r.accepted + r.edited, 0) / shown;
}

function kpis(target, items) {
  $(target).replaceChildren(...items.map(([name, value, id]) => el('div', {}, el('dt', {}, name), el('dd', { id }, value))));
}

// Days without samples are zeros on the line, not skipped; a span over a year is drawn as stored.
function fillDays(days) {
  if (days.length < 2) return days;
  const DAY = 86_400_000;
  const first = Date.parse(days[0].day);
  const span = (Date.parse(days[days.length - 1].day) - first) / DAY;
  if (span > 400) return days;
  const byDay = new Map(days.map((d) => [d.day, d.samples]));
  return Array.from({ length: span + 1 }, (_, i) => {
    const day = new Date(first + i * DAY).toISOString().slice(0, 10);
    return { day, samples: byDay.get(day) ?? 0 };
  });
}

async function loadOverview() {
  const [stats, daily, activity] = await Promise.all([api('/ml-stats'), api('/samples/daily'), api('/activity')]);
  const s = stats.stats;
  const c = stats.capture;
  kpis('kpis', [
    ['Samples', num(s.total_samples), 'kpi-samples'],
    ['Suggestions', num(s.total_suggestions), 'kpi-suggestions'],
    ['Comments', num(s.total_comments), 'kpi-comments'],
    ['Acceptance rate', pct(acceptance(s)), 'kpi-acceptance'],
    ['Feedback', num(s.feedback.total), 'kpi-feedback'],
    ['Compression', s.compressed ? 'on' : 'off', 'kpi-compression'],
    ['Storage', s.storage, 'kpi-storage'],
  ]);
  kpis('capture', [
    ['Enqueued', num(c.enqueued)], ['Written', num(c.written)], ['Duplicates', num(c.duplicates)], ['Dropped', num(c.dropped)],
    ['Failed writes', num(c.failed_writes)], ['Lost', num(c.lost)], ['Queue', `${num(c.queue_depth)} / ${num(c.queue_capacity)}`],
  ]);
  const days = fillDays(daily.days);
  draw('daily', 'line', days.map((d) => d.day), [{ label: 'Samples', data: days.map((d) => d.samples) }], { labelHeader: 'Day (UTC)' });
  const byType = Object.fromEntries(Object.entries(s.feedback.by_type || {}).map(([t, v]) => [t, v.shown]));
  bars('type', byType, 'Suggestions', 'Type');
  bars('issue', s.by_issue_type, 'Samples', 'Issue type');
  bars('status', s.by_status, 'Samples', 'Status');
  bars('priority', s.by_priority, 'Samples', 'Priority');
  bars('language', s.by_language, 'Samples', 'Language');

  const minutes = activity.minutes;
  const engines = [...new Set(minutes.flatMap((m) => Object.keys(m.answers)))].sort();
  const time = (m) => m.minute.slice(11, 16);
  draw('engines', 'bar', minutes.map(time), engines.map((e) => ({ label: e, data: minutes.map((m) => m.answers[e] || 0) })),
    { labelHeader: 'Minute (UTC)', x: { stacked: true }, y: { stacked: true } });
  const latency = Object.entries(activity.latency);
  draw('latency', 'bar', latency.map((l) => l[0]), ['p50', 'p90', 'p99'].map((p) => ({ label: p, data: latency.map((l) => l[1][p]) })),
    { labelHeader: 'Engine' });
  return s;
}

// ---- try it ---------------------------------------------------------------------------------------------------
// Whether the service has Jira (GET /health says, never its address): loading by key and posting back need it.
const jira = { configured: false };

async function loadTry() {
  const health = await api('/health');
  jira.configured = Boolean(health.jira?.configured);
  $('jira-form').hidden = !jira.configured;
  await refreshRate();
}

// Jira's own words from a problem answer (jira_status, jira_messages), after the problem's title and detail.
function jiraProblem(e) {
  const p = e.problem || {};
  return p.jira_status ? `${e.message} (Jira status ${p.jira_status})` : e.message;
}

async function refreshRate() {
  const stats = await api('/ml-stats');
  $('try-rate').textContent = pct(acceptance(stats.stats));
}

async function sendFeedback(card, suggestion, action, finalText) {
  const body = { suggestion_id: suggestion.id, action, agent: $('t-agent').value.trim() || undefined };
  if (action === 'edited') body.final_text = finalText;
  await api('/feedback', { method: 'POST', json: body });
  card.dataset.feedback = action;
  card.querySelector('.outcome').textContent = `Sent: ${action}`;
  await refreshRate();
}

// Posts the suggestion (or the agent's edit, when the editor is open) to the ticket: a public reply or an internal note.
async function postToJira(art, suggestion, ticketKey, internal, editor) {
  const outcome = art.querySelector('.outcome');
  const buttons = [...art.querySelectorAll('.post')];
  const body = { ticket_key: ticketKey, suggestion_id: suggestion.id, internal, agent: $('t-agent').value.trim() || undefined };
  if (!editor.hidden && editor.value.trim() && editor.value !== suggestion.text) body.text = editor.value;
  buttons.forEach((b) => { b.disabled = true; });
  outcome.classList.remove('error');
  outcome.textContent = `Posting to ${ticketKey}…`;
  try {
    const r = await api('/jira/comment', { method: 'POST', json: body });
    art.dataset.posted = r.internal ? 'internal' : 'public';
    if (r.feedback) art.dataset.feedback = r.feedback.action;
    outcome.textContent = `Posted to ${r.ticket_key} as ${r.internal ? 'an internal note' : 'a public reply'} (Jira comment ${r.comment_id})${r.feedback ? `; sent: ${r.feedback.action}` : ''}`;
    await refreshRate();
  } catch (e) {
    buttons.forEach((b) => { b.disabled = false; }); // nothing was posted: the agent may try again
    outcome.classList.add('error');
    outcome.textContent = jiraProblem(e);
  }
}

function card(suggestion, engine, ticketKey) {
  const text = el('p', { class: 'text' }, suggestion.text);
  const outcome = el('p', { class: 'outcome', role: 'status' });
  const editor = el('textarea', { 'aria-label': 'Edited text', rows: 3, hidden: true });
  const art = el('article', { class: 'card', 'data-id': suggestion.id });
  const act = (action) => async () => {
    try {
      if (action === 'edited' && editor.hidden) {
        editor.hidden = false;
        editor.value = suggestion.text;
        editor.focus();
        return;
      }
      await sendFeedback(art, suggestion, action, editor.value);
    } catch (e) {
      outcome.textContent = e.message;
    }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(suggestion.text);
      await sendFeedback(art, suggestion, 'accepted'); // copying the text is using it
      outcome.textContent = 'Copied to the clipboard; sent: accepted';
    } catch (e) {
      outcome.textContent = e.message;
    }
  };
  // Copying the text by hand (select, Ctrl+C) is using it too; once per card.
  text.addEventListener('copy', () => {
    if (art.dataset.feedback) return;
    sendFeedback(art, suggestion, 'accepted').catch((e) => { outcome.textContent = e.message; });
  });
  art.append(
    el('header', {}, el('span', { class: `badge type-${suggestion.type}` }, suggestion.type),
      el('span', { class: 'confidence' }, `confidence ${pct(suggestion.confidence)}`), el('span', { class: 'engine' }, `engine ${engine}`)),
    text, editor,
    el('div', { class: 'row' },
      el('button', { type: 'button', onclick: act('accepted') }, 'Accept'),
      el('button', { type: 'button', class: 'secondary', onclick: act('edited') }, 'Edit'),
      el('button', { type: 'button', class: 'secondary', onclick: act('dismissed') }, 'Dismiss'),
      el('button', { type: 'button', class: 'secondary', onclick: copy }, 'Copy')),
    // Posting needs Jira and a ticket to post to.
    jira.configured && ticketKey ? el('div', { class: 'row' },
      el('button', { type: 'button', class: 'secondary post', onclick: () => postToJira(art, suggestion, ticketKey, false, editor) }, 'Post to Jira as public reply'),
      el('button', { type: 'button', class: 'secondary post', onclick: () => postToJira(art, suggestion, ticketKey, true, editor) }, 'Post to Jira as internal note')) : null,
    outcome);
  return art;
}

function showAnswer(answer, ticketKey, from) {
  $('try-meta').textContent = `${answer.count} suggestions${from} from ${answer.engine} (${answer.model})${answer.cached ? ', cached' : ''}${answer.fallback ? `; ${answer.fallback.from} fell back: ${answer.fallback.reason}` : ''}.`;
  $('cards').replaceChildren(...answer.suggestions.map((s) => card(s, answer.engine, ticketKey)));
}

// Suggestions for a ticket read from Jira by its key (the service reads it: summary, description, status, last comments).
async function loadFromJira(event) {
  event.preventDefault();
  const key = $('jira-key').value.trim();
  try {
    status(`Reading ${key} from Jira…`);
    const answer = await api('/suggestions', { method: 'POST', json: { ticket_key: key } });
    showAnswer(answer, key, ` for ${key} (read from Jira)`);
    status('');
    await refreshRate();
  } catch (e) {
    status(jiraProblem(e), true);
  }
}

async function suggest(event) {
  event.preventDefault();
  const f = event.target.elements;
  const comments = f.comments.value.split('\n').map((c) => c.trim()).filter(Boolean);
  const body = {
    ticket_key: f.ticket_key.value.trim() || undefined,
    summary: f.summary.value,
    description: f.description.value,
    issue_type: f.issue_type.value,
    status: f.status.value,
    priority: f.priority.value,
    all_comments: comments,
  };
  try {
    status('Asking for suggestions…');
    const answer = await api('/suggestions', { method: 'POST', json: body });
    showAnswer(answer, body.ticket_key, '');
    status('');
    await refreshRate();
  } catch (e) {
    status(e.message, true);
  }
}

// ---- dataset --------------------------------------------------------------------------------------------------
const browse = { page: 1, size: 20, q: '', total: 0 };

function sampleView(s) {
  return el('article', { class: 'sample', 'data-hash': s.context_hash },
    el('header', {}, el('strong', {}, s.ticket_key || '(no key)'), ' ', el('time', { datetime: s.created_at }, s.created_at.replace('T', ' ').slice(0, 19)),
      ` · ${s.issue_type} · ${s.status} · ${s.priority}${s.language ? ` · ${s.language}` : ''} · ${s.engine} (${s.model}) · ${s.latency_ms} ms`),
    el('p', { class: 'summary' }, s.summary),
    s.comments.length ? el('p', { class: 'muted' }, `${s.comments.length} comment(s); last: ${s.comments[s.comments.length - 1]}`) : null,
    el('ol', {}, s.suggestions.map((g) => el('li', {},
      el('span', { class: `badge type-${g.type}` }, g.type), ` ${pct(g.confidence)} `, g.text,
      g.feedback.map((f) => el('span', { class: `badge fb-${f.action}` }, `${f.action}${f.agent ? ` by ${f.agent}` : ''}${f.final_text ? `: “${f.final_text}”` : ''}`))))));
}

async function loadDataset() {
  const query = new URLSearchParams({ page: browse.page, size: browse.size });
  if (browse.q) query.set('q', browse.q);
  const result = await api(`/samples?${query}`);
  browse.total = result.total;
  const pages = Math.max(1, Math.ceil(result.total / result.size));
  $('page-info').textContent = `${num(result.total)} samples${browse.q ? ` matching “${browse.q}”` : ''}, newest first; page ${result.page} of ${pages}.`;
  $('samples').replaceChildren(...(result.samples.length ? result.samples.map(sampleView) : [el('p', {}, 'No samples.')]));
  $('page-prev').disabled = result.page <= 1;
  $('page-next').disabled = result.page >= pages;
}

async function download(format) {
  try {
    const response = await api(`/export?format=${format}`, { raw: true });
    const name = /filename="?([^";]+)/.exec(response.headers.get('Content-Disposition') || '')?.[1] || `export-${format}`;
    const url = URL.createObjectURL(await response.blob());
    el('a', { href: url, download: name }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status(`Exported ${name}.`);
  } catch (e) {
    status(e.message, true);
  }
}

// ---- models ---------------------------------------------------------------------------------------------------
function fixed(x, digits = 3) {
  return x === null || x === undefined ? '–' : Number(x).toFixed(digits);
}

async function loadModels() {
  const models = await api('/models');
  $('versions').replaceChildren(models.versions.length === 0 ? el('p', {}, 'No model trained yet.') : el('table', { id: 'versions-table' },
    el('caption', {}, `Active: ${models.active ?? 'none'}; serving: ${models.serving ?? 'none'}`),
    el('thead', {}, el('tr', {}, ['Version', 'Created', 'Samples', 'Retrieval items', 'CV ROUGE-L', 'Type macro-F1', 'Trainer', 'Snapshot', 'Active', '']
      .map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, models.versions.map((v) => el('tr', { 'data-version': v.version },
      el('th', { scope: 'row' }, v.version), el('td', {}, v.created_at.slice(0, 19).replace('T', ' ')), el('td', {}, num(v.samples)),
      el('td', {}, num(v.retrieval_items)), el('td', {}, fixed(v.cross_validated_rouge_l)), el('td', {}, fixed(v.type_macro_f1)),
      el('td', {}, v.type_trainer ?? '–'), el('td', {}, v.snapshot_id ?? '–'), el('td', {}, v.active ? 'yes' : ''),
      el('td', {}, v.active ? '' : el('button', { type: 'button', class: 'secondary', onclick: () => modelAction(`/models/${encodeURIComponent(v.version)}/promote`, `Promoted ${v.version}.`) }, `Promote ${v.version}`)))))));
  const sh = models.shadow;
  $('shadow-total').textContent = sh.compared === 0 ? 'No shadow comparisons since start (they happen when Ollama answers and a model is active).'
    : `${num(sh.compared)} comparisons since start: type agreement ${pct(sh.type_agreement)}, text ROUGE-L ${fixed(sh.text_rouge_l)}, ${num(sh.skipped)} skipped.`;
  const activity = await api('/activity');
  const minutes = activity.minutes.filter((m) => m.shadow_compared > 0);
  draw('shadow', 'line', minutes.map((m) => m.minute.slice(11, 16)), [{ label: 'Type agreement', data: minutes.map((m) => m.shadow_type_agreement) }],
    { labelHeader: 'Minute (UTC)', y: { max: 1 } });
  await loadEvaluation();
}

async function loadEvaluation() {
  let report;
  try {
    report = await api('/evaluation');
  } catch (e) {
    if (e.status !== 404) throw e;
    $('evaluation').replaceChildren(el('p', {}, 'No evaluation yet: run “commentflow evaluate” on this store.'));
    $('confusion').replaceChildren(el('p', {}, 'No confusion matrix without an evaluation.'));
    return;
  }
  const r = report.retrieval;
  const t = report.types;
  const rows = [
    ['Train / test contexts', `${num(report.train)} / ${num(report.test)}`],
    ['Retrieval ROUGE-L (random same language)', `${fixed(r.rouge_l)} (${fixed(r.random_same_language_rouge_l)})`],
    ['Retrieval token F1 (random same language)', `${fixed(r.token_f1)} (${fixed(r.random_same_language_token_f1)})`],
    t ? ['Type accuracy / macro-F1', `${fixed(t.accuracy)} / ${fixed(t.macro_f1)}`] : null,
    t ? ['Majority baseline accuracy / macro-F1', `${fixed(t.majority_accuracy)} / ${fixed(t.majority_macro_f1)}`] : null,
    t ? ['Rules engine accuracy / macro-F1', `${fixed(t.rules_accuracy)} / ${fixed(t.rules_macro_f1)}`] : null,
    report.ollama ? ['Agreement with Ollama’s types', `${pct(report.ollama.type_accuracy)} on ${num(report.ollama.samples)} (goal ${pct(report.ollama.goal)}: ${report.ollama.meets_goal ? 'met' : 'not met'})`] : null,
    report.agents ? ['Agreement with agents’ kept comments', `${pct(report.agents.accuracy)} on ${num(report.agents.contexts)}`] : null,
    ['Suggested Local:Threshold', fixed(report.suggested_threshold, 2)],
  ].filter(Boolean);
  $('evaluation').replaceChildren(el('dl', { class: 'report' }, rows.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v)))),
    el('details', {}, el('summary', {}, 'Whole report (JSON)'), el('pre', {}, JSON.stringify(report, null, 2))));
  if (!t) {
    $('confusion').replaceChildren(el('p', {}, 'The evaluated comments carry no types: no confusion matrix.'));
    return;
  }
  // A heat map as a table: readable by screen readers, each cell's shade proportional to its share of its row.
  $('confusion').replaceChildren(el('table', { class: 'heat', id: 'confusion-table', 'aria-labelledby': 'confusion-title' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'true \\ predicted'), t.labels.map((l) => el('th', { scope: 'col' }, l)))),
    el('tbody', {}, t.confusion.map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      return el('tr', {}, el('th', { scope: 'row' }, t.labels[i]), row.map((n) => {
        const share = n / total;
        // Text switches to white where the shade gets dark enough: both sides of 0.78 keep about 4.5:1 contrast.
        return el('td', { style: `background: rgba(11, 83, 148, ${share.toFixed(3)}); color: ${share >= 0.78 ? '#fff' : '#111'}`, title: `${n} of ${total}` }, n);
      }));
    }))));
}

async function modelAction(path, done) {
  try {
    await api(path, { method: 'POST' });
    status(done);
    await loadModels();
  } catch (e) {
    status(e.message, true);
  }
}

async function train(event) {
  event.preventDefault();
  const query = new URLSearchParams({ promote: $('train-promote').checked, force: $('train-force').checked });
  try {
    let job = await api(`/train?${query}`, { method: 'POST' });
    while (job.state === 'queued' || job.state === 'running') {
      $('train-state').textContent = `Training ${job.id}: ${job.state}${job.progress ? ` (${job.progress})` : ''}…`;
      await new Promise((r) => setTimeout(r, 500));
      job = await api(`/train/${job.id}`);
    }
    $('train-state').textContent = job.state === 'succeeded' ? `Trained ${job.version}.` : `Training ${job.state}: ${job.error ?? ''}`;
    await loadModels();
  } catch (e) {
    $('train-state').textContent = e.message;
  }
}

// ---- pages ----------------------------------------------------------------------------------------------------
const loaders = { overview: loadOverview, try: loadTry, dataset: loadDataset, models: loadModels };

async function show(page) {
  if (!PAGES.includes(page)) page = 'overview';
  for (const p of PAGES) {
    const selected = p === page;
    $(p).hidden = !selected;
    const tab = $(`tab-${p}`);
    tab.setAttribute('aria-selected', selected);
    tab.tabIndex = selected ? 0 : -1;
  }
  document.body.dataset.page = page;
  document.body.dataset.loaded = '';
  try {
    await loaders[page]();
    status('');
  } catch (e) {
    status(e.message, true);
  }
  document.body.dataset.loaded = page; // tests and scripts wait for this
  if (performance.getEntriesByName('dashboard-loaded').length === 0) performance.mark('dashboard-loaded'); // first page with its data drawn
}

function init() {
  const tabs = [...document.querySelectorAll('[role=tab]')];
  tabs.forEach((tab, i) => {
    // pushState rather than location.hash: a fragment navigation would take the focus away from the tab.
    tab.addEventListener('click', () => {
      history.pushState(null, '', `#${tab.dataset.page}`);
      show(tab.dataset.page);
    });
    // Arrow keys move between tabs (WAI-ARIA tabs pattern); Enter and Space click the focused one.
    tab.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (step) {
        const next = tabs[(i + step + tabs.length) % tabs.length];
        next.focus();
        next.click();
      }
    });
  });
  window.addEventListener('popstate', () => show(location.hash.slice(1)));
  $('key-button').addEventListener('click', () => showKeyForm('Enter the API key to use.'));
  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, $('key-input').value.trim());
    $('key-input').value = '';
    $('key-form').hidden = true;
    show(location.hash.slice(1));
  });
  $('key-clear').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    $('key-form').hidden = true;
    status('Key forgotten.');
  });
  $('try-form').addEventListener('submit', suggest);
  $('jira-form').addEventListener('submit', loadFromJira);
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    browse.q = $('search-q').value.trim();
    browse.page = 1;
    loadDataset().catch((err) => status(err.message, true));
  });
  $('page-prev').addEventListener('click', () => { browse.page--; loadDataset().catch((err) => status(err.message, true)); });
  $('page-next').addEventListener('click', () => { browse.page++; loadDataset().catch((err) => status(err.message, true)); });
  $('delete-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = $('delete-key').value.trim();
    try {
      const r = await api(`/samples?ticket_key=${encodeURIComponent(key)}`, { method: 'DELETE' });
      status(`Erased ${key}: ${r.samples_deleted} samples, ${r.feedback_deleted} feedback rows, ${r.snapshots_deleted} snapshots.`);
      await loadDataset();
    } catch (err) {
      status(err.message, true);
    }
  });
  document.querySelectorAll('#exports button').forEach((b) => b.addEventListener('click', () => download(b.dataset.format)));
  $('train-form').addEventListener('submit', train);
  $('rollback').addEventListener('click', () => modelAction('/models/rollback', 'Rolled back.'));
  show(location.hash.slice(1));
}

init();
