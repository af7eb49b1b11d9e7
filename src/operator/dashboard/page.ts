// The dashboard's static page (HTML, CSS, browser JS) as string constants: no build step, no CDN, shipped by tsc.

// The browser script is plain ES2020 kept free of backticks and "${" so it can live in these strings.

/** GET / */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>drainwatch</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand">
    <h1>drainwatch</h1>
    <span class="subtitle">Conferencing Node verdicts as the load balancers see them</span>
  </div>
  <div class="live" id="live" data-status="connecting"><span class="dot"></span><span id="live-text">connecting…</span></div>
</header>
<main>
  <section class="summary" id="summary" aria-label="Nodes by state"></section>
  <div class="guard" id="guard" hidden></div>
  <div class="toolbar">
    <input id="filter" type="search" placeholder="Filter by name, state or reason" aria-label="Filter nodes">
    <button type="button" id="open-override" class="secondary">Override a node…</button>
  </div>
  <table class="nodes" id="nodes">
    <thead>
      <tr>
        <th>Node</th><th>State</th><th class="num">Weight</th><th class="num">Load</th><th class="num">Calls</th>
        <th>Reason</th><th class="num">Age</th><th>Override</th><th></th>
      </tr>
    </thead>
    <tbody id="rows"></tbody>
  </table>
  <p class="empty" id="empty" hidden>No nodes yet.</p>
</main>
<footer class="foot"><span id="footer">waiting for the first snapshot…</span> · <a href="/api/v1/nodes">JSON</a> · <a href="/metrics">metrics</a></footer>

<dialog id="override-dialog">
  <form id="override-form" method="dialog">
    <h2>Operator override</h2>
    <p class="hint">An override is applied before anything probing says, until it expires or is cleared.</p>
    <label>Node <select id="ov-node" name="node" required></select></label>
    <fieldset class="states">
      <legend>State</legend>
      <label><input type="radio" name="state" value="drain" checked> <b>drain</b> <span>no new sessions, sticky ones continue</span></label>
      <label><input type="radio" name="state" value="maint"> <b>maint</b> <span>no sessions at all</span></label>
      <label><input type="radio" name="state" value="ready"> <b>ready</b> <span>force in service</span></label>
    </fieldset>
    <label>Reason <input id="ov-reason" name="reason" maxlength="500" placeholder="why (logged and shown here)"></label>
    <label>Expires in <input id="ov-expires" name="expires_in" placeholder="e.g. 30m, 2h (empty: until cleared)"></label>
    <label>Your name <input id="ov-user" name="user" maxlength="64" placeholder="optional, for the audit log"></label>
    <label>Admin token <input id="ov-token" name="token" type="password" autocomplete="off" required></label>
    <label class="inline"><input id="ov-remember" type="checkbox"> remember the token in this tab</label>
    <p class="result" id="ov-result" role="status"></p>
    <div class="buttons">
      <button type="button" id="ov-cancel" class="secondary">Close</button>
      <button type="button" id="ov-clear" class="danger">Clear override</button>
      <button type="submit" id="ov-apply">Apply override</button>
    </div>
  </form>
