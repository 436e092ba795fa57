// hivehook's web console: plain DOM, no framework. Every byte of text from the API goes in through
// textContent (never innerHTML), so keys and job output cannot inject markup.
'use strict';
(() => {
const $ = (id) => document.getElementById(id);
const api = (path) => fetch('/api/v1/' + path, {headers: {Accept: 'application/json'}}).then(async (r) => {
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) readTokenNeeded();  // http.read_auth: token (issue 16 P11)
  if (!r.ok) throw new Error(body.error || r.status + ' ' + r.statusText);
  return body;
});
// http.read_auth: token (issue 16 P11): reads need the token too. The one entered at the top is
// sent on reads as the cookie hivehook_token (an EventSource cannot send an Authorization header;
// the daemon takes the cookie for reads only); a 401 asks for it.
function readTokenNeeded() {
  const f = document.getElementById('token');
  if (f && document.activeElement !== f) { f.setAttribute('aria-invalid', 'true'); f.focus(); }
}
function setReadCookie(t) {
  document.cookie = 'hivehook_token=' + encodeURIComponent(t) + '; path=/api/; SameSite=Strict' + (t ? '' : '; max-age=0');
}
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
const stateBadge = (s) => el('span', {class: 'state st-' + String(s).replace(/[^a-z_]/g, '')}, s);
const shortTime = (t) => t ? t.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–';
const ms = (n) => n === null || n === undefined ? '–' : n < 1000 ? n + ' ms' : (n / 1000).toFixed(1) + ' s';
function toast(text) { const t = $('toast'); t.textContent = text; t.hidden = false; clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.hidden = true; }, 6000); }

// Job output made readable: real lines, a traceback's header and final exception stand out.
function outputBlock(label, text) {
  if (!text) return null;
  const pre = el('pre', {class: 'output', tabindex: '0', 'aria-label': label});
  for (const line of text.split('\n')) {
    let cls = null;
    if (/^Traceback \(most recent call last\)/.test(line) || /^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*/.test(line)) cls = 'tb';
    else if (/^\s+File ".*", line \d+/.test(line)) cls = 'loc';
    pre.append(cls ? el('span', {class: cls}, line) : line, '\n');
  }
  return el('div', {}, el('strong', {}, label), pre);
}
function runOutput(run) {
  const parts = [];
  if (run.error) parts.push(el('p', {}, el('strong', {}, 'Reason: '), run.error));
  parts.push(outputBlock('stderr (end)', run.stderr_excerpt || run.stderr_tail));
  if (run.stdout_tail) parts.push(el('details', {}, el('summary', {}, 'stdout (end)'), outputBlock('stdout', run.stdout_tail)));
  if (run.result) parts.push(el('p', {}, el('strong', {}, 'Result: '), el('code', {}, JSON.stringify(run.result))));
  if (parts.every((p) => !p)) parts.push(el('p', {class: 'hint'}, 'no output'));
  return parts;
}

// ---- views (hash routing: #runs, #partitions, #quarantine, #activity, #rules, #object/ID) ----
const views = ['runs', 'partitions', 'quarantine', 'activity', 'rules', 'object'];
function route() {
  const [view, arg] = (location.hash.slice(1) || 'runs').split('/');
  const v = views.includes(view) ? view : 'runs';
  for (const name of views) $(name).hidden = name !== v;
  for (const a of document.querySelectorAll('nav a')) a.setAttribute('aria-current', a.getAttribute('href') === '#' + v ? 'page' : 'false');
  const load = {runs: loadRuns, partitions: loadPartitions, quarantine: loadQuarantine, activity: loadActivity, rules: loadRules,
    object: () => loadObject(arg)}[v];
  if (v === 'partitions') gridAtNewest = true;  // the grid opens on its newest column
  Promise.resolve().then(load).then(() => viewError(null)).catch((e) => viewError('Could not load ' + v + ': ' + e.message));
  loadSummary().catch(() => {});  // the status line agrees with the view just opened
}
// A view that could not be loaded says so above it (the daemon stopped, a 500), rather than
// showing an empty list as if it were the answer (issue 15 finding F6).
function viewError(text) {
  const e = $('view-error');
  e.textContent = text || '';
  e.hidden = !text;
}

