// tradepact dashboard: small helpers shared by the pages. Every page talks to /api/ only.
'use strict';

function val(id) { return document.getElementById(id).value.trim(); }

function esc(s) {
  return String(s == null ? '' : s).replace(/[&<>"']/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}

class ApiError extends Error {
  constructor(status, body) {
    let msg = body && (body.message || (typeof body.detail === 'string' ? body.detail : null));
    if (!msg && body && Array.isArray(body.detail) && body.detail.length) {
      const d = body.detail[0]; msg = `${(d.loc || []).slice(1).join('.')}: ${d.msg}`;
    }
    super(msg || `HTTP ${status}`);
    this.status = status; this.body = body;
  }
}

// GET url, or POST body (FormData or a JSON-able object).
async function api(url, body) {
  const opts = {headers: {'Accept': 'application/json'}};
  if (body !== undefined) {
    opts.method = 'POST';
    if (body instanceof FormData) opts.body = body;
    else { opts.body = JSON.stringify(body); opts.headers['Content-Type'] = 'application/json'; }
  }
  const res = await fetch(url, opts);
  // The session ended (logged out elsewhere, or the server restarted): reloading shows the login form.
  if (res.status === 401) { window.location.reload(); }
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function showError(el, err) {
  el.className = 'status error';
  el.textContent = (err && err.status === 503 ? 'Not available: ' : 'Error: ') + (err && err.message ? err.message : err);
}
function showErrorIn(id) { return e => showError(document.getElementById(id), e); }

function fmt(v) {
  if (v === null || v === undefined || (typeof v === 'number' && !isFinite(v))) return '—';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 3000 && Math.abs(v) >= 1000 ? String(v)
    : v.toLocaleString('en-US', {maximumFractionDigits: Math.abs(v) < 10 ? 3 : 1});
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function toCsv(rows, cols) {
  const q = v => { const s = v == null ? '' : (typeof v === 'object' ? JSON.stringify(v) : String(v));
                   return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
  return [cols.join(',')].concat(rows.map(r => cols.map(c => q(r[c])).join(','))).join('\n') + '\n';
}

// Render rows (array of objects) as a table; opts.flag = boolean column marking confirmed rows,
// opts.onRow = click handler, opts.csvName = download file name.
function renderTable(el, rows, cols, opts) {
  opts = opts || {};
  if (!rows || !rows.length) { el.innerHTML = '<p class="muted">No rows.</p>'; return; }
  cols = cols || Object.keys(rows[0]).filter(c => c !== opts.flag);
  const numeric = new Set(cols.filter(c => rows.some(r => typeof r[c] === 'number')));
  const head = cols.map(c => `<th class="${numeric.has(c) ? 'num' : ''}">${esc(c)}</th>`).join('') + (opts.flag ? '<th></th>' : '');
  const body = rows.map((r, i) => {
    const flagged = opts.flag && r[opts.flag] === false;
    const cells = cols.map(c => {
      const text = fmt(r[c]);
      const long = text.length > 40 ? ` title="${esc(text)}"` : '';
      return `<td class="${numeric.has(c) ? 'num' : ''}"${long}>${esc(text)}</td>`;
    }).join('');
    const mark = opts.flag ? `<td class="unconfirmed">${flagged ? '⚠ unconfirmed' : ''}</td>` : '';
    return `<tr data-i="${i}" class="${flagged ? 'flagged' : ''}${opts.onRow ? ' clickable' : ''}">${cells}${mark}</tr>`;
  }).join('');
  const csv = 'data:text/csv;charset=utf-8,' + encodeURIComponent(toCsv(rows, Object.keys(rows[0])));
  el.innerHTML = `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>` +
    `<a class="download" download="${esc(opts.csvName || 'table')}.csv" href="${csv}">Download CSV</a></div>`;
  if (opts.onRow) el.querySelectorAll('tbody tr').forEach(tr =>
    tr.addEventListener('click', () => opts.onRow(rows[Number(tr.dataset.i)])));
}

async function plot(el, figure) {
  const layout = Object.assign({}, figure.layout || {}, {autosize: true});
  await Plotly.react(el, figure.data || [], layout, {responsive: true, displaylogo: false});
}

// Poll a run until it is done or failed; onUpdate(run) on every poll.
async function pollRun(id, onUpdate) {
  for (;;) {
    const run = await api('/api/runs/' + encodeURIComponent(id));
    if (onUpdate) onUpdate(run);
    if (run.status === 'done' || run.status === 'failed') return run;
    await new Promise(r => setTimeout(r, 400));
  }
}

// Show a finished run: its error, or summary, totals, charts and per-line table.
function renderRun(el, run) {
  el.dataset.state = run.status;
  if (run.status === 'failed') {
    el.innerHTML = `<div class="status error" id="run-error">Run failed: ${esc(run.error)}</div>`;
    return;
  }
  const res = run.result || {};
  const totals = res.totals || {};
  const totalRows = Object.entries(totals).filter(([k, v]) => typeof v !== 'object' || v === null)
    .map(([k, v]) => ({measure: k, value: v}));
  const caveats = (res.caveats || []).concat(res.notes || []);
  el.innerHTML = `<p class="verdict" id="run-summary">${esc(run.summary || '')}</p>
    ${caveats.map(c => `<p class="note caveat">${esc(c)}</p>`).join('')}
    <h2>Totals</h2><div id="totals-table"></div>
    <div id="run-charts"></div>
    <h2>Per line</h2><p class="muted">Each line carries the inputs used next to its results (USD millions; rates as fractions).</p>
    <div id="lines-table"></div>`;
  renderTable(el.querySelector('#totals-table'), totalRows, ['measure', 'value'], {csvName: 'totals'});
  const charts = el.querySelector('#run-charts');
  (run.figures || []).forEach((f, i) => {
    const d = document.createElement('div'); d.className = 'chart'; d.id = 'run-chart-' + i;
    charts.appendChild(d); plot(d, f);
  });
  const lines = res.lines || [];
  renderTable(el.querySelector('#lines-table'), lines, null, {flag: lines.length && 'confirmed' in lines[0] ? 'confirmed' : null,
                                                             csvName: 'lines-' + run.scenario_name});
}