</dialog>
</body>
</html>
`;

/** GET /dashboard.css */
export const DASHBOARD_CSS = `:root {
  --bg: #f5f6f8; --panel: #fff; --text: #1d2430; --muted: #5f6b7a; --line: #e2e6eb;
  --ready: #1f8a4c; --ready-bg: #e3f4ea; --draining: #a35c00; --draining-bg: #fff1d6;
  --maint: #5a3fb0; --maint-bg: #ece7fb; --down: #c0292f; --down-bg: #fde4e4;
  --unknown: #5f6b7a; --unknown-bg: #eceff3; --accent: #2456c9;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--text); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; font-size: 14px; line-height: 1.4; }
.top { display: flex; align-items: center; justify-content: space-between; padding: 14px 24px; background: #1d2430; color: #fff; }
.brand h1 { display: inline; margin: 0 12px 0 0; font-size: 20px; letter-spacing: .3px; }
.subtitle { color: #b8c2cf; font-size: 13px; }
.live { display: flex; align-items: center; gap: 8px; font-size: 13px; color: #d5dbe3; }
.live .dot { width: 10px; height: 10px; border-radius: 50%; background: #8a94a3; }
.live[data-status="live"] .dot { background: #3ccf75; box-shadow: 0 0 0 3px rgba(60,207,117,.25); }
.live[data-status="reconnecting"] .dot { background: #f0a020; }
main { padding: 18px 24px 8px; max-width: 1500px; margin: 0 auto; }
.summary { display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 14px; }
.chip { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 110px; }
.chip .n { font-size: 22px; font-weight: 650; display: block; }
.chip .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .5px; }
.chip.ready .n { color: var(--ready); } .chip.draining .n { color: var(--draining); } .chip.maint .n { color: var(--maint); }
.chip.down .n { color: var(--down); } .chip.unknown .n { color: var(--unknown); }
.guard { background: var(--down-bg); color: var(--down); border: 1px solid #f3b5b5; border-radius: 8px; padding: 10px 14px; margin-bottom: 14px; font-weight: 600; }
.toolbar { display: flex; gap: 10px; margin-bottom: 10px; }
.toolbar input { flex: 1; max-width: 420px; }
input, select { font: inherit; padding: 7px 9px; border: 1px solid #c9d0d9; border-radius: 6px; background: #fff; color: var(--text); }
button { font: inherit; padding: 7px 14px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--down); border-color: var(--down); }
button.small { padding: 3px 10px; font-size: 12px; }
table.nodes { width: 100%; border-collapse: separate; border-spacing: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.nodes th { text-align: left; font-size: 12px; text-transform: uppercase; letter-spacing: .5px; color: var(--muted); background: #fafbfc; padding: 9px 12px; border-bottom: 1px solid var(--line); }
.nodes td { padding: 9px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
.nodes tr:last-child td { border-bottom: none; }
.nodes tr.changed td { animation: flash 1.2s ease-out; }
@keyframes flash { from { background: #fff6c8; } to { background: transparent; } }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.name { font-weight: 600; }
.addr { color: var(--muted); font-size: 12px; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 600; font-size: 12px; letter-spacing: .3px; }
.badge.ready { color: var(--ready); background: var(--ready-bg); }
.badge.draining { color: var(--draining); background: var(--draining-bg); }
.badge.maint { color: var(--maint); background: var(--maint-bg); }
.badge.down { color: var(--down); background: var(--down-bg); }
.badge.unknown { color: var(--unknown); background: var(--unknown-bg); }
.flag { display: inline-block; margin-left: 6px; font-size: 11px; color: var(--muted); }
.weight { display: inline-flex; align-items: center; gap: 8px; justify-content: flex-end; }
.bar { width: 60px; height: 6px; border-radius: 3px; background: #e6e9ee; overflow: hidden; }
.bar > span { display: block; height: 100%; background: var(--ready); }
.reason { max-width: 380px; word-break: break-word; }
.sub { display: block; color: var(--muted); font-size: 12px; }
.override { max-width: 260px; word-break: break-word; }
.override .badge { margin-right: 4px; }
.muted { color: var(--muted); }
.empty { color: var(--muted); padding: 20px; text-align: center; }
.foot { color: var(--muted); font-size: 12px; padding: 10px 24px 24px; max-width: 1500px; margin: 0 auto; }
.foot a { color: var(--accent); }
dialog { border: none; border-radius: 10px; padding: 0; width: min(520px, 94vw); box-shadow: 0 18px 50px rgba(0,0,0,.3); }
dialog::backdrop { background: rgba(20,26,36,.45); }
dialog form { padding: 20px 22px; display: flex; flex-direction: column; gap: 10px; }
dialog h2 { margin: 0; font-size: 18px; }
dialog .hint { margin: 0; color: var(--muted); font-size: 13px; }
dialog label { display: flex; flex-direction: column; gap: 4px; font-weight: 600; font-size: 13px; }
dialog label.inline { flex-direction: row; align-items: center; font-weight: 400; }
.states { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px 8px; margin: 0; }
.states legend { font-weight: 600; font-size: 13px; padding: 0 4px; }
.states label { flex-direction: row; align-items: center; gap: 8px; font-weight: 400; padding: 2px 0; }
.states label span { color: var(--muted); font-size: 12px; }
.result { margin: 0; min-height: 1.4em; font-size: 13px; }
.result.ok { color: var(--ready); } .result.error { color: var(--down); }
.buttons { display: flex; justify-content: flex-end; gap: 8px; }
`;

/** GET /dashboard.js */
export const DASHBOARD_JS = `'use strict';
(function () {
  var STATES = ['ready', 'draining', 'maint', 'down', 'unknown'];
  var rows = new Map();
  var latest = null;
  var receivedAt = 0;
  var filterText = '';
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function formatAge(ms) {
    if (ms < 0) ms = 0;
    var s = ms / 1000;
    if (s < 10) return s.toFixed(1) + ' s';
    if (s < 120) return Math.round(s) + ' s';
    var m = s / 60;
    if (m < 60) return Math.round(m) + ' min';
    return (m / 60).toFixed(1) + ' h';
  }

  function formatUntil(iso) {
    var ms = Date.parse(iso) - Date.now();
    if (ms <= 0) return 'expiring';
    return 'expires in ' + formatAge(ms);
  }

  function setLive(status, text) {
    $('live').setAttribute('data-status', status);
    $('live-text').textContent = text;
  }

  function renderSummary(nodes) {
    var counts = {};
    STATES.forEach(function (s) { counts[s] = 0; });
    nodes.forEach(function (n) { counts[n.state] = (counts[n.state] || 0) + 1; });
    var box = $('summary');
    box.textContent = '';
    var total = el('div', 'chip total');
    total.appendChild(el('span', 'n', nodes.length));
    total.appendChild(el('span', 'l', 'nodes'));
    box.appendChild(total);
    STATES.forEach(function (s) {
      var chip = el('div', 'chip ' + s);
      chip.setAttribute('data-state', s);
      chip.appendChild(el('span', 'n', counts[s]));
      chip.appendChild(el('span', 'l', s));
      box.appendChild(chip);
    });
  }

  function fillRow(tr, n) {
    tr.textContent = '';
    tr.className = 'state-' + n.state;
    tr.setAttribute('data-state', n.state);
    var name = el('td');
    name.appendChild(el('div', 'name', n.name));
    name.appendChild(el('div', 'addr', n.address + ':' + n.port));
    tr.appendChild(name);

    var state = el('td', 'state');
    state.appendChild(el('span', 'badge ' + n.state, n.state));
    if (n.degraded) state.appendChild(el('span', 'flag', 'degraded'));
    if (n.held_by_guard) state.appendChild(el('span', 'flag', 'held by guard'));
    tr.appendChild(state);

    var weight = el('td', 'num');
    var w = el('span', 'weight');
    var bar = el('span', 'bar');
    var fill = el('span');
    fill.style.width = (n.state === 'ready' ? n.weight : 0) + '%';
    bar.appendChild(fill);
    w.appendChild(bar);
    w.appendChild(el('span', 'w', n.state === 'ready' ? n.weight : '–'));
    weight.appendChild(w);
    tr.appendChild(weight);

    tr.appendChild(el('td', 'num load', n.load === null ? '–' : n.load + ' %'));
    tr.appendChild(el('td', 'num calls', n.calls === null ? '–' : n.calls));

    var reason = el('td', 'reason', n.reason);
    if (n.drained_since) reason.appendChild(el('span', 'sub', 'calls cleared ' + formatAge(Date.now() - Date.parse(n.drained_since)) + ' ago: safe to take out of service'));
    tr.appendChild(reason);

    var age = el('td', 'num age');
    age.setAttribute('data-age-ms', n.age_ms);
    age.textContent = formatAge(n.age_ms + (Date.now() - receivedAt));
    tr.appendChild(age);

    var ov = el('td', 'override');
    if (n.override) {
      ov.appendChild(el('span', 'badge ' + (n.override.state === 'drain' ? 'draining' : n.override.state), n.override.state));
      ov.appendChild(el('span', null, n.override.reason));
      ov.appendChild(el('span', 'sub', 'by ' + n.override.by + (n.override.expires_at ? ' · ' + formatUntil(n.override.expires_at) : ' · until cleared')));
    } else {
      ov.appendChild(el('span', 'muted', '–'));
    }
    tr.appendChild(ov);

    var action = el('td');
    var button = el('button', 'small secondary', 'Override…');
    button.type = 'button';
    button.addEventListener('click', function () { openDialog(n.name); });
    action.appendChild(button);
    tr.appendChild(action);
  }

  function matches(n) {
    if (!filterText) return true;
    var hay = (n.name + ' ' + n.state + ' ' + n.reason + ' ' + n.address).toLowerCase();
    return hay.indexOf(filterText) !== -1;
  }

  function render(data) {
    latest = data;
    receivedAt = Date.now();
    var tbody = $('rows');
    var seen = new Set();
    var previous = null;
    data.nodes.forEach(function (n) {
      seen.add(n.name);
      var entry = rows.get(n.name);
      if (!entry) {
        var tr = el('tr');
        tr.setAttribute('data-node', n.name);
        entry = { tr: tr, version: -1, state: n.state };
        rows.set(n.name, entry);
      }
      if (entry.version !== n.version || n.override || n.drained_since) {
        var changed = entry.version !== -1 && entry.state !== n.state;
        fillRow(entry.tr, n);
        if (changed) {
          entry.tr.classList.remove('changed');
          void entry.tr.offsetWidth;
          entry.tr.classList.add('changed');
        }
        entry.version = n.version;
        entry.state = n.state;
      }
      entry.tr.hidden = !matches(n);
      var anchor = previous ? previous.nextSibling : tbody.firstChild;
      if (anchor !== entry.tr) tbody.insertBefore(entry.tr, anchor);
      previous = entry.tr;
    });
    rows.forEach(function (entry, name) {
      if (!seen.has(name)) { entry.tr.remove(); rows.delete(name); }
    });
    $('empty').hidden = data.nodes.length !== 0;
    renderSummary(data.nodes);
    var guard = $('guard');
    if (data.guard && data.guard.active) {
      guard.hidden = false;
      guard.textContent = 'Blast-radius guard active: ' + data.guard.down + ' of ' + data.guard.total + ' nodes failed at once, so the last good verdicts are held. Check the network of the drainwatch host.';
    } else {
      guard.hidden = true;
    }
    $('footer').textContent = 'snapshot v' + data.version + ' · generated ' + new Date(data.generated_at).toLocaleTimeString();
    refreshNodeSelect();
  }

  function tickAges() {
    if (!latest) return;
    var delta = Date.now() - receivedAt;
    document.querySelectorAll('td.age').forEach(function (td) {
      td.textContent = formatAge(Number(td.getAttribute('data-age-ms')) + delta);
    });
  }

  function applyAges(beat) {
    if (!latest || beat.version !== latest.version || !beat.age_ms || beat.age_ms.length !== latest.nodes.length) return;
    latest.nodes.forEach(function (n, i) {
      n.age_ms = beat.age_ms[i];
      var entry = rows.get(n.name);
      if (entry) {
        var td = entry.tr.querySelector('td.age');
        if (td) td.setAttribute('data-age-ms', n.age_ms);
      }
    });
    receivedAt = Date.now();
    tickAges();
  }

  function connect() {
    if (!window.EventSource) { poll(); return; }
    var source = new EventSource('/api/v1/events');
    source.addEventListener('snapshot', function (event) {
      setLive('live', 'live');
      render(JSON.parse(event.data));
    });
    source.addEventListener('heartbeat', function (event) {
      setLive('live', 'live');
      applyAges(JSON.parse(event.data));
    });
    source.addEventListener('open', function () { setLive('live', 'live'); });
    source.addEventListener('error', function () {
      setLive('reconnecting', 'reconnecting…');
    });
  }

  function poll() {
    fetch('/api/v1/nodes', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (data) {
      setLive('live', 'polling');
      render(data);
    }).catch(function () { setLive('reconnecting', 'reconnecting…'); }).then(function () { setTimeout(poll, 1000); });
  }

  // Override dialog
  function refreshNodeSelect() {
    var select = $('ov-node');
    var current = select.value;
    var names = latest ? latest.nodes.map(function (n) { return n.name; }) : [];
    if (select.options.length === names.length && names.every(function (name, i) { return select.options[i].value === name; })) return;
    select.textContent = '';
    names.forEach(function (name) { var o = el('option', null, name); o.value = name; select.appendChild(o); });
    if (current) select.value = current;
  }

  function showResult(kind, text) {
    var box = $('ov-result');
    box.className = 'result ' + kind;
    box.textContent = text;
  }

  function openDialog(name) {
    refreshNodeSelect();
    if (name) $('ov-node').value = name;
    var saved = sessionStorage.getItem('drainwatch-token');
    if (saved && !$('ov-token').value) { $('ov-token').value = saved; $('ov-remember').checked = true; }
    var user = localStorage.getItem('drainwatch-user');
    if (user && !$('ov-user').value) $('ov-user').value = user;
    showResult('', '');
    $('override-dialog').showModal();
  }

  function send(method) {
    var name = $('ov-node').value;
    var token = $('ov-token').value.trim();
    if (!token) { showResult('error', 'Enter the admin token.'); return; }
    if ($('ov-remember').checked) sessionStorage.setItem('drainwatch-token', token); else sessionStorage.removeItem('drainwatch-token');
    var user = $('ov-user').value.trim();
    if (user) localStorage.setItem('drainwatch-user', user);
    var headers = { 'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json' };
    if (user) headers['X-Drainwatch-User'] = user;
    var body;
    if (method === 'PUT') {
      var checked = document.querySelector('input[name="state"]:checked');
      var payload = { state: checked ? checked.value : 'drain', reason: $('ov-reason').value.trim() };
      var expires = $('ov-expires').value.trim();
      if (expires) payload.expires_in = expires;
      body = JSON.stringify(payload);
    }
    showResult('', 'Sending…');
    fetch('/api/v1/nodes/' + encodeURIComponent(name) + '/override', { method: method, headers: headers, body: body })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) { showResult('error', (data && data.error) || ('HTTP ' + response.status)); return; }
          if (method === 'DELETE') showResult('ok', data.cleared ? 'Override on ' + name + ' cleared.' : (data.message || 'No override to clear.'));
          else showResult('ok', 'Override on ' + name + ' applied: now ' + data.node.state + '.' + (data.warning ? ' ' + data.warning : ''));
        });
      })
      .catch(function (error) { showResult('error', 'Request failed: ' + error.message); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('filter').addEventListener('input', function (event) {
      filterText = event.target.value.trim().toLowerCase();
      if (latest) render(latest);
    });
    $('open-override').addEventListener('click', function () { openDialog(null); });
    $('ov-cancel').addEventListener('click', function () { $('override-dialog').close(); });
    $('ov-clear').addEventListener('click', function () { send('DELETE'); });
    $('override-form').addEventListener('submit', function (event) { event.preventDefault(); send('PUT'); });
    setInterval(tickAges, 1000);
    connect();
  });
})();
`;