// ---- runs, live ----
const runRows = new Map();  // run_id → row
// Cluster mode (docs/cluster.md): the Node column, shown once a run listed names its node (a
// PostgreSQL state); a SQLite state's runs name none, and no empty column is shown.
let runsNode = false;
const nodeCell = (node) => el('td', {class: 'node'}, node || '–');
function showRunsNode() {
  if (runsNode) return;
  runsNode = true;
  $('runs-head').lastElementChild.before(el('th', {scope: 'col', class: 'node'}, 'Node'));
  for (const row of runRows.values()) {  // the rows already listed get their cell too
    row.lastElementChild.before(nodeCell(row.dataset.node));
    const out = row.nextElementSibling;
    if (out && out.classList.contains('output')) out.firstElementChild.setAttribute('colspan', '8');
  }
}
function runRow(run) {
  const open = el('button', {class: 'link', 'aria-expanded': 'false', title: 'show output'}, shortTime(run.started));
  if (run.node) showRunsNode();
  const tr = el('tr', {'data-run': run.run_id, 'data-state': run.state, 'data-duration': String(run.duration_ms), 'data-node': run.node},
    el('td', {}, open), el('td', {}, stateBadge(run.state)), el('td', {}, run.rule), el('td', {}, run.attempt),
    el('td', {}, run.exit_code ?? (run.signal ? 'sig' + run.signal : '–')), el('td', {}, ms(run.duration_ms)),
    runsNode ? nodeCell(run.node) : null,
    el('td', {class: 'key'}, el('a', {href: '#object/' + run.object_id}, run.key)));
  open.addEventListener('click', async () => {
    const next = tr.nextElementSibling;
    if (next && next.classList.contains('output')) { next.remove(); open.setAttribute('aria-expanded', 'false'); return; }
    let full;
    try {
      full = (await api('runs/' + encodeURIComponent(run.run_id))).run;
    } catch (e) {  // the daemon gone: said, never an uncaught rejection (issue 15 finding F6)
      toast('Could not load the run\'s output: ' + e.message);
      return;
    }
    tr.after(el('tr', {class: 'output'}, el('td', {colspan: runsNode ? '8' : '7'}, runOutput(full))));
    open.setAttribute('aria-expanded', 'true');
  });
  return tr;
}
function putRun(run) {
  const body = $('runs-body');
  const row = runRow(run);
  const old = runRows.get(run.run_id);
  if (old) {
    const out = old.nextElementSibling;
    if (out && out.classList.contains('output')) out.remove();
    old.replaceWith(row);
  } else {
    body.prepend(row);
  }
  runRows.set(run.run_id, row);
  while (body.rows.length > 200) { const last = body.rows[body.rows.length - 1]; runRows.delete(last.dataset.run); last.remove(); }
}
async function loadRuns() {
  const {runs} = await api('runs?limit=100');
  $('runs-body').replaceChildren();
  runRows.clear();
  for (const r of runs.reverse()) putRun(r);
}
// Live runs under a burst (issue 15 finding F18: one GET /runs/ID per run event, 3,604 fetches
// for an 1,800-object replay, 2,122 of them refused by the browser, the page frozen ~20 s):
// run events only mark runs as changed; one list request at a time, at most one per
// kRunsRefreshMs, brings every change since (the list shows 200 rows anyway). With the Runs view
// hidden nothing is fetched; opening it loads the list afresh.
const kRunsRefreshMs = 500;
const changedRuns = new Set();
let runsTimer = null, runsInFlight = false;
function runChanged(runId) {
  if ((location.hash.slice(1) || 'runs').split('/')[0] !== 'runs') return;  // loaded afresh when opened
  changedRuns.add(runId);
  if (!runsTimer && !runsInFlight) runsTimer = setTimeout(refreshRuns, kRunsRefreshMs);
}
async function refreshRuns() {
  runsTimer = null;
  if (!changedRuns.size) return;
  const wanted = new Set(changedRuns);
  changedRuns.clear();
  runsInFlight = true;
  try {
    const {runs} = await api('runs?limit=' + Math.min(200, Math.max(50, wanted.size)));
    for (const r of runs.reverse()) {
      wanted.delete(r.run_id);
      const row = runRows.get(r.run_id);
      if (row && row.dataset.state === r.state && row.dataset.duration === String(r.duration_ms)) continue;
      putRun(r);
    }
    // An older run still listed that changed (a long job ending behind a burst): a few by id.
    for (const id of [...wanted].filter((id) => runRows.has(id)).slice(0, 5))
      putRun((await api('runs/' + encodeURIComponent(id))).run);
  } catch (e) {
    for (const id of wanted) changedRuns.add(id);  // tried again when the stream is back
  } finally {
    runsInFlight = false;
    if (changedRuns.size && !runsTimer && connected) runsTimer = setTimeout(refreshRuns, kRunsRefreshMs);
  }
}

