// @ts-check
// The dashboard's browser program: renders the event stream (retrying with back-off, polling meanwhile); the override dialog is override-dialog.js.
// Plain ES2020 served as is (no bundler); TypeScript checks it through JSDoc types (tsconfig.dashboard.json).
'use strict';

/** @typedef {import('../../api/node-json.js').NodeJson} NodeJson */
/** @typedef {{ version: number, generated_at: string, guard?: { active: boolean, down: number, total: number }, nodes: NodeJson[] }} SnapshotEvent */
/** @typedef {{ version: number, generated_at: string, age_ms: number[] }} HeartbeatEvent */
/** @typedef {{ tr: HTMLTableRowElement, version: number, state: string }} Row */

(function () {
  var STATES = ['ready', 'draining', 'maint', 'down', 'unknown'];
  /** @type {Map<string, Row>} */
  var rows = new Map();
  /** @type {SnapshotEvent | null} */
  var latest = null;
  var receivedAt = 0;
  var filterText = '';
  /** Calls over the last 30 minutes per draining node, as served by /api/v1/dashboard/calls. */
  /** @type {{ window_ms: number, now: number, nodes: Record<string, Array<[number, number]>> } | null} */
  var callLines = null;
  var callsFetchedAt = 0;
  /** What each load balancer holds of each node (GET /api/v1/nodes `applied`; the stream does not carry it). */
  /** @type {Map<string, Record<string, string>>} */
  var appliedByNode = new Map();

  /**
   * The element with `id`, of the given kind; the page ships every id this program uses, so a
   * missing or different element is a bug worth a loud error.
   * @template {HTMLElement} T
   * @param {string} id
   * @param {{ new (): T, prototype: T }} kind
   * @returns {T}
   */
  function byId(id, kind) {
    var node = document.getElementById(id);
    if (!(node instanceof kind)) throw new Error('dashboard page has no #' + id + ' of the expected kind');
    return node;
  }

  /** @param {string} id */
  function $(id) { return byId(id, HTMLElement); }
  /** @param {string} id */
  function input(id) { return byId(id, HTMLInputElement); }

  /**
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {string | null} [cls]
   * @param {unknown} [text]
   * @returns {HTMLElementTagNameMap[K]}
   */
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** @param {number} ms */
  function formatAge(ms) {
    if (ms < 0) ms = 0;
    var s = ms / 1000;
    if (s < 10) return s.toFixed(1) + ' s';
    if (s < 120) return Math.round(s) + ' s';
    var m = s / 60;
    if (m < 60) return Math.round(m) + ' min';
    return (m / 60).toFixed(1) + ' h';
  }

  /**
   * "draining for 12 min", from the verdict's since.
   * @param {string} state
   * @param {string} since
   */
  function formatInState(state, since) {
    var at = Date.parse(since);
    return isNaN(at) ? '–' : state + ' for ' + formatAge(Date.now() - at);
  }

  /**
   * The calls of the last window as a small step line ending now (the last count holds until now).
   * @param {Array<[number, number]>} points [unix ms, calls], oldest first
   * @param {number} windowMs
   */
  function sparkline(points, windowMs) {
    var width = 96, height = 22;
    var now = Date.now();
    // From the first point (at most the window back) to now, at least a minute: a young line fills the width.
    var first = points[0] ? points[0][0] : now;
    var start = Math.min(now - 60000, Math.max(now - windowMs, first));
    var span = now - start;
    var max = 1;
    points.forEach(function (p) { if (p[1] > max) max = p[1]; });
    /** @param {number} t */
    function x(t) { return ((Math.max(t, start) - start) / span * (width - 2) + 1).toFixed(1); }
    /** @param {number} v */
    function y(v) { return (height - 2 - v / max * (height - 4)).toFixed(1); }
    var path = '';
    points.forEach(function (p, i) {
      path += (i === 0 ? 'M' + x(p[0]) + ' ' + y(p[1]) : ' H' + x(p[0]) + ' V' + y(p[1]));
    });
    if (points.length > 0) path += ' H' + x(now);
    var label = 'calls over the last ' + Math.max(1, Math.round(span / 60000)) + ' min: ' + points.map(function (p) { return Number(p[1]); }).join(', ');
    // Markup built from numbers only; the HTML parser puts <svg> in its namespace.
    var holder = el('span', 'spark');
    holder.innerHTML = '<svg width="' + width + '" height="' + height + '" viewBox="0 0 ' + width + ' ' + height + '" role="img" aria-label="' + label +
      '"><path d="' + path + '" fill="none" stroke="currentColor" stroke-width="1.5"></path></svg>';
    return holder;
  }

  /**
   * "in sync (2)" when every load-balancer target holds the node as told, else the ones that do not.
   * @param {string} name
   */
  function appliedCell(name) {
    var td = el('td', 'applied');
    var applied = appliedByNode.get(name) || {};
    var ids = Object.keys(applied);
    if (ids.length === 0) { td.appendChild(el('span', 'muted', '–')); return td; }
    var behind = ids.filter(function (id) { return applied[id] !== 'in_sync'; });
    if (behind.length === 0) { td.appendChild(el('span', 'ok', 'in sync (' + ids.length + ')')); return td; }
    behind.forEach(function (id) { td.appendChild(el('span', 'sub lb-' + applied[id], id + ': ' + applied[id])); });
    return td;
  }

  /** Reads `applied` per node from /api/v1/nodes and redraws the rows whose value changed. */
  function refreshApplied() {
    fetch('/api/v1/nodes', { cache: 'no-store' }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data) return;
      /** @type {NodeJson[]} */ (data.nodes).forEach(function (n) {
        var next = n.applied || {};
        if (JSON.stringify(appliedByNode.get(n.name) || {}) === JSON.stringify(next)) return;
        appliedByNode.set(n.name, next);
        var entry = rows.get(n.name);
        if (entry) entry.version = -2;
      });
      if (latest) render(latest);
    }).catch(function () { /* shown again on the next round */ });
  }

  /** Fetches the calls lines, at most every 5 s, and redraws the rows that show one. */
  function refreshCalls() {
    if (Date.now() - callsFetchedAt < 5000) return;
    callsFetchedAt = Date.now();
    fetch('/api/v1/dashboard/calls', { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (data) {
      callLines = data;
      // Force the rows of draining nodes to redraw with their line.
      rows.forEach(function (entry) { if (entry.state === 'draining' || entry.state === 'maint') entry.version = -2; });
      if (latest) render(latest);
    }).catch(function () { /* the line is an extra; the table stays current without it */ });
  }

  /** @param {string} iso */
  function formatUntil(iso) {
    var ms = Date.parse(iso) - Date.now();
    if (ms <= 0) return 'expiring';
    return 'expires in ' + formatAge(ms);
  }

  /**
   * @param {string} status
   * @param {string} text
   */
  function setLive(status, text) {
    $('live').setAttribute('data-status', status);
    $('live-text').textContent = text;
  }

  /** @param {NodeJson[]} nodes */
  function renderSummary(nodes) {
    /** @type {Record<string, number>} */
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

  /**
   * @param {HTMLTableRowElement} tr
   * @param {NodeJson} n
   */
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

    // Time in state from the verdict's since (not the data's freshness, which is the Age column).
    var inState = el('td', 'since');
    inState.setAttribute('data-since', n.since);
    inState.setAttribute('data-state', n.state);
    inState.textContent = formatInState(n.state, n.since);
    tr.appendChild(inState);

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
    var calls = el('td', 'num calls', n.calls === null ? '–' : n.calls);
    var line = callLines && callLines.nodes[n.name];
    if (line && (n.state === 'draining' || n.state === 'maint')) calls.appendChild(sparkline(line, callLines ? callLines.window_ms : 1800000));
    tr.appendChild(calls);

    tr.appendChild(appliedCell(n.name));

    var reason = el('td', 'reason', n.reason);
    if (n.drained_since) reason.appendChild(el('span', 'sub', 'calls cleared ' + formatAge(Date.now() - Date.parse(n.drained_since)) + ' ago: safe to take out of service'));
    tr.appendChild(reason);

    var age = el('td', 'num age');
    age.setAttribute('data-age-ms', String(n.age_ms));
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
    button.addEventListener('click', function () { document.dispatchEvent(new CustomEvent('drainwatch:override', { detail: n.name })); });
    action.appendChild(button);
    tr.appendChild(action);
  }

  /** @param {NodeJson} n */
  function matches(n) {
    if (!filterText) return true;
    var hay = (n.name + ' ' + n.state + ' ' + n.reason + ' ' + n.address).toLowerCase();
    return hay.indexOf(filterText) !== -1;
  }

  /** @param {SnapshotEvent} data */
  function render(data) {
    latest = data;
    receivedAt = Date.now();
    var tbody = $('rows');
    /** @type {Set<string>} */
    var seen = new Set();
    /** @type {HTMLTableRowElement | null} */
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
        var changed = entry.version >= 0 && entry.state !== n.state;
        fillRow(entry.tr, n);
        if (changed) {
          entry.tr.classList.remove('changed');
          void entry.tr.offsetWidth; // restarts the flash animation
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
    announceNodes();
    refreshCalls();
  }

  function tickAges() {
    if (!latest) return;
    var delta = Date.now() - receivedAt;
    document.querySelectorAll('td.age').forEach(function (td) {
      td.textContent = formatAge(Number(td.getAttribute('data-age-ms')) + delta);
    });
    document.querySelectorAll('td.since').forEach(function (td) {
      td.textContent = formatInState(td.getAttribute('data-state') || '', td.getAttribute('data-since') || '');
    });
  }

  /** @param {HeartbeatEvent} beat */
  function applyAges(beat) {
    var current = latest;
    if (!current || beat.version !== current.version || !beat.age_ms || beat.age_ms.length !== current.nodes.length) return;
    current.nodes.forEach(function (n, i) {
      n.age_ms = /** @type {number} */ (beat.age_ms[i]);
      var entry = rows.get(n.name);
      if (entry) {
        var td = entry.tr.querySelector('td.age');
        if (td) td.setAttribute('data-age-ms', String(n.age_ms));
      }
    });
    receivedAt = Date.now();
    tickAges();
  }

  // Stream first; when it fails, retry with back-off (1 s doubling to 30 s) and, after a few failures,
  // poll /api/v1/nodes meanwhile so the page stays current. A non-200 answer (503 while the server
  // is shutting down, a proxy error) closes an EventSource for good, so retrying is ours to do.
  var failures = 0;
  /** @type {number | null} */
  var retryTimer = null;
  var polling = false;

  function connect() {
    if (!window.EventSource) { polling = true; poll(); return; }
    retryTimer = null;
    var source = new EventSource('/api/v1/events');
    source.addEventListener('snapshot', function (event) {
      setLive('live', 'live');
      render(JSON.parse(/** @type {MessageEvent<string>} */ (event).data));
    });
    source.addEventListener('heartbeat', function (event) {
      setLive('live', 'live');
      applyAges(JSON.parse(/** @type {MessageEvent<string>} */ (event).data));
    });
    source.addEventListener('open', function () {
      failures = 0;
      polling = false;
      setLive('live', 'live');
    });
    source.addEventListener('error', function () {
      failures += 1;
      if (failures >= 3 && !polling) { polling = true; poll(); }
      if (source.readyState !== EventSource.CLOSED && failures < 3) { setLive('reconnecting', 'reconnecting…'); return; }
      // Closed for good, or the browser's own retries keep failing: start over on our schedule.
      source.close();
      if (!polling) setLive('reconnecting', 'reconnecting…');
      if (retryTimer === null) retryTimer = window.setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, Math.min(failures - 1, 5))));
    });
  }

  function poll() {
    if (!polling) return;
    fetch('/api/v1/nodes', { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (data) {
      if (!polling) return;
      setLive('live', 'polling');
      render(data);
    }).catch(function () { if (polling) setLive('reconnecting', 'reconnecting…'); }).then(function () { setTimeout(poll, 2000); });
  }

  /** Tells override-dialog.js the node names, in table order, for its node picker. */
  function announceNodes() {
    var names = latest ? latest.nodes.map(function (n) { return n.name; }) : [];
    document.dispatchEvent(new CustomEvent('drainwatch:nodes', { detail: names }));
  }

  document.addEventListener('DOMContentLoaded', function () {
    input('filter').addEventListener('input', function () {
      filterText = input('filter').value.trim().toLowerCase();
      if (latest) render(latest);
    });
    setInterval(tickAges, 1000);
    // First paint with data: the current snapshot at once, without waiting for the stream.
    fetch('/api/v1/nodes', { cache: 'no-store' }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data) return;
      /** @type {NodeJson[]} */ (data.nodes).forEach(function (n) { appliedByNode.set(n.name, n.applied || {}); });
      if (!latest) render(data);
    }).catch(function () { /* the stream (or polling) brings it */ });
    setInterval(function () { if (latest) refreshCalls(); }, 15000);
    setInterval(function () { if (latest) refreshApplied(); }, 5000);
    connect();
  });
})();