// ---- partitions ----
let gridData = [];
function dominant(objects) {
  const order = ['quarantined', 'failed', 'failed_kept', 'move_failed', 'pending', 'succeeded', 'archived'];
  const states = Object.keys(objects);
  for (const s of order) if (objects[s]) return s;
  return states.sort((a, b) => objects[b] - objects[a])[0] || 'none';
}
// The order of landing/key_order.h (compare_keys): segment by segment, the name before '=' by
// bytes, then the value — numerically when both are digits (day=9 before day=10), an integer
// before a non-integer, else by bytes.
function compareNumbers(a, b) {  // partition values: integers numerically ("03" equals "3"), before text
  const da = /^[0-9]+$/.test(a), db = /^[0-9]+$/.test(b);
  if (da !== db) return da ? -1 : 1;
  if (da) {
    a = a.replace(/^0+(?=.)/, ''); b = b.replace(/^0+(?=.)/, '');
    if (a.length !== b.length) return a.length - b.length;
  }
  return a === b ? 0 : a < b ? -1 : 1;
}
function compareKeys(a, b) {  // landing/key_order.cpp compare_keys: every level by value, then bytes
  const sa = a.split('/'), sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const ea = sa[i].indexOf('='), eb = sb[i].indexOf('=');
    const na = ea < 0 ? '' : sa[i].slice(0, ea + 1), nb = eb < 0 ? '' : sb[i].slice(0, eb + 1);
    if (na !== nb) return na < nb ? -1 : 1;
    const c = compareNumbers(sa[i].slice(na.length), sb[i].slice(nb.length));
    if (c) return c;
  }
  if (sa.length !== sb.length) return sa.length - sb.length;
  return a === b ? 0 : a < b ? -1 : 1;
}
// The grid shows kGridColumns columns at a time (the newest first; older and newer pages), each
// cell found through an index: 3,000 days x 200 tables drew 614,652 cells in ~20 s, scanning every
// cell for every table and column (issue 15, fault 12).
const kGridColumns = 31;
let gridPage = 0;  // 0: the newest columns
let gridOpened = null;  // {table, col}: the cell whose panel is open
async function loadPartitions() {
  gridData = (await api('partitions')).partitions;
  const colOf = (c) => c.day || c.partition || '(none)';
  const tables = [...new Set(gridData.map((c) => c.table))].sort(compareKeys);
  const allCols = [...new Set(gridData.map(colOf))].sort(compareKeys);
  const pages = Math.max(1, Math.ceil(allCols.length / kGridColumns));
  gridPage = Math.min(gridPage, pages - 1);
  const end = allCols.length - gridPage * kGridColumns;
  const cols = allCols.slice(Math.max(0, end - kGridColumns), end);
  const index = new Map();
  for (const c of gridData) {
    const k = c.table + '\u0000' + colOf(c);
    if (!index.has(k)) index.set(k, []);
    index.get(k).push(c);
  }
  // Failed, late and missing cells on the other pages, or on this one but scrolled out of view,
  // each a link to its page and cell (issue 15 finding F11: a table with 600 days opened the grid on
  // a page where the other tables' failed days could not be seen, and nothing said they existed;
  // C3: those on this page but beyond the scrolled box's edge were not listed either).
  const colIndex = new Map(allCols.map((c, i) => [c, i]));
  const pageOf = (c) => Math.floor((allCols.length - 1 - colIndex.get(colOf(c))) / kGridColumns);
  const rank = ['failed', 'late', 'missing'];  // the failed first
  gridProblems = gridData.filter((c) => rank.includes(attention(c)))
    .sort((x, y) => rank.indexOf(attention(x)) - rank.indexOf(attention(y)))
    .map((c) => ({table: c.table, col: colOf(c), page: pageOf(c),
      label: `${c.table} ${colOf(c)} (${attention(c) === 'failed' ? Object.keys(c.objects).filter((s) => failedStates.includes(s)).join(', ') : attention(c)})`}));
  const pager = $('grid-pager');
  const page = (delta, label) => el('button', {class: 'link', disabled: (delta > 0 ? gridPage + 1 >= pages : gridPage === 0) || undefined,
    onclick: () => { gridPage += delta; gridAtNewest = true; loadPartitions().catch((e) => toast(e.message)); }}, label);
  pager.replaceChildren(...(pages > 1 ? [page(1, '‹ older'), ` columns ${Math.max(1, end - kGridColumns + 1)}–${end} of ${allCols.length} `, page(-1, 'newer ›')] : []));
  const grid = $('grid');
  // The focused and the opened cell, found again after the redraw (issue 15 C6: a live event sent
  // a keyboard user's focus back to the page's top).
  const focused = grid.contains(document.activeElement) && document.activeElement.dataset.table !== undefined
    ? document.activeElement.dataset : null;
  const at = (d) => d && [...grid.querySelectorAll('button[data-table]')].find((x) => x.dataset.table === d.table && x.dataset.col === d.col);
  const focusedAt = focused && {table: focused.table, col: focused.col};
  grid.replaceChildren(el('caption', {class: 'sr'}, 'Partitions: rows are tables, columns are days'),
    el('thead', {}, el('tr', {}, el('th', {scope: 'col'}, 'table'), cols.map((c) => el('th', {scope: 'col', 'data-col': c}, c)))));
  const tbody = el('tbody');
  const seen = new Set();
  for (const t of tables) {
    const tr = el('tr', {}, el('th', {scope: 'row'}, t || '(root)'));
    for (const c of cols) {
      const cells = index.get(t + '\u0000' + c) || [];
      if (!cells.length) { tr.append(el('td')); continue; }
      const objects = {};
      for (const x of cells) for (const [s, n] of Object.entries(x.objects)) objects[s] = (objects[s] || 0) + n;
      const total = Object.values(objects).reduce((a, b) => a + b, 0);
      const st = cells.some((x) => x.late.length) && !total ? 'late' : cells.every((x) => x.missing) ? 'missing' : dominant(objects);
      seen.add(st);
      let words = Object.entries(objects).map(([s, n]) => n + ' ' + s).join(', ') ||
        (st === 'missing' ? 'missing, nothing arrived (earlier and later days did)' : 'late, nothing arrived');
      const lateBy = Math.max(0, ...cells.flatMap((x) => (x.arrived_late || []).map((a) => a.late_by_ms || 0)));
      if (cells.some((x) => (x.arrived_late || []).length)) { words += `, arrived late (by ${ms(lateBy)})`; seen.add('arrived_late'); }
      const b = el('button', {class: 'st-' + st + (lateBy || cells.some((x) => (x.arrived_late || []).length) ? ' arrived-late' : ''),
        'aria-pressed': 'false', 'aria-label': `${t} ${c}: ${words}`, title: words,
        'data-table': t, 'data-col': c}, total || (st === 'missing' ? '?' : '!'));
      b.addEventListener('click', () => { for (const o of grid.querySelectorAll('[aria-pressed]')) o.setAttribute('aria-pressed', 'false'); b.setAttribute('aria-pressed', 'true'); gridOpened = {table: t, col: c}; showCell(t, cells); });
      tr.append(el('td', {}, b));
    }
    tbody.append(tr);
  }
  grid.append(tbody);
  const opened = at(gridOpened);
  if (opened) opened.setAttribute('aria-pressed', 'true');
  const refocus = at(focusedAt);
  if (refocus) refocus.focus({preventScroll: true});
  // Scrolled to the newest column (issue 15 C3: the box opened at its left edge, the newest days
  // beyond the right one), unless the operator has scrolled away from it: a live redraw keeps that.
  const box = grid.parentElement;
  box.scrollLeft = gridAtNewest ? box.scrollWidth : gridScrollLeft;
  showElsewhere();
  $('legend').replaceChildren(...[...seen].sort().map((s) => s === 'arrived_late'
    ? el('span', {class: 'state legend-arrived-late'}, 'arrived late') : stateBadge(s)));
  if (!tables.length) $('cell').replaceChildren(el('p', {class: 'hint'}, 'No objects yet.'));
}
let gridProblems = [];  // [{table, col, page, label}]: every failed, late or missing cell, the failed first
let gridAtNewest = true, gridScrollLeft = 0;  // the grid box's scroll, kept across live redraws
// The list above the grid: problem cells on other pages or outside the box's visible width.
function showElsewhere() {
  const box = $('grid').parentElement, view = box.getBoundingClientRect();
  const shown = new Set([...$('grid').querySelectorAll('thead th[data-col]')].filter((th) => {
    const r = th.getBoundingClientRect();
    return r.right > view.left + 2 && r.left < view.right - 2;
  }).map((th) => th.dataset.col));
  const away = gridProblems.filter((p) => p.page !== gridPage || !shown.has(p.col));
  const links = away.slice(0, 12).map((p) => el('button', {class: 'link', onclick: () => {
    if (p.page === gridPage) return openCell(p.table, p.col);
    gridPage = p.page;
    gridAtNewest = true;
    loadPartitions().then(() => openCell(p.table, p.col)).catch((e) => toast(e.message));
  }}, p.label));
  $('grid-elsewhere').replaceChildren(...(away.length ? [`${away.length} failed, late or missing on other pages or scrolled out of view: `,
    ...links.flatMap((l, i) => i ? [', ', l] : [l]), away.length > links.length ? ' …' : ''] : []));
}
let elsewhereFrame = 0;
$('grid').parentElement.addEventListener('scroll', (ev) => {
  const box = ev.currentTarget;
  gridAtNewest = box.scrollLeft + box.clientWidth >= box.scrollWidth - 2;
  gridScrollLeft = box.scrollLeft;
  if (!elsewhereFrame) elsewhereFrame = requestAnimationFrame(() => { elsewhereFrame = 0; showElsewhere(); });
});
window.addEventListener('resize', () => { if (!elsewhereFrame) elsewhereFrame = requestAnimationFrame(() => { elsewhereFrame = 0; showElsewhere(); }); });
const failedStates = ['quarantined', 'failed', 'failed_kept', 'move_failed'];
// What a cell asks of an operator: 'failed', 'late', 'missing' or '' (nothing).
function attention(c) {
  if (failedStates.some((s) => c.objects[s])) return 'failed';
  if (c.late.length && !c.total) return 'late';
  return c.missing ? 'missing' : '';
}
function openCell(table, col) {
  const b = [...$('grid').querySelectorAll('button[data-table]')].find((x) => x.dataset.table === table && x.dataset.col === col);
  if (b) { b.click(); b.focus(); }
}
async function showCell(table, cells) {
  const panel = $('cell');
  panel.replaceChildren(el('p', {}, 'loading…'));
  const parts = [];
  for (const c of cells) {
    let objects;
    try {
      ({objects} = await api(`objects?table=${encodeURIComponent(table)}&partition=${encodeURIComponent(c.partition)}&latest=1&limit=500`));
    } catch (e) {  // never left "loading…" (issue 15 finding F6)
      panel.replaceChildren(el('p', {class: 'error', role: 'alert'}, `Cannot show ${table} / ${c.partition || '(no partition)'}: ${e.message}`));
      return;
    }
    parts.push(el('h3', {}, `${table} / ${c.partition || '(no partition)'}`));
    const facts = [];
    if (c.last_run) facts.push(el('p', {}, 'Last run: ', stateBadge(c.last_run.state), ` ${c.last_run.rule} on ${c.last_run.key} at ${shortTime(c.last_run.started)}`));
    if (c.waiting_rules.length) facts.push(el('p', {}, 'Rules still waiting: ' + c.waiting_rules.join(', ')));
    for (const l of c.late) facts.push(el('p', {}, 'Late: expected by ' + (l.by || l.deadline || '?') + ' (rule ' + l.rule + ')'));
    for (const a of c.arrived_late || []) facts.push(el('p', {}, `Arrived late: expected by ${a.deadline || '?'}, late by ${ms(a.late_by_ms)} (rule ${a.rule})`));
    if (c.missing) facts.push(el('p', {class: 'note', role: 'note'}, `Nothing arrived for ${c.day}, though earlier and later days of ${table} did.`));
    parts.push(...facts, el('table', {class: 'list'},
      el('thead', {}, el('tr', {}, el('th', {scope: 'col'}, 'Key'), el('th', {scope: 'col'}, 'State'), el('th', {scope: 'col'}, 'Updated'), el('th', {scope: 'col'}, 'Error'))),
      el('tbody', {}, objects.map((o) => el('tr', {}, el('td', {class: 'key'}, el('a', {href: '#object/' + o.id}, o.key)),
        el('td', {}, stateBadge(o.state)), el('td', {}, shortTime(o.updated)), el('td', {}, o.error || ''))))));
  }
  panel.replaceChildren(...parts);
}

// ---- one object: what happened to this file ----
async function loadObject(id) {
  const body = $('object-body');
  body.replaceChildren(el('p', {}, 'loading…'));
  let d;
  try {
    d = await api('objects/' + encodeURIComponent(id));
  } catch (e) {  // an unknown id, the daemon down: said where the view is, not left "loading…"
    $('object-h').textContent = 'Object ' + id;
    body.replaceChildren(el('p', {class: 'error', role: 'alert'}, 'Cannot show object ' + id + ': ' + e.message));
    return;
  }
  const o = d.object;
  const superseded = d.latest_id !== undefined && d.latest_id !== o.id;
  $('object-h').textContent = o.key;
  const facts = el('dl', {class: 'facts'}, ...[['state', stateBadge(o.state)], ['size', o.size + ' bytes'], ['eTag', o.etag],
    ['discovered', shortTime(o.discovered)], ['updated', shortTime(o.updated)],
    [superseded ? 'was at' : 'now at', o.final_path || '–'], ['error', o.error || '–']]
    .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  const notes = [];
  if (o.state === 'duplicate') notes.push(el('p', {class: 'note', role: 'note'}, 'The same bytes as this key\'s arrival, ',
    el('a', {href: '#object/' + d.latest_id}, 'object ' + d.latest_id), ', dropped again: recorded and left alone (its landing copy deleted). Replay acts on that object.'));
  else if (superseded) notes.push(el('p', {class: 'note', role: 'note'}, 'A later arrival at this key replaced this one: ',
    el('a', {href: '#object/' + d.latest_id}, 'object ' + d.latest_id), '. Replay acts on the latest arrival.'));
  // Cluster mode: each run says the node that ran it, each event the node that wrote it, when the
  // store names nodes (a PostgreSQL state); on a SQLite state no node is said and no column shown.
  const runs = d.runs.map((r) => el('div', {class: 'card', 'data-run': r.run_id, 'data-node': r.node},
    el('h3', {}, `${r.rule} · try ${r.attempt} · `, stateBadge(r.state)),
    el('p', {}, `started ${shortTime(r.started)}, ${ms(r.duration_ms)}, exit ${r.exit_code ?? '–'}`,
      r.node ? [', node ', el('span', {class: 'node'}, r.node)] : null), runOutput(r)));
  const tasks = el('table', {class: 'list'}, el('thead', {}, el('tr', {}, el('th', {scope: 'col'}, 'Rule'), el('th', {scope: 'col'}, 'State'),
    el('th', {scope: 'col'}, 'Attempts'))), el('tbody', {}, d.tasks.map((t) => el('tr', {}, el('td', {}, t.rule), el('td', {}, stateBadge(t.state)), el('td', {}, t.attempts)))));
  const others = d.arrivals.filter((a) => a.id !== o.id);
  const arrivals = el('table', {class: 'list'}, el('tbody', {}, others.map((a) => el('tr', {}, el('td', {}, el('a', {href: '#object/' + a.id}, 'object ' + a.id)),
    el('td', {}, stateBadge(a.state)), el('td', {}, shortTime(a.discovered))))));
  const eventsNode = d.events.some((e) => e.node);
  const events = el('table', {class: 'list', id: 'object-events'},
    el('thead', {}, el('tr', {}, el('th', {scope: 'col'}, 'Time'), el('th', {scope: 'col'}, 'Event'), el('th', {scope: 'col'}, 'Rule'),
      eventsNode ? el('th', {scope: 'col', class: 'node'}, 'Node') : null, el('th', {scope: 'col'}, 'Detail'))),
    el('tbody', {}, d.events.map((e) => el('tr', {'data-node': e.node}, el('td', {}, shortTime(e.time)), el('td', {}, e.event), el('td', {}, e.rule || ''),
      eventsNode ? el('td', {class: 'node'}, e.node || '–') : null, el('td', {class: 'key'}, e.detail ? JSON.stringify(e.detail) : '')))));
  const actions = [];
  if (!superseded && ['archived', 'quarantined'].includes(o.state)) actions.push(actionButtons(o.key, o.state));
  body.replaceChildren(facts, ...notes, ...actions, el('h3', {}, 'Tasks'), d.tasks.length ? tasks : el('p', {class: 'hint'}, 'no tasks'),
    el('h3', {}, 'Runs'), runs.length ? el('div', {}, runs) : el('p', {class: 'hint'}, 'no runs'),
    el('h3', {}, 'Earlier and later arrivals at this key'), others.length ? arrivals : el('p', {class: 'hint'}, 'none'),
    el('h3', {}, 'Events'), events);
}

// ---- quarantine and replay ----
const token = () => sessionStorage.getItem('hivehook-token') || '';
let canAct = null;  // the daemon has an http.token (from /api/v1/status); null until known
// Why replay is not possible now, or '' when it is.
function replayBlocked() {
  if (canAct === false) return 'Replay and retry are off: the daemon has no http.token (see docs/console.md).';
  if (!token()) return 'Enter the API token (http.token) at the top to enable replay and retry.';
  return '';
}
// The actions on one file: Retry first for a quarantined one (POST /api/v1/retry: only the rules
// that failed and those skipped behind them), Replay (every rule that matches it, those that
// already succeeded too). Each asks the API for its plan (dry_run) and says which rules it will
// run before it runs them (issue 15 C1: a non-idempotent step ran twice from the console).
// A confirmation being shown ({kind, key, rules}): kept here so a live re-render of the list
// (an event, the token entered) shows it again rather than dropping it.
let pending = null;
function actionButtons(key, state, after) {
  const why = replayBlocked();
  const box = el('div', {class: 'actions', 'data-state': state});
  const fill = () => {
    after = after || (() => {});
    if (pending && pending.key === key && !why) return box.replaceChildren(...confirmation(pending, fill, after));
    const button = (kind, primary) => el('button', {class: primary ? 'primary' : 'secondary', 'data-action': kind,
      'aria-label': (kind === 'retry' ? 'Retry ' : 'Replay ') + key, disabled: !!why, title: why || undefined,
      onclick: () => propose(kind, key, fill)}, kind === 'retry' ? 'Retry failed rules' : 'Replay all rules');
    box.replaceChildren(...(state === 'quarantined' ? [button('retry', true), button('replay', false)] : [button('replay', true)]));
  };
  fill();
  return box;
}
async function act(kind, key, dryRun) {
  const why = replayBlocked();
  if (why) { toast(why); if (canAct !== false) $('token').focus(); return null; }
  let r;
  try {
    r = await fetch('/api/v1/' + kind, {method: 'POST', headers: {'Content-Type': 'application/json', Authorization: 'Bearer ' + token()},
      body: JSON.stringify(kind === 'retry' ? {keys: [key], dry_run: dryRun} : {from: key, to: key, dry_run: dryRun})});
  } catch (e) {
    toast('Cannot reach the daemon: ' + e.message);
    return null;
  }
  const body = await r.json().catch(() => ({}));
  const what = kind === 'retry' ? 'Retry' : 'Replay';
  if (r.status === 401) { toast('The token was refused: it is not the daemon\'s http.token.'); $('token').focus(); return null; }
  if (r.status === 403) { canAct = false; toast(body.error || 'Replay and retry are off: the daemon has no http.token.'); return null; }
  if (!r.ok) { toast(what + ' refused: ' + (body.error || r.status)); return null; }
  return body;
}
// The plan first (a dry run), then a confirmation naming the rules, in place of the buttons.
async function propose(kind, key, fill) {
  const plan = await act(kind, key, true);
  if (!plan) return;
  const o = (plan.objects || []).find((x) => x.key === key) || (plan.objects || [])[0];
  if (!o || o.skipped) { toast(`Not ${kind === 'retry' ? 'retried' : 'replayed'}: ${key}: ${o ? o.skipped : 'not in the plan'}`); return; }
  pending = {kind, key, rules: o.rules || []};
  fill();
}
function confirmation({kind, key, rules}, fill, after) {
  const says = kind === 'retry'
    ? `Retry runs ${rules.join(', ')} on ${key}: the rules that failed and those skipped behind them; rules that succeeded do not run again.`
    : `Replay runs ${rules.join(', ')} on ${key}: every rule that matches it, those that already succeeded on it too.`;
  return [el('p', {class: 'note confirm', role: 'alert', 'data-rules': rules.join(',')}, says),
    el('button', {class: 'primary', 'data-confirm': kind, onclick: async () => {
      pending = null;
      const done = await act(kind, key, false);
      if (done) {
        const skipped = (done.objects || []).filter((x) => x.skipped);
        toast(skipped.length ? `Not ${kind === 'retry' ? 'retried' : 'replayed'}: ${key}: ${skipped[0].skipped}`
          : `${kind === 'retry' ? 'Retrying' : 'Replaying'} ${done.replayed || 0} object(s) through ${rules.join(', ')}: ${key}`);
      }
      fill();
      after();
    }}, `${kind === 'retry' ? 'Retry' : 'Replay'} now`),
    el('button', {class: 'secondary', 'data-cancel': kind, onclick: () => { pending = null; fill(); }}, 'Cancel')];
}
async function loadQuarantine() {
  $('act-hint').textContent = replayBlocked() || 'Retry runs only the rules that failed on a file (and those skipped behind them); Replay runs every rule that matches it again. Each says which rules before it runs them.';
  const {quarantine, next_before: more} = await api('quarantine');
  const list = $('quarantine-list');
  if (!quarantine.length) { list.replaceChildren(el('p', {class: 'hint'}, 'Nothing is quarantined.')); return; }
  list.replaceChildren(...(more ? [el('p', {class: 'note', role: 'note'}, `The newest ${quarantine.length} quarantined files; more are quarantined ` +
    '(hivehook retry --all-failed --dry-run lists them all).')] : []), ...quarantine.map(({object: o, failed_runs: runs}) => {
    const last = runs[runs.length - 1];
    return el('article', {class: 'card', 'data-key': o.key}, el('h3', {}, el('a', {href: '#object/' + o.id}, o.key)),
      el('p', {}, el('strong', {}, 'Error: '), o.error || (last && last.error) || 'failed'),
      last ? runOutput(last) : null,
      actionButtons(o.key, 'quarantined', loadQuarantine));
  }));
}

// ---- activity charts (SVG drawn here) ----
function chart(title, points, series) {
  const W = 600, H = 160, pad = 24;
  const max = Math.max(1, ...series.flatMap((s) => points.map((p) => p[s.field])));
  const x = (i) => pad + i * (W - 2 * pad) / Math.max(1, points.length);
  const y = (v) => H - pad - v * (H - 2 * pad) / max;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`); svg.setAttribute('class', 'chart'); svg.setAttribute('role', 'img');
  const total = series.map((s) => s.label + ' ' + points.reduce((a, p) => a + p[s.field], 0)).join(', ');
  svg.setAttribute('aria-label', `${title}: ${total}`);
  const add = (tag, attrs, text) => { const e = document.createElementNS(svg.namespaceURI, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text) e.textContent = text; svg.append(e); return e; };
  for (const s of series) {
    if (s.kind === 'line') {
      add('polyline', {class: 'line', points: points.map((p, i) => `${x(i) + 2},${y(p[s.field])}`).join(' ')});
    } else {
      points.forEach((p, i) => { if (p[s.field]) add('rect', {class: s.cls || 'bar', x: x(i), y: y(p[s.field]), width: Math.max(1, (W - 2 * pad) / points.length - 1), height: H - pad - y(p[s.field])}).append(Object.assign(document.createElementNS(svg.namespaceURI, 'title'), {textContent: `${shortTime(p.minute)}: ${p[s.field]} ${s.label}`})); });
    }
  }
  add('text', {x: 2, y: pad - 6}, String(max));
  add('text', {x: pad, y: H - 6}, points.length ? shortTime(points[0].minute).slice(11, 16) : '');
  add('text', {x: W - pad - 30, y: H - 6}, points.length ? shortTime(points[points.length - 1].minute).slice(11, 16) : '');
  return el('figure', {}, el('figcaption', {}, title), svg);
}
async function loadActivity() {
  const {minutes} = await api('activity?minutes=60');
  $('charts').replaceChildren(
    chart('Files per minute', minutes, [{field: 'files', label: 'files'}]),
    chart('File → job latency (p50 bars, max line, ms)', minutes, [{field: 'latency_p50_ms', label: 'ms p50'}, {field: 'latency_max_ms', label: 'ms max', kind: 'line'}]),
    chart('Failures per minute', minutes, [{field: 'failures', label: 'failures', cls: 'bad'}]));
}

// ---- rules ----
async function loadRules() {
  const {rules} = await api('rules');
  $('rules-list').replaceChildren(...rules.map((r) => el('article', {class: 'card'}, el('h3', {}, r.name),
    el('p', {}, 'matches ', el('code', {}, JSON.stringify(r.match || {})), ' → ', el('code', {}, r.job || '')),
    r.recent.length ? el('ul', {}, r.recent.map((m) => el('li', {}, stateBadge(m.state), ' ', shortTime(m.started), ' ', el('code', {}, m.key),
      m.node ? [' on node ', el('span', {class: 'node'}, m.node)] : null)))
      : el('p', {class: 'hint'}, 'nothing matched recently'))));
}

// ---- batches and schedules (issue 14 F16): from /api/v1/status, as `hivehook status` says them ----
function batchWhat(b) {
  if (b.state === 'open') return 'collecting';
  if (b.state === 'complete' && b.members === 0) return `complete (${b.reason}), waiting for its first data file`;
  if (b.state === 'complete') return `complete (${b.reason}), ` + (b.members_ended ? 'its members ended: runs now' : "waiting for its members' rules");
  return firingWhat(b);
}
function firingWhat(f) {
  if (f.next_at === null && f.run_started === false) return 'queued for a worker';
  if (f.next_at === null) return 'running';
  return `in retry backoff after attempt ${f.attempts} failed, next attempt at ${shortTime(f.next_at)}`;
}
function renderOrchestration(s) {
  const batches = (s.batches || []).map((b) => el('li', {class: 'batch'}, el('strong', {}, b.rule), ': ', el('code', {}, b.group),
    `: ${b.members} object${b.members === 1 ? '' : 's'}, `, stateBadge(b.state), ' ', batchWhat(b), ` (since ${shortTime(b.opened_at)})`));
  for (const b of s.abandoned_batches || [])
    batches.push(el('li', {class: 'batch'}, el('strong', {}, b.rule), ': ', el('code', {}, b.group),
      `: ${b.members} object${b.members === 1 ? '' : 's'}, `, stateBadge('abandoned'), ` at ${shortTime(b.abandoned_at)}: ${b.reason}`));
  for (const o of s.batch_offers || [])  // cluster mode: files no batch holds yet (docs/cluster.md)
    batches.push(el('li', {class: 'batch'}, el('strong', {}, o.rule), ': ', el('code', {}, o.group),
      `: ${o.files} file${o.files === 1 ? '' : 's'} offered to the cluster's leader, not yet in a batch (since ${shortTime(o.oldest)})`));
  $('batches-list').replaceChildren(...(batches.length ? batches : [el('li', {class: 'hint'}, 'no open batches')]));
  const open = new Map((s.schedules || []).map((f) => [f.rule, f]));
  const schedules = (s.schedule_times || []).map((t) => el('li', {class: 'schedule'}, el('strong', {}, t.rule), ' ',
    el('code', {}, t.schedule), ` (${t.timezone}): `,
    t.last_fired_for ? ['last fired for ', shortTime(t.last_fired_for), ' ', t.last_run_state ? stateBadge(t.last_run_state) : null] : 'never fired yet',
    t.missed ? (t.catch_up ? ', a time missed while no daemon ran fires once at the next start' : ', times missed while no daemon ran are skipped') : null,
    ', next ', t.next.length ? t.next.map(shortTime).join(', ') : 'never',
    open.has(t.rule) ? ` · the firing for ${shortTime(open.get(t.rule).scheduled_time)}: ${firingWhat(open.get(t.rule))}` : null));
  $('schedules-list').replaceChildren(...(schedules.length ? schedules : [el('li', {class: 'hint'}, 'no schedule: rules')]));
}

// ---- status line and the live event stream ----
let connected = false, lostSince = null;
async function loadSummary() {
  const s = await api('status');
  const n = s.now;
  const could = canAct;
  canAct = s.can_act;
  renderOrchestration(s);
  if (could === null && canAct === false && location.hash.startsWith('#quarantine')) loadQuarantine().catch(() => {});
  if (lostSince) return;  // the stream is down: the header keeps saying so until it is back
  const health = s.health.detail ? ' · ' + (s.health.ok ? '' : 'UNHEALTHY: ') + s.health.detail.split('\n')[0] : '';
  $('summary').textContent = `v${s.version} · now: ${n.in_quarantine} in quarantine, ${n.in_progress} in progress, ${n.running} running, ${n.outbox_pending} notifications pending${health}`;
  $('summary').title = 'Every arrival so far, by state: ' + (Object.entries(s.objects).map(([k, c]) => `${c} ${k}`).join(', ') || 'none');
  $('summary').classList.toggle('degraded', !s.health.ok || !!s.health.detail);
}
let refreshTimer = null, gridLoadedAt = 0, gridLoadMs = 0;
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    loadSummary().catch(() => {});
    const v = (location.hash.slice(1) || 'runs').split('/')[0];
    // The grid is the costly view (every cell of every table): under a stream of events it is
    // redrawn at most once per 3× what its last load and drawing took, 1 s at least.
    if (v === 'partitions' && !$('cell').querySelector('table')) {
      const wait = gridLoadedAt + Math.max(1000, 3 * gridLoadMs) - Date.now();
      if (wait > 0) { setTimeout(refreshSoon, wait); } else {  // the last events of a burst are drawn too
        const t0 = Date.now();
        gridLoadedAt = t0;
        loadPartitions().then(() => { gridLoadMs = Date.now() - t0; }).catch(() => {});
      }
    }
    if (v === 'quarantine') loadQuarantine().catch(() => {});
    if (v === 'activity') loadActivity().catch(() => {});
    if (v === 'rules') loadRules().catch(() => {});
  }, 1000);
}
// The daemon unreachable (stopped, restarting): the header says "disconnected" with the time it
// was lost, instead of the last counts as if they were current; the stream retries (the browser's
// EventSource, or a new one when the browser gave up) and, once back, every view is read afresh
// (issue 15 finding F6).
function lost() {
  connected = false;
  $('live').textContent = 'reconnecting…'; $('live').className = 'live off';
  if (!lostSince) {
    lostSince = new Date();
    $('summary').textContent = `disconnected: the daemon is not answering (since ${lostSince.toISOString().slice(11, 19)}Z); retrying…`;
    $('summary').classList.add('degraded');
  }
}
let stream = null;
function connect() {
  const es = stream = new EventSource('/api/v1/events');
  es.onopen = () => {
    connected = true;
    $('live').textContent = 'live'; $('live').className = 'live on';
    if (lostSince) { lostSince = null; route(); }  // back: every number read again
  };
  es.onerror = () => {
    lost();
    // A refused or failed answer (a 503 when full) closes an EventSource for good: open a new one.
    if (es.readyState === EventSource.CLOSED && stream === es) setTimeout(() => { if (stream === es) connect(); }, 2000);
  };
  es.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (e.run_id && e.event.startsWith('run.')) runChanged(e.run_id);
    // Any event may change what a view shows: a reload (rules.loaded/rejected) the Rules view and
    // the header's health (issue 15 finding F5), an expectation the grid; refreshSoon coalesces.
    refreshSoon();
  };
}
// Health can change without an event (a reload that fails before it is audited): the header is
// read again every 15 s; a failure there is also how a dead stream is noticed.
setInterval(() => { loadSummary().catch(() => { if (!connected) lost(); }); }, 15000);

$('token').value = token();
if (token()) setReadCookie(token());
$('token-form').addEventListener('submit', (ev) => { ev.preventDefault(); sessionStorage.setItem('hivehook-token', $('token').value.trim()); setReadCookie(token()); $('token').removeAttribute('aria-invalid'); toast($('token').value ? 'Token set for this tab.' : 'Token cleared.'); route(); loadSummary().catch(() => {}); });
window.addEventListener('hashchange', () => route());
// The skip link focuses the content of the view on screen; its #main would be a route (issue 15 C8:
// it switched the view to Runs).
document.querySelector('a.skip').addEventListener('click', (ev) => { ev.preventDefault(); $('main').focus(); });
route();
loadSummary().catch((e) => { $('summary').textContent = 'cannot reach the API: ' + e.message; $('summary').classList.add('degraded'); });
connect();
})();
